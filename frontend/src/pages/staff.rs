//! Staff pages: the inventory (books: list, add, edit, archive and restore,
//! stock) and the order workflow (ship, deliver, refund).
//!
//! Every page and form here is for staff only: a signed-out visitor is sent
//! to sign in, anyone else gets a 403. The storefront never decides who is
//! staff by itself: each page's one operation also asks for `viewer { role }`,
//! and the backend refuses staff mutations to anyone else (that refusal is
//! the same 403). GETs never change anything; every POST checks its CSRF
//! token first and ends in a redirect, or re-renders its form with 422.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use graphql_client::GraphQLQuery;
use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::{Deserialize, Serialize};

use self::ops::*;
use super::{api_error_page, not_found_page, page};
use crate::AppState;
use crate::api::ApiError;
use crate::session::Visitor;

/// The staff operations, generated from `queries/staff.graphql` and checked
/// against `../schema.graphql` when the crate compiles.
mod ops {
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
}

/// Rows per page of the book and order lists.
const PAGE_SIZE: i64 = 50;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff", get(home))
        .route("/staff/books", get(books).post(create_book))
        .route("/staff/books/new", get(new_book))
        .route("/staff/books/{slug}/edit", get(edit_book).post(update_book))
        .route("/staff/books/{slug}/archive", post(archive_book))
        .route("/staff/books/{slug}/restore", post(restore_book))
        .route("/staff/books/{slug}/stock", post(adjust_stock))
        .route("/staff/orders", get(orders))
        .route("/staff/orders/{number}", get(order))
        .route("/staff/orders/{number}/ship", post(ship_order))
        .route("/staff/orders/{number}/deliver", post(deliver_order))
        .route("/staff/orders/{number}/refund", post(refund_order))
}

// ---------------------------------------------------------------------------
// Who may see these pages

/// Sends a signed-out visitor (or one whose session ended) to sign in, and
/// back to `back` afterwards.
fn sign_in(visitor: &Visitor, back: &str) -> Response {
    let query = serde_urlencoded::to_string([("next", back)]).unwrap_or_default();
    visitor
        .redirect(
            &format!("/login?{query}"),
            "Please sign in with your staff account.",
        )
        .into_response()
}

fn forbidden(state: &AppState, visitor: &Visitor) -> Response {
    visitor.finish(state.templates.render(
        StatusCode::FORBIDDEN,
        "error.html",
        context! {
            title => "Staff only",
            message => "This page is for the shop's staff. Sign in with a staff account to use it.",
        },
    ))
}

fn has_code(error: &ApiError, wanted: &str) -> bool {
    matches!(error, ApiError::GraphQL(errors)
        if errors.iter().any(|(_, code)| code.as_deref() == Some(wanted)))
}

/// A failed backend call: refused access as sign-in or 403, anything else
/// as the usual error page.
fn failure(state: &AppState, visitor: &Visitor, back: &str, error: &ApiError) -> Response {
    if has_code(error, "UNAUTHENTICATED") {
        sign_in(visitor, back)
    } else if has_code(error, "FORBIDDEN") {
        forbidden(state, visitor)
    } else {
        api_error_page(state, error)
    }
}

/// Runs an operation as the visitor (who must be signed in).
async fn run<Q: GraphQLQuery>(
    state: &AppState,
    visitor: &Visitor,
    back: &str,
    variables: Q::Variables,
) -> Result<Q::ResponseData, Response> {
    let Some(session) = visitor.session.as_deref() else {
        return Err(sign_in(visitor, back));
    };
    state
        .api
        .run::<Q>(variables, Some(session))
        .await
        .map_err(|error| failure(state, visitor, back, &error))
}

/// Runs a page's query; `is_staff` reads its `viewer` (`None`: nobody is
/// signed in, the session having ended).
async fn load<Q: GraphQLQuery>(
    state: &AppState,
    visitor: &Visitor,
    back: &str,
    variables: Q::Variables,
    is_staff: impl FnOnce(&Q::ResponseData) -> Option<bool>,
) -> Result<Q::ResponseData, Response> {
    let data = run::<Q>(state, visitor, back, variables).await?;
    match is_staff(&data) {
        Some(true) => Ok(data),
        Some(false) => Err(forbidden(state, visitor)),
        None => Err(sign_in(visitor, back)),
    }
}

/// Generates the `is_staff` check of a query module's `viewer`.
macro_rules! staff_viewer {
    ($module:ident) => {
        |data: &$module::ResponseData| {
            data.viewer
                .as_ref()
                .map(|viewer| matches!(viewer.role, $module::Role::STAFF))
        }
    };
}

/// The page's own address (path and query), to come back to after sign-in.
fn here(uri: &Uri) -> String {
    uri.path_and_query()
        .map_or_else(|| uri.path().to_owned(), |path| path.as_str().to_owned())
}

// ---------------------------------------------------------------------------
// Small helpers

/// A parameter that was given and is not blank, trimmed.
fn set(value: &Option<String>) -> Option<&str> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

/// Text as one URL path segment (slugs and order numbers come from the
/// address bar and go back into `Location` headers).
fn segment(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

fn edit_path(slug: &str) -> String {
    format!("/staff/books/{}/edit", segment(slug))
}

fn order_path(number: &str) -> String {
    format!("/staff/orders/{}", segment(number))
}

/// The value of the first field named `name` of a submitted form.
fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map_or("", |(_, value)| value.as_str())
}

/// Cents as "12.99", the way the price field takes them.
fn units(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// Whether `text` is a real calendar date written `YYYY-MM-DD` (what the
/// API's `Date` accepts; anything else would fail the whole request).
fn is_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return false;
    };
    let digits =
        |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit());
    if !(digits(year, 4) && digits(month, 2) && digits(day, 2)) {
        return false;
    }
    let (Ok(year), Ok(month), Ok(day)) = (
        year.parse::<u32>(),
        month.parse::<u32>(),
        day.parse::<u32>(),
    ) else {
        return false;
    };
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// Whether `text` is an ISBN-13 or ISBN-10 with a valid check digit (as the
/// backend's `book(isbn:)` requires; anything else it refuses outright).
fn is_isbn(text: &str) -> bool {
    let compact: Vec<u8> = text
        .bytes()
        .filter(|b| !matches!(b, b'-' | b' '))
        .map(|b| b.to_ascii_uppercase())
        .collect();
    let digit = |b: u8| u32::from(b - b'0');
    match compact.len() {
        13 if compact.iter().all(u8::is_ascii_digit) => {
            let sum: u32 = compact
                .iter()
                .enumerate()
                .map(|(i, &b)| digit(b) * if i % 2 == 0 { 1 } else { 3 })
                .sum();
            sum.is_multiple_of(10)
        }
        10 if compact[..9].iter().all(u8::is_ascii_digit)
            && (compact[9].is_ascii_digit() || compact[9] == b'X') =>
        {
            let sum: u32 = compact
                .iter()
                .zip((1..=10).rev())
                .map(|(&b, weight)| if b == b'X' { 10 } else { digit(b) } * weight)
                .sum();
            sum.is_multiple_of(11)
        }
        _ => false,
    }
}

/// userErrors as `form field -> message`, the field being the input field
/// the error names (`["input", "isbn"]` -> `isbn`); errors about no one
/// field go to `form`.
fn errors_by_field<'a>(
    errors: impl IntoIterator<Item = (&'a [String], &'a str)>,
) -> BTreeMap<String, String> {
    let mut by_field: BTreeMap<String, String> = BTreeMap::new();
    for (path, message) in errors {
        let name = match path.get(1).map(String::as_str) {
            Some("priceCents" | "currency") => "price",
            Some("contributors") => "author",
            Some("genreIds") => "genre",
            Some(
                name @ ("title" | "subtitle" | "description" | "isbn" | "format" | "publisher"
                | "publicationDate" | "language" | "pageCount" | "stock" | "delta"),
            ) => name,
            _ => "form",
        };
        by_field
            .entry(name.to_owned())
            .and_modify(|text| {
                text.push_str("; ");
                text.push_str(message);
            })
            .or_insert_with(|| message.to_owned());
    }
    by_field
}

/// A userError message as a sentence for a flash message.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let mut text: String = chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !text.ends_with('.') {
        text.push('.');
    }
    text
}

// ---------------------------------------------------------------------------
// The staff home page

async fn home(State(state): State<AppState>, visitor: Visitor, uri: Uri) -> Response {
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

// ---------------------------------------------------------------------------
// The book list

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
struct BooksParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    q: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    before: Option<String>,
}

impl BooksParams {
    fn with_cursors(&self, after: Option<String>, before: Option<String>) -> String {
        let params = Self {
            after,
            before,
            ..self.clone()
        };
        format!(
            "/staff/books?{}",
            serde_urlencoded::to_string(&params).unwrap_or_default()
        )
    }
}

async fn books(
    State(state): State<AppState>,
    visitor: Visitor,
    uri: Uri,
    params: Result<Query<BooksParams>, QueryRejection>,
) -> Response {
    use staff_books::BookSort;
    let params = params.map(|Query(params)| params).unwrap_or_default();
    let search: Option<String> = set(&params.q).map(|text| text.chars().take(200).collect());
    let backwards = set(&params.before).is_some();
    let first_page = !backwards && set(&params.after).is_none();
    // `books` leaves archived books out; on the first page, an exact slug
    // or ISBN also finds the book itself, archived or not.
    let exact = search.clone().filter(|_| first_page).unwrap_or_default();
    let variables = staff_books::Variables {
        first: (!backwards).then_some(PAGE_SIZE),
        after: set(&params.after).filter(|_| !backwards).map(str::to_owned),
        last: backwards.then_some(PAGE_SIZE),
        before: set(&params.before).map(str::to_owned),
        sort: Some(if search.is_some() {
            BookSort::RELEVANCE
        } else {
            BookSort::TITLE
        }),
        search,
        by_slug: !exact.is_empty(),
        by_isbn: is_isbn(&exact),
        slug: exact.clone(),
        isbn: exact,
    };
    let data = match load::<StaffBooks>(
        &state,
        &visitor,
        &here(&uri),
        variables,
        staff_viewer!(staff_books),
    )
    .await
    {
        Ok(data) => data,
        Err(response) => return response,
    };
    let mut rows: Vec<serde_json::Value> = Vec::new();
    let exact_matches = [
        serde_json::to_value(&data.by_slug),
        serde_json::to_value(&data.by_isbn),
    ];
    let listed = data.books.nodes.iter().map(serde_json::to_value);
    for row in exact_matches.into_iter().chain(listed).flatten() {
        if !row.is_null() && !rows.iter().any(|seen| seen["id"] == row["id"]) {
            rows.push(row);
        }
    }
    let info = &data.books.page_info;
    let next = info
        .has_next_page
        .then(|| params.with_cursors(info.end_cursor.clone(), None));
    let previous = info
        .has_previous_page
        .then(|| params.with_cursors(None, info.start_cursor.clone()));
    page(
        &state,
        &visitor,
        StatusCode::OK,
        "staff_books.html",
        context! {
            title => "Books",
            books => Value::from(Serde(&rows)),
            total => data.books.total_count,
            q => set(&params.q),
            next,
            previous,
        },
    )
}

// ---------------------------------------------------------------------------
// The book form (new and edit)

/// The book form as submitted (or as filled in from the book): text, kept
/// as typed so a refused form comes back exactly as it was.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct BookForm {
    title: String,
    subtitle: String,
    description: String,
    isbn: String,
    format: String,
    publisher: String,
    publication_date: String,
    language: String,
    page_count: String,
    price: String,
    stock: String,
    /// Contributor ids credited as authors, in order.
    authors: Vec<String>,
    /// Genre ids.
    genres: Vec<String>,
    /// The other credits (translators, illustrators, ...), which this form
    /// shows but does not edit: `ROLE:contributor id`.
    credits: Vec<String>,
    /// The contributor search the author list came from.
    who: String,
}

/// The checked form, ready for the API.
struct CheckedBook {
    title: String,
    subtitle: Option<String>,
    description: String,
    isbn: String,
    format: Format,
    publisher: Option<String>,
    publication_date: Option<String>,
    language: String,
    page_count: Option<i64>,
    price_cents: i64,
    stock: i64,
    credits: Vec<(String, Role)>,
    genre_ids: Vec<String>,
}

#[derive(Clone, Copy)]
enum Format {
    Hardcover,
    Paperback,
    Ebook,
    Audiobook,
}

#[derive(Clone, Copy)]
enum Role {
    Author,
    Editor,
    Translator,
    Illustrator,
    Narrator,
}

const FORMATS: [(&str, &str); 4] = [
    ("PAPERBACK", "Paperback"),
    ("HARDCOVER", "Hardcover"),
    ("EBOOK", "Ebook"),
    ("AUDIOBOOK", "Audiobook"),
];

impl BookForm {
    fn blank(who: Option<&str>) -> Self {
        Self {
            format: "PAPERBACK".to_owned(),
            language: "en".to_owned(),
            stock: "0".to_owned(),
            who: who.unwrap_or_default().to_owned(),
            ..Self::default()
        }
    }

    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut form = Self::default();
        for (name, value) in pairs {
            let value = value.clone();
            match name.as_str() {
                "title" => form.title = value,
                "subtitle" => form.subtitle = value,
                "description" => form.description = value,
                "isbn" => form.isbn = value,
                "format" => form.format = value,
                "publisher" => form.publisher = value,
                "publicationDate" => form.publication_date = value,
                "language" => form.language = value,
                "pageCount" => form.page_count = value,
                "price" => form.price = value,
                "stock" => form.stock = value,
                "author" => form.authors.push(value),
                "genre" => form.genres.push(value),
                "credit" => form.credits.push(value),
                "who" => form.who = value,
                _ => {}
            }
        }
        form
    }

    fn from_book(book: &staff_book_edit::StaffBookEditBook, who: Option<&str>) -> Self {
        use staff_book_edit::ContributorRole;
        let (authors, credits) = book
            .credits
            .iter()
            .partition::<Vec<_>, _>(|credit| matches!(credit.role, ContributorRole::AUTHOR));
        Self {
            title: book.title.clone(),
            subtitle: book.subtitle.clone().unwrap_or_default(),
            description: book.description.clone(),
            isbn: book.isbn.clone(),
            format: serde_json::to_value(&book.format)
                .ok()
                .and_then(|format| format.as_str().map(str::to_owned))
                .unwrap_or_default(),
            publisher: book.publisher.clone().unwrap_or_default(),
            publication_date: book.publication_date.clone().unwrap_or_default(),
            language: book.language.clone(),
            page_count: book
                .page_count
                .map(|count| count.to_string())
                .unwrap_or_default(),
            price: units(book.price.amount_cents),
            stock: book.stock.to_string(),
            authors: authors
                .iter()
                .map(|credit| credit.contributor.id.clone())
                .collect(),
            genres: book.genres.iter().map(|genre| genre.id.clone()).collect(),
            credits: credits
                .iter()
                .map(|credit| {
                    let role = serde_json::to_value(&credit.role)
                        .ok()
                        .and_then(|role| role.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    format!("{role}:{}", credit.contributor.id)
                })
                .collect(),
            who: who.unwrap_or_default().to_owned(),
        }
    }

    /// The values, or a message per field that is not understood. Range
    /// and uniqueness checks are the backend's (its userErrors).
    fn check(&self, with_stock: bool) -> Result<CheckedBook, BTreeMap<String, String>> {
        let mut errors = BTreeMap::new();
        let mut fail = |name: &str, message: &str| {
            errors.insert(name.to_owned(), message.to_owned());
        };
        let optional = |text: &str| Some(text.trim().to_owned()).filter(|text| !text.is_empty());
        let format = match self.format.as_str() {
            "HARDCOVER" => Some(Format::Hardcover),
            "PAPERBACK" => Some(Format::Paperback),
            "EBOOK" => Some(Format::Ebook),
            "AUDIOBOOK" => Some(Format::Audiobook),
            _ => {
                fail("format", "choose a format");
                None
            }
        };
        let publication_date = optional(&self.publication_date);
        if publication_date
            .as_deref()
            .is_some_and(|date| !is_date(date))
        {
            fail(
                "publicationDate",
                "enter a date as YYYY-MM-DD, such as 2024-03-01",
            );
        }
        let page_count = match optional(&self.page_count) {
            None => None,
            Some(text) => match text.parse::<i32>() {
                Ok(count) => Some(i64::from(count)),
                Err(_) => {
                    fail("pageCount", "enter a whole number of pages");
                    None
                }
            },
        };
        let price_cents = super::price_cents(&self.price);
        if price_cents.is_none() {
            fail("price", "enter a price such as 12.99");
        }
        let stock = if with_stock {
            match self.stock.trim() {
                "" => Some(0),
                text => text.parse::<i32>().ok().map(i64::from),
            }
        } else {
            Some(0)
        };
        if stock.is_none() {
            fail("stock", "enter a whole number of copies");
        }
        let mut credits: Vec<(String, Role)> = self
            .authors
            .iter()
            .map(|id| (id.clone(), Role::Author))
            .collect();
        for credit in &self.credits {
            let role = match credit.split_once(':') {
                Some(("EDITOR", id)) => Some((id, Role::Editor)),
                Some(("TRANSLATOR", id)) => Some((id, Role::Translator)),
                Some(("ILLUSTRATOR", id)) => Some((id, Role::Illustrator)),
                Some(("NARRATOR", id)) => Some((id, Role::Narrator)),
                Some(("AUTHOR", id)) => Some((id, Role::Author)),
                _ => None,
            };
            match role {
                Some((id, role)) => credits.push((id.to_owned(), role)),
                None => fail(
                    "form",
                    "the form was damaged; reload the page and try again",
                ),
            }
        }
        match (format, price_cents, stock) {
            (Some(format), Some(price_cents), Some(stock)) if errors.is_empty() => {
                Ok(CheckedBook {
                    title: self.title.clone(),
                    subtitle: optional(&self.subtitle),
                    description: self.description.clone(),
                    isbn: self.isbn.clone(),
                    format,
                    publisher: optional(&self.publisher),
                    publication_date,
                    language: optional(&self.language).unwrap_or_else(|| "en".to_owned()),
                    page_count,
                    price_cents,
                    stock,
                    credits,
                    genre_ids: self.genres.clone(),
                })
            }
            _ => Err(errors),
        }
    }
}

/// Maps the storefront's format and role to a query module's enums.
macro_rules! api_enums {
    ($module:ident) => {
        impl Format {
            #[allow(dead_code)]
            fn $module(self) -> $module::BookFormat {
                match self {
                    Format::Hardcover => $module::BookFormat::HARDCOVER,
                    Format::Paperback => $module::BookFormat::PAPERBACK,
                    Format::Ebook => $module::BookFormat::EBOOK,
                    Format::Audiobook => $module::BookFormat::AUDIOBOOK,
                }
            }
        }
        impl Role {
            #[allow(dead_code)]
            fn $module(self) -> $module::ContributorRole {
                match self {
                    Role::Author => $module::ContributorRole::AUTHOR,
                    Role::Editor => $module::ContributorRole::EDITOR,
                    Role::Translator => $module::ContributorRole::TRANSLATOR,
                    Role::Illustrator => $module::ContributorRole::ILLUSTRATOR,
                    Role::Narrator => $module::ContributorRole::NARRATOR,
                }
            }
        }
    };
}

api_enums!(staff_create_book);
api_enums!(staff_update_book);

impl CheckedBook {
    fn create_input(self) -> staff_create_book::CreateBookInput {
        staff_create_book::CreateBookInput {
            title: self.title,
            subtitle: self.subtitle,
            description: Some(self.description),
            isbn: self.isbn,
            format: self.format.staff_create_book(),
            publisher: self.publisher,
            publication_date: self.publication_date,
            language: self.language,
            page_count: self.page_count,
            price_cents: self.price_cents,
            currency: "USD".to_owned(),
            stock: self.stock,
            contributors: Some(
                self.credits
                    .into_iter()
                    .map(|(contributor_id, role)| staff_create_book::CreditInput {
                        contributor_id,
                        role: role.staff_create_book(),
                    })
                    .collect(),
            ),
            genre_ids: Some(self.genre_ids),
            slug: None,
        }
    }

    /// Every field of the form: what the form shows is what the book becomes
    /// (blank optional fields clear). Stock is not here: `adjustStock`.
    fn update_input(self, id: String) -> staff_update_book::UpdateBookInput {
        staff_update_book::UpdateBookInput {
            id,
            title: Some(self.title),
            subtitle: self.subtitle,
            description: Some(self.description),
            isbn: Some(self.isbn),
            format: Some(self.format.staff_update_book()),
            publisher: self.publisher,
            publication_date: self.publication_date,
            language: Some(self.language),
            page_count: self.page_count,
            price_cents: Some(self.price_cents),
            currency: None,
            contributors: Some(
                self.credits
                    .into_iter()
                    .map(|(contributor_id, role)| staff_update_book::CreditInput {
                        contributor_id,
                        role: role.staff_update_book(),
                    })
                    .collect(),
            ),
            genre_ids: Some(self.genre_ids),
            slug: None,
        }
    }
}

/// One option of a list of choices (authors, genres).
#[derive(Debug, Serialize)]
struct Choice {
    id: String,
    name: String,
    selected: bool,
}

/// The author options: the chosen ones first (in credit order), then the
/// rest of `known` (the book's authors, then the contributor list).
fn author_choices(known: Vec<(String, String)>, chosen: &[String]) -> Vec<Choice> {
    let name_of = |id: &str| {
        known
            .iter()
            .find(|(known_id, _)| known_id == id)
            .map_or_else(
                || "(contributor not in the list)".to_owned(),
                |(_, name)| name.clone(),
            )
    };
    let mut choices: Vec<Choice> = Vec::new();
    for id in chosen {
        if !choices.iter().any(|choice| &choice.id == id) {
            choices.push(Choice {
                id: id.clone(),
                name: name_of(id),
                selected: true,
            });
        }
    }
    for (id, name) in known {
        if !choices.iter().any(|choice| choice.id == id) {
            choices.push(Choice {
                id,
                name,
                selected: false,
            });
        }
    }
    choices
}

fn genre_choices(
    genres: impl IntoIterator<Item = (String, String)>,
    chosen: &[String],
) -> Vec<Choice> {
    genres
        .into_iter()
        .map(|(id, name)| Choice {
            selected: chosen.contains(&id),
            id,
            name,
        })
        .collect()
}

// ---------------------------------------------------------------------------
// New book

#[derive(Debug, Default, Deserialize)]
struct WhoParams {
    #[serde(default)]
    who: Option<String>,
}

async fn new_book(
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
            form => Value::from(Serde(&form)),
            errors,
            authors => Value::from(Serde(&authors)),
            genres => Value::from(Serde(&genres)),
            formats => FORMATS,
        },
    )
}

async fn create_book(
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
            match payload.book {
                Some(book) if payload.user_errors.is_empty() => {
                    return visitor
                        .redirect(
                            &edit_path(&book.slug),
                            &format!("Added “{}”. It is in the catalog now.", book.title),
                        )
                        .into_response();
                }
                _ => errors_by_field(
                    payload
                        .user_errors
                        .iter()
                        .map(|error| (error.field.as_slice(), error.message.as_str())),
                ),
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

// ---------------------------------------------------------------------------
// Edit a book

/// A refused form on the edit page, shown again with its errors.
#[derive(Default)]
struct Refused {
    form: Option<BookForm>,
    errors: BTreeMap<String, String>,
    delta: String,
}

async fn edit_book(
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

async fn edit_page(
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
            form => Value::from(Serde(&form)),
            errors => refused.errors,
            delta => refused.delta,
            authors => Value::from(Serde(&authors)),
            genres => Value::from(Serde(&genres)),
            formats => FORMATS,
        },
    )
}

async fn update_book(
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
            match payload.book {
                Some(book) if payload.user_errors.is_empty() => {
                    return visitor
                        .redirect(&edit_path(&book.slug), &format!("Saved “{}”.", book.title))
                        .into_response();
                }
                _ => errors_by_field(
                    payload
                        .user_errors
                        .iter()
                        .map(|error| (error.field.as_slice(), error.message.as_str())),
                ),
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
struct BookAction {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
}

async fn archive_book(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(slug): Path<String>,
    Form(form): Form<BookAction>,
) -> Response {
    if !visitor.csrf_ok(&form.csrf) {
        return visitor.csrf_failure(&state);
    }
    let back = edit_path(&slug);
    let variables = staff_archive_book::Variables { id: form.id };
    match run::<StaffArchiveBook>(&state, &visitor, &back, variables).await {
        Ok(data) => {
            let payload = data.archive_book;
            match payload.book {
                Some(book) if payload.user_errors.is_empty() => visitor.redirect(
                    &edit_path(&book.slug),
                    &format!(
                        "Archived “{}”: it is out of the catalog until you restore it.",
                        book.title
                    ),
                ),
                _ => visitor.redirect(
                    &back,
                    &flash_of(
                        payload
                            .user_errors
                            .iter()
                            .map(|error| error.message.as_str()),
                    ),
                ),
            }
            .into_response()
        }
        Err(response) => response,
    }
}

async fn restore_book(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(slug): Path<String>,
    Form(form): Form<BookAction>,
) -> Response {
    if !visitor.csrf_ok(&form.csrf) {
        return visitor.csrf_failure(&state);
    }
    let back = edit_path(&slug);
    let variables = staff_restore_book::Variables { id: form.id };
    match run::<StaffRestoreBook>(&state, &visitor, &back, variables).await {
        Ok(data) => {
            let payload = data.restore_book;
            match payload.book {
                Some(book) if payload.user_errors.is_empty() => visitor.redirect(
                    &edit_path(&book.slug),
                    &format!("Restored “{}”: it is back in the catalog.", book.title),
                ),
                _ => visitor.redirect(
                    &back,
                    &flash_of(
                        payload
                            .user_errors
                            .iter()
                            .map(|error| error.message.as_str()),
                    ),
                ),
            }
            .into_response()
        }
        Err(response) => response,
    }
}

/// userErrors as one flash message.
fn flash_of<'a>(messages: impl Iterator<Item = &'a str>) -> String {
    let text: Vec<String> = messages.map(sentence).collect();
    if text.is_empty() {
        "That did not work. Please try again.".to_owned()
    } else {
        text.join(" ")
    }
}

#[derive(Debug, Default, Deserialize)]
struct StockForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    delta: String,
}

async fn adjust_stock(
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
            match payload.book {
                Some(book) if payload.user_errors.is_empty() => {
                    let copies = if book.stock == 1 { "copy" } else { "copies" };
                    return visitor
                        .redirect(
                            &edit_path(&book.slug),
                            &format!("Stock is now {} {copies}.", book.stock),
                        )
                        .into_response();
                }
                _ => errors_by_field(
                    payload
                        .user_errors
                        .iter()
                        .map(|error| (error.field.as_slice(), error.message.as_str())),
                ),
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

// ---------------------------------------------------------------------------
// Orders

const STATUSES: [(&str, &str); 6] = [
    ("PAID", "Paid: to ship"),
    ("SHIPPED", "Shipped: on the way"),
    ("DELIVERED", "Delivered"),
    ("PENDING_PAYMENT", "Awaiting payment"),
    ("CANCELLED", "Cancelled"),
    ("REFUNDED", "Refunded"),
];

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
struct OrdersParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    before: Option<String>,
}

impl OrdersParams {
    fn with_cursors(&self, after: Option<String>, before: Option<String>) -> String {
        let params = Self {
            after,
            before,
            ..self.clone()
        };
        format!(
            "/staff/orders?{}",
            serde_urlencoded::to_string(&params).unwrap_or_default()
        )
    }
}

async fn orders(
    State(state): State<AppState>,
    visitor: Visitor,
    uri: Uri,
    params: Result<Query<OrdersParams>, QueryRejection>,
) -> Response {
    use staff_orders::OrderStatus;
    let params = params.map(|Query(params)| params).unwrap_or_default();
    // Without a choice: the orders waiting to be shipped.
    let chosen = set(&params.status).unwrap_or("PAID").to_owned();
    let status = match chosen.as_str() {
        "PENDING_PAYMENT" => Some(OrderStatus::PENDING_PAYMENT),
        "PAID" => Some(OrderStatus::PAID),
        "SHIPPED" => Some(OrderStatus::SHIPPED),
        "DELIVERED" => Some(OrderStatus::DELIVERED),
        "CANCELLED" => Some(OrderStatus::CANCELLED),
        "REFUNDED" => Some(OrderStatus::REFUNDED),
        _ => None,
    };
    let chosen = if status.is_some() {
        chosen
    } else {
        "all".to_owned()
    };
    let backwards = set(&params.before).is_some();
    let variables = staff_orders::Variables {
        status,
        first: (!backwards).then_some(PAGE_SIZE),
        after: set(&params.after).filter(|_| !backwards).map(str::to_owned),
        last: backwards.then_some(PAGE_SIZE),
        before: set(&params.before).map(str::to_owned),
    };
    let data = match load::<StaffOrders>(
        &state,
        &visitor,
        &here(&uri),
        variables,
        staff_viewer!(staff_orders),
    )
    .await
    {
        Ok(data) => data,
        Err(response) => return response,
    };
    let info = &data.orders.page_info;
    let next = info
        .has_next_page
        .then(|| params.with_cursors(info.end_cursor.clone(), None));
    let previous = info
        .has_previous_page
        .then(|| params.with_cursors(None, info.start_cursor.clone()));
    page(
        &state,
        &visitor,
        StatusCode::OK,
        "staff_orders.html",
        context! {
            title => "Orders",
            orders => Value::from(Serde(&data.orders.nodes)),
            total => data.orders.total_count,
            status => chosen,
            statuses => STATUSES,
            next,
            previous,
        },
    )
}

async fn order(
    State(state): State<AppState>,
    visitor: Visitor,
    uri: Uri,
    Path(number): Path<String>,
) -> Response {
    let data = match load::<StaffOrder>(
        &state,
        &visitor,
        &here(&uri),
        staff_order::Variables { number },
        staff_viewer!(staff_order),
    )
    .await
    {
        Ok(data) => data,
        Err(response) => return response,
    };
    let Some(order) = data.order else {
        return not_found_page(&state);
    };
    page(
        &state,
        &visitor,
        StatusCode::OK,
        "staff_order.html",
        context! {
            title => format!("Order {}", order.number),
            path => order_path(&order.number),
            order => Value::from(Serde(&order)),
        },
    )
}

#[derive(Debug, Default, Deserialize)]
struct ShipForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    carrier: String,
    #[serde(default)]
    tracking: String,
}

#[derive(Debug, Default, Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// After a status change: back to the order, with what happened (a
/// refused change, such as INVALID_STATE, as the flash message).
fn order_outcome<'a>(
    visitor: &Visitor,
    number: &str,
    done: Option<String>,
    user_errors: impl Iterator<Item = &'a str>,
) -> Response {
    let message = match done {
        Some(message) => message,
        None => flash_of(user_errors),
    };
    visitor
        .redirect(&order_path(number), &message)
        .into_response()
}

async fn ship_order(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(number): Path<String>,
    Form(form): Form<ShipForm>,
) -> Response {
    if !visitor.csrf_ok(&form.csrf) {
        return visitor.csrf_failure(&state);
    }
    let back = order_path(&number);
    let variables = staff_ship_order::Variables {
        input: staff_ship_order::ShipOrderInput {
            number: number.clone(),
            carrier: form.carrier,
            tracking_number: form.tracking,
        },
    };
    match run::<StaffShipOrder>(&state, &visitor, &back, variables).await {
        Ok(data) => {
            let payload = data.mark_order_shipped;
            let done = payload
                .order
                .filter(|_| payload.user_errors.is_empty())
                .map(|order| format!("Order {} is marked as shipped.", order.number));
            order_outcome(
                &visitor,
                &number,
                done,
                payload
                    .user_errors
                    .iter()
                    .map(|error| error.message.as_str()),
            )
        }
        Err(response) => response,
    }
}

async fn deliver_order(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(number): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !visitor.csrf_ok(&form.csrf) {
        return visitor.csrf_failure(&state);
    }
    let back = order_path(&number);
    let variables = staff_deliver_order::Variables {
        number: number.clone(),
    };
    match run::<StaffDeliverOrder>(&state, &visitor, &back, variables).await {
        Ok(data) => {
            let payload = data.mark_order_delivered;
            let done = payload
                .order
                .filter(|_| payload.user_errors.is_empty())
                .map(|order| format!("Order {} is marked as delivered.", order.number));
            order_outcome(
                &visitor,
                &number,
                done,
                payload
                    .user_errors
                    .iter()
                    .map(|error| error.message.as_str()),
            )
        }
        Err(response) => response,
    }
}

async fn refund_order(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(number): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !visitor.csrf_ok(&form.csrf) {
        return visitor.csrf_failure(&state);
    }
    let back = order_path(&number);
    let variables = staff_refund_order::Variables {
        number: number.clone(),
    };
    match run::<StaffRefundOrder>(&state, &visitor, &back, variables).await {
        Ok(data) => {
            let payload = data.refund_order;
            let done = payload
                .order
                .filter(|_| payload.user_errors.is_empty())
                .map(|order| format!("Order {} is refunded.", order.number));
            order_outcome(
                &visitor,
                &number,
                done,
                payload
                    .user_errors
                    .iter()
                    .map(|error| error.message.as_str()),
            )
        }
        Err(response) => response,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_in_units_become_cents() {
        assert_eq!(super::super::price_cents("12.99"), Some(1299));
        assert_eq!(super::super::price_cents("$12.5"), Some(1250));
        assert_eq!(super::super::price_cents("12"), Some(1200));
        assert_eq!(super::super::price_cents(" 0.99 "), Some(99));
        assert_eq!(super::super::price_cents("-1"), None);
        assert_eq!(super::super::price_cents("12.345"), None);
        assert_eq!(super::super::price_cents("1.-5"), None);
        assert_eq!(super::super::price_cents("99999999999"), None);
        assert_eq!(units(1299), "12.99");
        assert_eq!(units(500), "5.00");
    }

    #[test]
    fn dates_and_isbns_are_checked_like_the_api_does() {
        assert!(is_date("2024-02-29"));
        assert!(!is_date("2023-02-29"));
        assert!(!is_date("2024-13-01"));
        assert!(!is_date("24-01-01"));
        assert!(is_isbn("978-0-14-118562-0"));
        assert!(is_isbn("0-8044-2957-X"));
        assert!(is_isbn("0306406152"));
        assert!(!is_isbn("9780141185621"));
        assert!(!is_isbn("moby-dick"));
    }

    #[test]
    fn user_errors_go_next_to_their_fields() {
        let path = |parts: &[&str]| {
            parts
                .iter()
                .map(|part| (*part).to_owned())
                .collect::<Vec<_>>()
        };
        let isbn = path(&["input", "isbn"]);
        let price = path(&["input", "priceCents"]);
        let author = path(&["input", "contributors", "0", "contributorId"]);
        let whole: Vec<String> = Vec::new();
        let errors = errors_by_field([
            (isbn.as_slice(), "bad isbn"),
            (price.as_slice(), "must be more than zero"),
            (author.as_slice(), "no such contributor"),
            (whole.as_slice(), "not possible"),
        ]);
        assert_eq!(errors["isbn"], "bad isbn");
        assert_eq!(errors["price"], "must be more than zero");
        assert_eq!(errors["author"], "no such contributor");
        assert_eq!(errors["form"], "not possible");
    }

    #[test]
    fn addresses_are_built_from_safe_segments() {
        assert_eq!(edit_path("moby-dick"), "/staff/books/moby-dick/edit");
        assert_eq!(order_path("BK-1 /x"), "/staff/orders/BK-1%20%2Fx");
        assert_eq!(
            sentence("not possible for an order that is shipped"),
            "Not possible for an order that is shipped."
        );
    }
}
