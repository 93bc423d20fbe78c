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
