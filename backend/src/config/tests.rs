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

#[test]
fn production_needs_an_smtp_server_and_the_public_url() {
    let production = |extra: &[(&str, &str)]| {
        let extra: Vec<(String, String)> = extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(move |name| match name {
            "APP_ENV" => Some("production".into()),
            "DATABASE_URL" => Some("postgres://app@db/bookstore".into()),
            _ => extra
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone()),
        })
        .err()
        .map(|error| error.to_string())
    };
    let missing_smtp = production(&[("PUBLIC_URL", "https://shop.example.com")]);
    assert!(missing_smtp.unwrap_or_default().contains("SMTP_URL"));
    let missing_public = production(&[("SMTP_URL", "smtp://mail:1025")]);
    assert!(missing_public.unwrap_or_default().contains("PUBLIC_URL"));
    assert_eq!(
        production(&[
            ("SMTP_URL", "smtps://user:secret@mail.example.com:465"),
            ("PUBLIC_URL", "https://shop.example.com/")
        ]),
        None
    );
}

#[test]
fn the_public_url_must_be_an_http_address_and_the_smtp_password_stays_hidden() {
    let bad = Config::from_lookup(|name| (name == "PUBLIC_URL").then(|| "shop.example.com".into()));
    assert!(
        bad.err()
            .map(|e| e.to_string())
            .unwrap_or_default()
            .contains("PUBLIC_URL")
    );
    let config = Config::from_lookup(|name| match name {
        "SMTP_URL" => Some("smtps://user:hunter2@mail.example.com:465".into()),
        "PUBLIC_URL" => Some("https://shop.example.com/".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(config.mail.public_base(), "https://shop.example.com");
    assert!(!format!("{config:?}").contains("hunter2"));
    let empty = Config::from_lookup(|name| (name == "SMTP_URL").then(String::new)).unwrap();
    assert_eq!(
        empty.mail.smtp_url, None,
        "an empty SMTP_URL means unset: logged"
    );
}

#[test]
fn retries_back_off_exponentially_up_to_the_maximum() {
    let config = Config::from_lookup(|name| match name {
        "OUTBOX_RETRY_BASE_SECS" => Some("10".into()),
        "OUTBOX_RETRY_MAX_SECS" => Some("300".into()),
        _ => None,
    })
    .unwrap()
    .mail;
    for (attempts, base) in [(1, 10), (2, 20), (3, 40), (5, 160)] {
        let wait = config.backoff(attempts).as_secs_f64();
        assert!(
            wait >= base as f64 && wait <= base as f64 * 1.2 + 0.001,
            "{attempts}: {wait}"
        );
    }
    assert_eq!(config.backoff(30).as_secs(), 300);
    assert!(config.lease() > config.smtp_timeout * 2);
}
