//! Email verification and password reset through the storefront, with the
//! links read from the mail the backend's outbox worker delivered to the
//! test SMTP sink: register →
//! verify, forgot → reset, the pages the links open (a GET never uses a
//! token; no referrer, no caching), reused and broken links, and the same
//! answers for addresses with and without an account.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::{StatusCode, header};

mod support;
use support::{Browser, Page, Shop};

const PASSWORD: &str = "correct horse battery";
const NEW_PASSWORD: &str = "a brand new secret";

/// The page without what differs from one visitor to the next (the CSRF
/// token) and without `typed` (what the visitor typed).
fn normalized(page: &Page, typed: &str) -> String {
    let html = match page.html.contains("name=\"csrf\"") {
        true => page.html.replace(&page.csrf(), "CSRF"),
        false => page.html.clone(),
    };
    html.replace(typed, "TYPED")
}

/// The token a link page carries in its hidden field.
fn hidden_token(page: &Page) -> String {
    page.html
        .split("name=\"token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(support::unescape)
        .unwrap_or_else(|| panic!("no token field: {}", page.html))
}

/// Asserts the headers of a page that holds a token, and that the token
/// appears in the page once: in the form's hidden field, in no address.
fn assert_private_token_page(page: &Page, token: &str) {
    let header = |name| {
        page.headers
            .get(name)
            .map(|value| value.to_str().unwrap().to_owned())
    };
    assert_eq!(
        header(header::REFERRER_POLICY).as_deref(),
        Some("no-referrer")
    );
    assert_eq!(header(header::CACHE_CONTROL).as_deref(), Some("no-store"));
    assert_eq!(
        page.html.matches(token).count(),
        1,
        "the token only in the hidden field: {}",
        page.html
    );
    assert!(
        page.html
            .contains(&format!("name=\"token\" value=\"{token}\"")),
        "{}",
        page.html
    );
    for attribute in ["href=\"", "action=\"", "src=\""] {
        for value in page.html.split(attribute).skip(1) {
            let address = value.split('"').next().unwrap();
            assert!(
                !address.contains("token") && !address.contains(token),
                "{attribute}{address}"
            );
        }
    }
}

/// Submits the form of a link page (its hidden token and CSRF field) to
/// `action`, with `fields`.
async fn press(browser: &mut Browser, page: &Page, action: &str, fields: &[(&str, &str)]) -> Page {
    let csrf = page.csrf();
    let token = hidden_token(page);
    let mut all = vec![("csrf", csrf.as_str()), ("token", token.as_str())];
    all.extend_from_slice(fields);
    browser.post(action, &all).await
}

#[tokio::test(flavor = "multi_thread")]
async fn registering_mails_a_link_that_verifies_the_address_with_one_button() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    browser.sign_up("ada@example.com", "Ada", PASSWORD).await;
    let account = browser.get("/account").await;
    assert!(account.html.contains("Verify your email address"));
    assert!(account.html.contains("We sent a link to ada@example.com."));
    assert!(
        account
            .html
            .contains("action=\"/account/verify-email/resend\"")
    );

    let link = shop.mailed_link("ada@example.com", "/verify-email").await;
    let token = link.trim_start_matches("/verify-email?token=").to_owned();
    // Opening the link (as a mail scanner would, twice) changes nothing.
    for _ in 0..2 {
        let page = browser.get(&link).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.html);
        assert!(page.html.contains("Confirm my email address"));
        assert_private_token_page(&page, &token);
    }
    assert!(
        browser
            .get("/account")
            .await
            .html
            .contains("Verify your email address"),
        "a GET verifies nothing"
    );

    let page = browser.get(&link).await;
    let verified = press(&mut browser, &page, "/verify-email", &[]).await;
    assert_eq!(
        verified.location().as_deref(),
        Some("/account"),
        "{}",
        verified.html
    );
    let account = browser.get("/account").await;
    assert!(account.html.contains("Your email address is verified."));
    assert!(!account.html.contains("Verify your email address"));
    assert!(!account.html.contains("/account/verify-email/resend"));

    // The link worked once; pressed again it is the "does not work" page,
    // which (signed in) offers a new link.
    let again = press(&mut browser, &page, "/verify-email", &[]).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.html);
    assert!(again.html.contains("This link does not work"));
    assert!(
        again
            .html
            .contains("action=\"/account/verify-email/resend\"")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_verification_link_works_signed_out_and_a_new_link_replaces_it() {
    let shop = Shop::new().await;
    let mut customer = shop.browser();
    customer
        .sign_up("grace@example.com", "Grace", PASSWORD)
        .await;
    let first = shop.mailed_link("grace@example.com", "/verify-email").await;

    // "Send a new link": a second message, and the first link stops working.
    let page = customer.get("/account").await;
    let csrf = page.csrf();
    let resent = customer
        .post("/account/verify-email/resend", &[("csrf", &csrf)])
        .await;
    assert_eq!(resent.location().as_deref(), Some("/account"));
    assert!(
        customer
            .get("/account")
            .await
            .html
            .contains("We sent you a new link")
    );
    let second = shop
        .mailed_link_other_than("grace@example.com", "/verify-email", &first)
        .await;

    // Opened in a browser that is not signed in (another device).
    let mut phone = shop.browser();
    let page = phone.get(&first).await;
    let refused = press(&mut phone, &page, "/verify-email", &[]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.html.contains("This link does not work"));
    assert!(
        refused.html.contains("href=\"/login?next=/account\""),
        "signed out: sign in to get a new link"
    );
    assert!(!refused.html.contains("/account/verify-email/resend"));

    let page = phone.get(&second).await;
    let verified = press(&mut phone, &page, "/verify-email", &[]).await;
    assert_eq!(verified.location().as_deref(), Some("/login"));
    assert!(
        phone
            .get("/login")
            .await
            .html
            .contains("Your email address is verified. You can sign in now.")
    );
    assert!(
        !customer
            .get("/account")
            .await
            .html
            .contains("Verify your email address")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forgotten_password_is_reset_once_by_its_link_and_every_session_ends() {
    let shop = Shop::new().await;
    let mut laptop = shop.browser();
    laptop.sign_up("ada@example.com", "Ada", PASSWORD).await;
    let mut tablet = shop.browser();
    tablet.sign_in("ada@example.com", PASSWORD).await;

    // The sign-in page leads to the request form.
    let mut forgetful = shop.browser();
    let login = forgetful.get("/login").await;
    assert!(
        login
            .html
            .contains("<a href=\"/forgot-password\">Forgot your password?</a>")
    );

    // The same answer for an address with an account and one without.
    let mut answers = Vec::new();
    for email in ["ada@example.com", "nobody@example.com"] {
        let mut browser = shop.browser();
        let sent = browser
            .submit("/forgot-password", "/forgot-password", &[("email", email)])
            .await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.html);
        let location = sent.location().unwrap();
        let page = browser.get(&location).await;
        assert!(
            page.html
                .contains("If an account uses that address, we sent a link (valid one hour)"),
            "{}",
            page.html
        );
        answers.push((location, normalized(&page, email)));
    }
    assert_eq!(answers[0], answers[1]);

    let link = shop.mailed_link("ada@example.com", "/reset-password").await;
    let token = link.trim_start_matches("/reset-password?token=").to_owned();
    // The address without an account got nothing.
    shop.mail
        .settle(std::time::Duration::from_millis(300))
        .await;
    assert!(shop.mail.to("nobody@example.com").is_empty());
    // Opening it changes nothing (twice: mail scanners); its page is private.
    for _ in 0..2 {
        let page = forgetful.get(&link).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.html.contains("Choose a new password"));
        assert_private_token_page(&page, &token);
    }
    assert_eq!(tablet.get("/account").await.status, StatusCode::OK);

    // Two different passwords: asked again, the token still in the form.
    let page = forgetful.get(&link).await;
    let mismatch = press(
        &mut forgetful,
        &page,
        "/reset-password",
        &[
            ("new_password", NEW_PASSWORD),
            ("new_password_again", "something else entirely"),
        ],
    )
    .await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(mismatch.html.contains("id=\"new_password_again-error\""));
    assert_private_token_page(&mismatch, &token);
    assert!(!mismatch.html.contains(NEW_PASSWORD), "never echoed");

    let changed = press(
        &mut forgetful,
        &mismatch,
        "/reset-password",
        &[
            ("new_password", NEW_PASSWORD),
            ("new_password_again", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(
        changed.location().as_deref(),
        Some("/login"),
        "{}",
        changed.html
    );
    let login = forgetful.get("/login").await;
    assert!(
        login.html.contains("every other session was signed out"),
        "{}",
        login.html
    );

    // Every session of the account ended.
    for browser in [&mut laptop, &mut tablet] {
        let page = browser.get("/account").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert!(!browser.cookies.contains_key("bookstore_session"));
    }
    // The old password no longer works; the new one does.
    let old = forgetful
        .submit(
            "/login",
            "/login",
            &[("email", "ada@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(old.status, StatusCode::UNPROCESSABLE_ENTITY);
    forgetful.sign_in("ada@example.com", NEW_PASSWORD).await;

    // The link works once.
    let mut other = shop.browser();
    let page = other.get(&link).await;
    let reused = press(
        &mut other,
        &page,
        "/reset-password",
        &[
            ("new_password", "a third password"),
            ("new_password_again", "a third password"),
        ],
    )
    .await;
    assert_eq!(reused.status, StatusCode::BAD_REQUEST, "{}", reused.html);
    assert!(reused.html.contains("This link does not work"));
    assert!(reused.html.contains("href=\"/forgot-password\""));
    other.sign_in("ada@example.com", NEW_PASSWORD).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_from_a_signed_in_browser_signs_it_out_too() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    browser.sign_up("ada@example.com", "Ada", PASSWORD).await;
    browser
        .submit(
            "/forgot-password",
            "/forgot-password",
            &[("email", "ada@example.com")],
        )
        .await;
    let link = shop.mailed_link("ada@example.com", "/reset-password").await;
    let page = browser.get(&link).await;
    let changed = press(
        &mut browser,
        &page,
        "/reset-password",
        &[
            ("new_password", NEW_PASSWORD),
            ("new_password_again", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(changed.location().as_deref(), Some("/login"));
    let cleared = changed
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|value| {
            let value = value.to_str().unwrap();
            value.starts_with("bookstore_session=;") && value.contains("Max-Age=0")
        });
    assert!(cleared, "{:?}", changed.headers);
    assert!(!browser.cookies.contains_key("bookstore_session"));
}

#[tokio::test(flavor = "multi_thread")]
async fn registering_an_address_that_has_an_account_looks_like_a_new_registration() {
    let shop = Shop::new().await;
    shop.browser()
        .sign_up("ada@example.com", "Ada", PASSWORD)
        .await;

    let mut answers = Vec::new();
    for email in ["ada@example.com", "newcomer@example.com"] {
        let mut browser = shop.browser();
        let registered = browser
            .submit(
                "/register",
                "/register",
                &[
                    ("email", email),
                    ("name", "Someone"),
                    ("password", "another long password"),
                ],
            )
            .await;
        assert_eq!(registered.status, StatusCode::SEE_OTHER);
        assert_eq!(registered.location().as_deref(), Some("/login"));
        assert!(!browser.cookies.contains_key("bookstore_session"));
        let page = browser.get("/login").await;
        assert!(page.html.contains(&format!(
            "Check your email: we sent a link to verify {email}. You can sign in now."
        )));
        answers.push(normalized(&page, email));
    }
    assert_eq!(answers[0], answers[1]);
    // The account is the owner's still, and the owner was told (with a
    // reset link); the newcomer got a verification link.
    shop.browser().sign_in("ada@example.com", PASSWORD).await;
    shop.mailed_link("ada@example.com", "/reset-password").await;
    shop.mailed_link("newcomer@example.com", "/verify-email")
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn link_pages_are_private_and_a_missing_token_is_a_clear_page() {
    // No backend call happens on these GETs: any token will do.
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    let token = "Zm9vYmFyYmF6cXV4LXRva2VuLWZvci10ZXN0cw";
    for (path, button) in [
        ("/verify-email", "Confirm my email address"),
        ("/reset-password", "Change password"),
    ] {
        let page = browser.get(&format!("{path}?token={token}")).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(page.html.contains(button), "{path}");
        assert!(page.html.contains(&format!("action=\"{path}\"")), "{path}");
        assert_private_token_page(&page, token);

        for broken in ["", "?token=", "?token=with%20space", "?token=a&token=b"] {
            let page = browser.get(&format!("{path}{broken}")).await;
            assert_eq!(page.status, StatusCode::BAD_REQUEST, "{path}{broken}");
            assert!(page.html.contains("This link does not work"));
            assert_eq!(
                page.headers.get(header::REFERRER_POLICY).unwrap(),
                "no-referrer"
            );
        }
    }
    // Other pages keep the site's usual policy.
    let page = browser.get("/forgot-password").await;
    assert_eq!(
        page.headers.get(header::REFERRER_POLICY).unwrap(),
        "strict-origin-when-cross-origin"
    );
    assert!(page.html.contains("<label for=\"email\">Email</label>"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_new_forms_need_their_csrf_token() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    browser.get("/login").await;
    for (action, fields) in [
        ("/forgot-password", vec![("email", "ada@example.com")]),
        (
            "/reset-password",
            vec![
                ("token", "abc"),
                ("new_password", NEW_PASSWORD),
                ("new_password_again", NEW_PASSWORD),
            ],
        ),
        ("/verify-email", vec![("token", "abc")]),
        ("/account/verify-email/resend", vec![]),
    ] {
        let page = browser.post(action, &fields).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{action}");
        assert!(page.html.contains("Please try that again"), "{action}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn asking_for_links_too_often_gets_the_friendly_throttle_message() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    browser.sign_up("ada@example.com", "Ada", PASSWORD).await;
    // Five new links an hour per account (EMAIL_VERIFICATION_MAX_REQUESTS_PER_ACCOUNT).
    for attempt in 0..6 {
        let csrf = browser.get("/account").await.csrf();
        let answer = browser
            .post("/account/verify-email/resend", &[("csrf", &csrf)])
            .await;
        assert_eq!(answer.location().as_deref(), Some("/account"), "{attempt}");
        let account = browser.get("/account").await;
        assert_eq!(account.status, StatusCode::OK);
        let throttled = account.html.contains("Too many attempts; try again in");
        assert_eq!(throttled, attempt == 5, "{attempt}: {}", account.html);
        assert_eq!(account.html.contains("We sent you a new link"), attempt < 5);
    }

    // Five reset requests an hour per address (PASSWORD_RESET_MAX_PER_EMAIL;
    // registering with it counted one): then the form again with the
    // message, the address kept.
    let mut throttled = None;
    for attempt in 0..6 {
        let answer = shop
            .browser()
            .submit(
                "/forgot-password",
                "/forgot-password",
                &[("email", "ada@example.com")],
            )
            .await;
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            throttled = Some((attempt, answer));
            break;
        }
        assert_eq!(
            answer.location().as_deref(),
            Some("/forgot-password/sent"),
            "{attempt}: {}",
            answer.html
        );
    }
    let (attempt, answer) = throttled.expect("throttled within six requests");
    assert!(attempt >= 4, "{attempt}");
    assert!(answer.html.contains("too many attempts; try again in"));
    assert!(answer.html.contains("value=\"ada@example.com\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_email_address_takes_effect_when_its_link_is_opened() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    browser.sign_up("ada@example.com", "Ada", PASSWORD).await;
    let link = shop.mailed_link("ada@example.com", "/verify-email").await;
    let page = browser.get(&link).await;
    press(&mut browser, &page, "/verify-email", &[]).await;

    let moved = browser
        .submit(
            "/account",
            "/account",
            &[
                ("name", "Ada"),
                ("email", "ada@new.example"),
                ("current_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(moved.location().as_deref(), Some("/account"));
    let account = browser.get("/account").await;
    assert!(account.html.contains(
        "Your profile is saved. We sent a link to ada@new.example: your email address changes when you open it."
    ));
    assert!(
        account
            .html
            .contains("We sent a link to ada@new.example; your address changes when you open it.")
    );
    assert!(
        account.html.contains("value=\"ada@example.com\""),
        "not yet"
    );
    assert!(!account.html.contains("Verify your email address"));

    let link = shop.mailed_link("ada@new.example", "/verify-email").await;
    let page = browser.get(&link).await;
    assert!(
        browser
            .get("/account")
            .await
            .html
            .contains("value=\"ada@example.com\""),
        "a GET changes nothing"
    );
    let verified = press(&mut browser, &page, "/verify-email", &[]).await;
    assert_eq!(verified.location().as_deref(), Some("/account"));
    let account = browser.get("/account").await;
    assert!(account.html.contains("value=\"ada@new.example\""));
    assert!(
        !account
            .html
            .contains("your address changes when you open it")
    );
}
