//! The `/graphql` endpoint's execution: what the routes share
//! ([`Endpoint`]), the response cache around a request (a stored answer to
//! the same bytes, or the ticket to store this one), the document's limits
//! before execution ([`super::query_shape`]: aliases, depth with
//! introspection exempt, mutation fields, introspection when disabled,
//! control characters) and control characters in variables, and whether
//! the answer may be shared (public roots, no viewer asked, no errors).

use std::sync::Arc;

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
use crate::metrics::Metrics;

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
    /// The WebSockets of subscriptions (`super::ws`).
    pub sockets: Arc<Sockets>,
}

/// Which requests a stored answer may serve: POST bodies and GET query
/// strings are told apart.
pub(super) const POST: u8 = 0;
pub(super) const GET: u8 = 1;

/// A request that may be answered from, and stored in, the response cache.
pub(super) struct Storable {
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
            db,
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
        self.metrics.graphql_request(started.elapsed());
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, media.content_type())],
            cached.body.clone(),
        )
            .into_response()
    }

    /// Parses `request` (once per text and operation: then the parsed-query
    /// cache has it) and checks what the schema cannot: bracket nesting,
    /// the document's shape against the limits, control characters in
    /// variables. Shared by HTTP and WebSocket requests.
    pub(super) fn prepare(&self, request: &mut Request) -> Result<Shape, Refusal> {
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
                    return Err(("GRAPHQL_PARSE_FAILED", message));
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
                        return Err(("GRAPHQL_PARSE_FAILED", shortened(&error.message)));
                    }
                }
            }
        };
        self.limits.check(&shape)?;
        if let Some(name) = control_character_in(request.variables.iter()) {
            let message = format!("variable `{name}`: {CONTROL_CHARACTERS}");
            return Err(("BAD_USER_INPUT", message));
        }
        Ok(shape)
    }

    pub(super) async fn execute(
        &self,
        media: Media,
        mut request: Request,
        auth: RequestAuth,
        storable: Option<Storable>,
    ) -> Answer {
        let started = std::time::Instant::now();
        let refused = |response| Answer {
            response,
            public_etag: None,
        };
        let shape = match self.prepare(&mut request) {
            Ok(shape) => shape,
            Err((code, message)) => return refused(request_error(media, code, message)),
        };
        let tags = ReadTags::default();
        let consulted = auth.consultation();
        let request = request
            .data(loaders(self.db.clone(), self.cache.clone(), tags.clone()))
            .data(order_loaders(self.db.clone()))
            .data(tags.clone())
            .data(auth);
        let mut response = self.schema.execute(request).await;
        for error in &mut response.errors {
            annotate(error);
        }
        let public = shape.public && response.errors.is_empty() && !consulted.get();
        self.metrics.graphql_request(started.elapsed());
        let (status, body) = encode(media, response);
        let public_etag = public.then(|| etag_of(&body));
        if let (Some(etag), Some(storable)) = (&public_etag, storable) {
            self.cache.responses().store(
                storable.ticket,
                storable.request,
                body.clone(),
                etag.clone(),
                &tags,
            );
        }
        Answer {
            response: (status, [(header::CONTENT_TYPE, media.content_type())], body)
                .into_response(),
            public_etag,
        }
    }
}
