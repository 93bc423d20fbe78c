//! The agencies and item categories in force: configuration, not code.
//!
//! `policy/agencies.csv` lists every category (`agency/name, kind, least
//! sensitivity`); the agencies are the prefixes. A service installs its copy
//! once, at start-up, before it parses anything; a process that never does
//! (a test, a tool) gets the copy shipped in this source tree. Agencies and
//! categories are compared everywhere, so they cannot change under a running
//! process: a different registry is refused until restart.

use std::sync::OnceLock;

use crate::{
    DomainError,
    codes::{Agency, CategoryDef, ItemKind, Sensitivity},
};

const SHIPPED: &str = include_str!("../../../policy/agencies.csv");

static INSTALLED: OnceLock<Registry> = OnceLock::new();

/// The agencies and categories of this process.
#[derive(Debug)]
pub struct Registry {
    rows: Vec<Row>,
    agencies: Vec<Agency>,
    categories: Vec<&'static CategoryDef>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Row {
    name: String,
    kind: ItemKind,
    sensitivity: Sensitivity,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RegistryError {
    #[error("agencies.csv line {line}: {message}")]
    Line { line: usize, message: String },
    #[error("agencies.csv lists no category")]
    Empty,
    #[error("agencies.csv differs from the registry this process started with; agencies change only on restart")]
    Changed,
}

/// The registry in force.
pub fn registry() -> &'static Registry {
    INSTALLED.get_or_init(|| Registry::build(parse(SHIPPED).expect("the shipped policy/agencies.csv is valid")))
}

/// Puts `text` (the contents of an `agencies.csv`) in force for the life of
/// the process, or confirms that it already is.
pub fn install(text: &str) -> Result<&'static Registry, RegistryError> {
    let rows = parse(text)?;
    let registry = INSTALLED.get_or_init(|| Registry::build(rows.clone()));
    if registry.rows != rows {
        return Err(RegistryError::Changed);
    }
    Ok(registry)
}

impl Registry {
    /// Definitions live as long as the process: `Category` is a `Copy`
    /// reference, and a process builds its registry once.
    fn build(rows: Vec<Row>) -> Self {
        let mut agencies: Vec<Agency> = Vec::new();
        let categories: Vec<&'static CategoryDef> = rows
            .iter()
            .map(|row| {
                let name: &'static str = Box::leak(row.name.clone().into_boxed_str());
                let agency = agency_of(name);
                let agency = match agencies.iter().find(|a| a.as_str() == agency) {
                    Some(known) => *known,
                    None => {
                        agencies.push(Agency::named(agency));
                        agencies[agencies.len() - 1]
                    }
                };
                &*Box::leak(Box::new(CategoryDef { name, agency, kind: row.kind, sensitivity: row.sensitivity }))
            })
            .collect();
        Self { rows, agencies, categories }
    }

    pub fn agencies(&self) -> &[Agency] {
        &self.agencies
    }

    pub(crate) fn categories(&self) -> &[&'static CategoryDef] {
        &self.categories
    }

    pub(crate) fn agency(&self, field: &str, raw: &str) -> Result<Agency, DomainError> {
        self.agencies.iter().copied().find(|a| a.as_str() == raw).ok_or_else(|| {
            let known: Vec<&str> = self.agencies.iter().map(|a| a.as_str()).collect();
            DomainError::invalid(
                field,
                format!("unknown agency {}; expected one of {}", crate::echo(raw), known.join(", ")),
            )
        })
    }
}

fn agency_of(category: &str) -> &str {
    category.split_once('/').map_or(category, |(agency, _)| agency)
}

fn parse(text: &str) -> Result<Vec<Row>, RegistryError> {
    let mut rows: Vec<Row> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let raw = raw.trim();
        if raw.is_empty() || raw.starts_with('#') {
            continue;
        }
        let row = parse_row(raw).map_err(|message| RegistryError::Line { line, message })?;
        if rows.iter().any(|r| r.name == row.name) {
            return Err(RegistryError::Line { line, message: format!("category {} is listed twice", row.name) });
        }
        rows.push(row);
    }
    if rows.is_empty() { Err(RegistryError::Empty) } else { Ok(rows) }
}

/// Words the access model and identities use for things other than agencies:
/// the scopes (`any`, `assigned`, `unassigned`), the scope namespaces
/// (`agency`, `enquiry`) and the organisation of MASH staff (`mash`). An
/// agency named one of them could be mistaken for it.
pub const RESERVED_AGENCY_NAMES: [&str; 6] = ["any", "assigned", "unassigned", "agency", "enquiry", "mash"];

fn parse_row(raw: &str) -> Result<Row, String> {
    let cells: Vec<&str> = raw.split(',').map(str::trim).collect();
    let [name, kind, sensitivity] = cells[..] else {
        return Err("expected three columns: category, kind, least sensitivity".into());
    };
    // Agency names become SPIFFE path segments, casbin roles and category
    // prefixes, so they are held to the plainest form all three accept.
    let plain = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    match name.split_once('/') {
        Some((agency, _)) if RESERVED_AGENCY_NAMES.contains(&agency) => {
            return Err(format!("agency name {agency:?} is reserved: the access policy uses it for something else"));
        }
        Some((agency, rest)) if plain(agency) && plain(rest) => {}
        _ => return Err(format!("category {name:?} must be agency/name, lower case letters, digits and hyphens")),
    }
    let kind = ItemKind::parse("kind", kind).map_err(|e| e.to_string())?;
    let sensitivity = Sensitivity::parse("sensitivity", sensitivity).map_err(|e| e.to_string())?;
    Ok(Row { name: name.to_owned(), kind, sensitivity })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_registry_has_the_four_agencies() {
        let names: Vec<&str> = registry().agencies().iter().map(|a| a.as_str()).collect();
        assert_eq!(names, ["police", "health", "education", "social-care"]);
    }

    #[test]
    fn malformed_rows_name_their_line() {
        let cases = [
            ("police/arrest, event\n", 1, "three columns"),
            ("# c\npolice/arrest, event, secret\n", 2, "sensitivity"),
            ("police/arrest, happening, standard\n", 1, "kind"),
            ("Police/arrest, event, standard\n", 1, "agency/name"),
            ("arrest, event, standard\n", 1, "agency/name"),
            ("police/arrest, event, standard\npolice/arrest, event, standard\n", 2, "twice"),
            ("any/log, event, standard\n", 1, "reserved"),
            ("police/arrest, event, standard\nassigned/x, event, standard\n", 2, "reserved"),
            ("mash/x, event, standard\n", 1, "reserved"),
        ];
        for (text, line, needle) in cases {
            match parse(text) {
                Err(RegistryError::Line { line: got, message }) => {
                    assert_eq!(got, line, "{text:?}");
                    assert!(message.contains(needle), "{text:?}: {message}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
        assert_eq!(parse("# nothing\n"), Err(RegistryError::Empty));
    }

    #[test]
    fn a_different_registry_is_refused_while_one_is_in_force() {
        assert!(install(SHIPPED).is_ok(), "the same registry again is fine");
        let probation = format!("{SHIPPED}\nprobation/supervision, involvement, sensitive\n");
        assert_eq!(install(&probation).map(|_| ()), Err(RegistryError::Changed));
    }
}
