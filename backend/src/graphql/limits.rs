//! Request hygiene that async-graphql does not do itself: an alias limit
//! (aliases multiply work past the depth and complexity limits), and an
//! `extensions.code` on every error, including parse and validation errors.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest, NextRequest,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Request, Response, ServerError, ServerResult};

use crate::error::{annotate, set_code};

/// Fragment spreads nested deeper than this are not followed when counting
/// (validation rejects fragment cycles afterwards).
const MAX_FRAGMENT_NESTING: usize = 32;

pub struct Hygiene {
    pub max_aliases: usize,
}

impl ExtensionFactory for Hygiene {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(HygieneExtension {
            max_aliases: self.max_aliases,
        })
    }
}

struct HygieneExtension {
    max_aliases: usize,
}

#[async_trait::async_trait]
impl Extension for HygieneExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        for error in &mut response.errors {
            annotate(error);
        }
        response
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let aliases = match request.parsed_query() {
            Ok(document) => count_aliases(document),
            Err(mut error) => {
                set_code(&mut error, "GRAPHQL_PARSE_FAILED");
                return Err(error);
            }
        };
        if aliases > self.max_aliases {
            let mut error = ServerError::new(
                format!(
                    "the query uses {aliases} aliases; at most {} are allowed",
                    self.max_aliases
                ),
                None,
            );
            set_code(&mut error, "GRAPHQL_VALIDATION_FAILED");
            return Err(error);
        }
        next.run(ctx, request).await
    }
}

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
