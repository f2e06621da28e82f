//! `APP_ENV=production`: no GraphiQL, no introspection, no "Did you mean"
//! hints, and `/metrics` only on the internal address.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;
use tower::ServiceExt;

use crate::support::TestApp;

#[tokio::test(flavor = "multi_thread")]
async fn production_mode_hides_graphiql_introspection_hints_and_metrics() {
    let development = TestApp::new().await;
    let hinted = development.graphql("{ genre { nam } }", json!({})).await;
    assert!(hinted.body.contains("Did you mean"), "{}", hinted.body);

    let app = TestApp::with_env(&[("APP_ENV", "production")]).await;
    let reply = app
        .send(
            Request::get("/graphql")
                .header(header::ACCEPT, "text/html,application/xhtml+xml")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
    assert!(!reply.body.contains("graphiql"));

    for query in [
        "{ __schema { types { name } } }",
        "{ __type(name: \"Book\") { name } }",
        "{ genres { name } ...on Query { __schema { queryType { name } } } }",
    ] {
        let reply = app.graphql(query, json!({})).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
        assert!(reply.body.contains("introspection"), "{}", reply.body);
    }
    // `__typename` is not introspection of the schema.
    let data = app.data("{ genres { __typename name } }", json!({})).await;
    assert!(data["genres"].is_array());

    let misspelled = app.graphql("{ genre { nam } }", json!({})).await;
    assert_eq!(misspelled.status, StatusCode::BAD_REQUEST);
    assert!(
        !misspelled.body.contains("Did you mean"),
        "{}",
        misspelled.body
    );
    assert!(!misspelled.body.contains("genres"), "{}", misspelled.body);

    let reply = app
        .send(Request::get("/metrics").body(Body::empty()).unwrap())
        .await;
    assert_eq!(
        reply.status,
        StatusCode::NOT_FOUND,
        "not on the main router"
    );
    assert_eq!(
        app.config.metrics_address(),
        Some("127.0.0.1:9100".parse().unwrap())
    );
    // The internal router serves them.
    let state = bookstore::app::AppState::new(&app.config).unwrap();
    let response = bookstore::app::metrics_router(state)
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn production_refuses_to_start_with_the_built_in_database_url() {
    let error = bookstore::config::Config::from_lookup(|name| {
        (name == "APP_ENV").then(|| "production".to_owned())
    })
    .err()
    .map(|error| error.to_string())
    .unwrap_or_default();
    assert!(error.contains("DATABASE_URL"), "{error:?}");
}
