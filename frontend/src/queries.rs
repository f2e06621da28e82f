//! The catalog's GraphQL operations (home, catalog, book, contributor),
//! generated from `queries/catalog.graphql` and checked against
//! `../schema.graphql` when the crate compiles: a breaking API change fails
//! this build. (Each other page area declares its own in its `operations`
//! module.) Holds generated types only; it never runs an operation.
#![allow(clippy::upper_case_acronyms, missing_docs)]

use graphql_client::GraphQLQuery;

// The API's custom scalars, as the storefront handles them: text.
pub type Date = String;
pub type DateTime = String;
pub type ID = String;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "queries/catalog.graphql",
    response_derives = "Debug, Serialize"
)]
pub struct Home;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "queries/catalog.graphql",
    response_derives = "Debug, Serialize",
    variables_derives = "Debug"
)]
pub struct Catalog;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "queries/catalog.graphql",
    response_derives = "Debug, Serialize"
)]
pub struct BookPage;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "queries/catalog.graphql",
    response_derives = "Debug, Serialize"
)]
pub struct ContributorPage;
