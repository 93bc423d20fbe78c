//! The education feed: the school a pupil is on roll at, attendance,
//! exclusions, special educational needs (SEN support or an EHCP), children
//! missing education, and free school meals.

use mash_domain::{Agency, Category, DomainError};
use mash_feed::{ItemContent, ItemField, RecordAdapter, item_date, required, wrong_body};
use mash_proto::v1::{
    ChildMissingEducation, FreeSchoolMeals, SchoolAttendance, SchoolExclusion, SchoolRegistration,
    SpecialEducationalNeeds, education_record::Record, push_record::Body,
};

#[derive(Debug)]
pub struct Adapter;

impl RecordAdapter for Adapter {
    fn agency(&self) -> Agency {
        Agency::EDUCATION
    }

    fn to_item(&self, body: &Body) -> Result<ItemContent, DomainError> {
        match body {
            Body::Education(record) => match &record.record {
                Some(Record::Attendance(a)) => attendance_item(a),
                Some(Record::Exclusion(e)) => exclusion_item(e),
                Some(Record::Registration(r)) => registration_item(r),
                Some(Record::SpecialNeeds(n)) => special_needs_item(n),
                Some(Record::MissingEducation(m)) => missing_education_item(m),
                Some(Record::FreeSchoolMeals(f)) => free_school_meals_item(f),
                None => Err(DomainError::invalid(
                    "education.record",
                    "is missing: give attendance, exclusion, registration, special_needs, missing_education or free_school_meals",
                )),
            },
            other => Err(wrong_body(Agency::EDUCATION, other, "education")),
        }
    }
}

fn category(name: &str) -> Result<Category, DomainError> {
    Category::parse_for("education.category", name, Agency::EDUCATION)
}

fn attendance_item(a: &SchoolAttendance) -> Result<ItemContent, DomainError> {
    if !(0.0..=100.0).contains(&a.attendance_percent) {
        return Err(DomainError::invalid("attendance.attendance_percent", "must be between 0 and 100"));
    }
    Ok(ItemContent::new(
        category("education/attendance")?,
        item_date("attendance.as_of", &a.as_of)?,
        vec![
            ItemField::open("school", required("attendance.school", &a.school)?),
            ItemField::open("attendance_percent", format!("{:.1}", a.attendance_percent)),
        ],
    ))
}

fn exclusion_item(e: &SchoolExclusion) -> Result<ItemContent, DomainError> {
    if !matches!(e.exclusion_type.as_str(), "fixed-term" | "permanent") {
        return Err(DomainError::invalid("exclusion.exclusion_type", "must be fixed-term or permanent"));
    }
    Ok(ItemContent::new(
        category("education/exclusion")?,
        item_date("exclusion.start_date", &e.start_date)?,
        vec![
            ItemField::open("school", required("exclusion.school", &e.school)?),
            ItemField::open("exclusion_type", e.exclusion_type.as_str()),
            ItemField::open("days", e.days.to_string()),
            ItemField::open("reason", e.reason.trim()),
        ],
    ))
}

fn registration_item(r: &SchoolRegistration) -> Result<ItemContent, DomainError> {
    Ok(ItemContent::new(
        category("education/school-registration")?,
        item_date("registration.registered_on", &r.registered_on)?,
        vec![
            ItemField::open("school", required("registration.school", &r.school)?),
            ItemField::open("urn", r.urn.trim()),
            ItemField::open("year_group", r.year_group.trim()),
        ],
    ))
}

fn special_needs_item(n: &SpecialEducationalNeeds) -> Result<ItemContent, DomainError> {
    if !matches!(n.provision.as_str(), "sen-support" | "ehcp") {
        return Err(DomainError::invalid("special_needs.provision", "must be sen-support or ehcp"));
    }
    Ok(ItemContent::new(
        category("education/special-educational-needs")?,
        item_date("special_needs.as_of", &n.as_of)?,
        vec![
            ItemField::open("school", required("special_needs.school", &n.school)?),
            ItemField::open("provision", n.provision.as_str()),
            ItemField::open("primary_need", n.primary_need.trim()),
        ],
    ))
}

fn missing_education_item(m: &ChildMissingEducation) -> Result<ItemContent, DomainError> {
    let reported = item_date("missing_education.reported_on", &m.reported_on)?;
    let resolved = match m.resolved_on.trim() {
        "" => "still missing education".to_owned(),
        raw => {
            let resolved = item_date("missing_education.resolved_on", raw)?;
            if resolved < reported {
                return Err(DomainError::invalid("missing_education.resolved_on", "is before the report"));
            }
            resolved.to_string()
        }
    };
    Ok(ItemContent::new(
        category("education/child-missing-education")?,
        reported,
        vec![ItemField::open("reason", m.reason.trim()), ItemField::open("resolved_on", resolved)],
    ))
}

fn free_school_meals_item(f: &FreeSchoolMeals) -> Result<ItemContent, DomainError> {
    Ok(ItemContent::new(
        category("education/free-school-meals")?,
        item_date("free_school_meals.as_of", &f.as_of)?,
        vec![ItemField::open("eligible", if f.eligible { "yes" } else { "no" })],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mash_proto::v1::EducationRecord;

    fn education(record: Record) -> Body {
        Body::Education(EducationRecord { record: Some(record) })
    }

    fn sen(provision: &str) -> Record {
        Record::SpecialNeeds(SpecialEducationalNeeds {
            school: "Example Academy".into(),
            as_of: "2026-09-01".into(),
            provision: provision.into(),
            primary_need: "Speech, language and communication".into(),
        })
    }

    fn cme(reported: &str, resolved: &str) -> Record {
        Record::MissingEducation(ChildMissingEducation {
            reported_on: reported.into(),
            reason: "Left roll".into(),
            resolved_on: resolved.into(),
        })
    }

    #[test]
    fn records_become_items_or_name_the_wrong_field() {
        let registration = Record::Registration(SchoolRegistration {
            school: "Example Primary".into(),
            urn: "100001".into(),
            registered_on: "2022-09-05".into(),
            year_group: "Year 4".into(),
        });
        let meals = Record::FreeSchoolMeals(FreeSchoolMeals { as_of: "2026-09-01".into(), eligible: true });
        let cases: Vec<(Record, Result<&str, &str>)> = vec![
            (registration, Ok("education/school-registration")),
            (sen("ehcp"), Ok("education/special-educational-needs")),
            (sen("sen-support"), Ok("education/special-educational-needs")),
            (sen("statement"), Err("special_needs.provision")),
            (cme("2026-10-01", ""), Ok("education/child-missing-education")),
            (cme("2026-10-01", "2026-10-20"), Ok("education/child-missing-education")),
            (cme("2026-10-01", "2026-09-20"), Err("missing_education.resolved_on")),
            (meals, Ok("education/free-school-meals")),
        ];
        for (i, (record, expected)) in cases.into_iter().enumerate() {
            let got = Adapter.to_item(&education(record)).map(|item| item.category.as_str());
            match (got, expected) {
                (Ok(got), Ok(expected)) => assert_eq!(got, expected, "case {i}"),
                (Err(e), Err(field)) => assert_eq!(e.field, field, "case {i}: {e}"),
                (got, expected) => panic!("case {i}: got {got:?}, expected {expected:?}"),
            }
        }
    }
}
