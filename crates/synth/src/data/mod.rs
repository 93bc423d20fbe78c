//! The generator's embedded data: names, places and record texts.

pub mod names;
pub mod nicknames;
pub mod places;
pub mod texts;
