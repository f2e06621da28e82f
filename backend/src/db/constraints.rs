//! Which constraint a failed write broke, so that a write can report a
//! taken slug or ISBN (the user's to fix) rather than fail.
//!
//! Never: decide what a violation means; each table's module maps its own
//! constraint names to its own rejections.

use diesel::result::{DatabaseErrorKind, Error};

/// The constraint a unique violation broke, if `error` is one.
pub fn unique_violation(error: &Error) -> Option<&str> {
    match error {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => info.constraint_name(),
        _ => None,
    }
}

/// Whether `error` is a broken CHECK constraint.
pub fn is_check_violation(error: &Error) -> bool {
    matches!(
        error,
        Error::DatabaseError(DatabaseErrorKind::CheckViolation, _)
    )
}
