//! The storefront configuration's tests.
#![allow(clippy::unwrap_used)]

use super::*;

/// A configuration read from `variables` alone (also used by the
/// sub-modules' tests).
pub(super) fn config(variables: &[(&str, &str)]) -> anyhow::Result<Config> {
    Config::from_lookup(|name| {
        variables
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    })
}

#[test]
fn the_command_line_is_well_formed() {
    Config::command().debug_assert();
}

#[test]
fn defaults_serve_a_developer_machine() {
    let config = config(&[]).unwrap();
    assert_eq!(config.bind_addr.to_string(), "127.0.0.1:8080");
    assert_eq!(config.graphql_url, "http://127.0.0.1:8000/graphql");
    assert_eq!(config.backend_timeout, Duration::from_millis(5000));
    assert!(!config.cookie_secure);
    // A random secret per process: long, and different each time.
    assert_eq!(config.csrf_secret.expose().len(), 43);
    let another = self::config(&[]).unwrap();
    assert_ne!(config.csrf_secret.expose(), another.csrf_secret.expose());
}

#[test]
fn blank_values_are_unset() {
    let config = config(&[
        ("BIND_ADDR", ""),
        ("GRAPHQL_URL", "  "),
        ("BACKEND_TIMEOUT_MS", " "),
        ("COOKIE_SECURE", ""),
        ("CSRF_SECRET", ""),
        ("APP_ENV", " "),
    ])
    .unwrap();
    assert_eq!(config.app_env, AppEnv::Development);
    assert_eq!(config.bind_addr.to_string(), "127.0.0.1:8080");
    assert_eq!(config.graphql_url, "http://127.0.0.1:8000/graphql");
    assert_eq!(config.backend_timeout, Duration::from_millis(5000));
    assert!(!config.cookie_secure);
    assert_eq!(config.csrf_secret.expose().len(), 43);
}

#[test]
fn variables_override_the_defaults() {
    let config = config(&[
        ("BIND_ADDR", "0.0.0.0:9000"),
        ("GRAPHQL_URL", "http://backend:8000/graphql"),
        ("BACKEND_TIMEOUT_MS", "250"),
        ("CSRF_SECRET", "a shared secret"),
        ("COOKIE_SECURE", "TRUE"),
    ])
    .unwrap();
    assert_eq!(config.bind_addr.to_string(), "0.0.0.0:9000");
    assert_eq!(config.graphql_url, "http://backend:8000/graphql");
    assert_eq!(config.backend_timeout, Duration::from_millis(250));
    assert_eq!(config.csrf_secret.expose(), b"a shared secret");
    assert!(config.cookie_secure);
}

#[test]
fn cookie_secure_takes_what_it_always_took() {
    for (text, secure) in [
        ("1", true),
        ("yes", true),
        ("On", true),
        ("true", true),
        ("0", false),
        ("no", false),
        ("banana", false),
        (" true", false),
    ] {
        let config = config(&[("COOKIE_SECURE", text)]).unwrap();
        assert_eq!(config.cookie_secure, secure, "{text:?}");
    }
}

#[test]
fn a_bad_value_names_its_variable() {
    let error = config(&[("BACKEND_TIMEOUT_MS", "soon")]).unwrap_err();
    assert!(error.to_string().contains("BACKEND_TIMEOUT_MS"), "{error}");
    let error = config(&[("BIND_ADDR", "localhost")]).unwrap_err();
    assert!(error.to_string().contains("BIND_ADDR"), "{error}");
}

#[test]
fn production_requires_a_csrf_secret() {
    assert_eq!(config(&[]).unwrap().app_env, AppEnv::Development);
    for unset in [
        &[("APP_ENV", "production")][..],
        &[("APP_ENV", "production"), ("CSRF_SECRET", "")],
    ] {
        let error = config(unset).unwrap_err().to_string();
        assert!(error.contains("CSRF_SECRET"), "{error}");
        assert!(error.contains("APP_ENV=production"), "{error}");
    }
    let error = self::config(&[
        ("APP_ENV", "production"),
        ("CSRF_SECRET", "a shared secret"),
    ])
    .unwrap_err()
    .to_string();
    assert!(error.contains("PUBLIC_URL"), "{error}");
    let config = config(&[
        ("APP_ENV", "production"),
        ("CSRF_SECRET", "a shared secret"),
        ("PUBLIC_URL", "https://shop.example.com"),
    ])
    .unwrap();
    assert_eq!(config.app_env, AppEnv::Production);
    assert_eq!(config.csrf_secret.expose(), b"a shared secret");
    let error = self::config(&[("APP_ENV", "staging")]).unwrap_err();
    assert!(error.to_string().contains("APP_ENV"), "{error}");
}

#[test]
fn debug_and_help_never_show_the_secret() {
    let config = config(&[("CSRF_SECRET", "hunter2 hunter2")]).unwrap();
    let debug = format!("{config:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("[redacted]"), "{debug}");
    let help = Config::command().render_long_help().to_string();
    for variable in [
        "BIND_ADDR",
        "GRAPHQL_URL",
        "BACKEND_TIMEOUT_MS",
        "CSRF_SECRET",
        "COOKIE_SECURE",
        "APP_ENV",
        "PUBLIC_URL",
        "SITEMAP_MAX_URLS",
        "SITEMAP_CACHE_SECS",
    ] {
        assert!(help.contains(variable), "{variable} missing from {help}");
    }
}

#[test]
fn metrics_stay_off_the_public_address_in_production() {
    assert_eq!(config(&[]).unwrap().metrics_address(), None);
    assert_eq!(
        config(&[("METRICS_ADDR", " ")]).unwrap().metrics_address(),
        None
    );
    let given = config(&[("METRICS_ADDR", "0.0.0.0:9100")]).unwrap();
    assert_eq!(
        given.metrics_address(),
        Some("0.0.0.0:9100".parse().unwrap())
    );
    let production = config(&[
        ("APP_ENV", "production"),
        ("CSRF_SECRET", "s3cret-s3cret-s3cret-s3cret"),
        ("PUBLIC_URL", "https://shop.example.com"),
    ])
    .unwrap();
    assert_eq!(
        production.metrics_address(),
        Some("127.0.0.1:9101".parse().unwrap())
    );
    let error = config(&[("METRICS_ADDR", "nine")]).unwrap_err().to_string();
    assert!(error.contains("METRICS_ADDR"), "{error}");
}
