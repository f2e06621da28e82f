//! The purchase pages (cart, checkout, orders), driven through the
//! storefront's router against a real backend, as a shopper's browser would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::http::StatusCode;
use support::{Browser, MIDDLEMARCH as BOOK, Page, Shop, add_book, input, text_of};

const APPROVED: &str = "4242 4242 4242 4242";
const DECLINED: &str = "4000 0000 0000 0002";

/// The shipping address every checkout here uses.
const ADDRESS: [(&str, &str); 6] = [
    ("name", "Ada Reader"),
    ("line1", "1 Library Way"),
    ("line2", ""),
    ("city", "Springfield"),
    ("postal_code", "12345"),
    ("country", "US"),
];

/// Submits the checkout form as shown (its CSRF token and idempotency key)
/// with `fields` and the standard address.
async fn check_out(browser: &mut Browser, form: &Page, fields: &[(&str, &str)]) -> Page {
    let csrf = form.csrf();
    let key = input(form, "idempotency_key");
    let mut all = vec![
        ("csrf", csrf.as_str()),
        ("idempotency_key", key.as_str()),
        ("shipping_method", "STANDARD"),
    ];
    all.extend_from_slice(&ADDRESS);
    all.extend_from_slice(fields);
    browser.post("/checkout", &all).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_fills_a_cart_checks_out_and_sees_the_paid_order() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();

    let empty = browser.get("/cart").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty.html.contains("Your cart is empty"));

    let (book_id, price) = add_book(&mut browser, "1").await;
    assert!(
        browser.cookies.contains_key("bookstore_cart"),
        "a guest cart was started"
    );
    let cart = browser.get("/cart").await;
    assert_eq!(cart.status, StatusCode::OK);
    assert!(cart.html.contains("Added to your cart"), "the flash");
    assert!(cart.html.contains("href=\"/books/middlemarch\""));
    assert!(cart.html.contains("Middlemarch"));
    assert_eq!(text_of(&cart, "subtotal"), price, "the server's price");
    assert!(cart.html.contains("<label for=\"quantity-1\""));
    assert!(cart.html.contains("href=\"/checkout\""));

    // Two copies.
    let updated = browser
        .submit(
            "/cart",
            "/cart/update",
            &[("book_id", &book_id), ("quantity", "2")],
        )
        .await;
    assert_eq!(updated.status, StatusCode::SEE_OTHER);
    assert_eq!(updated.location().as_deref(), Some("/cart"));
    let cart = browser.get("/cart").await;
    assert!(cart.html.contains("Subtotal (2 items)"), "{}", cart.html);
    assert_ne!(text_of(&cart, "subtotal"), price);

    // More than in stock: refused, with the reason.
    let refused = browser
        .submit(
            "/cart",
            "/cart/update",
            &[("book_id", &book_id), ("quantity", "99")],
        )
        .await;
    assert_eq!(refused.location().as_deref(), Some("/cart"));
    let cart = browser.get("/cart").await;
    assert!(cart.html.contains("in stock"), "{}", cart.html);
    assert!(cart.html.contains("value=\"2\""), "the cart is unchanged");

    // Removed, then added again.
    let removed = browser
        .submit("/cart", "/cart/remove", &[("book_id", &book_id)])
        .await;
    assert_eq!(removed.location().as_deref(), Some("/cart"));
    let cart = browser.get("/cart").await;
    assert!(cart.html.contains("Removed from your cart"));
    assert!(cart.html.contains("Your cart is empty"));
    add_book(&mut browser, "1").await;

    let form = browser.get("/checkout").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.html.contains("<label for=\"email\""),
        "guests give an email"
    );
    assert!(form.html.contains("<label for=\"postal_code\""));
    assert!(form.html.contains("value=\"STANDARD\" checked"));
    assert!(form.html.contains("4242 4242 4242 4242"), "the test cards");
    let placed = check_out(
        &mut browser,
        &form,
        &[("email", "guest@example.com"), ("card_number", APPROVED)],
    )
    .await;
    assert_eq!(placed.status, StatusCode::SEE_OTHER, "{}", placed.html);
    let location = placed.location().unwrap();
    assert!(
        location.starts_with("/orders/BK-") && location.contains("?token="),
        "the confirmation links to the order with its token: {location}"
    );
    assert!(!location.contains("email"), "{location}");
    assert!(
        !browser.cookies.contains_key("bookstore_cart"),
        "the checked-out cart is forgotten"
    );
    let number = location
        .trim_start_matches("/orders/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();

    let order = browser.get(&location).await;
    assert_eq!(order.status, StatusCode::OK);
    assert!(
        order
            .html
            .contains(&format!("Thank you! Your order {number} is placed."))
    );
    assert!(order.html.contains(&format!("<h1>Order {number}</h1>")));
    assert!(order.html.contains(">Paid</span>"), "{}", order.html);
    assert!(order.html.contains("Middlemarch"));
    assert!(order.html.contains("1 Library Way"));
    assert!(
        order.html.contains("Shipping (Standard delivery)"),
        "the method as the checkout named it: {}",
        order.html
    );
    assert!(order.html.contains("ending 4242"));
    assert!(order.html.contains(&price));
    assert!(order.html.contains("$4.99"), "standard shipping");
    assert!(
        !order.html.contains(APPROVED),
        "the card number is not shown"
    );

    let cart = browser.get("/cart").await;
    assert!(cart.html.contains("Your cart is empty"));

    // Another browser needs the token (or the number and email, posted)
    // to see or cancel the order.
    let mut stranger = shop.browser();
    let path = format!("/orders/{number}");
    assert_eq!(stranger.get(&path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        stranger
            .get(&format!("{path}?email=guest%40example.com"))
            .await
            .status,
        StatusCode::NOT_FOUND,
        "an email in the address opens nothing"
    );
    let csrf = stranger.get("/orders/lookup").await.csrf();
    let refused = stranger
        .post(
            &format!("{path}/cancel"),
            &[("csrf", &csrf), ("email", "someone@example.com")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let lookup = stranger
        .submit(
            "/orders/lookup",
            "/orders/lookup",
            &[("number", &number), ("email", "someone@example.com")],
        )
        .await;
    assert_eq!(lookup.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(lookup.html.contains("id=\"number-error\""));
    assert!(lookup.html.contains("aria-invalid=\"true\""));
    assert!(lookup.html.contains("value=\"someone@example.com\""));
    let found = stranger
        .submit(
            "/orders/lookup",
            "/orders/lookup",
            &[
                ("number", &number.to_lowercase()),
                ("email", "Guest@Example.com"),
            ],
        )
        .await;
    assert_eq!(
        found.status,
        StatusCode::OK,
        "the order itself, no redirect"
    );
    assert!(
        found.html.contains(">Paid</span>"),
        "the wrong email cancelled nothing"
    );

    // The guest cancels from the confirmation page: the button carries the
    // token, and so does the question page's form.
    let order = browser.get(&location).await;
    let token = location.split("?token=").nth(1).unwrap().to_owned();
    assert!(
        order
            .html
            .contains(&format!("name=\"token\" value=\"{token}\""))
    );
    let question = browser.get(&format!("{path}/cancel?token={token}")).await;
    let cancelled = browser
        .post(
            &format!("{path}/cancel"),
            &[("csrf", &question.csrf()), ("token", &token)],
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::SEE_OTHER);
    assert_eq!(cancelled.location().unwrap(), location);
    let order = browser.get(&location).await;
    assert!(order.html.contains(">Cancelled</span>"), "{}", order.html);
    assert!(order.html.contains("is cancelled"));
    assert!(!order.html.contains("/cancel\""), "no more cancel button");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declined_card_is_shown_on_the_form_which_keeps_the_address() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    add_book(&mut browser, "1").await;
    let form = browser.get("/checkout").await;
    let first_key = input(&form, "idempotency_key");
    let declined = check_out(
        &mut browser,
        &form,
        &[
            ("email", "guest@example.com"),
            ("region", "IL"),
            ("card_number", DECLINED),
        ],
    )
    .await;
    assert_eq!(
        declined.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        declined.html
    );
    assert!(declined.html.contains("id=\"card_number-error\""));
    assert!(
        declined
            .html
            .contains("The card was declined; nothing was charged.")
    );
    assert!(
        declined.html.contains(
            "aria-invalid=\"true\" aria-describedby=\"card_number-hint card_number-error\""
        )
    );
    for value in [
        "guest@example.com",
        "Ada Reader",
        "1 Library Way",
        "Springfield",
        "IL",
        "12345",
        "US",
    ] {
        assert!(
            declined.html.contains(&format!("value=\"{value}\"")),
            "{value} is kept"
        );
    }
    assert!(
        !declined.html.contains(&format!("value=\"{DECLINED}\"")),
        "the card number is never sent back"
    );
    assert!(
        browser.cookies.contains_key("bookstore_cart"),
        "the cart stays"
    );
    assert_ne!(
        input(&declined, "idempotency_key"),
        first_key,
        "the next try is a new attempt"
    );

    // Another card, from the same form: placed.
    let placed = check_out(
        &mut browser,
        &declined,
        &[("email", "guest@example.com"), ("card_number", APPROVED)],
    )
    .await;
    assert_eq!(placed.status, StatusCode::SEE_OTHER, "{}", placed.html);
    let order = browser.get(&placed.location().unwrap()).await;
    assert!(order.html.contains(">Paid</span>"), "{}", order.html);
}

#[tokio::test(flavor = "multi_thread")]
async fn checkout_errors_are_shown_next_to_their_fields() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    add_book(&mut browser, "1").await;
    let form = browser.get("/checkout").await;
    let csrf = form.csrf();
    let key = input(&form, "idempotency_key");
    let refused = browser
        .post(
            "/checkout",
            &[
                ("csrf", &csrf),
                ("idempotency_key", &key),
                ("email", "guest@example.com"),
                ("name", "Ada Reader"),
                ("line1", "1 Library Way"),
                ("city", "Springfield"),
                ("postal_code", "   "),
                ("country", "US"),
                ("shipping_method", "EXPRESS"),
                ("card_number", APPROVED),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.html.contains("id=\"postal_code-error\""));
    assert!(
        refused
            .html
            .contains("aria-invalid=\"true\" aria-describedby=\"postal_code-error\"")
    );
    assert!(refused.html.contains("value=\"EXPRESS\" checked"));
    assert!(!refused.html.contains(&format!("value=\"{APPROVED}\"")));

    // A double click sends the form twice, both with the cart cookie: one
    // order, charged once.
    let fields = [("email", "guest@example.com"), ("card_number", APPROVED)];
    let cookies = browser.cookies.clone();
    let first = check_out(&mut browser, &refused, &fields).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.html);
    browser.cookies = cookies;
    let second = check_out(&mut browser, &refused, &fields).await;
    assert_eq!(second.status, StatusCode::SEE_OTHER, "{}", second.html);
    let (first, second) = (first.location().unwrap(), second.location().unwrap());
    let order_of = |location: &str| location.split('?').next().unwrap().to_owned();
    assert_eq!(order_of(&second), order_of(&first), "one order");
    // The page shown is the second answer's; its link opens the order (the
    // retry replaced the first link's token).
    assert_eq!(browser.get(&first).await.status, StatusCode::NOT_FOUND);
    let order = browser.get(&second).await;
    assert_eq!(
        order.html.matches("ending 4242").count(),
        1,
        "one payment: {}",
        order.html
    );
    assert!(order.html.contains("$4.99"), "standard shipping");
}

#[tokio::test(flavor = "multi_thread")]
async fn forms_without_the_right_csrf_token_change_nothing() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    let book = browser.get(BOOK).await;
    let book_id = input(&book, "book_id");
    let fields = [
        ("book_id", book_id.as_str()),
        ("slug", "middlemarch"),
        ("quantity", "1"),
    ];
    let missing = browser.post("/cart/add", &fields).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let mut wrong = vec![("csrf", "not-the-token")];
    wrong.extend_from_slice(&fields);
    assert_eq!(
        browser.post("/cart/add", &wrong).await.status,
        StatusCode::FORBIDDEN
    );
    assert!(!browser.cookies.contains_key("bookstore_cart"));
    assert!(
        browser
            .get("/cart")
            .await
            .html
            .contains("Your cart is empty")
    );

    // With a cart, the other forms refuse too.
    add_book(&mut browser, "1").await;
    for (action, fields) in [
        (
            "/cart/update",
            vec![("book_id", book_id.as_str()), ("quantity", "3")],
        ),
        ("/cart/remove", vec![("book_id", book_id.as_str())]),
        ("/checkout", {
            let mut fields = ADDRESS.to_vec();
            fields.extend([
                ("email", "guest@example.com"),
                ("shipping_method", "STANDARD"),
                ("card_number", APPROVED),
            ]);
            fields
        }),
        (
            "/orders/lookup",
            vec![("number", "BK-100001"), ("email", "a@b.c")],
        ),
        ("/orders/BK-100001/cancel", vec![("email", "a@b.c")]),
        ("/orders/BK-100001/cancel/ask", vec![("email", "a@b.c")]),
    ] {
        assert_eq!(
            browser.post(action, &fields).await.status,
            StatusCode::FORBIDDEN,
            "{action}"
        );
    }
    let cart = browser.get("/cart").await;
    assert!(cart.html.contains("value=\"1\""), "the cart is unchanged");
    assert!(browser.cookies.contains_key("bookstore_cart"));

    // Another browser's token is no good either.
    let other = shop.browser().get("/orders/lookup").await.csrf();
    let stolen = [("csrf", other.as_str()), ("book_id", book_id.as_str())];
    assert_eq!(
        browser.post("/cart/remove", &stolen).await.status,
        StatusCode::FORBIDDEN
    );
    assert!(browser.get("/cart").await.html.contains("value=\"1\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn order_history_is_for_signed_in_customers() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    let page = browser.get("/account/orders").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        page.location().as_deref(),
        Some("/login?next=/account/orders")
    );

    // A stale session cookie: sent to sign in again, the cookie dropped.
    browser
        .cookies
        .insert("bookstore_session".to_owned(), "expired".to_owned());
    let page = browser.get("/account/orders").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(!browser.cookies.contains_key("bookstore_session"));

    // A customer: a guest cart goes with them when they register and sign
    // in (registering alone does not sign in, and keeps the guest cart).
    add_book(&mut browser, "2").await;
    let registered = browser
        .submit(
            "/register",
            "/register",
            &[
                ("email", "ada@example.com"),
                ("name", "Ada"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(
        registered.location().as_deref(),
        Some("/login"),
        "{}",
        registered.html
    );
    assert!(!browser.cookies.contains_key("bookstore_session"));
    assert!(browser.cookies.contains_key("bookstore_cart"));
    browser
        .sign_in("ada@example.com", "correct horse battery")
        .await;
    assert!(browser.cookies.contains_key("bookstore_session"));
    let cart = browser.get("/cart").await;
    assert!(cart.html.contains("value=\"2\""), "{}", cart.html);

    let empty = browser.get("/account/orders").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty.html.contains("You have not ordered anything yet"));

    let form = browser.get("/checkout").await;
    assert!(
        !form.html.contains("<label for=\"email\""),
        "the account's email is used"
    );
    let placed = check_out(&mut browser, &form, &[("card_number", APPROVED)]).await;
    assert_eq!(placed.status, StatusCode::SEE_OTHER, "{}", placed.html);
    let location = placed.location().unwrap();
    assert!(!location.contains("email"), "{location}");
    let number = location.trim_start_matches("/orders/").to_owned();
    let order = browser.get(&location).await;
    assert!(order.html.contains(">Paid</span>"));
    assert!(order.html.contains("ada@example.com"));

    let history = browser.get("/account/orders").await;
    assert_eq!(history.status, StatusCode::OK);
    assert!(history.html.contains(&format!("href=\"/orders/{number}\"")));
    assert!(history.html.contains("1 order,"));
    assert!(history.html.contains("<td>2</td>"), "two copies");

    // The customer's order is theirs alone.
    assert_eq!(
        shop.browser().get(&location).await.status,
        StatusCode::NOT_FOUND
    );
}

/// Sets the book's stock behind the API's back (as a warehouse system
/// might), clearing the backend's cached copy of it.
async fn set_stock(shop: &Shop, book_id: &str, stock: i64) {
    use base64::Engine;
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(book_id)
        .unwrap();
    let id: i64 = String::from_utf8(decoded)
        .unwrap()
        .trim_start_matches("Book:")
        .parse()
        .unwrap();
    let mut conn = <diesel_async::AsyncPgConnection as diesel_async::AsyncConnection>::establish(
        &shop.database.url,
    )
    .await
    .unwrap();
    bookstore_test_support::execute(
        &mut conn,
        &format!("UPDATE books SET stock = {stock} WHERE id = {id}"),
    )
    .await;
    let cache = bookstore::cache::Cache::new(
        Some(&bookstore_test_support::redis_url()),
        &shop.database.name,
        std::time::Duration::from_secs(60),
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(1),
    )
    .unwrap();
    cache
        .invalidate(&[
            bookstore::cache::Entry::Entity(bookstore::cache::Kind::Book, id),
            bookstore::cache::Entry::BookCounts,
        ])
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cart_lines_that_cannot_be_ordered_say_why_and_block_checkout() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    let (book_id, _) = add_book(&mut browser, "3").await;

    set_stock(&shop, &book_id, 2).await;
    let cart = browser.get("/cart").await;
    assert!(
        cart.html.contains("Only 2 in stock: lower the quantity"),
        "{}",
        cart.html
    );
    assert!(cart.html.contains("aria-describedby=\"problem-1\""));
    assert!(!cart.html.contains("href=\"/checkout\""));
    let checkout = browser.get("/checkout").await;
    assert_eq!(checkout.status, StatusCode::SEE_OTHER);
    assert_eq!(checkout.location().as_deref(), Some("/cart"));

    set_stock(&shop, &book_id, 0).await;
    let cart = browser.get("/cart").await;
    assert!(cart.html.contains("Out of stock now"), "{}", cart.html);
    assert!(!cart.html.contains("href=\"/checkout\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_an_order_asks_for_confirmation_first() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    add_book(&mut browser, "1").await;
    let form = browser.get("/checkout").await;
    let placed = check_out(
        &mut browser,
        &form,
        &[("email", "careful@example.com"), ("card_number", APPROVED)],
    )
    .await;
    assert_eq!(placed.status, StatusCode::SEE_OTHER, "{}", placed.html);
    let location = placed.location().unwrap();
    let number = location
        .trim_start_matches("/orders/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();

    // The order page's button only leads to the question: no form on it
    // cancels anything.
    let order = browser.get(&location).await;
    assert!(
        order.html.contains(&format!(
            "<form action=\"/orders/{number}/cancel\" method=\"get\""
        )),
        "{}",
        order.html
    );
    assert!(!order.html.contains("method=\"post\" class=\"form\""));

    // The question: what is being cancelled, and a button that does it.
    let token = location.split("?token=").nth(1).unwrap().to_owned();
    let question = browser
        .get(&format!("/orders/{number}/cancel?token={token}"))
        .await;
    assert_eq!(question.status, StatusCode::OK, "{}", question.html);
    assert!(question.html.contains(&format!("Cancel order {number}?")));
    assert!(question.html.contains("Middlemarch"));
    assert!(question.html.contains(&text_of(&order, "total")));
    assert!(question.html.contains(&format!(
        "<form action=\"/orders/{number}/cancel\" method=\"post\""
    )));
    assert!(question.html.contains("Keep my order"), "a way back");
    // Looking at the question changed nothing.
    let still = browser.get(&location).await;
    assert!(still.html.contains(">Paid</span>"), "{}", still.html);

    // A stranger gets no question about someone else's order.
    assert_eq!(
        shop.browser()
            .get(&format!("/orders/{number}/cancel"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Yes: cancelled.
    let cancelled = browser
        .post(
            &format!("/orders/{number}/cancel"),
            &[("csrf", &question.csrf()), ("token", &token)],
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::SEE_OTHER);
    let order = browser.get(&location).await;
    assert!(order.html.contains(">Cancelled</span>"), "{}", order.html);

    // Once cancelled, the question is not asked again.
    let again = browser
        .get(&format!("/orders/{number}/cancel?token={token}"))
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(again.location().unwrap(), location);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cross_site_post_with_a_valid_token_changes_nothing() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    let book = browser.get(BOOK).await;
    let book_id = input(&book, "book_id");
    let csrf = book.csrf();
    let fields = [
        ("csrf", csrf.as_str()),
        ("book_id", book_id.as_str()),
        ("slug", "middlemarch"),
        ("quantity", "1"),
    ];
    let refused = browser
        .post_with("/cart/add", &fields, &[("sec-fetch-site", "cross-site")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!browser.cookies.contains_key("bookstore_cart"));
    let added = browser
        .post_with("/cart/add", &fields, &[("sec-fetch-site", "same-origin")])
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    assert!(browser.cookies.contains_key("bookstore_cart"));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_checkout_error_is_shown_at_once() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    add_book(&mut browser, "1").await;
    let form = browser.get("/checkout").await;
    let csrf = form.csrf();
    let key = input(&form, "idempotency_key");
    let refused = browser
        .post(
            "/checkout",
            &[
                ("csrf", csrf.as_str()),
                ("idempotency_key", key.as_str()),
                ("shipping_method", "STANDARD"),
                ("email", "guest@example.com"),
                ("name", "Ada Reader"),
                ("line1", ""),
                ("city", "Springfield"),
                ("postal_code", " "),
                ("country", "USA"),
                ("card_number", "1234"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["line1", "postal_code", "country", "card_number"] {
        assert!(
            refused.html.contains(&format!("id=\"{field}-error\"")),
            "{field}'s error is shown: {}",
            refused.html
        );
    }
}
