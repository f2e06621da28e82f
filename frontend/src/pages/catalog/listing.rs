//! The catalog's listing (`/books`): search, filters, sort and numbered
//! pages over the backend's keyset cursors (a page number travels signed
//! beside its cursor; a page past the end is not found), with the listing's
//! canonical address for search engines.
//!
//! Owns the listing's URL parameters and links; answers through `public`
//! like the other browsing pages, and never changes anything.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::{Deserialize, Serialize};

use super::PAGE_SIZE;
use crate::format::summary;
use crate::money::price_cents;
use crate::pages::page::not_found_page;
use crate::pages::page_numbers;
use crate::pages::params::{Window, set};
use crate::pages::public::{View, public_page};
use crate::queries::{self, Catalog};
use crate::session::Visitor;
use crate::state::AppState;

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
    /// The last page: its size (it reads back from the end of the list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tail: Option<String>,
    /// The page's number and its check (`page_numbers`): shown, never used
    /// to choose rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
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

    /// The address search engines should keep for this page: the
    /// catalog, a genre's or a search's listing (with its page's cursor);
    /// a narrower filter or another sort counts as its first page.
    fn canonical(&self) -> String {
        let narrowed = [&self.format, &self.min, &self.max, &self.stock, &self.sort]
            .into_iter()
            .any(|value| set(value).is_some());
        let keep = |value: &Option<String>| set(value).map(str::to_owned);
        let params = Self {
            q: keep(&self.q),
            genre: keep(&self.genre),
            ..Self::default()
        };
        if narrowed {
            params.address(None, None, None)
        } else {
            params.address(keep(&self.after), keep(&self.before), None)
        }
    }

    /// This list's address at a place (`after`, `before` or the last page's
    /// `tail`), without a page number: what a number's check covers.
    fn address(&self, after: Option<String>, before: Option<String>, tail: Option<i64>) -> String {
        let params = Self {
            after,
            before,
            tail: tail.map(|tail| tail.to_string()),
            page: None,
            check: None,
            ..self.clone()
        };
        let query = serde_urlencoded::to_string(&params).unwrap_or_default();
        if query.is_empty() {
            "/books".to_owned()
        } else {
            format!("/books?{query}")
        }
    }

    /// A link to a page: its address, and its number with the number's
    /// check when the number is known.
    fn link(&self, secret: &[u8], at: Place, page: Option<i64>) -> String {
        let (after, before, tail) = at;
        let address = self.address(after, before, tail);
        match page {
            Some(page) if page > 1 => {
                let check = page_numbers::check(secret, page, &address);
                let join = if address.contains('?') { '&' } else { '?' };
                format!("{address}{join}page={page}&check={check}")
            }
            _ => address,
        }
    }

    /// The size of the last page this address asks for (1 to a page).
    fn tail(&self) -> Option<i64> {
        set(&self.tail)
            .and_then(|tail| tail.parse().ok())
            .filter(|tail| (1..=PAGE_SIZE).contains(tail))
            .filter(|_| set(&self.after).is_none() && set(&self.before).is_none())
    }
}

/// Where a page starts: `(after, before, tail)`.
type Place = (Option<String>, Option<String>, Option<i64>);

pub async fn catalog(
    State(state): State<AppState>,
    visitor: Visitor,
    params: Result<Query<CatalogParams>, QueryRejection>,
) -> Response {
    // A mangled address shows the whole catalog rather than an error.
    let params = params.map(|Query(params)| params).unwrap_or_default();
    let (filter, sort, errors) = params.to_query();
    let tail = params.tail();
    let window = match tail {
        Some(size) => Window {
            first: None,
            after: None,
            last: Some(size),
            before: None,
        },
        None => Window::new(&params.after, &params.before, PAGE_SIZE),
    };
    let variables = queries::catalog::Variables {
        first: window.first,
        after: window.after,
        last: window.last,
        before: window.before,
        filter: Some(filter),
        sort,
    };
    let here = (params.after.clone(), params.before.clone(), tail);
    let address = params.address(here.0.clone(), here.1.clone(), tail);
    // The number the address claims, and whether this storefront wrote it.
    let claimed: Option<i64> = set(&params.page)
        .and_then(|page| page.parse().ok())
        .filter(|page| *page >= 1);
    let secret = std::sync::Arc::clone(&state.csrf_secret);
    let checked = claimed.filter(|page| {
        set(&params.check)
            .is_some_and(|check| page_numbers::verify(&secret, *page, &address, check))
    });
    // The page's key: its parameters in a fixed order (unknown ones
    // dropped), with the number it claims: a kept copy is served without
    // the view below, so whatever the view decides from (a number past the
    // end is not found) must be in the key.
    let key = format!(
        "{}#{}{}",
        params.link(&secret, here, checked),
        claimed.unwrap_or_default(),
        if checked.is_some() { "+" } else { "" }
    );
    public_page::<Catalog>(&state, &visitor, &key, variables, |data| {
        let books = &data.books;
        let total = books.total_count;
        let pages = page_numbers::page_count(total, PAGE_SIZE);
        // Past the end: a cursor beyond the last book, or a number beyond
        // the last page.
        let past_end = (books.nodes.is_empty() && total > 0)
            || claimed.is_some_and(|page| page > pages);
        if past_end {
            return View::Answer(not_found_page(&state));
        }
        let last_size = page_numbers::last_page_size(total, PAGE_SIZE);
        if tail.is_some_and(|size| size != last_size) {
            // An old or edited "last page" link: the last page as it is now.
            let last = params.link(&secret, (None, None, Some(last_size)), Some(pages));
            return View::Answer(Redirect::to(&last).into_response());
        }
        let info = &books.page_info;
        let standing = page_numbers::Standing {
            has_previous: info.has_previous_page,
            has_next: info.has_next_page,
            pages,
        };
        let number = page_numbers::number(standing, checked);
        let link = |at: Place, page: Option<i64>| params.link(&secret, at, page);
        let previous = info.has_previous_page.then(|| {
            link(
                (None, info.start_cursor.clone(), None),
                number.map(|n| n - 1),
            )
        });
        let next = info
            .has_next_page
            .then(|| link((info.end_cursor.clone(), None, None), number.map(|n| n + 1)));
        let first = info.has_previous_page.then(|| link((None, None, None), None));
        let last = info
            .has_next_page
            .then(|| link((None, None, Some(last_size)), Some(pages)));
        let genre = set(&params.genre)
            .and_then(|slug| data.genres.iter().find(|genre| genre.slug == slug));
        let (title, description) = match (set(&params.q), genre) {
            (Some(text), _) => (
                format!("Results for “{text}”"),
                format!("Books matching “{text}” at Bookstore."),
            ),
            (None, Some(genre)) => (
                genre.name.clone(),
                match summary(&genre.description, 160) {
                    text if text.is_empty() => format!("{} books at Bookstore.", genre.name),
                    text => text,
                },
            ),
            (None, None) => (
                "All books".to_owned(),
                format!(
                    "All {} books in the shop: public-domain classics in new paperback, hardcover, ebook and audiobook editions.",
                    total
                ),
            ),
        };
        View::Page(
            "catalog.html",
            context! {
                title,
                description,
                canonical => params.canonical(),
                // Search results are for shoppers, not for search engines.
                robots => set(&params.q).map(|_| "noindex, follow"),
                books => Value::from(Serde(&books.nodes)),
                total,
                pages,
                page_number => number,
                genres => Value::from(Serde(&data.genres)),
                params => Value::from(Serde(&params)),
                filtered => [&params.genre, &params.format, &params.min, &params.max, &params.stock, &params.sort]
                    .into_iter()
                    .any(|value| set(value).is_some()),
                errors => errors.into_iter().collect::<std::collections::BTreeMap<_, _>>(),
                first,
                previous,
                next,
                last,
            },
        )
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canonical_address_keeps_the_listing_and_its_page_only() {
        let params = |pairs: &[(&str, &str)]| -> CatalogParams {
            serde_urlencoded::from_str(&serde_urlencoded::to_string(pairs).unwrap_or_default())
                .unwrap_or_default()
        };
        assert_eq!(params(&[]).canonical(), "/books");
        assert_eq!(
            params(&[("genre", "poetry"), ("after", "c2")]).canonical(),
            "/books?genre=poetry&after=c2"
        );
        assert_eq!(
            params(&[("q", "sea"), ("genre", "")]).canonical(),
            "/books?q=sea"
        );
        assert_eq!(
            params(&[("genre", "poetry"), ("sort", "price"), ("after", "c2")]).canonical(),
            "/books?genre=poetry"
        );
        assert_eq!(
            params(&[("format", "ebook"), ("stock", "1")]).canonical(),
            "/books"
        );
    }

    #[test]
    fn pagination_links_keep_the_filters() {
        let params = CatalogParams {
            q: Some("sea & sky".into()),
            genre: Some("poetry".into()),
            after: Some("old".into()),
            ..CatalogParams::default()
        };
        assert_eq!(
            params.address(Some("next".into()), None, None),
            "/books?q=sea+%26+sky&genre=poetry&after=next"
        );
        let secret = b"secret";
        let link = params.link(secret, (Some("next".into()), None, None), Some(3));
        let check = page_numbers::check(secret, 3, "/books?q=sea+%26+sky&genre=poetry&after=next");
        assert_eq!(
            link,
            format!("/books?q=sea+%26+sky&genre=poetry&after=next&page=3&check={check}")
        );
        // Page 1 carries no number: no cursor says it.
        assert_eq!(
            params.link(secret, (None, None, None), Some(1)),
            "/books?q=sea+%26+sky&genre=poetry"
        );
    }
}
