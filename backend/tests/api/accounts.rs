//! Accounts: registration, sign-in, sessions (revocation, expiry), profile,
//! password changes and sign-in throttling. (The mailed links: verification,
//! reset, email change: `email_accounts.rs`.)

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, header};
use base64::Engine;
use bookstore::auth::token_hash;
use diesel::sql_types::{BigInt, Bytea};
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};

use crate::support::{TestApp, redis_connection};

const REGISTER: &str = "mutation($input: RegisterInput!) {
  register(input: $input) { accepted userErrors { field message code } } }";
const LOGIN: &str = "mutation($input: LoginInput!) {
  login(input: $input) { token expiresAt user { email role } userErrors { field message code } } }";
const VIEWER: &str = "{ viewer { id email name role emailVerified pendingEmail } }";
const LOGOUT: &str = "mutation { logout { loggedOut } }";

fn register_input(email: &str, password: &str) -> Value {
    json!({"input": {"email": email, "name": "Ada Reader", "password": password}})
}

fn login_input(email: &str, password: &str) -> Value {
    json!({"input": {"email": email, "password": password}})
}

fn codes(payload: &Value) -> Vec<String> {
    payload["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| error["code"].as_str().unwrap().to_owned())
        .collect()
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let rows: Vec<Count> = diesel::sql_query(sql)
        .load(&mut app.connection().await)
        .await
        .unwrap();
    rows[0].count
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_registers_signs_in_sees_themselves_and_signs_out() {
    let app = TestApp::new().await;
    let registered = app
        .data(
            REGISTER,
            register_input("Ada@Example.com", "correct horse battery"),
        )
        .await;
    let payload = &registered["register"];
    assert_eq!(
        payload,
        &json!({"accepted": true, "userErrors": []}),
        "registering does not sign in"
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS count FROM sessions").await,
        0
    );
    let first = app
        .data(
            LOGIN,
            login_input("Ada@Example.com", "correct horse battery"),
        )
        .await;
    assert_eq!(first["login"]["user"]["role"], "CUSTOMER");
    let token = first["login"]["token"].as_str().unwrap();

    // Signed in and free to shop before verifying the address.
    let me = app.data_as(token, VIEWER, json!({})).await;
    assert_eq!(me["viewer"]["name"], "Ada Reader");
    assert_eq!(me["viewer"]["email"], "Ada@Example.com");
    assert_eq!(me["viewer"]["emailVerified"], false);
    assert_eq!(me["viewer"]["pendingEmail"], Value::Null);
    assert_eq!(
        app.data(VIEWER, json!({})).await["viewer"],
        Value::Null,
        "anonymous"
    );

    // Email matching ignores case.
    let login = app
        .data(
            LOGIN,
            login_input("ada@EXAMPLE.com", "correct horse battery"),
        )
        .await;
    let second = login["login"]["token"].as_str().unwrap();
    assert_ne!(second, token, "every sign-in gets its own token");

    let out = app.data_as(token, LOGOUT, json!({})).await;
    assert_eq!(out["logout"]["loggedOut"], true);
    assert_eq!(
        app.data_as(token, VIEWER, json!({})).await["viewer"],
        Value::Null,
        "revoked at once"
    );
    assert_eq!(
        app.data_as(second, VIEWER, json!({})).await["viewer"]["email"],
        "Ada@Example.com"
    );
    assert_eq!(
        app.data_as(token, LOGOUT, json!({})).await["logout"]["loggedOut"],
        false
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_are_random_256_bit_and_only_their_hash_is_stored() {
    let app = TestApp::new().await;
    app.customer_token("hash@example.com").await;
    let mut tokens = Vec::new();
    for _ in 0..3 {
        let login = app
            .data(
                LOGIN,
                login_input("hash@example.com", "correct horse battery"),
            )
            .await;
        tokens.push(login["login"]["token"].as_str().unwrap().to_owned());
    }
    for token in &tokens {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .unwrap();
        assert_eq!(bytes.len(), 32, "256 bits");
    }
    tokens.dedup();
    assert_eq!(tokens.len(), 3);

    #[derive(diesel::QueryableByName)]
    struct Hash {
        #[diesel(sql_type = Bytea)]
        token_hash: Vec<u8>,
    }
    let hashes: Vec<Hash> = diesel::sql_query("SELECT token_hash FROM sessions")
        .load(&mut app.connection().await)
        .await
        .unwrap();
    for token in &tokens {
        assert!(hashes.iter().any(|row| row.token_hash == token_hash(token)));
        let stored = count(&app, &format!(
            "SELECT count(*) AS count FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE encode(s.token_hash, 'escape') LIKE '%{token}%' OR u.password_hash LIKE '%{token}%'"
        ))
        .await;
        assert_eq!(stored, 0, "the token itself is stored nowhere");
    }
    let hash = count(&app, "SELECT count(*) AS count FROM users WHERE password_hash LIKE '$argon2id$v=19$m=19456,t=2,p=1$%'").await;
    assert_eq!(hash, 1, "argon2id with OWASP parameters");
}

#[tokio::test(flavor = "multi_thread")]
async fn registration_validates_its_input_and_keeps_emails_unique() {
    let app = TestApp::new().await;
    app.customer_token("taken@example.com").await;
    for (input, field) in [
        (
            register_input("not-an-email", "correct horse battery"),
            "email",
        ),
        (register_input("short@example.com", "seven77"), "password"),
        (
            register_input("long@example.com", &"x".repeat(129)),
            "password",
        ),
        (
            json!({"input": {"email": "noname@example.com", "name": "   ", "password": "correct horse battery"}}),
            "name",
        ),
    ] {
        let payload = app.data(REGISTER, input.clone()).await["register"].clone();
        assert_eq!(payload["accepted"], false, "{input}");
        assert_eq!(
            payload["userErrors"][0]["field"],
            json!(["input", field]),
            "{input}: {payload}"
        );
        assert_eq!(payload["userErrors"][0]["code"], "INVALID", "{input}");
    }
    // A taken email (any letter case) is accepted like a new one, and
    // creates nothing (its owner is mailed: `email_accounts.rs`).
    let taken = app
        .data(
            REGISTER,
            register_input("TAKEN@example.com", "correct horse battery"),
        )
        .await;
    assert_eq!(
        taken["register"],
        json!({"accepted": true, "userErrors": []})
    );
    assert_eq!(count(&app, "SELECT count(*) AS count FROM users").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_email_and_wrong_password_look_the_same() {
    let app = TestApp::with_env(&[
        ("LOGIN_MAX_ATTEMPTS_PER_ACCOUNT", "100"),
        ("LOGIN_MAX_ATTEMPTS_PER_CLIENT", "100"),
    ])
    .await;
    app.customer_token("known@example.com").await;
    let attempt = |email: &'static str| {
        let app = &app;
        async move {
            let started = Instant::now();
            let reply = app
                .graphql(LOGIN, login_input(email, "wrong password!"))
                .await;
            (
                reply.status,
                reply.json()["data"]["login"].clone(),
                started.elapsed(),
            )
        }
    };
    // Warm up (the dummy hash is made on first use).
    attempt("nobody@example.com").await;
    let (mut unknown_time, mut wrong_time) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..5 {
        let (status_unknown, unknown, elapsed) = attempt("nobody@example.com").await;
        unknown_time += elapsed;
        let (status_wrong, wrong, elapsed) = attempt("known@example.com").await;
        wrong_time += elapsed;
        assert_eq!(status_unknown, status_wrong);
        assert_eq!(unknown, wrong, "same payload");
        assert_eq!(codes(&wrong), ["INVALID_CREDENTIALS"]);
    }
    let ratio = unknown_time.as_secs_f64() / wrong_time.as_secs_f64();
    assert!(
        (0.6..1.6).contains(&ratio),
        "unknown {unknown_time:?} vs wrong {wrong_time:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_is_throttled_per_account_and_per_client_counting_each_alias() {
    let app = TestApp::with_env(&[
        ("LOGIN_MAX_ATTEMPTS_PER_ACCOUNT", "3"),
        ("LOGIN_MAX_ATTEMPTS_PER_CLIENT", "6"),
        ("TRUSTED_PROXIES", "10.9.9.9"),
    ])
    .await;
    app.customer_token("victim@example.com").await;
    let login_from = |address: &'static str, email: &'static str, password: &'static str| {
        let app = &app;
        async move {
            let body =
                json!({"query": LOGIN, "variables": login_input(email, password)}).to_string();
            // Through a trusted proxy that vouches for `address`.
            let mut request = Request::post("/graphql")
                .header(header::CONTENT_TYPE, "application/json")
                .header("X-Forwarded-For", address)
                .body(Body::from(body))
                .unwrap();
            let proxy: std::net::SocketAddr = "10.9.9.9:4000".parse().unwrap();
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(proxy));
            app.send(request).await.json()
        }
    };
    // One request, five aliased attempts: the first three are judged, the rest refused.
    let aliases: String = (0..5)
        .map(|n| format!("a{n}: login(input: {{email: \"victim@example.com\", password: \"guess {n}!!\"}}) {{ userErrors {{ code }} }} "))
        .collect();
    let body = app
        .graphql(&format!("mutation {{ {aliases} }}"), json!({}))
        .await
        .json();
    let refused = body["errors"].as_array().map_or(0, |errors| {
        errors
            .iter()
            .filter(|e| e["extensions"]["code"] == "TOO_MANY_ATTEMPTS")
            .count()
    });
    assert_eq!(refused, 2, "{body}");
    // Now even the right password is refused for this account...
    let body = login_from("10.0.0.1", "victim@example.com", "correct horse battery").await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "TOO_MANY_ATTEMPTS",
        "{body}"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("try again")
    );

    // ... and one client trying many accounts is stopped too.
    for n in 0..6 {
        let email: &'static str = Box::leak(format!("user{n}@example.com").into_boxed_str());
        let body = login_from("10.0.0.2", email, "whatever pass").await;
        assert_eq!(
            codes(&body["data"]["login"]),
            ["INVALID_CREDENTIALS"],
            "{body}"
        );
    }
    let body = login_from("10.0.0.2", "user7@example.com", "whatever pass").await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "TOO_MANY_ATTEMPTS");
    // Another client is not affected.
    let body = login_from("10.0.0.3", "user8@example.com", "whatever pass").await;
    assert_eq!(codes(&body["data"]["login"]), ["INVALID_CREDENTIALS"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_successful_sign_in_resets_the_account_count() {
    let app = TestApp::with_env(&[("LOGIN_MAX_ATTEMPTS_PER_ACCOUNT", "3")]).await;
    app.customer_token("forgetful@example.com").await;
    for _ in 0..2 {
        app.data(LOGIN, login_input("forgetful@example.com", "not it at all"))
            .await;
    }
    let ok = app
        .data(
            LOGIN,
            login_input("forgetful@example.com", "correct horse battery"),
        )
        .await;
    assert!(ok["login"]["token"].is_string());
    for _ in 0..2 {
        let again = app
            .data(LOGIN, login_input("forgetful@example.com", "not it at all"))
            .await;
        assert_eq!(codes(&again["login"]), ["INVALID_CREDENTIALS"]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_expire_absolutely_and_when_idle_even_when_cached() {
    let app = TestApp::with_env(&[("SESSION_MAX_AGE_SECS", "2")]).await;
    let token = app.customer_token("brief@example.com").await;
    assert!(
        app.data_as(&token, VIEWER, json!({})).await["viewer"].is_object(),
        "and now cached"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        app.data_as(&token, VIEWER, json!({})).await["viewer"],
        Value::Null
    );

    let app = TestApp::with_env(&[("SESSION_IDLE_SECS", "2")]).await;
    let token = app.customer_token("idle@example.com").await;
    assert!(app.data_as(&token, VIEWER, json!({})).await["viewer"].is_object());
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        app.data_as(&token, VIEWER, json!({})).await["viewer"],
        Value::Null
    );

    // Expiry written in the database is enforced once the cache entry goes.
    let app = TestApp::new().await;
    let token = app.customer_token("cut@example.com").await;
    app.sql("UPDATE sessions SET expires_at = now() - interval '1 second'")
        .await;
    app.flush_cache().await;
    assert_eq!(
        app.data_as(&token, VIEWER, json!({})).await["viewer"],
        Value::Null
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_deletes_the_row_and_sessions_are_never_cached() {
    let app = TestApp::new().await;
    let token = app.customer_token("gone@example.com").await;
    app.data_as(&token, VIEWER, json!({})).await;
    // A cached session could outlive its revocation: Postgres answers.
    let session_keys =
        |keys: Vec<String>| keys.iter().filter(|key| key.contains(":session")).count();
    assert_eq!(session_keys(app.cache_keys().await), 0);
    app.data_as(&token, LOGOUT, json!({})).await;
    assert_eq!(session_keys(app.cache_keys().await), 0);
    assert_eq!(
        count(&app, "SELECT count(*) AS count FROM sessions").await,
        0
    );
    // A Redis restart signs nobody out: Postgres is the source of truth.
    let token = app.customer_token("stays@example.com").await;
    app.data_as(&token, VIEWER, json!({})).await;
    let mut redis = redis_connection().await;
    for key in app.cache_keys().await {
        let _: () = redis::cmd("DEL")
            .arg(key)
            .query_async(&mut redis)
            .await
            .unwrap();
    }
    assert_eq!(
        app.data_as(&token, VIEWER, json!({})).await["viewer"]["email"],
        "stays@example.com"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_session_cookie_and_bad_tokens() {
    let app = TestApp::new().await;
    let token = app.customer_token("cookie@example.com").await;
    let body = json!({"query": VIEWER}).to_string();
    let reply = app
        .send(
            Request::post("/graphql")
                .header(header::CONTENT_TYPE, "application/json")
                .header(
                    header::COOKIE,
                    format!("theme=dark; bookstore_session={token}"),
                )
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(
        reply.json()["data"]["viewer"]["email"],
        "cookie@example.com"
    );
    for bad in ["nonsense", "", &"x".repeat(5000)] {
        assert_eq!(
            app.data_as(bad, VIEWER, json!({})).await["viewer"],
            Value::Null,
            "{bad}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn changing_the_password_ends_every_other_session() {
    let app = TestApp::new().await;
    let here = app.customer_token("mover@example.com").await;
    let elsewhere = app
        .data(
            LOGIN,
            login_input("mover@example.com", "correct horse battery"),
        )
        .await["login"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.data_as(&elsewhere, VIEWER, json!({})).await;
    let change = "mutation($input: ChangePasswordInput!) { changePassword(input: $input) { user { email } userErrors { field code } } }";

    let wrong = app
        .data_as(
            &here,
            change,
            json!({"input": {"currentPassword": "nope nope", "newPassword": "brand new secret"}}),
        )
        .await;
    assert_eq!(
        wrong["changePassword"]["userErrors"][0]["code"],
        "INVALID_CREDENTIALS"
    );
    let short = app
        .data_as(
            &here,
            change,
            json!({"input": {"currentPassword": "correct horse battery", "newPassword": "tiny"}}),
        )
        .await;
    assert_eq!(
        short["changePassword"]["userErrors"][0]["field"],
        json!(["input", "newPassword"])
    );

    let done = app.data_as(&here, change, json!({"input": {"currentPassword": "correct horse battery", "newPassword": "brand new secret"}})).await;
    assert_eq!(done["changePassword"]["userErrors"], json!([]));
    assert_eq!(
        app.data_as(&here, VIEWER, json!({})).await["viewer"]["email"],
        "mover@example.com"
    );
    assert_eq!(
        app.data_as(&elsewhere, VIEWER, json!({})).await["viewer"],
        Value::Null
    );
    let old = app
        .data(
            LOGIN,
            login_input("mover@example.com", "correct horse battery"),
        )
        .await;
    assert_eq!(codes(&old["login"]), ["INVALID_CREDENTIALS"]);
    let new = app
        .data(LOGIN, login_input("mover@example.com", "brand new secret"))
        .await;
    assert!(new["login"]["token"].is_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn profile_changes_and_the_guard() {
    let app = TestApp::new().await;
    app.customer_token("first@example.com").await;
    let token = app.customer_token("second@example.com").await;
    let update = "mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { user { email name } userErrors { field code } } }";
    let renamed = app
        .data_as(&token, update, json!({"input": {"name": "  Grace  "}}))
        .await;
    assert_eq!(renamed["updateProfile"]["user"]["name"], "Grace");
    // Another account's email: the same answer as a free one (nothing
    // tells it is taken), and the account keeps its address.
    let clash = app
        .data_as(
            &token,
            update,
            json!({"input": {"email": "FIRST@example.com", "currentPassword": "correct horse battery"}}),
        )
        .await;
    assert_eq!(clash["updateProfile"]["userErrors"], json!([]));
    let me = app.data_as(&token, VIEWER, json!({})).await;
    assert_eq!(me["viewer"]["email"], "second@example.com");
    assert_eq!(me["viewer"]["pendingEmail"], "FIRST@example.com");

    let anonymous = app
        .graphql(update, json!({"input": {"name": "Mallory"}}))
        .await
        .json();
    assert_eq!(
        anonymous["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    // Users are not reachable through node(id), even one's own.
    let id = app.data_as(&token, VIEWER, json!({})).await["viewer"]["id"].clone();
    let node = app
        .data_as(
            &token,
            "query($id: ID!) { node(id: $id) { id } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(node["node"], Value::Null);
}

#[test]
fn no_password_or_hash_is_in_the_api() {
    let sdl = bookstore::graphql::sdl();
    let user_type = sdl
        .split("type User {")
        .nth(1)
        .unwrap()
        .split('}')
        .next()
        .unwrap();
    assert!(
        !user_type.to_lowercase().contains("password"),
        "{user_type}"
    );
    assert!(!sdl.contains("passwordHash"));
}

#[tokio::test(flavor = "multi_thread")]
async fn create_staff_reads_the_password_from_stdin_never_argv() {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let app = TestApp::new().await;
    let run = |password: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bookstore"))
            .args([
                "create-staff",
                "--email",
                "boss@example.com",
                "--name",
                "The Boss",
            ])
            .env("DATABASE_URL", &app.database.url)
            .env(
                "REDIS_URL",
                app.config.redis_url.clone().unwrap_or_default(),
            )
            .env("CACHE_NAMESPACE", &app.config.cache_namespace)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{password}\n").as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let short = run("short");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 8"));

    let created = run("boss password 1");
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let login = app
        .data(LOGIN, login_input("boss@example.com", "boss password 1"))
        .await;
    assert_eq!(login["login"]["user"]["role"], "STAFF");
    let token = login["login"]["token"].as_str().unwrap().to_owned();

    // Again: a new password, and the old sessions end.
    let again = run("boss password 2");
    assert!(String::from_utf8_lossy(&again.stdout).contains("is now staff"));
    assert_eq!(
        app.data_as(&token, VIEWER, json!({})).await["viewer"],
        Value::Null
    );
    let argv = Command::new(env!("CARGO_BIN_EXE_bookstore"))
        .args(["create-staff", "--help"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&argv.stdout).contains("--password"));
}
