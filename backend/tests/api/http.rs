//! GraphQL over HTTP: negotiation, status codes, limits and error hygiene.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};

use crate::catalog::CATALOG;
use crate::support::{TestApp, TestDatabase};

fn post(body: impl Into<Body>, content_type: &str, accept: Option<&str>) -> Request<Body> {
    let mut request = Request::post("/graphql").header(header::CONTENT_TYPE, content_type);
    if let Some(accept) = accept {
        request = request.header(header::ACCEPT, accept);
    }
    request.body(body.into()).unwrap()
}

fn get(uri: &str, accept: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::ACCEPT, accept)
        .body(Body::empty())
        .unwrap()
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn responses_follow_the_accept_header() {
    let app = TestApp::new().await;
    let query = json!({"query": "{ genres { name } }"}).to_string();

    let modern = app
        .send(post(
            query.clone(),
            "application/json",
            Some("application/graphql-response+json"),
        ))
        .await;
    assert_eq!(modern.status, StatusCode::OK);
    assert!(
        modern
            .content_type()
            .starts_with("application/graphql-response+json")
    );

    let legacy = app
        .send(post(
            query.clone(),
            "application/json",
            Some("application/json"),
        ))
        .await;
    assert_eq!(legacy.status, StatusCode::OK);
    assert!(legacy.content_type().starts_with("application/json"));
    let none = app
        .send(post(query.clone(), "application/json", None))
        .await;
    assert!(none.content_type().starts_with("application/json"));
    assert_eq!(none.json()["data"], legacy.json()["data"]);

    let refused = app
        .send(post(query, "application/json", Some("text/html")))
        .await;
    assert_eq!(refused.status, StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test(flavor = "multi_thread")]
async fn request_errors_are_400_for_graphql_response_json_and_200_for_json() {
    let app = TestApp::new().await;
    for (query, expected) in [
        ("{ books { ", "GRAPHQL_PARSE_FAILED"),
        ("{ nope }", "GRAPHQL_VALIDATION_FAILED"),
        (
            "{ books(first: \"ten\") { totalCount } }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
    ] {
        let body = json!({"query": query}).to_string();
        let modern = app
            .send(post(
                body.clone(),
                "application/json",
                Some("application/graphql-response+json"),
            ))
            .await;
        assert_eq!(modern.status, StatusCode::BAD_REQUEST, "{query}");
        let json = modern.json();
        assert_eq!(code(&json), expected, "{query}: {json}");
        assert!(
            json.get("data").is_none(),
            "a request error has no data entry: {json}"
        );

        let legacy = app
            .send(post(body, "application/json", Some("application/json")))
            .await;
        assert_eq!(legacy.status, StatusCode::OK, "{query}");
        assert_eq!(code(&legacy.json()), expected);
    }
    // A field error during execution is a 200 with partial data.
    let reply = app.graphql(CATALOG, json!({"first": 500})).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(code(&reply.json()), "BAD_USER_INPUT");
}

#[tokio::test(flavor = "multi_thread")]
async fn only_json_bodies_are_accepted_and_batches_are_refused() {
    let app = TestApp::new().await;
    let query = json!({"query": "{ genres { name } }"}).to_string();
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let reply = app.send(post(query.clone(), content_type, None)).await;
        assert_eq!(
            reply.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type}"
        );
    }
    for body in [
        "{not json",
        "[{\"query\": \"{ genres { name } }\"}]",
        "{\"variables\": {}}",
        "{\"query\": \"{ genres { name } }\", \"variables\": [1]}",
    ] {
        let reply = app.send(post(body, "application/json", None)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(code(&reply.json()), "BAD_REQUEST");
    }
    let huge =
        json!({"query": format!("{{ genres {{ name }} }} #{}", "x".repeat(70_000))}).to_string();
    let reply = app.send(post(huge, "application/json", None)).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test(flavor = "multi_thread")]
async fn get_runs_queries_but_never_mutations() {
    let app = TestApp::new().await;
    let reply = app
        .send(get(
            "/graphql?query=%7B%20genres%20%7B%20slug%20%7D%20%7D",
            "application/json",
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.json()["data"]["genres"].as_array().unwrap().len() > 10);

    let reply = app
        .send(get(
            "/graphql?query=mutation%20%7B%20x%20%7D",
            "application/json",
        ))
        .await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.headers.get(header::ALLOW).unwrap(), "POST");

    let with_variables = "/graphql?query=query(%24s%3AString)%7Bbooks(first%3A1%2Cfilter%3A%7Bsearch%3A%24s%7D)%7Bnodes%7Btitle%7D%7D%7D&variables=%7B%22s%22%3A%22moby%22%7D";
    let reply = app
        .send(get(with_variables, "application/graphql-response+json"))
        .await;
    assert_eq!(
        reply.json()["data"]["books"]["nodes"][0]["title"],
        "Moby-Dick"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn graphiql_is_served_to_browsers_unless_disabled() {
    let app = TestApp::new().await;
    let reply = app
        .send(get("/graphql", "text/html,application/xhtml+xml"))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.contains("graphiql"), "GraphiQL page");

    let production =
        TestApp::with_env(&[("GRAPHIQL", "false"), ("GRAPHQL_INTROSPECTION", "false")]).await;
    let reply = production.send(get("/graphql", "text/html")).await;
    assert!(!reply.body.contains("graphiql"));
    let body = production
        .graphql("{ __schema { types { name } } }", json!({}))
        .await
        .json();
    assert_eq!(
        body["data"]["__schema"],
        Value::Null,
        "introspection is off: {body}"
    );
    assert!(production.data("{ genres { name } }", json!({})).await["genres"].is_array());
}

pub const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}"#;

#[tokio::test(flavor = "multi_thread")]
async fn limits_stop_deep_costly_and_alias_heavy_queries_but_not_introspection() {
    let app = TestApp::new().await;
    let schema = app.data(INTROSPECTION, json!({})).await;
    assert!(schema["__schema"]["types"].as_array().unwrap().len() > 10);

    let deep = "{ books(first: 1) { nodes { credits { contributor { books(first: 1) { nodes { credits { contributor { books(first: 1) { nodes { credits { contributor { books(first: 1) { nodes { credits { contributor { name } } } } } } } } } } } } } } } } }";
    let reply = app.graphql(deep, json!({})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert_eq!(code(&reply.json()), "GRAPHQL_VALIDATION_FAILED");

    let costly = "{ books(first: 100) { nodes { title credits { contributor { books(first: 100) { nodes { title isbn } } } } } } }";
    let reply = app.graphql(costly, json!({})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert!(reply.body.contains("omplex"), "{}", reply.body);

    let aliases: String = (0..31)
        .map(|n| format!("a{n}: genres {{ name }} "))
        .collect();
    let reply = app.graphql(&format!("{{ {aliases} }}"), json!({})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body.contains("aliases"), "{}", reply.body);
    // Aliases hidden in a fragment spread many times count every time.
    let spreads: String = (0..8)
        .map(|n| format!("b{n}: books(first: 1) {{ ...F }} "))
        .collect();
    let query = format!(
        "{{ {spreads} }} fragment F on BookConnection {{ x: totalCount y: totalCount z: totalCount }}"
    );
    let reply = app.graphql(&query, json!({})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_never_leak_sql_or_paths_when_the_database_is_gone() {
    let database = TestDatabase::seeded().await;
    let app = TestApp::on(database, &[]).await;
    app.sql("DROP TABLE book_genres, book_contributors, books CASCADE")
        .await;
    let reply = app.graphql(CATALOG, json!({"first": 2})).await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(code(&body), "INTERNAL", "{body}");
    assert_eq!(body["errors"][0]["message"], "internal error");
    for secret in [
        "relation",
        "does not exist",
        "SELECT",
        "diesel",
        "/src/",
        "panicked",
    ] {
        assert!(
            !reply.body.contains(secret),
            "leaked {secret:?}: {}",
            reply.body
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn health_and_readiness() {
    let app = TestApp::new().await;
    let reply = app
        .send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    assert_eq!((reply.status, reply.body.as_str()), (StatusCode::OK, "ok"));
    let reply = app
        .send(Request::get("/readyz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json(),
        json!({"status": "ready", "postgres": "ok", "redis": "ok"})
    );

    app.graphql("{ genres { name } }", json!({})).await;
    let reply = app
        .send(Request::get("/metrics").body(Body::empty()).unwrap())
        .await;
    assert!(
        reply
            .body
            .contains("bookstore_graphql_requests_total{operation=\"other\",outcome=\"ok\"} 1\n"),
        "{}",
        reply.body
    );
    assert!(
        reply.body.contains("bookstore_sql_statements_total "),
        "{}",
        reply.body
    );

    let no_redis = TestApp::with_env(&[("REDIS_URL", "redis://127.0.0.1:1")]).await;
    let reply = no_redis
        .send(Request::get("/readyz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(reply.status, StatusCode::OK, "Redis is not required");
    assert_eq!(reply.json()["redis"], "unavailable");

    let database = TestDatabase::empty().await;
    let gone = TestApp::on(
        database,
        &[(
            "DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/bookstore_no_such_db",
        )],
    )
    .await;
    let reply = gone
        .send(Request::get("/readyz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.json()["postgres"], "unavailable");
}
