//! What search engines and shared links see of the pages: a title, a meta
//! description, a canonical address on the configured `PUBLIC_URL` (never
//! the request's `Host`), OpenGraph and Twitter tags, `noindex` on private
//! pages, and a book's schema.org JSON-LD (checked against the vocabulary,
//! and unbreakable by a title holding `</script>`), against a real backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

mod schema_org;
mod support;
use support::{Page, Shop, storefront_with, unescape};

const PUBLIC_URL: &str = "https://books.example.com";

/// A storefront over `shop`'s backend whose public address is [`PUBLIC_URL`].
fn storefront(shop: &Shop) -> axum::Router {
    storefront_with(&shop.graphql_url, 5000, &[("PUBLIC_URL", PUBLIC_URL)]).0
}

/// A GET as a hostile client may send it: another `Host`, forwarded hosts.
async fn get_from_elsewhere(router: &axum::Router, uri: &str) -> Page {
    let request = Request::get(uri)
        .header(header::HOST, "evil.example")
        .header("x-forwarded-host", "evil.example")
        .header("forwarded", "host=evil.example;proto=http")
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Page {
        status,
        headers,
        html: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

/// The `content` of `<meta {attribute}="{name}" content="…">`, unescaped.
fn meta(html: &str, attribute: &str, name: &str) -> Option<String> {
    let start = format!("<meta {attribute}=\"{name}\" content=\"");
    html.split(&start)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(unescape)
}

fn canonical(html: &str) -> Option<String> {
    html.split("<link rel=\"canonical\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(unescape)
}

fn title(html: &str) -> String {
    html.split("<title>")
        .nth(1)
        .and_then(|rest| rest.split("</title>").next())
        .map(unescape)
        .unwrap_or_default()
}

/// Sends one GraphQL operation straight to the backend.
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

/// A staff member's session token.
async fn staff_token(shop: &Shop) -> String {
    shop.create_staff("staff@example.com", "staff password 1")
        .await;
    let data = graphql(
        shop,
        None,
        "mutation { login(input: {email: \"staff@example.com\", password: \"staff password 1\"}) { token } }",
        json!({}),
    )
    .await;
    data["login"]["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_public_page_has_a_title_a_description_and_a_canonical_address() {
    let shop = Shop::new().await;
    let router = storefront(&shop);
    let genre =
        graphql(&shop, None, "{ genres { slug name } }", json!({})).await["genres"][0].clone();
    let genre_slug = genre["slug"].as_str().unwrap();
    let genre_page = format!("/books?genre={genre_slug}");
    let pages = [
        ("/", "/".to_owned()),
        ("/books", "/books".to_owned()),
        ("/books/moby-dick", "/books/moby-dick".to_owned()),
        (
            "/contributors/jane-austen",
            "/contributors/jane-austen".to_owned(),
        ),
        (genre_page.as_str(), genre_page.clone()),
        ("/books?q=whale", "/books?q=whale".to_owned()),
        ("/login?next=%2Faccount", "/login".to_owned()),
        ("/register", "/register".to_owned()),
        // A narrower filter or another sort: the listing itself is canonical.
        (
            &format!("{genre_page}&sort=price&stock=1"),
            genre_page.clone(),
        ),
    ];
    let mut descriptions = std::collections::BTreeSet::new();
    for (path, expected) in &pages {
        let page = get_from_elsewhere(&router, path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(!page.html.contains("evil.example"), "{path}: {}", page.html);
        let title = title(&page.html);
        assert!(
            title.ends_with(" · Bookstore") && title.len() > " · Bookstore".len(),
            "{path}: {title}"
        );
        let description = meta(&page.html, "name", "description").unwrap_or_default();
        assert!(
            description.len() >= 20,
            "{path}: description {description:?}"
        );
        assert!(
            description.chars().count() <= 160,
            "{path}: description {description:?}"
        );
        descriptions.insert(description.clone());
        let url = format!("{PUBLIC_URL}{expected}");
        assert_eq!(canonical(&page.html), Some(url.clone()), "{path}");
        assert_eq!(meta(&page.html, "property", "og:url"), Some(url), "{path}");
        assert_eq!(
            meta(&page.html, "property", "og:description"),
            Some(description),
            "{path}"
        );
        let og_title = meta(&page.html, "property", "og:title").unwrap_or_default();
        assert!(
            title.starts_with(&og_title) && !og_title.is_empty(),
            "{path}: {og_title}"
        );
        assert_eq!(
            meta(&page.html, "name", "twitter:card").as_deref(),
            Some("summary"),
            "{path}"
        );
        assert!(
            page.html
                .contains("<link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\">"),
            "{path}"
        );
        assert!(page.headers.get("x-robots-tag").is_none(), "{path}");
    }
    // Each page describes itself (the search shares the catalog's listing but not its words).
    assert!(descriptions.len() >= pages.len() - 1, "{descriptions:?}");
    // The genre's page is titled by the genre; searches are not for indexes.
    let page = get_from_elsewhere(&router, &genre_page).await;
    assert!(
        title(&page.html).starts_with(genre["name"].as_str().unwrap()),
        "{}",
        title(&page.html)
    );
    let search = get_from_elsewhere(&router, "/books?q=whale").await;
    assert_eq!(
        meta(&search.html, "name", "robots").as_deref(),
        Some("noindex, follow")
    );
    // A book page is shared as a book; anonymous catalog pages stay
    // publicly cacheable with their ETag.
    let book = get_from_elsewhere(&router, "/books/moby-dick").await;
    assert_eq!(
        meta(&book.html, "property", "og:type").as_deref(),
        Some("book")
    );
    let home = get_from_elsewhere(&router, "/").await;
    let cache_control = home.headers[header::CACHE_CONTROL].to_str().unwrap();
    assert!(cache_control.starts_with("public"), "{cache_control}");
    assert!(home.headers.contains_key(header::ETAG));
}

#[tokio::test]
async fn private_pages_are_noindex() {
    let shop = Shop::new().await;
    let router = storefront(&shop);
    for path in ["/cart", "/orders/lookup", "/forgot-password"] {
        let page = get_from_elsewhere(&router, path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_eq!(page.headers["x-robots-tag"], "noindex, nofollow", "{path}");
        assert_eq!(
            meta(&page.html, "name", "robots").as_deref(),
            Some("noindex, nofollow"),
            "{path}"
        );
        assert_eq!(canonical(&page.html), None, "{path}");
    }
    // Redirects to sign in, and staff pages, carry the header too.
    for path in [
        "/account",
        "/account/orders",
        "/checkout",
        "/staff",
        "/staff/orders",
    ] {
        let page = get_from_elsewhere(&router, path).await;
        assert_eq!(
            page.headers["x-robots-tag"], "noindex, nofollow",
            "{path}: {}",
            page.status
        );
    }
}

#[tokio::test]
async fn book_pages_describe_the_book_and_its_offer_in_schema_org_json_ld() {
    let shop = Shop::new().await;
    let router = storefront(&shop);
    let vocabulary = schema_org::vocabulary();
    let fields = "id isbn title format language pageCount publisher publicationDate inStock price { amountCents currency }";
    let query = format!("{{ book(slug: \"moby-dick\") {{ {fields} }} }}");
    let book = graphql(&shop, None, &query, json!({})).await["book"].clone();

    let page = get_from_elsewhere(&router, "/books/moby-dick").await;
    let documents = schema_org::documents(&page.html);
    assert_eq!(documents.len(), 1, "{}", page.html);
    let node = &documents[0];
    assert_eq!(vocabulary.problems(node), Vec::<String>::new(), "{node:#}");
    assert_eq!(node["@type"], "Book");
    assert_eq!(node["url"], format!("{PUBLIC_URL}/books/moby-dick"));
    assert_eq!(node["name"], book["title"]);
    assert_eq!(node["isbn"], book["isbn"]);
    assert_eq!(node["inLanguage"], book["language"]);
    assert_eq!(node["numberOfPages"], book["pageCount"]);
    assert_eq!(node["publisher"]["name"], book["publisher"]);
    assert_eq!(node["datePublished"], book["publicationDate"]);
    let format = book["format"].as_str().unwrap();
    let member = match format {
        "EBOOK" => "EBook".to_owned(),
        "AUDIOBOOK" => "AudiobookFormat".to_owned(),
        other => format!("{}{}", &other[..1], other[1..].to_lowercase()),
    };
    assert_eq!(node["bookFormat"], format!("https://schema.org/{member}"));
    assert_eq!(node["author"][0]["@type"], "Person");
    assert_eq!(node["author"][0]["name"], "Herman Melville");
    let cents = book["price"]["amountCents"].as_i64().unwrap();
    let offer = &node["offers"];
    assert_eq!(offer["@type"], "Offer");
    assert_eq!(
        offer["price"],
        format!("{}.{:02}", cents / 100, cents % 100)
    );
    assert_eq!(offer["priceCurrency"], book["price"]["currency"]);
    let availability = if book["inStock"] == true {
        "InStock"
    } else {
        "OutOfStock"
    };
    assert_eq!(
        offer["availability"],
        format!("https://schema.org/{availability}")
    );

    // The same facts, for people: a language name, a hyphenated ISBN, a
    // capitalised format, a date in words.
    let isbn = bookstore_web::format::isbn(book["isbn"].as_str().unwrap());
    assert!(isbn.contains('-'), "{isbn}");
    assert!(
        page.html.contains(&format!("<dt>ISBN</dt><dd>{isbn}</dd>")),
        "{}",
        page.html
    );
    assert!(page.html.contains("<dt>Language</dt><dd>English</dd>"));
    let format_name = bookstore_web::format::book_format(format);
    assert!(
        page.html
            .contains(&format!("<dt>Format</dt><dd>{format_name}</dd>"))
    );
    let published = bookstore_web::format::date(book["publicationDate"].as_str().unwrap());
    assert!(
        page.html
            .contains(&format!("<dt>Published</dt><dd>{published}</dd>")),
        "{published}"
    );

    // Sold out: the offer says so, and still keeps to the vocabulary.
    let token = staff_token(&shop).await;
    let stock = graphql(
        &shop,
        None,
        "{ book(slug: \"moby-dick\") { stock } }",
        json!({}),
    )
    .await;
    let copies = stock["book"]["stock"].as_i64().unwrap();
    if copies > 0 {
        let input = json!({ "bookId": book["id"], "delta": -copies });
        let data = graphql(
            &shop,
            Some(&token),
            "mutation($input: AdjustStockInput!) { adjustStock(input: $input) { userErrors { message } } }",
            json!({ "input": input }),
        )
        .await;
        assert_eq!(data["adjustStock"]["userErrors"], json!([]), "{data}");
    }
    let page = get_from_elsewhere(&router, "/books/moby-dick").await;
    let node = &schema_org::documents(&page.html)[0];
    assert_eq!(
        node["offers"]["availability"],
        "https://schema.org/OutOfStock"
    );
    assert_eq!(vocabulary.problems(node), Vec::<String>::new(), "{node:#}");
}

#[test]
fn the_vocabulary_check_finds_what_schema_org_does_not_allow() {
    let vocabulary = schema_org::vocabulary();
    let good = json!({"@context": "https://schema.org", "@type": "Book", "name": "Emma", "numberOfPages": 474,
        "offers": {"@type": "Offer", "price": "1.00", "availability": "https://schema.org/InStock"}});
    assert_eq!(vocabulary.problems(&good), Vec::<String>::new());
    for (bad, why) in [
        (
            json!({"@context": "https://schema.org", "@type": "Novel", "name": "Emma"}),
            "is not a schema.org type",
        ),
        (
            json!({"@context": "https://schema.org", "@type": "Book", "pages": 474}),
            "no such property",
        ),
        (
            json!({"@context": "https://schema.org", "@type": "Offer", "isbn": "1"}),
            "not a property of Offer",
        ),
        (
            json!({"@context": "https://schema.org", "@type": "Offer", "availability": "https://schema.org/Paperback"}),
            "does not fit [\"ItemAvailability\"]",
        ),
        (
            json!({"@context": "https://schema.org", "@type": "Book", "author": {"@type": "Offer"}}),
            "where",
        ),
        (
            json!({"@context": "https://schema.org", "@type": "Book", "numberOfPages": "many"}),
            "does not fit",
        ),
        (
            json!({"@context": "https://example.com", "@type": "Book"}),
            "@context",
        ),
    ] {
        let problems = vocabulary.problems(&bad);
        assert!(
            problems.iter().any(|problem| problem.contains(why)),
            "{bad}: {problems:?}"
        );
    }
}

#[tokio::test]
async fn a_title_holding_a_script_end_tag_stays_inside_its_json_ld() {
    let shop = Shop::new().await;
    let router = storefront(&shop);
    let token = staff_token(&shop).await;
    let title = "Tides </script><script>alert(\"x\")</script><!-- & </SCRIPT >";
    let input = json!({
        "title": title, "isbn": "9780306406157", "format": "PAPERBACK", "priceCents": 1299,
        "stock": 3, "slug": "tides-script", "description": "A </script> in the description too.",
    });
    let data = graphql(
        &shop,
        Some(&token),
        "mutation($input: CreateBookInput!) { createBook(input: $input) { book { slug } userErrors { message } } }",
        json!({ "input": input }),
    )
    .await;
    assert_eq!(data["createBook"]["userErrors"], json!([]), "{data}");
    let page = get_from_elsewhere(&router, "/books/tides-script").await;
    assert_eq!(page.status, StatusCode::OK);
    let lower = page.html.to_lowercase();
    assert_eq!(lower.matches("<script").count(), 1, "{}", page.html);
    assert_eq!(lower.matches("</script").count(), 1, "{}", page.html);
    // The only comment is the header's cart-count placeholder (filled in
    // per visitor after rendering); none comes from the title.
    let comments = page.html.replace("<!--cart-count-->", "");
    assert!(!comments.contains("<!--"), "{}", page.html);
    let node = &schema_org::documents(&page.html)[0];
    assert_eq!(node["name"], title);
    assert_eq!(
        schema_org::vocabulary().problems(node),
        Vec::<String>::new()
    );
}
