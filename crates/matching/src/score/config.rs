//! The weights file: its serialised shape and its validation.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::compare::Field;

/// The weights file as written on disk (JSON). This is the only serialised
/// type in the crate; [`super::Model`] is built from it and checked once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Where the numbers came from: hand-set defaults, or an EM run on what data.
    pub source: String,
    /// The probability that two records drawn at random are the same person:
    /// about one over the number of distinct people a feed holds.
    pub prior: f64,
    pub thresholds: Thresholds,
    pub first_name: Vec<LevelProbabilities>,
    pub surname: Vec<LevelProbabilities>,
    pub date_of_birth: Vec<LevelProbabilities>,
    pub sex: Vec<LevelProbabilities>,
    pub address: Vec<LevelProbabilities>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// The match probability at or above which a candidate is a match.
    pub r#match: f64,
    /// The match probability at or above which a candidate is a possible match.
    pub possible: f64,
    /// When set, a candidate whose first name is present on both sides but is
    /// neither the same nor a nickname of it is at most a possible match,
    /// whatever the weights say: the guard against merging twins that does not
    /// depend on how EM happened to estimate the first-name weights.
    pub first_name_must_agree: bool,
}

/// m: how often true matches fall in this level; u: how often non-matches do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelProbabilities {
    pub level: String,
    pub m: f64,
    pub u: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the weights file {path}: {reason}")]
    Read { path: PathBuf, reason: std::io::Error },
    #[error("the weights file is not of the expected shape: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("the weights file is invalid: {0}")]
    Invalid(String),
}

/// m and u for each level of a field must each sum to 1, within this.
const SUM_TOLERANCE: f64 = 0.01;

impl ModelConfig {
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        Ok(serde_json::from_str(text)?)
    }

    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|reason| ConfigError::Read { path: path.to_owned(), reason })?;
        Self::from_json(&text)
    }

    /// Pretty JSON, for writing back after estimation.
    pub fn to_json(&self) -> String {
        // A struct of strings, numbers and booleans always serialises.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn levels(&self, field: Field) -> &[LevelProbabilities] {
        match field {
            Field::FirstName => &self.first_name,
            Field::Surname => &self.surname,
            Field::DateOfBirth => &self.date_of_birth,
            Field::Sex => &self.sex,
            Field::Address => &self.address,
            Field::NhsNumber | Field::Upn | Field::Prior => &[],
        }
    }

    /// The levels of a field, to adjust after estimation.
    pub fn levels_mut(&mut self, field: Field) -> &mut [LevelProbabilities] {
        match field {
            Field::FirstName => &mut self.first_name,
            Field::Surname => &mut self.surname,
            Field::DateOfBirth => &mut self.date_of_birth,
            Field::Sex => &mut self.sex,
            Field::Address => &mut self.address,
            Field::NhsNumber | Field::Upn | Field::Prior => &mut [],
        }
    }

    /// Checks everything a model relies on, naming the first problem.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |problem: String| Err(ConfigError::Invalid(problem));
        let open_unit = |x: f64| x > 0.0 && x < 1.0;
        if !open_unit(self.prior) {
            return invalid(format!("prior must be between 0 and 1 exclusive, not {}", self.prior));
        }
        let Thresholds { r#match: matched, possible, .. } = self.thresholds;
        if !(open_unit(possible) && open_unit(matched) && possible <= matched) {
            return invalid(format!("thresholds must satisfy 0 < possible ({possible}) <= match ({matched}) < 1"));
        }
        for field in Field::COMPARED {
            let name = field.as_str();
            let keys: Vec<&str> = self.levels(field).iter().map(|l| l.level.as_str()).collect();
            let expected: Vec<&str> = field.levels().iter().map(|l| l.key).collect();
            if keys != expected {
                return invalid(format!("{name} must have the levels {expected:?} in that order, not {keys:?}"));
            }
            for level in self.levels(field) {
                if !(level.m > 0.0 && level.m <= 1.0 && level.u > 0.0 && level.u <= 1.0) {
                    return invalid(format!("{name}.{}: m and u must be in (0, 1]", level.level));
                }
            }
            for (which, sum) in [
                ("m", self.levels(field).iter().map(|l| l.m).sum::<f64>()),
                ("u", self.levels(field).iter().map(|l| l.u).sum::<f64>()),
            ] {
                if (sum - 1.0).abs() > SUM_TOLERANCE {
                    return invalid(format!("{name}: the {which} probabilities sum to {sum:.4}, not 1"));
                }
            }
        }
        Ok(())
    }
}
