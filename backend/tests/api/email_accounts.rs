//! Verified accounts and mailed links: registering mails a verification
//! link (or, for a taken email, a note to its owner, with the same answer);
//! a password reset link resets once and ends every session; an email
//! change waits for the new address's link; tokens are stored hashed, used
//! once, expire, and their use is throttled. What is mailed is read from
//! the `outbox` rows the changes queued.

use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};

use crate::support::{PUBLIC_URL, SinkMode, TestApp};
use crate::throttling::from;
use bookstore_test_support::Mail;

pub const REGISTER: &str = "mutation($input: RegisterInput!) {
  register(input: $input) { accepted userErrors { field message code } } }";
const VERIFY: &str = "mutation($token: String!) {
  verifyEmail(token: $token) { user { email emailVerified pendingEmail } userErrors { field message code } } }";
const REQUEST_VERIFICATION: &str =
    "mutation { requestEmailVerification { sent userErrors { field message code } } }";
const REQUEST_RESET: &str = "mutation($email: String!) {
  requestPasswordReset(email: $email) { accepted userErrors { field message code } } }";
const RESET: &str = "mutation($token: String!, $password: String!) {
  resetPassword(token: $token, newPassword: $password) { reset userErrors { field message code } } }";
const UPDATE_PROFILE: &str = "mutation($input: UpdateProfileInput!) {
  updateProfile(input: $input) { user { email emailVerified pendingEmail name } userErrors { field code message } } }";
const VIEWER: &str = "{ viewer { email emailVerified pendingEmail } }";
const LOGIN: &str = "mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { token userErrors { code } } }";
const PASSWORD: &str = "correct horse battery";

/// A queued message (its payload is emptied once sent: the delivered
/// mail, `delivered`, is what tells its content).
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct Queued {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub recipient: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub dedup_key: Option<String>,
}

/// Every message queued so far, oldest first.
pub async fn outbox(app: &TestApp) -> Vec<Queued> {
    diesel::sql_query("SELECT id, kind, recipient, dedup_key FROM outbox ORDER BY id")
        .load(&mut app.connection().await)
        .await
        .unwrap()
}

/// The messages of `kind` queued for `recipient`.
pub async fn queued(app: &TestApp, kind: &str, recipient: &str) -> Vec<Queued> {
    outbox(app)
        .await
        .into_iter()
        .filter(|mail| mail.kind == kind && mail.recipient == recipient)
        .collect()
}

/// The messages of `kind` queued for `recipient`, as the SMTP server got
/// them (waiting for every message queued for `recipient` to arrive).
pub async fn delivered(app: &TestApp, kind: &str, recipient: &str) -> Vec<Mail> {
    let queued_to_recipient = outbox(app)
        .await
        .into_iter()
        .filter(|mail| mail.recipient.eq_ignore_ascii_case(recipient))
        .collect::<Vec<_>>();
    let arrived = app
        .mail
        .wait_for_to(recipient, queued_to_recipient.len())
        .await;
    queued_to_recipient
        .iter()
        .filter(|queued| queued.kind == kind && queued.recipient == recipient)
        .map(|queued| {
            let id = format!("outbox-{}@shop.test", queued.id);
            arrived
                .iter()
                .find(|mail| mail.message_id == id)
                .unwrap_or_else(|| panic!("message {id} was not delivered: {arrived:?}"))
                .clone()
        })
        .collect()
}

/// Where the link of a message of `kind` leads.
fn link_prefix(kind: &str) -> String {
    let page = match kind {
        "verify_email" | "verify_new_email" => "verify-email",
        "password_reset" | "account_exists" => "reset-password",
        _ => panic!("{kind} carries no link"),
    };
    format!("{PUBLIC_URL}/{page}?token=")
}

/// The token of the link in the last message of `kind` delivered to
/// `recipient`.
pub async fn link_token(app: &TestApp, kind: &str, recipient: &str) -> String {
    let mail = delivered(app, kind, recipient)
        .await
        .pop()
        .unwrap_or_else(|| panic!("no {kind} message for {recipient}"));
    mail.link_param(&link_prefix(kind), "token")
        .unwrap_or_else(|| panic!("no link in {}", mail.text))
}

/// Registers and follows the verification link; returns a session token.
pub async fn verified_customer(app: &TestApp, email: &str) -> String {
    let session = app.customer_token(email).await;
    let token = link_token(app, "verify_email", email).await;
    let verified = app.data(VERIFY, json!({"token": token})).await;
    assert_eq!(verified["verifyEmail"]["user"]["emailVerified"], true);
    session
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let rows: Vec<Row> = diesel::sql_query(sql)
        .load(&mut app.connection().await)
        .await
        .unwrap();
    rows[0].n
}

async fn signs_in(app: &TestApp, email: &str, password: &str) -> bool {
    app.data(LOGIN, json!({"email": email, "password": password}))
        .await["login"]["token"]
        .is_string()
}

fn register_input(email: &str, name: &str, password: &str) -> Value {
    json!({"input": {"email": email, "name": name, "password": password}})
}

fn codes(payload: &Value) -> Vec<String> {
    payload["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| error["code"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn registering_mails_a_link_that_verifies_the_email_once() {
    let app = TestApp::new().await;
    let session = app.customer_token("Ada@Example.com").await;
    assert_eq!(
        app.data_as(&session, VIEWER, json!({})).await["viewer"]["emailVerified"],
        false
    );
    let queued = outbox(&app).await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0].kind, "verify_email");
    assert_eq!(queued[0].recipient, "Ada@Example.com");
    assert!(
        queued[0]
            .dedup_key
            .as_deref()
            .unwrap()
            .starts_with("account_token:")
    );
    // Delivered: plain text and HTML, with the link.
    let mail = delivered(&app, "verify_email", "Ada@Example.com")
        .await
        .pop()
        .unwrap();
    assert!(
        mail.subject.contains("Confirm your email"),
        "{}",
        mail.subject
    );
    assert!(mail.text.contains("Hello Test Customer,"), "{}", mail.text);
    let token = mail
        .link_param(&format!("{PUBLIC_URL}/verify-email?token="), "token")
        .unwrap();
    // (Autoescaped: the slashes of the URL are entities, which browsers read
    // as slashes.)
    let escaped_url = PUBLIC_URL.replace('/', "&#x2f;");
    assert!(
        mail.html.contains(&format!(
            "href=\"{escaped_url}/verify-email?token={token}\""
        )),
        "{}",
        mail.html
    );

    let verified = app.data(VERIFY, json!({"token": token})).await["verifyEmail"].clone();
    assert_eq!(
        verified,
        json!({"user": {"email": "Ada@Example.com", "emailVerified": true, "pendingEmail": null}, "userErrors": []}),
        "works signed out (the link may be opened on another device)"
    );
    assert_eq!(
        app.data_as(&session, VIEWER, json!({})).await["viewer"]["emailVerified"],
        true
    );
    let again = app.data(VERIFY, json!({"token": token})).await["verifyEmail"].clone();
    assert_eq!(again["user"], Value::Null);
    assert_eq!(codes(&again), ["INVALID_TOKEN"]);
    assert_eq!(again["userErrors"][0]["field"], json!(["token"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn registering_a_new_or_a_taken_email_takes_about_as_long() {
    let app = TestApp::with_env(&[
        ("REGISTER_MAX_PER_CLIENT", "100"),
        ("PASSWORD_RESET_MAX_PER_EMAIL", "100"),
    ])
    .await;
    app.customer_token("taken@example.com").await;
    let register = |email: String| {
        let app = &app;
        async move {
            let started = std::time::Instant::now();
            let reply = app
                .graphql(REGISTER, register_input(&email, "Timing", PASSWORD))
                .await;
            assert_eq!(reply.json()["data"]["register"]["accepted"], true);
            started.elapsed()
        }
    };
    register("warm.up@example.com".to_owned()).await;
    // Alternated, and compared by their medians: on a loaded machine one
    // request stalled by another test's work would swing a sum.
    let (mut new_times, mut taken_times) = (Vec::new(), Vec::new());
    for n in 0..7 {
        new_times.push(register(format!("new{n}@example.com")).await);
        taken_times.push(register("Taken@example.com".to_owned()).await);
    }
    new_times.sort();
    taken_times.sort();
    let (new_time, taken_time) = (new_times[3], taken_times[3]);
    let ratio = new_time.as_secs_f64() / taken_time.as_secs_f64();
    assert!(
        (0.6..1.6).contains(&ratio),
        "new {new_time:?} vs taken {taken_time:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn registering_a_taken_email_answers_the_same_and_mails_its_owner_a_reset_link() {
    let app = TestApp::new().await;
    let new = app
        .graphql(
            REGISTER,
            register_input("owner@example.com", "Owner", PASSWORD),
        )
        .await;
    let taken = app
        .graphql(
            REGISTER,
            register_input("OWNER@example.com", "Mallory", "mallory's password"),
        )
        .await;
    assert_eq!(new.status, taken.status);
    assert_eq!(new.body, taken.body, "byte for byte the same answer");
    assert_eq!(
        new.json(),
        json!({"data": {"register": {"accepted": true, "userErrors": []}}})
    );
    assert_eq!(scalar(&app, "SELECT count(*) AS n FROM users").await, 1);
    assert_eq!(
        scalar(&app, "SELECT count(*) AS n FROM sessions").await,
        0,
        "nobody is signed in"
    );

    // The owner is told, at the address as the account spells it.
    let notes = delivered(&app, "account_exists", "owner@example.com").await;
    assert_eq!(notes.len(), 1, "{:?}", outbox(&app).await);
    assert!(
        notes[0].text.contains("Hello Owner,"),
        "the owner's name: {}",
        notes[0].text
    );
    assert!(!notes[0].text.contains("Mallory"));
    // Mallory's password does nothing; the owner's still works.
    assert!(!signs_in(&app, "owner@example.com", "mallory's password").await);
    assert!(signs_in(&app, "owner@example.com", PASSWORD).await);
    // The note's link resets the owner's password.
    let reset = app
        .data(
            RESET,
            json!({"token": link_token(&app, "account_exists", "owner@example.com").await, "password": "the owner's new one"}),
        )
        .await;
    assert_eq!(reset["resetPassword"]["reset"], true, "{reset}");
    assert!(signs_in(&app, "owner@example.com", "the owner's new one").await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_link_resets_once_ends_every_session_and_verifies_the_email() {
    let app = TestApp::new().await;
    let here = app.customer_token("forgetful@example.com").await;
    let there = app.login_token("forgetful@example.com", PASSWORD).await;
    let asked = app
        .data(REQUEST_RESET, json!({"email": " FORGETFUL@example.com "}))
        .await;
    assert_eq!(
        asked["requestPasswordReset"],
        json!({"accepted": true, "userErrors": []})
    );
    let token = link_token(&app, "password_reset", "forgetful@example.com").await;

    // A bad new password: said so, and nothing changes (the link still works).
    let short = app
        .data(RESET, json!({"token": token, "password": "tiny"}))
        .await["resetPassword"]
        .clone();
    assert_eq!(short["reset"], false);
    assert_eq!(short["userErrors"][0]["field"], json!(["newPassword"]));
    assert_eq!(codes(&short), ["INVALID"]);
    assert!(
        app.data_as(&here, VIEWER, json!({})).await["viewer"].is_object(),
        "still signed in"
    );

    let done = app
        .data(
            RESET,
            json!({"token": token, "password": "a brand new secret"}),
        )
        .await;
    assert_eq!(
        done["resetPassword"],
        json!({"reset": true, "userErrors": []})
    );
    for session in [&here, &there] {
        assert_eq!(
            app.data_as(session, VIEWER, json!({})).await["viewer"],
            Value::Null,
            "every session ended"
        );
    }
    assert!(!signs_in(&app, "forgetful@example.com", PASSWORD).await);
    assert!(signs_in(&app, "forgetful@example.com", "a brand new secret").await);
    let session = app
        .login_token("forgetful@example.com", "a brand new secret")
        .await;
    assert_eq!(
        app.data_as(&session, VIEWER, json!({})).await["viewer"]["emailVerified"],
        true,
        "the link proved the address"
    );
    assert_eq!(
        delivered(&app, "password_changed", "forgetful@example.com")
            .await
            .len(),
        1
    );

    // Used: refused, and nothing changes.
    let again = app
        .data(
            RESET,
            json!({"token": token, "password": "mallory's choice"}),
        )
        .await["resetPassword"]
        .clone();
    assert_eq!(again["reset"], false);
    assert_eq!(codes(&again), ["INVALID_TOKEN"]);
    assert!(signs_in(&app, "forgetful@example.com", "a brand new secret").await);
    assert!(
        app.data_as(&session, VIEWER, json!({})).await["viewer"].is_object(),
        "a refused link ends no session"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_superseded_and_made_up_tokens_are_refused_alike() {
    let app = TestApp::new().await;
    app.customer_token("late@example.com").await;
    let verify_token = link_token(&app, "verify_email", "late@example.com").await;
    app.data(REQUEST_RESET, json!({"email": "late@example.com"}))
        .await;
    let first_reset = link_token(&app, "password_reset", "late@example.com").await;
    app.data(REQUEST_RESET, json!({"email": "late@example.com"}))
        .await;
    let second_reset = link_token(&app, "password_reset", "late@example.com").await;
    assert_ne!(first_reset, second_reset);

    let made_up = bookstore::auth::new_token();
    let refused = app
        .data(
            RESET,
            json!({"token": made_up, "password": "never mind this"}),
        )
        .await;
    // Superseded by the newer link.
    let superseded = app
        .data(
            RESET,
            json!({"token": first_reset, "password": "never mind this"}),
        )
        .await;
    assert_eq!(superseded, refused);
    app.sql("UPDATE account_tokens SET expires_at = now() - interval '1 second'")
        .await;
    let expired = app
        .data(
            RESET,
            json!({"token": second_reset, "password": "never mind this"}),
        )
        .await;
    assert_eq!(expired, refused);
    assert_eq!(codes(&expired["resetPassword"]), ["INVALID_TOKEN"]);
    let too_long = app
        .data(
            RESET,
            json!({"token": "x".repeat(5000), "password": "never mind this"}),
        )
        .await;
    assert_eq!(too_long, refused);
    assert!(signs_in(&app, "late@example.com", PASSWORD).await);

    let expired = app.data(VERIFY, json!({"token": verify_token})).await;
    let made_up = app.data(VERIFY, json!({"token": made_up})).await;
    assert_eq!(expired, made_up);
    assert_eq!(codes(&expired["verifyEmail"]), ["INVALID_TOKEN"]);
    // A reset token is no verification token, nor the other way round.
    app.data(REQUEST_RESET, json!({"email": "late@example.com"}))
        .await;
    let reset_token = link_token(&app, "password_reset", "late@example.com").await;
    let crossed = app.data(VERIFY, json!({"token": reset_token})).await;
    assert_eq!(crossed, made_up);
    assert_eq!(
        scalar(
            &app,
            "SELECT count(*) AS n FROM users WHERE email_verified_at IS NOT NULL"
        )
        .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_for_an_unknown_email_answers_the_same_and_sends_nothing() {
    let app = TestApp::new().await;
    app.customer_token("known@example.com").await;
    let before = outbox(&app).await.len();
    let known = app
        .graphql(REQUEST_RESET, json!({"email": "known@example.com"}))
        .await;
    let unknown = app
        .graphql(REQUEST_RESET, json!({"email": "nobody@example.com"}))
        .await;
    assert_eq!((known.status, &known.body), (unknown.status, &unknown.body));
    let queued = outbox(&app).await;
    assert_eq!(queued.len(), before + 1);
    assert_eq!(queued[before].kind, "password_reset");
    assert_eq!(queued[before].recipient, "known@example.com");
    assert!(
        queued
            .iter()
            .all(|mail| mail.recipient != "nobody@example.com")
    );
    delivered(&app, "password_reset", "known@example.com").await;
    assert!(app.mail.to("nobody@example.com").is_empty());

    let malformed = app
        .data(REQUEST_RESET, json!({"email": "not an email"}))
        .await["requestPasswordReset"]
        .clone();
    assert_eq!(malformed["accepted"], false);
    assert_eq!(malformed["userErrors"][0]["field"], json!(["email"]));
    assert_eq!(codes(&malformed), ["INVALID"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_email_change_waits_for_the_new_addresss_link_and_tells_the_old_one() {
    let app = TestApp::new().await;
    let session = verified_customer(&app, "old@example.com").await;
    let asked = app
        .data_as(
            &session,
            UPDATE_PROFILE,
            json!({"input": {"email": "New@example.com", "currentPassword": PASSWORD}}),
        )
        .await;
    assert_eq!(
        asked["updateProfile"],
        json!({"user": {"email": "old@example.com", "emailVerified": true, "pendingEmail": "New@example.com", "name": "Test Customer"}, "userErrors": []})
    );
    let requested = delivered(&app, "email_change_requested", "old@example.com").await;
    assert!(
        requested[0].text.contains("New@example.com"),
        "{}",
        requested[0].text
    );
    let token = link_token(&app, "verify_new_email", "New@example.com").await;
    // Until the link is followed, the old address is the account's.
    assert!(signs_in(&app, "old@example.com", PASSWORD).await);
    assert!(!signs_in(&app, "new@example.com", PASSWORD).await);
    app.data(REQUEST_RESET, json!({"email": "old@example.com"}))
        .await;
    let old_reset = link_token(&app, "password_reset", "old@example.com").await;

    let moved = app.data(VERIFY, json!({"token": token})).await;
    assert_eq!(moved["verifyEmail"]["userErrors"], json!([]));
    assert_eq!(
        moved["verifyEmail"]["user"],
        json!({"email": "New@example.com", "emailVerified": true, "pendingEmail": null})
    );
    assert!(signs_in(&app, "new@example.com", PASSWORD).await);
    assert!(!signs_in(&app, "old@example.com", PASSWORD).await);
    let told = delivered(&app, "email_changed", "old@example.com").await;
    assert_eq!(told.len(), 1);
    assert!(
        told[0].text.contains("is now New@example.com"),
        "{}",
        told[0].text
    );
    // The links mailed to the old address stop working.
    let stale = app
        .data(
            RESET,
            json!({"token": old_reset, "password": "hijacked password"}),
        )
        .await;
    assert_eq!(codes(&stale["resetPassword"]), ["INVALID_TOKEN"]);
    assert_eq!(
        app.data_as(&session, VIEWER, json!({})).await["viewer"],
        json!({"email": "New@example.com", "emailVerified": true, "pendingEmail": null}),
        "the session carries on"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_email_change_to_a_taken_address_reveals_nothing_and_never_happens() {
    let app = TestApp::new().await;
    app.customer_token("taken@example.com").await;
    let session = app.customer_token("mover@example.com").await;
    let change = |email: &'static str| {
        let (app, session) = (&app, &session);
        async move {
            app.data_as(
                session,
                UPDATE_PROFILE,
                json!({"input": {"email": email, "currentPassword": PASSWORD}}),
            )
            .await["updateProfile"]
                .clone()
        }
    };
    let free = change("free@example.com").await;
    let taken = change("TAKEN@example.com").await;
    assert_eq!(free["userErrors"], taken["userErrors"]);
    assert_eq!(taken["user"]["pendingEmail"], "TAKEN@example.com");
    assert_eq!(taken["user"]["email"], "mover@example.com");
    // The owner of the taken address gets a note (no link to follow); the
    // mover's own address is told as for any change.
    let notes = delivered(&app, "account_exists", "taken@example.com").await;
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].link(&link_prefix("account_exists")).is_none()
            && notes[0]
                .link(&format!("{PUBLIC_URL}/forgot-password"))
                .is_some(),
        "{}",
        notes[0].text
    );
    assert!(
        queued(&app, "verify_new_email", "TAKEN@example.com")
            .await
            .is_empty()
    );
    assert_eq!(
        delivered(&app, "email_change_requested", "mover@example.com")
            .await
            .len(),
        2
    );
    // The earlier link (to the free address) was superseded.
    let free_token = link_token(&app, "verify_new_email", "free@example.com").await;
    let refused = app.data(VERIFY, json!({"token": free_token})).await;
    assert_eq!(codes(&refused["verifyEmail"]), ["INVALID_TOKEN"]);
    assert_eq!(
        app.data_as(&session, VIEWER, json!({})).await["viewer"]["email"],
        "mover@example.com"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_switch_that_fails_at_commit_leaves_no_message_and_no_change() {
    // Two accounts ask for the same free address; the first to follow its
    // link gets it. The second's transaction queued "your email changed"
    // for its old address before the switch broke the unique email: the
    // rollback takes the message back with everything else.
    let app = TestApp::new().await;
    let first = app.customer_token("first@example.com").await;
    let second = app.customer_token("second@example.com").await;
    for session in [&first, &second] {
        app.data_as(
            session,
            UPDATE_PROFILE,
            json!({"input": {"email": "wanted@example.com", "currentPassword": PASSWORD}}),
        )
        .await;
    }
    let links = delivered(&app, "verify_new_email", "wanted@example.com").await;
    assert_eq!(links.len(), 2);
    let token = |mail: &Mail| {
        mail.link_param(&link_prefix("verify_new_email"), "token")
            .unwrap()
    };
    let won = app.data(VERIFY, json!({"token": token(&links[0])})).await;
    assert_eq!(won["verifyEmail"]["user"]["email"], "wanted@example.com");
    let lost = app.data(VERIFY, json!({"token": token(&links[1])})).await;
    assert_eq!(lost["verifyEmail"]["user"], Value::Null);
    assert_eq!(codes(&lost["verifyEmail"]), ["INVALID_TOKEN"]);

    assert_eq!(
        delivered(&app, "email_changed", "first@example.com")
            .await
            .len(),
        1
    );
    assert!(
        queued(&app, "email_changed", "second@example.com")
            .await
            .is_empty(),
        "the rolled-back message is gone"
    );
    assert_eq!(
        app.data_as(&second, VIEWER, json!({})).await["viewer"]["email"],
        "second@example.com"
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT count(*) AS n FROM account_tokens WHERE purpose = 'change_email' AND used_at IS NOT NULL"
        )
        .await,
        1,
        "only the winner's token was used"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_concurrent_uses_of_one_token_succeed_once() {
    let app = TestApp::new().await;
    app.customer_token("racer@example.com").await;
    for round in 0..3 {
        app.data(REQUEST_RESET, json!({"email": "racer@example.com"}))
            .await;
        let token = link_token(&app, "password_reset", "racer@example.com").await;
        let attempts = (0..4).map(|n| {
            let (app, token) = (&app, token.clone());
            async move {
                app.data(
                    RESET,
                    json!({"token": token, "password": format!("racing password {round}.{n}")}),
                )
                .await["resetPassword"]["reset"]
                    == true
            }
        });
        let results = futures_util::future::join_all(attempts).await;
        assert_eq!(
            results.iter().filter(|reset| **reset).count(),
            1,
            "{results:?}"
        );
    }
    assert_eq!(
        delivered(&app, "password_changed", "racer@example.com")
            .await
            .len(),
        3,
        "one message per reset"
    );

    let token = link_token(&app, "verify_email", "racer@example.com").await;
    let attempts =
        (0..4).map(|_| {
            let (app, token) = (&app, token.clone());
            async move {
                app.data(VERIFY, json!({"token": token})).await["verifyEmail"]["user"].is_object()
            }
        });
    let results = futures_util::future::join_all(attempts).await;
    assert_eq!(results.iter().filter(|ok| **ok).count(), 1, "{results:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn link_tokens_are_random_256_bit_and_stored_only_hashed() {
    use base64::Engine;
    let app = TestApp::new().await;
    app.customer_token("hash@example.com").await;
    app.data(REQUEST_RESET, json!({"email": "hash@example.com"}))
        .await;
    let tokens = [
        link_token(&app, "verify_email", "hash@example.com").await,
        link_token(&app, "password_reset", "hash@example.com").await,
    ];
    #[derive(diesel::QueryableByName)]
    struct Stored {
        #[diesel(sql_type = diesel::sql_types::Bytea)]
        token_hash: Vec<u8>,
        #[diesel(sql_type = Text)]
        everything: String,
    }
    let stored: Vec<Stored> = diesel::sql_query(
        "SELECT token_hash, t::text AS everything FROM account_tokens t ORDER BY id",
    )
    .load(&mut app.connection().await)
    .await
    .unwrap();
    assert_eq!(stored.len(), 2);
    for (token, row) in tokens.iter().zip(&stored) {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .unwrap();
        assert_eq!(bytes.len(), 32, "256 bits");
        assert_eq!(row.token_hash, bookstore::auth::token_hash(token));
        assert!(!row.everything.contains(token.as_str()));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_verification_link_can_be_asked_for_again_until_verified() {
    let app = TestApp::with_env(&[("EMAIL_VERIFICATION_MAX_REQUESTS_PER_ACCOUNT", "2")]).await;
    let session = app.customer_token("again@example.com").await;
    let first = link_token(&app, "verify_email", "again@example.com").await;
    let asked = app.data_as(&session, REQUEST_VERIFICATION, json!({})).await;
    assert_eq!(
        asked["requestEmailVerification"],
        json!({"sent": true, "userErrors": []})
    );
    let second = link_token(&app, "verify_email", "again@example.com").await;
    assert_ne!(first, second);
    let stale = app.data(VERIFY, json!({"token": first})).await;
    assert_eq!(
        codes(&stale["verifyEmail"]),
        ["INVALID_TOKEN"],
        "the newest link wins"
    );
    let verified = app.data(VERIFY, json!({"token": second})).await;
    assert_eq!(verified["verifyEmail"]["user"]["emailVerified"], true);

    let nothing = app.data_as(&session, REQUEST_VERIFICATION, json!({})).await;
    assert_eq!(nothing["requestEmailVerification"]["sent"], false);
    assert_eq!(
        codes(&nothing["requestEmailVerification"]),
        ["ALREADY_VERIFIED"]
    );
    let throttled = app
        .graphql_as(&session, REQUEST_VERIFICATION, json!({}))
        .await
        .json();
    assert_eq!(
        throttled["errors"][0]["extensions"]["code"], "TOO_MANY_ATTEMPTS",
        "{throttled}"
    );
    let anonymous = app.graphql(REQUEST_VERIFICATION, json!({})).await.json();
    assert_eq!(
        anonymous["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pending_change_is_what_a_verified_account_asks_a_link_for() {
    let app = TestApp::new().await;
    let session = verified_customer(&app, "steady@example.com").await;
    app.data_as(
        &session,
        UPDATE_PROFILE,
        json!({"input": {"email": "next@example.com", "currentPassword": PASSWORD}}),
    )
    .await;
    let first = link_token(&app, "verify_new_email", "next@example.com").await;
    let asked = app.data_as(&session, REQUEST_VERIFICATION, json!({})).await;
    assert_eq!(asked["requestEmailVerification"]["sent"], true);
    let second = link_token(&app, "verify_new_email", "next@example.com").await;
    assert_ne!(first, second);
    let moved = app.data(VERIFY, json!({"token": second})).await;
    assert_eq!(
        moved["verifyEmail"]["user"]["email"], "next@example.com",
        "{moved}"
    );
    // Asking for the current address again calls a pending change off.
    app.data_as(
        &session,
        UPDATE_PROFILE,
        json!({"input": {"email": "later@example.com", "currentPassword": PASSWORD}}),
    )
    .await;
    let off = app
        .data_as(
            &session,
            UPDATE_PROFILE,
            json!({"input": {"email": "NEXT@example.com"}}),
        )
        .await;
    assert_eq!(off["updateProfile"]["user"]["pendingEmail"], Value::Null);
    let later = link_token(&app, "verify_new_email", "later@example.com").await;
    let refused = app.data(VERIFY, json!({"token": later})).await;
    assert_eq!(codes(&refused["verifyEmail"]), ["INVALID_TOKEN"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn using_links_is_throttled_per_client_and_resets_per_client_and_email() {
    const PROXY: &str = "10.0.0.100";
    let app = TestApp::with_env(&[
        ("TRUSTED_PROXIES", PROXY),
        ("ACCOUNT_TOKEN_MAX_USES_PER_CLIENT", "3"),
        ("PASSWORD_RESET_MAX_PER_EMAIL", "2"),
        ("PASSWORD_RESET_MAX_PER_CLIENT", "3"),
    ])
    .await;
    let refused = |body: &Value| body["errors"][0]["extensions"]["code"] == "TOO_MANY_ATTEMPTS";
    // A guesser gets 3 tries per window, verify and reset counted together.
    for n in 0..3 {
        let (query, variables) = if n % 2 == 0 {
            (VERIFY, json!({"token": format!("guess{n}")}))
        } else {
            (
                RESET,
                json!({"token": format!("guess{n}"), "password": "whatever it is"}),
            )
        };
        let body = from(&app, PROXY, Some("203.0.113.7"), query, variables).await;
        assert_eq!(
            codes(body["data"].as_object().unwrap().values().next().unwrap()),
            ["INVALID_TOKEN"],
            "{body}"
        );
    }
    let body = from(
        &app,
        PROXY,
        Some("203.0.113.7"),
        VERIFY,
        json!({"token": "guess9"}),
    )
    .await;
    assert!(refused(&body), "{body}");
    // Another shopper behind the same storefront follows their link.
    app.customer_token("shopper@example.com").await;
    let token = link_token(&app, "verify_email", "shopper@example.com").await;
    let body = from(
        &app,
        PROXY,
        Some("198.51.100.9"),
        VERIFY,
        json!({"token": token}),
    )
    .await;
    assert_eq!(
        body["data"]["verifyEmail"]["user"]["emailVerified"], true,
        "{body}"
    );

    // Resets per email, whether or not it has an account (same refusal).
    // (An account made by registering has used one of its allowance.)
    app.staff_token("boss@example.com").await;
    for email in ["boss@example.com", "nobody@example.com"] {
        for client in ["198.51.100.20", "198.51.100.22"] {
            let body = from(
                &app,
                PROXY,
                Some(client),
                REQUEST_RESET,
                json!({"email": email}),
            )
            .await;
            assert_eq!(
                body["data"]["requestPasswordReset"]["accepted"], true,
                "{body}"
            );
        }
        let body = from(
            &app,
            PROXY,
            Some("198.51.100.21"),
            REQUEST_RESET,
            json!({"email": email.to_uppercase()}),
        )
        .await;
        assert!(refused(&body), "{email}: {body}");
    }
    // Resets per client, whatever the emails.
    for n in 0..3 {
        let body = from(
            &app,
            PROXY,
            Some("198.51.100.30"),
            REQUEST_RESET,
            json!({"email": format!("x{n}@example.com")}),
        )
        .await;
        assert!(!refused(&body), "{body}");
    }
    let body = from(
        &app,
        PROXY,
        Some("198.51.100.30"),
        REQUEST_RESET,
        json!({"email": "x9@example.com"}),
    )
    .await;
    assert!(refused(&body), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn registering_again_and_again_with_a_taken_email_mails_its_owner_a_bounded_number_of_times()
{
    let app = TestApp::with_env(&[("PASSWORD_RESET_MAX_PER_EMAIL", "2")]).await;
    app.customer_token("popular@example.com").await;
    let mut answers = Vec::new();
    for n in 0..4 {
        answers.push(
            app.graphql(
                REGISTER,
                register_input("popular@example.com", &format!("Bot {n}"), PASSWORD),
            )
            .await
            .body,
        );
    }
    answers.dedup();
    assert_eq!(answers.len(), 1, "always the same answer");
    // The registration itself counted once; then one note, then silence.
    assert_eq!(
        delivered(&app, "account_exists", "popular@example.com")
            .await
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn changing_the_password_tells_the_account_holder() {
    let app = TestApp::new().await;
    let session = app.customer_token("careful@example.com").await;
    let changed = app
        .data_as(
            &session,
            "mutation { changePassword(input: {currentPassword: \"correct horse battery\", newPassword: \"another good one\"}) { userErrors { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(changed["changePassword"]["userErrors"], json!([]));
    let told = delivered(&app, "password_changed", "careful@example.com").await;
    assert_eq!(told.len(), 1);
    assert!(told[0].text.contains("Hello Test Customer,"));
    assert!(
        !told[0].raw.contains("another good one"),
        "no password in a message"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_made_from_the_command_line_are_verified() {
    let app = TestApp::new().await;
    let staff = app.staff_token("boss@example.com").await;
    assert_eq!(
        app.data_as(&staff, VIEWER, json!({})).await["viewer"]["emailVerified"],
        true
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cleanup_deletes_expired_and_used_tokens_only() {
    let app = TestApp::new().await;
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        app.customer_token(email).await;
    }
    let used = link_token(&app, "verify_email", "a@example.com").await;
    app.data(VERIFY, json!({"token": used})).await;
    app.sql(
        "UPDATE account_tokens SET expires_at = now() - interval '2 hours'
         WHERE email = 'b@example.com'",
    )
    .await;
    app.sql(
        "UPDATE account_tokens SET used_at = now() - interval '2 hours' WHERE used_at IS NOT NULL",
    )
    .await;
    let deleted = bookstore::db::account_tokens::delete_expired(
        &mut app.connection().await,
        chrono::Utc::now() - chrono::Duration::hours(1),
    )
    .await
    .unwrap();
    assert_eq!(deleted, 2);
    let live = link_token(&app, "verify_email", "c@example.com").await;
    let verified = app.data(VERIFY, json!({"token": live})).await;
    assert_eq!(verified["verifyEmail"]["user"]["emailVerified"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_link_asked_for_while_the_mail_server_is_down_arrives_when_it_returns_and_works() {
    let app = TestApp::with_env(&[
        ("OUTBOX_RETRY_BASE_SECS", "1"),
        ("OUTBOX_RETRY_MAX_SECS", "1"),
    ])
    .await;
    app.mail.set_mode(SinkMode::Down);
    let registered = app
        .data(
            REGISTER,
            register_input("patient@example.com", "Pat", PASSWORD),
        )
        .await;
    assert_eq!(registered["register"]["accepted"], true);
    assert!(
        app.mail
            .settle(std::time::Duration::from_millis(1500))
            .await
            .is_empty()
    );
    app.mail.set_mode(SinkMode::Up);
    let token = link_token(&app, "verify_email", "patient@example.com").await;
    let verified = app.data(VERIFY, json!({"token": token})).await;
    assert_eq!(verified["verifyEmail"]["user"]["emailVerified"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_link_lives_as_long_as_configured() {
    let app = TestApp::with_env(&[("PASSWORD_RESET_TTL_SECS", "1")]).await;
    app.customer_token("brief@example.com").await;
    app.data(REQUEST_RESET, json!({"email": "brief@example.com"}))
        .await;
    let token = link_token(&app, "password_reset", "brief@example.com").await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let late = app
        .data(
            RESET,
            json!({"token": token, "password": "too late for this"}),
        )
        .await;
    assert_eq!(codes(&late["resetPassword"]), ["INVALID_TOKEN"]);
    assert!(signs_in(&app, "brief@example.com", PASSWORD).await);
}
