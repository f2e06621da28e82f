//! Logging and tracing (`bookstore_telemetry`, shared with the storefront):
//! `RUST_LOG` filters (default `info`), `LOG_FORMAT=json` switches to one
//! JSON object per line, `OTEL_EXPORTER_OTLP_ENDPOINT` turns on the OTLP
//! span exporter (off by default). Every line a request logs is inside its
//! span (`http::request_id::span`, at INFO), so it carries `request_id`
//! and `trace_id` (JSON: under `span` and `spans`).

pub use bookstore_telemetry::Telemetry;

/// Sets up logging (and span export, if configured) for `bookstore`.
pub fn init() -> anyhow::Result<Telemetry> {
    bookstore_telemetry::init("bookstore", &bookstore_telemetry::Settings::from_env())
        .map_err(anyhow::Error::msg)
}
