//! The Prometheus registry both services record into, and its text
//! exposition for `/metrics` (served on the internal `METRICS_ADDR`).
//!
//! Each app state owns a [`Registry`] (not a process-global one), so two
//! app instances in one process (the tests) count separately; a process
//! that runs one app ([`Registry::install_global`]) also receives what code
//! without the state records with the `metrics::counter!` family of macros.
//!
//! Handles are registered once and kept ([`Counter`], [`Gauge`],
//! [`Histogram`]): recording is then an atomic add (a lock-free push for
//! histograms), with no key lookup and no allocation. Label values are
//! `&'static str` only, so no label ever carries user input.

use std::sync::Arc;

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Label, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusRecorder};

/// The exposition's media type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4";

/// Latency buckets, in seconds: from a warm cache hit to a request timeout.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Labels: names and values both fixed in the code.
pub type Labels<'a> = &'a [(&'static str, &'static str)];

#[derive(Clone)]
pub struct Registry {
    recorder: Arc<PrometheusRecorder>,
}

impl Registry {
    /// A registry whose histograms named in `histograms` get those buckets
    /// (any other histogram renders as a summary).
    pub fn new(histograms: &[(&'static str, &[f64])]) -> Result<Self, BuildError> {
        let mut builder = PrometheusBuilder::new();
        for (name, buckets) in histograms {
            builder = builder.set_buckets_for_metric(Matcher::Full((*name).to_owned()), buckets)?;
        }
        Ok(Self {
            recorder: Arc::new(builder.build_recorder()),
        })
    }

    pub fn describe_counter(&self, name: &'static str, help: &'static str) {
        self.recorder.describe_counter(
            KeyName::from_const_str(name),
            None,
            SharedString::const_str(help),
        );
    }

    pub fn describe_gauge(&self, name: &'static str, help: &'static str) {
        self.recorder.describe_gauge(
            KeyName::from_const_str(name),
            None,
            SharedString::const_str(help),
        );
    }

    pub fn describe_histogram(&self, name: &'static str, unit: Option<Unit>, help: &'static str) {
        self.recorder.describe_histogram(
            KeyName::from_const_str(name),
            unit,
            SharedString::const_str(help),
        );
    }

    pub fn counter(&self, name: &'static str, labels: Labels<'_>) -> Counter {
        self.recorder
            .register_counter(&key(name, labels), &METADATA)
    }

    pub fn gauge(&self, name: &'static str, labels: Labels<'_>) -> Gauge {
        self.recorder.register_gauge(&key(name, labels), &METADATA)
    }

    pub fn histogram(&self, name: &'static str, labels: Labels<'_>) -> Histogram {
        self.recorder
            .register_histogram(&key(name, labels), &METADATA)
    }

    /// A histogram whose label values are not `&'static str` (a route
    /// pattern from the router): copied once, here, when registered.
    /// The caller keeps the values bounded.
    pub fn histogram_for(&self, name: &'static str, labels: &[(&'static str, &str)]) -> Histogram {
        let labels: Vec<Label> = labels
            .iter()
            .map(|(name, value)| Label::new(*name, (*value).to_owned()))
            .collect();
        self.recorder
            .register_histogram(&Key::from_parts(name, labels), &METADATA)
    }

    /// The Prometheus text exposition of everything recorded so far.
    pub fn render(&self) -> String {
        self.recorder.handle().render()
    }

    /// Drains histogram samples into their buckets. Rendering does it too;
    /// a process nobody scrapes must call it now and then, or the samples
    /// pile up ([`Registry::spawn_upkeep`]).
    pub fn run_upkeep(&self) {
        self.recorder.handle().run_upkeep();
    }

    /// Runs [`Registry::run_upkeep`] every 5 seconds on the current runtime.
    pub fn spawn_upkeep(&self) -> tokio::task::JoinHandle<()> {
        let registry = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
            loop {
                every.tick().await;
                registry.run_upkeep();
            }
        })
    }

    /// Makes this registry the process's global recorder (what the
    /// `metrics` macros record into). Only the first call in a process
    /// succeeds: false afterwards.
    pub fn install_global(&self) -> bool {
        metrics::set_global_recorder(self.recorder.clone()).is_ok()
    }
}

static METADATA: metrics::Metadata<'static> =
    metrics::Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

fn key(name: &'static str, labels: Labels<'_>) -> Key {
    if labels.is_empty() {
        return Key::from_static_name(name);
    }
    let labels: Vec<Label> = labels
        .iter()
        .map(|(name, value)| Label::from_static_parts(name, value))
        .collect();
    Key::from_parts(name, labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_what_was_recorded_with_its_labels_and_buckets() {
        let registry = Registry::new(&[("test_seconds", &LATENCY_BUCKETS)]).unwrap();
        registry.describe_counter("test_total", "Things.");
        registry
            .counter("test_total", &[("outcome", "ok")])
            .increment(2);
        registry.histogram("test_seconds", &[]).record(0.003);
        let text = registry.render();
        assert!(text.contains("# HELP test_total Things."), "{text}");
        assert!(text.contains("test_total{outcome=\"ok\"} 2"), "{text}");
        assert!(
            text.contains("test_seconds_bucket{le=\"0.005\"} 1"),
            "{text}"
        );
    }

    #[test]
    fn two_registries_count_apart() {
        let one = Registry::new(&[]).unwrap();
        let two = Registry::new(&[]).unwrap();
        one.counter("apart_total", &[]).increment(1);
        assert!(one.render().contains("apart_total 1"));
        assert!(!two.render().contains("apart_total"));
    }
}
