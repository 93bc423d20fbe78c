//! Serialisation in the extract format: ISO dates, and "" for a missing value.

use serde::Serializer;
use time::Date;

use crate::Sex;

pub(crate) fn iso_date<S: Serializer>(date: &Date, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&format_args!("{:04}-{:02}-{:02}", date.year(), date.month() as u8, date.day()))
}

pub(crate) fn iso_date_or_empty<S: Serializer>(date: &Option<Date>, serializer: S) -> Result<S::Ok, S::Error> {
    match date {
        Some(date) => iso_date(date, serializer),
        None => serializer.serialize_str(""),
    }
}

pub(crate) fn or_empty<S: Serializer>(value: &Option<String>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value.as_deref().unwrap_or(""))
}

pub(crate) fn sex_or_empty<S: Serializer>(sex: &Option<Sex>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(sex.map_or("", Sex::as_str))
}
