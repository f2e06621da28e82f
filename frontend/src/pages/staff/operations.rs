//! The staff operations, generated from `queries/staff.graphql` and checked
//! against `../schema.graphql` when the crate compiles.
#![allow(clippy::upper_case_acronyms, missing_docs)]

use graphql_client::GraphQLQuery;

// The API's custom scalars, as the storefront handles them: text.
pub type Date = String;
pub type DateTime = String;
// graphql_client maps `ID` to `String` itself; kept for symmetry with
// `crate::queries`.
#[allow(dead_code)]
pub type ID = String;

macro_rules! operations {
    ($($name:ident),* $(,)?) => {$(
        #[derive(GraphQLQuery)]
        #[graphql(
            schema_path = "../schema.graphql",
            query_path = "queries/staff.graphql",
            response_derives = "Debug, Serialize"
        )]
        pub struct $name;
    )*};
}

operations!(
    StaffHome,
    StaffBooks,
    StaffBookChoices,
    StaffBookEdit,
    StaffCreateBook,
    StaffUpdateBook,
    StaffArchiveBook,
    StaffRestoreBook,
    StaffAdjustStock,
    StaffOrders,
    StaffOrder,
    StaffShipOrder,
    StaffDeliverOrder,
    StaffRefundOrder,
);
