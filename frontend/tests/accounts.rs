//! Account pages: register, sign in and out, profile, password, and the
//! CSRF protection of their forms.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::StatusCode;

mod support;
use support::Shop;

const PASSWORD: &str = "correct horse battery";

#[tokio::test(flavor = "multi_thread")]
async fn a_shopper_registers_signs_in_signs_out_and_signs_back_in() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    let page = browser
        .submit(
            "/register",
            "/register",
            &[
                ("email", "reader@example.com"),
                ("name", "Ada Reader"),
                ("password", PASSWORD),
            ],
        )
        .await;
    // Registering never signs in: it would tell whoever typed the address
    // whether it already had an account.
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    assert_eq!(page.location().as_deref(), Some("/login"));
    assert!(!browser.cookies.contains_key("bookstore_session"));
    let login = browser.get("/login").await;
    assert!(
        login.html.contains(
            "Check your email: we sent a link to verify reader@example.com. You can sign in now."
        ),
        "{}",
        login.html
    );
    assert!(login.html.contains("action=\"/login\""), "the sign-in form");

    let page = browser
        .submit(
            "/login",
            "/login",
            &[("email", "reader@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        page.location().as_deref(),
        Some("/account"),
        "{}",
        page.html
    );
    let session_cookie = page
        .headers
        .get_all(axum::http::header::SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .find(|value| value.starts_with("bookstore_session="))
        .unwrap();
    assert!(
        session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Lax"),
        "{session_cookie}"
    );

    let account = browser.get("/account").await;
    assert!(
        account.html.contains("Welcome back, Ada Reader"),
        "the flash shows once"
    );
    assert!(account.html.contains("value=\"reader@example.com\""));
    assert!(
        !browser
            .get("/account")
            .await
            .html
            .contains("Welcome back, Ada Reader")
    );

    let out = browser.submit("/account", "/logout", &[]).await;
    assert_eq!(out.location().as_deref(), Some("/"));
    assert!(!browser.cookies.contains_key("bookstore_session"));
    let redirected = browser.get("/account").await;
    assert_eq!(
        redirected.location().as_deref(),
        Some("/login?next=/account")
    );

    let wrong = browser
        .submit(
            "/login",
            "/login",
            &[
                ("email", "reader@example.com"),
                ("password", "not the password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.html.contains("incorrect"));
    assert!(
        wrong.html.contains("value=\"reader@example.com\""),
        "the email is kept"
    );

    let right = browser
        .submit(
            "/login?next=/books",
            "/login",
            &[
                ("email", "reader@example.com"),
                ("password", PASSWORD),
                ("next", "/books"),
            ],
        )
        .await;
    assert_eq!(right.location().as_deref(), Some("/books"));
    assert!(browser.get("/account").await.status == StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn registration_errors_show_next_to_their_fields() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    let page = browser
        .submit(
            "/register",
            "/register",
            &[
                ("email", "not-an-email"),
                ("name", "Ada"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.html.contains("id=\"email-error\""));
    assert!(page.html.contains("id=\"password-error\""));
    assert!(page.html.contains("value=\"Ada\""), "input kept");
    assert!(
        !page.html.contains("value=\"short\""),
        "passwords are never echoed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn forms_without_the_right_csrf_token_change_nothing() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    browser.get("/register").await;
    for token in ["", "forged"] {
        let page = browser
            .post(
                "/register",
                &[
                    ("csrf", token),
                    ("email", "csrf@example.com"),
                    ("name", "X"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
    }
    // A token from another browser does not work either.
    let mut other = shop.browser();
    let foreign = other.get("/register").await.csrf();
    let page = browser
        .post(
            "/register",
            &[
                ("csrf", &foreign),
                ("email", "csrf@example.com"),
                ("name", "X"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    // So the account was never created: nobody can sign in with it.
    let page = browser
        .submit(
            "/login",
            "/login",
            &[("email", "csrf@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.html
    );
    // Registering with the token works (and then signing in).
    browser.sign_up("csrf@example.com", "X", PASSWORD).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn profile_and_password_changes() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    browser
        .sign_up("mover@example.com", "Mover", PASSWORD)
        .await;
    let saved = browser
        .submit(
            "/account",
            "/account",
            &[("name", "Grace Mover"), ("email", "mover@example.com")],
        )
        .await;
    assert_eq!(saved.location().as_deref(), Some("/account"));
    assert!(
        browser
            .get("/account")
            .await
            .html
            .contains("value=\"Grace Mover\"")
    );
    // A new email needs the current password.
    let new_email = [("name", "Grace Mover"), ("email", "grace@example.com")];
    let refused = browser.submit("/account", "/account", &new_email).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.html.contains("id=\"current_password-error\""));
    let with_password = [new_email[0], new_email[1], ("current_password", PASSWORD)];
    let moved = browser.submit("/account", "/account", &with_password).await;
    assert_eq!(moved.location().as_deref(), Some("/account"));
    // The new address takes effect once verified: until then the account
    // keeps the old one and says where the link went.
    let account = browser.get("/account").await;
    assert!(
        account.html.contains(
            "We sent a link to grace@example.com: your email address changes when you open it."
        ),
        "{}",
        account.html
    );
    assert!(account.html.contains("value=\"mover@example.com\""));
    assert!(
        browser.get("/account").await.html.contains(
            "We sent a link to grace@example.com; your address changes when you open it."
        )
    );

    let wrong = browser
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current_password", "nope nope nope"),
                ("new_password", "a brand new secret"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.html.contains("id=\"current_password-error\""));
    let changed = browser
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new secret"),
            ],
        )
        .await;
    assert_eq!(changed.location().as_deref(), Some("/account"));
    assert_eq!(
        browser.get("/account").await.status,
        StatusCode::OK,
        "this device stays signed in"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_never_redirects_off_site() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    browser.sign_up("safe@example.com", "Safe", PASSWORD).await;
    browser.submit("/account", "/logout", &[]).await;
    for next in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
    ] {
        let page = browser
            .submit(
                "/login",
                "/login",
                &[
                    ("email", "safe@example.com"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(page.location().as_deref(), Some("/account"), "{next}");
        browser.submit("/account", "/logout", &[]).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn account_forms_without_a_token_are_forbidden_not_unprocessable() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    browser.get("/login").await;
    for (action, fields) in [
        (
            "/login",
            vec![("email", "a@example.com"), ("password", PASSWORD)],
        ),
        (
            "/register",
            vec![
                ("email", "a@example.com"),
                ("name", "A"),
                ("password", PASSWORD),
            ],
        ),
        ("/logout", vec![]),
        ("/account", vec![("name", "A"), ("email", "a@example.com")]),
        (
            "/account/password",
            vec![("current_password", PASSWORD), ("new_password", PASSWORD)],
        ),
        ("/staff/orders/BK-1/ship", vec![("carrier", "UPS")]),
    ] {
        let page = browser.post(action, &fields).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{action}");
        assert!(page.html.contains("Please try that again"), "{action}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cross_site_form_posts_are_refused_even_with_a_token() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    let csrf = browser.get("/register").await.csrf();
    let fields = [
        ("csrf", csrf.as_str()),
        ("email", "cross@example.com"),
        ("name", "Cross"),
        ("password", PASSWORD),
    ];
    let refused = browser
        .post_with("/register", &fields, &[("sec-fetch-site", "cross-site")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!browser.cookies.contains_key("bookstore_session"));
    // From this site (or an old browser that sends no Fetch-Metadata), the
    // same form works.
    let accepted = browser
        .post_with("/register", &fields, &[("sec-fetch-site", "same-origin")])
        .await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.html);
    assert_eq!(accepted.location().as_deref(), Some("/login"));
    browser.sign_in("cross@example.com", PASSWORD).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_never_redirects_off_site_even_when_disguised() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    browser
        .sign_up("disguise@example.com", "Safe", PASSWORD)
        .await;
    browser.submit("/account", "/logout", &[]).await;

    // The form never offers a disguised address back.
    let form = browser.get("/login?next=/%09/evil.example").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(!form.html.contains("evil.example"), "{}", form.html);

    for (next, expected) in [
        ("/\t/evil.example", "/account"),
        ("/%09/evil.example", "/account"),
        ("/%2F/evil.example", "/account"),
        ("/%5Cevil.example", "/account"),
        ("/\r\nSet-Cookie: stolen=1", "/account"),
        ("/books\nx", "/account"),
        ("/b\u{f6}cher", "/account"),
        ("/books?q=whale", "/books?q=whale"),
        ("/", "/"),
    ] {
        let page = browser
            .submit(
                "/login",
                "/login",
                &[
                    ("email", "disguise@example.com"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(page.location().as_deref(), Some(expected), "{next:?}");
        browser.submit("/account", "/logout", &[]).await;
    }
}
