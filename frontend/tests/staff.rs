//! Staff pages: who may see them, the inventory (add, edit, stock, archive)
//! and the order workflow, against a real backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::StatusCode;
use serde_json::{Value, json};

mod support;
use support::{Browser, Page, Shop, unescape};

const STAFF_EMAIL: &str = "staff@example.com";
const STAFF_PASSWORD: &str = "staff password 1";

/// Sends one GraphQL operation straight to the backend (setting up what the
/// pages under test then show), optionally with a session token.
async fn graphql(shop: &Shop, token: Option<&str>, query: &str, variables: Value) -> Value {
    let mut request = reqwest::Client::new()
        .post(&shop.graphql_url)
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let body: Value = request.send().await.unwrap().json().await.unwrap();
    assert!(body.get("errors").is_none(), "{body}");
    body["data"].clone()
}

/// A browser signed in as staff, through the sign-in page.
async fn staff_browser(shop: &Shop) -> Browser {
    shop.create_staff(STAFF_EMAIL, STAFF_PASSWORD).await;
    let mut browser = shop.browser();
    let page = browser
        .submit(
            "/login",
            "/login",
            &[("email", STAFF_EMAIL), ("password", STAFF_PASSWORD)],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    assert!(browser.cookies.contains_key("bookstore_session"));
    browser
}

/// A browser signed in as a customer (registered and signed in through the
/// API: registering does not sign in).
async fn customer_browser(shop: &Shop) -> Browser {
    let input = json!({ "email": "reader@example.com", "name": "Ada Reader", "password": "correct horse battery" });
    let data = graphql(
        shop,
        None,
        "mutation($input: RegisterInput!) { register(input: $input) { accepted userErrors { message } } }",
        json!({ "input": input }),
    )
    .await;
    assert_eq!(data["register"]["accepted"], true, "{data}");
    let data = graphql(
        shop,
        None,
        "mutation($input: LoginInput!) { login(input: $input) { token userErrors { message } } }",
        json!({ "input": { "email": input["email"], "password": input["password"] } }),
    )
    .await;
    let token = data["login"]["token"].as_str().unwrap().to_owned();
    let mut browser = shop.browser();
    browser.cookies.insert("bookstore_session".into(), token);
    browser
}

/// The value attribute of the `<option>` labelled `label`.
fn option_value(page: &Page, label: &str) -> String {
    let end = page
        .html
        .find(&format!("\">{label}</option>"))
        .unwrap_or_else(|| panic!("no option {label}: {}", page.html));
    let start = page.html[..end].rfind("value=\"").unwrap() + "value=\"".len();
    unescape(&page.html[start..end])
}

/// The value of the hidden field `name` (the first on the page).
fn hidden(page: &Page, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let rest = page.html.split(&marker).nth(1).unwrap();
    unescape(rest.split('"').next().unwrap())
}

/// The checkbox value of the genre labelled `label`.
fn genre_value(page: &Page, label: &str) -> String {
    let end = page
        .html
        .find(&format!("> {label}</label>"))
        .unwrap_or_else(|| panic!("no genre {label}"));
    let start = page.html[..end].rfind("value=\"").unwrap() + "value=\"".len();
    unescape(page.html[start..end].split('"').next().unwrap())
}

/// A valid ISBN-13 from its first twelve digits.
fn isbn13(first_twelve: &str) -> String {
    let sum: u32 = first_twelve
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    format!("{first_twelve}{}", (10 - sum % 10) % 10)
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_pages_are_for_staff_only() {
    let shop = Shop::new().await;

    let mut visitor = shop.browser();
    let page = visitor.get("/staff/books?q=whale").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        page.location().as_deref(),
        Some("/login?next=%2Fstaff%2Fbooks%3Fq%3Dwhale")
    );
    let page = visitor
        .submit(
            "/books/moby-dick",
            "/staff/books/moby-dick/archive",
            &[("id", "x")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location().unwrap().starts_with("/login?next="));

    let mut customer = customer_browser(&shop).await;
    for path in [
        "/staff",
        "/staff/books",
        "/staff/books/new",
        "/staff/books/moby-dick/edit",
        "/staff/orders",
        "/staff/orders/BK-100001",
    ] {
        let page = customer.get(path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.html.contains("Staff only"), "{path}");
    }
    // The backend refuses the mutation too: a 403, not a 500, and no change.
    let book = graphql(
        &shop,
        None,
        "{ book(slug: \"moby-dick\") { id } }",
        json!({}),
    )
    .await;
    let id = book["book"]["id"].as_str().unwrap();
    let page = customer
        .submit(
            "/books/moby-dick",
            "/staff/books/moby-dick/archive",
            &[("id", id)],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let book = graphql(
        &shop,
        None,
        "{ book(slug: \"moby-dick\") { archived } }",
        json!({}),
    )
    .await;
    assert_eq!(book["book"]["archived"], false);

    // A form without its CSRF token changes nothing, even for staff.
    let mut staff = staff_browser(&shop).await;
    let page = staff
        .post("/staff/books/moby-dick/archive", &[("id", id)])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let home = staff.get("/staff").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.html.contains("href=\"/staff/books\""));
    assert!(home.html.contains("href=\"/staff/orders\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_add_edit_stock_archive_and_restore_a_book() {
    let shop = Shop::new().await;
    let mut staff = staff_browser(&shop).await;

    let list = staff.get("/staff/books?q=whale").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.html.contains("Moby-Dick"));
    assert!(list.html.contains("href=\"/staff/books/moby-dick/edit\""));

    // The author comes from a contributor search; the genre from the list.
    let form = staff.get("/staff/books/new?who=austen").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.html.contains("<label for=\"isbn\">"));
    let austen = option_value(&form, "Jane Austen");
    let genre_label = form
        .html
        .split("name=\"genre\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split("> ").nth(1))
        .and_then(|rest| rest.split("</label>").next())
        .unwrap()
        .to_owned();
    let genre = genre_value(&form, &genre_label);

    let title = "The Lighthouse Keeper's Almanac";
    let isbn = isbn13("978123456789");
    let mut fields = vec![
        ("who", "austen"),
        ("title", title),
        ("subtitle", "A Year of Weather"),
        ("description", "Tides, lamps and gulls."),
        ("isbn", "978-0-00-000000-1"),
        ("format", "HARDCOVER"),
        ("publisher", "Harbour Press"),
        ("publicationDate", "2024-03-01"),
        ("language", "en"),
        ("pageCount", "312"),
        ("price", "12.99"),
        ("stock", "3"),
        ("author", austen.as_str()),
        ("genre", genre.as_str()),
    ];

    // A bad ISBN: the form comes back with the error and every value.
    let refused = staff
        .submit("/staff/books/new", "/staff/books", &fields)
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.html.contains("id=\"isbn-error\""),
        "{}",
        refused.html
    );
    assert!(refused.html.contains("aria-describedby=\"isbn-error\""));
    assert!(
        refused
            .html
            .contains("The Lighthouse Keeper&#x27;s Almanac")
    );
    assert!(refused.html.contains("value=\"12.99\""));
    assert!(refused.html.contains("value=\"2024-03-01\""));
    assert!(
        refused
            .html
            .contains("<option value=\"HARDCOVER\" selected>")
    );
    assert!(refused.html.contains(" selected>Jane Austen</option>"));
    assert!(refused.html.contains(" checked> "));

    // A price that is not a price is caught before the API.
    fields[4] = ("isbn", isbn.as_str());
    fields[10] = ("price", "twelve");
    let refused = staff
        .submit("/staff/books/new", "/staff/books", &fields)
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.html.contains("id=\"price-error\""));

    fields[10] = ("price", "12.99");
    let created = staff
        .submit("/staff/books/new", "/staff/books", &fields)
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.html);
    let edit = created.location().unwrap();
    assert_eq!(edit, "/staff/books/the-lighthouse-keepers-almanac/edit");
    let page = staff.get(&edit).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.html
            .contains("Added “The Lighthouse Keeper&#x27;s Almanac”")
    );
    assert!(page.html.contains(" selected>Jane Austen</option>"));
    let catalog = staff.get("/books?q=lighthouse%20keeper%20almanac").await;
    assert!(
        catalog
            .html
            .contains("The Lighthouse Keeper&#x27;s Almanac")
    );
    let shop_page = staff.get("/books/the-lighthouse-keepers-almanac").await;
    assert!(shop_page.html.contains("$12.99"));
    assert!(shop_page.html.contains("/contributors/jane-austen"));

    // Edit the price (every field is sent, as the form does).
    let id = hidden(&page, "id");
    let mut edited: Vec<(&str, &str)> = fields
        .iter()
        .filter(|(name, _)| *name != "stock")
        .copied()
        .collect();
    edited.push(("id", id.as_str()));
    for field in &mut edited {
        if field.0 == "price" {
            field.1 = "15.50";
        }
    }
    let saved = staff.submit(&edit, &edit, &edited).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    assert_eq!(saved.location().as_deref(), Some(edit.as_str()));
    let page = staff.get(&edit).await;
    assert!(page.html.contains("Saved"));
    assert!(page.html.contains("value=\"15.50\""));
    let shop_page = staff.get("/books/the-lighthouse-keepers-almanac").await;
    assert!(shop_page.html.contains("$15.50"));
    assert!(shop_page.html.contains("/contributors/jane-austen"));

    // Stock: +5, then -100 (refused, unchanged).
    let stock = "/staff/books/the-lighthouse-keepers-almanac/stock";
    let added = staff
        .submit(&edit, stock, &[("id", &id), ("delta", "+5")])
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    assert!(
        staff
            .get(&edit)
            .await
            .html
            .contains("Stock is now 8 copies.")
    );
    let refused = staff
        .submit(&edit, stock, &[("id", &id), ("delta", "-100")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.html.contains("id=\"delta-error\""));
    assert!(
        refused.html.contains("not enough stock"),
        "{}",
        refused.html
    );
    assert!(refused.html.contains("value=\"-100\""));
    assert!(refused.html.contains("8 in stock now."));
    let data = graphql(
        &shop,
        None,
        "{ book(slug: \"the-lighthouse-keepers-almanac\") { stock } }",
        json!({}),
    )
    .await;
    assert_eq!(data["book"]["stock"], 8);

    // Archive: out of the catalog, still found by slug in the staff list.
    let archive = "/staff/books/the-lighthouse-keepers-almanac/archive";
    let archived = staff.submit(&edit, archive, &[("id", &id)]).await;
    assert_eq!(archived.status, StatusCode::SEE_OTHER);
    let page = staff.get(&edit).await;
    assert!(page.html.contains("Archived “The Lighthouse"));
    assert!(page.html.contains("Restore to the catalog"));
    let catalog = staff.get("/books?q=lighthouse%20keeper%20almanac").await;
    assert!(!catalog.html.contains("Lighthouse Keeper"));
    let list = staff
        .get("/staff/books?q=the-lighthouse-keepers-almanac")
        .await;
    assert!(list.html.contains("Lighthouse Keeper"));
    assert!(list.html.contains("<span class=\"badge\">Archived</span>"));
    let list = staff.get(&format!("/staff/books?q={isbn}")).await;
    assert!(list.html.contains("<span class=\"badge\">Archived</span>"));

    let restore = "/staff/books/the-lighthouse-keepers-almanac/restore";
    let restored = staff.submit(&edit, restore, &[("id", &id)]).await;
    assert_eq!(restored.status, StatusCode::SEE_OTHER);
    assert!(staff.get(&edit).await.html.contains("Restored"));
    let catalog = staff.get("/books?q=lighthouse%20keeper%20almanac").await;
    assert!(catalog.html.contains("Lighthouse Keeper"));
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_ship_and_deliver_an_order() {
    let shop = Shop::new().await;
    let mut staff = staff_browser(&shop).await;

    let book = graphql(
        &shop,
        None,
        "{ book(slug: \"moby-dick\") { id } }",
        json!({}),
    )
    .await;
    let cart = graphql(
        &shop,
        None,
        "mutation($input: AddToCartInput!) { addToCart(input: $input) { cart { id } userErrors { message } } }",
        json!({ "input": { "bookId": book["book"]["id"], "quantity": 2 } }),
    )
    .await;
    let checkout = graphql(
        &shop,
        None,
        "mutation($input: CheckoutInput!) { checkout(input: $input) { order { number status } userErrors { message } } }",
        json!({ "input": {
            "idempotencyKey": "staff-test-1",
            "cartId": cart["addToCart"]["cart"]["id"],
            "email": "guest@example.com",
            "shippingAddress": { "name": "Ada Reader", "line1": "1 Library Way", "city": "Springfield", "postalCode": "12345", "country": "US" },
            "shippingMethod": "STANDARD",
            "payment": { "cardNumber": "4242424242424242" }
        } }),
    )
    .await;
    let order = &checkout["checkout"]["order"];
    assert_eq!(order["status"], "PAID", "{checkout}");
    let number = order["number"].as_str().unwrap();
    let path = format!("/staff/orders/{number}");

    let list = staff.get("/staff/orders").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        list.html
            .contains(&format!("href=\"/staff/orders/{number}\""))
    );
    assert!(list.html.contains("guest@example.com"));
    assert!(list.html.contains("<option value=\"PAID\" selected>"));
    let shipped_list = staff.get("/staff/orders?status=SHIPPED").await;
    assert!(!shipped_list.html.contains(number));

    let page = staff.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("1 Library Way"));
    assert!(page.html.contains("Moby-Dick"));
    assert!(page.html.contains("<label for=\"carrier\">"));
    assert!(!page.html.contains("Mark as delivered"));

    let shipped = staff
        .submit(
            &path,
            &format!("{path}/ship"),
            &[("carrier", "Post"), ("tracking", "TRACK123")],
        )
        .await;
    assert_eq!(shipped.status, StatusCode::SEE_OTHER);
    assert_eq!(shipped.location().as_deref(), Some(path.as_str()));
    let page = staff.get(&path).await;
    assert!(page.html.contains("marked as shipped"));
    assert!(page.html.contains("TRACK123"));
    assert!(page.html.contains("Mark as delivered"));
    assert!(!page.html.contains("<label for=\"carrier\">"));
    let shipped_list = staff.get("/staff/orders?status=SHIPPED").await;
    assert!(shipped_list.html.contains(number));

    // Shipping it again is refused by the backend: shown as a flash.
    let again = staff
        .submit(
            &path,
            &format!("{path}/ship"),
            &[("carrier", "Post"), ("tracking", "TRACK456")],
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let page = staff.get(&path).await;
    assert!(
        page.html
            .contains("Not possible for an order that is shipped."),
        "{}",
        page.html
    );

    let delivered = staff.submit(&path, &format!("{path}/deliver"), &[]).await;
    assert_eq!(delivered.status, StatusCode::SEE_OTHER);
    let page = staff.get(&path).await;
    assert!(page.html.contains("marked as delivered"));
    assert!(page.html.contains(">Refund</button>"));
    let data = graphql(
        &shop,
        None,
        "query($number: String!) { order(number: $number, email: \"guest@example.com\") { status } }",
        json!({ "number": number }),
    )
    .await;
    assert_eq!(data["order"]["status"], "DELIVERED");

    assert_eq!(
        staff.get("/staff/orders/BK-999999").await.status,
        StatusCode::NOT_FOUND
    );
}
