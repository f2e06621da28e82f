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
use serde::{Deserialize, Serialize};

use super::page::not_found_page;
use super::params::{PageParams, Window, page_links, set};
use super::public::{View, public_page};
use crate::money::price_cents;
use crate::queries::{self, BookPage, Catalog, ContributorPage, Home};
use crate::session::Visitor;
use crate::state::AppState;

/// Books per catalog page.
const PAGE_SIZE: i64 = 24;

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
                books => Value::from(Serde(&data.books.nodes)),
                genres => Value::from(Serde(&data.genres)),
            },
        )
    })
    .await
}

/// The catalog's URL parameters, as typed by a shopper (all optional, empty
/// means unset).
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct CatalogParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genre: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
}

impl CatalogParams {
    /// The backend filter and sort, plus a message per field that could not
    /// be understood (shown next to the field; the field is ignored).
    fn to_query(
        &self,
    ) -> (
        queries::catalog::BookFilter,
        Option<queries::catalog::BookSort>,
        Vec<(&'static str, &'static str)>,
    ) {
        use queries::catalog::{BookFormat, BookSort};
        let mut errors = Vec::new();
        let mut price = |name: &'static str, value: &Option<String>| match set(value) {
            None => None,
            Some(text) => price_cents(text).or_else(|| {
                errors.push((name, "enter an amount such as 12 or 12.50"));
                None
            }),
        };
        let min_price_cents = price("min", &self.min);
        let max_price_cents = price("max", &self.max);
        let format = match set(&self.format) {
            Some("hardcover") => Some(BookFormat::HARDCOVER),
            Some("paperback") => Some(BookFormat::PAPERBACK),
            Some("ebook") => Some(BookFormat::EBOOK),
            Some("audiobook") => Some(BookFormat::AUDIOBOOK),
            _ => None,
        };
        let sort = match set(&self.sort) {
            Some("title") => Some(BookSort::TITLE),
            Some("price") => Some(BookSort::PRICE_LOW_TO_HIGH),
            Some("price-desc") => Some(BookSort::PRICE_HIGH_TO_LOW),
            Some("newest") => Some(BookSort::NEWEST),
            Some("relevance") => Some(BookSort::RELEVANCE),
            _ => None,
        };
        let filter = queries::catalog::BookFilter {
            search: set(&self.q).map(|text| text.chars().take(200).collect()),
            genre: set(&self.genre).map(str::to_owned),
            contributor: None,
            min_price_cents,
            max_price_cents,
            in_stock: (set(&self.stock) == Some("1")).then_some(true),
            format,
            include_archived: None,
        };
        (filter, sort, errors)
    }

    /// This page's URL with other cursors: the pagination links.
    fn with_cursors(&self, after: Option<String>, before: Option<String>) -> String {
        let params = Self {
            after,
            before,
            ..self.clone()
        };
        let query = serde_urlencoded::to_string(&params).unwrap_or_default();
        if query.is_empty() {
            "/books".to_owned()
        } else {
            format!("/books?{query}")
        }
    }
}

pub async fn catalog(
    State(state): State<AppState>,
    visitor: Visitor,
    params: Result<Query<CatalogParams>, QueryRejection>,
) -> Response {
    // A mangled address shows the whole catalog rather than an error.
    let params = params.map(|Query(params)| params).unwrap_or_default();
    let (filter, sort, errors) = params.to_query();
    let window = Window::new(&params.after, &params.before, PAGE_SIZE);
    let variables = queries::catalog::Variables {
        first: window.first,
        after: window.after,
        last: window.last,
        before: window.before,
        filter: Some(filter),
        sort,
    };
    // The page's key: its parameters in a fixed order (unknown ones dropped).
    let key = params.with_cursors(params.after.clone(), params.before.clone());
    public_page::<Catalog>(&state, &visitor, &key, variables, |data| {
        let (next, previous) = page_links!(data.books.page_info, |after, before| params
            .with_cursors(after, before));
        let title = match set(&params.q) {
            Some(text) => format!("Results for “{text}”"),
            None => "All books".to_owned(),
        };
        View::Page(
            "catalog.html",
            context! {
                title,
                books => Value::from(Serde(&data.books.nodes)),
                total => data.books.total_count,
                genres => Value::from(Serde(&data.genres)),
                params => Value::from(Serde(&params)),
                errors => errors.into_iter().collect::<std::collections::BTreeMap<_, _>>(),
                next,
                previous,
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
        Some(book) => View::Page(
            "book.html",
            context! { title => book.title.clone(), book => Value::from(Serde(&book)) },
        ),
        None => View::Answer(not_found_page(&state)),
    })
    .await
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
    let key = format!(
        "{path}?{}",
        serde_urlencoded::to_string(&params).unwrap_or_default()
    );
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
                contributor => Value::from(Serde(&contributor)),
                next,
                previous,
            },
        )
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination_links_keep_the_filters() {
        let params = CatalogParams {
            q: Some("sea & sky".into()),
            genre: Some("poetry".into()),
            after: Some("old".into()),
            ..CatalogParams::default()
        };
        assert_eq!(
            params.with_cursors(Some("next".into()), None),
            "/books?q=sea+%26+sky&genre=poetry&after=next"
        );
    }
}
