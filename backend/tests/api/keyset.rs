//! Keyset pagination of book lists and the kept catalog counts: a page
//! after books were added neither skips nor repeats (every sort, both
//! directions), a deep page costs what the first does and seeks through an
//! index (no sort, no count of the catalog), and stock changes never wait on
//! the count rows.

use bookstore::db::catalog::{self, BookFilter, BookOrder, Seek};
use serde_json::{Value, json};

use crate::catalog::{CATALOG, nodes};
use crate::support::TestApp;

/// A valid ISBN-13 (979 prefix) for serial `n`.
fn isbn(n: u32) -> String {
    let body = format!("979{n:09}");
    let sum: u32 = body
        .chars()
        .enumerate()
        .map(|(i, c)| c.to_digit(10).unwrap() * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// Adds a live paperback straight in the database (as another backend
/// would, between two of this shopper's pages).
async fn add_book(app: &TestApp, serial: u32, title: &str, price: i32, date: Option<&str>) {
    let date = date.map_or("NULL".to_owned(), |date| format!("'{date}'"));
    app.sql(&format!(
        "INSERT INTO books (slug, isbn, title, format, price_cents, stock, publication_date)
         VALUES ('keyset-{serial}', '{}', '{}', 'paperback', {price}, 3, {date})",
        isbn(serial),
        title.replace('\'', "''")
    ))
    .await;
}

/// One page: its book ids and its `pageInfo`.
async fn page(app: &TestApp, variables: Value) -> (Vec<String>, Value) {
    let data = app.data(CATALOG, variables).await;
    let ids = nodes(&data)
        .iter()
        .map(|book| book["id"].as_str().unwrap().to_owned())
        .collect();
    (ids, data["books"]["pageInfo"].clone())
}

/// The whole list, walked forward `size` at a time: (id, cursor, node).
async fn walk(
    app: &TestApp,
    sort: &str,
    filter: &Value,
    size: i64,
) -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = app
            .data(
                CATALOG,
                json!({"first": size, "after": after, "sort": sort, "filter": filter}),
            )
            .await;
        for edge in data["books"]["edges"].as_array().unwrap() {
            all.push((
                edge["node"]["id"].as_str().unwrap().to_owned(),
                edge["cursor"].as_str().unwrap().to_owned(),
                edge["node"].clone(),
            ));
        }
        let info = &data["books"]["pageInfo"];
        if !info["hasNextPage"].as_bool().unwrap() {
            return all;
        }
        after = info["endCursor"].clone();
    }
}

fn ids(list: &[(String, String, Value)]) -> Vec<String> {
    list.iter().map(|(id, _, _)| id.clone()).collect()
}

fn index_of(list: &[(String, String, Value)], id: &str) -> usize {
    list.iter().position(|(other, _, _)| other == id).unwrap()
}

/// Books that sort first in `sort`, and right beside `near` (same key).
async fn add_around(app: &TestApp, sort: &str, near: &Value, serial: u32) {
    let title = near["title"].as_str().unwrap();
    let price = near["price"]["amountCents"].as_i64().unwrap() as i32;
    let date = near["publicationDate"].as_str();
    let (first_title, first_price, first_date) = match sort {
        "TITLE" => ("0000 Love first", 1000, Some("2000-01-01")),
        "PRICE_LOW_TO_HIGH" => ("Love at no price", 0, Some("2000-01-01")),
        "PRICE_HIGH_TO_LOW" => ("Love at any price", 9_999_999, Some("2000-01-01")),
        "NEWEST" => ("Love from the future", 1000, Some("2999-12-31")),
        _ => ("Love", 1000, Some("2000-01-01")),
    };
    add_book(app, serial, first_title, first_price, first_date).await;
    // (A search lists only matches: the neighbour must match too.)
    let beside = match sort {
        "RELEVANCE" => format!("{title} love"),
        _ => title.to_owned(),
    };
    add_book(app, serial + 1, &beside, price, date).await;
    // Undated books sort last in NEWEST.
    add_book(
        app,
        serial + 2,
        &format!("{title} love, undated"),
        price,
        None,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_after_books_were_added_neither_skips_nor_repeats() {
    let app = TestApp::new().await;
    let mut serial = 900_000;
    for (sort, filter) in [
        ("TITLE", json!({})),
        ("PRICE_LOW_TO_HIGH", json!({})),
        ("PRICE_HIGH_TO_LOW", json!({})),
        ("NEWEST", json!({})),
        ("RELEVANCE", json!({"search": "love"})),
    ] {
        // Forward: a page, then books added before and beside its end.
        let before = walk(&app, sort, &filter, 100).await;
        assert!(before.len() >= 20, "{sort}: {}", before.len());
        let start = before.len() / 4;
        let (first_page, info) = page(
            &app,
            json!({"first": 5, "after": before[start].1, "sort": sort, "filter": filter}),
        )
        .await;
        assert_eq!(first_page, ids(&before[start + 1..start + 6]), "{sort}");
        assert_eq!(info["hasPreviousPage"], true);
        let end = &before[start + 5];
        add_around(&app, sort, &end.2, serial).await;
        serial += 10;
        let (next_page, _) = page(
            &app,
            json!({"first": 5, "after": info["endCursor"], "sort": sort, "filter": filter}),
        )
        .await;
        let after = walk(&app, sort, &filter, 100).await;
        assert_eq!(
            after.len(),
            before.len() + 3,
            "{sort}: the added books are listed"
        );
        let at = index_of(&after, &end.0);
        assert_eq!(next_page, ids(&after[at + 1..at + 6]), "{sort}: forward");
        assert!(next_page.iter().all(|id| !first_page.contains(id)));

        // Backward: a page before a cursor, then books added again.
        let before = after;
        let end = before.len() * 3 / 4;
        let (last_page, info) = page(
            &app,
            json!({"last": 5, "before": before[end].1, "sort": sort, "filter": filter}),
        )
        .await;
        assert_eq!(last_page, ids(&before[end - 5..end]), "{sort}");
        assert_eq!(info["hasNextPage"], true);
        let start = &before[end - 5];
        add_around(&app, sort, &start.2, serial).await;
        serial += 10;
        let (previous_page, _) = page(
            &app,
            json!({"last": 5, "before": info["startCursor"], "sort": sort, "filter": filter}),
        )
        .await;
        let after = walk(&app, sort, &filter, 100).await;
        let at = index_of(&after, &start.0);
        assert_eq!(previous_page, ids(&after[at - 5..at]), "{sort}: backward");
        assert!(previous_page.iter().all(|id| !last_page.contains(id)));
    }

    // Small pages, forward and backward, through undated books too.
    let all = walk(&app, "NEWEST", &json!({}), 100).await;
    assert!(all.last().unwrap().2["publicationDate"].is_null());
    assert_eq!(ids(&walk(&app, "NEWEST", &json!({}), 7).await), ids(&all));
    let mut backward = Vec::new();
    let mut before = Value::Null;
    loop {
        let data = app
            .data(
                CATALOG,
                json!({"last": 9, "before": before, "sort": "NEWEST"}),
            )
            .await;
        let mut ids: Vec<String> = nodes(&data)
            .iter()
            .map(|book| book["id"].as_str().unwrap().to_owned())
            .collect();
        ids.append(&mut backward);
        backward = ids;
        let info = &data["books"]["pageInfo"];
        if !info["hasPreviousPage"].as_bool().unwrap() {
            break;
        }
        before = info["startCursor"].clone();
    }
    assert_eq!(backward, ids(&all));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deep_page_costs_the_statements_of_the_first() {
    let app = TestApp::with_env(&[("REDIS_URL", "")]).await;
    let all = walk(&app, "TITLE", &json!({}), 100).await;
    let (first, first_statements) = app
        .data_counting(CATALOG, json!({"first": 20, "sort": "TITLE"}))
        .await;
    let deep_cursor = &all[all.len() - 30].1;
    let (deep, deep_statements) = app
        .data_counting(
            CATALOG,
            json!({"first": 20, "after": deep_cursor, "sort": "TITLE"}),
        )
        .await;
    assert_eq!(nodes(&first).len(), 20);
    assert_eq!(nodes(&deep).len(), 20);
    assert_eq!(deep["books"]["totalCount"], first["books"]["totalCount"]);
    assert!(first_statements <= 3, "{first_statements}");
    assert_eq!(deep_statements, first_statements);
}

/// Every node of a JSON plan, depth first.
fn plan_nodes(node: &Value, into: &mut Vec<Value>) {
    into.push(node.clone());
    for child in node["Plans"].as_array().into_iter().flatten() {
        plan_nodes(child, into);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_seeks_through_its_index_and_neither_sorts_nor_counts_the_catalog() {
    let app = TestApp::new().await;
    let mut conn = app.connection().await;
    app.sql("ANALYZE books").await;
    let filter = BookFilter::default();
    for (order, index) in [
        (BookOrder::Title, "books_title_idx"),
        (BookOrder::PriceAscending, "books_price_idx"),
        (BookOrder::PriceDescending, "books_price_idx"),
        (BookOrder::Newest, "books_newest_idx"),
    ] {
        let seek = Seek {
            limit: 400,
            ..Seek::default()
        };
        let (positions, _) = catalog::page(&mut conn, &filter, order, &seek, false)
            .await
            .unwrap();
        for backward in [false, true] {
            let seek = Seek {
                after: (!backward).then(|| positions[350].clone()),
                before: backward.then(|| positions[350].clone()),
                backward,
                limit: 21,
            };
            // A small table tempts the planner to scan it whole: forbid that,
            // so the test shows whether the index can serve the page.
            diesel_async::RunQueryDsl::execute(
                diesel::sql_query("SET enable_seqscan = off"),
                &mut conn,
            )
            .await
            .unwrap();
            let plan = catalog::page_plan(&mut conn, &filter, order, &seek, true)
                .await
                .unwrap();
            let plan: Value = serde_json::from_str(&plan).unwrap();
            let mut all = Vec::new();
            plan_nodes(&plan[0]["Plan"], &mut all);
            let types: Vec<&str> = all
                .iter()
                .map(|node| node["Node Type"].as_str().unwrap())
                .collect();
            for costly in ["Sort", "Incremental Sort", "Aggregate", "WindowAgg"] {
                assert!(!types.contains(&costly), "{order:?} {backward}: {types:?}");
            }
            let scans: Vec<&Value> = all
                .iter()
                .filter(|node| node["Relation Name"] == "books")
                .collect();
            assert_eq!(scans.len(), 1, "{order:?}: {types:?}");
            let scan = scans[0];
            assert_eq!(scan["Index Name"], index, "{order:?} {backward}: {types:?}");
            assert!(scan["Index Cond"].is_string(), "{order:?}: seeks {scan}");
            assert!(
                scan["Actual Rows"].as_f64().unwrap() <= 21.0,
                "{order:?} {backward}: read {} rows",
                scan["Actual Rows"]
            );
        }
    }
}

const TOTALS: &str = r#"query($format: BookFormat) {
  all: books(first: 1) { totalCount }
  format: books(first: 1, filter: {format: $format}) { totalCount }
}"#;

#[tokio::test(flavor = "multi_thread")]
async fn totals_come_from_the_kept_counts_and_follow_every_change() {
    // No Redis: every total is read from Postgres.
    let app = TestApp::with_env(&[("REDIS_URL", "")]).await;
    let mut serial = 910_000;
    let check = async |app: &TestApp, step: &str| {
        for format in ["PAPERBACK", "EBOOK", "HARDCOVER"] {
            let data = app.data(TOTALS, json!({"format": format})).await;
            let mut conn = app.connection().await;
            let expected_all: i64 =
                scalar(&mut conn, "SELECT count(*) FROM books WHERE NOT archived").await;
            let expected_format: i64 = scalar(
                &mut conn,
                &format!(
                    "SELECT count(*) FROM books WHERE NOT archived AND format = '{}'",
                    format.to_lowercase()
                ),
            )
            .await;
            assert_eq!(data["all"]["totalCount"], expected_all, "{step}");
            assert_eq!(
                data["format"]["totalCount"], expected_format,
                "{step} {format}"
            );
        }
    };
    check(&app, "seeded").await;
    add_book(&app, serial, "Counted", 1000, None).await;
    serial += 1;
    check(&app, "added").await;
    app.sql(&format!(
        "UPDATE books SET archived = true WHERE isbn = '{}'",
        isbn(serial - 1)
    ))
    .await;
    check(&app, "archived").await;
    app.sql("UPDATE books SET format = 'ebook' WHERE id = (SELECT min(id) FROM books WHERE format = 'paperback' AND NOT archived)")
        .await;
    check(&app, "re-formatted").await;
    app.sql(&format!(
        "UPDATE books SET archived = false WHERE isbn = '{}'",
        isbn(serial - 1)
    ))
    .await;
    check(&app, "restored").await;
    app.sql(&format!(
        "DELETE FROM books WHERE isbn = '{}'",
        isbn(serial - 1)
    ))
    .await;
    check(&app, "deleted").await;

    // The unfiltered total reads the kept row, not a count of the catalog.
    app.sql("UPDATE catalog_counts SET books = 12345 WHERE scope = 'live'")
        .await;
    let data = app.data(TOTALS, json!({"format": "EBOOK"})).await;
    assert_eq!(data["all"]["totalCount"], 12345);
}

async fn scalar(conn: &mut diesel_async::AsyncPgConnection, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let rows: Vec<Row> =
        diesel_async::RunQueryDsl::load(diesel::sql_query(format!("SELECT ({sql}) AS n")), conn)
            .await
            .unwrap();
    rows[0].n
}

#[tokio::test(flavor = "multi_thread")]
async fn stock_changes_never_wait_on_the_count_rows() {
    let app = TestApp::new().await;
    let mut holder = app.connection().await;
    let mut writer = app.connection().await;
    let run = async |conn: &mut diesel_async::AsyncPgConnection, sql: &str| {
        diesel_async::RunQueryDsl::execute(diesel::sql_query(sql), conn).await
    };
    // Someone holds every count row (a staff write in progress).
    run(&mut holder, "BEGIN").await.unwrap();
    run(&mut holder, "SELECT * FROM catalog_counts FOR UPDATE")
        .await
        .unwrap();
    run(&mut writer, "SET lock_timeout = '500ms'")
        .await
        .unwrap();
    let id = "(SELECT min(id) FROM books WHERE NOT archived AND stock > 0)";
    // Checkout's reservation and a restock go through.
    run(
        &mut writer,
        &format!("UPDATE books SET stock = stock - 1 WHERE id = {id} AND stock >= 1"),
    )
    .await
    .expect("a stock change must not wait on catalog_counts");
    run(
        &mut writer,
        &format!("UPDATE books SET stock = stock + 1 WHERE id = {id}"),
    )
    .await
    .expect("a restock must not wait on catalog_counts");
    // Archiving does change the counts, so it waits (the lock is real).
    let archived = run(
        &mut writer,
        &format!("UPDATE books SET archived = true WHERE id = {id}"),
    )
    .await;
    assert!(archived.is_err(), "archiving must update the kept counts");
    run(&mut holder, "ROLLBACK").await.unwrap();
}
