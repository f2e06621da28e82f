//! Editing a book: the edit page (the form, the stock form, archive or
//! restore), saving the form, archiving and restoring.
//!
//! Owns the edit page and the changes made from it, except stock (see
//! `stock`). It never drops the credits the form does not edit: they come
//! back from the form's hidden fields.

use std::collections::BTreeMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use graphql_client::GraphQLQuery;
use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::Deserialize;

use super::access::{here, load, run, staff_viewer};
use super::book_choices::{author_choices, genre_choices};
use super::book_form::{BookForm, field, form_context, saved_book};
use super::links::{edit_path, segment};
use super::new_book::WhoParams;
use super::operations::{
    StaffArchiveBook, StaffBookEdit, StaffRestoreBook, StaffUpdateBook, staff_archive_book,
    staff_book_edit, staff_restore_book, staff_update_book,
};
use crate::pages::messages::flash_of;
use crate::pages::page::{not_found_page, page};
use crate::pages::params::set;
use crate::session::Visitor;
use crate::state::AppState;

/// A refused form on the edit page, shown again with its errors.
#[derive(Default)]
pub(super) struct Refused {
    pub(super) form: Option<BookForm>,
    pub(super) errors: BTreeMap<String, String>,
    pub(super) delta: String,
}

pub(super) async fn edit_book(
    State(state): State<AppState>,
    visitor: Visitor,
    uri: Uri,
    Path(slug): Path<String>,
    params: Result<Query<WhoParams>, QueryRejection>,
) -> Response {
    let params = params.map(|Query(params)| params).unwrap_or_default();
    let who = set(&params.who).map(str::to_owned);
    edit_page(
        &state,
        &visitor,
        &here(&uri),
        slug,
        who,
        StatusCode::OK,
        Refused::default(),
    )
    .await
}

pub(super) async fn edit_page(
    state: &AppState,
    visitor: &Visitor,
    back: &str,
    slug: String,
    who: Option<String>,
    status: StatusCode,
    refused: Refused,
) -> Response {
    use staff_book_edit::ContributorRole;
    let variables = staff_book_edit::Variables {
        slug,
        who: who.clone(),
    };
    let data = match load::<StaffBookEdit>(
        state,
        visitor,
        back,
        variables,
        staff_viewer!(staff_book_edit),
    )
    .await
    {
        Ok(data) => data,
        Err(response) => return response,
    };
    let Some(book) = data.book else {
        return not_found_page(state);
    };
    let form = refused
        .form
        .unwrap_or_else(|| BookForm::from_book(&book, who.as_deref()));
    let known = book
        .credits
        .iter()
        .filter(|credit| matches!(credit.role, ContributorRole::AUTHOR))
        .map(|credit| {
            (
                credit.contributor.id.clone(),
                credit.contributor.name.clone(),
            )
        })
        .chain(
            data.contributors
                .nodes
                .into_iter()
                .map(|contributor| (contributor.id, contributor.name)),
        )
        .collect();
    let authors = author_choices(known, &form.authors);
    let genres = genre_choices(
        data.genres.into_iter().map(|genre| (genre.id, genre.name)),
        &form.genres,
    );
    // The credits this form keeps as they are, with names, from the book.
    let others: Vec<_> = book
        .credits
        .iter()
        .filter(|credit| !matches!(credit.role, ContributorRole::AUTHOR))
        .collect();
    let path = edit_path(&book.slug);
    page(
        state,
        visitor,
        status,
        "staff_book.html",
        context! {
            title => format!("Edit “{}”", book.title),
            action => path.clone(),
            search_action => path,
            book_path => format!("/staff/books/{}", segment(&book.slug)),
            book => Value::from(Serde(&book)),
            others => Value::from(Serde(&others)),
            delta => refused.delta,
            ..form_context(&form, refused.errors, &authors, &genres)
        },
    )
}

pub(super) async fn update_book(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(slug): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    if !visitor.csrf_ok(field(&pairs, "csrf")) {
        return visitor.csrf_failure(&state);
    }
    let back = edit_path(&slug);
    // The book's other credits (translators, ...) come back from the form's
    // hidden fields, so replacing the credits keeps them.
    let form = BookForm::from_pairs(&pairs);
    let errors = match form.check(false) {
        Err(errors) => errors,
        Ok(book) => {
            let variables = staff_update_book::Variables {
                input: book.update_input(field(&pairs, "id").to_owned()),
            };
            let payload = match run::<StaffUpdateBook>(&state, &visitor, &back, variables).await {
                Ok(data) => data.update_book,
                Err(response) => return response,
            };
            match saved_book!(payload) {
                Ok(book) => {
                    return visitor
                        .redirect(&edit_path(&book.slug), &format!("Saved “{}”.", book.title))
                        .into_response();
                }
                Err(errors) => errors,
            }
        }
    };
    let who = Some(form.who.trim().to_owned()).filter(|who| !who.is_empty());
    let refused = Refused {
        form: Some(form),
        errors,
        delta: String::new(),
    };
    edit_page(
        &state,
        &visitor,
        &back,
        slug,
        who,
        StatusCode::UNPROCESSABLE_ENTITY,
        refused,
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct BookAction {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
}

pub(super) async fn archive_book(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(slug): Path<String>,
    Form(form): Form<BookAction>,
) -> Response {
    book_action::<StaffArchiveBook>(
        &state,
        &visitor,
        &slug,
        form,
        |id| staff_archive_book::Variables { id },
        |data| changed_book!(data.archive_book),
        |title| format!("Archived “{title}”: it is out of the catalog until you restore it."),
    )
    .await
}

pub(super) async fn restore_book(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(slug): Path<String>,
    Form(form): Form<BookAction>,
) -> Response {
    book_action::<StaffRestoreBook>(
        &state,
        &visitor,
        &slug,
        form,
        |id| staff_restore_book::Variables { id },
        |data| changed_book!(data.restore_book),
        |title| format!("Restored “{title}”: it is back in the catalog."),
    )
    .await
}

/// `(the book's slug and title, its userErrors)`, from an archive or
/// restore payload (each operation has its own generated types, hence a
/// macro).
macro_rules! changed_book {
    ($payload:expr) => {{
        let payload = $payload;
        let book = payload.book.map(|book| (book.slug, book.title));
        let errors = payload.user_errors.into_iter().map(|error| error.message);
        (book, errors.collect())
    }};
}
use changed_book;

/// Checks the form's CSRF token, runs an action on the book at `slug`
/// (archive, restore; `variables` of the book's id): on success to the
/// book's edit page with `done(title)`, else back with the userErrors.
async fn book_action<Q: GraphQLQuery>(
    state: &AppState,
    visitor: &Visitor,
    slug: &str,
    form: BookAction,
    variables: impl FnOnce(String) -> Q::Variables,
    outcome: impl FnOnce(Q::ResponseData) -> (Option<(String, String)>, Vec<String>),
    done: impl FnOnce(&str) -> String,
) -> Response {
    if !visitor.csrf_ok(&form.csrf) {
        return visitor.csrf_failure(state);
    }
    let variables = variables(form.id);
    let back = edit_path(slug);
    let data = match run::<Q>(state, visitor, &back, variables).await {
        Ok(data) => data,
        Err(response) => return response,
    };
    match outcome(data) {
        (Some((slug, title)), errors) if errors.is_empty() => {
            visitor.redirect(&edit_path(&slug), &done(&title))
        }
        (_, errors) => visitor.redirect(&back, &flash_of(errors.iter().map(String::as_str))),
    }
    .into_response()
}
