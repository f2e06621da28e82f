//! The test harness: each test gets its own database, cloned from a template
//! that is migrated and seeded with the demo catalog once per version of the
//! migrations and seed data, and its own Redis key namespace. Requests go
//! through the real router without a socket.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use bookstore::app::{AppState, router};
use bookstore::cache::Cache;
use bookstore::config::Config;
use bookstore::db::Db;
pub use bookstore_test_support::{
    MailSink, SinkMode, TestDatabase, admin_url, execute, redis_connection, redis_url,
};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

pub struct TestApp {
    pub database: TestDatabase,
    pub config: Config,
    pub db: Db,
    pub cache: Cache,
    pub router: Router,
    /// The app's payment gateway (what it charged, by key).
    pub gateway: std::sync::Arc<bookstore::payments::TestGateway>,
    /// The SMTP server the app's outbox worker delivers to.
    pub mail: MailSink,
    /// The outbox worker (stops with the app).
    pub worker: Option<bookstore::jobs::Task>,
}

/// `PUBLIC_URL` in tests: links in messages start with it.
pub const PUBLIC_URL: &str = "http://shop.test";

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }
}

impl TestApp {
    /// An app on a fresh copy of the demo catalog, with Redis.
    pub async fn new() -> Self {
        Self::with_env(&[]).await
    }

    /// Like [`TestApp::new`] with configuration overrides.
    pub async fn with_env(overrides: &[(&str, &str)]) -> Self {
        let database = TestDatabase::seeded().await;
        Self::on(database, overrides).await
    }

    pub async fn on(database: TestDatabase, overrides: &[(&str, &str)]) -> Self {
        let uses_default_redis = !overrides.iter().any(|(name, _)| *name == "REDIS_URL");
        if uses_default_redis {
            // Fail loudly (with how to fix it) rather than silently testing without Redis.
            let mut redis = redis_connection().await;
            let _: String = redis::cmd("PING")
                .query_async(&mut redis)
                .await
                .expect("Redis PING");
        }
        let namespace = database.name.clone();
        let url = database.url.clone();
        let redis = redis_url();
        let mail = MailSink::start().await;
        let smtp = mail.url();
        let config = Config::from_lookup(|name| {
            if let Some((_, value)) = overrides.iter().find(|(key, _)| *key == name) {
                return Some((*value).to_owned());
            }
            match name {
                "DATABASE_URL" => Some(url.clone()),
                "REDIS_URL" => Some(redis.clone()),
                "CACHE_NAMESPACE" => Some(namespace.clone()),
                "DATABASE_POOL_SIZE" => Some("4".to_owned()),
                "SMTP_URL" => Some(smtp.clone()),
                "PUBLIC_URL" => Some(PUBLIC_URL.to_owned()),
                // Off unless a test turns it on (`response_cache` tests do):
                // many tests read on another instance right after a write,
                // which the response cache answers only once the write's
                // message arrived.
                "RESPONSE_CACHE_MB" => Some("0".to_owned()),
                _ => None,
            }
        })
        .expect("test configuration");
        let gateway = std::sync::Arc::new(bookstore::payments::TestGateway::default());
        let state = AppState::with_gateway(&config, gateway.clone()).expect("app state");
        let worker = bookstore::spawn_outbox_worker(&config).expect("outbox worker");
        Self {
            mail,
            worker: Some(worker),
            gateway,
            db: state.db.clone(),
            cache: state.cache.clone(),
            router: router(state, &config),
            config,
            database,
        }
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible router");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// POSTs a GraphQL request the way a modern client does.
    pub async fn graphql(&self, query: &str, variables: Value) -> Reply {
        let body = json!({ "query": query, "variables": variables }).to_string();
        self.send(
            Request::post("/graphql")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::ACCEPT, "application/graphql-response+json")
                .body(Body::from(body))
                .expect("request"),
        )
        .await
    }

    /// POSTs a GraphQL request with `Authorization: Bearer <token>`.
    pub async fn graphql_as(&self, token: &str, query: &str, variables: Value) -> Reply {
        let body = json!({ "query": query, "variables": variables }).to_string();
        self.send(
            Request::post("/graphql")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::ACCEPT, "application/graphql-response+json")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::from(body))
                .expect("request"),
        )
        .await
    }

    /// Like [`TestApp::data`], signed in with `token`.
    pub async fn data_as(&self, token: &str, query: &str, variables: Value) -> Value {
        let reply = self.graphql_as(token, query, variables).await;
        let body = reply.json();
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// Registers a customer (unverified: registering does not sign in),
    /// signs them in and returns their session token.
    pub async fn customer_token(&self, email: &str) -> String {
        let data = self
            .data(
                "mutation($input: RegisterInput!) { register(input: $input) { accepted userErrors { message } } }",
                json!({"input": {"email": email, "name": "Test Customer", "password": "correct horse battery"}}),
            )
            .await;
        assert_eq!(
            data["register"]["accepted"], true,
            "registration failed: {data}"
        );
        self.login_token(email, "correct horse battery").await
    }

    /// Signs in and returns the session token.
    pub async fn login_token(&self, email: &str, password: &str) -> String {
        let data = self
            .data(
                "mutation($input: LoginInput!) { login(input: $input) { token userErrors { message } } }",
                json!({"input": {"email": email, "password": password}}),
            )
            .await;
        data["login"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("sign-in failed: {data}"))
            .to_owned()
    }

    /// Creates a staff account (as `bookstore create-staff` does), signs it
    /// in and returns its session token.
    pub async fn staff_token(&self, email: &str) -> String {
        bookstore::accounts::create_staff(
            &self.db,
            &self.cache,
            email,
            "Test Staff",
            "staff password 1".to_owned(),
        )
        .await
        .expect("create staff");
        let data = self
            .data(
                "mutation($input: LoginInput!) { login(input: $input) { token userErrors { message } } }",
                json!({"input": {"email": email, "password": "staff password 1"}}),
            )
            .await;
        data["login"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("staff sign-in failed: {data}"))
            .to_owned()
    }

    /// Runs a query that must succeed and returns its `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let reply = self.graphql(query, variables).await;
        let body = reply.json();
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        assert_eq!(reply.status, StatusCode::OK, "{body}");
        body["data"].clone()
    }

    /// Runs `query` and returns its data and how many SQL statements it ran.
    pub async fn data_counting(&self, query: &str, variables: Value) -> (Value, u64) {
        let before = self.db.statements_executed();
        let data = self.data(query, variables).await;
        (data, self.db.statements_executed() - before)
    }

    pub async fn connection(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.database.url)
            .await
            .expect("test database connection")
    }

    pub async fn sql(&self, statement: &str) {
        execute(&mut self.connection().await, statement).await;
    }

    /// This test's Redis keys.
    pub async fn cache_keys(&self) -> Vec<String> {
        let mut redis = redis_connection().await;
        let mut keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}:*", self.config.cache_namespace))
            .query_async(&mut redis)
            .await
            .expect("KEYS");
        keys.sort();
        keys
    }

    pub async fn flush_cache(&self) {
        let keys = self.cache_keys().await;
        if !keys.is_empty() {
            let mut redis = redis_connection().await;
            let _: () = redis::cmd("DEL")
                .arg(keys)
                .query_async(&mut redis)
                .await
                .expect("DEL");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let namespace = self.config.cache_namespace.clone();
        let _ = std::thread::spawn(move || {
            let Ok(client) = redis::Client::open(redis_url()) else {
                return;
            };
            let Ok(mut conn) = client.get_connection() else {
                return;
            };
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(format!("{namespace}:*"))
                .query(&mut conn)
                .unwrap_or_default();
            if !keys.is_empty() {
                let _: redis::RedisResult<()> = redis::cmd("DEL").arg(keys).query(&mut conn);
            }
        })
        .join();
    }
}
