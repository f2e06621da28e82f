//! Checks JSON-LD against the schema.org vocabulary extracted into
//! `vocabulary.json` by `extract.py` (schema.org's own release file, from a
//! registry package): every `@type` exists, every property exists and is
//! one of its type's (or an ancestor's), and every value fits the
//! property's range (a node of a range type, a member of a range
//! enumeration, or a literal of a range data type).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Type {
    parents: Vec<String>,
}

#[derive(Deserialize)]
struct Property {
    domains: Vec<String>,
    ranges: Vec<String>,
}

#[derive(Deserialize)]
pub struct Vocabulary {
    types: BTreeMap<String, Type>,
    properties: BTreeMap<String, Property>,
    enumerations: BTreeMap<String, Vec<String>>,
}

const SCHEMA: &str = "https://schema.org/";
const DATA_TYPES: [&str; 7] = [
    "Text", "URL", "Date", "DateTime", "Number", "Integer", "Boolean",
];

pub fn vocabulary() -> Vocabulary {
    serde_json::from_str(include_str!("vocabulary.json")).expect("vocabulary.json")
}

impl Vocabulary {
    /// `name` and every type above it.
    fn lineage(&self, name: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut pending = vec![name.to_owned()];
        while let Some(current) = pending.pop() {
            if seen.insert(current.clone())
                && let Some(known) = self.types.get(&current)
            {
                pending.extend(known.parents.iter().cloned());
            }
        }
        seen
    }

    /// Every way `node` (a JSON-LD document's top node) breaks the
    /// vocabulary; empty when it keeps to it.
    pub fn problems(&self, node: &Value) -> Vec<String> {
        let mut problems = Vec::new();
        match node.get("@context").and_then(Value::as_str) {
            Some("https://schema.org") | Some("https://schema.org/") => {}
            other => problems.push(format!("@context is {other:?}, not https://schema.org")),
        }
        self.node(node, None, "$", &mut problems);
        problems
    }

    fn node(&self, node: &Value, ranges: Option<&[String]>, at: &str, problems: &mut Vec<String>) {
        let Some(object) = node.as_object() else {
            problems.push(format!("{at}: not an object"));
            return;
        };
        let Some(kind) = object.get("@type").and_then(Value::as_str) else {
            problems.push(format!("{at}: no @type"));
            return;
        };
        if !self.types.contains_key(kind) || DATA_TYPES.contains(&kind) {
            problems.push(format!("{at}: {kind} is not a schema.org type"));
            return;
        }
        let lineage = self.lineage(kind);
        if let Some(ranges) = ranges
            && !ranges.iter().any(|range| lineage.contains(range))
        {
            problems.push(format!("{at}: a {kind} where {ranges:?} is expected"));
        }
        for (name, value) in object {
            if name.starts_with('@') {
                if !["@type", "@context", "@id"].contains(&name.as_str()) {
                    problems.push(format!("{at}: unexpected keyword {name}"));
                }
                continue;
            }
            let here = format!("{at}.{name}");
            let Some(property) = self.properties.get(name) else {
                problems.push(format!("{here}: no such property"));
                continue;
            };
            if !property
                .domains
                .iter()
                .any(|domain| lineage.contains(domain))
            {
                problems.push(format!(
                    "{here}: not a property of {kind} (only of {:?})",
                    property.domains
                ));
                continue;
            }
            let values = match value {
                Value::Array(items) => items.iter().collect(),
                single => vec![single],
            };
            for (index, value) in values.into_iter().enumerate() {
                self.value(
                    value,
                    &property.ranges,
                    &format!("{here}[{index}]"),
                    problems,
                );
            }
        }
    }

    fn value(&self, value: &Value, ranges: &[String], at: &str, problems: &mut Vec<String>) {
        let allows = |data_type: &str| ranges.iter().any(|range| range == data_type);
        match value {
            Value::Object(_) => self.node(value, Some(ranges), at, problems),
            Value::String(text) => {
                let fits = match text.strip_prefix(SCHEMA) {
                    // An enumeration member, such as https://schema.org/InStock.
                    Some(member) => {
                        allows("URL")
                            || ranges.iter().any(|range| {
                                self.enumerations.get(range).is_some_and(|members| {
                                    members.iter().any(|known| known == member)
                                })
                            })
                    }
                    None => {
                        allows("Text")
                            || (allows("URL") && text.starts_with("http"))
                            || (allows("Date") && is_date(text))
                            || (allows("DateTime") && text.contains('T'))
                            || ((allows("Number") || allows("Integer"))
                                && text.parse::<f64>().is_ok())
                    }
                };
                if !fits {
                    problems.push(format!("{at}: {text:?} does not fit {ranges:?}"));
                }
            }
            Value::Number(number) => {
                let fits = allows("Number")
                    || allows("Integer") && number.is_i64()
                    || allows("Integer") && number.is_u64();
                if !fits {
                    problems.push(format!("{at}: the number {number} does not fit {ranges:?}"));
                }
            }
            Value::Bool(_) if allows("Boolean") => {}
            other => problems.push(format!("{at}: {other} does not fit {ranges:?}")),
        }
    }
}

fn is_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() == 3
        && parts[0].len() == 4
        && parts[1].len() == 2
        && parts[2].len() == 2
        && parts
            .iter()
            .all(|part| part.bytes().all(|b| b.is_ascii_digit()))
}

/// The JSON-LD documents of a page (`<script type="application/ld+json">`).
pub fn documents(html: &str) -> Vec<Value> {
    html.split("<script type=\"application/ld+json\">")
        .skip(1)
        .map(|rest| {
            let text = rest.split("</script>").next().unwrap();
            serde_json::from_str(text).unwrap_or_else(|error| panic!("{error}: {text}"))
        })
        .collect()
}
