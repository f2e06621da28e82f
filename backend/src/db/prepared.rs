//! Hand-written SQL that diesel keeps prepared, per connection, keyed by its
//! text: `diesel::sql_query` marks itself unsafe to cache, so every call is
//! parsed and planned again (for the catalog's listing and relations that
//! was most of their Postgres time) and costs an extra round trip. A
//! [`Prepared`] is built from pieces of SQL and binds; each bind writes its
//! own `$n`, so equal shapes give equal text and share one statement.
//!
//! Never: splice a value into the text (only binds carry values), or build
//! texts that differ per value (each distinct text is one cached statement).

use diesel::expression::{AsExpression, TypedExpressionType};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{HasSqlType, SqlType, Untyped};
use diesel::{IntoSql, QueryResult};

/// One piece of a statement: SQL text or one bound value.
enum Piece<'a> {
    Sql(String),
    Bind(Box<dyn QueryFragment<Pg> + Send + 'a>),
}

/// A statement built from pieces; run it with diesel-async's `RunQueryDsl`
/// (`load` into a `QueryableByName` row).
#[derive(Default)]
pub struct Prepared<'a> {
    pieces: Vec<Piece<'a>>,
    binds: usize,
}

impl<'a> Prepared<'a> {
    pub fn new(sql: impl Into<String>) -> Self {
        Self {
            pieces: vec![Piece::Sql(sql.into())],
            binds: 0,
        }
    }

    /// Appends SQL text (no values in it).
    pub fn sql(mut self, sql: impl Into<String>) -> Self {
        self.push_sql(sql);
        self
    }

    pub fn push_sql(&mut self, sql: impl Into<String>) {
        self.pieces.push(Piece::Sql(sql.into()));
    }

    /// Appends a placeholder (`$n`) bound to `value`.
    pub fn bind<ST, T>(mut self, value: T) -> Self
    where
        T: AsExpression<ST> + 'a,
        T::Expression: QueryFragment<Pg> + Send + 'a,
        Pg: HasSqlType<ST>,
        ST: SqlType + TypedExpressionType,
    {
        self.push_bind::<ST, T>(value);
        self
    }

    /// Appends a placeholder bound to `value` and returns its name (`$n`),
    /// which later text may repeat to use the same value again.
    pub fn push_bind<ST, T>(&mut self, value: T) -> String
    where
        T: AsExpression<ST> + 'a,
        T::Expression: QueryFragment<Pg> + Send + 'a,
        Pg: HasSqlType<ST>,
        ST: SqlType + TypedExpressionType,
    {
        self.pieces
            .push(Piece::Bind(Box::new(value.into_sql::<ST>())));
        self.binds += 1;
        format!("${}", self.binds)
    }
}

impl QueryFragment<Pg> for Prepared<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        for piece in &self.pieces {
            match piece {
                Piece::Sql(sql) => out.push_sql(sql),
                Piece::Bind(bind) => bind.walk_ast(out.reborrow())?,
            }
        }
        Ok(())
    }
}

impl QueryId for Prepared<'_> {
    type QueryId = ();
    // No static id: diesel caches the statement by its text and bind types.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Prepared<'_> {
    type SqlType = Untyped;
}
