//! Two backends and two storefronts on one database and one Redis, as
//! behind nginx: a shopper whose every request goes to the other
//! storefront (and so the other backend) keeps their session, their CSRF
//! tokens and their cart, and a staff price change made on one backend
//! reaches the pages of the other storefront, through the other backend's
//! response cache and the storefront's page cache.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use bookstore_test_support::TestDatabase;
use serde_json::{Value, json};

mod support;
use support::{Browser, Page, input, serve_backend, storefront};

const BOOK: &str = "/books/middlemarch";

struct Fleet {
    database: TestDatabase,
    backends: Vec<String>,
    storefronts: Vec<axum::Router>,
}

impl Fleet {
    async fn start() -> Self {
        let database = TestDatabase::seeded().await;
        let mut backends = Vec::new();
        for _ in 0..2 {
            // The response cache on, as in production: each backend keeps
            // answers that only the other's writes can retire.
            let overrides = [("RESPONSE_CACHE_MB", "8".to_owned())];
            backends.push(serve_backend(&database, &overrides).await.0);
        }
        // Storefront n talks to backend n only; both sign forms with the
        // same CSRF secret, as compose configures them.
        let storefronts = backends.iter().map(|url| storefront(url, 5000)).collect();
        Self {
            database,
            backends,
            storefronts,
        }
    }

    fn alternating(&self) -> Browser {
        Browser::across(self.storefronts.clone())
    }

    fn pinned(&self, index: usize) -> Browser {
        Browser::for_router(self.storefronts[index].clone())
    }

    async fn graphql(
        &self,
        backend: usize,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Value {
        let mut request = reqwest::Client::new()
            .post(&self.backends[backend])
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let body: Value = request.send().await.unwrap().json().await.unwrap();
        assert!(body.get("errors").is_none(), "{body}");
        body["data"].clone()
    }

    async fn staff_token(&self, backend: usize) -> String {
        let options = bookstore::db::PoolOptions {
            size: 1,
            statement_timeout: Duration::ZERO,
        };
        let db = bookstore::db::Db::new(&self.database.url, None, options);
        let cache = bookstore::cache::Cache::disabled();
        bookstore::accounts::create_staff(
            &db,
            &cache,
            "fleet-staff@example.com",
            "Staff",
            "staff password 1".to_owned(),
        )
        .await
        .unwrap();
        let data = self
            .graphql(
                backend,
                None,
                "mutation($input: LoginInput!) { login(input: $input) { token } }",
                json!({"input": {"email": "fleet-staff@example.com", "password": "staff password 1"}}),
            )
            .await;
        data["login"]["token"].as_str().unwrap().to_owned()
    }
}

fn price_of(page: &Page) -> String {
    page.html
        .split("class=\"price\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_else(|| panic!("no price on the page: {}", page.html))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_and_a_cart_cross_instances_request_by_request() {
    let fleet = Fleet::start().await;
    let mut shopper = fleet.alternating();
    // Each form is fetched from one storefront and posted to the other.
    shopper
        .sign_up(
            "fleet@example.com",
            "Fleet Shopper",
            "correct horse battery",
        )
        .await;
    for _ in 0..2 {
        let account = shopper.get("/account").await;
        assert_eq!(account.status, StatusCode::OK, "{}", account.html);
        assert!(account.html.contains("fleet@example.com"));
    }

    let book = shopper.get(BOOK).await;
    let book_id = input(&book, "book_id");
    let added = shopper
        .submit(
            BOOK,
            "/cart/add",
            &[
                ("book_id", &book_id),
                ("slug", "middlemarch"),
                ("quantity", "2"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.html);
    for _ in 0..2 {
        let cart = shopper.get("/cart").await;
        assert!(cart.html.contains("Middlemarch"), "{}", cart.html);
        assert!(cart.html.contains("value=\"2\""), "{}", cart.html);
    }

    // Signing out on one storefront ends the session on both.
    let account = shopper.get("/account").await;
    let out = shopper
        .post("/logout", &[("csrf", &input(&account, "csrf"))])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER, "{}", out.html);
    for _ in 0..2 {
        let account = shopper.get("/account").await;
        assert_eq!(
            account.status,
            StatusCode::SEE_OTHER,
            "signed out everywhere"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_price_change_on_one_backend_reaches_the_other_storefronts_pages() {
    let fleet = Fleet::start().await;
    let mut first = fleet.pinned(0);
    let mut second = fleet.pinned(1);
    // Both storefronts and both backends have the page and its answer kept.
    let before = price_of(&first.get(BOOK).await);
    for _ in 0..2 {
        assert_eq!(price_of(&first.get(BOOK).await), before);
        assert_eq!(price_of(&second.get(BOOK).await), before);
    }
    assert_ne!(before, "$43.21");

    let staff = fleet.staff_token(0).await;
    let id = fleet
        .graphql(
            0,
            None,
            r#"{ book(slug: "middlemarch") { id } }"#,
            json!({}),
        )
        .await["book"]["id"]
        .clone();
    fleet
        .graphql(
            0,
            Some(&staff),
            "mutation($input: UpdateBookInput!) { updateBook(input: $input) { book { id } } }",
            json!({"input": {"id": id, "priceCents": 4321}}),
        )
        .await;

    assert_eq!(
        price_of(&first.get(BOOK).await),
        "$43.21",
        "the writer's side at once"
    );
    // The other backend hears of it through Redis pub/sub.
    let started = Instant::now();
    loop {
        let price = price_of(&second.get(BOOK).await);
        if price == "$43.21" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the other storefront still shows {price}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!(
        "the other storefront showed the new price after {:?}",
        started.elapsed()
    );
}
