//! The account operations, generated from `queries/accounts.graphql` and
//! checked against `../schema.graphql` when the crate compiles.
#![allow(clippy::upper_case_acronyms, missing_docs)]

use graphql_client::GraphQLQuery;

// The API's custom scalars, as the storefront handles them: text. (`ID` is
// always a `String` to graphql_client.)
pub type DateTime = String;

macro_rules! operations {
    ($($name:ident),* $(,)?) => {$(
        #[derive(GraphQLQuery)]
        #[graphql(
            schema_path = "../schema.graphql",
            query_path = "queries/accounts.graphql",
            response_derives = "Debug, Serialize"
        )]
        pub struct $name;
    )*};
}

operations!(
    Register,
    Login,
    Logout,
    Account,
    UpdateProfile,
    ChangePassword,
    RequestEmailVerification,
    VerifyEmail,
    RequestPasswordReset,
    ResetPassword,
);
