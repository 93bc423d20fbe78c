//! Text that a caller chose and that MASH stores, logs or prints: no control
//! characters and no bidirectional formatting. A NUL fails a PostgreSQL
//! `text` column (and with it the whole batch or group it was written in), an
//! ESC sequence rewrites the terminal of whoever reads it, and a right-to-left
//! override makes a record id read as another.

use crate::DomainError;

/// Bidirectional formatting characters: marks, embeddings, overrides and isolates.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn refuse(field: &str, c: char) -> DomainError {
    DomainError::invalid(field, format!("contains the control character U+{:04X}", u32::from(c)))
}

/// A one-line value such as an identifier: no control character at all.
pub fn check_plain(field: &str, value: &str) -> Result<(), DomainError> {
    match value.chars().find(|&c| c.is_control() || is_bidi_control(c)) {
        Some(c) => Err(refuse(field, c)),
        None => Ok(()),
    }
}

/// Free text: line breaks and tabs are allowed, no other control character.
pub fn check_text(field: &str, value: &str) -> Result<(), DomainError> {
    let allowed = |c: char| matches!(c, '\n' | '\t');
    match value.chars().find(|&c| (c.is_control() && !allowed(c)) || is_bidi_control(c)) {
        Some(c) => Err(refuse(field, c)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_are_refused_naming_the_field() {
        for bad in ["P-1\u{0}", "\u{1b}[31mP-1", "P-\u{202E}1", "P-1\r", "P\u{7f}1", "P\u{85}1", "P\u{2066}1"] {
            let error = check_plain("record_id", bad).expect_err(bad);
            assert_eq!(error.field, "record_id");
            assert!(error.problem.contains("U+"), "{}", error.problem);
            assert!(check_text("value", bad).is_err(), "{bad:?}");
        }
        assert!(check_plain("record_id", "P-1001/ä é").is_ok());
        assert!(check_plain("record_id", "a\nb").is_err());
        assert!(check_text("value", "line one\n\tline two").is_ok());
    }
}
