use serde_json::{Value, json};

use crate::support::TestApp;

/// The storefront's catalog page: 20 books with contributors and genres.
pub const CATALOG: &str = r#"
query Catalog($first: Int, $after: String, $last: Int, $before: String, $filter: BookFilter, $sort: BookSort) {
  books(first: $first, after: $after, last: $last, before: $before, filter: $filter, sort: $sort) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges {
      cursor
      node {
        id slug isbn title format stock inStock publicationDate
        price { amountCents currency formatted }
        credits { role contributor { id name slug } }
        contributors(role: AUTHOR) { name }
        genres { name slug }
      }
    }
  }
}"#;

pub const BOOK: &str = r#"
query Book($id: ID, $isbn: String, $slug: String) {
  book(id: $id, isbn: $isbn, slug: $slug) {
    id title subtitle description isbn slug language pageCount publisher archived
    price { amountCents currency formatted }
    credits { role contributor { id name sortName birthYear deathYear } }
    genres { id name slug }
  }
}"#;

pub fn nodes(data: &Value) -> Vec<Value> {
    data["books"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_catalog_page_runs_at_most_three_statements_cold_and_one_warm() {
    let app = TestApp::new().await;
    let (cold, cold_statements) = app.data_counting(CATALOG, json!({"first": 20})).await;
    let books = nodes(&cold);
    assert_eq!(books.len(), 20);
    assert!(
        books
            .iter()
            .all(|book| !book["contributors"].as_array().unwrap().is_empty())
    );
    assert!(
        books
            .iter()
            .all(|book| !book["genres"].as_array().unwrap().is_empty())
    );
    assert!(
        cold_statements <= 3,
        "cold catalog page ran {cold_statements} statements"
    );

    let (warm, warm_statements) = app.data_counting(CATALOG, json!({"first": 20})).await;
    assert_eq!(warm, cold, "the cache must return what Postgres did");
    assert!(
        warm_statements <= 1,
        "warm catalog page ran {warm_statements} statements"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_book_with_relations_runs_at_most_three_statements_cold_and_none_warm() {
    let app = TestApp::new().await;
    let first = nodes(&app.data(CATALOG, json!({"first": 1})).await).remove(0);
    app.flush_cache().await;

    let (cold, cold_statements) = app.data_counting(BOOK, json!({"id": first["id"]})).await;
    assert_eq!(cold["book"]["title"], first["title"]);
    assert!(
        cold_statements <= 3,
        "cold book(id) ran {cold_statements} statements"
    );
    let (warm, warm_statements) = app.data_counting(BOOK, json!({"id": first["id"]})).await;
    assert_eq!(warm, cold);
    assert_eq!(warm_statements, 0, "warm book(id) must not touch Postgres");
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_chain_through_the_whole_catalog_forwards_and_backwards() {
    let app = TestApp::new().await;
    let mut seen = Vec::new();
    let mut after = Value::Null;
    let total = loop {
        let data = app
            .data(CATALOG, json!({"first": 100, "after": after}))
            .await;
        seen.extend(nodes(&data).into_iter().map(|book| book["id"].clone()));
        let page_info = &data["books"]["pageInfo"];
        if !page_info["hasNextPage"].as_bool().unwrap() {
            break data["books"]["totalCount"].as_u64().unwrap();
        }
        after = page_info["endCursor"].clone();
    };
    assert!(total >= 200);
    assert_eq!(seen.len() as u64, total);
    let unique: std::collections::HashSet<String> = seen.iter().map(|id| id.to_string()).collect();
    assert_eq!(unique.len(), seen.len(), "no book appears on two pages");

    // The last 7, then the 5 before those.
    let tail = app.data(CATALOG, json!({"last": 7})).await;
    let tail_ids: Vec<Value> = nodes(&tail).iter().map(|book| book["id"].clone()).collect();
    assert_eq!(tail_ids, seen[seen.len() - 7..]);
    assert!(
        tail["books"]["pageInfo"]["hasPreviousPage"]
            .as_bool()
            .unwrap()
    );
    let before = tail["books"]["pageInfo"]["startCursor"].clone();
    let earlier = app
        .data(CATALOG, json!({"last": 5, "before": before}))
        .await;
    let earlier_ids: Vec<Value> = nodes(&earlier)
        .iter()
        .map(|book| book["id"].clone())
        .collect();
    assert_eq!(earlier_ids, seen[seen.len() - 12..seen.len() - 7]);
}

#[tokio::test(flavor = "multi_thread")]
async fn page_sizes_are_capped_and_bad_cursors_refused() {
    let app = TestApp::new().await;
    for variables in [
        json!({"first": 101}),
        json!({"first": -1}),
        json!({"first": 2, "last": 2}),
        json!({"after": "bogus"}),
    ] {
        let body = app.graphql(CATALOG, variables.clone()).await.json();
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{variables}: {body}"
        );
    }
    let data = app.data(CATALOG, json!({"first": 100})).await;
    assert_eq!(
        nodes(&data).len(),
        100,
        "the largest page, with every relation, fits the limits"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_narrow_the_catalog() {
    let app = TestApp::new().await;
    let filtered = |filter: Value| {
        let app = &app;
        async move {
            nodes(
                &app.data(CATALOG, json!({"first": 100, "filter": filter}))
                    .await,
            )
        }
    };

    let poetry = filtered(json!({"genre": "poetry"})).await;
    assert!(!poetry.is_empty());
    assert!(poetry.iter().all(|book| {
        book["genres"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["slug"] == "poetry")
    }));

    let cheap = filtered(json!({"minPriceCents": 500, "maxPriceCents": 1000})).await;
    assert!(!cheap.is_empty());
    assert!(
        cheap
            .iter()
            .all(|book| (500..=1000).contains(&book["price"]["amountCents"].as_i64().unwrap()))
    );

    let sold_out = filtered(json!({"inStock": false})).await;
    assert!(!sold_out.is_empty());
    assert!(
        sold_out
            .iter()
            .all(|book| book["stock"] == 0 && book["inStock"] == false)
    );
    let available = filtered(json!({"inStock": true})).await;
    assert!(available.iter().all(|book| book["inStock"] == true));

    let ebooks = filtered(json!({"format": "EBOOK"})).await;
    assert!(!ebooks.is_empty());
    assert!(ebooks.iter().all(|book| book["format"] == "EBOOK"));

    let author = poetry[0]["credits"][0]["contributor"].clone();
    let theirs = filtered(json!({"contributor": author["id"]})).await;
    assert!(!theirs.is_empty());
    assert!(theirs.iter().all(|book| {
        book["credits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["contributor"]["id"] == author["id"])
    }));

    let combined =
        filtered(json!({"genre": "poetry", "inStock": true, "maxPriceCents": 2000})).await;
    assert!(
        combined.iter().all(|book| book["inStock"] == true
            && book["price"]["amountCents"].as_i64().unwrap() <= 2000)
    );

    for bad in [
        json!({"minPriceCents": -1}),
        json!({"minPriceCents": 900, "maxPriceCents": 100}),
        json!({"contributor": "Qm9vazox"}),
    ] {
        let body = app.graphql(CATALOG, json!({"filter": bad})).await.json();
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{bad}: {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sorts_order_the_catalog() {
    let app = TestApp::new().await;
    let sorted = |sort: &'static str| {
        let app = &app;
        async move { nodes(&app.data(CATALOG, json!({"first": 50, "sort": sort})).await) }
    };
    let prices: Vec<i64> = sorted("PRICE_LOW_TO_HIGH")
        .await
        .iter()
        .map(|b| b["price"]["amountCents"].as_i64().unwrap())
        .collect();
    assert!(
        prices.windows(2).all(|pair| pair[0] <= pair[1]),
        "{prices:?}"
    );
    let prices: Vec<i64> = sorted("PRICE_HIGH_TO_LOW")
        .await
        .iter()
        .map(|b| b["price"]["amountCents"].as_i64().unwrap())
        .collect();
    assert!(
        prices.windows(2).all(|pair| pair[0] >= pair[1]),
        "{prices:?}"
    );
    let titles: Vec<String> = sorted("TITLE")
        .await
        .iter()
        .map(|b| b["title"].as_str().unwrap().to_lowercase())
        .collect();
    assert!(
        titles.windows(2).all(|pair| pair[0] <= pair[1]),
        "{titles:?}"
    );
    let dates: Vec<String> = sorted("NEWEST")
        .await
        .iter()
        .map(|b| b["publicationDate"].as_str().unwrap().to_owned())
        .collect();
    assert!(dates.windows(2).all(|pair| pair[0] >= pair[1]), "{dates:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_book_is_found_by_id_isbn_or_slug_and_through_node() {
    let app = TestApp::new().await;
    let first = nodes(&app.data(CATALOG, json!({"first": 1})).await).remove(0);
    let isbn = first["isbn"].as_str().unwrap();
    let hyphenated = format!("{}-{}-{}", &isbn[..3], &isbn[3..8], &isbn[8..]);
    for variables in [
        json!({"id": first["id"]}),
        json!({"isbn": hyphenated}),
        json!({"slug": first["slug"]}),
    ] {
        let data = app.data(BOOK, variables.clone()).await;
        assert_eq!(data["book"]["id"], first["id"], "{variables}");
    }
    assert_eq!(
        app.data(BOOK, json!({"slug": "no-such-book"})).await["book"],
        Value::Null
    );
    let body = app
        .graphql(BOOK, json!({"id": first["id"], "slug": "x"}))
        .await
        .json();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let body = app
        .graphql(BOOK, json!({"isbn": "9780000000000"}))
        .await
        .json();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

    let node = app
        .data(
            "query($id: ID!) { node(id: $id) { id ... on Book { title } } }",
            json!({"id": first["id"]}),
        )
        .await;
    assert_eq!(node["node"]["title"], first["title"]);
    let contributor_id = first["credits"][0]["contributor"]["id"].clone();
    let node = app
        .data(
            "query($id: ID!) { node(id: $id) { __typename ... on Contributor { name } } }",
            json!({"id": contributor_id}),
        )
        .await;
    assert_eq!(node["node"]["__typename"], "Contributor");
    assert_eq!(
        app.data(r#"{ node(id: "bm9wZQ") { id } }"#, json!({}))
            .await["node"],
        Value::Null
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn archived_books_leave_the_catalog_but_keep_their_page() {
    let app = TestApp::new().await;
    let first = nodes(&app.data(CATALOG, json!({"first": 1})).await).remove(0);
    app.sql(&format!(
        "UPDATE books SET archived = true WHERE slug = '{}'",
        first["slug"].as_str().unwrap()
    ))
    .await;
    app.flush_cache().await;
    let page = nodes(&app.data(CATALOG, json!({"first": 100})).await);
    assert!(page.iter().all(|book| book["id"] != first["id"]));
    let book = app.data(BOOK, json!({"slug": first["slug"]})).await;
    assert_eq!(book["book"]["archived"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn contributors_list_and_their_books() {
    let app = TestApp::new().await;
    let query = r#"
      query($search: String, $slug: String) {
        contributors(first: 5, search: $search) { totalCount nodes { name slug } }
        contributor(slug: $slug) {
          name
          books(first: 2) { totalCount pageInfo { hasNextPage } nodes { title credits { contributor { slug } } } }
        }
        genres { name slug }
      }"#;
    let data = app
        .data(query, json!({"search": "austen", "slug": "jane-austen"}))
        .await;
    assert_eq!(data["contributors"]["nodes"][0]["name"], "Jane Austen");
    let austen = &data["contributor"];
    assert_eq!(austen["name"], "Jane Austen");
    let total = austen["books"]["totalCount"].as_i64().unwrap();
    assert!(total >= 3, "{austen}");
    assert_eq!(austen["books"]["nodes"].as_array().unwrap().len(), 2);
    assert_eq!(austen["books"]["pageInfo"]["hasNextPage"], true);
    for book in austen["books"]["nodes"].as_array().unwrap() {
        assert!(
            book["credits"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["contributor"]["slug"] == "jane-austen")
        );
    }
    assert!(data["genres"].as_array().unwrap().len() >= 18);
}
