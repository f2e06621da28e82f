//! "This column is one of these ids", written so that Postgres plans the
//! prepared statement once: `column = $1` for one id, `column = ANY($1)`
//! for several.
//!
//! Why: a prepared `= ANY($1)` is planned generically for an array of about
//! ten; called with one id, every custom plan looks ten times cheaper than
//! that generic one, so Postgres plans it again on every execution (for a
//! book page's relations that was 0.27 ms of planning for 0.04 ms of work).
//! `= $1` gets a generic plan as good as a custom one, kept after five
//! executions. Batches (a catalog page's 20 books) keep `ANY`, whose
//! generic plan wins there.
//!
//! The two shapes are two statement texts: no static query id, so diesel
//! keys its statement cache by the text.

use diesel::QueryResult;

use super::prepared::Prepared;
use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Bool};

/// `column` is one of `ids` (an expression for `filter`).
pub fn in_ids<C>(column: C, ids: &[i64]) -> InIds<'_, C> {
    InIds { column, ids }
}

#[derive(Debug, Clone, Copy)]
pub struct InIds<'a, C> {
    column: C,
    ids: &'a [i64],
}

impl<C: Expression<SqlType = BigInt>> Expression for InIds<'_, C> {
    type SqlType = Bool;
}

impl<C: QueryFragment<Pg>> QueryFragment<Pg> for InIds<'_, C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        match self.ids {
            [id] => {
                out.push_sql(" = ");
                out.push_bind_param::<BigInt, i64>(id)?;
            }
            ids => {
                out.push_sql(" = ANY(");
                out.push_bind_param::<Array<BigInt>, [i64]>(ids)?;
                out.push_sql(")");
            }
        }
        Ok(())
    }
}

impl<C> QueryId for InIds<'_, C> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<C, QS> AppearsOnTable<QS> for InIds<'_, C>
where
    C: AppearsOnTable<QS>,
    Self: Expression,
{
}

impl<C, QS> SelectableExpression<QS> for InIds<'_, C>
where
    C: SelectableExpression<QS>,
    Self: AppearsOnTable<QS>,
{
}

impl<C: ValidGrouping<GB>, GB> ValidGrouping<GB> for InIds<'_, C> {
    type IsAggregate = C::IsAggregate;
}

/// The same choice for hand-written SQL: appends to `query` a row source
/// of `ids` (one column; follow it with an alias such as `AS ids(id)`) and
/// returns its text, for repeating it later in the statement.
pub fn id_rows(query: &mut Prepared<'_>, ids: &[i64]) -> String {
    match ids {
        [id] => {
            query.push_sql("(SELECT ");
            let id = query.push_bind::<BigInt, _>(*id);
            query.push_sql("::bigint)");
            format!("(SELECT {id}::bigint)")
        }
        ids => {
            query.push_sql("unnest(");
            let ids = query.push_bind::<Array<BigInt>, _>(ids.to_vec());
            query.push_sql("::bigint[])");
            format!("unnest({ids}::bigint[])")
        }
    }
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;

    use super::{Prepared, id_rows, in_ids};
    use crate::db::schema::books;

    fn sql(ids: &[i64]) -> String {
        let query = books::table
            .filter(in_ids(books::id, ids))
            .select(books::id);
        diesel::debug_query::<diesel::pg::Pg, _>(&query).to_string()
    }

    fn rows(ids: &[i64]) -> String {
        let mut query = Prepared::new("SELECT id FROM ");
        let again = id_rows(&mut query, ids);
        query.push_sql(format!(
            " AS a(id) UNION ALL SELECT id FROM {again} AS b(id)"
        ));
        diesel::debug_query::<diesel::pg::Pg, _>(&query).to_string()
    }

    #[test]
    fn id_rows_bind_once_and_repeat_the_same_placeholder() {
        let one = rows(&[7]);
        assert!(
            one.starts_with("SELECT id FROM (SELECT $1::bigint) AS a(id) UNION ALL SELECT id FROM (SELECT $1::bigint) AS b(id)"),
            "{one}"
        );
        let many = rows(&[7, 8]);
        assert!(
            many.starts_with("SELECT id FROM unnest($1::bigint[]) AS a(id) UNION ALL SELECT id FROM unnest($1::bigint[]) AS b(id)"),
            "{many}"
        );
    }

    #[test]
    fn one_id_is_compared_and_several_are_searched() {
        assert!(sql(&[7]).contains(r#""books"."id" = $1"#), "{}", sql(&[7]));
        assert!(
            sql(&[7, 8]).contains(r#""books"."id" = ANY($1)"#),
            "{}",
            sql(&[7, 8])
        );
        assert!(sql(&[]).contains("= ANY($1)"), "{}", sql(&[]));
    }
}
