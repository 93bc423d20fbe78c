//! An agency described by configuration instead of code: its own proto
//! message, compiled when the feed starts (protox, no protoc), and a mapping
//! file that says which of the message's fields make the item. A fifth agency
//! is this file, its `.proto`, and its rows in the policy files; the feed
//! binary is the same for every such agency (`services/feed`).

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
};

use mash_domain::{Agency, Category, DomainError};
use mash_proto::v1::push_record::Body;
use prost::Message;
use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, Value};
use serde::Deserialize;

use crate::{ItemContent, ItemField, RecordAdapter, item_date, required, wrong_body};

const TYPE_URL_PREFIX: &str = "type.googleapis.com/";

/// The mapping file (`<agency>.toml`), as written by a council's integrator.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    agency: String,
    /// Relative to the mapping file; imports resolve beside it.
    proto: PathBuf,
    /// The full name of the record message, e.g. `probation.v1.SupervisionRecord`.
    message: String,
    item: ItemSpec,
    #[serde(default, rename = "field")]
    fields: Vec<FieldSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemSpec {
    /// One category for every record…
    category: Option<String>,
    /// …or the message field that names it.
    category_field: Option<String>,
    /// The message field holding the item's date (`YYYY-MM-DD`).
    date_field: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldSpec {
    /// The item field's name, as researchers see it.
    name: String,
    /// The message field it is read from.
    from: String,
    #[serde(default)]
    required: bool,
    /// Restricted fields never leave the broker.
    #[serde(default)]
    restricted: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: std::io::Error },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// A [`RecordAdapter`] built from a mapping file and the agency's proto.
#[derive(Debug)]
pub struct MappedAdapter {
    agency: Agency,
    message: MessageDescriptor,
    category: CategorySource,
    date: FieldDescriptor,
    fields: Vec<MappedField>,
}

#[derive(Debug)]
enum CategorySource {
    Fixed(Category),
    Field(FieldDescriptor),
}

#[derive(Debug)]
struct MappedField {
    name: String,
    from: FieldDescriptor,
    required: bool,
    restricted: bool,
}

impl MappedAdapter {
    /// Reads and checks the mapping and compiles its proto. The agency must
    /// be in the registry in force, so load the policy first.
    pub fn load(path: &Path) -> Result<Self, MappingError> {
        let (spec, message) = read(path)?;
        let invalid = |message: String| MappingError::Invalid { path: path.display().to_string(), message };
        let agency = Agency::parse("agency", &spec.agency).map_err(|e| invalid(e.to_string()))?;
        Self::check(agency, message, spec).map_err(invalid)
    }

    fn check(agency: Agency, message: MessageDescriptor, spec: Spec) -> Result<Self, String> {
        let field = |name: &str, text_only: bool| scalar_field(&message, name, text_only);
        let category = match (&spec.item.category, &spec.item.category_field) {
            (Some(fixed), None) => {
                CategorySource::Fixed(Category::parse_for("item.category", fixed, agency).map_err(|e| e.to_string())?)
            }
            (None, Some(name)) => CategorySource::Field(field(name, true)?),
            _ => return Err("item: give exactly one of category and category_field".into()),
        };
        let date = field(&spec.item.date_field, true)?;
        let mut names = HashSet::new();
        let fields = spec
            .fields
            .iter()
            .map(|f| {
                if !names.insert(f.name.as_str()) {
                    return Err(format!("item field {:?} is mapped twice", f.name));
                }
                let from = field(&f.from, false)?;
                Ok(MappedField { name: f.name.clone(), from, required: f.required, restricted: f.restricted })
            })
            .collect::<Result<_, String>>()?;
        Ok(Self { agency, message, category, date, fields })
    }

    /// Packs a record given in the proto JSON mapping as the `record` body of a push.
    pub fn body_from_json(&self, json: serde_json::Value) -> Result<Body, DomainError> {
        body_from_json(&self.message, json)
    }

    fn decode(&self, body: &Body) -> Result<DynamicMessage, DomainError> {
        let full_name = self.message.full_name();
        let Body::Record(any) = body else {
            return Err(wrong_body(self.agency, body, full_name));
        };
        if any.type_url.strip_prefix(TYPE_URL_PREFIX) != Some(full_name) {
            return Err(DomainError::invalid(
                "record.type_url",
                format!("must be {TYPE_URL_PREFIX}{full_name} for the {} feed", self.agency),
            ));
        }
        DynamicMessage::decode(self.message.clone(), any.value.as_slice())
            .map_err(|_| DomainError::invalid("record.value", format!("is not a valid {full_name}")))
    }
}

impl RecordAdapter for MappedAdapter {
    fn agency(&self) -> Agency {
        self.agency
    }

    fn to_item(&self, body: &Body) -> Result<ItemContent, DomainError> {
        let record = self.decode(body)?;
        let read = |field: &FieldDescriptor| (format!("record.{}", field.name()), text(&record, field));
        let category = match &self.category {
            CategorySource::Fixed(category) => *category,
            CategorySource::Field(field) => {
                let (path, value) = read(field);
                Category::parse_for(&path, value.trim(), self.agency)?
            }
        };
        let (path, value) = read(&self.date);
        let date = item_date(&path, value.trim())?;
        let fields = self
            .fields
            .iter()
            .map(|mapped| {
                let (path, value) = read(&mapped.from);
                let value = if mapped.required { required(&path, &value)? } else { value.trim() };
                Ok(ItemField { name: mapped.name.clone(), value: value.to_owned(), restricted: mapped.restricted })
            })
            .collect::<Result<_, DomainError>>()?;
        Ok(ItemContent::new(category, date, fields))
    }
}

/// The record message a mapping file names, for tools that build records
/// (`mashctl push`): unlike [`MappedAdapter::load`], it needs no registry.
pub fn record_message(path: &Path) -> Result<MessageDescriptor, MappingError> {
    read(path).map(|(_, message)| message)
}

/// Packs a record given in the proto JSON mapping (field names as in the
/// `.proto` or camelCase; enums by name) as the `record` body of a push.
pub fn body_from_json(message: &MessageDescriptor, json: serde_json::Value) -> Result<Body, DomainError> {
    let record = DynamicMessage::deserialize(message.clone(), json)
        .map_err(|e| DomainError::invalid("record", format!("is not a {}: {e}", message.full_name())))?;
    Ok(Body::Record(prost_types::Any {
        type_url: format!("{TYPE_URL_PREFIX}{}", message.full_name()),
        value: record.encode_to_vec(),
    }))
}

fn read(path: &Path) -> Result<(Spec, MessageDescriptor), MappingError> {
    let shown = path.display().to_string();
    let invalid = |message: String| MappingError::Invalid { path: shown.clone(), message };
    let text = std::fs::read_to_string(path).map_err(|reason| MappingError::Read { path: shown.clone(), reason })?;
    let spec: Spec = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    let message = compile(path, &spec).map_err(invalid)?;
    Ok((spec, message))
}

fn compile(path: &Path, spec: &Spec) -> Result<MessageDescriptor, String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let pool = protox::Compiler::new([dir])
        .and_then(|mut compiler| compiler.open_file(&spec.proto).map(|c| c.descriptor_pool()))
        .map_err(|e| format!("proto {}: {e}", spec.proto.display()))?;
    pool.get_message_by_name(&spec.message)
        .ok_or_else(|| format!("proto {} defines no message {}", spec.proto.display(), spec.message))
}

/// A singular field the mapping may read: a string, or, where any text will
/// do, a number, a bool or an enum.
fn scalar_field(message: &MessageDescriptor, name: &str, text_only: bool) -> Result<FieldDescriptor, String> {
    let field =
        message.get_field_by_name(name).ok_or_else(|| format!("{} has no field {name}", message.full_name()))?;
    let scalar = !field.is_list() && !field.is_map();
    let kind_ok = match field.kind() {
        Kind::String => true,
        Kind::Message(_) | Kind::Bytes => false,
        _ => !text_only,
    };
    if scalar && kind_ok {
        Ok(field)
    } else {
        let wanted = if text_only { "a string" } else { "a single string, number, bool or enum" };
        Err(format!("{}.{name} must be {wanted}", message.full_name()))
    }
}

fn text(record: &DynamicMessage, field: &FieldDescriptor) -> String {
    match &*record.get_field(field) {
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.to_owned(),
        Value::I32(n) => n.to_string(),
        Value::I64(n) => n.to_string(),
        Value::U32(n) => n.to_string(),
        Value::U64(n) => n.to_string(),
        Value::F32(n) => n.to_string(),
        Value::F64(n) => n.to_string(),
        Value::EnumNumber(n) => match field.kind() {
            Kind::Enum(e) => e.get_value(*n).map_or_else(|| n.to_string(), |v| v.name().to_owned()),
            _ => n.to_string(),
        },
        Value::Bytes(_) | Value::Message(_) | Value::List(_) | Value::Map(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROTO: &str = r#"
        syntax = "proto3";
        package council.v1;
        message Note {
          string category = 1;
          string noted_on = 2;
          string text = 3;
          int32 count = 4;
          repeated string tags = 5;
          Note parent = 6;
        }
    "#;

    /// A mapping for a police record type of the council's own (the shipped
    /// registry has no fifth agency), with `item` and `fields` as given.
    fn load(item: &str, fields: &str) -> Result<MappedAdapter, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        std::fs::write(dir.path().join("note.proto"), PROTO).map_err(|e| e.to_string())?;
        let mapping = format!(
            "agency = \"police\"\nproto = \"note.proto\"\nmessage = \"council.v1.Note\"\n[item]\n{item}\n{fields}"
        );
        let path = dir.path().join("note.toml");
        std::fs::write(&path, mapping).map_err(|e| e.to_string())?;
        MappedAdapter::load(&path).map_err(|e| e.to_string())
    }

    const ITEM: &str = "category_field = \"category\"\ndate_field = \"noted_on\"";

    #[test]
    fn a_mapping_is_checked_whole_when_the_feed_starts() {
        let text = "[[field]]\nname = \"text\"\nfrom = \"text\"";
        let cases = [
            (ITEM, text, None),
            (ITEM, "[[field]]\nname = \"count\"\nfrom = \"count\"", None),
            ("category = \"police/arrest\"\ndate_field = \"noted_on\"", text, None),
            ("category = \"health/maternity\"\ndate_field = \"noted_on\"", text, Some("does not belong")),
            (
                "category = \"police/arrest\"\ncategory_field = \"category\"\ndate_field = \"noted_on\"",
                "",
                Some("exactly one"),
            ),
            ("date_field = \"noted_on\"", "", Some("exactly one")),
            ("category_field = \"count\"\ndate_field = \"noted_on\"", "", Some("must be a string")),
            (ITEM, "[[field]]\nname = \"x\"\nfrom = \"absent\"", Some("has no field absent")),
            (ITEM, "[[field]]\nname = \"x\"\nfrom = \"tags\"", Some("must be a single")),
            (ITEM, "[[field]]\nname = \"x\"\nfrom = \"parent\"", Some("must be a single")),
            (ITEM, &format!("{text}\n{text}"), Some("mapped twice")),
            (ITEM, "[[field]]\nname = \"x\"\nfrom = \"text\"\nsecret = true", Some("unknown field")),
        ];
        for (item, fields, expected) in cases {
            match (load(item, fields), expected) {
                (Ok(_), None) => {}
                (Err(e), Some(needle)) => assert!(e.contains(needle), "{item} {fields}: {e}"),
                (got, expected) => panic!("{item} / {fields}: got {got:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn a_missing_proto_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m.toml");
        let mapping = "agency = \"police\"\nproto = \"none.proto\"\nmessage = \"x.Y\"\n[item]\ndate_field = \"d\"\n";
        std::fs::write(&path, mapping).expect("write");
        let err = MappedAdapter::load(&path).expect_err("no proto");
        assert!(err.to_string().contains("none.proto"), "{err}");
    }

    #[test]
    fn each_bad_record_names_its_field() {
        let adapter = load(ITEM, "[[field]]\nname = \"text\"\nfrom = \"text\"\nrequired = true").expect("valid");
        let body = |json: serde_json::Value| adapter.body_from_json(json).expect("a Note");
        let good = serde_json::json!({"category": "police/arrest", "noted_on": "2026-01-02", "text": "Seen"});
        let item = adapter.to_item(&body(good)).expect("valid");
        assert_eq!((item.category.as_str(), item.fields[0].value.as_str()), ("police/arrest", "Seen"));
        let cases = [
            (serde_json::json!({"category": "police/arrest", "noted_on": "2026-01-02"}), "record.text"),
            (
                serde_json::json!({"category": "health/maternity", "noted_on": "2026-01-02", "text": "x"}),
                "record.category",
            ),
            (
                serde_json::json!({"category": "police/arrest", "noted_on": "02/01/2026", "text": "x"}),
                "record.noted_on",
            ),
        ];
        for (json, field) in cases {
            let err = adapter.to_item(&body(json.clone())).expect_err("invalid");
            assert_eq!(err.field, field, "{json}");
        }
        let foreign =
            Body::Record(prost_types::Any { type_url: "type.googleapis.com/council.v1.Other".into(), value: vec![] });
        assert_eq!(adapter.to_item(&foreign).expect_err("another type").field, "record.type_url");
        let garbled = Body::Record(prost_types::Any {
            type_url: "type.googleapis.com/council.v1.Note".into(),
            value: vec![0xff, 0xff, 0xff],
        });
        assert_eq!(adapter.to_item(&garbled).expect_err("not a Note").field, "record.value");
        let typed = Body::HealthContact(Default::default());
        assert_eq!(adapter.to_item(&typed).expect_err("a typed body").field, "body");
    }
}
