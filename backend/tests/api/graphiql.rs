//! GraphiQL works offline: its page loads nothing from another host (every
//! script and stylesheet is the backend's own, under `/graphiql/assets/`,
//! answered with its content type and kept a year, compressed as the
//! browser accepts), and its Content-Security-Policy allows scripts and
//! styles from this origin only.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use crate::support::{Reply, TestApp};

async fn page(app: &TestApp) -> Reply {
    app.send(
        Request::get("/graphql")
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

/// Every `src="…"` and `href="…"` of the page.
fn references(html: &str) -> Vec<String> {
    ["src=\"", "href=\""]
        .iter()
        .flat_map(|attribute| html.split(attribute).skip(1))
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_graphiql_page_loads_only_the_backends_own_assets() {
    let app = TestApp::new().await;
    let reply = page(&app).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.content_type().starts_with("text/html"));
    let html = &reply.body;
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains("//unpkg"),
        "no URL of another host: {html}"
    );
    let csp = reply.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    let directive = |name: &str| {
        csp.split(';')
            .map(str::trim)
            .find(|directive| directive.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in {csp}"))
            .to_owned()
    };
    assert_eq!(directive("script-src"), "script-src 'self'");
    assert_eq!(directive("style-src"), "style-src 'self'");
    assert!(!html.contains("<script>"), "no inline script: {html}");
    assert!(!html.contains("<style"), "no inline style: {html}");

    let assets = references(html);
    let scripts = assets.iter().filter(|url| url.ends_with(".js")).count();
    let styles = assets.iter().filter(|url| url.ends_with(".css")).count();
    assert_eq!((scripts, styles), (4, 2), "{assets:?}");
    for url in &assets {
        assert!(url.starts_with("/graphiql/assets/"), "{url}");
        let asset = app
            .send(Request::get(url).body(Body::empty()).unwrap())
            .await;
        assert_eq!(asset.status, StatusCode::OK, "{url}");
        let wanted = if url.ends_with(".js") {
            "text/javascript"
        } else {
            "text/css"
        };
        assert!(
            asset.content_type().starts_with(wanted),
            "{url}: {}",
            asset.content_type()
        );
        assert_eq!(
            asset.headers[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable",
            "{url}"
        );
        assert!(asset.body.len() > 40, "{url}");
    }
    // The pinned releases themselves.
    for bundle in [
        "react.production.min.",
        "react-dom.production.min.",
        "graphiql.min.",
    ] {
        assert!(
            assets.iter().any(|url| url.contains(bundle)),
            "{bundle}: {assets:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_assets_and_assets_with_graphiql_off_are_not_found() {
    let app = TestApp::new().await;
    let reply = page(&app).await;
    let first = references(&reply.body).remove(0);
    let missing = app
        .send(
            Request::get("/graphiql/assets/graphiql.min.0000000000000000.js")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let off = TestApp::with_env(&[("GRAPHIQL", "false")]).await;
    let reply = off
        .send(Request::get(&first).body(Body::empty()).unwrap())
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{first}");
}

/// The asset's bytes as sent for `accept_encoding`, and its
/// `Content-Encoding` (if any).
async fn fetch_encoded(
    app: &TestApp,
    url: &str,
    accept_encoding: &str,
) -> (Vec<u8>, Option<String>) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let response = app
        .router
        .clone()
        .oneshot(
            Request::get(url)
                .header(header::ACCEPT_ENCODING, accept_encoding)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{url}");
    let encoding = response
        .headers()
        .get(header::CONTENT_ENCODING)
        .map(|value| value.to_str().unwrap().to_owned());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (bytes.to_vec(), encoding)
}

#[tokio::test(flavor = "multi_thread")]
async fn graphiql_assets_are_sent_compressed_as_the_browser_accepts() {
    let app = TestApp::new().await;
    let reply = page(&app).await;
    let bundle = references(&reply.body)
        .into_iter()
        .find(|url| url.contains("graphiql.min.") && url.ends_with(".js"))
        .unwrap();
    let (plain, encoding) = fetch_encoded(&app, &bundle, "identity").await;
    assert_eq!(encoding, None);
    assert!(plain.len() > 900_000, "{}", plain.len());

    let (brotli, encoding) = fetch_encoded(&app, &bundle, "gzip, deflate, br").await;
    assert_eq!(encoding.as_deref(), Some("br"));
    assert!(
        brotli.len() < plain.len() / 3,
        "{} of {}",
        brotli.len(),
        plain.len()
    );

    let (gzip, encoding) = fetch_encoded(&app, &bundle, "gzip").await;
    assert_eq!(encoding.as_deref(), Some("gzip"));
    assert!(
        gzip.len() < plain.len() / 3,
        "{} of {}",
        gzip.len(),
        plain.len()
    );
    // It unpacks to the very bytes (gzip(1) does the unpacking).
    let mut gunzip = std::process::Command::new("gzip")
        .arg("-dc")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip(1) is installed");
    let mut input = gunzip.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        input.write_all(&gzip).unwrap();
    });
    let output = gunzip.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(output.status.success());
    assert_eq!(output.stdout, plain);
}
