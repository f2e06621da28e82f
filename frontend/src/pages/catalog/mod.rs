//! Browsing: the home page, the catalog (search, filters, sort, pages), a
//! book's page and a contributor's page.
//!
//! Owns the public, read-only pages: they send no session to the backend,
//! answer through `public` (conditional backend calls, kept copies, public
//! caching for anonymous visitors) and must never change anything.

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use minijinja::context;
use minijinja::value::{Serde, Value};

use super::page::not_found_page;
use super::params::{PageParams, Window, page_links};
use super::public::{View, public_page};
use crate::format::summary;
use crate::queries::{self, BookPage, ContributorPage, Home};
use crate::seo::json_ld;
use crate::session::Visitor;
use crate::state::AppState;

/// Books per catalog page.
const PAGE_SIZE: i64 = 24;

mod listing;
pub use listing::{CatalogParams, catalog};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/books", get(catalog))
        .route("/books/{slug}", get(book))
        .route("/contributors/{slug}", get(contributor))
}

pub async fn home(State(state): State<AppState>, visitor: Visitor) -> Response {
    public_page::<Home>(&state, &visitor, "/", queries::home::Variables, |data| {
        View::Page(
            "home.html",
            context! {
                title => "Books worth keeping",
                canonical => "/",
                description => "Hundreds of public-domain classics in new paperback, hardcover, ebook and audiobook editions: new arrivals and every genre.",
                books => Value::from(Serde(&data.books.nodes)),
                genres => Value::from(Serde(&data.genres)),
            },
        )
    })
    .await
}

pub async fn book(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(slug): Path<String>,
) -> Response {
    let key = format!("/books/{slug}");
    let variables = queries::book_page::Variables { slug };
    public_page::<BookPage>(&state, &visitor, &key, variables, |data| match data.book {
        Some(book) => {
            let canonical = format!("/books/{}", book.slug);
            let json = serde_json::to_value(&book).unwrap_or_default();
            let described = json_ld::book(
                &json,
                &format!("{}{canonical}", state.public_url),
                &state.public_url,
            );
            View::Page(
                "book.html",
                context! {
                    title => book.title.clone(),
                    description => book_description(&book),
                    canonical,
                    og_type => "book",
                    json_ld => Value::from_safe_string(json_ld::script_text(&described)),
                    book => Value::from(Serde(&book)),
                },
            )
        }
        None => View::Answer(not_found_page(&state)),
    })
    .await
}

/// A book's meta description: its own description's start, or who wrote
/// it, in what format, for how much.
fn book_description(book: &queries::book_page::BookPageBook) -> String {
    let text = summary(&book.description, 160);
    if !text.is_empty() {
        return text;
    }
    let authors: Vec<&str> = book
        .credits
        .iter()
        .filter(|credit| matches!(credit.role, queries::book_page::ContributorRole::AUTHOR))
        .map(|credit| credit.contributor.name.as_str())
        .collect();
    let by = if authors.is_empty() {
        String::new()
    } else {
        format!(" by {}", authors.join(", "))
    };
    format!(
        "{}{by}: {}, {}.",
        book.title,
        crate::format::book_format(&format!("{:?}", book.format)),
        book.price.formatted
    )
}

pub async fn contributor(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(slug): Path<String>,
    params: Result<Query<PageParams>, QueryRejection>,
) -> Response {
    let params = params.map(|Query(params)| params).unwrap_or_default();
    let window = Window::new(&params.after, &params.before, PAGE_SIZE);
    let path = format!("/contributors/{slug}");
    let variables = queries::contributor_page::Variables {
        slug,
        first: window.first,
        after: window.after,
        last: window.last,
        before: window.before,
    };
    let query = serde_urlencoded::to_string(&params).unwrap_or_default();
    let key = format!("{path}?{query}");
    let canonical = if query.is_empty() {
        path.clone()
    } else {
        key.clone()
    };
    public_page::<ContributorPage>(&state, &visitor, &key, variables, |data| {
        let Some(contributor) = data.contributor else {
            return View::Answer(not_found_page(&state));
        };
        let (next, previous) = page_links!(contributor.books.page_info, |after, before| {
            let query =
                serde_urlencoded::to_string(PageParams { after, before }).unwrap_or_default();
            format!("{path}?{query}")
        });
        View::Page(
            "contributor.html",
            context! {
                title => contributor.name.clone(),
                description => match summary(&contributor.bio, 160) {
                    text if text.is_empty() => format!("Books by {} at Bookstore.", contributor.name),
                    text => text,
                },
                canonical,
                og_type => "profile",
                contributor => Value::from(Serde(&contributor)),
                next,
                previous,
            },
        )
    })
    .await
}
