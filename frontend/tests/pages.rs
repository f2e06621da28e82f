//! The storefront's pages, rendered against a real backend (its own
//! database, Redis namespace and port) through the storefront's router.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use axum::http::{StatusCode, header};
use bookstore_test_support::TestDatabase;

mod support;
use support::{Shop, backend, get, storefront, unescape};

#[tokio::test(flavor = "multi_thread")]
async fn the_home_page_shows_new_arrivals_and_genres() {
    let shop = Shop::new().await;
    let page = get(&shop.router, "/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(page.html.matches("class=\"book-card\"").count(), 8);
    assert!(page.html.contains("href=\"/books?genre=poetry\""));
    assert!(page.html.contains("<main id=\"main\""), "landmarks");
    assert!(
        page.html.contains("<label for=\"site-search\""),
        "labelled search"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_catalog_searches_filters_sorts_and_pages() {
    let shop = Shop::new().await;
    let page = get(&shop.router, "/books?q=whale").await;
    assert!(page.html.contains("Moby-Dick"));
    assert!(
        page.html.contains("value=\"whale\""),
        "the search stays in the box"
    );

    let page = get(
        &shop.router,
        "/books?genre=poetry&format=paperback&sort=price",
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("<option value=\"poetry\" selected>"));
    assert!(page.html.contains("<option value=\"price\" selected>"));
    assert!(page.html.contains("paperback"));
    assert!(!page.html.contains(">hardcover<"));

    let first = get(&shop.router, "/books?sort=title").await;
    let next = unescape(
        first
            .html
            .split("rel=\"next\" href=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap(),
    );
    assert!(
        next.contains("sort=title") && next.contains("after="),
        "{next}"
    );
    let second = get(&shop.router, &next).await;
    assert_eq!(second.status, StatusCode::OK);
    assert!(second.html.contains("rel=\"prev\""));
    let first_titles: Vec<&str> = first.html.split("<h3>").skip(1).collect();
    let second_titles: Vec<&str> = second.html.split("<h3>").skip(1).collect();
    assert_eq!(first_titles.len(), 24);
    assert_ne!(first_titles[0], second_titles[0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_filter_input_is_shown_next_to_its_field_and_kept() {
    let shop = Shop::new().await;
    let page = get(&shop.router, "/books?min=cheap&max=20").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("id=\"min-error\""));
    assert!(page.html.contains("value=\"cheap\""));
    assert!(page.html.contains("value=\"20\""));
    let page = get(&shop.router, "/books?after=not-a-cursor").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.html.contains("go back and try again"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_book_page_and_a_contributor_page() {
    let shop = Shop::new().await;
    let page = get(&shop.router, "/books/pride-and-prejudice").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("<h1>Pride and Prejudice</h1>"));
    assert!(page.html.contains("href=\"/contributors/jane-austen\""));
    assert!(page.html.contains("ISBN"));
    assert!(
        page.html
            .contains("role=\"img\" aria-label=\"Cover of Pride and Prejudice\"")
    );
    let page = get(&shop.router, "/contributors/jane-austen").await;
    assert!(page.html.contains("<h1>Jane Austen</h1>"));
    assert!(page.html.contains("/books/pride-and-prejudice"));
    assert_eq!(
        get(&shop.router, "/books/no-such-book").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&shop.router, "/contributors/nobody").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&shop.router, "/no/such/page").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn text_from_the_catalog_is_escaped() {
    let database = TestDatabase::seeded().await;
    let url = backend(&database).await;
    let mut conn = <diesel_async::AsyncPgConnection as diesel_async::AsyncConnection>::establish(
        &database.url,
    )
    .await
    .unwrap();
    bookstore_test_support::execute(
        &mut conn,
        "UPDATE books SET description = '<script>alert(1)</script>' WHERE slug = 'moby-dick'",
    )
    .await;
    let page = get(&storefront(&url, 5000), "/books/moby-dick").await;
    assert!(!page.html.contains("<script>alert(1)</script>"));
    assert!(page.html.contains("&lt;script&gt;alert(1)&lt;"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_or_hanging_backend_gives_a_prompt_try_again_page() {
    // Nothing listens on port 1.
    let page = get(&storefront("http://127.0.0.1:1/graphql", 1000), "/").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.html.contains("try again"));
    assert_eq!(page.headers[header::RETRY_AFTER], "30");

    // A backend that accepts and never answers: bounded by the timeout.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let started = Instant::now();
    let page = get(
        &storefront(&format!("http://{address}/graphql"), 300),
        "/books",
    )
    .await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_stylesheet_is_cached_for_long() {
    let page = get(
        &storefront("http://127.0.0.1:1/graphql", 100),
        "/static/style.css",
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.headers[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("max-age=31536000")
    );
    assert!(page.html.contains(":focus-visible"));
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let router = storefront("http://127.0.0.1:1/graphql", 100);
    let mut answers = Vec::new();
    for uri in [
        "/healthz",
        "/static/style.css",
        "/static/live.js",
        "/no-such-page",
        "/books",
    ] {
        answers.push((uri, get(&router, uri).await));
    }
    let mut browser = support::Browser::for_router(router.clone());
    answers.push((
        "POST /cart/add",
        browser.post("/cart/add", &[("book_id", "1")]).await,
    ));
    for (uri, page) in answers {
        let csp = page
            .headers
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{uri}: no CSP"))
            .to_str()
            .unwrap();
        // Scripts: only the storefront's own files, never inline ones.
        assert!(!csp.contains("unsafe"), "{uri}: {csp}");
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        ] {
            assert!(csp.contains(directive), "{uri}: {csp}");
        }
        assert_eq!(page.headers["x-content-type-options"], "nosniff", "{uri}");
        assert_eq!(
            page.headers["referrer-policy"], "strict-origin-when-cross-origin",
            "{uri}"
        );
    }
}

#[tokio::test]
async fn the_stylesheet_version_is_a_hash_of_its_content() {
    use sha2::{Digest, Sha256};
    let router = storefront("http://127.0.0.1:1/graphql", 100);
    let css = get(&router, "/static/style.css").await;
    let digest = Sha256::digest(css.html.as_bytes());
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    // Any page links it with that version (the error page has the frame).
    let page = get(&router, "/no-such-page").await;
    let version = page
        .html
        .split("/static/style.css?v=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    assert_eq!(version, hex[..16], "{}", page.html);
}

#[tokio::test]
async fn the_live_script_is_javascript_cached_for_long_under_its_hash() {
    use sha2::{Digest, Sha256};
    let router = storefront("http://127.0.0.1:1/graphql", 100);
    let script = get(&router, "/static/live.js").await;
    assert_eq!(script.status, StatusCode::OK);
    assert_eq!(
        script.headers[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert!(
        script.headers[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert!(script.html.contains("EventSource"));
    let digest = Sha256::digest(script.html.as_bytes());
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    assert_eq!(bookstore_web::script::version(), &hex[..16]);
}
