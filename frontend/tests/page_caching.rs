//! Caching of the storefront's pages: anonymous catalog pages are public
//! with an `ETag` and revalidate with `304`; pages holding a form token, a
//! session or a flash message never are; each page asks the backend once,
//! by a conditional GET, and a page whose data the backend says is
//! unchanged is served from its kept copy; answers are compressed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bookstore_test_support::TestDatabase;
use http_body_util::BodyExt;
use tower::ServiceExt;

use support::{Browser, Shop, backend, storefront};

/// One backend call, as the storefront made it.
#[derive(Debug, Clone)]
struct Call {
    method: String,
    if_none_match: Option<String>,
    status: u16,
}

type Calls = Arc<Mutex<Vec<Call>>>;

/// A proxy in front of the real backend that records every call.
async fn counting_proxy(target: String) -> (String, Calls) {
    let calls: Calls = Arc::default();
    let record = calls.clone();
    let client = reqwest::Client::new();
    let router = axum::Router::new().fallback(move |request: Request| {
        let (record, client, target) = (record.clone(), client.clone(), target.clone());
        async move {
            let (parts, body) = request.into_parts();
            let body = body.collect().await.unwrap().to_bytes();
            let query = parts
                .uri
                .query()
                .map(|q| format!("?{q}"))
                .unwrap_or_default();
            let mut forwarded = client.request(parts.method.clone(), format!("{target}{query}"));
            for (name, value) in &parts.headers {
                if name != header::HOST {
                    forwarded = forwarded.header(name, value);
                }
            }
            let answer = forwarded.body(body).send().await.unwrap();
            let status = answer.status();
            record.lock().unwrap().push(Call {
                method: parts.method.to_string(),
                if_none_match: parts
                    .headers
                    .get(header::IF_NONE_MATCH)
                    .map(|value| value.to_str().unwrap().to_owned()),
                status: status.as_u16(),
            });
            let headers = answer.headers().clone();
            let bytes = answer.bytes().await.unwrap();
            let mut response = (status, bytes).into_response();
            for name in [header::CONTENT_TYPE, header::ETAG, header::CACHE_CONTROL] {
                if let Some(value) = headers.get(&name) {
                    response.headers_mut().insert(name, value.clone());
                }
            }
            response
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{address}/graphql"), calls)
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }

    fn html(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }
}

async fn fetch(router: &axum::Router, uri: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = Request::get(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response: Response = router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn anonymous_catalog_pages_are_public_and_revalidate_with_304_one_backend_call_each() {
    let database = TestDatabase::seeded().await;
    let (url, calls) = counting_proxy(backend(&database).await).await;
    let router = storefront(&url, 5000);
    for uri in [
        "/",
        "/books",
        "/books?genre=poetry&sort=title",
        "/contributors/jane-austen",
    ] {
        calls.lock().unwrap().clear();
        let first = fetch(&router, uri, &[]).await;
        assert_eq!(first.status, StatusCode::OK, "{uri}");
        assert_eq!(
            first.header(header::CACHE_CONTROL),
            Some("public, max-age=5"),
            "{uri}"
        );
        assert_eq!(first.header(header::VARY), Some("cookie"), "{uri}");
        assert!(
            first.headers.get(header::SET_COOKIE).is_none(),
            "{uri}: a public page sets no cookie"
        );
        assert!(
            !first.html().contains("name=\"csrf\""),
            "{uri}: no form token"
        );
        let etag = first.header(header::ETAG).expect("an ETag").to_owned();
        assert!(etag.starts_with("W/\""), "{etag}");

        let again = fetch(&router, uri, &[("if-none-match", &etag)]).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{uri}");
        assert!(again.body.is_empty(), "{uri}: a 304 has no body");
        assert_eq!(again.header(header::ETAG), Some(etag.as_str()));
        assert_eq!(
            again.header(header::CACHE_CONTROL),
            Some("public, max-age=5")
        );

        let other = fetch(&router, uri, &[("if-none-match", "W/\"other\"")]).await;
        assert_eq!(other.status, StatusCode::OK, "{uri}");
        assert_eq!(other.body, first.body, "{uri}");

        let calls = calls.lock().unwrap().clone();
        assert_eq!(
            calls.len(),
            3,
            "{uri}: one backend call per page: {calls:?}"
        );
        assert!(
            calls.iter().all(|call| call.method == "GET"),
            "{uri}: {calls:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_with_a_form_token_a_session_or_a_flash_are_never_public() {
    let shop = Shop::new().await;
    // A book in stock has an add-to-cart form, whose token is the browser's.
    let mut first = Browser::for_router(shop.router.clone());
    let mut second = Browser::for_router(shop.router.clone());
    let book = first.get("/books/middlemarch").await;
    assert_eq!(book.status, StatusCode::OK);
    assert_eq!(book.headers[header::CACHE_CONTROL], "private, no-store");
    assert!(book.headers.get(header::ETAG).is_none());
    assert!(
        first.cookies.contains_key("bookstore_csrf"),
        "the token's seed"
    );
    let other = second.get("/books/middlemarch").await;
    assert_ne!(book.csrf(), other.csrf(), "each browser its own token");
    let starred = fetch(
        &shop.router,
        "/books/middlemarch",
        &[("if-none-match", "*")],
    )
    .await;
    assert_eq!(
        starred.status,
        StatusCode::OK,
        "a private page is never a 304"
    );
    // Each token works for its own browser only.
    let book_id = book
        .html
        .split("name=\"book_id\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    fn fields<'a>(csrf: &'a str, book_id: &'a str) -> [(&'static str, &'a str); 4] {
        [
            ("csrf", csrf),
            ("book_id", book_id),
            ("slug", "middlemarch"),
            ("quantity", "1"),
        ]
    }
    let (stolen, own) = (book.csrf(), other.csrf());
    assert_eq!(
        second
            .post("/cart/add", &fields(&stolen, &book_id))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let added = second.post("/cart/add", &fields(&own, &book_id)).await;
    assert_eq!(added.location().as_deref(), Some("/cart"), "{}", added.html);

    // An anonymous visitor's catalog page is public...
    let anonymous = fetch(&shop.router, "/books", &[]).await;
    assert_eq!(
        anonymous.header(header::CACHE_CONTROL),
        Some("public, max-age=5")
    );
    let etag = anonymous.header(header::ETAG).unwrap().to_owned();
    // ...a signed-in customer's never, even for a tag they somehow hold.
    let mut customer = shop.browser();
    customer
        .sign_up("reader@example.com", "Reader", "correct horse battery")
        .await;
    let mine = customer.get("/books").await;
    assert_eq!(mine.status, StatusCode::OK);
    assert_eq!(mine.headers[header::CACHE_CONTROL], "private, no-store");
    assert!(mine.headers.get(header::ETAG).is_none());
    assert!(mine.html.contains("Sign out"));
    let cookie = customer
        .cookies
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("; ");
    let conditional = fetch(
        &shop.router,
        "/books",
        &[("cookie", &cookie), ("if-none-match", &etag)],
    )
    .await;
    assert_eq!(conditional.status, StatusCode::OK);
    assert!(conditional.html().contains("Sign out"));

    // Signed out: the home page with the flash message is private; the
    // next one, without it, is public again.
    customer.submit("/account", "/logout", &[]).await;
    let home = customer.get("/").await;
    assert!(home.html.contains("You are signed out."));
    assert_eq!(home.headers[header::CACHE_CONTROL], "private, no-store");
    let home = customer.get("/").await;
    assert!(!home.html.contains("You are signed out."));
    assert_eq!(home.headers[header::CACHE_CONTROL], "public, max-age=5");
}

#[tokio::test]
async fn answers_are_compressed_as_the_client_accepts() {
    let router = storefront("http://127.0.0.1:1/graphql", 100);
    for uri in ["/static/style.css", "/no-such-page"] {
        let plain = fetch(&router, uri, &[]).await;
        assert!(
            plain.headers.get(header::CONTENT_ENCODING).is_none(),
            "{uri}"
        );
        let gzip = fetch(&router, uri, &[("accept-encoding", "gzip")]).await;
        assert_eq!(gzip.header(header::CONTENT_ENCODING), Some("gzip"), "{uri}");
        assert_eq!(&gzip.body[..2], b"\x1f\x8b", "{uri}: gzip's magic");
        assert!(gzip.body.len() < plain.body.len(), "{uri}");
        let brotli = fetch(&router, uri, &[("accept-encoding", "gzip, br")]).await;
        assert_eq!(brotli.header(header::CONTENT_ENCODING), Some("br"), "{uri}");
        assert!(brotli.body.len() < plain.body.len(), "{uri}");
        let vary = brotli.header(header::VARY).unwrap_or_default();
        assert!(vary.contains("accept-encoding"), "{uri}: {vary}");
    }
}

/// A backend that knows one book (in stock) and answers `GET /graphql` with
/// an `ETag` of its version (when `tags`), and `304` for that tag.
struct FakeBackend {
    version: Mutex<u32>,
    calls: Mutex<Vec<Call>>,
    tags: bool,
}

async fn fake_backend(tags: bool) -> (String, Arc<FakeBackend>) {
    let fake = Arc::new(FakeBackend {
        version: Mutex::new(1),
        calls: Mutex::new(Vec::new()),
        tags,
    });
    let state = fake.clone();
    let router = axum::Router::new().fallback(move |request: Request| {
        let fake = state.clone();
        async move {
            let version = *fake.version.lock().unwrap();
            let etag = format!("\"v{version}\"");
            let if_none_match = request
                .headers()
                .get(header::IF_NONE_MATCH)
                .map(|value| value.to_str().unwrap().to_owned());
            let unchanged = fake.tags && if_none_match.as_deref() == Some(etag.as_str());
            let status = if unchanged { 304 } else { 200 };
            fake.calls.lock().unwrap().push(Call {
                method: request.method().to_string(),
                if_none_match,
                status,
            });
            let mut response = if unchanged {
                StatusCode::NOT_MODIFIED.into_response()
            } else {
                let body = serde_json::json!({"data": {"book": {
                    "id": "Qm9vazox", "slug": "fake", "title": format!("Version {version}"),
                    "subtitle": null, "description": "A book.", "isbn": "9780000000002",
                    "format": "PAPERBACK", "publisher": null, "publicationDate": null,
                    "language": "en", "pageCount": null, "stock": 10, "inStock": true,
                    "archived": false, "price": {"amountCents": 999, "currency": "USD", "formatted": "$9.99"},
                    "credits": [], "genres": []
                }}});
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    body.to_string(),
                )
                    .into_response()
            };
            if fake.tags {
                response
                    .headers_mut()
                    .insert(header::ETAG, etag.parse().unwrap());
            }
            response
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{address}/graphql"), fake)
}

#[tokio::test]
async fn a_page_whose_data_the_backend_says_is_unchanged_is_served_from_its_copy() {
    let (url, fake) = fake_backend(true).await;
    let router = storefront(&url, 5000);
    let mut first = Browser::for_router(router.clone());
    let mut second = Browser::for_router(router.clone());
    let rendered = first.get("/books/fake").await;
    assert!(rendered.html.contains("<h1>Version 1</h1>"));
    // The backend said 304 (no body): the page comes from the kept copy,
    // with this browser's own token in its form.
    let kept = second.get("/books/fake").await;
    assert_eq!(kept.status, StatusCode::OK);
    assert!(kept.html.contains("<h1>Version 1</h1>"));
    assert_ne!(kept.csrf(), rendered.csrf());
    assert_eq!(
        kept.html.replace(&kept.csrf(), ""),
        rendered.html.replace(&rendered.csrf(), "")
    );
    // New data: a new page.
    *fake.version.lock().unwrap() = 2;
    let changed = first.get("/books/fake").await;
    assert!(
        changed.html.contains("<h1>Version 2</h1>"),
        "{}",
        changed.html
    );
    let calls = fake.calls.lock().unwrap().clone();
    let seen: Vec<(&str, Option<&str>, u16)> = calls
        .iter()
        .map(|call| {
            (
                call.method.as_str(),
                call.if_none_match.as_deref(),
                call.status,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("GET", None, 200),
            ("GET", Some("\"v1\""), 304),
            ("GET", Some("\"v1\""), 200),
        ]
    );
}

#[tokio::test]
async fn without_backend_tags_every_page_is_asked_for_and_rendered() {
    let (url, fake) = fake_backend(false).await;
    let router = storefront(&url, 5000);
    for version in [1, 1, 2] {
        *fake.version.lock().unwrap() = version;
        let page = fetch(&router, "/books/fake", &[]).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.html().contains(&format!("<h1>Version {version}</h1>")));
    }
    let calls = fake.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert!(
        calls
            .iter()
            .all(|call| call.method == "GET" && call.if_none_match.is_none()),
        "a plain conditional-less GET each time: {calls:?}"
    );
}
