//! Logging: `RUST_LOG` filters (default `info`), `LOG_FORMAT=json` switches
//! to one JSON object per line. Every line a request logs is inside its
//! span (`http::request_id::span`, at INFO), so it carries `request_id`
//! (JSON: under `span` and `spans`).

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
