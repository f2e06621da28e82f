//! Stock reservation: checkout's first step takes the cart's stock and
//! creates the order (PENDING_PAYMENT, its charge marked started) in one
//! statement (and transaction), guarded by the idempotency key; [`restock`] gives an order's
//! stock back.
//!
//! Stock is only ever taken from rows locked (in id order) and checked in
//! the same statement, all lines or none, and the column is constrained to
//! `stock >= 0`: it never goes negative and is never oversold, however
//! many checkouts race. Never calls a payment gateway.

use chrono::Utc;
use diesel::prelude::*;
use diesel::result::DatabaseErrorKind;
use diesel::sql_types::{Array, BigInt, Bool, Bytea, Integer, Json, Jsonb, Nullable, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::orders::{NewAddress, Order, OrderLine, find, random_number, set_access_token};
use super::schema::idempotency_keys;

/// Everything checkout needs, already validated.
pub struct CheckoutRequest<'a> {
    /// Whose idempotency keys these are: `user:<id>` or `guest:<email>`.
    pub scope: &'a str,
    pub key: &'a str,
    /// SHA-256 of the request's canonical form.
    pub request_hash: &'a [u8],
    pub cart_id: i64,
    pub user_id: Option<i64>,
    pub email: &'a str,
    pub address: &'a NewAddress,
    pub shipping_method: &'a str,
    pub shipping_cents: i32,
    /// A guest order's new access token, as its SHA-256: stored with a new
    /// order, and replacing the old one when this is a retry (in the order
    /// the retries arrived: the latest answer's token is the one that works).
    pub access_token_hash: Option<&'a [u8; 32]>,
    /// The most lines (different books) one order holds.
    pub max_lines: usize,
}

/// Stock taken and an order to pay for.
#[derive(Debug)]
pub enum Reserved {
    /// Stock taken, order created (with these lines), its charge marked
    /// started: the caller charges it.
    Created(Order, Vec<OrderLine>),
    /// The same request was made before with this key: its order.
    Existing(Order),
}

/// Why nothing was reserved (the transaction rolled back).
#[derive(Debug)]
pub enum Refusal {
    /// The key was used before for a different request.
    KeyReused,
    EmptyCart,
    /// The cart holds this many lines, more than one order holds.
    TooManyLines(usize),
    /// The cart was checked out already (by another request).
    CartClosed,
    /// These books are archived or have less stock than the cart wants.
    Unavailable(Vec<i64>),
    MixedCurrencies,
    /// The order's total does not fit the money type.
    TooLarge,
}

/// What the reservation statement found (under the locks it took) and, if
/// it placed the order, the order and its lines as it wrote them.
#[derive(QueryableByName)]
struct Verdict {
    /// 1 if the cart was open (and is now locked), else 0.
    #[diesel(sql_type = BigInt)]
    open_carts: i64,
    #[diesel(sql_type = BigInt)]
    lines: i64,
    /// Books archived, missing, or with less stock than the cart wants.
    #[diesel(sql_type = Array<BigInt>)]
    unavailable: Vec<i64>,
    #[diesel(sql_type = BigInt)]
    currencies: i64,
    #[diesel(sql_type = Bool)]
    too_large: bool,
    /// The new order (without its token hashes, which JSON cannot carry).
    #[diesel(sql_type = Nullable<Jsonb>)]
    placed: Option<serde_json::Value>,
    #[diesel(sql_type = Nullable<Json>)]
    placed_lines: Option<serde_json::Value>,
}

/// Checkout's reservation, in one statement (in a transaction that
/// commits only what it placed): lock the open cart, then its books in id order (one
/// lock order for every path: no deadlocks), judge the cart on the locked
/// rows (a book already short is not locked at all, as the old
/// `UPDATE ... WHERE stock >= quantity` did not lock it: checkouts of a
/// sold-out book never queue), and only if all is well claim the idempotency key, close the
/// cart, take every line's stock, and insert the address, the order (with
/// its charge marked started: the caller charges right after the commit)
/// and its lines. Every write is gated on the claim, so the statement
/// writes all of it or nothing; `stock >= 0` is also a table constraint.
const RESERVE: &str = "
WITH cart AS (
  SELECT id FROM carts WHERE id = $4 AND checked_out_at IS NULL FOR UPDATE),
wanted AS (
  SELECT l.book_id, l.quantity FROM cart_lines l JOIN cart ON l.cart_id = cart.id),
locked AS (
  SELECT b.id, b.title, b.isbn, b.price_cents, b.currency, b.stock, b.archived
  FROM books b JOIN wanted w ON w.book_id = b.id
  WHERE NOT b.archived AND b.stock >= w.quantity
  ORDER BY b.id FOR UPDATE OF b),
verdict AS (
  SELECT (SELECT count(*) FROM cart) AS open_carts,
         count(*) AS lines,
         coalesce(array_agg(w.book_id ORDER BY w.book_id)
           FILTER (WHERE l.id IS NULL OR l.archived OR l.stock < w.quantity), '{}') AS unavailable,
         count(DISTINCT l.currency) AS currencies,
         min(l.currency) AS currency,
         coalesce(sum(l.price_cents::bigint * w.quantity), 0) AS subtotal
  FROM wanted w LEFT JOIN locked l ON l.id = w.book_id),
go AS (
  SELECT * FROM verdict
  WHERE open_carts = 1 AND lines BETWEEN 1 AND $19 AND cardinality(unavailable) = 0
    AND currencies = 1 AND subtotal + $16 <= 2147483647),
claim AS (
  INSERT INTO idempotency_keys (scope, key, request_hash, order_id)
  SELECT $1, $2, $3, nextval(pg_get_serial_sequence('orders', 'id')) FROM go
  ON CONFLICT DO NOTHING
  RETURNING order_id),
closed AS (
  UPDATE carts SET checked_out_at = now()
  WHERE id IN (SELECT id FROM cart) AND EXISTS (SELECT 1 FROM claim)),
taken AS (
  UPDATE books b SET stock = b.stock - w.quantity FROM wanted w
  WHERE b.id = w.book_id AND EXISTS (SELECT 1 FROM claim)),
address AS (
  INSERT INTO addresses (name, line1, line2, city, region, postal_code, country, phone)
  SELECT $7, $8, $9, $10, $11, $12, $13, $14 FROM claim
  RETURNING id),
placed AS (
  INSERT INTO orders (id, number, user_id, email, status, currency, subtotal_cents,
                      shipping_cents, total_cents, shipping_method, shipping_address_id,
                      access_token_hash, charge_started_at)
  OVERRIDING SYSTEM VALUE
  SELECT claim.order_id, $18, $5, $6, 'PENDING_PAYMENT', go.currency, go.subtotal::integer,
         $16, (go.subtotal + $16)::integer, $15, address.id, $17, now()
  FROM claim, address, go
  RETURNING *),
placed_lines AS (
  INSERT INTO order_lines (order_id, position, book_id, title, isbn, unit_price_cents, quantity)
  SELECT claim.order_id, (row_number() OVER (ORDER BY l.id) - 1)::smallint, l.id, l.title,
         l.isbn, l.price_cents, w.quantity
  FROM claim, wanted w JOIN locked l ON l.id = w.book_id
  RETURNING *)
SELECT v.open_carts, v.lines, v.unavailable, v.currencies,
       v.subtotal + $16 > 2147483647 AS too_large,
       (SELECT to_jsonb(p) - 'access_token_hash' - 'mail_access_token_hash' FROM placed p) AS placed,
       (SELECT json_agg(pl ORDER BY pl.position) FROM placed_lines pl) AS placed_lines
FROM verdict v";

/// Why the reservation's transaction ended without a commit.
enum Abort {
    Database(diesel::result::Error),
    /// Nothing placed: rolled back.
    Refused(Verdict),
}

impl From<diesel::result::Error> for Abort {
    fn from(error: diesel::result::Error) -> Self {
        Abort::Database(error)
    }
}

/// How many random order numbers [`reserve`] tries (each clash has odds
/// of about one in 10^15 per existing order).
const NUMBER_TRIES: usize = 8;

/// Reserves the cart's stock and creates the order (PENDING_PAYMENT, its
/// charge marked started), all or nothing, in one statement (with its
/// transaction's begin and end, three round trips). When nothing
/// was placed, a second look at the idempotency key tells a retry (its
/// order) from a reused key and from the cart's own refusal.
pub async fn reserve(
    conn: &mut AsyncPgConnection,
    request: &CheckoutRequest<'_>,
) -> QueryResult<Result<Reserved, Refusal>> {
    let mut tries = 0;
    let verdict = loop {
        tries += 1;
        // A refusal rolls back (it wrote nothing but its row locks, and a
        // rollback waits for no WAL flush): checkouts of a sold-out book
        // queue on its lock only as long as the old `UPDATE ... WHERE
        // stock >= quantity` made them.
        let attempt = conn
            .transaction(async |conn| {
                let verdict = run_reserve(conn, request).await?;
                match verdict.placed {
                    Some(_) => Ok(verdict),
                    None => Err(Abort::Refused(verdict)),
                }
            })
            .await;
        match attempt {
            Ok(verdict) | Err(Abort::Refused(verdict)) => break verdict,
            Err(Abort::Database(diesel::result::Error::DatabaseError(
                DatabaseErrorKind::UniqueViolation,
                info,
            ))) if info.constraint_name() == Some("orders_number_key") && tries < NUMBER_TRIES => {}
            Err(Abort::Database(error)) => return Err(error),
        }
    };
    if let (Some(placed), Some(lines)) = (verdict.placed, verdict.placed_lines) {
        let decode =
            |error: serde_json::Error| diesel::result::Error::DeserializationError(Box::new(error));
        let mut order: Order = serde_json::from_value(placed).map_err(decode)?;
        order.access_token_hash = request.access_token_hash.map(|hash| hash.to_vec());
        let lines: Vec<OrderLine> = serde_json::from_value(lines).map_err(decode)?;
        return Ok(Ok(Reserved::Created(order, lines)));
    }
    if let Some(existing) = existing(conn, request).await? {
        return Ok(existing);
    }
    let max_lines = i64::try_from(request.max_lines).unwrap_or(i64::MAX);
    let count = |n: i64| usize::try_from(n).unwrap_or(usize::MAX);
    Ok(Err(if verdict.open_carts == 0 {
        Refusal::CartClosed
    } else if verdict.lines == 0 {
        Refusal::EmptyCart
    } else if verdict.lines > max_lines {
        Refusal::TooManyLines(count(verdict.lines))
    } else if !verdict.unavailable.is_empty() {
        Refusal::Unavailable(verdict.unavailable)
    } else if verdict.currencies > 1 {
        Refusal::MixedCurrencies
    } else if verdict.too_large {
        Refusal::TooLarge
    } else {
        // The cart was fine but the key was taken, and its record is gone
        // again (deleted by the clean-up meanwhile): nothing was written.
        Refusal::KeyReused
    }))
}

async fn run_reserve(
    conn: &mut AsyncPgConnection,
    request: &CheckoutRequest<'_>,
) -> QueryResult<Verdict> {
    let address = request.address;
    diesel::sql_query(RESERVE)
        .bind::<Text, _>(request.scope)
        .bind::<Text, _>(request.key)
        .bind::<Bytea, _>(request.request_hash)
        .bind::<BigInt, _>(request.cart_id)
        .bind::<Nullable<BigInt>, _>(request.user_id)
        .bind::<Text, _>(request.email)
        .bind::<Text, _>(&address.name)
        .bind::<Text, _>(&address.line1)
        .bind::<Nullable<Text>, _>(&address.line2)
        .bind::<Text, _>(&address.city)
        .bind::<Nullable<Text>, _>(&address.region)
        .bind::<Text, _>(&address.postal_code)
        .bind::<Text, _>(&address.country)
        .bind::<Nullable<Text>, _>(&address.phone)
        .bind::<Text, _>(request.shipping_method)
        .bind::<Integer, _>(request.shipping_cents)
        .bind::<Nullable<Bytea>, _>(request.access_token_hash.map(<[u8; 32]>::as_slice))
        .bind::<Text, _>(random_number())
        .bind::<BigInt, _>(i64::try_from(request.max_lines).unwrap_or(i64::MAX))
        .get_result(conn)
        .await
}

/// The order an earlier request with this key placed (for a guest, its
/// token replaced by this request's), or why the key cannot be used;
/// `None` if the key is unused.
async fn existing(
    conn: &mut AsyncPgConnection,
    request: &CheckoutRequest<'_>,
) -> QueryResult<Option<Result<Reserved, Refusal>>> {
    let found: Option<(Vec<u8>, Option<i64>)> = idempotency_keys::table
        .find((request.scope, request.key))
        .select((idempotency_keys::request_hash, idempotency_keys::order_id))
        .first(conn)
        .await
        .optional()?;
    let Some((hash, order_id)) = found else {
        return Ok(None);
    };
    if hash != request.request_hash {
        return Ok(Some(Err(Refusal::KeyReused)));
    }
    let order_id = order_id.ok_or(diesel::result::Error::NotFound)?;
    if let Some(token_hash) = request.access_token_hash {
        set_access_token(conn, order_id, token_hash).await?;
    }
    let order = find(conn, order_id)
        .await?
        .ok_or(diesel::result::Error::NotFound)?;
    Ok(Some(Ok(Reserved::Existing(order))))
}

/// Returns an order's stock; the books it touched. The books are locked in
/// id order first, as [`reserve`] takes them, so a restock racing
/// checkouts of the same books never deadlocks (whatever plan the update
/// would otherwise follow).
pub async fn restock(conn: &mut AsyncPgConnection, order_id: i64) -> QueryResult<Vec<i64>> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let rows: Vec<Id> = diesel::sql_query(
        "WITH locked AS (
           SELECT b.id, l.quantity FROM books b JOIN order_lines l ON l.book_id = b.id
           WHERE l.order_id = $1 ORDER BY b.id FOR UPDATE OF b)
         UPDATE books b SET stock = b.stock + locked.quantity
         FROM locked WHERE b.id = locked.id
         RETURNING b.id",
    )
    .bind::<BigInt, _>(order_id)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|row| row.id).collect())
}

/// Deletes up to `limit` idempotency records created before `before`;
/// returns how many. A record whose order still awaits payment is kept
/// whatever its age (its shopper may still be retrying to learn the
/// outcome). After deletion a retry with the key starts afresh, and finds
/// its cart closed: nothing is ordered twice.
pub async fn delete_expired_keys(
    conn: &mut AsyncPgConnection,
    before: chrono::DateTime<Utc>,
    limit: i64,
) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM idempotency_keys WHERE (scope, key) IN ( \
             SELECT k.scope, k.key FROM idempotency_keys k \
             WHERE k.created_at < $1 \
               AND NOT EXISTS (SELECT 1 FROM orders o \
                               WHERE o.id = k.order_id AND o.status = 'PENDING_PAYMENT') \
             LIMIT $2 FOR UPDATE OF k SKIP LOCKED)",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(before)
    .bind::<BigInt, _>(limit)
    .execute(conn)
    .await
}
