//! What crawlers fetch besides pages: `robots.txt` (private pages kept
//! out, the sitemap named), the sitemap (every live book, contributor and
//! genre, archived books left out, split into an index past its limit) and
//! the favicon, against a real backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

mod support;
use support::{Shop, storefront_with};

const PUBLIC_URL: &str = "https://books.example.com";

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
}

async fn get(router: &axum::Router, uri: &str, if_none_match: Option<&str>) -> Answer {
    let mut request = Request::get(uri).header(header::HOST, "evil.example");
    if let Some(tag) = if_none_match {
        request = request.header(header::IF_NONE_MATCH, tag);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

/// The text of every `<tag>` element.
fn elements(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    xml.split(&open)
        .skip(1)
        .map(|rest| rest.split(&close).next().unwrap().replace("&amp;", "&"))
        .collect()
}

async fn graphql(shop: &Shop, token: Option<&str>, query: &str) -> Value {
    let mut request = reqwest::Client::new()
        .post(&shop.graphql_url)
        .json(&json!({ "query": query }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let body: Value = request.send().await.unwrap().json().await.unwrap();
    assert!(body.get("errors").is_none(), "{body}");
    body["data"].clone()
}

#[tokio::test]
async fn robots_txt_keeps_crawlers_out_of_private_pages_and_names_the_sitemap() {
    let shop = Shop::new().await;
    let router = storefront_with(&shop.graphql_url, 5000, &[("PUBLIC_URL", PUBLIC_URL)]).0;
    let answer = get(&router, "/robots.txt", None).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.headers[header::CONTENT_TYPE],
        "text/plain; charset=utf-8"
    );
    let text = answer.text();
    for path in ["/cart", "/checkout", "/account", "/orders", "/staff"] {
        assert!(
            text.contains(&format!("\nDisallow: {path}\n")),
            "{path}: {text}"
        );
    }
    assert!(!text.contains("Disallow: /books"), "{text}");
    assert!(!text.contains("Disallow: /\n"), "{text}");
    assert!(
        text.contains(&format!("\nSitemap: {PUBLIC_URL}/sitemap.xml\n")),
        "{text}"
    );
    assert!(!text.contains("evil.example"));
}

#[tokio::test]
async fn the_sitemap_lists_every_live_book_contributor_and_genre_and_no_archived_book() {
    let shop = Shop::new().await;
    let router = storefront_with(&shop.graphql_url, 5000, &[("PUBLIC_URL", PUBLIC_URL)]).0;
    shop.create_staff("staff@example.com", "staff password 1")
        .await;
    let login = graphql(&shop, None, "mutation { login(input: {email: \"staff@example.com\", password: \"staff password 1\"}) { token } }").await;
    let token = login["login"]["token"].as_str().unwrap().to_owned();
    let id =
        graphql(&shop, None, "{ book(slug: \"moby-dick\") { id } }").await["book"]["id"].clone();
    let archive = format!("mutation {{ archiveBook(id: {id}) {{ userErrors {{ message }} }} }}");
    let archived = graphql(&shop, Some(&token), &archive).await;
    assert_eq!(
        archived["archiveBook"]["userErrors"],
        json!([]),
        "{archived}"
    );

    let counts = graphql(
        &shop,
        None,
        "{ books(first: 1) { totalCount } contributors(first: 1) { totalCount } genres { slug } }",
    )
    .await;
    let answer = get(&router, "/sitemap.xml", None).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.headers[header::CONTENT_TYPE],
        "application/xml; charset=utf-8"
    );
    let xml = answer.text();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">"), "{xml}");
    let locations = elements(&xml, "loc");
    assert!(
        locations
            .iter()
            .all(|loc| loc.starts_with(&format!("{PUBLIC_URL}/"))),
        "{xml}"
    );
    let unique: BTreeSet<&String> = locations.iter().collect();
    assert_eq!(unique.len(), locations.len(), "an address listed twice");
    let under = |prefix: &str| {
        locations
            .iter()
            .filter(|loc| loc.starts_with(&format!("{PUBLIC_URL}{prefix}")))
            .count() as u64
    };
    let books = counts["books"]["totalCount"].as_u64().unwrap();
    assert!(books > 500, "{counts}");
    assert_eq!(under("/books/"), books);
    assert_eq!(
        under("/contributors/"),
        counts["contributors"]["totalCount"].as_u64().unwrap()
    );
    for genre in counts["genres"].as_array().unwrap() {
        let slug = genre["slug"].as_str().unwrap();
        assert!(
            locations.contains(&format!("{PUBLIC_URL}/books?genre={slug}")),
            "{slug}"
        );
    }
    assert!(locations.contains(&format!("{PUBLIC_URL}/")));
    assert!(
        !xml.contains("/books/moby-dick<"),
        "an archived book is listed"
    );
    assert!(
        xml.contains(&format!(
            "<loc>{PUBLIC_URL}/books/pride-and-prejudice</loc><lastmod>"
        )),
        "{xml}"
    );

    // Kept and revalidated: the same file, 304 for its tag.
    let cache_control = answer.headers[header::CACHE_CONTROL].to_str().unwrap();
    assert_eq!(cache_control, "public, max-age=900");
    let etag = answer.headers[header::ETAG].to_str().unwrap().to_owned();
    let again = get(&router, "/sitemap.xml", Some(&etag)).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_eq!(
        get(&router, "/sitemaps/1.xml", None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn past_its_limit_the_sitemap_is_an_index_of_files_within_the_limit() {
    let shop = Shop::new().await;
    let whole = storefront_with(&shop.graphql_url, 5000, &[("PUBLIC_URL", PUBLIC_URL)]).0;
    let split = storefront_with(
        &shop.graphql_url,
        5000,
        &[("PUBLIC_URL", PUBLIC_URL), ("SITEMAP_MAX_URLS", "100")],
    )
    .0;
    let all = elements(&get(&whole, "/sitemap.xml", None).await.text(), "loc");
    assert!(all.len() > 300, "{}", all.len());

    let index = get(&split, "/sitemap.xml", None).await.text();
    assert!(
        index.contains("<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">"),
        "{index}"
    );
    let files = elements(&index, "loc");
    assert_eq!(files.len(), all.len().div_ceil(100), "{index}");
    let mut listed = Vec::new();
    for (number, file) in files.iter().enumerate() {
        assert_eq!(file, &format!("{PUBLIC_URL}/sitemaps/{}.xml", number + 1));
        let path = file.strip_prefix(PUBLIC_URL).unwrap();
        let answer = get(&split, path, None).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        let xml = answer.text();
        assert!(xml.contains("<urlset"), "{xml}");
        let locations = elements(&xml, "loc");
        assert!(
            !locations.is_empty() && locations.len() <= 100,
            "{path}: {}",
            locations.len()
        );
        listed.extend(locations);
    }
    assert_eq!(
        listed, all,
        "the files together list exactly the whole sitemap, in order"
    );
    let past = format!("/sitemaps/{}.xml", files.len() + 1);
    for missing in [
        past.as_str(),
        "/sitemaps/0.xml",
        "/sitemaps/01.xml",
        "/sitemaps/one.xml",
        "/sitemaps/1",
    ] {
        assert_eq!(
            get(&split, missing, None).await.status,
            StatusCode::NOT_FOUND,
            "{missing}"
        );
    }
}

#[tokio::test]
async fn the_favicon_is_served_as_svg_and_as_ico() {
    let shop = Shop::new().await;
    let router = storefront_with(&shop.graphql_url, 5000, &[]).0;
    let svg = get(&router, "/favicon.svg", None).await;
    assert_eq!(svg.status, StatusCode::OK);
    assert_eq!(svg.headers[header::CONTENT_TYPE], "image/svg+xml");
    assert!(
        svg.text()
            .starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\"")
    );
    let ico = get(&router, "/favicon.ico", None).await;
    assert_eq!(ico.status, StatusCode::OK);
    assert_eq!(ico.headers[header::CONTENT_TYPE], "image/x-icon");
    // An icon directory (reserved 0, type 1) of two images, each a PNG.
    assert_eq!(&ico.body[..6], &[0, 0, 1, 0, 2, 0]);
    assert!(
        ico.body
            .windows(4)
            .filter(|window| window == b"\x89PNG")
            .count()
            == 2
    );
    assert!(
        ico.headers[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .starts_with("public")
    );
}
