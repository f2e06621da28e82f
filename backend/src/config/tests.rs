//! The configuration's parsing rules: defaults, overrides, bad values
//! naming their variable, secrets hidden.

use super::*;

#[test]
fn redacts_passwords() {
    assert_eq!(
        redact_url("postgres://app:hunter2@db:5432/bookstore"),
        "postgres://app:***@db:5432/bookstore"
    );
    assert_eq!(
        redact_url("redis://127.0.0.1:6379"),
        "redis://127.0.0.1:6379"
    );
}

#[test]
fn rejects_bad_numbers_with_the_variable_name() {
    let error = Config::from_lookup(|name| (name == "GRAPHQL_MAX_DEPTH").then(|| "deep".into()))
        .err()
        .map(|error| error.to_string())
        .unwrap_or_default();
    assert!(
        error.contains("GRAPHQL_MAX_DEPTH") && error.contains("\"deep\"")
            || error.contains("'deep'"),
        "{error}"
    );
}

#[test]
fn defaults_and_overrides() {
    let config = Config::from_lookup(|name| match name {
        "DATABASE_POOL_SIZE" => Some("4".into()),
        "GRAPHIQL" => Some("off".into()),
        "DATABASE_READ_URL" => Some(" ".into()),
        "REQUEST_TIMEOUT_SECS" => Some("7".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(config.database_pool_size, 4);
    assert!(!config.graphiql && config.introspection);
    assert_eq!(config.database_read_url, None);
    assert_eq!(config.request_timeout, Duration::from_secs(7));
    assert_eq!(config.redis_url.as_deref(), Some("redis://127.0.0.1:6379"));
    assert_eq!(config.session_idle, Duration::from_secs(1_209_600));
}

#[test]
fn debug_and_help_hide_secrets() {
    let config = Config::from_lookup(|name| {
        (name == "DATABASE_URL").then(|| "postgres://app:hunter2@db/bookstore".into())
    })
    .unwrap();
    assert!(!format!("{config:?}").contains("hunter2"));
    let help = Standalone::command().render_long_help().to_string();
    assert!(help.contains("DATABASE_URL") && help.contains("REDIS_TIMEOUT_MS"));
}

#[test]
fn empty_redis_url_disables_the_cache() {
    let config = Config::from_lookup(|name| (name == "REDIS_URL").then(String::new));
    assert!(config.is_ok_and(|config| config.redis_url.is_none()));
}
