//! The sitemap's handlers and what it lists: the home page, the catalog,
//! every genre's listing, every live book (archived books are not in the
//! API's `books`) and every contributor, with `lastmod` where the API
//! knows it (books' and contributors' `updatedAt`). The catalog is read
//! through the API, 100 at a time (books by keyset cursor); the result is
//! kept (`seo::sitemap::Cache`) and answered `Cache-Control: public` with
//! an `ETag`, so a crawler's revalidation is a 304.
//!
//! Owns reading the catalog for the sitemap; it never writes XML itself.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::operations::{
    SitemapBooks, SitemapContributors, SitemapGenres, sitemap_books, sitemap_contributors,
};
use crate::api::{Api, ApiError, Fetched};
use crate::pages::page::{api_error_page, not_found_page};
use crate::seo::sitemap::{self, Built, Entry};
use crate::state::AppState;

/// Pages read per list at most (100 addresses each): a cursor that never
/// ends cannot loop forever.
const MAX_PAGES: usize = 20_000;

pub(super) async fn index(State(state): State<AppState>) -> Response {
    serve(&state, 0).await
}

/// `/sitemaps/N.xml`, N from 1.
pub(super) async fn part(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    match file
        .strip_suffix(".xml")
        .and_then(|number| number.parse::<usize>().ok())
        .filter(|number| *number >= 1 && !file.starts_with('0'))
    {
        Some(number) => serve(&state, number).await,
        None => not_found_page(&state),
    }
}

async fn serve(state: &AppState, number: usize) -> Response {
    let build = async {
        let entries = entries(&state.api).await?;
        let files = sitemap::files(&state.public_url, &entries, state.sitemap_max_urls);
        Ok::<_, ApiError>(Built::from(files))
    };
    let built = match state.sitemap.get(build).await {
        Ok(built) => built,
        Err(error) => return api_error_page(state, &error),
    };
    let Some(document) = built.documents.get(number) else {
        return not_found_page(state);
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/xml; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, state.sitemap_cache_control.clone()),
            (header::ETAG, document.etag.clone()),
        ],
        document.xml.clone(),
    )
        .into_response()
}

/// Every address the sitemap lists, in a stable order: the shop's pages,
/// genres, books, contributors.
async fn entries(api: &Api) -> Result<Vec<Entry>, ApiError> {
    let entry = |path: String, lastmod: Option<String>| Entry { path, lastmod };
    let mut entries = vec![entry("/".into(), None), entry("/books".into(), None)];
    let genres = fetch::<SitemapGenres>(api, super::operations::sitemap_genres::Variables).await?;
    for genre in genres.genres {
        let query = serde_urlencoded::to_string([("genre", genre.slug)]).unwrap_or_default();
        entries.push(entry(format!("/books?{query}"), None));
    }
    let mut after = None;
    for _ in 0..MAX_PAGES {
        let variables = sitemap_books::Variables {
            after: after.take(),
        };
        let books = fetch::<SitemapBooks>(api, variables).await?.books;
        for book in books.nodes {
            entries.push(entry(
                format!("/books/{}", book.slug),
                Some(book.updated_at),
            ));
        }
        match books
            .page_info
            .end_cursor
            .filter(|_| books.page_info.has_next_page)
        {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    let mut after = None;
    for _ in 0..MAX_PAGES {
        let variables = sitemap_contributors::Variables {
            after: after.take(),
        };
        let contributors = fetch::<SitemapContributors>(api, variables)
            .await?
            .contributors;
        for contributor in contributors.nodes {
            entries.push(entry(
                format!("/contributors/{}", contributor.slug),
                Some(contributor.updated_at),
            ));
        }
        match contributors
            .page_info
            .end_cursor
            .filter(|_| contributors.page_info.has_next_page)
        {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    Ok(entries)
}

/// One public query's data (asked unconditionally).
async fn fetch<Q: graphql_client::GraphQLQuery>(
    api: &Api,
    variables: Q::Variables,
) -> Result<Q::ResponseData, ApiError> {
    match api.run_public::<Q>(variables, None).await? {
        Fetched::Fresh { data, .. } => Ok(data),
        Fetched::NotModified => Err(ApiError::Unavailable),
    }
}
