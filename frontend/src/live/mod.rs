//! Live updates for pages open in a browser with JavaScript: a page's
//! `EventSource` asks the storefront for Server-Sent Events, and the
//! storefront follows a backend subscription for it, as the visitor
//! (`socket`), forwarding each event the page needs.
//!
//! Owns the streams' plumbing: how many may be open at once on this
//! instance (`LIVE_MAX_STREAMS`: one more is a 503), the `retry:` that
//! tells the browser when to come back after a stream ends (the backend
//! went away, shut down, or broke the connection: the stream simply ends
//! and the browser reconnects, asking the backend again who may see what),
//! keep-alive comments every `LIVE_KEEPALIVE_SECS` through proxies, and
//! the headers that keep nginx from buffering. A stream owns its backend
//! socket: when the browser goes away the response body is dropped, and
//! with it the socket (no task is left behind).
//!
//! Never decides who may see an event (the pages ask the backend first,
//! and the backend checks each subscription); imports only `caller` (via
//! `socket`). Pages (`pages::shop::live`, `pages::staff::live`) use it.

mod socket;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream, StreamExt};
use metrics::Gauge;
use serde_json::Value;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

pub use socket::{Ended, Next, Refusal, Subscription, websocket_url};

/// How long after a stream ends the browser reconnects.
pub const RETRY: Duration = Duration::from_secs(5);

/// This instance's live streams: where the backend's WebSocket is, how
/// many streams may be open, how often to send keep-alives.
#[derive(Clone)]
pub struct Live {
    url: Arc<str>,
    streams: Arc<Semaphore>,
    max_streams: usize,
    keepalive: Duration,
    timeout: Duration,
    /// Set on shutdown: every stream ends (graceful shutdown would wait
    /// for them forever) and the browsers reconnect elsewhere.
    closing: Arc<watch::Sender<bool>>,
    /// Streams open now (`bookstore_web_live_streams`).
    gauge: Gauge,
}

/// A place among the open streams, given back (and counted out of the
/// gauge) when dropped.
pub struct Place {
    _permit: OwnedSemaphorePermit,
    gauge: Gauge,
}

impl Drop for Place {
    fn drop(&mut self) {
        self.gauge.decrement(1.0);
    }
}

impl Live {
    /// `graphql_url`: the backend's; `timeout`: how long opening a
    /// subscription may take (the backend timeout); `gauge` counts the
    /// open streams.
    pub fn new(
        graphql_url: &str,
        max_streams: usize,
        keepalive: Duration,
        timeout: Duration,
        gauge: Gauge,
    ) -> Self {
        Self {
            url: Arc::from(websocket_url(graphql_url)),
            streams: Arc::new(Semaphore::new(max_streams)),
            max_streams,
            keepalive,
            timeout,
            closing: Arc::new(watch::channel(false).0),
            gauge,
        }
    }

    /// Ends every open stream (and answers new ones "retry later"): the
    /// server is shutting down.
    pub fn close_all(&self) {
        self.closing.send_replace(true);
    }

    /// Streams open now on this instance.
    pub fn open_streams(&self) -> usize {
        self.max_streams - self.streams.available_permits()
    }

    /// A place for one more stream, if there is one (else answer
    /// [`Live::no_place`]).
    pub fn admit(&self) -> Option<Place> {
        if *self.closing.borrow() {
            return None;
        }
        let permit = self.streams.clone().try_acquire_owned().ok()?;
        self.gauge.increment(1.0);
        Some(Place {
            _permit: permit,
            gauge: self.gauge.clone(),
        })
    }

    /// The answer when [`Live::admit`] found no place: 503 while every
    /// place is taken; while shutting down, "retry" (elsewhere).
    pub fn no_place(&self) -> Response {
        if *self.closing.borrow() {
            self.retry_later()
        } else {
            busy()
        }
    }

    /// Opens a subscription to `operation` as the visitor with `session`.
    /// Must run in the page request's task.
    pub async fn subscribe(
        &self,
        session: Option<&str>,
        operation: &impl serde::Serialize,
    ) -> Result<Subscription, Refusal> {
        Subscription::open(&self.url, session, operation, self.timeout).await
    }

    /// The event stream: `first` (the current state, if the page may have
    /// missed it), then an event for each of the subscription's data that
    /// `event` turns into one; ends when the subscription does.
    pub fn stream(
        &self,
        place: Place,
        subscription: Subscription,
        first: Option<Event>,
        event: impl Fn(Value) -> Option<Event> + Send + 'static,
    ) -> Response {
        let silence = self.keepalive;
        let closing = self.closing.subscribe();
        let opening = stream::iter(std::iter::once(Event::default().retry(RETRY)).chain(first));
        let state = Some((subscription, place, event, closing));
        let events = stream::unfold(state, move |state| async move {
            let (mut subscription, place, event, mut closing) = state?;
            loop {
                let next = tokio::select! {
                    next = subscription.next(silence) => next,
                    () = shutdown(&mut closing) => Next::Ended(Ended::Closed(1001)),
                };
                match next {
                    Next::Data(data) => {
                        if let Some(sent) = event(data) {
                            return Some((sent, Some((subscription, place, event, closing))));
                        }
                    }
                    Next::Ended(ended) => {
                        log_end(&ended);
                        // The browser reconnects after `retry`, asking the
                        // backend afresh; the socket and the place go now.
                        drop((subscription, place));
                        return None;
                    }
                }
            }
        });
        self.respond(opening.chain(events))
    }

    /// A stream that only says when to come back: the backend could not be
    /// reached, and the browser retries after [`RETRY`].
    pub fn retry_later(&self) -> Response {
        self.respond(stream::iter([Event::default()
            .retry(RETRY)
            .comment("the backend is unavailable, retrying")]))
    }

    fn respond(&self, events: impl Stream<Item = Event> + Send + 'static) -> Response {
        let sse = Sse::new(events.map(Ok::<Event, Infallible>))
            .keep_alive(KeepAlive::new().interval(self.keepalive).text("keep-alive"));
        let mut response = sse.into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        // nginx passes each event on as it comes (see its configuration).
        headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
        response
    }
}

/// Resolves once the server is shutting down.
async fn shutdown(closing: &mut watch::Receiver<bool>) {
    if closing.wait_for(|closing| *closing).await.is_err() {
        // The state is gone without a shutdown: nothing to wait for.
        std::future::pending::<()>().await;
    }
}

fn log_end(ended: &Ended) {
    match ended {
        Ended::Refused | Ended::Completed => {
            tracing::debug!(?ended, "live updates: the backend ended the subscription");
        }
        Ended::Closed(1000 | 1001) => {
            tracing::info!(?ended, "live updates: the backend closed the subscription");
        }
        Ended::Closed(_) | Ended::Lost => {
            tracing::warn!(?ended, "live updates: the backend connection ended");
        }
    }
}

/// Every live stream of this instance is taken.
fn busy() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, HeaderValue::from_static("30"))],
        "Too many live updates are open; the page still works without them.",
    )
        .into_response()
}

/// A plain refusal (the `EventSource` stops; the page works as it is).
pub fn refuse(status: StatusCode) -> Response {
    (status, status.canonical_reason().unwrap_or_default()).into_response()
}

/// An event named `name` carrying `data` as JSON.
pub fn json_event(name: &'static str, data: &impl serde::Serialize) -> Option<Event> {
    Event::default().event(name).json_data(data).ok()
}
