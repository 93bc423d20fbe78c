//! Identity matching: finding the right person in an agency's records, and
//! never the wrong one.
//!
//! A pure library; the only I/O is reading a weights file.
//!
//! - [`normalise`]: raw agency text → a compact [`MatchRecord`] (names folded,
//!   nicknames looked up, dates, postcodes and identifiers parsed).
//! - [`block`]: the keys a feed indexes records under (as blind indexes) so
//!   that a search scores only a few candidates.
//! - [`compare`]: the comparison levels of each field, Jaro-Winkler and Soundex.
//! - [`score`]: identifiers first, then Fellegi–Sunter weights from the
//!   weights file → a [`Verdict`] and a per-field breakdown; [`settle`] then
//!   keeps only a search's strongest match a match.
//! - [`em`]: estimating the weights from the data, Splink-style.
//!
//! ```
//! use mash_matching::{MatchInput, MatchRecord, Model, Verdict, blocking_keys};
//!
//! let stored = MatchRecord::normalise(MatchInput {
//!     given_name: "Oliver", family_name: "Smith", date_of_birth: "2016-05-09", postcode: "LS6 2AB",
//!     ..Default::default()
//! })?;
//! let query = MatchRecord::normalise(MatchInput {
//!     given_name: "Ollie", family_name: "smith", date_of_birth: "2016-05-09", postcode: "ls62ab",
//!     ..Default::default()
//! })?;
//! assert!(blocking_keys(&query).iter().any(|k| blocking_keys(&stored).contains(k)));
//! let scored = Model::default().score(&query, &stored);
//! assert_eq!(scored.verdict, Verdict::Match);
//! # Ok::<(), mash_domain::DomainError>(())
//! ```

pub mod block;
pub mod compare;
pub mod em;
pub mod normalise;
pub mod score;

pub use block::{BlockingKey, blocking_keys, for_each_blocking_key, for_each_query_key, query_keys};
pub use compare::{ComparisonVector, Field, compare};
pub use normalise::{MatchInput, MatchRecord, Postcode, Sex};
pub use score::{ConfigError, FieldWeight, Model, ModelConfig, Scored, Verdict, settle};
