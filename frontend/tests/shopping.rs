//! Issue #15 in the storefront, through its router against a real backend:
//! the checkout's total with shipping before "Place order" and its update
//! without JavaScript, the header's cart count (never in a shared page),
//! saved addresses, buying again, and numbered catalog pages (the number in
//! the title, checked, derived at the ends; past the end is 404).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::http::{StatusCode, header};
use support::{Page, Shop, add_book, input, unescape};

const APPROVED: &str = "4242 4242 4242 4242";

/// The text inside the first element whose opening tag ends with `tag_end`.
fn text_after(page: &Page, tag_end: &str) -> String {
    page.html
        .split(tag_end)
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_else(|| panic!("no {tag_end} on the page: {}", page.html))
        .to_owned()
}

fn title(page: &Page) -> String {
    unescape(&text_after(page, "<title>"))
}

/// The `href` of the link with `rel` or text `label`.
fn link(page: &Page, label: &str) -> Option<String> {
    let at = page.html.find(label)?;
    let before = &page.html[..at];
    let href = before.rsplit("href=\"").next()?;
    Some(unescape(href.split('"').next()?))
}

const ADDRESS: [(&str, &str); 6] = [
    ("name", "Ada Reader"),
    ("line1", "1 Library Way"),
    ("line2", ""),
    ("city", "Springfield"),
    ("postal_code", "12345"),
    ("country", "US"),
];

fn cents(money: &str) -> i64 {
    let digits: String = money.chars().filter(char::is_ascii_digit).collect();
    digits.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn checkout_shows_the_total_with_shipping_and_updates_it_without_javascript() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    add_book(&mut browser, "2").await;

    let cart = browser.get("/cart").await;
    assert!(
        cart.html
            .contains("<a class=\"button primary checkout\" href=\"/checkout\">Check out</a>"),
        "{}",
        cart.html
    );

    let form = browser.get("/checkout").await;
    let subtotal = cents(&text_after(&form, "<dt>Books</dt><dd>"));
    let total = cents(&text_after(&form, "<dd class=\"total\">"));
    assert_eq!(total, subtotal + 499, "standard delivery, before placing");
    assert!(
        form.html
            .contains("<dt>Standard delivery</dt><dd>$4.99</dd>")
    );
    let place_at = form.html.find("Place order").unwrap();
    assert!(
        form.html.find("Order total").unwrap() < place_at,
        "the total comes before the button"
    );

    // "Update total" with Express chosen: the same form, the new total, what
    // was typed kept, nothing placed.
    let csrf = form.csrf();
    let key = input(&form, "idempotency_key");
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("idempotency_key", key.as_str()),
        ("email", "guest@example.com"),
        ("shipping_method", "EXPRESS"),
        ("action", "update"),
        ("card_number", APPROVED),
    ];
    fields.extend_from_slice(&ADDRESS);
    let updated = browser.post("/checkout", &fields).await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.html);
    let express_total = cents(&text_after(&updated, "<dd class=\"total\">"));
    assert_eq!(express_total, subtotal + 1499);
    assert!(updated.html.contains("value=\"EXPRESS\" checked"));
    assert!(updated.html.contains("value=\"1 Library Way\""));
    assert!(
        updated
            .html
            .contains("name=\"card_number\" type=\"text\" value=\"\""),
        "the card is never shown again"
    );
    assert!(
        browser.get("/cart").await.html.contains("Middlemarch"),
        "nothing was ordered"
    );

    // Placing it charges exactly that total.
    let placing: Vec<(&str, &str)> = fields
        .iter()
        .filter(|(name, _)| *name != "action")
        .copied()
        .collect();
    let form = browser.post("/checkout", &placing).await;
    assert_eq!(form.status, StatusCode::SEE_OTHER, "{}", form.html);
    let order = browser.get(&form.location().unwrap()).await;
    assert_eq!(
        cents(&text_after(&order, "<td class=\"total\">")),
        express_total
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_header_counts_the_cart_but_never_in_a_shared_page() {
    let shop = Shop::new().await;
    let anonymous = shop.browser().get("/books").await;
    assert!(
        anonymous.headers[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .starts_with("public"),
    );
    assert!(!anonymous.html.contains("class=\"cart-count\""));

    let mut shopper = shop.browser();
    add_book(&mut shopper, "3").await;
    // The flash ("Added to your cart") is shown once, on the cart page: the
    // pages below are private for the count alone.
    assert!(
        shopper
            .get("/cart")
            .await
            .html
            .contains("Added to your cart")
    );
    for path in ["/books", "/", "/cart", "/contributors/george-eliot"] {
        let page = shopper.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(
            page.html.contains(
                "Cart <span class=\"cart-count\">(3<span class=\"visually-hidden\"> items</span>)</span>"
            ),
            "{path}: {}",
            page.html
        );
        assert_eq!(
            page.headers[header::CACHE_CONTROL],
            "private, no-store",
            "{path}: a page with a count is the shopper's alone"
        );
        assert!(!page.headers.contains_key(header::ETAG), "{path}");
    }

    // The kept copy of the catalog page holds no count: the next anonymous
    // visitor gets the public page without it.
    let again = shop.browser().get("/books").await;
    assert!(
        !again.html.contains("class=\"cart-count\""),
        "{}",
        again.html
    );
    assert!(
        again.headers[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .starts_with("public")
    );

    // Signed in: the customer's cart, found by the session.
    let mut customer = shop.browser();
    customer
        .sign_up("counted@example.com", "Counted", "correct horse battery")
        .await;
    let empty = customer.get("/books").await;
    assert!(
        !empty.html.contains("class=\"cart-count\""),
        "an empty cart shows no count"
    );
    add_book(&mut customer, "1").await;
    let page = customer.get("/books").await;
    assert!(
        page.html
            .contains("(1<span class=\"visually-hidden\"> item</span>)")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_saves_an_address_ships_to_it_and_buys_again() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    let signed_out = browser.get("/account/addresses").await;
    assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
    browser
        .sign_up("ada@example.com", "Ada Reader", "correct horse battery")
        .await;

    // A bad address keeps the form, each error at its field.
    let mut bad = ADDRESS.to_vec();
    bad[5] = ("country", "USA");
    let refused = browser
        .submit("/account/addresses", "/account/addresses", &bad)
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.html.contains("id=\"country-error\""),
        "{}",
        refused.html
    );
    assert!(refused.html.contains("value=\"1 Library Way\""));

    let added = browser
        .submit("/account/addresses", "/account/addresses", &ADDRESS)
        .await;
    assert_eq!(added.location().as_deref(), Some("/account/addresses"));
    let list = browser.get("/account/addresses").await;
    assert!(list.html.contains("Address saved."));
    assert!(list.html.contains("1 Library Way"));
    assert!(list.html.contains(">Default</span>"));

    // Checkout offers it, picked; the new-address fields are optional then.
    add_book(&mut browser, "1").await;
    let form = browser.get("/checkout").await;
    let saved_id = form
        .html
        .split("name=\"saved_address\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    assert!(form.html.contains(&format!("value=\"{saved_id}\" checked")));
    assert!(!form.html.contains("id=\"line1\" name=\"line1\" type=\"text\" value=\"\" autocomplete=\"address-line1\" required"));
    let csrf = form.csrf();
    let key = input(&form, "idempotency_key");
    let placed = browser
        .post(
            "/checkout",
            &[
                ("csrf", &csrf),
                ("idempotency_key", &key),
                ("saved_address", &saved_id),
                ("shipping_method", "STANDARD"),
                ("card_number", APPROVED),
            ],
        )
        .await;
    assert_eq!(placed.status, StatusCode::SEE_OTHER, "{}", placed.html);
    let order_path = placed.location().unwrap();
    let order = browser.get(&order_path).await;
    assert!(order.html.contains("1 Library Way"));
    assert!(order.html.contains("Buy again"));
    assert!(!browser.get("/cart").await.html.contains("Middlemarch"));

    // Buy again: the book is back in the cart, and the cart says so.
    let again = browser
        .submit(&order_path, &format!("{order_path}/buy-again"), &[])
        .await;
    assert_eq!(again.location().as_deref(), Some("/cart"), "{}", again.html);
    let cart = browser.get("/cart").await;
    assert!(
        cart.html.contains("in your cart (1 in all)"),
        "{}",
        cart.html
    );
    assert!(cart.html.contains("Middlemarch"));

    // Another customer's order: nothing added.
    let mut other = shop.browser();
    other
        .sign_up("bob@example.com", "Bob", "correct horse battery")
        .await;
    let csrf = other.get("/account").await.csrf();
    let refused = other
        .post(&format!("{order_path}/buy-again"), &[("csrf", &csrf)])
        .await;
    assert_eq!(refused.location().as_deref(), Some(order_path.as_str()));
    assert!(!other.get("/cart").await.html.contains("Middlemarch"));

    // Deleting it.
    let list = browser.get("/account/addresses").await;
    let deleted = browser
        .post(
            &format!("/account/addresses/{saved_id}"),
            &[("csrf", &list.csrf()), ("action", "delete")],
        )
        .await;
    assert_eq!(deleted.location().as_deref(), Some("/account/addresses"));
    let list = browser.get("/account/addresses").await;
    assert!(list.html.contains("Address deleted."));
    assert!(list.html.contains("no saved addresses"));
}

#[tokio::test(flavor = "multi_thread")]
async fn catalog_pages_are_numbered_checked_and_end_in_a_404() {
    let shop = Shop::new().await;
    let mut browser = shop.browser();
    let first = browser.get("/books").await;
    assert_eq!(title(&first), "All books, page 1 of 24 · Bookstore");
    assert!(first.html.contains("Page 1 of 24"));
    assert!(first.html.contains("558 books · page 1 of 24"));

    let next = link(&first, "Next ›").unwrap();
    assert!(next.contains("page=2&check="), "{next}");
    let second = browser.get(&next).await;
    assert_eq!(title(&second), "All books, page 2 of 24 · Bookstore");

    // An edited number is not believed (the rows are the cursor's).
    let edited = browser.get(&next.replace("page=2", "page=7")).await;
    assert_eq!(edited.status, StatusCode::OK);
    assert_eq!(title(&edited), "All books · Bookstore");
    assert!(edited.html.contains("24 pages"), "{}", edited.html);
    assert!(!edited.html.contains("page 7"));
    // A number past the last page is not found, with or without a check.
    let past = browser.get(&next.replace("page=2", "page=25")).await;
    assert_eq!(past.status, StatusCode::NOT_FOUND);
    assert_eq!(
        browser.get("/books?page=99").await.status,
        StatusCode::NOT_FOUND
    );
    // A number without a cursor is page 1 (derived), not what it says.
    let typed = browser.get("/books?page=3").await;
    assert_eq!(title(&typed), "All books, page 1 of 24 · Bookstore");

    // The last page (derived), back one (its number checked), then past
    // the last book: not found rather than "558 books … no books match".
    let last = browser.get(&link(&second, "Last »").unwrap()).await;
    assert_eq!(title(&last), "All books, page 24 of 24 · Bookstore");
    assert_eq!(last.html.matches("class=\"book-card\"").count(), 6);
    let before_last = browser.get(&link(&last, "‹ Previous").unwrap()).await;
    assert_eq!(title(&before_last), "All books, page 23 of 24 · Bookstore");
    assert_eq!(before_last.html.matches("class=\"book-card\"").count(), 24);
    let back_to_last = browser.get(&link(&before_last, "Next ›").unwrap()).await;
    assert_eq!(title(&back_to_last), "All books, page 24 of 24 · Bookstore");
    assert!(link(&back_to_last, "Next ›").is_none());
    // Past the last book (the list's end cursor, as the API gives it).
    let answer: serde_json::Value = reqwest::Client::new()
        .post(&shop.graphql_url)
        .json(&serde_json::json!({"query": "{ books(last: 1) { pageInfo { endCursor } } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let end = answer["data"]["books"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let past_end = browser
        .get(&format!(
            "/books?{}",
            serde_urlencoded::to_string([("after", &end)]).unwrap()
        ))
        .await;
    assert_eq!(past_end.status, StatusCode::NOT_FOUND, "{}", past_end.html);
    // A tampered last-page size is corrected.
    let wrong_tail = browser.get("/books?tail=3").await;
    assert_eq!(wrong_tail.status, StatusCode::SEE_OTHER);
    assert!(
        wrong_tail
            .location()
            .unwrap()
            .starts_with("/books?tail=6&page=24&check=")
    );

    // No results at all is not an error.
    let none = browser.get("/books?q=zzzzqqqqxxxx").await;
    assert_eq!(none.status, StatusCode::OK);
    assert!(none.html.contains("No books match"));
}
