//! The operations of `queries/shop.graphql`, checked against the schema
//! when the crate compiles.
#![allow(clippy::upper_case_acronyms, missing_docs)]

use graphql_client::GraphQLQuery;

// The API's custom scalars, as the storefront handles them: text. (Only
// the ones these operations use: `ID` is always a `String` to
// graphql_client, and none asks for a `Date`.)
pub type DateTime = String;

macro_rules! operation {
    ($name:ident) => {
        #[derive(GraphQLQuery)]
        #[graphql(
            schema_path = "../schema.graphql",
            query_path = "queries/shop.graphql",
            response_derives = "Debug, Serialize"
        )]
        pub struct $name;
    };
}

operation!(CartPage);
operation!(AddToCart);
operation!(UpdateCartLine);
operation!(RemoveCartLine);
operation!(CheckoutPage);
operation!(Checkout);
operation!(OrderPage);
operation!(FindOrder);
operation!(CancelOrder);
operation!(OrderHistory);
operation!(HeaderCart);
operation!(BuyAgain);
operation!(AddressBook);
operation!(AddAddress);
operation!(UpdateAddress);
operation!(DeleteAddress);
operation!(SetDefaultAddress);
