//! Staff inventory API tests (see graphql/admin.rs): only staff may write,
//! invalid input writes nothing, and every write shows at once in reads
//! that were cached before it.

use bookstore::graphql::ids::{NodeType, global_id};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};

use crate::catalog::{BOOK, CATALOG};
use crate::support::TestApp;

macro_rules! book_payload {
    () => {
        "{ book { id slug isbn title subtitle archived stock inStock publicationDate
                  price { amountCents currency }
                  credits { role contributor { slug name } }
                  genres { slug name } }
           userErrors { field code message } }"
    };
}

const CREATE_BOOK: &str = concat!(
    "mutation($input: CreateBookInput!) { createBook(input: $input) ",
    book_payload!(),
    " }"
);
const UPDATE_BOOK: &str = concat!(
    "mutation($input: UpdateBookInput!) { updateBook(input: $input) ",
    book_payload!(),
    " }"
);
const ARCHIVE_BOOK: &str = concat!(
    "mutation($id: ID!) { archiveBook(id: $id) ",
    book_payload!(),
    " }"
);
const RESTORE_BOOK: &str = concat!(
    "mutation($id: ID!) { restoreBook(id: $id) ",
    book_payload!(),
    " }"
);
const ADJUST_STOCK: &str = concat!(
    "mutation($input: AdjustStockInput!) { adjustStock(input: $input) ",
    book_payload!(),
    " }"
);
const CREATE_CONTRIBUTOR: &str = "mutation($input: CreateContributorInput!) {
    createContributor(input: $input) {
        contributor { id slug name sortName birthYear deathYear }
        userErrors { field code message } } }";
const UPDATE_CONTRIBUTOR: &str = "mutation($input: UpdateContributorInput!) {
    updateContributor(input: $input) {
        contributor { id slug name sortName birthYear deathYear }
        userErrors { field code message } } }";
const CREATE_GENRE: &str = "mutation($input: CreateGenreInput!) {
    createGenre(input: $input) { genre { id slug name description } userErrors { field code message } } }";
const UPDATE_GENRE: &str = "mutation($input: UpdateGenreInput!) {
    updateGenre(input: $input) { genre { id slug name description } userErrors { field code message } } }";

const CONTRIBUTOR_BOOKS: &str = "query($slug: String) {
    contributor(slug: $slug) { name books(first: 50) { totalCount nodes { slug title } } } }";
const STOCK: &str = "query($id: ID) { book(id: $id) { stock inStock } }";
const COUNT: &str =
    "query($filter: BookFilter) { books(first: 1, filter: $filter) { totalCount } }";

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
}

/// One text value from the test's database.
async fn query_text(app: &TestApp, sql: &str) -> String {
    let mut conn = app.connection().await;
    diesel::sql_query(sql)
        .get_result::<Row>(&mut conn)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
        .value
}

/// A digest of every catalog row: equal digests, unchanged catalog.
async fn catalog_digest(app: &TestApp) -> String {
    query_text(
        app,
        "SELECT md5(
            (SELECT string_agg(b::text, ',' ORDER BY b.id) FROM books b) ||
            (SELECT string_agg(c::text, ',' ORDER BY c.id) FROM contributors c) ||
            (SELECT string_agg(g::text, ',' ORDER BY g.id) FROM genres g) ||
            (SELECT string_agg(bc::text, ',' ORDER BY bc.book_id, bc.contributor_id, bc.role)
               FROM book_contributors bc) ||
            (SELECT string_agg(bg::text, ',' ORDER BY bg.book_id, bg.genre_id) FROM book_genres bg)
         ) AS value",
    )
    .await
}

async fn stock_in_database(app: &TestApp, slug: &str) -> i64 {
    query_text(
        app,
        &format!("SELECT stock::text AS value FROM books WHERE slug = '{slug}'"),
    )
    .await
    .parse()
    .unwrap()
}

async fn id_of(app: &TestApp, field: &str, slug: &str) -> String {
    let data = app
        .data(
            &format!("query($slug: String) {{ {field}(slug: $slug) {{ id }} }}"),
            json!({"slug": slug}),
        )
        .await;
    data[field]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} {slug}: {data}"))
        .to_owned()
}

async fn total(app: &TestApp, filter: Value) -> i64 {
    app.data(COUNT, json!({"filter": filter})).await["books"]["totalCount"]
        .as_i64()
        .unwrap()
}

async fn contributor_books(app: &TestApp, slug: &str) -> Vec<String> {
    let data = app.data(CONTRIBUTOR_BOOKS, json!({"slug": slug})).await;
    data["contributor"]["books"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|book| book["slug"].as_str().unwrap().to_owned())
        .collect()
}

/// A book's credits as (role, contributor name), in credit order.
fn credit_names(book: &Value) -> Vec<(&str, &str)> {
    book["credits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|credit| {
            (
                credit["role"].as_str().unwrap(),
                credit["contributor"]["name"].as_str().unwrap(),
            )
        })
        .collect()
}

/// Runs a staff mutation (no GraphQL errors) and returns its payload.
async fn payload(app: &TestApp, token: &str, query: &str, variables: Value) -> Value {
    let data = app.data_as(token, query, variables).await;
    let (_, payload) = data.as_object().unwrap().iter().next().unwrap();
    payload.clone()
}

fn assert_ok(payload: &Value) {
    assert_eq!(payload["userErrors"], json!([]), "{payload}");
}

/// Exactly one userError, with this code and field, and no result.
fn assert_refused(payload: &Value, code: &str, field: &[&str]) {
    let errors = payload["userErrors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{payload}");
    assert_eq!(errors[0]["code"], code, "{payload}");
    assert_eq!(errors[0]["field"], json!(field), "{payload}");
    for result in ["book", "contributor", "genre"] {
        assert!(payload.get(result).is_none_or(Value::is_null), "{payload}");
    }
}

fn new_book(title: &str, isbn: &str) -> Value {
    json!({
        "title": title,
        "isbn": isbn,
        "format": "HARDCOVER",
        "priceCents": 1599,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn anonymous_and_customer_callers_are_refused_every_mutation_and_nothing_changes() {
    let app = TestApp::new().await;
    let customer = app.customer_token("reader@example.com").await;
    let book = id_of(&app, "book", "emma").await;
    let contributor = id_of(&app, "contributor", "jane-austen").await;
    let genre = id_of(&app, "genre", "poetry").await;
    let digest = catalog_digest(&app).await;
    let stock = stock_in_database(&app, "emma").await;

    let mutations = [
        (
            CREATE_BOOK,
            json!({"input": {
                "title": "Intruder", "isbn": "9780306406157", "format": "EBOOK", "priceCents": 100,
                "contributors": [{"contributorId": contributor, "role": "AUTHOR"}],
                "genreIds": [genre],
            }}),
        ),
        (
            UPDATE_BOOK,
            json!({"input": {"id": book, "title": "Defaced", "priceCents": 1}}),
        ),
        (ARCHIVE_BOOK, json!({"id": book})),
        (RESTORE_BOOK, json!({"id": book})),
        (
            ADJUST_STOCK,
            json!({"input": {"bookId": book, "delta": -1}}),
        ),
        (CREATE_CONTRIBUTOR, json!({"input": {"name": "Intruder"}})),
        (
            UPDATE_CONTRIBUTOR,
            json!({"input": {"id": contributor, "name": "Defaced"}}),
        ),
        (CREATE_GENRE, json!({"input": {"name": "Intruders"}})),
        (
            UPDATE_GENRE,
            json!({"input": {"id": genre, "name": "Defaced"}}),
        ),
    ];
    for (query, variables) in &mutations {
        let anonymous = app.graphql(query, variables.clone()).await.json();
        assert_eq!(
            anonymous["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{query}: {anonymous}"
        );
        let as_customer = app
            .graphql_as(&customer, query, variables.clone())
            .await
            .json();
        assert_eq!(
            as_customer["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{query}: {as_customer}"
        );
    }

    assert_eq!(
        catalog_digest(&app).await,
        digest,
        "the catalog is unchanged"
    );
    assert_eq!(stock_in_database(&app, "emma").await, stock);
    let emma = app.data(BOOK, json!({"id": book})).await;
    assert_eq!(emma["book"]["title"], "Emma");
    assert_eq!(emma["book"]["archived"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_created_book_is_searchable_countable_and_credited_at_once() {
    let app = TestApp::new().await;
    let staff = app.staff_token("staff@example.com").await;
    let austen = id_of(&app, "contributor", "jane-austen").await;
    let dickens = id_of(&app, "contributor", "charles-dickens").await;
    let poetry = id_of(&app, "genre", "poetry").await;
    let gothic = id_of(&app, "genre", "gothic").await;

    // Warm every cache the new book must show up in.
    let catalog_before = total(&app, json!({})).await;
    let search = json!({"search": "Zanzibar Quartet"});
    assert_eq!(total(&app, search.clone()).await, 0);
    let austen_before = contributor_books(&app, "jane-austen").await;
    assert!(!austen_before.is_empty());

    let mut input = new_book("  The Zanzibar Quartet ", "978-0-306-40615-7");
    input["publicationDate"] = json!("2030-01-01");
    input["stock"] = json!(3);
    input["contributors"] = json!([
        {"contributorId": austen, "role": "AUTHOR"},
        {"contributorId": dickens, "role": "EDITOR"},
    ]);
    input["genreIds"] = json!([poetry, gothic, poetry]);
    let created = payload(&app, &staff, CREATE_BOOK, json!({"input": input})).await;
    assert_ok(&created);
    let book = &created["book"];
    assert_eq!(book["title"], "The Zanzibar Quartet");
    assert_eq!(book["slug"], "the-zanzibar-quartet");
    assert_eq!(book["isbn"], "9780306406157");
    assert_eq!(book["stock"], 3);
    assert_eq!(
        book["price"],
        json!({"amountCents": 1599, "currency": "USD"})
    );

    let listed = app
        .data(CATALOG, json!({"first": 5, "filter": search}))
        .await;
    assert_eq!(listed["books"]["totalCount"], 1, "{listed}");
    let node = &listed["books"]["edges"][0]["node"];
    assert_eq!(node["title"], "The Zanzibar Quartet");
    assert_eq!(
        node["credits"],
        json!([
            {"role": "AUTHOR", "contributor": {"id": austen, "name": "Jane Austen", "slug": "jane-austen"}},
            {"role": "EDITOR", "contributor": {"id": dickens, "name": "Charles Dickens", "slug": "charles-dickens"}},
        ])
    );
    let genre_slugs: Vec<&str> = node["genres"]
        .as_array()
        .unwrap()
        .iter()
        .map(|genre| genre["slug"].as_str().unwrap())
        .collect();
    assert_eq!(genre_slugs, ["gothic", "poetry"]);

    let by_isbn = app.data(BOOK, json!({"isbn": "0-306-40615-2"})).await;
    assert_eq!(by_isbn["book"]["title"], "The Zanzibar Quartet");
    assert_eq!(
        credit_names(&by_isbn["book"]),
        [("AUTHOR", "Jane Austen"), ("EDITOR", "Charles Dickens")]
    );
    assert_eq!(by_isbn["book"]["genres"].as_array().unwrap().len(), 2);

    assert_eq!(total(&app, json!({})).await, catalog_before + 1);
    let austen_after = contributor_books(&app, "jane-austen").await;
    assert_eq!(austen_after.len(), austen_before.len() + 1);
    assert_eq!(
        austen_after[0], "the-zanzibar-quartet",
        "the newest book comes first"
    );
    assert!(
        contributor_books(&app, "charles-dickens")
            .await
            .contains(&"the-zanzibar-quartet".to_owned())
    );

    // The same title again gets the next free slug.
    let again = payload(
        &app,
        &staff,
        CREATE_BOOK,
        json!({"input": new_book("The Zanzibar Quartet", "9780141439518")}),
    )
    .await;
    assert_ok(&again);
    assert_eq!(again["book"]["slug"], "the-zanzibar-quartet-2");
    assert_eq!(again["book"]["credits"], json!([]));
    assert_eq!(total(&app, json!({})).await, catalog_before + 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_book_input_gets_user_errors_and_writes_nothing() {
    let app = TestApp::new().await;
    let staff = app.staff_token("staff@example.com").await;
    let austen = id_of(&app, "contributor", "jane-austen").await;
    let poetry = id_of(&app, "genre", "poetry").await;
    let taken_isbn = app.data(BOOK, json!({"slug": "emma"})).await["book"]["isbn"].clone();
    let unknown_genre = global_id(NodeType::Genre, 999_999).0;
    let unknown_contributor = global_id(NodeType::Contributor, 999_999).0;
    let digest = catalog_digest(&app).await;

    let with = |changes: Value| {
        let mut input = new_book("A Valid Title", "9780306406157");
        for (key, value) in changes.as_object().unwrap() {
            input[key] = value.clone();
        }
        json!({ "input": input })
    };
    let cases = [
        (
            with(json!({"isbn": "978-0-306-40615-8"})),
            "INVALID",
            vec!["input", "isbn"],
        ),
        (
            with(json!({"priceCents": 0})),
            "INVALID",
            vec!["input", "priceCents"],
        ),
        (
            with(json!({"title": "   "})),
            "INVALID",
            vec!["input", "title"],
        ),
        (
            with(json!({"title": "x".repeat(301)})),
            "INVALID",
            vec!["input", "title"],
        ),
        (
            with(json!({"genreIds": [poetry, unknown_genre]})),
            "NOT_FOUND",
            vec!["input", "genreIds", "1"],
        ),
        (
            with(
                json!({"contributors": [{"contributorId": unknown_contributor, "role": "AUTHOR"}]}),
            ),
            "NOT_FOUND",
            vec!["input", "contributors", "0", "contributorId"],
        ),
        (
            with(json!({"contributors": [{"contributorId": poetry, "role": "AUTHOR"}]})),
            "NOT_FOUND",
            vec!["input", "contributors", "0", "contributorId"],
        ),
        (
            with(json!({"contributors": [
                {"contributorId": austen, "role": "AUTHOR"},
                {"contributorId": austen, "role": "AUTHOR"},
            ]})),
            "INVALID",
            vec!["input", "contributors", "1"],
        ),
        (
            with(json!({"isbn": taken_isbn})),
            "TAKEN",
            vec!["input", "isbn"],
        ),
        (
            with(json!({"slug": "emma"})),
            "TAKEN",
            vec!["input", "slug"],
        ),
        (
            with(json!({"slug": "Not A Slug"})),
            "INVALID",
            vec!["input", "slug"],
        ),
        (
            with(json!({"language": "EN"})),
            "INVALID",
            vec!["input", "language"],
        ),
        (
            with(json!({"currency": "usd"})),
            "INVALID",
            vec!["input", "currency"],
        ),
        (
            with(json!({"stock": -1})),
            "INVALID",
            vec!["input", "stock"],
        ),
        (
            with(json!({"pageCount": 0})),
            "INVALID",
            vec!["input", "pageCount"],
        ),
    ];
    for (variables, code, field) in cases {
        let refused = payload(&app, &staff, CREATE_BOOK, variables.clone()).await;
        assert_refused(&refused, code, &field);
    }

    // Several problems are reported together.
    let many = payload(
        &app,
        &staff,
        CREATE_BOOK,
        with(json!({"title": "", "isbn": "123", "priceCents": -5})),
    )
    .await;
    let fields: Vec<&Value> = many["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| &error["field"][1])
        .collect();
    assert_eq!(fields, ["title", "isbn", "priceCents"], "{many}");

    assert_eq!(catalog_digest(&app).await, digest, "nothing was written");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_updated_book_reads_back_new_values_at_once() {
    let app = TestApp::new().await;
    let staff = app.staff_token("staff@example.com").await;
    let id = id_of(&app, "book", "emma").await;
    let shelley = id_of(&app, "contributor", "mary-shelley").await;
    let dickens = id_of(&app, "contributor", "charles-dickens").await;
    let poetry = id_of(&app, "genre", "poetry").await;

    // Warm the caches: the book, its authors' lists, a price-filtered count.
    let before = app.data(BOOK, json!({"id": id})).await;
    assert_eq!(before["book"]["title"], "Emma");
    assert_eq!(
        before["book"]["credits"][0]["contributor"]["name"],
        "Jane Austen"
    );
    assert!(
        contributor_books(&app, "jane-austen")
            .await
            .contains(&"emma".to_owned())
    );
    assert!(
        !contributor_books(&app, "mary-shelley")
            .await
            .contains(&"emma".to_owned())
    );
    let cheap = json!({"maxPriceCents": 150});
    let cheap_before = total(&app, cheap.clone()).await;

    let updated = payload(
        &app,
        &staff,
        UPDATE_BOOK,
        json!({"input": {
            "id": id,
            "title": "Emma (Annotated)",
            "priceCents": 99,
            "subtitle": "A Novel",
            "publicationDate": "2001-01-01",
            "contributors": [
                {"contributorId": shelley, "role": "AUTHOR"},
                {"contributorId": dickens, "role": "EDITOR"},
            ],
            "genreIds": [poetry],
        }}),
    )
    .await;
    assert_ok(&updated);
    assert_eq!(updated["book"]["title"], "Emma (Annotated)");
    assert_eq!(updated["book"]["slug"], "emma", "the URL stays");

    let after = app.data(BOOK, json!({"id": id})).await;
    assert_eq!(after["book"]["title"], "Emma (Annotated)");
    assert_eq!(after["book"]["subtitle"], "A Novel");
    assert_eq!(after["book"]["price"]["amountCents"], 99);
    assert_eq!(
        credit_names(&after["book"]),
        [("AUTHOR", "Mary Shelley"), ("EDITOR", "Charles Dickens")]
    );
    assert_eq!(after["book"]["genres"][0]["slug"], "poetry");
    assert_eq!(after["book"]["genres"].as_array().unwrap().len(), 1);
    assert!(
        !contributor_books(&app, "jane-austen")
            .await
            .contains(&"emma".to_owned())
    );
    assert!(
        contributor_books(&app, "mary-shelley")
            .await
            .contains(&"emma".to_owned())
    );
    assert_eq!(total(&app, cheap).await, cheap_before + 1);

    // A new date alone reorders the contributors' lists (newest first; the
    // demo editions are from 2005 on); null clears a field.
    assert_eq!(
        contributor_books(&app, "mary-shelley")
            .await
            .last()
            .unwrap(),
        "emma"
    );
    let redated = payload(
        &app,
        &staff,
        UPDATE_BOOK,
        json!({"input": {"id": id, "publicationDate": "2099-12-31", "subtitle": null}}),
    )
    .await;
    assert_ok(&redated);
    assert_eq!(redated["book"]["publicationDate"], "2099-12-31");
    assert_eq!(redated["book"]["subtitle"], Value::Null);
    assert_eq!(contributor_books(&app, "mary-shelley").await[0], "emma");
    assert_eq!(
        app.data(BOOK, json!({"id": id})).await["book"]["subtitle"],
        Value::Null
    );

    // Refusals.
    let taken_isbn = app.data(BOOK, json!({"slug": "persuasion"})).await["book"]["isbn"].clone();
    let digest = catalog_digest(&app).await;
    let taken = payload(
        &app,
        &staff,
        UPDATE_BOOK,
        json!({"input": {"id": id, "isbn": taken_isbn, "title": "Not Saved"}}),
    )
    .await;
    assert_refused(&taken, "TAKEN", &["input", "isbn"]);
    let missing = payload(
        &app,
        &staff,
        UPDATE_BOOK,
        json!({"input": {"id": global_id(NodeType::Book, 999_999).0, "title": "Ghost"}}),
    )
    .await;
    assert_refused(&missing, "NOT_FOUND", &["input", "id"]);
    let blank = payload(
        &app,
        &staff,
        UPDATE_BOOK,
        json!({"input": {"id": id, "title": " "}}),
    )
    .await;
    assert_refused(&blank, "INVALID", &["input", "title"]);
    assert_eq!(catalog_digest(&app).await, digest, "nothing was written");
}

#[tokio::test(flavor = "multi_thread")]
async fn archiving_takes_a_book_out_of_listings_and_restoring_brings_it_back() {
    let app = TestApp::new().await;
    let staff = app.staff_token("staff@example.com").await;
    let id = id_of(&app, "book", "persuasion").await;
    let search = json!({"search": "Persuasion"});
    let in_search = |data: &Value| {
        data["books"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|edge| edge["node"]["slug"] == "persuasion")
    };

    // Warm the caches.
    let catalog_before = total(&app, json!({})).await;
    assert!(in_search(
        &app.data(CATALOG, json!({"first": 20, "filter": search}))
            .await
    ));
    let austen_before = contributor_books(&app, "jane-austen").await;
    assert!(austen_before.contains(&"persuasion".to_owned()));

    let archived = payload(&app, &staff, ARCHIVE_BOOK, json!({"id": id})).await;
    assert_ok(&archived);
    assert_eq!(archived["book"]["archived"], true);
    assert_eq!(archived["book"]["inStock"], false);
    assert!(!in_search(
        &app.data(CATALOG, json!({"first": 20, "filter": search}))
            .await
    ));
    assert!(
        !contributor_books(&app, "jane-austen")
            .await
            .contains(&"persuasion".to_owned())
    );
    assert_eq!(total(&app, json!({})).await, catalog_before - 1);
    let direct = app.data(BOOK, json!({"slug": "persuasion"})).await;
    assert_eq!(
        direct["book"]["archived"], true,
        "still reachable, marked archived"
    );

    let restored = payload(&app, &staff, RESTORE_BOOK, json!({"id": id})).await;
    assert_ok(&restored);
    assert_eq!(restored["book"]["archived"], false);
    assert!(in_search(
        &app.data(CATALOG, json!({"first": 20, "filter": search}))
            .await
    ));
    assert_eq!(contributor_books(&app, "jane-austen").await, austen_before);
    assert_eq!(total(&app, json!({})).await, catalog_before);

    let missing = payload(
        &app,
        &staff,
        ARCHIVE_BOOK,
        json!({"id": global_id(NodeType::Book, 999_999).0}),
    )
    .await;
    assert_refused(&missing, "NOT_FOUND", &["id"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn stock_adjustments_are_relative_never_negative_and_read_back_at_once() {
    let app = TestApp::new().await;
    let staff = app.staff_token("staff@example.com").await;
    app.sql("UPDATE books SET stock = 4 WHERE slug = 'emma'")
        .await;
    let id = id_of(&app, "book", "emma").await;
    let stock = |data: Value| data["book"]["stock"].as_i64().unwrap();
    assert_eq!(stock(app.data(STOCK, json!({"id": id})).await), 4, "cached");
    let in_stock_before = total(&app, json!({"inStock": true})).await;

    let adjust = |delta: i64| json!({"input": {"bookId": id, "delta": delta}});
    let added = payload(&app, &staff, ADJUST_STOCK, adjust(5)).await;
    assert_ok(&added);
    assert_eq!(added["book"]["stock"], 9);
    assert_eq!(stock(app.data(STOCK, json!({"id": id})).await), 9);

    let taken = payload(&app, &staff, ADJUST_STOCK, adjust(-3)).await;
    assert_ok(&taken);
    assert_eq!(taken["book"]["stock"], 6);
    assert_eq!(stock(app.data(STOCK, json!({"id": id})).await), 6);

    let too_many = payload(&app, &staff, ADJUST_STOCK, adjust(-7)).await;
    assert_refused(&too_many, "INSUFFICIENT_STOCK", &["input", "delta"]);
    assert_eq!(stock_in_database(&app, "emma").await, 6, "unchanged");
    assert_eq!(stock(app.data(STOCK, json!({"id": id})).await), 6);

    for delta in [0, 1_000_001, -1_000_001] {
        let refused = payload(&app, &staff, ADJUST_STOCK, adjust(delta)).await;
        assert_refused(&refused, "INVALID", &["input", "delta"]);
    }
    let missing = payload(
        &app,
        &staff,
        ADJUST_STOCK,
        json!({"input": {"bookId": global_id(NodeType::Book, 999_999).0, "delta": 1}}),
    )
    .await;
    assert_refused(&missing, "NOT_FOUND", &["input", "bookId"]);

    // Selling out moves the book out of the in-stock listing's count.
    assert_eq!(total(&app, json!({"inStock": true})).await, in_stock_before);
    let sold_out = payload(&app, &staff, ADJUST_STOCK, adjust(-6)).await;
    assert_ok(&sold_out);
    assert_eq!(sold_out["book"]["inStock"], false);
    assert_eq!(
        total(&app, json!({"inStock": true})).await,
        in_stock_before - 1
    );
    let data = app.data(STOCK, json!({"id": id})).await;
    assert_eq!(data["book"], json!({"stock": 0, "inStock": false}));
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_stock_adjustments_never_oversell() {
    let app = TestApp::new().await;
    let staff = app.staff_token("staff@example.com").await;
    app.sql("UPDATE books SET stock = 10 WHERE slug = 'emma'")
        .await;
    let id = id_of(&app, "book", "emma").await;
    let variables = json!({"input": {"bookId": id, "delta": -1}});

    let replies = futures_util::future::join_all(
        (0..20).map(|_| app.graphql_as(&staff, ADJUST_STOCK, variables.clone())),
    )
    .await;
    let mut sold = 0;
    let mut refused = 0;
    for reply in replies {
        let body = reply.json();
        assert!(body.get("errors").is_none(), "{body}");
        let payload = &body["data"]["adjustStock"];
        if payload["book"].is_object() {
            sold += 1;
        } else {
            assert_refused(payload, "INSUFFICIENT_STOCK", &["input", "delta"]);
            refused += 1;
        }
    }
    assert_eq!((sold, refused), (10, 10));
    assert_eq!(stock_in_database(&app, "emma").await, 0);
    let data = app.data(STOCK, json!({"id": id})).await;
    assert_eq!(data["book"]["stock"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn contributors_are_created_and_renamed_everywhere_at_once() {
    let app = TestApp::new().await;
    let staff = app.staff_token("staff@example.com").await;
    let austen = id_of(&app, "contributor", "jane-austen").await;
    let book = id_of(&app, "book", "pride-and-prejudice").await;
    let credited = "query($id: ID) { book(id: $id) { credits { contributor { name sortName } } } }";

    // Warm the caches: the book's relations, the contributor, a search count.
    let before = app.data(credited, json!({"id": book})).await;
    assert_eq!(
        before["book"]["credits"][0]["contributor"]["name"],
        "Jane Austen"
    );
    assert_eq!(
        app.data(CONTRIBUTOR_BOOKS, json!({"slug": "jane-austen"}))
            .await["contributor"]["name"],
        "Jane Austen"
    );
    let search = json!({"search": "Quillon Zebedee"});
    assert_eq!(total(&app, search.clone()).await, 0);
    let austen_books = contributor_books(&app, "jane-austen").await.len() as i64;

    let renamed = payload(
        &app,
        &staff,
        UPDATE_CONTRIBUTOR,
        json!({"input": {"id": austen, "name": "Quillon Zebedee"}}),
    )
    .await;
    assert_ok(&renamed);
    assert_eq!(renamed["contributor"]["name"], "Quillon Zebedee");
    assert_eq!(
        renamed["contributor"]["sortName"], "Austen, Jane",
        "a sort name is only changed when given"
    );

    let after = app.data(credited, json!({"id": book})).await;
    assert_eq!(
        after["book"]["credits"][0]["contributor"]["name"],
        "Quillon Zebedee"
    );
    assert_eq!(
        app.data(CONTRIBUTOR_BOOKS, json!({"slug": "jane-austen"}))
            .await["contributor"]["name"],
        "Quillon Zebedee"
    );
    assert_eq!(total(&app, search).await, austen_books);

    // Creating: derived slug and sort name, suffixed when taken.
    let created = payload(
        &app,
        &staff,
        CREATE_CONTRIBUTOR,
        json!({"input": {"name": " Ursula Example ", "birthYear": 1929, "deathYear": 2018}}),
    )
    .await;
    assert_ok(&created);
    assert_eq!(
        created["contributor"],
        json!({
            "id": created["contributor"]["id"],
            "slug": "ursula-example",
            "name": "Ursula Example",
            "sortName": "Example, Ursula",
            "birthYear": 1929,
            "deathYear": 2018,
        })
    );
    let twin = payload(
        &app,
        &staff,
        CREATE_CONTRIBUTOR,
        json!({"input": {"name": "Ursula Example"}}),
    )
    .await;
    assert_eq!(twin["contributor"]["slug"], "ursula-example-2");

    // Refusals write nothing.
    let digest = catalog_digest(&app).await;
    let cases = [
        (
            CREATE_CONTRIBUTOR,
            json!({"input": {"name": "Backwards", "birthYear": 1900, "deathYear": 1800}}),
            "INVALID",
            vec!["input", "deathYear"],
        ),
        (
            CREATE_CONTRIBUTOR,
            json!({"input": {"name": "  "}}),
            "INVALID",
            vec!["input", "name"],
        ),
        (
            CREATE_CONTRIBUTOR,
            json!({"input": {"name": "Someone", "slug": "charles-dickens"}}),
            "TAKEN",
            vec!["input", "slug"],
        ),
        (
            UPDATE_CONTRIBUTOR,
            json!({"input": {"id": austen, "slug": "charles-dickens"}}),
            "TAKEN",
            vec!["input", "slug"],
        ),
        (
            UPDATE_CONTRIBUTOR,
            // Jane Austen was born in 1775.
            json!({"input": {"id": austen, "deathYear": 1700}}),
            "INVALID",
            vec!["input", "deathYear"],
        ),
        (
            UPDATE_CONTRIBUTOR,
            json!({"input": {"id": global_id(NodeType::Contributor, 999_999).0, "name": "Ghost"}}),
            "NOT_FOUND",
            vec!["input", "id"],
        ),
    ];
    for (query, variables, code, field) in cases {
        let refused = payload(&app, &staff, query, variables).await;
        assert_refused(&refused, code, &field);
    }
    assert_eq!(catalog_digest(&app).await, digest);
}

#[tokio::test(flavor = "multi_thread")]
async fn genres_are_created_and_renamed_everywhere_at_once() {
    let app = TestApp::new().await;
    let staff = app.staff_token("staff@example.com").await;
    let book = id_of(&app, "book", "emma").await;

    // Warm the caches: the book's genres, the genre, its listing count.
    let before = app.data(BOOK, json!({"id": book})).await;
    let genre = before["book"]["genres"][0].clone();
    let slug = genre["slug"].as_str().unwrap().to_owned();
    let genre_query = "query($id: ID) { genre(id: $id) { name slug } }";
    assert_eq!(
        app.data(genre_query, json!({"id": genre["id"]})).await["genre"]["name"],
        genre["name"]
    );
    let in_genre = total(&app, json!({"genre": slug})).await;
    assert!(in_genre > 0);
    assert_eq!(total(&app, json!({"genre": "love-stories"})).await, 0);

    let renamed = payload(
        &app,
        &staff,
        UPDATE_GENRE,
        json!({"input": {"id": genre["id"], "name": "Love Stories", "slug": "love-stories"}}),
    )
    .await;
    assert_ok(&renamed);
    let after = app.data(BOOK, json!({"id": book})).await;
    assert!(
        after["book"]["genres"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["name"] == "Love Stories" && g["slug"] == "love-stories"),
        "{after}"
    );
    assert_eq!(
        app.data(genre_query, json!({"id": genre["id"]})).await["genre"],
        json!({"name": "Love Stories", "slug": "love-stories"})
    );
    assert_eq!(
        total(&app, json!({"genre": "love-stories"})).await,
        in_genre
    );
    assert_eq!(total(&app, json!({"genre": slug})).await, 0);

    let created = payload(
        &app,
        &staff,
        CREATE_GENRE,
        json!({"input": {"name": "Cli-Fi", "description": "Climate fiction."}}),
    )
    .await;
    assert_ok(&created);
    assert_eq!(created["genre"]["slug"], "cli-fi");
    assert_eq!(created["genre"]["description"], "Climate fiction.");

    let digest = catalog_digest(&app).await;
    let cases = [
        (
            CREATE_GENRE,
            json!({"input": {"name": "Poetry"}}),
            "TAKEN",
            vec!["input", "name"],
        ),
        (
            CREATE_GENRE,
            json!({"input": {"name": "Verse", "slug": "poetry"}}),
            "TAKEN",
            vec!["input", "slug"],
        ),
        (
            CREATE_GENRE,
            json!({"input": {"name": ""}}),
            "INVALID",
            vec!["input", "name"],
        ),
        (
            UPDATE_GENRE,
            json!({"input": {"id": genre["id"], "name": "Poetry"}}),
            "TAKEN",
            vec!["input", "name"],
        ),
        (
            UPDATE_GENRE,
            json!({"input": {"id": global_id(NodeType::Genre, 999_999).0, "name": "Ghost"}}),
            "NOT_FOUND",
            vec!["input", "id"],
        ),
    ];
    for (query, variables, code, field) in cases {
        let refused = payload(&app, &staff, query, variables).await;
        assert_refused(&refused, code, &field);
    }
    assert_eq!(catalog_digest(&app).await, digest);
}

#[tokio::test(flavor = "multi_thread")]
async fn only_staff_may_list_archived_books() {
    let app = TestApp::new().await;
    let staff = app.staff_token("archivist@example.com").await;
    let customer = app.customer_token("curious@example.com").await;
    app.sql("UPDATE books SET archived = true WHERE slug = 'emma'")
        .await;
    app.flush_cache().await;
    let query = "{ books(first: 5, filter: {search: \"Emma\", includeArchived: true}) { nodes { slug archived } } }";
    let data = app.data_as(&staff, query, serde_json::json!({})).await;
    let nodes = data["books"]["nodes"].as_array().unwrap();
    assert!(
        nodes
            .iter()
            .any(|book| book["slug"] == "emma" && book["archived"] == true),
        "{data}"
    );
    let refused = app
        .graphql_as(&customer, query, serde_json::json!({}))
        .await
        .json();
    assert_eq!(refused["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let anonymous = app.graphql(query, serde_json::json!({})).await.json();
    assert_eq!(
        anonymous["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    let public = app
        .data(
            "{ books(first: 5, filter: {search: \"Emma\"}) { nodes { slug } } }",
            serde_json::json!({}),
        )
        .await;
    assert!(
        public["books"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|book| book["slug"] != "emma")
    );
}
