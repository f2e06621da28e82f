//! The `/graphql` endpoint's execution: what the routes share
//! ([`Endpoint`]), the response cache around a request (a stored answer to
//! the same bytes, or the ticket to store this one), the document's limits
//! before execution ([`super::query_shape`]: aliases, depth with
//! introspection exempt, mutation fields, introspection when disabled,
//! control characters) and control characters in variables, and whether
//! the answer may be shared (public roots, no viewer asked, no errors).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_graphql::Request;
use axum::body::Bytes;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::caching::etag_of;
use super::client::ClientSettings;
use super::encoding::{encode, request_error, shortened};
use super::negotiation::Media;
use super::parsed_queries::ParsedQueries;
use super::persisted::Persisted;
use super::query_shape::{
    CONTROL_CHARACTERS, MAX_NESTING, Refusal, Shape, ShapeLimits, bracket_nesting,
    control_character_in, measure,
};
use super::ws::sockets::Sockets;
use crate::auth::{RequestAuth, Sessions};
use crate::cache::{Cache, Cached, Lookup, ReadTags, Ticket};
use crate::config::Config;
use crate::db::Db;
use crate::error::annotate;
use crate::graphql::AppSchema;
use crate::graphql::loaders::{loaders, order_loaders};
use crate::metrics::{Metrics, Operation, Outcome};

use super::read_your_writes::SessionWrites;

/// Everything the `/graphql` routes need: the schema, what per-request
/// loaders are built from, the transport's own limits and caches.
#[derive(Clone)]
pub struct Endpoint {
    pub schema: AppSchema,
    pub db: Db,
    pub cache: Cache,
    pub graphiql: bool,
    pub limits: ShapeLimits,
    pub client: ClientSettings,
    pub parsed_queries: Arc<ParsedQueries>,
    pub persisted: Persisted,
    pub metrics: Metrics,
    /// `Cache-Control: max-age` of public `GET` answers.
    pub get_max_age: std::time::Duration,
    /// Resolves a `viewer` query's session before it runs (to find the
    /// viewer's kept answer).
    pub sessions: Sessions,
    /// Read-your-writes with a replica.
    pub writes: SessionWrites,
    /// The WebSockets of subscriptions (`super::ws`).
    pub sockets: Arc<Sockets>,
}

/// Which requests a stored answer may serve: POST bodies and GET query
/// strings are told apart.
pub(super) const POST: u8 = 0;
pub(super) const GET: u8 = 1;
/// A viewer's own answers live apart from shared ones (`VIEWER + space`).
const VIEWER: u8 = 2;

/// A request that may be answered from, and stored in, the response cache.
pub(super) struct Storable {
    space: u8,
    ticket: Ticket,
    request: Bytes,
}

/// An executed request: the HTTP answer, and its `ETag` when it may be
/// shared (a public query that never asked who the viewer is, without
/// errors).
pub(super) struct Answer {
    pub(super) response: Response,
    pub(super) public_etag: Option<String>,
}

impl Endpoint {
    pub fn new(schema: AppSchema, db: Db, cache: Cache, metrics: Metrics, config: &Config) -> Self {
        let sessions = Sessions::new(db.clone(), config);
        Self {
            schema,
            writes: SessionWrites::new(db.clone(), config),
            db: db.clone(),
            persisted: Persisted::new(cache.clone(), &config.persisted),
            cache,
            graphiql: config.graphiql,
            limits: ShapeLimits {
                max_aliases: config.max_aliases,
                max_depth: config.max_depth,
                max_mutations: config.max_mutations,
                introspection: config.introspection,
            },
            client: ClientSettings {
                session_cookie: config.session_cookie.clone(),
                trusted_proxies: config.clients.trusted_proxies.clone(),
            },
            parsed_queries: Arc::new(ParsedQueries::new()),
            metrics,
            get_max_age: config.responses.get_max_age,
            sessions: sessions.clone(),
            sockets: Arc::new(Sockets::new(config.subscriptions.clone(), sessions)),
        }
    }

    /// The response cache's answer to `request` (exact bytes), if any;
    /// otherwise what a miss needs to store the answer.
    pub(super) fn cached(
        &self,
        space: u8,
        request: &Bytes,
    ) -> Result<Arc<Cached>, Option<Storable>> {
        match self.cache.responses().lookup(space, request) {
            Lookup::Hit(cached) => Ok(cached),
            Lookup::Miss(ticket) => Err(Some(Storable {
                space,
                ticket,
                // A copy: the body may be a view into the connection's much
                // larger read buffer, which a stored slice would keep alive
                // (10,000 stored answers held 100 MB more than their size).
                request: Bytes::copy_from_slice(request),
            })),
            Lookup::Bypass => Err(None),
        }
    }

    pub(super) fn answer_cached(
        &self,
        media: Media,
        cached: &Cached,
        started: std::time::Instant,
    ) -> Response {
        self.metrics
            .graphql_request(cached.operation, Outcome::Cached, started.elapsed());
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, media.content_type())],
            cached.body.clone(),
        )
            .into_response()
    }

    /// For a `viewer` query that the shared cache missed: the viewer's own
    /// kept answer to the same request, or what storing this one needs.
    /// Keyed by the user and their data version (read with the session, in
    /// its one statement, which runs anyway): any write to what `viewer`
    /// shows them moves it, so an answer kept before is never found again.
    async fn viewer_cached(
        &self,
        auth: &RequestAuth,
        shared: Storable,
    ) -> Result<Arc<Cached>, Option<Storable>> {
        // Without a session there is nothing of theirs to keep: resolvers
        // will ask (and answer the error, if any) as usual.
        let Ok(Some(viewer)) = auth.viewer(&self.sessions).await else {
            return Err(None);
        };
        let Some(version) = viewer.data_version else {
            return Err(None);
        };
        let mut request = Vec::with_capacity(16 + shared.request.len());
        request.extend_from_slice(&viewer.user_id.to_le_bytes());
        request.extend_from_slice(&version.to_le_bytes());
        request.extend_from_slice(&shared.request);
        let space = VIEWER + shared.space;
        match self.cache.responses().lookup(space, &request) {
            Lookup::Hit(cached) => Ok(cached),
            Lookup::Miss(ticket) => Err(Some(Storable {
                space,
                ticket,
                request: Bytes::from(request),
            })),
            Lookup::Bypass => Err(None),
        }
    }

    /// Parses `request` (once per text and operation: then the parsed-query
    /// cache has it) and checks what the schema cannot: bracket nesting,
    /// the document's shape against the limits, control characters in
    /// variables. Shared by HTTP and WebSocket requests.
    pub(super) fn prepare(&self, request: &mut Request) -> Result<Shape, Refusal> {
        self.measured(request).map_err(|(_, refusal)| refusal)
    }

    /// [`Endpoint::prepare`], with the operation a refusal counts under.
    fn measured(&self, request: &mut Request) -> Result<Shape, (Operation, Refusal)> {
        // async-graphql reuses the parsed document.
        let operation_name = request.operation_name.clone();
        let shape = match self
            .parsed_queries
            .get(&request.query, operation_name.as_deref())
        {
            Some((document, shape)) => {
                request.set_parsed_query(document);
                shape
            }
            None => {
                // Only new texts are scanned: a cached one passed already.
                if bracket_nesting(&request.query) > MAX_NESTING {
                    let message =
                        format!("the query nests brackets deeper than {MAX_NESTING} levels");
                    return Err((Operation::OTHER, ("GRAPHQL_PARSE_FAILED", message)));
                }
                let query = request.query.clone();
                match request.parsed_query() {
                    Ok(document) => {
                        let shape = measure(document, operation_name.as_deref());
                        self.parsed_queries.insert(
                            &query,
                            document,
                            operation_name.as_deref(),
                            shape,
                        );
                        shape
                    }
                    Err(error) => {
                        // The parser's message may quote the whole query.
                        let message = shortened(&error.message);
                        return Err((Operation::OTHER, ("GRAPHQL_PARSE_FAILED", message)));
                    }
                }
            }
        };
        if let Err(refusal) = self.limits.check(&shape) {
            return Err((shape.operation, refusal));
        }
        if let Some(name) = control_character_in(request.variables.iter()) {
            let message = format!("variable `{name}`: {CONTROL_CHARACTERS}");
            return Err((shape.operation, ("BAD_USER_INPUT", message)));
        }
        Ok(shape)
    }

    pub(super) async fn execute(
        &self,
        media: Media,
        mut request: Request,
        auth: RequestAuth,
        mut storable: Option<Storable>,
    ) -> Answer {
        let started = std::time::Instant::now();
        let refused = |response| Answer {
            response,
            public_etag: None,
        };
        let reject = |operation, code, message| {
            refused(self.reject(media, operation, code, message, started))
        };
        let shape = match self.measured(&mut request) {
            Ok(shape) => shape,
            Err((operation, (code, message))) => return reject(operation, code, message),
        };
        let mut kept_for_viewer = None;
        if let Some(shared) = storable.take_if(|_| shape.viewer_only) {
            match self.viewer_cached(&auth, shared).await {
                Ok(cached) => {
                    return Answer {
                        response: self.answer_cached(media, &cached, started),
                        public_etag: None,
                    };
                }
                Err(storable) => kept_for_viewer = storable,
            }
        }
        let tags = ReadTags::default();
        let consulted = auth.consultation();
        let writer = self.writes.writer(&auth, shape.mutation_fields > 0);
        // The statements this request runs, whatever runs beside it.
        let statements = Arc::new(AtomicU64::new(0));
        let db = self
            .writes
            .db_for(&auth)
            .await
            .counting_into(statements.clone());
        let request = request
            .data(loaders(db.clone(), self.cache.clone(), tags.clone()))
            .data(order_loaders(db.clone()))
            .data(db)
            .data(tags.clone())
            .data(auth);
        let mut response = self.schema.execute(request).await;
        if let Some(token) = writer {
            self.writes.record(&token).await;
        }
        for error in &mut response.errors {
            annotate(error);
            let code = error
                .extensions
                .as_ref()
                .and_then(|extensions| extensions.get("code"));
            match code {
                Some(async_graphql::Value::String(code)) => self.metrics.graphql_error(code),
                _ => self.metrics.graphql_error("other"),
            }
        }
        let succeeded = response.errors.is_empty();
        let public = shape.public && succeeded && !consulted.get();
        let outcome = match succeeded {
            true => Outcome::Ok,
            false => Outcome::Error,
        };
        self.metrics
            .graphql_request(shape.operation, outcome, started.elapsed());
        self.metrics
            .statements_per_request(shape.operation, statements.load(Ordering::Relaxed));
        let (status, body) = encode(media, response);
        let public_etag = public.then(|| etag_of(&body));
        if let (Some(etag), Some(storable)) = (&public_etag, storable) {
            self.cache.responses().store(
                storable.ticket,
                storable.request,
                body.clone(),
                etag.clone(),
                shape.operation,
                &tags,
            );
        } else if let (Some(storable), true) = (kept_for_viewer, succeeded) {
            let etag = etag_of(&body);
            let cache = self.cache.responses();
            let (ticket, request) = (storable.ticket, storable.request);
            cache.store(ticket, request, body.clone(), etag, shape.operation, &tags);
        }
        Answer {
            response: (status, [(header::CONTENT_TYPE, media.content_type())], body)
                .into_response(),
            public_etag,
        }
    }

    /// A request error (400, or 200 for `application/json` clients),
    /// counted as a rejected request of `operation` and an error of `code`.
    pub(super) fn reject(
        &self,
        media: Media,
        operation: Operation,
        code: &'static str,
        message: String,
        started: std::time::Instant,
    ) -> Response {
        self.metrics
            .graphql_request(operation, Outcome::Rejected, started.elapsed());
        self.metrics.graphql_error(code);
        request_error(media, code, message)
    }
}
