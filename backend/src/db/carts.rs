//! Cart queries. A cart's token is its public id; a cart with a user is
//! that user's alone. Lines hold book and quantity only: prices always come
//! from the books. Never prices anything or touches stock (checkout does,
//! through `reservations`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::schema::{cart_lines, carts};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = carts)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct Cart {
    pub id: i64,
    pub token: String,
    pub user_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub checked_out_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = cart_lines)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct CartLine {
    pub book_id: i64,
    pub quantity: i32,
}

pub async fn create(
    conn: &mut AsyncPgConnection,
    token: &str,
    user_id: Option<i64>,
) -> QueryResult<Cart> {
    diesel::insert_into(carts::table)
        .values((carts::token.eq(token), carts::user_id.eq(user_id)))
        .returning(Cart::as_returning())
        .get_result(conn)
        .await
}

/// An open cart by its token.
pub async fn find_open(conn: &mut AsyncPgConnection, token: &str) -> QueryResult<Option<Cart>> {
    carts::table
        .filter(carts::token.eq(token))
        .filter(carts::checked_out_at.is_null())
        .select(Cart::as_select())
        .first(conn)
        .await
        .optional()
}

/// A cart by its token, open or checked out (a retried checkout needs it).
pub async fn find_any(conn: &mut AsyncPgConnection, token: &str) -> QueryResult<Option<Cart>> {
    carts::table
        .filter(carts::token.eq(token))
        .select(Cart::as_select())
        .first(conn)
        .await
        .optional()
}

/// The user's most recent cart, open or checked out.
pub async fn latest_for_user(
    conn: &mut AsyncPgConnection,
    user_id: i64,
) -> QueryResult<Option<Cart>> {
    carts::table
        .filter(carts::user_id.eq(user_id))
        .order((carts::created_at.desc(), carts::id.desc()))
        .select(Cart::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find_open_for_user(
    conn: &mut AsyncPgConnection,
    user_id: i64,
) -> QueryResult<Option<Cart>> {
    carts::table
        .filter(carts::user_id.eq(user_id))
        .filter(carts::checked_out_at.is_null())
        .select(Cart::as_select())
        .first(conn)
        .await
        .optional()
}

/// The user's open cart, created (with `token`) when they have none.
pub async fn open_for_user(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    token: &str,
) -> QueryResult<Cart> {
    if let Some(cart) = find_open_for_user(conn, user_id).await? {
        return Ok(cart);
    }
    // Two requests may race to create it: the partial unique index keeps one.
    let inserted = diesel::sql_query(
        "INSERT INTO carts (token, user_id) VALUES ($1, $2)
         ON CONFLICT (user_id) WHERE user_id IS NOT NULL AND checked_out_at IS NULL DO NOTHING",
    )
    .bind::<diesel::sql_types::Text, _>(token)
    .bind::<diesel::sql_types::BigInt, _>(user_id)
    .execute(conn)
    .await?;
    let _ = inserted;
    find_open_for_user(conn, user_id)
        .await?
        .ok_or(diesel::result::Error::NotFound)
}

pub async fn lines(conn: &mut AsyncPgConnection, cart_id: i64) -> QueryResult<Vec<CartLine>> {
    cart_lines::table
        .filter(cart_lines::cart_id.eq(cart_id))
        .order((cart_lines::added_at, cart_lines::book_id))
        .select(CartLine::as_select())
        .load(conn)
        .await
}

/// Sets a line's quantity (adding the line if needed).
pub async fn set_quantity(
    conn: &mut AsyncPgConnection,
    cart_id: i64,
    book_id: i64,
    quantity: i32,
) -> QueryResult<()> {
    diesel::insert_into(cart_lines::table)
        .values((
            cart_lines::cart_id.eq(cart_id),
            cart_lines::book_id.eq(book_id),
            cart_lines::quantity.eq(quantity),
        ))
        .on_conflict((cart_lines::cart_id, cart_lines::book_id))
        .do_update()
        .set(cart_lines::quantity.eq(quantity))
        .execute(conn)
        .await?;
    touch(conn, cart_id).await
}

/// A new line would exceed the cart's line limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyLines;

/// Sets a line's quantity, adding the line only while the cart holds fewer
/// than `max_lines`. The cart's row is locked first, so concurrent adds to
/// one cart cannot pass the limit together (the next statement, which
/// counts, checks and writes the line and the cart's `updated_at` at once,
/// sees every line committed before the lock was granted).
pub async fn put_line(
    conn: &mut AsyncPgConnection,
    cart_id: i64,
    book_id: i64,
    quantity: i32,
    max_lines: usize,
) -> QueryResult<Result<(), TooManyLines>> {
    #[derive(QueryableByName)]
    struct Put {
        #[diesel(sql_type = BigInt)]
        put: i64,
    }
    conn.transaction(async |conn| {
        carts::table
            .find(cart_id)
            .select(carts::id)
            .for_update()
            .first::<i64>(conn)
            .await?;
        let put: Put = diesel::sql_query(
            "WITH put AS (
               INSERT INTO cart_lines (cart_id, book_id, quantity)
               SELECT $1, $2, $3
               WHERE EXISTS (SELECT 1 FROM cart_lines WHERE cart_id = $1 AND book_id = $2)
                  OR (SELECT count(*) FROM cart_lines WHERE cart_id = $1) < $4
               ON CONFLICT (cart_id, book_id) DO UPDATE SET quantity = EXCLUDED.quantity
               RETURNING 1),
             touched AS (
               UPDATE carts SET updated_at = now() WHERE id = $1 AND EXISTS (SELECT 1 FROM put))
             SELECT count(*) AS put FROM put",
        )
        .bind::<BigInt, _>(cart_id)
        .bind::<BigInt, _>(book_id)
        .bind::<Integer, _>(quantity)
        .bind::<BigInt, _>(i64::try_from(max_lines).unwrap_or(i64::MAX))
        .get_result(conn)
        .await?;
        Ok(if put.put == 1 {
            Ok(())
        } else {
            Err(TooManyLines)
        })
    })
    .await
}

/// What [`add_lines`] did with one book: the line's quantity now, or
/// `None` when the cart had no room for another line.
pub type Added = (i64, Option<i32>);

/// Adds copies of several books at once (buying an order again): each
/// `(book, copies, cap)` raises the book's line by `copies`, to at most
/// `cap` copies in all; a new line only while the cart holds fewer than
/// `max_lines`. The cart's row is locked first (as [`put_line`] does), and
/// every line is written by one statement.
pub async fn add_lines(
    conn: &mut AsyncPgConnection,
    cart_id: i64,
    wanted: &[(i64, i32, i32)],
    max_lines: usize,
) -> QueryResult<Vec<Added>> {
    use diesel::sql_types::Array;
    conn.transaction(async |conn| {
        carts::table
            .find(cart_id)
            .select(carts::id)
            .for_update()
            .first::<i64>(conn)
            .await?;
        let existing = lines(conn, cart_id).await?;
        let mut count = existing.len();
        let mut added = Vec::with_capacity(wanted.len());
        let (mut books, mut quantities) = (Vec::new(), Vec::new());
        for &(book_id, copies, cap) in wanted {
            let had = existing.iter().find(|line| line.book_id == book_id);
            if had.is_none() && count >= max_lines {
                added.push((book_id, None));
                continue;
            }
            count += usize::from(had.is_none());
            let before = had.map_or(0, |line| line.quantity);
            let quantity = before.saturating_add(copies).min(cap).max(before);
            added.push((book_id, Some(quantity)));
            if quantity > 0 {
                books.push(book_id);
                quantities.push(quantity);
            }
        }
        if !books.is_empty() {
            diesel::sql_query(
                "WITH put AS (
                   INSERT INTO cart_lines (cart_id, book_id, quantity)
                   SELECT $1, book, quantity FROM unnest($2::bigint[], $3::int[]) AS w(book, quantity)
                   ON CONFLICT (cart_id, book_id) DO UPDATE SET quantity = EXCLUDED.quantity
                   RETURNING 1)
                 UPDATE carts SET updated_at = now() WHERE id = $1 AND EXISTS (SELECT 1 FROM put)",
            )
            .bind::<BigInt, _>(cart_id)
            .bind::<Array<BigInt>, _>(&books)
            .bind::<Array<Integer>, _>(&quantities)
            .execute(conn)
            .await?;
        }
        Ok(added)
    })
    .await
}

/// How many lines (different books) the cart holds.
pub async fn line_count(conn: &mut AsyncPgConnection, cart_id: i64) -> QueryResult<usize> {
    let count: i64 = cart_lines::table
        .filter(cart_lines::cart_id.eq(cart_id))
        .count()
        .get_result(conn)
        .await?;
    Ok(usize::try_from(count).unwrap_or(usize::MAX))
}

pub async fn remove_line(
    conn: &mut AsyncPgConnection,
    cart_id: i64,
    book_id: i64,
) -> QueryResult<bool> {
    let removed = diesel::delete(
        cart_lines::table
            .filter(cart_lines::cart_id.eq(cart_id))
            .filter(cart_lines::book_id.eq(book_id)),
    )
    .execute(conn)
    .await?;
    touch(conn, cart_id).await?;
    Ok(removed > 0)
}

async fn touch(conn: &mut AsyncPgConnection, cart_id: i64) -> QueryResult<()> {
    diesel::update(carts::table.find(cart_id))
        .set(carts::updated_at.eq(Utc::now()))
        .execute(conn)
        .await?;
    Ok(())
}

/// Replaces `into`'s lines with `merged` and closes the guest cart `from`,
/// in one transaction.
pub async fn merge(
    conn: &mut AsyncPgConnection,
    from: i64,
    into: i64,
    merged: &[CartLine],
) -> QueryResult<()> {
    conn.transaction(async |conn| {
        for line in merged {
            set_quantity(conn, into, line.book_id, line.quantity).await?;
        }
        diesel::delete(cart_lines::table.filter(cart_lines::cart_id.eq(from)))
            .execute(conn)
            .await?;
        diesel::update(carts::table.find(from))
            .set(carts::checked_out_at.eq(Utc::now()))
            .execute(conn)
            .await?;
        Ok(())
    })
    .await
}

/// Deletes up to `limit` abandoned carts (with their lines): open ones
/// untouched since `guest_before` (guest carts) or `customer_before`
/// (signed-in customers' carts); returns how many. A checked-out cart is
/// never deleted (a checkout retry finds its order through it, and a
/// declined payment reopens it). Carts a request holds locked right now are
/// skipped; each cart's row is re-checked once locked, so one touched
/// meanwhile stays.
pub async fn delete_abandoned(
    conn: &mut AsyncPgConnection,
    guest_before: DateTime<Utc>,
    customer_before: DateTime<Utc>,
    limit: i64,
) -> QueryResult<usize> {
    use diesel::sql_types::{BigInt, Timestamptz};
    diesel::sql_query(
        "DELETE FROM carts WHERE id IN ( \
             SELECT id FROM carts \
             WHERE checked_out_at IS NULL \
               AND ((user_id IS NULL AND updated_at < $1) \
                 OR (user_id IS NOT NULL AND updated_at < $2)) \
             LIMIT $3 FOR UPDATE SKIP LOCKED) \
         AND checked_out_at IS NULL",
    )
    .bind::<Timestamptz, _>(guest_before)
    .bind::<Timestamptz, _>(customer_before)
    .bind::<BigInt, _>(limit)
    .execute(conn)
    .await
}
