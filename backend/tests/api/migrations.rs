use bookstore::db;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::support::TestDatabase;

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

async fn catalog_tables(url: &str) -> i64 {
    let mut conn = AsyncPgConnection::establish(url).await.unwrap();
    let rows: Vec<Count> = diesel::sql_query(
        "SELECT count(*) AS count FROM information_schema.tables
         WHERE table_schema = 'public'
           AND table_name IN ('books', 'contributors', 'genres', 'book_contributors', 'book_genres')",
    )
    .load(&mut conn)
    .await
    .unwrap();
    rows[0].count
}

#[tokio::test(flavor = "multi_thread")]
async fn every_migration_goes_down_and_up_again() {
    let database = TestDatabase::empty().await;
    let applied = db::run_migrations(&database.url).await.unwrap();
    assert_eq!(applied.len(), db::migration_versions().unwrap().len());
    assert_eq!(catalog_tables(&database.url).await, 5);

    let reverted = db::revert_all_migrations(&database.url).await.unwrap();
    assert_eq!(reverted.len(), applied.len());
    assert_eq!(catalog_tables(&database.url).await, 0);

    let reapplied = db::run_migrations(&database.url).await.unwrap();
    assert_eq!(reapplied, applied);
    assert_eq!(catalog_tables(&database.url).await, 5);
    // And the seeded catalog loads onto the re-created schema.
    let mut conn = AsyncPgConnection::establish(&database.url).await.unwrap();
    let report = bookstore::seed::demo(&mut conn).await.unwrap();
    assert!(report.books >= 200, "{report}");
    assert!(
        bookstore::seed::demo(&mut conn).await.unwrap().skipped,
        "seeding twice must be a no-op"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_database_refuses_bad_books() {
    let app = crate::support::TestApp::new().await;
    let mut conn = app.connection().await;
    let insert = |isbn: &str, stock: i32| {
        format!(
            "INSERT INTO books (slug, isbn, title, format, price_cents, stock)
             VALUES ('x-{isbn}', '{isbn}', 'X', 'paperback', 100, {stock})"
        )
    };
    // Wrong ISBN checksum, negative stock.
    assert!(
        diesel::sql_query(insert("9780141439519", 1))
            .execute(&mut conn)
            .await
            .is_err()
    );
    assert!(
        diesel::sql_query(insert("9780141439518", -1))
            .execute(&mut conn)
            .await
            .is_err()
    );
    assert!(
        diesel::sql_query(insert("9780141439518", 1))
            .execute(&mut conn)
            .await
            .is_ok()
    );
    assert!(
        diesel::sql_query("UPDATE books SET stock = stock - 1000000")
            .execute(&mut conn)
            .await
            .is_err(),
        "stock may never go negative"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_synthetic_catalog_is_deterministic() {
    let first = TestDatabase::empty().await;
    let second = TestDatabase::empty().await;
    let mut titles = Vec::new();
    for database in [&first, &second] {
        db::run_migrations(&database.url).await.unwrap();
        let mut conn = AsyncPgConnection::establish(&database.url).await.unwrap();
        let report = bookstore::seed::synthetic(&mut conn, 300, 50)
            .await
            .unwrap();
        assert_eq!((report.books, report.contributors), (300, 50));
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            digest: String,
        }
        let rows: Vec<Row> = diesel::sql_query(
            "SELECT md5(string_agg(isbn || title || price_cents || stock, ',' ORDER BY isbn)) AS digest FROM books",
        )
        .load(&mut conn)
        .await
        .unwrap();
        titles.push(rows[0].digest.clone());
    }
    assert_eq!(titles[0], titles[1]);
}
