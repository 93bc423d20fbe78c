//! Which disclosures the owning agency is told about: one line per category
//! in `notifications.csv`, `notify` or `silent`. Every category must be
//! listed, so that nobody's data is disclosed silently by omission.

use std::collections::HashMap;

use mash_domain::Category;

use crate::{PolicyError, Source};

#[derive(Debug)]
pub struct Notifications {
    notify: HashMap<Category, bool>,
}

impl Notifications {
    pub(crate) fn load(source: Source<'_>) -> Result<Self, PolicyError> {
        Self::parse(source.text)
            .map_err(|message| PolicyError::Invalid(format!("{}: {message}", source.path.display())))
    }

    fn parse(text: &str) -> Result<Self, String> {
        let mut notify = HashMap::new();
        for (number, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (category, setting) =
                line.split_once(',').ok_or_else(|| format!("line {number}: expected `category, notify|silent`"))?;
            let category = Category::parse("category", category.trim()).map_err(|e| format!("line {number}: {e}"))?;
            let setting = match setting.trim() {
                "notify" => true,
                "silent" => false,
                other => return Err(format!("line {number}: {other:?} is neither notify nor silent")),
            };
            if notify.insert(category, setting).is_some() {
                return Err(format!("line {number}: {category} is listed twice"));
            }
        }
        let missing: Vec<&str> = Category::all().filter(|c| !notify.contains_key(c)).map(Category::as_str).collect();
        if !missing.is_empty() {
            return Err(format!("no notify/silent setting for {}", missing.join(", ")));
        }
        Ok(Self { notify })
    }

    /// Whether the owning agency is told when an item of `category` is disclosed.
    pub fn notifies(&self, category: Category) -> bool {
        self.notify.get(&category).copied().unwrap_or(true)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn all_but_last(setting: &str) -> String {
        let categories: Vec<Category> = Category::all().collect();
        let (_, rest) = categories.split_last().expect("categories");
        rest.iter().map(|c| format!("{c}, {setting}\n")).collect()
    }

    #[test]
    fn the_shipped_file_loads_and_keeps_routine_facts_silent() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policy/notifications.csv");
        let text = std::fs::read_to_string(&path).expect("read");
        let rules = Notifications::load(Source::new(&path, &text)).expect("shipped notifications load");
        let category = |name| Category::parse("c", name).expect("category");
        assert!(rules.notifies(category("police/domestic-abuse")));
        assert!(!rules.notifies(category("education/attendance")));
    }

    #[test]
    fn every_category_must_be_decided() {
        let error = Notifications::parse(&all_but_last("notify")).expect_err("one missing");
        assert!(error.contains("no notify/silent setting for social-care/adoption"), "{error}");
    }

    #[test]
    fn bad_lines_are_refused_with_their_line_number() {
        let full = all_but_last("notify") + "social-care/adoption, notify\n";
        for (extra, expected) in [
            ("police/parking, notify", "unknown category"),
            ("police/arrest, loud", "neither notify nor silent"),
            ("police/arrest notify", "expected `category, notify|silent`"),
            ("police/arrest, silent", "listed twice"),
        ] {
            let error = Notifications::parse(&format!("{full}{extra}\n")).expect_err(extra);
            assert!(error.contains(expected) && error.contains("line 27"), "{extra}: {error}");
        }
    }
}
