//! A Server-Sent Events reader over the storefront's router (no socket),
//! and the GraphQL calls that set up what the streams follow.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::support::Shop;

/// How long a test waits for what it expects.
pub const WAIT: Duration = Duration::from_secs(10);

/// One open event stream, read as the browser's `EventSource` would.
pub struct EventStream {
    body: Body,
    buffer: String,
    pub headers: axum::http::HeaderMap,
}

/// What a stream brought next.
#[derive(Debug, PartialEq)]
pub enum Item {
    Event {
        name: String,
        data: Value,
    },
    Retry(u64),
    Comment(String),
    /// The stream ended (the browser would reconnect after its `retry`).
    End,
}

/// Opens `uri` with `cookies`: the stream, or the refusal's status.
pub async fn open(
    router: &axum::Router,
    uri: &str,
    cookies: &str,
) -> Result<EventStream, StatusCode> {
    let request = Request::get(uri)
        .header(header::COOKIE, cookies)
        .header(header::ACCEPT, "text/event-stream")
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    if response.status() != StatusCode::OK {
        return Err(response.status());
    }
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/event-stream",
        "{uri}"
    );
    let headers = response.headers().clone();
    Ok(EventStream {
        body: response.into_body(),
        buffer: String::new(),
        headers,
    })
}

impl EventStream {
    /// The next item, within `wait` (`None`: nothing came).
    pub async fn item_within(&mut self, wait: Duration) -> Option<Item> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(item) = parse(&block) {
                    return Some(item);
                }
                continue;
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame())
                .await
                .ok()?;
            match frame {
                Some(Ok(frame)) => {
                    if let Ok(bytes) = frame.into_data() {
                        self.buffer.push_str(std::str::from_utf8(&bytes).unwrap());
                    }
                }
                Some(Err(error)) => panic!("the stream failed: {error}"),
                None => return Some(Item::End),
            }
        }
    }

    /// The next named event (skipping `retry:` and comments).
    pub async fn event(&mut self) -> (String, Value) {
        loop {
            match self.item_within(WAIT).await {
                Some(Item::Event { name, data }) => return (name, data),
                Some(Item::Retry(_) | Item::Comment(_)) => continue,
                other => panic!("expected an event, got {other:?}"),
            }
        }
    }

    /// Waits for the end of the stream (skipping anything before it).
    pub async fn end(&mut self) {
        loop {
            match self.item_within(WAIT).await {
                Some(Item::End) => return,
                Some(_) => continue,
                None => panic!("the stream did not end within {WAIT:?}"),
            }
        }
    }
}

fn parse(block: &str) -> Option<Item> {
    let mut name = None;
    let mut data = Vec::new();
    for line in block.lines() {
        if let Some(comment) = line.strip_prefix(':') {
            return Some(Item::Comment(comment.trim().to_owned()));
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "retry" => return Some(Item::Retry(value.parse().unwrap())),
            "event" => name = Some(value.to_owned()),
            "data" => data.push(value.to_owned()),
            _ => {}
        }
    }
    let data = serde_json::from_str(&data.join("\n")).unwrap();
    Some(Item::Event {
        name: name.unwrap_or_else(|| "message".to_owned()),
        data,
    })
}

/// One GraphQL operation straight to the backend, as `token`'s session.
pub async fn graphql(url: &str, token: Option<&str>, query: &str, variables: Value) -> Value {
    let mut request = reqwest::Client::new()
        .post(url)
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let body: Value = request.send().await.unwrap().json().await.unwrap();
    assert!(body.get("errors").is_none(), "{body}");
    body["data"].clone()
}

/// A customer's (registered and signed in through the API) session token.
pub async fn customer(url: &str, email: &str) -> String {
    let input =
        json!({ "email": email, "name": "Ada Reader", "password": "correct horse battery" });
    graphql(
        url,
        None,
        "mutation($input: RegisterInput!) { register(input: $input) { accepted } }",
        json!({ "input": input }),
    )
    .await;
    sign_in(url, email, "correct horse battery").await
}

pub async fn sign_in(url: &str, email: &str, password: &str) -> String {
    let data = graphql(
        url,
        None,
        "mutation($input: LoginInput!) { login(input: $input) { token userErrors { message } } }",
        json!({ "input": { "email": email, "password": password } }),
    )
    .await;
    data["login"]["token"].as_str().unwrap().to_owned()
}

/// A staff member's session token.
pub async fn staff(shop: &Shop) -> String {
    shop.create_staff("staff@example.com", "staff password 1")
        .await;
    sign_in(&shop.graphql_url, "staff@example.com", "staff password 1").await
}

/// A paid order of one copy of Middlemarch: the customer's with `token`,
/// else a guest's. Its number, and a guest order's access token.
pub async fn paid_order(url: &str, token: Option<&str>, key: &str) -> (String, Option<String>) {
    let book = graphql(
        url,
        None,
        "{ book(slug: \"middlemarch\") { id } }",
        json!({}),
    )
    .await;
    let cart = graphql(
        url,
        token,
        "mutation($input: AddToCartInput!) { addToCart(input: $input) { cart { id } userErrors { message } } }",
        json!({ "input": { "bookId": book["book"]["id"], "quantity": 1 } }),
    )
    .await;
    let mut input = json!({
        "idempotencyKey": key,
        "shippingAddress": { "name": "Ada Reader", "line1": "1 Library Way", "city": "Springfield", "postalCode": "12345", "country": "US" },
        "shippingMethod": "STANDARD",
        "payment": { "cardNumber": "4242424242424242" }
    });
    if token.is_none() {
        input["cartId"] = cart["addToCart"]["cart"]["id"].clone();
        input["email"] = json!("guest@example.com");
    }
    let placed = graphql(
        url,
        token,
        "mutation($input: CheckoutInput!) { checkout(input: $input) { order { number status } orderAccessToken userErrors { message } } }",
        json!({ "input": input }),
    )
    .await;
    let order = &placed["checkout"]["order"];
    assert_eq!(order["status"], "PAID", "{placed}");
    (
        order["number"].as_str().unwrap().to_owned(),
        placed["checkout"]["orderAccessToken"]
            .as_str()
            .map(str::to_owned),
    )
}

/// Staff ship the order through the API.
pub async fn ship(url: &str, staff: &str, number: &str) {
    let data = graphql(
        url,
        Some(staff),
        "mutation($input: ShipOrderInput!) { markOrderShipped(input: $input) { order { status } userErrors { message } } }",
        json!({ "input": { "number": number, "carrier": "Post", "trackingNumber": "TRACK1" } }),
    )
    .await;
    assert_eq!(
        data["markOrderShipped"]["order"]["status"], "SHIPPED",
        "{data}"
    );
}

/// The session cookie of `token`.
pub fn session(token: &str) -> String {
    format!("bookstore_session={token}")
}
