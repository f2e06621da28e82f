//! Stock reservation: checkout's first step takes the cart's stock and
//! creates the order (PENDING_PAYMENT) in one transaction, guarded by the
//! idempotency key; [`restock`] gives an order's stock back.
//!
//! Stock is only ever taken with a conditional `UPDATE ... WHERE stock >=
//! quantity`: it never goes negative and is never oversold, however many
//! checkouts race. Never calls a payment gateway.

use chrono::Utc;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::orders::{
    NewAddress, NewOrder, Order, PENDING_PAYMENT, find, insert as insert_order, set_access_token,
};
use super::schema::{addresses, cart_lines, carts, idempotency_keys, order_lines};

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
}

/// Stock taken and an order to pay for.
#[derive(Debug)]
pub enum Reserved {
    /// Stock taken (from these books), order created, awaiting payment.
    Created(Order, Vec<i64>),
    /// The same request was made before with this key: its order.
    Existing(Order),
}

/// Why nothing was reserved (the transaction rolled back).
#[derive(Debug)]
pub enum Refusal {
    /// The key was used before for a different request.
    KeyReused,
    EmptyCart,
    /// The cart was checked out already (by another request).
    CartClosed,
    /// These books are archived or have less stock than the cart wants.
    Unavailable(Vec<i64>),
    MixedCurrencies,
    /// The order's total does not fit the money type.
    TooLarge,
}

/// Why the reservation transaction rolled back.
enum Abort {
    Database(diesel::result::Error),
    Refused(Refusal),
}

impl From<diesel::result::Error> for Abort {
    fn from(error: diesel::result::Error) -> Self {
        Abort::Database(error)
    }
}

#[derive(QueryableByName)]
struct Taken {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Text)]
    isbn: String,
    #[diesel(sql_type = Integer)]
    price_cents: i32,
    #[diesel(sql_type = Text)]
    currency: String,
}

/// Reserves the cart's stock and creates the order (status
/// PENDING_PAYMENT), all or nothing, in one transaction.
pub async fn reserve(
    conn: &mut AsyncPgConnection,
    request: &CheckoutRequest<'_>,
) -> QueryResult<Result<Reserved, Refusal>> {
    let result = conn
        .transaction(async |conn| {
            // Concurrent requests with one key wait here for the first to
            // commit, then find its order.
            let claimed = diesel::insert_into(idempotency_keys::table)
                .values((
                    idempotency_keys::scope.eq(request.scope),
                    idempotency_keys::key.eq(request.key),
                    idempotency_keys::request_hash.eq(request.request_hash),
                ))
                .on_conflict_do_nothing()
                .execute(conn)
                .await?;
            if claimed == 0 {
                let (hash, order_id): (Vec<u8>, Option<i64>) = idempotency_keys::table
                    .find((request.scope, request.key))
                    .select((idempotency_keys::request_hash, idempotency_keys::order_id))
                    .first(conn)
                    .await?;
                if hash != request.request_hash {
                    return Err(Abort::Refused(Refusal::KeyReused));
                }
                let order_id = order_id.ok_or(diesel::result::Error::NotFound)?;
                if let Some(token_hash) = request.access_token_hash {
                    set_access_token(conn, order_id, token_hash).await?;
                }
                return Ok(Reserved::Existing(
                    find(conn, order_id)
                        .await?
                        .ok_or(diesel::result::Error::NotFound)?,
                ));
            }

            // Closing the cart now (it reopens if the payment fails) keeps two
            // checkouts of one cart, with different keys, from both ordering.
            let closed = diesel::update(carts::table.find(request.cart_id))
                .filter(carts::checked_out_at.is_null())
                .set(carts::checked_out_at.eq(Utc::now()))
                .execute(conn)
                .await?;
            if closed == 0 {
                return Err(Abort::Refused(Refusal::CartClosed));
            }
            let lines: Vec<(i64, i32)> = cart_lines::table
                .filter(cart_lines::cart_id.eq(request.cart_id))
                .order(cart_lines::book_id) // one lock order for every checkout: no deadlocks
                .select((cart_lines::book_id, cart_lines::quantity))
                .load(conn)
                .await?;
            if lines.is_empty() {
                return Err(Abort::Refused(Refusal::EmptyCart));
            }
            let mut taken = Vec::with_capacity(lines.len());
            let mut unavailable = Vec::new();
            for (book_id, quantity) in &lines {
                let row: Option<Taken> = diesel::sql_query(
                    "UPDATE books SET stock = stock - $2
                     WHERE id = $1 AND NOT archived AND stock >= $2
                     RETURNING id, title, isbn, price_cents, currency",
                )
                .bind::<BigInt, _>(book_id)
                .bind::<Integer, _>(quantity)
                .get_result(conn)
                .await
                .optional()?;
                match row {
                    Some(row) => taken.push((row, *quantity)),
                    None => unavailable.push(*book_id),
                }
            }
            if !unavailable.is_empty() {
                return Err(Abort::Refused(Refusal::Unavailable(unavailable)));
            }
            let currency = taken[0].0.currency.clone();
            if taken.iter().any(|(book, _)| book.currency != currency) {
                return Err(Abort::Refused(Refusal::MixedCurrencies));
            }
            let subtotal: i64 = taken
                .iter()
                .map(|(book, quantity)| i64::from(book.price_cents) * i64::from(*quantity))
                .sum();
            let (Ok(subtotal), Some(total)) = (
                i32::try_from(subtotal),
                i32::try_from(subtotal)
                    .ok()
                    .and_then(|s| s.checked_add(request.shipping_cents)),
            ) else {
                return Err(Abort::Refused(Refusal::TooLarge));
            };

            let address_id: i64 = diesel::insert_into(addresses::table)
                .values(request.address)
                .returning(addresses::id)
                .get_result(conn)
                .await?;
            let new_order = NewOrder {
                user_id: request.user_id,
                email: request.email,
                status: PENDING_PAYMENT,
                currency: &currency,
                subtotal_cents: subtotal,
                shipping_cents: request.shipping_cents,
                total_cents: total,
                shipping_method: request.shipping_method,
                shipping_address_id: address_id,
                access_token_hash: request.access_token_hash.map(<[u8; 32]>::as_slice),
            };
            let order: Order = insert_order(conn, &new_order).await?;
            let rows: Vec<_> = taken
                .iter()
                .enumerate()
                .map(|(position, (book, quantity))| {
                    (
                        order_lines::order_id.eq(order.id),
                        order_lines::position.eq(i16::try_from(position).unwrap_or(i16::MAX)),
                        order_lines::book_id.eq(Some(book.id)),
                        order_lines::title.eq(&book.title),
                        order_lines::isbn.eq(&book.isbn),
                        order_lines::unit_price_cents.eq(book.price_cents),
                        order_lines::quantity.eq(*quantity),
                    )
                })
                .collect();
            diesel::insert_into(order_lines::table)
                .values(rows)
                .execute(conn)
                .await?;
            diesel::update(idempotency_keys::table.find((request.scope, request.key)))
                .set(idempotency_keys::order_id.eq(order.id))
                .execute(conn)
                .await?;
            let books = taken.iter().map(|(book, _)| book.id).collect();
            Ok(Reserved::Created(order, books))
        })
        .await;
    match result {
        Ok(reserved) => Ok(Ok(reserved)),
        Err(Abort::Refused(refusal)) => Ok(Err(refusal)),
        Err(Abort::Database(error)) => Err(error),
    }
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
