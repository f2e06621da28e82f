//! The synthetic customers and orders that the benchmarks seed
//! (`bookstore seed --synthetic ... --customers N --orders-per-customer K`).

use bookstore::db;
use bookstore::seed::{SYNTHETIC_CUSTOMER_DOMAIN, SYNTHETIC_CUSTOMER_PASSWORD};
use diesel::sql_types::{BigInt, Double, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;

use crate::support::{TestApp, TestDatabase};

/// A migrated database with a synthetic catalog of 300 books and 20
/// customers of 10 orders each.
async fn seeded_database() -> TestDatabase {
    let database = TestDatabase::empty().await;
    db::run_migrations(&database.url).await.unwrap();
    let mut conn = AsyncPgConnection::establish(&database.url).await.unwrap();
    bookstore::seed::synthetic(&mut conn, 300, 50)
        .await
        .unwrap();
    let report = bookstore::seed::customers(&mut conn, 20, 10).await.unwrap();
    assert_eq!(
        (
            report.customers,
            report.orders,
            report.lines,
            report.skipped
        ),
        (20, 200, 600, false)
    );
    database
}

#[derive(diesel::QueryableByName, Debug, PartialEq)]
struct Checks {
    #[diesel(sql_type = BigInt)]
    customers: i64,
    #[diesel(sql_type = BigInt)]
    orders: i64,
    #[diesel(sql_type = BigInt)]
    lines: i64,
    #[diesel(sql_type = BigInt)]
    totals_that_do_not_add_up: i64,
    #[diesel(sql_type = BigInt)]
    lines_unlike_their_book: i64,
    #[diesel(sql_type = BigInt)]
    orders_without_three_books: i64,
    #[diesel(sql_type = BigInt)]
    orders_without_their_payment: i64,
    #[diesel(sql_type = BigInt)]
    shipments_unlike_the_status: i64,
    #[diesel(sql_type = BigInt)]
    orders_neither_paid_nor_shipped: i64,
    #[diesel(sql_type = BigInt)]
    customers_without_ten_orders: i64,
    #[diesel(sql_type = Double)]
    analyzed_order_rows: f64,
}

#[tokio::test(flavor = "multi_thread")]
async fn synthetic_customers_have_orders_that_add_up_and_show_through_the_api() {
    let database = seeded_database().await;
    let mut conn = AsyncPgConnection::establish(&database.url).await.unwrap();
    let checks: Checks = diesel::sql_query(
        "SELECT
           (SELECT count(*) FROM users WHERE role = 'customer' AND email_verified_at IS NOT NULL) AS customers,
           (SELECT count(*) FROM orders) AS orders,
           (SELECT count(*) FROM order_lines) AS lines,
           (SELECT count(*) FROM orders o WHERE o.total_cents <> o.subtotal_cents + o.shipping_cents
              OR o.shipping_cents <> 499
              OR o.subtotal_cents <> (SELECT sum(l.unit_price_cents * l.quantity) FROM order_lines l
                                      WHERE l.order_id = o.id)) AS totals_that_do_not_add_up,
           (SELECT count(*) FROM order_lines l LEFT JOIN books b ON b.id = l.book_id
            WHERE b.id IS NULL OR b.archived OR b.title <> l.title OR b.isbn <> l.isbn
               OR b.price_cents <> l.unit_price_cents) AS lines_unlike_their_book,
           (SELECT count(*) FROM (SELECT order_id FROM order_lines GROUP BY order_id
                                  HAVING count(DISTINCT book_id) <> 3) x) AS orders_without_three_books,
           (SELECT count(*) FROM orders o WHERE NOT EXISTS (
              SELECT 1 FROM payments p WHERE p.order_id = o.id AND p.status = 'APPROVED'
                AND p.amount_cents = o.total_cents)) AS orders_without_their_payment,
           (SELECT count(*) FROM orders o WHERE (o.status = 'SHIPPED')
              <> EXISTS (SELECT 1 FROM shipments s WHERE s.order_id = o.id)) AS shipments_unlike_the_status,
           (SELECT count(*) FROM orders WHERE status NOT IN ('PAID', 'SHIPPED') OR paid_at IS NULL)
              AS orders_neither_paid_nor_shipped,
           (SELECT count(*) FROM users u WHERE u.role = 'customer' AND
              (SELECT count(*) FROM orders o WHERE o.user_id = u.id AND o.email = u.email) <> 10)
              AS customers_without_ten_orders,
           (SELECT reltuples FROM pg_class WHERE oid = 'orders'::regclass)::float8 AS analyzed_order_rows",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        checks,
        Checks {
            customers: 20,
            orders: 200,
            lines: 600,
            totals_that_do_not_add_up: 0,
            lines_unlike_their_book: 0,
            orders_without_three_books: 0,
            orders_without_their_payment: 0,
            shipments_unlike_the_status: 0,
            orders_neither_paid_nor_shipped: 0,
            customers_without_ten_orders: 0,
            // ANALYZE ran: a never-analyzed table says -1.
            analyzed_order_rows: 200.0,
        }
    );

    // A second run adds nothing; the identity sequences moved past the
    // explicit ids, so the shop's own inserts still work.
    let again = bookstore::seed::customers(&mut conn, 20, 10).await.unwrap();
    assert!(again.skipped);
    diesel::sql_query(
        "WITH u AS (INSERT INTO users (email, name, password_hash) VALUES ('new@example.com', 'New', 'x') RETURNING id)
         INSERT INTO addresses (name, line1, city, postal_code, country) SELECT 'New', '1 Way', 'Town', '1', 'US' FROM u",
    )
    .execute(&mut conn)
    .await
    .unwrap();

    // A synthetic customer signs in with the published password and sees
    // their ten orders, newest first, with three lines each.
    let app = TestApp::on(database, &[]).await;
    let token = app
        .login_token(
            &format!("reader00003@{SYNTHETIC_CUSTOMER_DOMAIN}"),
            SYNTHETIC_CUSTOMER_PASSWORD,
        )
        .await;
    let data = app
        .data_as(
            &token,
            "{ viewer { orders(first: 10) { nodes { number status createdAt total { amountCents }
               lines { quantity unitPrice { amountCents } book { title } } } } } }",
            json!({}),
        )
        .await;
    let orders = data["viewer"]["orders"]["nodes"].as_array().unwrap();
    assert_eq!(orders.len(), 10, "{data}");
    let dates: Vec<&str> = orders
        .iter()
        .map(|order| order["createdAt"].as_str().unwrap())
        .collect();
    assert!(dates.windows(2).all(|pair| pair[0] > pair[1]), "{dates:?}");
    for order in orders {
        let lines = order["lines"].as_array().unwrap();
        assert_eq!(lines.len(), 3);
        let subtotal: i64 = lines
            .iter()
            .map(|line| {
                assert!(line["book"]["title"].is_string());
                line["quantity"].as_i64().unwrap()
                    * line["unitPrice"]["amountCents"].as_i64().unwrap()
            })
            .sum();
        assert_eq!(
            order["total"]["amountCents"].as_i64().unwrap(),
            subtotal + 499
        );
        assert!(order["number"].as_str().unwrap().starts_with("BK-"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn synthetic_customers_are_deterministic() {
    let mut digests = Vec::new();
    for _ in 0..2 {
        let database = seeded_database().await;
        let mut conn = AsyncPgConnection::establish(&database.url).await.unwrap();
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            digest: String,
        }
        let row: Row = diesel::sql_query(
            "SELECT md5(string_agg(o.number || o.email || o.status || o.total_cents || o.created_at
                                   || l.position || l.isbn || l.quantity, ','
                                   ORDER BY o.number, l.position)) AS digest
             FROM orders o JOIN order_lines l ON l.order_id = o.id",
        )
        .get_result(&mut conn)
        .await
        .unwrap();
        digests.push(row.digest);
    }
    assert_eq!(digests[0], digests[1]);
}
