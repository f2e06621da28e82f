//! The test harness: each test gets its own database, cloned from a template
//! that is migrated and seeded with the demo catalog once per version of the
//! migrations and seed data, and its own Redis key namespace. Requests go
//! through the real router without a socket.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use bookstore::app::{AppState, router};
use bookstore::cache::Cache;
use bookstore::config::Config;
use bookstore::db::{self, Db};
use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The URL of database `name` on the test server.
pub fn database_url(name: &str) -> String {
    let admin = admin_url();
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base);
    format!("{base}/{name}")
}

pub async fn admin_connection() -> AsyncPgConnection {
    match AsyncPgConnection::establish(&admin_url()).await {
        Ok(conn) => conn,
        Err(error) => panic!(
            "Postgres is not reachable at {} ({error}). Start it with \
             `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` \
             or point TEST_DATABASE_URL at a server whose user may create databases.",
            admin_url()
        ),
    }
}

pub async fn redis_connection() -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(redis_url()).expect("a valid TEST_REDIS_URL");
    match client.get_multiplexed_async_connection().await {
        Ok(conn) => conn,
        Err(error) => panic!(
            "Redis is not reachable at {} ({error}). Start it with \
             `redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save \"\" --appendonly no` \
             or point TEST_REDIS_URL at one.",
            redis_url()
        ),
    }
}

async fn execute(conn: &mut AsyncPgConnection, sql: &str) {
    if let Err(error) = diesel::sql_query(sql).execute(conn).await {
        panic!("{sql}: {error}");
    }
}

#[derive(diesel::QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    datname: String,
}

/// The template's name changes whenever migrations or seed data change.
fn template_name() -> String {
    let mut hasher = DefaultHasher::new();
    db::migration_versions()
        .expect("migrations embedded")
        .hash(&mut hasher);
    include_str!("../../src/seed/demo_catalog.json").hash(&mut hasher);
    for migration in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations"))
        .expect("migrations directory")
        .flatten()
    {
        for file in ["up.sql", "down.sql"] {
            std::fs::read_to_string(migration.path().join(file))
                .unwrap_or_default()
                .hash(&mut hasher);
        }
    }
    format!("bookstore_test_tpl_{:016x}", hasher.finish())
}

/// Creates the template once (across test processes: an advisory lock
/// serializes them; the template appears under its name only when complete).
async fn ensure_template() -> String {
    let name = template_name();
    let mut admin = admin_connection().await;
    execute(&mut admin, "SELECT pg_advisory_lock(2026112101)").await;
    let existing: Vec<Name> = diesel::sql_query(
        "SELECT datname FROM pg_database WHERE datname LIKE 'bookstore\\_test\\_tpl\\_%'",
    )
    .load(&mut admin)
    .await
    .expect("listing templates");
    if !existing.iter().any(|db| db.datname == name) {
        for stale in &existing {
            execute(
                &mut admin,
                &format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", stale.datname),
            )
            .await;
        }
        let building = format!("{name}_building");
        execute(
            &mut admin,
            &format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"),
        )
        .await;
        execute(&mut admin, &format!("CREATE DATABASE \"{building}\"")).await;
        let url = database_url(&building);
        db::run_migrations(&url)
            .await
            .expect("migrating the template");
        {
            let mut conn = AsyncPgConnection::establish(&url)
                .await
                .expect("template connection");
            bookstore::seed::demo(&mut conn)
                .await
                .expect("seeding the template");
        }
        execute(
            &mut admin,
            &format!("ALTER DATABASE \"{building}\" RENAME TO \"{name}\""),
        )
        .await;
    }
    execute(&mut admin, "SELECT pg_advisory_unlock(2026112101)").await;
    name
}

fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A database of its own, dropped when the value is dropped.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    /// A copy of the migrated, demo-seeded template.
    pub async fn seeded() -> Self {
        let template = ensure_template().await;
        Self::create(&format!("TEMPLATE \"{template}\"")).await
    }

    /// An empty database, no migrations run.
    pub async fn empty() -> Self {
        Self::create("").await
    }

    async fn create(options: &str) -> Self {
        let name = unique_name("bookstore_test");
        let mut admin = admin_connection().await;
        execute(&mut admin, &format!("CREATE DATABASE \"{name}\" {options}")).await;
        Self {
            url: database_url(&name),
            name,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop cannot await; a short-lived runtime on its own thread can.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async {
                    if let Ok(mut admin) = AsyncPgConnection::establish(&admin_url()).await {
                        let _ = diesel::sql_query(format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .execute(&mut admin)
                        .await;
                    }
                });
            }
        })
        .join();
    }
}

pub struct TestApp {
    pub database: TestDatabase,
    pub config: Config,
    pub db: Db,
    pub cache: Cache,
    pub router: Router,
}

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
        let config = Config::from_lookup(|name| {
            if let Some((_, value)) = overrides.iter().find(|(key, _)| *key == name) {
                return Some((*value).to_owned());
            }
            match name {
                "DATABASE_URL" => Some(url.clone()),
                "REDIS_URL" => Some(redis.clone()),
                "CACHE_NAMESPACE" => Some(namespace.clone()),
                "DATABASE_POOL_SIZE" => Some("4".to_owned()),
                _ => None,
            }
        })
        .expect("test configuration");
        let state = AppState::new(&config).expect("app state");
        Self {
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

    /// Registers a customer and returns their session token.
    pub async fn customer_token(&self, email: &str) -> String {
        let data = self
            .data(
                "mutation($input: RegisterInput!) { register(input: $input) { token userErrors { message } } }",
                json!({"input": {"email": email, "name": "Test Customer", "password": "correct horse battery"}}),
            )
            .await;
        data["register"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("registration failed: {data}"))
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
