//! Which constraint a failed write broke, so that a write can report a
//! taken slug, ISBN or email (the user's to fix) rather than fail.
//!
//! Never: decide what a violation means; each table's module maps its own
//! constraint names to its own rejections.

use diesel::QueryResult;
use diesel::result::{DatabaseErrorKind, Error};

/// The constraint a unique violation broke, if `error` is one.
pub fn unique_violation(error: &Error) -> Option<&str> {
    match error {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => info.constraint_name(),
        _ => None,
    }
}

/// A write's row, or `None` when the write broke a unique constraint (an
/// email someone else has, say: the caller's to report).
pub fn none_if_taken<T>(outcome: QueryResult<T>) -> QueryResult<Option<T>> {
    match outcome {
        Ok(value) => Ok(Some(value)),
        Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Whether `error` is a broken CHECK constraint.
pub fn is_check_violation(error: &Error) -> bool {
    matches!(
        error,
        Error::DatabaseError(DatabaseErrorKind::CheckViolation, _)
    )
}

/// A write's outcome, with the failures that `rejection` recognises (a
/// taken slug, a broken check) turned into rejections to report.
pub fn rejected_as<T, R>(
    outcome: QueryResult<T>,
    rejection: impl Fn(&Error) -> Option<R>,
) -> QueryResult<Result<T, R>> {
    match outcome {
        Ok(value) => Ok(Ok(value)),
        Err(error) => rejection(&error).map(Err).ok_or(error),
    }
}
