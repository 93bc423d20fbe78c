//! UK postcodes, held inline so that a record needs no allocation for one.

use std::fmt;

use mash_domain::DomainError;

/// A UK postcode of a valid shape, stored without its space ("LS62AB").
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Postcode {
    bytes: [u8; 7],
    len: u8,
}

impl Postcode {
    /// Accepts any case and spacing ("ls62ab", "LS6  2AB"). The outward code
    /// must be one of A9, A99, AA9, AA99, A9A, AA9A and the inward code 9AA.
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let compact: Vec<u8> =
            raw.bytes().filter(|b| !b.is_ascii_whitespace()).map(|b| b.to_ascii_uppercase()).collect();
        if !(5..=7).contains(&compact.len()) || !valid_shape(&compact) {
            return Err(DomainError::invalid(field, "is not a UK postcode"));
        }
        let mut bytes = [0; 7];
        bytes[..compact.len()].copy_from_slice(&compact);
        Ok(Self { bytes, len: compact.len() as u8 })
    }

    /// The outward code, or postal district: "LS6".
    pub fn outward(&self) -> &str {
        self.text(usize::from(self.len) - 3)
    }

    /// The sector without its space, "LS62": the outward code and the inward digit.
    pub fn sector(&self) -> &str {
        self.text(usize::from(self.len) - 2)
    }

    /// The whole postcode without its space, "LS62AB", as used in blocking keys.
    pub fn compact(&self) -> &str {
        self.text(usize::from(self.len))
    }

    fn text(&self, end: usize) -> &str {
        // Only ASCII letters and digits are ever stored.
        std::str::from_utf8(&self.bytes[..end]).unwrap_or_default()
    }
}

fn valid_shape(code: &[u8]) -> bool {
    let (outward, inward) = code.split_at(code.len() - 3);
    let inward_ok = inward[0].is_ascii_digit() && inward[1..].iter().all(u8::is_ascii_alphabetic);
    let area = outward.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let district = &outward[area..];
    let district_ok = match district {
        [d] => d.is_ascii_digit(),
        [d, e] => d.is_ascii_digit() && e.is_ascii_alphanumeric(),
        _ => false,
    };
    let girobank = code == b"GIR0AA";
    inward_ok && ((1..=2).contains(&area) && district_ok || girobank)
}

/// Written the usual way, with the space: "LS6 2AB".
impl fmt::Display for Postcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let all = self.compact();
        let (outward, inward) = all.split_at(all.len() - 3);
        write!(f, "{outward} {inward}")
    }
}

// A postcode locates a household: personal data, never logged.
impl fmt::Debug for Postcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Postcode(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postcodes_are_normalised_and_split() {
        let cases = [
            ("ls62ab", "LS6 2AB", "LS6", "LS62"),
            (" LS6  2AB ", "LS6 2AB", "LS6", "LS62"),
            ("M11AE", "M1 1AE", "M1", "M11"),
            ("b338th", "B33 8TH", "B33", "B338"),
            ("CR2 6XH", "CR2 6XH", "CR2", "CR26"),
            ("DN551PT", "DN55 1PT", "DN55", "DN551"),
            ("W1A 1HQ", "W1A 1HQ", "W1A", "W1A1"),
            ("EC1A 1BB", "EC1A 1BB", "EC1A", "EC1A1"),
            ("gir 0aa", "GIR 0AA", "GIR", "GIR0"),
        ];
        for (raw, shown, outward, sector) in cases {
            let postcode = Postcode::parse("postcode", raw).expect(raw);
            assert_eq!(postcode.to_string(), shown);
            assert_eq!(postcode.outward(), outward, "{raw}");
            assert_eq!(postcode.sector(), sector, "{raw}");
        }
    }

    #[test]
    fn malformed_postcodes_are_rejected() {
        for raw in ["", "LS6", "1S6 2AB", "LS6 AAB", "LS6 22B", "LSX6 2AB", "LS666 2AB", "LS6 2A", "L$6 2AB", "ÅS6 2AB"]
        {
            assert!(Postcode::parse("postcode", raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn debug_hides_the_postcode() {
        let postcode = Postcode::parse("postcode", "LS6 2AB").expect("valid");
        assert!(!format!("{postcode:?}").contains("LS6"));
    }
}
