//! The generator's embedded data: names, places and record texts.

pub(crate) mod names;
pub(crate) mod nicknames;
pub(crate) mod places;
pub(crate) mod texts;
