//! National identifiers, validated by their check characters on parse.

use std::fmt;

use crate::DomainError;

/// An NHS number: ten digits, the last a modulus-11 check digit.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NhsNumber(String);

impl NhsNumber {
    /// Accepts the digits with or without the usual spaces ("943 476 5919").
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let digits: String = raw.chars().filter(|c| *c != ' ').collect();
        if digits.len() != 10 || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(DomainError::invalid(field, "an NHS number must be 10 digits"));
        }
        let values: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
        let weighted: u32 = values[..9].iter().zip((2..=10).rev()).map(|(d, w)| d * w).sum();
        let check = match 11 - weighted % 11 {
            11 => 0,
            10 => return Err(DomainError::invalid(field, "not a valid NHS number (no check digit is possible)")),
            n => n,
        };
        if check != values[9] {
            return Err(DomainError::invalid(field, "the NHS number's modulus-11 check digit is wrong"));
        }
        Ok(Self(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A Unique Pupil Number: a check letter, then twelve characters (the last may
/// be a letter in a temporary UPN).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Upn(String);

impl Upn {
    /// The DfE check-letter alphabet: I, O and S are never used.
    const LETTERS: &'static [u8; 23] = b"ABCDEFGHJKLMNPQRTUVWXYZ";

    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let upn = raw.trim().to_ascii_uppercase();
        let bytes = upn.as_bytes();
        let shape_ok = bytes.len() == 13
            && bytes[1..12].iter().all(u8::is_ascii_digit)
            && (bytes[12].is_ascii_digit() || Self::letter_value(bytes[12]).is_some());
        if !shape_ok {
            return Err(DomainError::invalid(
                field,
                "a UPN must be a check letter followed by 11 digits and a digit or letter",
            ));
        }
        if Self::check_letter(&bytes[1..]) != bytes[0] {
            return Err(DomainError::invalid(field, "the UPN's check letter is wrong"));
        }
        Ok(Self(upn))
    }

    /// The check letter for the twelve characters after it: weights 2 to 13,
    /// modulo 23, looked up in the DfE alphabet.
    pub fn check_letter(body: &[u8]) -> u8 {
        let sum: u32 = body.iter().zip(2u32..).map(|(c, weight)| weight * Self::char_value(*c)).sum();
        Self::LETTERS[(sum % 23) as usize]
    }

    fn char_value(c: u8) -> u32 {
        if c.is_ascii_digit() { u32::from(c - b'0') } else { Self::letter_value(c).unwrap_or(0) }
    }

    fn letter_value(c: u8) -> Option<u32> {
        Self::LETTERS.iter().position(|l| *l == c).map(|p| p as u32)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// Identifiers are personal data: Debug must never print them into a log.
impl fmt::Debug for NhsNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NhsNumber(<redacted>)")
    }
}

impl fmt::Debug for Upn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Upn(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nhs_numbers_are_checked_by_modulus_11() {
        let cases = [
            ("9434765919", true),
            ("943 476 5919", true),
            ("4010232137", true),
            ("9434765918", false),
            ("1234567890", false), // check digit would be 10
            ("943476591", false),
            ("94347659AB", false),
        ];
        for (raw, ok) in cases {
            assert_eq!(NhsNumber::parse("nhs", raw).is_ok(), ok, "{raw}");
        }
    }

    #[test]
    fn upns_are_checked_by_their_check_letter() {
        let body = b"801200001001";
        let valid = format!("{}{}", Upn::check_letter(body) as char, "801200001001");
        let wrong_letter = if valid.starts_with('A') { "B801200001001" } else { "A801200001001" };
        let temporary_body = b"80120000100A";
        let temporary = format!("{}80120000100A", Upn::check_letter(temporary_body) as char);
        assert!(Upn::parse("upn", &valid).is_ok());
        assert!(Upn::parse("upn", &valid.to_lowercase()).is_ok());
        assert!(Upn::parse("upn", &temporary).is_ok());
        assert!(Upn::parse("upn", wrong_letter).is_err());
        assert!(Upn::parse("upn", "A80120000100").is_err());
        assert!(Upn::parse("upn", "A80120000100I").is_err());
    }

    #[test]
    fn known_upn_check_letter() {
        // The DfE guidance example H801200001001: weights 2..13 sum to 53, 53 mod 23 = 7 -> 'H'.
        assert_eq!(Upn::check_letter(b"801200001001"), b'H');
    }

    #[test]
    fn debug_output_hides_identifiers() {
        let nhs = NhsNumber::parse("nhs", "9434765919").expect("valid");
        assert!(!format!("{nhs:?}").contains("943"));
    }
}
