//! Addresses with format-valid UK postcodes.

use std::sync::OnceLock;

use serde::Serialize;

use crate::{
    data::places::{AREAS, STREET_KINDS, STREET_STEMS, UNIT_LETTERS},
    rng::Rng,
};

/// A postal address. Several households share a postcode, as in life.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Address {
    /// "12 Oak Street" or "Flat 3, 12 Oak Street".
    pub line: String,
    pub town: &'static str,
    /// "LS6 2AB": outward code, space, inward code.
    pub postcode: String,
    /// Index into the postcode areas: moves stay local, and a pupil's UPN
    /// carries the local authority of the area.
    #[serde(skip)]
    area: u8,
}

impl Address {
    /// The DfE code of the local authority the address is in.
    pub fn local_authority(&self) -> u16 {
        AREAS[usize::from(self.area)].2
    }
}

/// Every postcode district, as (area index, district number).
fn districts() -> &'static [(u8, u8)] {
    static DISTRICTS: OnceLock<Vec<(u8, u8)>> = OnceLock::new();
    DISTRICTS.get_or_init(|| {
        AREAS.iter().enumerate().flat_map(|(area, (_, _, _, last))| (1..=*last).map(move |d| (area as u8, d))).collect()
    })
}

/// The postcodes in use, sized to the population so that about eight
/// addresses share each postcode whatever the population.
pub(crate) struct Postcodes {
    units_per_sector: u64,
}

impl Postcodes {
    pub(crate) fn for_people(people: u32) -> Self {
        let sectors = districts().len() as u64 * 10;
        Self { units_per_sector: (u64::from(people) / 20 / sectors).clamp(2, 400) }
    }

    /// A new address; when `near` is given, usually in the same town.
    pub(crate) fn address(&self, rng: &mut Rng, near: Option<&Address>) -> Address {
        let districts = districts();
        let district = match near {
            Some(near) if rng.chance(0.7) => {
                // The districts are listed area by area.
                let area = usize::from(near.area);
                let start: usize = AREAS[..area].iter().map(|a| usize::from(a.3)).sum();
                start + rng.index(usize::from(AREAS[area].3))
            }
            _ => rng.index(districts.len()),
        };
        let (area, number) = districts[district];
        let sector = rng.below(10);
        let unit = rng.below(self.units_per_sector);
        // Spread the units over the 400 letter pairs; 7919 is prime to 400.
        let letters = (unit * 7919 + district as u64) % 400;
        let postcode = format!(
            "{}{number} {sector}{}{}",
            AREAS[usize::from(area)].0,
            UNIT_LETTERS[(letters / 20) as usize] as char,
            UNIT_LETTERS[(letters % 20) as usize] as char,
        );
        // One street per postcode, so neighbours' addresses agree.
        let mut street_rng = Rng::keyed((district as u64) << 32 | sector << 16 | unit, crate::rng::Stream::Seed, 1);
        let street = format!("{} {}", street_rng.pick(STREET_STEMS), street_rng.pick(STREET_KINDS));
        let house = rng.between(1, 160);
        let line = if rng.chance(0.12) {
            format!("Flat {}, {house} {street}", rng.between(1, 12))
        } else {
            format!("{house} {street}")
        };
        Address { line, town: AREAS[usize::from(area)].1, postcode, area }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;

    #[test]
    fn there_are_a_few_hundred_districts() {
        assert!((300..400).contains(&districts().len()));
    }

    #[test]
    fn postcodes_are_format_valid() {
        let postcodes = Postcodes::for_people(1_000_000);
        let mut rng = Rng::keyed(9, Stream::Seed, 3);
        let mut previous = None;
        for _ in 0..5_000 {
            let address = postcodes.address(&mut rng, previous.as_ref());
            let (outward, inward) = address.postcode.split_once(' ').expect("a space");
            assert!((2..=4).contains(&outward.len()) && outward.starts_with(|c: char| c.is_ascii_uppercase()));
            assert!(outward.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
            let inward = inward.as_bytes();
            assert!(inward.len() == 3 && inward[0].is_ascii_digit(), "{}", address.postcode);
            assert!(inward[1..].iter().all(|c| UNIT_LETTERS.contains(c)), "{}", address.postcode);
            previous = Some(address);
        }
    }
}
