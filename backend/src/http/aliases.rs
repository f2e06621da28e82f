//! The alias limit, which async-graphql does not have: aliases multiply work
//! past what the depth and complexity limits see. (Checked in the HTTP
//! handler rather than in an async-graphql extension: any extension puts a
//! hook around every field's resolution, which costs on every request.)

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

/// Fragment spreads nested deeper than this are not followed when counting
/// (validation rejects fragment cycles afterwards).
const MAX_FRAGMENT_NESTING: usize = 32;

/// Aliased fields in the operations, following fragment spreads (so a
/// fragment spread ten times counts ten times).
pub fn count_aliases(document: &ExecutableDocument) -> usize {
    fn in_set(document: &ExecutableDocument, set: &SelectionSet, depth: usize) -> usize {
        if depth > MAX_FRAGMENT_NESTING {
            return 0;
        }
        set.items
            .iter()
            .map(|selection| match &selection.node {
                Selection::Field(field) => {
                    usize::from(field.node.alias.is_some())
                        + in_set(document, &field.node.selection_set.node, depth)
                }
                Selection::InlineFragment(fragment) => {
                    in_set(document, &fragment.node.selection_set.node, depth)
                }
                Selection::FragmentSpread(spread) => document
                    .fragments
                    .get(&spread.node.fragment_name.node)
                    .map_or(0, |fragment| {
                        in_set(document, &fragment.node.selection_set.node, depth + 1)
                    }),
            })
            .sum()
    }
    document
        .operations
        .iter()
        .map(|(_, operation)| in_set(document, &operation.node.selection_set.node, 0))
        .sum()
}
