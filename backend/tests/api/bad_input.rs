//! Bad input and abusive documents get a clear, short error: never
//! INTERNAL, never an echo of the query.

use axum::http::StatusCode;
use base64::Engine;
use serde_json::{Value, json};

use crate::http::INTROSPECTION;
use crate::support::TestApp;

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
}

const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) { accepted userErrors { message } } }";

#[tokio::test(flavor = "multi_thread")]
async fn control_characters_in_text_are_refused() {
    let app = TestApp::new().await;
    for name in ["Ann\u{0}Lee", "Ann\u{1b}[31mLee", "Ann\u{7f}", "Ann\u{85}"] {
        let reply = app
            .graphql(
                REGISTER,
                json!({"input": {"email": "ann@example.com", "name": name, "password": "correct horse battery"}}),
            )
            .await;
        let body = reply.json();
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("control character"),
            "{body}"
        );
    }
    // The same in a string literal of the document.
    let reply = app
        .graphql(
            r#"mutation { register(input: {email: "ann@example.com", name: "Ann\u0000", password: "correct horse battery"}) { accepted } }"#,
            json!({}),
        )
        .await;
    assert_eq!(code(&reply.json()), "BAD_USER_INPUT", "{}", reply.body);
    let mut conn = app.connection().await;
    let users: i64 = {
        use diesel::dsl::sql;
        use diesel::sql_types::BigInt;
        use diesel_async::RunQueryDsl;
        diesel::select(sql::<BigInt>(
            "(SELECT count(*) FROM users WHERE email = 'ann@example.com')",
        ))
        .get_result(&mut conn)
        .await
        .unwrap()
    };
    assert_eq!(users, 0, "nothing was written");
    // Tab, CR and LF are text.
    let data = app
        .data(
            REGISTER,
            json!({"input": {"email": "ann@example.com", "name": "Ann Lee", "password": "correct\thorse\r\nbattery"}}),
        )
        .await;
    assert_eq!(data["register"]["accepted"], true, "{data}");
    app.login_token("ann@example.com", "correct\thorse\r\nbattery")
        .await;
}

fn cursor(text: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

/// Old offset cursors (`pos:`, far past any list or not), cursors of
/// another sort, and tampered cursors (bad id, key, version or encoding)
/// are `BAD_USER_INPUT` with a message that says what to do, never INTERNAL;
/// offset lists (contributors) refuse overflowing positions too.
#[tokio::test(flavor = "multi_thread")]
async fn overflowing_cursors_are_bad_input() {
    let app = TestApp::new().await;
    let books = |arguments: &str| {
        format!(
            "query($cursor: String) {{ books({arguments}) {{ totalCount nodes {{ title }} }} }}"
        )
    };
    let title_cursor = app
        .data(
            "{ books(first: 1, sort: TITLE) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await["books"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let title_text = String::from_utf8(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&title_cursor)
            .unwrap(),
    )
    .unwrap();
    assert!(title_text.starts_with("k1:title:"), "{title_text}");
    for (arguments, cursor, message) in [
        (
            "first: 2, after: $cursor",
            cursor("pos:9223372036854775807"),
            "older version",
        ),
        (
            "last: 2, before: $cursor",
            cursor("pos:9223372036854775807"),
            "older version",
        ),
        ("first: 2, after: $cursor", cursor("pos:3"), "older version"),
        (
            "first: 2, after: $cursor",
            cursor("pos:99999999999999999999"),
            "older version",
        ),
        // Another sort's cursor: NEWEST is the default without a search.
        (
            "first: 2, after: $cursor",
            title_cursor.clone(),
            "TITLE order, not NEWEST",
        ),
        (
            "first: 2, sort: PRICE_LOW_TO_HIGH, after: $cursor",
            title_cursor.clone(),
            "TITLE order, not PRICE_LOW_TO_HIGH",
        ),
        (
            "last: 2, sort: TITLE, before: $cursor",
            cursor("k1:price-asc:3:999"),
            "PRICE_LOW_TO_HIGH order, not TITLE",
        ),
        // Tampered.
        (
            "first: 2, sort: TITLE, after: $cursor",
            format!("{title_cursor}!"),
            "invalid cursor",
        ),
        (
            "first: 2, sort: TITLE, after: $cursor",
            cursor(&title_text.replacen("k1:", "k9:", 1)),
            "invalid cursor",
        ),
        (
            "first: 2, sort: TITLE, after: $cursor",
            cursor("k1:title:99999999999999999999:x"),
            "invalid cursor",
        ),
        (
            "first: 2, sort: TITLE, after: $cursor",
            cursor("k1:title:-4:x"),
            "invalid cursor",
        ),
        (
            "first: 2, sort: PRICE_HIGH_TO_LOW, after: $cursor",
            cursor("k1:price-desc:3:99999999999"),
            "invalid cursor",
        ),
        (
            "first: 2, sort: NEWEST, after: $cursor",
            cursor("k1:newest:3:2020-02-30"),
            "invalid cursor",
        ),
        (
            "first: 2, filter: {search: \"love\"}, after: $cursor",
            cursor("k1:relevance:3:7ff8000000000000"),
            "invalid cursor",
        ),
        (
            "first: 2, after: $cursor",
            cursor("k1:newest"),
            "invalid cursor",
        ),
        (
            "first: 2, after: $cursor",
            "%%%".to_owned(),
            "invalid cursor",
        ),
    ] {
        let body = app
            .graphql(&books(arguments), json!({"cursor": cursor}))
            .await
            .json();
        assert_eq!(code(&body), "BAD_USER_INPUT", "{arguments}: {body}");
        let text = body["errors"][0]["message"].as_str().unwrap();
        assert!(text.contains(message), "{arguments}: {text}");
    }
    let body = app
        .graphql(
            "query($cursor: String) { contributors(first: 2, after: $cursor) { nodes { name } } }",
            json!({"cursor": cursor("pos:9223372036854775807")}),
        )
        .await
        .json();
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn page_sizes_outside_1_to_100_are_refused() {
    let app = TestApp::new().await;
    for arguments in [
        "first: 0",
        "last: 0",
        "first: 101",
        "last: 101",
        "first: -1",
    ] {
        let reply = app
            .graphql(
                &format!("{{ books({arguments}) {{ nodes {{ title }} }} }}"),
                json!({}),
            )
            .await;
        let body = reply.json();
        assert_eq!(code(&body), "BAD_USER_INPUT", "{arguments}: {body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("between 1 and 100"),
            "{body}"
        );
    }
    let data = app
        .data("{ books(first: 1) { nodes { title } } }", json!({}))
        .await;
    assert_eq!(data["books"]["nodes"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn parse_errors_stay_short() {
    let app = TestApp::new().await;
    let nested = format!("{}{}", "{ a ".repeat(5000), "}".repeat(5000));
    let long_garbage = format!("{{ books {{ {} ", "title ".repeat(5000));
    for query in [nested, long_garbage] {
        let reply = app.graphql(&query, json!({})).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert!(reply.body.len() < 1024, "{} bytes", reply.body.len());
        let body = reply.json();
        assert!(
            ["GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED"].contains(&code(&body)),
            "{body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_document_holds_at_most_a_few_mutation_fields() {
    let app = TestApp::new().await;
    let logouts = |count: usize| {
        let fields: String = (0..count)
            .map(|n| format!("l{n}: logout {{ loggedOut }} "))
            .collect();
        format!("mutation {{ {fields} }}")
    };
    let data = app.data(&logouts(5), json!({})).await;
    assert_eq!(data["l4"]["loggedOut"], false);
    let reply = app.graphql(&logouts(6), json!({})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    let body = reply.json();
    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
    assert!(reply.body.contains("at most 5 mutation"), "{body}");
    // Fragments do not hide them.
    let reply = app
        .graphql(
            "mutation { ...M ...M } fragment M on Mutation { a: logout { loggedOut } b: logout { loggedOut } c: logout { loggedOut } }",
            json!({}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);

    // Only the operation that runs is measured (the storefront sends a whole
    // file of operations and names one).
    let document = format!(
        "query Genres {{ genres {{ name }} }} {}",
        logouts(6).replacen("mutation", "mutation Many", 1)
    );
    let body = json!({"query": document, "operationName": "Genres"}).to_string();
    let reply = app
        .send(
            axum::http::Request::post("/graphql")
                .header(axum::http::header::CONTENT_TYPE, "application/json")
                .body(axum::body::Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.json()["data"]["genres"].is_array(), "{}", reply.body);

    let strict = TestApp::with_env(&[("GRAPHQL_MAX_MUTATIONS", "1")]).await;
    let reply = strict.graphql(&logouts(2), json!({})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
}

const DEPTH_10: &str = "{ books(first: 1) { nodes { credits { contributor { books(first: 1) { nodes { credits { contributor { books(first: 1) { totalCount } } } } } } } } } }";
const DEPTH_11: &str = "{ books(first: 1) { nodes { credits { contributor { books(first: 1) { nodes { credits { contributor { books(first: 1) { nodes { title } } } } } } } } } } }";

#[tokio::test(flavor = "multi_thread")]
async fn queries_deeper_than_10_are_refused_but_introspection_is_not() {
    let app = TestApp::new().await;
    app.data(DEPTH_10, json!({})).await;
    let reply = app.graphql(DEPTH_11, json!({})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert_eq!(code(&reply.json()), "GRAPHQL_VALIDATION_FAILED");
    assert!(reply.body.contains("deep"), "{}", reply.body);
    // Fragments count where they are spread.
    let reply = app
        .graphql(
            "{ books(first: 1) { nodes { credits { contributor { books(first: 1) { ...Deep } } } } } } fragment Deep on BookConnection { nodes { credits { contributor { books(first: 1) { nodes { title } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);

    // The standard introspection query (what GraphiQL and code generators send).
    let schema = app.data(INTROSPECTION, json!({})).await;
    assert!(schema["__schema"]["types"].as_array().unwrap().len() > 10);
    // async-graphql's own introspection query too.
    let data = app
        .data(
            "{ __type(name: \"Book\") { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } }",
            json!({}),
        )
        .await;
    assert!(data["__type"]["fields"].is_array());
}

#[tokio::test(flavor = "multi_thread")]
async fn login_payloads_resolve_as_the_signed_in_user() {
    let app = TestApp::new().await;
    let data = app
        .data(
            "mutation { register(input: {email: \"new@example.com\", name: \"New\", password: \"correct horse battery\"}) { accepted userErrors { message } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["register"]["accepted"], true, "{data}");
    let data = app
        .data(
            "mutation { login(input: {email: \"new@example.com\", password: \"correct horse battery\"}) { user { email orders(first: 5) { totalCount nodes { number } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["login"]["user"]["orders"]["totalCount"], 0, "{data}");
    assert_eq!(data["login"]["user"]["email"], "new@example.com");
}

#[tokio::test(flavor = "multi_thread")]
async fn line_breaks_and_tabs_are_refused_in_single_line_fields() {
    let app = TestApp::new().await;
    // A name is one line: no CR, LF, tab or Unicode line separator.
    for name in ["Ann\nLee", "Ann\r\nLee", "Ann\tLee", "Ann\u{2028}Lee"] {
        let data = app
            .data(
                REGISTER,
                json!({"input": {"email": "ann@example.com", "name": name, "password": "correct horse battery"}}),
            )
            .await;
        assert_eq!(
            data["register"]["accepted"], false,
            "{name:?} accepted: {data}"
        );
        assert!(
            data["register"]["userErrors"][0]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("one line"),
            "{data}"
        );
    }

    // So is every line of a shipping address (a CR/LF there would become a
    // header or a forged line on a label or an email).
    let book = app
        .data(
            "{ books(first: 1, sort: TITLE) { nodes { id } } }",
            json!({}),
        )
        .await["books"]["nodes"][0]["id"]
        .clone();
    let cart = app
        .data(
            "mutation($input: AddToCartInput!) { addToCart(input: $input) { cart { id } } }",
            json!({"input": {"bookId": book, "quantity": 1}}),
        )
        .await["addToCart"]["cart"]["id"]
        .clone();
    let checkout = "mutation($input: CheckoutInput!) { checkout(input: $input) { order { number } userErrors { field message } } }";
    let data = app
        .data(
            checkout,
            json!({"input": {
                "idempotencyKey": "line-breaks",
                "cartId": cart,
                "email": "ann@example.com",
                "shippingAddress": {
                    "name": "Ann\nLee", "line1": "1 Main St\r\nBcc: victim@example.com",
                    "city": "Springfield", "region": "IL\tX", "postalCode": "12345", "country": "US"
                },
                "shippingMethod": "STANDARD",
                "payment": {"cardNumber": "4242 4242 4242 4242"}
            }}),
        )
        .await;
    assert!(data["checkout"]["order"].is_null(), "{data}");
    let fields: Vec<String> = data["checkout"]["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| {
            error["field"]
                .as_array()
                .unwrap()
                .last()
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(fields, ["name", "line1", "region"], "{data}");

    // Multi-line text (a description, a password) keeps its line breaks:
    // see `control_characters_in_text_are_refused`.
}
