//! A request's place in its trace: [`continue_trace`] gives the request's
//! span its trace (the caller's, from a `traceparent` the service chose to
//! believe, else a new one) and records `trace_id` on it, so every log
//! line inside has it; [`current_traceparent`] is the header for a call
//! made from inside that span.
//!
//! With the exporter on, the ids are OpenTelemetry's own (the span's
//! parent set to the caller's span, read back from its context); without
//! it they are made here and kept in the span's registry extensions: the
//! same headers and log fields either way, and no exporter code runs.

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::Registry;
use tracing_subscriber::registry::LookupSpan;

use crate::context::{TraceParent, hex, random_id};

/// A span's place in its trace: the trace, the span's own id, and whether
/// the trace is sampled (passed on as the caller said; new traces are).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpanIds {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub sampled: bool,
}

impl SpanIds {
    /// Ids for a new span in `incoming`'s trace, or in a new trace.
    pub fn child_of(incoming: Option<TraceParent>) -> Self {
        Self {
            trace_id: incoming.map_or_else(random_id, |parent| parent.trace_id),
            span_id: random_id(),
            sampled: incoming.is_none_or(|parent| parent.sampled),
        }
    }

    /// The `traceparent` for a call made from this span.
    pub fn traceparent(&self) -> TraceParent {
        TraceParent {
            trace_id: self.trace_id,
            parent_id: self.span_id,
            sampled: self.sampled,
        }
    }

    pub fn trace_id_hex(&self) -> String {
        hex(&self.trace_id)
    }
}

/// Puts `span` (a request's, declared with `trace_id = Empty`) in the
/// trace of `incoming`, or in a new trace; records its `trace_id`.
pub fn continue_trace(span: &Span, incoming: Option<TraceParent>) -> SpanIds {
    continue_trace_with(span, incoming, SpanIds::child_of(incoming))
}

/// [`continue_trace`] with the ids made beforehand (`own`, from
/// [`SpanIds::child_of`]): they are the span's unless the exporter gives
/// it its own, so a caller that kept them can pass the trace on even when
/// the log filter disables the span.
pub fn continue_trace_with(span: &Span, incoming: Option<TraceParent>, own: SpanIds) -> SpanIds {
    let ids = if crate::exporting() {
        exported_ids(span, incoming)
    } else {
        None
    };
    let ids = ids.unwrap_or(own);
    span.record("trace_id", ids.trace_id_hex());
    span.with_subscriber(|(id, dispatch)| {
        if let Some(span) = dispatch
            .downcast_ref::<Registry>()
            .and_then(|registry| registry.span(id))
        {
            span.extensions_mut().insert(ids);
        }
    });
    ids
}

/// OpenTelemetry's ids for `span`, made a child of `incoming`.
fn exported_ids(span: &Span, incoming: Option<TraceParent>) -> Option<SpanIds> {
    if let Some(parent) = incoming {
        let flags = if parent.sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::NOT_SAMPLED
        };
        let remote = SpanContext::new(
            TraceId::from_bytes(parent.trace_id),
            SpanId::from_bytes(parent.parent_id),
            flags,
            true,
            TraceState::default(),
        );
        // Only fails for a span already started or disabled: then it
        // keeps the trace it has.
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
    }
    let context = span.context();
    let own = context.span().span_context().clone();
    own.is_valid().then(|| SpanIds {
        trace_id: own.trace_id().to_bytes(),
        span_id: own.span_id().to_bytes(),
        sampled: own.is_sampled(),
    })
}

/// The ids of the innermost span around the current one that has them.
pub fn current() -> Option<SpanIds> {
    Span::current()
        .with_subscriber(|(id, dispatch)| {
            let registry = dispatch.downcast_ref::<Registry>()?;
            let span = registry.span(id)?;
            span.scope()
                .find_map(|span| span.extensions().get::<SpanIds>().copied())
        })
        .flatten()
}

/// The `traceparent` header value for a call made now, if the current
/// span is in a trace.
pub fn current_traceparent() -> Option<String> {
    current().map(|ids| ids.traceparent().header_value())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_span() -> Span {
        tracing::info_span!("request", trace_id = tracing::field::Empty)
    }

    #[test]
    fn a_callers_trace_is_continued_and_passed_on() {
        tracing::subscriber::with_default(Registry::default(), || {
            let incoming =
                TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
            let span = request_span();
            let ids = continue_trace(&span, incoming);
            assert_eq!(ids.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
            assert_ne!(hex(&ids.span_id), "00f067aa0ba902b7", "a span of its own");
            assert!(!ids.sampled, "the caller's decision is kept");
            let _entered = span.enter();
            let inner = tracing::info_span!("inner");
            let _inner = inner.enter();
            assert_eq!(
                current_traceparent(),
                Some(format!(
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-{}-00",
                    hex(&ids.span_id)
                ))
            );
        });
    }

    #[test]
    fn without_a_caller_a_new_trace_starts() {
        tracing::subscriber::with_default(Registry::default(), || {
            let (first, second) = (request_span(), request_span());
            let (a, b) = (continue_trace(&first, None), continue_trace(&second, None));
            assert_ne!(a.trace_id, b.trace_id);
            assert!(a.sampled);
            assert_eq!(current_traceparent(), None, "outside any request");
        });
    }
}
