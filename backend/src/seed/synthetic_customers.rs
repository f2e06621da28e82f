//! Synthetic customers and their order history, for benchmarks of the
//! purchase side (a customer's latest orders): `count` verified customers
//! (`reader00001@synthetic.bookstore.test`, ...; the password is
//! [`SYNTHETIC_CUSTOMER_PASSWORD`]), each with one address and
//! `orders_each` paid or shipped orders of three lines of live catalog
//! books, with their approved payments and (when shipped) shipments.
//! Totals add up: each line is the book's price times its quantity, the
//! subtotal their sum, the total the subtotal plus standard shipping.
//!
//! Deterministic (the same catalog and sizes give the same rows, order
//! numbers included) and set-based: a handful of `INSERT ... SELECT`
//! statements over `generate_series`, one transaction, whatever the size;
//! then `ANALYZE`, since bulk-loaded tables have no statistics until then
//! (autovacuum may be off). The SQL lives here rather than in `db/`
//! because it is generation, not a query the shop runs.
//!
//! Never: run where shoppers are (the accounts share a published
//! password), or add orders to a database that already has some.

use chrono::{DateTime, TimeZone, Utc};
use diesel::sql_types::{Array, BigInt, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::auth::passwords::hash_password;
use crate::domain::order_number;

/// Every synthetic customer's password (they are benchmark accounts).
pub const SYNTHETIC_CUSTOMER_PASSWORD: &str = "synthetic reader password";

/// The domain of every synthetic customer's email address.
pub const SYNTHETIC_CUSTOMER_DOMAIN: &str = "synthetic.bookstore.test";

/// Lines per synthetic order.
const LINES_PER_ORDER: i64 = 3;

/// The standard shipping price every synthetic order paid.
const SHIPPING_CENTS: i32 = 499;

/// One statement carries every order number: keep it bounded.
const MAX_ORDERS: i64 = 5_000_000;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct CustomersReport {
    pub customers: usize,
    pub orders: usize,
    pub lines: usize,
    /// The database already had orders, so nothing was written.
    pub skipped: bool,
}

impl std::fmt::Display for CustomersReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.skipped {
            write!(f, "the database already has orders; no customers seeded")
        } else {
            write!(
                f,
                "seeded {} customers, {} orders, {} order lines",
                self.customers, self.orders, self.lines
            )
        }
    }
}

/// The `n`-th synthetic order's number (1-based): `BK-` and ten characters,
/// spread like the random ones by an odd multiplier, a bijection modulo
/// 2^50, so no two orders share one.
fn order_number(n: i64) -> String {
    const MULTIPLIER: u64 = 1_099_511_628_211;
    let mixed = (n.unsigned_abs().wrapping_mul(MULTIPLIER).wrapping_add(7)) & ((1 << 50) - 1);
    let mut digits = [0u8; order_number::RANDOM_CHARS];
    for (place, digit) in digits.iter_mut().enumerate() {
        *digit = ((mixed >> (5 * place)) & 31) as u8;
    }
    order_number::from_random_bytes(&digits)
}

/// Whether any order exists (the seed then writes nothing).
async fn has_orders(conn: &mut AsyncPgConnection) -> anyhow::Result<bool> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        found: bool,
    }
    let row: Row = diesel::sql_query("SELECT EXISTS (SELECT 1 FROM orders) AS found")
        .get_result(conn)
        .await?;
    Ok(row.found)
}

/// Adds `count` customers with `orders_each` orders each (see the module
/// documentation), unless the database has orders already.
pub async fn customers(
    conn: &mut AsyncPgConnection,
    count: u32,
    orders_each: u32,
) -> anyhow::Result<CustomersReport> {
    if has_orders(conn).await? {
        return Ok(CustomersReport {
            skipped: true,
            ..CustomersReport::default()
        });
    }
    let customers = i64::from(count);
    let orders_each = i64::from(orders_each);
    let orders = customers * orders_each;
    anyhow::ensure!(
        orders <= MAX_ORDERS,
        "at most {MAX_ORDERS} synthetic orders (customers x orders per customer)"
    );
    let numbers: Vec<String> = (1..=orders).map(order_number).collect();
    let password_hash = hash_password(SYNTHETIC_CUSTOMER_PASSWORD.to_owned()).await?;
    // A fixed start, so that the same sizes always give the same rows.
    let epoch: DateTime<Utc> = Utc
        .with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
        .single()
        .ok_or_else(|| anyhow::anyhow!("the synthetic epoch"))?;
    let report = conn
        .transaction(async |conn| {
            insert_customers(conn, customers, &password_hash, epoch).await?;
            let lines = plan_lines(conn, orders).await?;
            anyhow::ensure!(
                lines == usize::try_from(orders * LINES_PER_ORDER)?,
                "the catalog needs at least {LINES_PER_ORDER} live books priced in USD"
            );
            insert_orders(conn, orders_each, numbers, epoch).await?;
            for table in ["users", "addresses", "orders"] {
                diesel::sql_query(format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                ))
                .execute(conn)
                .await?;
            }
            Ok::<_, anyhow::Error>(CustomersReport {
                customers: usize::try_from(customers)?,
                orders: usize::try_from(orders)?,
                lines,
                skipped: false,
            })
        })
        .await?;
    diesel::sql_query("ANALYZE").execute(conn).await?;
    Ok(report)
}

/// The customers (ids after the highest) and one address each (likewise).
async fn insert_customers(
    conn: &mut AsyncPgConnection,
    customers: i64,
    password_hash: &str,
    epoch: DateTime<Utc>,
) -> anyhow::Result<()> {
    diesel::sql_query(format!(
        "CREATE TEMP TABLE synthetic_customers ON COMMIT DROP AS
         SELECT n, (SELECT coalesce(max(id), 0) FROM users) + n AS user_id,
                (SELECT coalesce(max(id), 0) FROM addresses) + n AS address_id,
                'reader' || lpad(n::text, greatest(5, length(n::text)), '0') || '@{SYNTHETIC_CUSTOMER_DOMAIN}' AS email,
                'Synthetic Reader ' || n AS name
         FROM generate_series(1, $1::bigint) n"
    ))
    .bind::<BigInt, _>(customers)
    .execute(conn)
    .await?;
    diesel::sql_query(
        "INSERT INTO users (id, email, name, password_hash, role, email_verified_at, created_at, updated_at)
         OVERRIDING SYSTEM VALUE
         SELECT user_id, email, name, $1, 'customer', $2 + n * interval '1 minute',
                $2 + n * interval '1 minute', $2 + n * interval '1 minute'
         FROM synthetic_customers",
    )
    .bind::<Text, _>(password_hash)
    .bind::<Timestamptz, _>(epoch)
    .execute(conn)
    .await?;
    diesel::sql_query(
        "INSERT INTO addresses (id, name, line1, city, postal_code, country, created_at)
         OVERRIDING SYSTEM VALUE
         SELECT address_id, name, n || ' Library Way', 'Springfield', lpad((n % 100000)::text, 5, '0'),
                'US', $1 + n * interval '1 minute'
         FROM synthetic_customers",
    )
    .bind::<Timestamptz, _>(epoch)
    .execute(conn)
    .await?;
    Ok(())
}

/// Three lines per order, of three different live books: line `k` of
/// order `o` takes the book ranked `(o * 7919 + k * step) mod books` by id,
/// with `1 <= step <= books / 3`, so the three never coincide. Returns how
/// many lines were planned.
async fn plan_lines(conn: &mut AsyncPgConnection, orders: i64) -> anyhow::Result<usize> {
    Ok(diesel::sql_query(
        "CREATE TEMP TABLE synthetic_lines ON COMMIT DROP AS
         WITH live AS (
             SELECT id, title, isbn, price_cents, row_number() OVER (ORDER BY id) - 1 AS rank
             FROM books WHERE NOT archived AND currency = 'USD'
         ), size AS (SELECT count(*) AS books FROM live HAVING count(*) >= 3)
         SELECT o AS ord, k::smallint AS position, live.id AS book_id, live.title, live.isbn,
                live.price_cents AS unit_price_cents, (1 + (o + k) % 3)::integer AS quantity
         FROM generate_series(1, $1::bigint) o
         CROSS JOIN generate_series(0, 2) k
         CROSS JOIN size
         JOIN live ON live.rank = (o * 7919 + k * (1 + o % greatest(1, size.books / 3))) % size.books",
    )
    .bind::<BigInt, _>(orders)
    .execute(conn)
    .await?)
}

/// The orders (customer `c`'s `j`-th is number `(c - 1) * orders_each + j`,
/// 15 days after the previous; the older 70% shipped, the rest paid), their
/// lines, approved payments and shipments.
async fn insert_orders(
    conn: &mut AsyncPgConnection,
    orders_each: i64,
    numbers: Vec<String>,
    epoch: DateTime<Utc>,
) -> anyhow::Result<()> {
    diesel::sql_query(
        "CREATE TEMP TABLE synthetic_orders ON COMMIT DROP AS
         SELECT num.ord, (SELECT coalesce(max(id), 0) FROM orders) + num.ord AS order_id, num.number,
                c.user_id, c.address_id, c.email,
                CASE WHEN (num.ord - 1) % $2 < ($2 * 7) / 10 THEN 'SHIPPED' ELSE 'PAID' END AS status,
                $3 + interval '120 days' + ((num.ord - 1) % $2) * interval '15 days'
                   + c.n * interval '37 seconds' AS created_at,
                sums.subtotal_cents
         FROM unnest($1::text[]) WITH ORDINALITY AS num (number, ord)
         JOIN synthetic_customers c ON c.n = (num.ord - 1) / $2 + 1
         JOIN (SELECT ord, sum(unit_price_cents * quantity)::integer AS subtotal_cents
               FROM synthetic_lines GROUP BY ord) sums ON sums.ord = num.ord",
    )
    .bind::<Array<Text>, _>(numbers)
    .bind::<BigInt, _>(orders_each)
    .bind::<Timestamptz, _>(epoch)
    .execute(conn)
    .await?;
    diesel::sql_query(format!(
        "INSERT INTO orders (id, number, user_id, email, status, currency, subtotal_cents, shipping_cents,
                             total_cents, shipping_method, shipping_address_id, created_at, updated_at,
                             paid_at, charge_started_at)
         OVERRIDING SYSTEM VALUE
         SELECT order_id, number, user_id, email, status, 'USD', subtotal_cents, {SHIPPING_CENTS},
                subtotal_cents + {SHIPPING_CENTS}, 'standard', address_id, created_at, created_at,
                created_at + interval '1 second', created_at
         FROM synthetic_orders ORDER BY order_id"
    ))
    .execute(conn)
    .await?;
    diesel::sql_query(
        "INSERT INTO order_lines (order_id, position, book_id, title, isbn, unit_price_cents, quantity)
         SELECT o.order_id, l.position, l.book_id, l.title, l.isbn, l.unit_price_cents, l.quantity
         FROM synthetic_lines l JOIN synthetic_orders o USING (ord)",
    )
    .execute(conn)
    .await?;
    diesel::sql_query(format!(
        "INSERT INTO payments (order_id, provider, reference, amount_cents, currency, status, card_last4, created_at)
         SELECT order_id, 'test', 'test_synthetic-' || number, subtotal_cents + {SHIPPING_CENTS}, 'USD',
                'APPROVED', '4242', created_at + interval '1 second'
         FROM synthetic_orders ORDER BY order_id"
    ))
    .execute(conn)
    .await?;
    diesel::sql_query(
        "INSERT INTO shipments (order_id, carrier, tracking_number, shipped_at, delivered_at)
         SELECT order_id, 'UPS', '1Z' || lpad(order_id::text, 12, '0'), created_at + interval '2 days', NULL
         FROM synthetic_orders WHERE status = 'SHIPPED'",
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_order_numbers_look_random_and_never_repeat() {
        let numbers: std::collections::HashSet<String> = (1..=100_000).map(order_number).collect();
        assert_eq!(numbers.len(), 100_000);
        assert!(numbers.iter().all(|number| number.len() == 13));
        assert_ne!(order_number(1)[3..5], order_number(2)[3..5]);
    }
}
