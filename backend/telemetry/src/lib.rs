//! Logging and tracing as both bookstore services do them, written once:
//!
//! - [`init`]: `RUST_LOG` filters (default `info`), `LOG_FORMAT=json`
//!   switches to one JSON object per line; with `OTEL_EXPORTER_OTLP_ENDPOINT`
//!   set, spans also go to an OpenTelemetry collector over OTLP
//!   (HTTP/protobuf over plain `http://`, batched on a thread of its own). Unset (the default),
//!   no exporter is built and none of its code runs.
//! - [`context`]: the W3C `traceparent` header, parsed and written.
//! - [`spans`]: a request's span joins the caller's trace (or starts one)
//!   and carries `trace_id`; calls made inside it pass the trace on.
//!
//! Which callers' headers to believe is each service's business.

pub mod context;
pub mod spans;

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

pub use context::{HEADER, TraceParent};
pub use spans::{SpanIds, continue_trace, continue_trace_with, current_traceparent};

/// Whether spans are exported (set once, by [`init`]).
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Whether this process exports spans.
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// How to log and trace; [`Settings::from_env`] reads the usual variables.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// `LOG_FORMAT=json`.
    pub json: bool,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`: the collector's base URL (spans go to
    /// `/v1/traces` under it); `None` or empty: no export.
    pub otlp_endpoint: Option<String>,
    /// `OTEL_SERVICE_NAME`, else the service's own name.
    pub service_name: Option<String>,
}

impl Settings {
    pub fn from_env() -> Self {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|value| !value.trim().is_empty())
        };
        Self {
            json: var("LOG_FORMAT").is_some_and(|format| format.eq_ignore_ascii_case("json")),
            otlp_endpoint: var("OTEL_EXPORTER_OTLP_ENDPOINT"),
            service_name: var("OTEL_SERVICE_NAME"),
        }
    }
}

/// Keeps the exporter; [`Telemetry::shutdown`] sends what is still queued.
#[must_use = "shut it down at exit, or the last spans are lost"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends every finished span now (tests; a shutdown does it too).
    pub fn flush(&self) {
        if let Some(provider) = &self.provider
            && let Err(error) = provider.force_flush()
        {
            tracing::warn!(%error, "flushing spans to the OTLP collector failed");
        }
    }

    /// Sends what is queued and stops the exporter.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(error) = provider.shutdown()
        {
            eprintln!("stopping the OTLP exporter: {error}");
        }
    }
}

/// Sets the global subscriber for `service` (e.g. `bookstore`). Fails only
/// for an OTLP endpoint that cannot be used, naming it.
pub fn init(service: &str, settings: &Settings) -> Result<Telemetry, String> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = if settings.json {
        logs.json().boxed()
    } else {
        logs.boxed()
    };
    let provider = match &settings.otlp_endpoint {
        Some(endpoint) => {
            let name = settings.service_name.as_deref().unwrap_or(service);
            Some(provider(name, endpoint)?)
        }
        None => None,
    };
    let export = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer(service.to_owned()))
            .with_tracked_inactivity(false)
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(logs)
        .with(export)
        .try_init()
        .map_err(|error| format!("setting up logging: {error}"))?;
    EXPORTING.store(provider.is_some(), Ordering::Relaxed);
    if let Some(endpoint) = &settings.otlp_endpoint {
        tracing::info!(%endpoint, "exporting spans over OTLP (HTTP/protobuf)");
    }
    Ok(Telemetry { provider })
}

/// The batching tracer provider sending to `endpoint`'s `/v1/traces`.
fn provider(service: &str, endpoint: &str) -> Result<SdkTracerProvider, String> {
    let url = http::Uri::try_from(endpoint)
        .ok()
        .filter(|uri| uri.scheme_str() == Some("http") && uri.host().is_some())
        .ok_or_else(|| {
            format!(
                "OTEL_EXPORTER_OTLP_ENDPOINT {endpoint:?} is not an http:// URL (the exporter \
                 has no TLS: send to a collector on the private network)"
            )
        })?;
    let traces = format!("{}/v1/traces", url.to_string().trim_end_matches('/'));
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(traces)
        .build()
        .map_err(|error| format!("OTEL_EXPORTER_OTLP_ENDPOINT {endpoint:?}: {error}"))?;
    let resource = Resource::builder()
        .with_service_name(service.to_owned())
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}
