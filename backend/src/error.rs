//! The service's one error type and how it reaches clients: a GraphQL error
//! with `extensions.code`, or an HTTP status in plain handlers. Internal
//! causes (SQL, pool, I/O) are logged here with context and replaced by a
//! generic message: nothing about the database, files or panics leaks out.

use async_graphql::ServerError;
use axum::http::StatusCode;

/// `Display` is what a client may read, so internal variants print a
/// generic message; their cause is in `Debug` and the log.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    BadUserInput(String),
    #[error("authentication required")]
    Unauthenticated,
    #[error("not allowed")]
    Forbidden,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("too many attempts; try again in {} minutes", retry_after_secs.div_ceil(60))]
    TooManyAttempts { retry_after_secs: u64 },
    /// Too much password hashing is waiting already: try again shortly.
    #[error("the service is busy, try again in a moment")]
    Busy,
    #[error("internal error")]
    Database(#[from] diesel::result::Error),
    #[error("the service is temporarily unavailable, try again")]
    Pool(#[from] diesel_async::pooled_connection::bb8::RunError),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadUserInput(_) => "BAD_USER_INPUT",
            Error::Unauthenticated => "UNAUTHENTICATED",
            Error::Forbidden => "FORBIDDEN",
            Error::NotFound(_) => "NOT_FOUND",
            Error::TooManyAttempts { .. } => "TOO_MANY_ATTEMPTS",
            Error::Pool(_) | Error::Busy => "SERVICE_UNAVAILABLE",
            Error::Database(_) | Error::Internal(_) => "INTERNAL",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadUserInput(_) => StatusCode::BAD_REQUEST,
            Error::Unauthenticated => StatusCode::UNAUTHORIZED,
            Error::Forbidden => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Pool(_) | Error::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Error::Database(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn is_internal(&self) -> bool {
        matches!(
            self,
            Error::Database(_) | Error::Internal(_) | Error::Pool(_)
        )
    }
}

/// Gives a GraphQL error its `extensions.code` (and logs internal causes).
/// Resolver errors carry our [`Error`] as their source (async-graphql keeps
/// it when converting); errors without a path were raised before execution
/// (parse, validation, limits); the rest come from argument coercion.
pub fn annotate(error: &mut ServerError) {
    let has_code = error
        .extensions
        .as_ref()
        .is_some_and(|extensions| extensions.get("code").is_some());
    if has_code {
        return;
    }
    let code = match error.source::<Error>() {
        Some(source) => {
            if source.is_internal() {
                tracing::error!(error = ?source, path = ?error.path, "request failed");
            }
            source.code()
        }
        None if error.path.is_empty() => "GRAPHQL_VALIDATION_FAILED",
        None => "BAD_USER_INPUT",
    };
    set_code(error, code);
}

pub fn set_code(error: &mut ServerError, code: &str) {
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", async_graphql::Value::String(code.to_owned()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graphql(error: Error) -> (String, Option<String>) {
        let mut error = async_graphql::Error::from(error).into_server_error(Default::default());
        error
            .path
            .push(async_graphql::PathSegment::Field("books".into()));
        annotate(&mut error);
        let code = error
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
            .map(|code| code.to_string());
        (error.message, code)
    }

    #[test]
    fn every_variant_maps_to_a_code_and_hides_internals() {
        let pool_error = diesel_async::pooled_connection::bb8::RunError::TimedOut;
        let cases = [
            (
                Error::BadUserInput("first must be at most 100".into()),
                "first must be at most 100",
                "BAD_USER_INPUT",
                400,
            ),
            (
                Error::Unauthenticated,
                "authentication required",
                "UNAUTHENTICATED",
                401,
            ),
            (Error::Forbidden, "not allowed", "FORBIDDEN", 403),
            (Error::NotFound("book"), "book not found", "NOT_FOUND", 404),
            (
                Error::TooManyAttempts {
                    retry_after_secs: 900,
                },
                "too many attempts; try again in 15 minutes",
                "TOO_MANY_ATTEMPTS",
                429,
            ),
            (
                Error::Busy,
                "the service is busy, try again in a moment",
                "SERVICE_UNAVAILABLE",
                503,
            ),
            (
                Error::Database(diesel::result::Error::NotFound),
                "internal error",
                "INTERNAL",
                500,
            ),
            (
                Error::Pool(pool_error),
                "the service is temporarily unavailable, try again",
                "SERVICE_UNAVAILABLE",
                503,
            ),
            (
                Error::Internal(anyhow::anyhow!("/etc/secret: panicked")),
                "internal error",
                "INTERNAL",
                500,
            ),
        ];
        for (error, message, code, status) in cases {
            assert_eq!(error.status().as_u16(), status, "{error:?}");
            assert_eq!(
                graphql(error),
                (message.to_owned(), Some(format!("\"{code}\"")))
            );
        }
    }

    #[test]
    fn errors_from_elsewhere_get_a_code_by_where_they_arose() {
        let mut validation = ServerError::new("Unknown field \"nope\"", None);
        annotate(&mut validation);
        let code = |error: &ServerError| {
            error
                .extensions
                .as_ref()
                .and_then(|e| e.get("code"))
                .map(|c| c.to_string())
        };
        assert_eq!(
            code(&validation).as_deref(),
            Some("\"GRAPHQL_VALIDATION_FAILED\"")
        );
        let mut coercion = ServerError::new("Invalid value for argument \"first\"", None);
        coercion
            .path
            .push(async_graphql::PathSegment::Field("books".into()));
        annotate(&mut coercion);
        assert_eq!(code(&coercion).as_deref(), Some("\"BAD_USER_INPUT\""));
    }
}
