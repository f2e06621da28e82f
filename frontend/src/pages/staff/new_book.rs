//! Adding a book: the blank form (with a contributor search for authors)
//! and creating the book.
//!
//! Owns the "add" page; on success it sends staff to the new book's edit
//! page. It never creates a book the backend refused.

use std::collections::BTreeMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Form, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Deserialize;

use super::access::{here, load, run, staff_viewer};
use super::book_choices::{author_choices, genre_choices};
use super::book_form::{BookForm, field, form_context, saved_book};
use super::links::edit_path;
use super::operations::{StaffBookChoices, StaffCreateBook, staff_book_choices, staff_create_book};
use crate::pages::page::page;
use crate::pages::params::set;
use crate::session::Visitor;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub(super) struct WhoParams {
    #[serde(default)]
    pub(super) who: Option<String>,
}

pub(super) async fn new_book(
    State(state): State<AppState>,
    visitor: Visitor,
    uri: Uri,
    params: Result<Query<WhoParams>, QueryRejection>,
) -> Response {
    let params = params.map(|Query(params)| params).unwrap_or_default();
    let who = set(&params.who);
    let form = BookForm::blank(who);
    new_book_page(
        &state,
        &visitor,
        &here(&uri),
        StatusCode::OK,
        form,
        BTreeMap::new(),
    )
    .await
}

async fn new_book_page(
    state: &AppState,
    visitor: &Visitor,
    back: &str,
    status: StatusCode,
    form: BookForm,
    errors: BTreeMap<String, String>,
) -> Response {
    let who = Some(form.who.trim().to_owned()).filter(|who| !who.is_empty());
    let data = match load::<StaffBookChoices>(
        state,
        visitor,
        back,
        staff_book_choices::Variables { who },
        staff_viewer!(staff_book_choices),
    )
    .await
    {
        Ok(data) => data,
        Err(response) => return response,
    };
    let authors = author_choices(
        data.contributors
            .nodes
            .into_iter()
            .map(|contributor| (contributor.id, contributor.name))
            .collect(),
        &form.authors,
    );
    let genres = genre_choices(
        data.genres.into_iter().map(|genre| (genre.id, genre.name)),
        &form.genres,
    );
    page(
        state,
        visitor,
        status,
        "staff_book.html",
        context! {
            title => "Add a book",
            action => "/staff/books",
            search_action => "/staff/books/new",
            ..form_context(&form, errors, &authors, &genres)
        },
    )
}

pub(super) async fn create_book(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    if !visitor.csrf_ok(field(&pairs, "csrf")) {
        return visitor.csrf_failure(&state);
    }
    let back = "/staff/books/new";
    let form = BookForm::from_pairs(&pairs);
    let errors = match form.check(true) {
        Err(errors) => errors,
        Ok(book) => {
            let variables = staff_create_book::Variables {
                input: book.create_input(),
            };
            let payload = match run::<StaffCreateBook>(&state, &visitor, back, variables).await {
                Ok(data) => data.create_book,
                Err(response) => return response,
            };
            match saved_book!(payload) {
                Ok(book) => {
                    return visitor
                        .redirect(
                            &edit_path(&book.slug),
                            &format!("Added “{}”. It is in the catalog now.", book.title),
                        )
                        .into_response();
                }
                Err(errors) => errors,
            }
        }
    };
    new_book_page(
        &state,
        &visitor,
        back,
        StatusCode::UNPROCESSABLE_ENTITY,
        form,
        errors,
    )
    .await
}
