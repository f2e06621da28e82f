//! What a request's document asks for, measured before it runs, for the
//! limits async-graphql does not have (or cannot apply as we need): aliases
//! (which multiply work past what depth and complexity see), depth with
//! introspection exempt (so GraphiQL and code generators can read the schema
//! while ordinary queries stay shallow), mutation fields per document,
//! whether it introspects the schema, and control characters in its text
//! (string literals here, variables through [`control_character_in`]).
//!
//! Checked in the HTTP handler rather than in an async-graphql extension:
//! any extension puts a hook around every field's resolution, which costs on
//! every request. Never executes or validates anything itself.

use std::collections::HashMap;

use async_graphql::parser::types::{
    ExecutableDocument, FragmentDefinition, OperationType, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned, Value as ConstValue};

use crate::metrics::labels::Operation;

/// Brackets (`{`, `(`, `[`) nested deeper than this are refused before
/// parsing: no real query comes near, and the parser's work and error
/// message grow with it.
pub const MAX_NESTING: usize = 64;

/// The measures of a parsed document (over all its operations).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape {
    /// Aliased fields, each fragment spread counting its fragment's.
    pub aliases: usize,
    /// The deepest chain of nested fields, not counting `__schema` and
    /// `__type` subtrees.
    pub depth: usize,
    /// Top-level fields of mutation operations.
    pub mutation_fields: usize,
    /// Whether it asks for `__schema` or `__type`.
    pub introspects: bool,
    /// Whether a string literal holds a control character.
    pub control_characters: bool,
    /// Whether it is a query asking only the catalog's public root fields
    /// ([`PUBLIC_ROOTS`]): its answer may be shared (the response cache,
    /// HTTP caching), if it also never asked who the viewer is.
    pub public: bool,
    /// Whether it is a query asking only `viewer`: its answer is the
    /// viewer's own, which may be kept for them (keyed by their data
    /// version, `endpoint`).
    pub viewer_only: bool,
    /// The operation it runs, as metrics name it (a known name or `other`).
    pub operation: Operation,
}

/// Root query fields whose answers are the same for everyone (the catalog).
pub const PUBLIC_ROOTS: [&str; 8] = [
    "books",
    "book",
    "contributors",
    "contributor",
    "genres",
    "genre",
    "node",
    "__typename",
];

/// Per fragment: its shape (aliases, depth, mutation fields when spread at
/// the top of a mutation). Computed once each, so spreading a fragment many
/// times costs nothing extra to measure; a fragment spread inside itself
/// (refused by validation afterwards) counts as empty.
struct Measure<'a> {
    document: &'a ExecutableDocument,
    fragments: HashMap<&'a Name, Option<Shape>>,
}

impl<'a> Measure<'a> {
    fn fragment(&mut self, name: &'a Name) -> Shape {
        match self.fragments.get(name) {
            Some(Some(shape)) => return *shape,
            Some(None) => return Shape::default(),
            None => {}
        }
        let Some(fragment) = self.document.fragments.get(name) else {
            return Shape::default();
        };
        self.fragments.insert(name, None);
        let fragment: &'a Positioned<FragmentDefinition> = fragment;
        let shape = self.set(&fragment.node.selection_set.node);
        self.fragments.insert(name, Some(shape));
        shape
    }

    /// `mutation_fields` here counts the set's own fields (the caller keeps
    /// it only for the top of a mutation).
    fn set(&mut self, set: &'a SelectionSet) -> Shape {
        let mut shape = Shape::default();
        for selection in &set.items {
            let inner = match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let introspection = matches!(field.name.node.as_str(), "__schema" | "__type");
                    let below = self.set(&field.selection_set.node);
                    let literals = field
                        .arguments
                        .iter()
                        .chain(field.directives.iter().flat_map(|d| &d.node.arguments))
                        .any(|(_, value)| {
                            // Variables stand in as null: their values are checked apart.
                            value
                                .node
                                .clone()
                                .into_const_with(|_| {
                                    Ok::<_, std::convert::Infallible>(ConstValue::Null)
                                })
                                .is_ok_and(|value| const_has_control(&value))
                        });
                    Shape {
                        aliases: usize::from(field.alias.is_some()) + below.aliases,
                        depth: if introspection { 0 } else { 1 + below.depth },
                        mutation_fields: 1,
                        introspects: introspection || below.introspects,
                        control_characters: literals || below.control_characters,
                        public: false,
                        viewer_only: false,
                        operation: Operation::OTHER,
                    }
                }
                Selection::InlineFragment(fragment) => self.set(&fragment.node.selection_set.node),
                Selection::FragmentSpread(spread) => self.fragment(&spread.node.fragment_name.node),
            };
            shape.aliases += inner.aliases;
            shape.depth = shape.depth.max(inner.depth);
            shape.mutation_fields += inner.mutation_fields;
            shape.introspects |= inner.introspects;
            shape.control_characters |= inner.control_characters;
        }
        shape
    }
}

/// The limits a [`Shape`] must keep (from the configuration).
#[derive(Debug, Clone, Copy)]
pub struct ShapeLimits {
    pub max_aliases: usize,
    pub max_depth: usize,
    pub max_mutations: usize,
    pub introspection: bool,
}

/// Why a document is refused before it runs: the error code and message.
pub type Refusal = (&'static str, String);

impl ShapeLimits {
    pub fn check(&self, shape: &Shape) -> Result<(), Refusal> {
        let invalid = "GRAPHQL_VALIDATION_FAILED";
        if shape.control_characters {
            return Err(("BAD_USER_INPUT", CONTROL_CHARACTERS.to_owned()));
        }
        if shape.introspects && !self.introspection {
            return Err((invalid, "introspection is disabled".to_owned()));
        }
        if shape.aliases > self.max_aliases {
            let message = format!(
                "the query uses {} aliases; at most {} are allowed",
                shape.aliases, self.max_aliases
            );
            return Err((invalid, message));
        }
        if shape.depth > self.max_depth {
            let message = format!(
                "the query is nested too deep ({} levels of fields; at most {} are allowed)",
                shape.depth, self.max_depth
            );
            return Err((invalid, message));
        }
        if shape.mutation_fields > self.max_mutations {
            let message = format!(
                "the document holds {} mutation fields; at most {} mutation fields are allowed per request",
                shape.mutation_fields, self.max_mutations
            );
            return Err((invalid, message));
        }
        Ok(())
    }
}

/// The message for text holding a forbidden control character.
pub const CONTROL_CHARACTERS: &str = "text input must not contain control characters (such as NUL or ESC); tab, CR and LF are allowed";

/// Measures the operation that will run: the one named `operation_name`, or
/// every operation when no name is given (a document of several operations
/// then fails to execute anyway). Clients such as the storefront send a
/// whole file of operations and pick one by name.
pub fn measure(document: &ExecutableDocument, operation_name: Option<&str>) -> Shape {
    let mut measure = Measure {
        document,
        fragments: HashMap::new(),
    };
    let mut total = Shape {
        public: true,
        viewer_only: true,
        ..Shape::default()
    };
    let selected = document
        .operations
        .iter()
        .filter(|(name, _)| match operation_name {
            Some(wanted) => name.is_some_and(|name| name.as_str() == wanted),
            None => true,
        });
    let mut names = Vec::with_capacity(1);
    for (name, operation) in selected {
        names.push(name);
        let operation = &operation.node;
        let shape = measure.set(&operation.selection_set.node);
        let defaults = operation.variable_definitions.iter().any(|definition| {
            definition
                .node
                .default_value
                .as_ref()
                .is_some_and(|value| const_has_control(&value.node))
        });
        total.aliases += shape.aliases;
        total.depth = total.depth.max(shape.depth);
        if operation.ty == OperationType::Mutation {
            total.mutation_fields += shape.mutation_fields;
        }
        total.introspects |= shape.introspects;
        total.control_characters |= shape.control_characters || defaults;
        let query = operation.ty == OperationType::Query;
        let roots = &operation.selection_set.node.items;
        total.public &= query && only_fields(roots, &PUBLIC_ROOTS);
        total.viewer_only &= query && only_fields(roots, &["viewer"]);
    }
    if let [Some(name)] = names.as_slice() {
        total.operation = Operation::named(Some(name.as_str()));
    }
    total
}

/// Whether `items` are all fields (no fragments) named in `names`.
fn only_fields(items: &[Positioned<Selection>], names: &[&str]) -> bool {
    items.iter().all(|item| match &item.node {
        Selection::Field(field) => names.contains(&field.node.name.node.as_str()),
        _ => false,
    })
}

/// A character no text input may hold: C0 controls but tab, line feed and
/// carriage return; DEL; C1 controls. (Whether a field accepts newlines is
/// the field's own rule.)
pub fn is_forbidden_control(character: char) -> bool {
    character.is_control() && !matches!(character, '\t' | '\n' | '\r')
}

fn text_has_control(text: &str) -> bool {
    text.chars().any(is_forbidden_control)
}

fn const_has_control(value: &ConstValue) -> bool {
    match value {
        ConstValue::String(text) => text_has_control(text),
        ConstValue::List(items) => items.iter().any(const_has_control),
        ConstValue::Object(fields) => fields
            .iter()
            .any(|(name, value)| text_has_control(name) || const_has_control(value)),
        _ => false,
    }
}

/// The first variable (by name) whose value holds a control character.
pub fn control_character_in<'a>(
    variables: impl IntoIterator<Item = (&'a Name, &'a ConstValue)>,
) -> Option<&'a str> {
    variables
        .into_iter()
        .find(|(name, value)| text_has_control(name) || const_has_control(value))
        .map(|(name, _)| name.as_str())
}

/// How deeply brackets nest in `query`, outside strings and comments, up to
/// `MAX_NESTING + 1` (it stops counting there).
pub fn bracket_nesting(query: &str) -> usize {
    let bytes = query.as_bytes();
    let (mut depth, mut deepest, mut index) = (0usize, 0usize, 0usize);
    while index < bytes.len() && deepest <= MAX_NESTING {
        match bytes[index] {
            b'{' | b'(' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b')' | b']' => depth = depth.saturating_sub(1),
            b'#' => {
                while index < bytes.len() && bytes[index] != b'\n' {
                    index += 1;
                }
            }
            b'"' if bytes[index..].starts_with(b"\"\"\"") => {
                index += 3;
                while index < bytes.len() && !bytes[index..].starts_with(b"\"\"\"") {
                    index += if bytes[index] == b'\\' { 2 } else { 1 };
                }
                index += 2;
            }
            b'"' => {
                index += 1;
                while index < bytes.len() && bytes[index] != b'"' && bytes[index] != b'\n' {
                    index += if bytes[index] == b'\\' { 2 } else { 1 };
                }
            }
            _ => {}
        }
        index += 1;
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(query: &str) -> Shape {
        measure(&async_graphql::parser::parse_query(query).unwrap(), None)
    }

    #[test]
    fn measures() {
        let found = shape(
            "mutation { a: logout { loggedOut } ...M } fragment M on Mutation { b: logout { loggedOut } }",
        );
        assert_eq!(
            (found.aliases, found.depth, found.mutation_fields),
            (2, 2, 2)
        );
        let found = shape("{ __schema { types { fields { type { name } } } } x: genres { name } }");
        assert_eq!(
            (found.aliases, found.depth, found.introspects),
            (1, 2, true)
        );
        assert!(shape("{ book(slug: \"a\\u0000\") { title } }").control_characters);
        assert!(!shape("{ book(slug: \"a\\tb\") { title } }").control_characters);
        assert!(!shape("{ genres { __typename } }").introspects);
        assert!(shape("query Q3 { viewer { orders(first: 2) { nodes { number } } } }").viewer_only);
        assert!(!shape("{ viewer { email } books(first: 1) { totalCount } }").viewer_only);
        assert!(!shape("{ ...V } fragment V on Query { viewer { email } }").viewer_only);
        assert!(!shape("mutation { logout { loggedOut } }").viewer_only);
        assert!(!shape("{ viewer { email } }").public);
        let document = async_graphql::parser::parse_query(
            "query A { a: genres { name } } mutation B { b: logout { loggedOut } c: logout { loggedOut } }",
        )
        .unwrap();
        let only_a = measure(&document, Some("A"));
        assert_eq!((only_a.aliases, only_a.mutation_fields), (1, 0));
        assert_eq!(measure(&document, Some("B")).mutation_fields, 2);
    }

    #[test]
    fn nesting_ignores_strings_and_comments() {
        assert_eq!(bracket_nesting("{ a(x: \"{{{{\") { b } } # {{{{"), 2);
        assert_eq!(bracket_nesting("{ a(x: \"\"\"{{ \\\"\"\" {{\"\"\") }"), 2);
        assert_eq!(bracket_nesting(&"{".repeat(1000)), MAX_NESTING + 1);
    }
}
