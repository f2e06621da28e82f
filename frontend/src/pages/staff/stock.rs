//! Adjusting a book's stock from its edit page (`+5`, `-2`).
//!
//! Owns the stock form; it never sets stock to a number (only adds or
//! takes away, so two staff adjusting at once both count) and never lets it
//! go negative (the backend refuses that).

use std::collections::BTreeMap;

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::access::run;
use super::book_form::saved_book;
use super::edit_book::{Refused, edit_page};
use super::links::edit_path;
use super::operations::{StaffAdjustStock, staff_adjust_stock};
use crate::session::Visitor;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub(super) struct StockForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    delta: String,
}

pub(super) async fn adjust_stock(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(slug): Path<String>,
    Form(form): Form<StockForm>,
) -> Response {
    if !visitor.csrf_ok(&form.csrf) {
        return visitor.csrf_failure(&state);
    }
    let back = edit_path(&slug);
    let errors = match form.delta.trim().parse::<i32>() {
        Ok(0) | Err(_) => BTreeMap::from([(
            "delta".to_owned(),
            "enter the copies to add or take away, such as +5 or -2".to_owned(),
        )]),
        Ok(delta) => {
            let variables = staff_adjust_stock::Variables {
                input: staff_adjust_stock::AdjustStockInput {
                    book_id: form.id,
                    delta: i64::from(delta),
                },
            };
            let payload = match run::<StaffAdjustStock>(&state, &visitor, &back, variables).await {
                Ok(data) => data.adjust_stock,
                Err(response) => return response,
            };
            match saved_book!(payload) {
                Ok(book) => {
                    let copies = if book.stock == 1 { "copy" } else { "copies" };
                    return visitor
                        .redirect(
                            &edit_path(&book.slug),
                            &format!("Stock is now {} {copies}.", book.stock),
                        )
                        .into_response();
                }
                Err(errors) => errors,
            }
        }
    };
    // Every stock error belongs next to the one field of that form.
    let message = errors.into_values().collect::<Vec<_>>().join("; ");
    let refused = Refused {
        form: None,
        errors: BTreeMap::from([("delta".to_owned(), message)]),
        delta: form.delta,
    };
    edit_page(
        &state,
        &visitor,
        &back,
        slug,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
        refused,
    )
    .await
}
