//! Guest orders and accounts: a guest's orders join an account only once
//! the account has proven it owns the email (a verification link followed),
//! and the orders handed over before this rule went back to being guest
//! orders.

use diesel_async::SimpleAsyncConnection;
use serde_json::json;

use crate::email_accounts::{REGISTER, link_token};
use crate::order_access::{CANCEL, count, guest_order, lookup_query};
use crate::support::TestApp;

#[tokio::test(flavor = "multi_thread")]
async fn registering_with_someone_elses_email_reveals_none_of_their_guest_orders() {
    let app = TestApp::new().await;
    let placed = guest_order(&app, "guest-1", "victim@example.com").await;
    let number = placed["order"]["number"].clone();

    let registered = app
        .data(
            REGISTER,
            json!({"input": {"email": "VICTIM@example.com", "name": "Mallory", "password": "correct horse battery"}}),
        )
        .await;
    assert_eq!(registered["register"]["accepted"], true, "{registered}");
    let mallory = app
        .login_token("VICTIM@example.com", "correct horse battery")
        .await;
    let history = app
        .data_as(
            &mallory,
            "{ viewer { orders(first: 10) { totalCount nodes { number } } } }",
            json!({}),
        )
        .await;
    assert_eq!(history["viewer"]["orders"]["totalCount"], 0, "{history}");
    // Signing in again attaches nothing either.
    let login = app
        .data(
            "mutation { login(input: {email: \"victim@example.com\", password: \"correct horse battery\"}) {
               user { orders(first: 10) { totalCount } } } }",
            json!({}),
        )
        .await;
    assert_eq!(login["login"]["user"]["orders"]["totalCount"], 0);
    // Signed in, the number alone opens nothing, and nothing is cancelled.
    let reply = app
        .graphql_as(&mallory, &lookup_query(), json!({"n": number}))
        .await
        .json();
    assert_eq!(reply, json!({"data": {"order": null}}));
    let refused = app
        .data_as(&mallory, CANCEL, json!({"input": {"number": number}}))
        .await;
    assert_eq!(refused["cancelOrder"]["userErrors"][0]["code"], "NOT_FOUND");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM orders WHERE number = $1 AND user_id IS NULL AND status = 'PAID'",
            number.as_str().unwrap()
        )
        .await,
        1,
        "still a guest order, untouched"
    );
    // The guest still has it, by token.
    let seen = app
        .data(
            &lookup_query(),
            json!({"n": number, "t": placed["orderAccessToken"]}),
        )
        .await;
    assert_eq!(seen["order"]["number"], number);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_verified_email_is_what_attaches_guest_orders_and_their_tokens_go() {
    let app = TestApp::new().await;
    let placed = guest_order(&app, "guest-1", "Grace@example.com").await;
    let number = placed["order"]["number"].clone();
    let token = app.customer_token("grace@example.com").await;
    let orders = "{ viewer { emailVerified orders(first: 10) { totalCount } } }";
    let before = app.data_as(&token, orders, json!({})).await;
    assert_eq!(
        before["viewer"],
        json!({"emailVerified": false, "orders": {"totalCount": 0}}),
        "not before the email is verified"
    );
    // The link mailed on registration proves the email.
    let link = link_token(&app, "verify_email", "grace@example.com").await;
    let verified = app
        .data(
            "mutation($t: String!) { verifyEmail(token: $t) { user { emailVerified } userErrors { code } } }",
            json!({"t": link}),
        )
        .await;
    assert_eq!(
        verified["verifyEmail"]["user"]["emailVerified"], true,
        "{verified}"
    );
    let history = app
        .data_as(
            &token,
            "{ viewer { orders(first: 10) { nodes { number } } } }",
            json!({}),
        )
        .await;
    assert_eq!(history["viewer"]["orders"]["nodes"][0]["number"], number);
    // Now a customer's order: the guest's token and email open it no more.
    let by_token = app
        .graphql(
            &lookup_query(),
            json!({"n": number, "t": placed["orderAccessToken"]}),
        )
        .await
        .json();
    assert_eq!(by_token, json!({"data": {"order": null}}));
    let by_email = app
        .graphql(
            &lookup_query(),
            json!({"n": number, "e": "grace@example.com"}),
        )
        .await
        .json();
    assert_eq!(by_email, json!({"data": {"order": null}}));
}

#[tokio::test(flavor = "multi_thread")]
async fn orders_handed_over_on_registration_before_the_fix_go_back_to_their_guests() {
    const UP: &str = include_str!("../../../migrations/2026-11-29-000010_order_access/up.sql");
    const DOWN: &str = include_str!("../../../migrations/2026-11-29-000010_order_access/down.sql");
    let app = TestApp::new().await;
    let mut conn = app.connection().await;
    // The schema as it was, with an order placed as a guest (an hour before
    // the account existed) and attached on registration, and an order the
    // customer placed once signed in.
    conn.batch_execute(DOWN).await.unwrap();
    conn.batch_execute(
        "INSERT INTO users (email, name, password_hash, role, created_at)
           VALUES ('taken@example.com', 'Mallory', 'x', 'customer', now());
         INSERT INTO addresses (name, line1, city, postal_code, country)
           VALUES ('Ada', '1 Way', 'Town', '1', 'US');
         INSERT INTO orders (user_id, email, status, currency, subtotal_cents, shipping_cents,
                             total_cents, shipping_method, shipping_address_id, created_at)
         SELECT u.id, 'taken@example.com', 'PAID', 'USD', 100, 0, 100, 'standard', a.id, when_placed
         FROM users u, addresses a, (VALUES (now() - interval '1 hour'), (now() + interval '1 minute')) t (when_placed);",
    )
    .await
    .unwrap();
    conn.batch_execute(UP).await.unwrap();
    let guest = "SELECT count(*) AS n FROM orders WHERE email = $1 AND user_id IS NULL";
    let customer = "SELECT count(*) AS n FROM orders WHERE email = $1 AND user_id IS NOT NULL";
    assert_eq!(
        count(&app, guest, "taken@example.com").await,
        1,
        "the order placed before the account is a guest's again"
    );
    assert_eq!(
        count(&app, customer, "taken@example.com").await,
        1,
        "the order placed once signed in stays the customer's"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_link_and_a_new_addresss_link_prove_their_address_too() {
    let app = TestApp::new().await;
    guest_order(&app, "guest-1", "reader@example.com").await;
    guest_order(&app, "guest-2", "new.home@example.com").await;
    app.customer_token("reader@example.com").await;
    let orders = "{ viewer { emailVerified pendingEmail orders(first: 10) { totalCount } } }";

    // A reset link was mailed to the address: following it proves it.
    app.data(
        "mutation { requestPasswordReset(email: \"reader@example.com\") { accepted } }",
        json!({}),
    )
    .await;
    let reset = link_token(&app, "password_reset", "reader@example.com").await;
    let done = app
        .data(
            "mutation($t: String!) { resetPassword(token: $t, newPassword: \"a new password 1\") { reset } }",
            json!({"t": reset}),
        )
        .await;
    assert_eq!(done["resetPassword"]["reset"], true);
    let session = app
        .login_token("reader@example.com", "a new password 1")
        .await;
    assert_eq!(
        app.data_as(&session, orders, json!({})).await["viewer"],
        json!({"emailVerified": true, "pendingEmail": null, "orders": {"totalCount": 1}})
    );

    // Moving to another address brings its guest orders once its link is
    // followed, not before.
    app.data_as(
        &session,
        "mutation { updateProfile(input: {email: \"new.home@example.com\", currentPassword: \"a new password 1\"}) { userErrors { code } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        app.data_as(&session, orders, json!({})).await["viewer"],
        json!({"emailVerified": true, "pendingEmail": "new.home@example.com", "orders": {"totalCount": 1}})
    );
    let link = link_token(&app, "verify_new_email", "new.home@example.com").await;
    app.data(
        "mutation($t: String!) { verifyEmail(token: $t) { user { email } } }",
        json!({"t": link}),
    )
    .await;
    assert_eq!(
        app.data_as(&session, orders, json!({})).await["viewer"],
        json!({"emailVerified": true, "pendingEmail": null, "orders": {"totalCount": 2}})
    );
}
