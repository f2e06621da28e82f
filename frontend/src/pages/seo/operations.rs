//! The operations of `queries/sitemap.graphql`, checked against the schema
//! when the crate compiles.
#![allow(clippy::upper_case_acronyms, missing_docs)]

use graphql_client::GraphQLQuery;

// The API's custom scalars, as the storefront handles them: text.
pub type DateTime = String;

macro_rules! operation {
    ($name:ident) => {
        #[derive(GraphQLQuery)]
        #[graphql(
            schema_path = "../schema.graphql",
            query_path = "queries/sitemap.graphql",
            response_derives = "Debug"
        )]
        pub struct $name;
    };
}

operation!(SitemapBooks);
operation!(SitemapContributors);
operation!(SitemapGenres);
