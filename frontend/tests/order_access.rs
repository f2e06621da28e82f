//! Guest orders in the storefront: the confirmation links to the order with
//! its access token; "find my order" POSTs the number and email and answers
//! with the order itself; cancelling works both ways without JavaScript;
//! and no address the storefront makes (links, form actions, redirects)
//! ever holds an email.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::http::StatusCode;
use support::{Browser, Page, Shop, input, unescape};

const BOOK: &str = "/books/middlemarch";
const APPROVED: &str = "4242 4242 4242 4242";

/// Every address in a page or its redirect: `Location`, `href`, `action`,
/// and what a GET form would add to its action (its fields' names).
fn addresses(page: &Page) -> Vec<String> {
    let mut found: Vec<String> = page.location().into_iter().collect();
    for attribute in ["href=\"", "action=\""] {
        found.extend(
            page.html
                .split(attribute)
                .skip(1)
                .filter_map(|rest| rest.split('"').next())
                .map(unescape),
        );
    }
    for form in page.html.split("<form").skip(1) {
        let form = form.split("</form>").next().unwrap_or_default();
        if form.contains("method=\"get\"") {
            found.extend(
                form.split("name=\"")
                    .skip(1)
                    .filter_map(|rest| rest.split('"').next())
                    .map(|name| format!("?{name}=")),
            );
        }
    }
    found
}

/// No address the storefront made holds an email address (or a field
/// named email).
fn assert_no_email_in_addresses(page: &Page) {
    for address in addresses(page) {
        let lower = address.to_lowercase();
        assert!(
            !lower.contains('@') && !lower.contains("%40") && !lower.contains("email"),
            "an email in an address: {address}"
        );
    }
}

/// A guest's checkout of one copy of the book, with `email`: the redirect.
async fn guest_checkout(browser: &mut Browser, email: &str) -> Page {
    let book = browser.get(BOOK).await;
    let book_id = input(&book, "book_id");
    let added = browser
        .submit(
            BOOK,
            "/cart/add",
            &[
                ("book_id", &book_id),
                ("slug", "middlemarch"),
                ("quantity", "1"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    let form = browser.get("/checkout").await;
    assert_no_email_in_addresses(&form);
    let csrf = form.csrf();
    let key = input(&form, "idempotency_key");
    let placed = browser
        .post(
            "/checkout",
            &[
                ("csrf", csrf.as_str()),
                ("idempotency_key", key.as_str()),
                ("shipping_method", "STANDARD"),
                ("email", email),
                ("name", "Ada Reader"),
                ("line1", "1 Library Way"),
                ("city", "Springfield"),
                ("postal_code", "12345"),
                ("country", "US"),
                ("card_number", APPROVED),
            ],
        )
        .await;
    assert_eq!(placed.status, StatusCode::SEE_OTHER, "{}", placed.html);
    placed
}

/// `/orders/BK-…?token=…` -> (number, token).
fn number_and_token(location: &str) -> (String, String) {
    let rest = location.strip_prefix("/orders/").unwrap();
    let (number, query) = rest.split_once("?token=").unwrap();
    (number.to_owned(), query.to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_confirmation_links_to_the_order_with_its_token_never_an_email() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    let placed = guest_checkout(&mut browser, "grace@example.com").await;
    assert_no_email_in_addresses(&placed);
    let location = placed.location().unwrap();
    let (number, token) = number_and_token(&location);
    assert!(number.starts_with("BK-") && number.len() == 13, "{number}");
    assert!(token.len() >= 43, "{token}");

    let order = browser.get(&location).await;
    assert_eq!(order.status, StatusCode::OK, "{}", order.html);
    assert!(order.html.contains("Thank you!"));
    assert!(order.html.contains("Keep this page"));
    assert!(order.html.contains("1 Library Way"));
    assert_no_email_in_addresses(&order);
    assert_eq!(
        order.headers["cache-control"], "private, no-store",
        "a page opened by a token is never cached"
    );

    // Anyone else: the bare number, a wrong token, or the email in the
    // address (as old links had it) open nothing.
    let mut stranger = shop.browser();
    for path in [
        format!("/orders/{number}"),
        format!("/orders/{number}?token=wrong-token"),
        format!("/orders/{number}?email=grace%40example.com"),
        format!("/orders/{number}/cancel?email=grace%40example.com"),
    ] {
        assert_eq!(
            stranger.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    // Nor does a POST with a wrong token cancel it.
    let csrf = stranger.get("/orders/lookup").await.csrf();
    let refused = stranger
        .post(
            &format!("/orders/{number}/cancel"),
            &[("csrf", &csrf), ("token", "wrong-token")],
        )
        .await;
    assert_no_email_in_addresses(&refused);
    assert!(
        browser.get(&location).await.html.contains(">Paid</span>"),
        "nothing was cancelled"
    );

    // The guest cancels from the page: the question, then the POST, each
    // carrying the token.
    let question_path = format!("/orders/{number}/cancel?token={token}");
    assert!(
        order.html.contains("name=\"token\" value=\""),
        "the cancel button carries the token: {}",
        order.html
    );
    let question = browser.get(&question_path).await;
    assert_eq!(question.status, StatusCode::OK, "{}", question.html);
    assert!(question.html.contains(&format!("Cancel order {number}?")));
    assert_eq!(input(&question, "token"), token);
    assert_no_email_in_addresses(&question);
    let cancelled = browser
        .post(
            &format!("/orders/{number}/cancel"),
            &[("csrf", &question.csrf()), ("token", &token)],
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::SEE_OTHER);
    assert_eq!(cancelled.location().unwrap(), location);
    let order = browser.get(&location).await;
    assert!(order.html.contains(">Cancelled</span>"), "{}", order.html);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_finds_and_cancels_the_order_by_number_and_email_posted_never_in_an_address() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    let placed = guest_checkout(&mut browser, "grace@example.com").await;
    let (number, _) = number_and_token(&placed.location().unwrap());

    // Another browser, with the number and email only.
    let mut guest = shop.browser();
    let form = guest.get("/orders/lookup").await;
    assert!(
        form.html
            .contains("action=\"/orders/lookup\" method=\"post\"")
    );
    let found = guest
        .submit(
            "/orders/lookup",
            "/orders/lookup",
            &[
                ("number", &number.to_lowercase()),
                ("email", "Grace@Example.com"),
            ],
        )
        .await;
    assert_eq!(
        found.status,
        StatusCode::OK,
        "the order, at once: {}",
        found.html
    );
    assert!(found.location().is_none());
    assert!(
        found
            .html
            .contains(&format!("Here is your order {number}."))
    );
    assert!(found.html.contains(">Paid</span>"));
    assert!(found.html.contains("1 Library Way"));
    assert_no_email_in_addresses(&found);
    assert!(found.html.contains(&format!(
        "action=\"/orders/{number}/cancel/ask\" method=\"post\""
    )));

    // Cancelling asks first (a POST: the email stays out of the address).
    let question = guest
        .post(
            &format!("/orders/{number}/cancel/ask"),
            &[("csrf", &found.csrf()), ("email", "Grace@Example.com")],
        )
        .await;
    assert_eq!(question.status, StatusCode::OK, "{}", question.html);
    assert!(question.html.contains(&format!("Cancel order {number}?")));
    assert!(question.html.contains("Keep my order"));
    assert_eq!(input(&question, "email"), "Grace@Example.com");
    assert_no_email_in_addresses(&question);
    assert!(
        browser
            .get(&placed.location().unwrap())
            .await
            .html
            .contains(">Paid</span>"),
        "asking changed nothing"
    );

    let cancelled = guest
        .post(
            &format!("/orders/{number}/cancel"),
            &[("csrf", &question.csrf()), ("email", "Grace@Example.com")],
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.html);
    assert_no_email_in_addresses(&cancelled);
    assert!(
        cancelled.html.contains("is cancelled"),
        "{}",
        cancelled.html
    );
    assert!(cancelled.html.contains(">Cancelled</span>"));
    assert!(
        !cancelled.html.contains("/cancel/ask"),
        "no more cancel button"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_email_and_a_missing_order_look_the_same_and_lookups_are_throttled() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    let placed = guest_checkout(&mut browser, "grace@example.com").await;
    let (number, token) = number_and_token(&placed.location().unwrap());

    let mut stranger = shop.browser();
    let mut lookup = async |number: &str, email: &str| {
        stranger
            .submit(
                "/orders/lookup",
                "/orders/lookup",
                &[("number", number), ("email", email)],
            )
            .await
    };
    let wrong_email = lookup(&number, "someone@example.com").await;
    let no_such_order = lookup("BK-ZZZZZZZZZZ", "someone@example.com").await;
    assert_eq!(wrong_email.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong_email.status, no_such_order.status);
    let message = "We found no order with that number and email.";
    assert!(wrong_email.html.contains(message));
    assert_eq!(
        wrong_email
            .html
            .replace(&number, "N")
            .replace(&wrong_email.csrf(), "C"),
        no_such_order
            .html
            .replace("BK-ZZZZZZZZZZ", "N")
            .replace(&no_such_order.csrf(), "C"),
        "the same page but for the number typed"
    );
    assert_no_email_in_addresses(&wrong_email);

    // Past the backend's limit (10 per number), even the right email is
    // refused for a while, and the page says so.
    for _ in 0..9 {
        lookup(&number, "someone@example.com").await;
    }
    let throttled = lookup(&number, "grace@example.com").await;
    assert_eq!(
        throttled.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        throttled.html
    );
    assert!(throttled.html.contains("Too many tries"));
    // The confirmation link still opens the order.
    let order = browser
        .get(&format!("/orders/{number}?token={token}"))
        .await;
    assert_eq!(order.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customers_order_is_not_found_by_number_and_email() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    browser
        .sign_up("ada@example.com", "Ada", "correct horse battery")
        .await;
    let placed = guest_checkout(&mut browser, "").await;
    let location = placed.location().unwrap();
    assert!(!location.contains('?'), "a customer's link: {location}");
    let number = location.trim_start_matches("/orders/").to_owned();
    assert_eq!(browser.get(&location).await.status, StatusCode::OK);

    let found = shop
        .browser()
        .submit(
            "/orders/lookup",
            "/orders/lookup",
            &[("number", &number), ("email", "ada@example.com")],
        )
        .await;
    assert_eq!(found.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!found.html.contains("1 Library Way"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_emailed_confirmation_link_opens_the_order_page_which_says_where_the_receipt_went() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    let placed = guest_checkout(&mut browser, "grace@example.com").await;
    let (number, checkout_token) = number_and_token(&placed.location().unwrap());
    let order = browser.get(&placed.location().unwrap()).await;
    assert!(
        order
            .html
            .contains("Receipt sent to</dt><dd>grace@example.com"),
        "{}",
        order.html
    );

    // The confirmation email's link, as the mail server received it.
    let link = shop
        .mailed_link("grace@example.com", &format!("/orders/{number}"))
        .await;
    let emailed = link
        .split_once("?token=")
        .map(|(_, token)| token.to_owned())
        .expect("the emailed link carries a token");
    let emailed = emailed.as_str();
    assert_ne!(emailed, checkout_token);

    // Opened from a mail client: a browser with no cookies.
    let mut reader = shop.browser();
    let from_email = reader
        .get(&format!("/orders/{number}?token={emailed}"))
        .await;
    assert_eq!(from_email.status, StatusCode::OK, "{}", from_email.html);
    assert!(
        from_email
            .html
            .contains(&format!("<h1>Order {number}</h1>"))
    );
    assert!(from_email.html.contains(">Paid</span>"));
    assert!(from_email.html.contains("1 Library Way"));
    assert_no_email_in_addresses(&from_email);
    // It leads to cancelling, with the same token.
    let question = reader
        .get(&format!("/orders/{number}/cancel?token={emailed}"))
        .await;
    assert_eq!(question.status, StatusCode::OK, "{}", question.html);
    assert_eq!(input(&question, "token"), emailed);

    // An order still awaiting its payment (a slow card provider) has had
    // no receipt yet, and its page does not claim one.
    let mut conn = <diesel_async::AsyncPgConnection as diesel_async::AsyncConnection>::establish(
        &shop.database.url,
    )
    .await
    .unwrap();
    diesel_async::SimpleAsyncConnection::batch_execute(
        &mut conn,
        &format!(
            "UPDATE orders SET status = 'PENDING_PAYMENT', paid_at = NULL WHERE number = '{number}'"
        ),
    )
    .await
    .unwrap();
    let pending = reader
        .get(&format!("/orders/{number}?token={emailed}"))
        .await;
    assert!(
        !pending.html.contains("Receipt sent to"),
        "{}",
        pending.html
    );
    assert!(
        pending
            .html
            .contains("sent to grace@example.com once the payment is confirmed"),
        "{}",
        pending.html
    );
}
