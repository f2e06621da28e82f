//! The storefront test harness: a real backend (its own database, Redis
//! namespace and port, and its outbox worker delivering to an in-process
//! SMTP sink) and the storefront's router, driven by a small
//! cookie-keeping browser.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use bookstore_test_support::{MailSink, TestDatabase};
use bookstore_web::config::Config;
use http_body_util::BodyExt;
use tower::ServiceExt;

pub struct Shop {
    pub database: TestDatabase,
    pub graphql_url: String,
    pub router: axum::Router,
    /// The SMTP server the backend's outbox worker delivers to.
    pub mail: MailSink,
    /// The backend's outbox worker (stops with the shop).
    _worker: bookstore::jobs::Task,
}

/// The backend's `PUBLIC_URL` in tests: links in messages start with it.
pub const PUBLIC_URL: &str = "http://shop.test";

pub struct Page {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub html: String,
}

impl Page {
    /// Where a redirect goes.
    pub fn location(&self) -> Option<String> {
        self.headers
            .get(header::LOCATION)
            .map(|value| value.to_str().unwrap().to_owned())
    }

    /// The value of the hidden `csrf` field of the page's forms.
    pub fn csrf(&self) -> String {
        self.html
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(unescape)
            .unwrap_or_else(|| panic!("no csrf field on the page: {}", self.html))
    }
}

/// A backend on a free port, over `database` (no mail is sent).
pub async fn backend(database: &TestDatabase) -> String {
    serve_backend(database, &[]).await.0
}

/// A backend on a free port, over `database`, with `overrides` of its
/// configuration (no mail is sent).
pub async fn backend_with(database: &TestDatabase, overrides: &[(&str, String)]) -> String {
    serve_backend(database, overrides).await.0
}

/// A backend on a free port, over `database`, with `overrides` of its
/// configuration; also returns the configuration.
pub async fn serve_backend(
    database: &TestDatabase,
    overrides: &[(&str, String)],
) -> (String, bookstore::config::Config) {
    let (url, config, _) = serve_backend_state(database, overrides).await;
    (url, config)
}

/// Like [`serve_backend`], also returning the backend's state (its open
/// WebSockets, `state.endpoint.sockets`).
pub async fn serve_backend_state(
    database: &TestDatabase,
    overrides: &[(&str, String)],
) -> (String, bookstore::config::Config, bookstore::app::AppState) {
    let config = bookstore::config::Config::from_lookup(|name| {
        if let Some((_, value)) = overrides.iter().find(|(key, _)| *key == name) {
            return Some(value.clone());
        }
        match name {
            "DATABASE_URL" => Some(database.url.clone()),
            "CACHE_NAMESPACE" => Some(database.name.clone()),
            "REDIS_URL" => Some(bookstore_test_support::redis_url()),
            "DATABASE_POOL_SIZE" => Some("4".into()),
            _ => None,
        }
    })
    .unwrap();
    let state = bookstore::app::AppState::new(&config).unwrap();
    let router = bookstore::app::router(state.clone(), &config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    (format!("http://{address}/graphql"), config, state)
}

pub fn storefront(graphql_url: &str, timeout_ms: u64) -> axum::Router {
    storefront_with(graphql_url, timeout_ms, &[]).0
}

/// A storefront with `overrides` of its configuration; also its state.
pub fn storefront_with(
    graphql_url: &str,
    timeout_ms: u64,
    overrides: &[(&str, &str)],
) -> (axum::Router, bookstore_web::AppState) {
    let config = Config::from_lookup(|name| {
        if let Some((_, value)) = overrides.iter().find(|(key, _)| *key == name) {
            return Some((*value).to_owned());
        }
        match name {
            "GRAPHQL_URL" => Some(graphql_url.to_owned()),
            "BACKEND_TIMEOUT_MS" => Some(timeout_ms.to_string()),
            "CSRF_SECRET" => Some("test secret".to_owned()),
            _ => None,
        }
    })
    .unwrap();
    let state = bookstore_web::AppState::new(&config).unwrap();
    (bookstore_web::router(state.clone()), state)
}

impl Shop {
    pub async fn new() -> Self {
        let database = TestDatabase::seeded().await;
        let mail = MailSink::start().await;
        let overrides = [
            ("SMTP_URL", mail.url()),
            ("PUBLIC_URL", PUBLIC_URL.to_owned()),
        ];
        let (graphql_url, config) = serve_backend(&database, &overrides).await;
        let worker = bookstore::spawn_outbox_worker(&config).unwrap();
        Self {
            router: storefront(&graphql_url, 5000),
            graphql_url,
            database,
            mail,
            _worker: worker,
        }
    }

    /// The `path?token=…` of the newest link to `path` in a message
    /// delivered to `to` (waiting up to 10 s for one).
    pub async fn mailed_link(&self, to: &str, path: &str) -> String {
        self.mailed_link_other_than(to, path, "").await
    }

    /// Like [`Shop::mailed_link`], for a link other than `not` (waiting
    /// for the next message if need be).
    pub async fn mailed_link_other_than(&self, to: &str, path: &str, not: &str) -> String {
        let prefix = format!("{PUBLIC_URL}{path}?token=");
        let mut count = 1;
        loop {
            let mails = self.mail.wait_for_to(to, count).await;
            let link = mails
                .iter()
                .rev()
                .filter_map(|mail| mail.link(&prefix))
                .map(|link| link.trim_start_matches(PUBLIC_URL).to_owned())
                .find(|link| link != not);
            if let Some(link) = link {
                return link;
            }
            count = mails.len() + 1;
        }
    }

    pub fn browser(&self) -> Browser {
        Browser::for_router(self.router.clone())
    }

    /// Creates a staff account, as `bookstore create-staff` does.
    pub async fn create_staff(&self, email: &str, password: &str) {
        let options = bookstore::db::PoolOptions {
            size: 1,
            statement_timeout: std::time::Duration::ZERO,
        };
        let db = bookstore::db::Db::new(&self.database.url, None, options);
        bookstore::accounts::create_staff(
            &db,
            &bookstore::cache::Cache::disabled(),
            email,
            "Staff",
            password.to_owned(),
        )
        .await
        .unwrap();
    }
}

pub async fn get(router: &axum::Router, uri: &str) -> Page {
    send(router, Request::get(uri).body(Body::empty()).unwrap()).await
}

async fn send(router: &axum::Router, request: Request<Body>) -> Page {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Page {
        status,
        headers,
        html: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

/// Keeps cookies between requests, like a browser (no redirects followed).
/// With several storefronts, each request goes to the next one in turn, as
/// behind a round-robin load balancer.
pub struct Browser {
    routers: Vec<axum::Router>,
    sent: usize,
    pub cookies: BTreeMap<String, String>,
}

impl Browser {
    /// A browser on any storefront router (no backend needed for pages
    /// that do not call it).
    pub fn for_router(router: axum::Router) -> Self {
        Self::across(vec![router])
    }

    /// A browser whose requests alternate between `routers`.
    pub fn across(routers: Vec<axum::Router>) -> Self {
        assert!(!routers.is_empty());
        Self {
            routers,
            sent: 0,
            cookies: BTreeMap::new(),
        }
    }

    /// The storefront the next request goes to.
    fn router(&mut self) -> axum::Router {
        let router = self.routers[self.sent % self.routers.len()].clone();
        self.sent += 1;
        router
    }

    fn keep_cookies(&mut self, page: &Page) {
        for value in page.headers.get_all(header::SET_COOKIE) {
            let value = value.to_str().unwrap();
            let pair = value.split(';').next().unwrap();
            let (name, content) = pair.split_once('=').unwrap();
            if content.is_empty() || value.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), content.to_owned());
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn get(&mut self, uri: &str) -> Page {
        let request = Request::get(uri)
            .header(header::COOKIE, self.cookie_header())
            .body(Body::empty())
            .unwrap();
        let page = send(&self.router(), request).await;
        self.keep_cookies(&page);
        page
    }

    /// Submits a form (URL-encoded fields, in order).
    pub async fn post(&mut self, uri: &str, fields: &[(&str, &str)]) -> Page {
        self.post_with(uri, fields, &[]).await
    }

    /// Submits a form with extra request headers (`Sec-Fetch-Site`, ...).
    pub async fn post_with(
        &mut self,
        uri: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let body = serde_urlencoded::to_string(fields).unwrap();
        let mut request = Request::post(uri)
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Body::from(body)).unwrap();
        let page = send(&self.router(), request).await;
        self.keep_cookies(&page);
        page
    }

    /// GETs `form_page`, then submits `fields` with its CSRF token to `action`.
    pub async fn submit(&mut self, form_page: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.get(form_page).await.csrf();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }
}

impl Browser {
    /// Registers (which never signs in) and then signs in, as a new
    /// customer does.
    pub async fn sign_up(&mut self, email: &str, name: &str, password: &str) {
        let registered = self
            .submit(
                "/register",
                "/register",
                &[("email", email), ("name", name), ("password", password)],
            )
            .await;
        assert_eq!(
            registered.location().as_deref(),
            Some("/login"),
            "{}",
            registered.html
        );
        self.sign_in(email, password).await;
    }

    /// Signs in (the sign-in form, then on to the account page).
    pub async fn sign_in(&mut self, email: &str, password: &str) {
        let signed_in = self
            .submit(
                "/login",
                "/login",
                &[("email", email), ("password", password)],
            )
            .await;
        assert_eq!(
            signed_in.location().as_deref(),
            Some("/account"),
            "{}",
            signed_in.html
        );
    }
}

/// A book with 40 copies in stock in the demo catalog.
pub const MIDDLEMARCH: &str = "/books/middlemarch";

/// The text of the first element with `class="{class}"`.
pub fn text_of(page: &Page, class: &str) -> String {
    page.html
        .split(&format!("class=\"{class}\">"))
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_else(|| panic!("no .{class} on the page: {}", page.html))
        .to_owned()
}

/// Puts `quantity` copies of the book in the cart from its page; returns
/// the book's id and the price its page shows.
pub async fn add_book(browser: &mut Browser, quantity: &str) -> (String, String) {
    let book = browser.get(MIDDLEMARCH).await;
    let book_id = input(&book, "book_id");
    let price = text_of(&book, "price");
    let added = browser
        .submit(
            MIDDLEMARCH,
            "/cart/add",
            &[
                ("book_id", &book_id),
                ("slug", "middlemarch"),
                ("quantity", quantity),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.html);
    assert_eq!(
        added.location().as_deref(),
        Some("/cart"),
        "{}",
        browser.get(MIDDLEMARCH).await.html
    );
    (book_id, price)
}

/// The value of the page's input named `name` (the first one).
pub fn input(page: &Page, name: &str) -> String {
    page.html
        .split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(unescape)
        .unwrap_or_else(|| panic!("no input {name} on the page: {}", page.html))
}

/// Undoes the HTML escaping of an attribute value (a link's href).
pub fn unescape(text: &str) -> String {
    text.replace("&#x2f;", "/")
        .replace("&#x3d;", "=")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}
