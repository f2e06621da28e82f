//! One WebSocket speaking `graphql-transport-ws`: `connection_init` within
//! `WS_INIT_TIMEOUT_SECS` (4408), once (4429), with a valid session token
//! if it names one (4403); no `subscribe` before the ack (4401), no id used
//! twice at once (4409), nothing the protocol does not know (4400), no
//! message over `WS_MAX_MESSAGE_BYTES` (1009). Each subscription runs as its
//! own task feeding this connection's writer; at most
//! `WS_MAX_SUBSCRIPTIONS` at once (one more gets an `error` message).
//! Only subscription operations run here: queries and mutations go over
//! HTTP, where their limits and caching live. Each document passes the same
//! checks as over HTTP (`Endpoint::prepare`).

use std::collections::HashMap;

use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{Request, ServerError};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinSet};

use super::messages::{self, ClientMessage, close};
use crate::auth::RequestAuth;
use crate::cache::ReadTags;
use crate::error::{annotate, set_code};
use crate::graphql::loaders::{loaders, order_loaders};
use crate::http::endpoint::Endpoint;

/// Who opened the connection (from the upgrade request).
pub struct Caller {
    pub token: Option<String>,
    pub user_agent: Option<String>,
    pub client_address: String,
}

/// What a subscription task hands the writer; `serial` tells a finished
/// subscription from a newer one under the same id.
enum Outgoing {
    Text(String),
    Finished { id: String, serial: u64 },
}

/// Counts itself in `bookstore_subscriptions_active` while alive.
struct Active;

impl Active {
    fn new() -> Self {
        metrics::gauge!("bookstore_subscriptions_active").increment(1.0);
        Self
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        metrics::gauge!("bookstore_subscriptions_active").decrement(1.0);
    }
}

struct Connection {
    endpoint: Endpoint,
    caller: Caller,
    /// Set by the ack: the session token the subscriptions act with.
    token: Option<Option<String>>,
    running: HashMap<String, (u64, AbortHandle)>,
    tasks: JoinSet<()>,
    serial: u64,
    outgoing: mpsc::Sender<Outgoing>,
}

/// How the connection ends.
type Closing = (u16, &'static str);

pub async fn run(mut socket: WebSocket, endpoint: Endpoint, caller: Caller, speaks: bool) {
    if !speaks {
        let _ = send_close(
            &mut socket,
            close::SUBPROTOCOL_NOT_ACCEPTABLE,
            "Subprotocol not acceptable",
        )
        .await;
        return;
    }
    let mut closing_switch = endpoint.sockets.closing.subscribe();
    let init_timeout = endpoint.sockets.settings.init_timeout;
    let (outgoing, mut queued) = mpsc::channel(64);
    let mut connection = Connection {
        endpoint,
        caller,
        token: None,
        running: HashMap::new(),
        tasks: JoinSet::new(),
        serial: 0,
        outgoing,
    };
    let init_deadline = tokio::time::sleep(init_timeout);
    tokio::pin!(init_deadline);
    let closing: Closing = loop {
        tokio::select! {
            () = async { let _ = closing_switch.wait_for(|closing| *closing).await; } => {
                break (close::GOING_AWAY, "The server is shutting down");
            }
            () = &mut init_deadline, if connection.token.is_none() => {
                break (close::INIT_TIMEOUT, "Connection initialisation timeout");
            }
            Some(message) = queued.recv() => {
                let text = match message {
                    Outgoing::Text(text) => text,
                    Outgoing::Finished { id, serial } => {
                        if connection.running.get(&id).is_some_and(|(running, _)| *running == serial) {
                            connection.running.remove(&id);
                        }
                        while connection.tasks.try_join_next().is_some() {}
                        continue;
                    }
                };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    return;
                }
            }
            received = socket.recv() => {
                let text = match received {
                    None => return,
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Binary(_))) => break (close::BAD_REQUEST, "Binary messages are not supported"),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_))) => return,
                    Some(Err(error)) => {
                        // The only read error worth answering: a message
                        // over the limit (the socket still writes).
                        let too_big = error.to_string().contains("too long");
                        if too_big {
                            break (close::TOO_BIG, "Message too big");
                        }
                        return;
                    }
                };
                match connection.handle(&text, &mut socket).await {
                    Ok(()) => {}
                    Err(closing) => break closing,
                }
            }
        }
    };
    connection.tasks.abort_all();
    let _ = send_close(&mut socket, closing.0, closing.1).await;
}

async fn send_close(
    socket: &mut WebSocket,
    code: u16,
    reason: &'static str,
) -> Result<(), axum::Error> {
    socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })))
        .await
}

impl Connection {
    async fn handle(&mut self, text: &str, socket: &mut WebSocket) -> Result<(), Closing> {
        let Some(message) = ClientMessage::parse(text) else {
            return Err((close::BAD_REQUEST, "Invalid message received"));
        };
        match message {
            ClientMessage::ConnectionInit { payload } => {
                if self.token.is_some() {
                    return Err((
                        close::TOO_MANY_INITIALISATIONS,
                        "Too many initialisation requests",
                    ));
                }
                let token = messages::init_token(payload.as_ref())
                    .map_err(|()| (close::BAD_REQUEST, "Invalid connection_init payload"))?
                    .or_else(|| self.caller.token.clone());
                if let Some(token) = &token {
                    match self.endpoint.sockets.sessions.resolve(token).await {
                        Ok(Some(_)) => {}
                        Ok(None) => return Err((close::FORBIDDEN, "Forbidden")),
                        Err(error) => {
                            tracing::warn!(%error, "WebSocket connection_init: could not check the session");
                            return Err((close::INTERNAL, "Internal error"));
                        }
                    }
                }
                self.token = Some(token);
                self.send(socket, messages::ack()).await;
            }
            ClientMessage::Ping {} => self.send(socket, messages::pong()).await,
            ClientMessage::Pong {} => {}
            ClientMessage::Complete { id } => {
                if let Some((_, task)) = self.running.remove(&id) {
                    task.abort();
                }
            }
            ClientMessage::Subscribe { id, payload } => {
                let Some(token) = self.token.clone() else {
                    return Err((close::UNAUTHORIZED, "Unauthorized"));
                };
                if self.running.contains_key(&id) {
                    return Err((
                        close::DUPLICATE_SUBSCRIBER,
                        "Subscriber for this id already exists",
                    ));
                }
                let max = self.endpoint.sockets.settings.max_subscriptions;
                if self.running.len() >= max {
                    let message = format!("at most {max} subscriptions per connection");
                    self.refuse(socket, &id, "TOO_MANY_SUBSCRIPTIONS", message)
                        .await;
                    return Ok(());
                }
                match self.prepare(*payload) {
                    Ok(request) => self.start(id, request, token),
                    Err((code, message)) => self.refuse(socket, &id, code, message).await,
                }
            }
        }
        Ok(())
    }

    async fn send(&self, socket: &mut WebSocket, text: String) {
        let _ = socket.send(Message::Text(text.into())).await;
    }

    async fn refuse(&self, socket: &mut WebSocket, id: &str, code: &str, message: String) {
        let mut error = ServerError::new(message, None);
        set_code(&mut error, code);
        self.send(socket, messages::error(id, &[error])).await;
    }

    /// The HTTP checks, and: a subscription operation.
    fn prepare(&self, mut request: Request) -> Result<Request, (&'static str, String)> {
        self.endpoint.prepare(&mut request)?;
        let name = request.operation_name.clone().unwrap_or_default();
        let document = request
            .parsed_query()
            .map_err(|error| ("GRAPHQL_PARSE_FAILED", error.message))?;
        let subscribes = match &document.operations {
            DocumentOperations::Single(operation) => {
                operation.node.ty == OperationType::Subscription
            }
            DocumentOperations::Multiple(operations) => operations
                .get(name.as_str())
                .is_some_and(|operation| operation.node.ty == OperationType::Subscription),
        };
        if !subscribes {
            return Err((
                "BAD_REQUEST",
                "only subscriptions run over WebSocket: send queries and mutations over HTTP"
                    .to_owned(),
            ));
        }
        Ok(request)
    }

    /// Runs one subscription as a task: its first answer with errors and no
    /// data is an `error` message (refused: nothing follows), later ones
    /// are `next`; a stream that ends sends `complete`.
    fn start(&mut self, id: String, request: Request, token: Option<String>) {
        let endpoint = &self.endpoint;
        let auth = RequestAuth::new(
            token,
            self.caller.user_agent.clone(),
            self.caller.client_address.clone(),
        );
        let request = request
            .data(loaders(
                endpoint.db.clone(),
                endpoint.cache.clone(),
                ReadTags::default(),
            ))
            .data(order_loaders(endpoint.db.clone()))
            .data(ReadTags::default())
            .data(auth);
        let schema = endpoint.schema.clone();
        let outgoing = self.outgoing.clone();
        self.serial += 1;
        let serial = self.serial;
        let task_id = id.clone();
        let task = self.tasks.spawn(async move {
            let _active = Active::new();
            let mut stream = std::pin::pin!(schema.execute_stream(request));
            let mut first = true;
            let mut refused = false;
            while let Some(mut response) = stream.next().await {
                for error in &mut response.errors {
                    annotate(error);
                }
                let text = if first
                    && !response.errors.is_empty()
                    && response.data == async_graphql::Value::Null
                {
                    refused = true;
                    messages::error(&task_id, &response.errors)
                } else {
                    messages::next(&task_id, &response)
                };
                first = false;
                if outgoing.send(Outgoing::Text(text)).await.is_err() {
                    return;
                }
                if refused {
                    break;
                }
            }
            if !refused {
                let _ = outgoing
                    .send(Outgoing::Text(messages::complete(&task_id)))
                    .await;
            }
            let _ = outgoing
                .send(Outgoing::Finished {
                    id: task_id,
                    serial,
                })
                .await;
        });
        self.running.insert(id, (serial, task));
    }
}
