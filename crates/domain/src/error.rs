//! The one error type of the domain: a value that failed to parse.

/// A value from outside that is not valid. `field` names the field the way the
/// caller named it, so that the gRPC edge can return it as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct DomainError {
    pub field: String,
    pub problem: String,
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self { field: field.into(), problem: problem.into() }
    }

    /// The same error, reported under a longer field path such as `subjects[2].person`.
    pub fn within(mut self, prefix: &str) -> Self {
        self.field = format!("{prefix}.{}", self.field);
        self
    }
}

/// The most characters of a caller's raw value an error quotes.
const ECHOED: usize = 40;

/// A caller's raw value as an error may quote it: debug-quoted, and cut to
/// `ECHOED` characters. An error goes back to the caller and into the
/// server's log; a value that does not parse may be anything, as long as
/// the caller likes, so it is never echoed whole.
pub fn echo(raw: &str) -> String {
    match raw.char_indices().nth(ECHOED) {
        Some((cut, _)) => format!("{:?}…", &raw[..cut]),
        None => format!("{raw:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_value_is_echoed_cut_and_a_short_one_whole() {
        assert_eq!(echo("probation"), "\"probation\"");
        let long = "é".repeat(10_000);
        let echoed = echo(&long);
        assert_eq!(echoed, format!("{:?}…", "é".repeat(ECHOED)));
    }
}
