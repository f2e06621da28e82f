//! The staff home page: the way into the inventory and the orders.
//!
//! Shows nothing but links; it never lists data.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use minijinja::context;

use super::access::{here, load, staff_viewer};
use super::operations::{StaffHome, staff_home};
use crate::pages::page::page;
use crate::session::Visitor;
use crate::state::AppState;

pub(super) async fn home(State(state): State<AppState>, visitor: Visitor, uri: Uri) -> Response {
    let loaded = load::<StaffHome>(
        &state,
        &visitor,
        &here(&uri),
        staff_home::Variables,
        staff_viewer!(staff_home),
    )
    .await;
    match loaded {
        Ok(_) => page(
            &state,
            &visitor,
            StatusCode::OK,
            "staff_home.html",
            context! { title => "Staff" },
        ),
        Err(response) => response,
    }
}
