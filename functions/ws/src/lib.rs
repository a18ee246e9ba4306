//! The WebSocket function: `$connect`, `$disconnect`, and the client actions of
//! ARCHITECTURE.md §4 — `subscribe` (replay stored events after `after_seq`, then
//! `replay_complete`, then live events via the broadcaster), `unsubscribe`, `ping`.
//! Everything it sends goes through the [`EventPusher`] port, so the same code answers on
//! API Gateway and on the local gateway.

#[cfg(feature = "lambda")]
pub mod config;

#[cfg(feature = "lambda")]
pub mod apigw;

use serde::{Deserialize, Serialize};
use zts_domain::clock;
use zts_domain::ids::{ConnectionId, Owner, ProjectId};
use zts_domain::ports::{
    ConnectionRecord, ConnectionSlots, ConnectionStore, EventPusher, ProjectStore, PushError,
    StoreError,
};

/// How many projects one connection may follow.
pub const MAX_SUBSCRIPTIONS: usize = 10;
/// The largest client message read (API Gateway's frame limit is 32 KB; ours are tiny).
pub const MAX_CLIENT_MESSAGE_BYTES: usize = 4 * 1024;
/// API Gateway closes a connection at 2 hours of age; the record lives as long.
pub const CONNECTION_TTL_SECONDS: i64 = zts_apigw::MAX_CONNECTION_AGE.as_secs() as i64;
const REPLAY_PAGE: u32 = 500;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    Subscribe {
        project_id: String,
        #[serde(default)]
        after_seq: u64,
    },
    Unsubscribe {
        project_id: String,
    },
    Ping,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ServerMessage {
    ReplayComplete {
        project_id: ProjectId,
        last_seq: u64,
    },
    Unsubscribed {
        project_id: ProjectId,
    },
    Pong,
    Error {
        error: WsError,
    },
}

impl ServerMessage {
    #[allow(
        clippy::expect_used,
        reason = "server messages are strings and numbers: they always serialise"
    )]
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("server messages serialise")
    }
}

/// An error frame: the connection stays open and usable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct WsError {
    pub code: String,
    pub message: String,
}

impl WsError {
    fn new(code: &str, message: impl Into<String>) -> Self {
        WsError {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// Parses a client message; every refusal says what was wrong and what is accepted.
pub fn parse(text: &str) -> Result<ClientMessage, WsError> {
    if text.len() > MAX_CLIENT_MESSAGE_BYTES {
        return Err(WsError::new(
            "message_too_large",
            format!("messages are at most {MAX_CLIENT_MESSAGE_BYTES} bytes"),
        ));
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        WsError::new(
            "malformed_json",
            format!("the message is not valid JSON: {e}"),
        )
    })?;
    match value.get("action").and_then(|a| a.as_str()) {
        Some("subscribe" | "unsubscribe" | "ping") => {}
        Some(other) => {
            return Err(WsError::new(
                "unknown_action",
                format!("unknown action {other:?}; use subscribe, unsubscribe or ping"),
            ));
        }
        None => {
            return Err(WsError::new(
                "invalid_message",
                "a message needs an \"action\": subscribe, unsubscribe or ping",
            ));
        }
    }
    serde_json::from_value(value).map_err(|e| WsError::new("invalid_message", format!("{e}")))
}

/// `$connect`: records the connection for its owner.
pub async fn connect<C: ConnectionStore + ?Sized>(
    connections: &C,
    id: &ConnectionId,
    owner: &Owner,
    endpoint: &str,
) -> Result<(), StoreError> {
    let now = clock::now();
    connections
        .put_connection(ConnectionRecord {
            connection_id: id.clone(),
            owner: owner.clone(),
            endpoint: endpoint.to_string(),
            connected_at: now,
            subscriptions: Vec::new(),
            ttl: now.timestamp() + CONNECTION_TTL_SECONDS,
        })
        .await?;
    zts_domain::metrics::connection_opened();
    Ok(())
}

/// `$disconnect`: frees the owner's connection slot (claimed by the `$connect`
/// authorizer), then removes the connection and every subscription it had. A slot that
/// cannot be freed expires on its own, so that failure is logged, not fatal.
pub async fn disconnect<C: ConnectionStore + ConnectionSlots + ?Sized>(
    connections: &C,
    id: &ConnectionId,
) -> Result<(), StoreError> {
    if let Some(record) = connections.get_connection(id).await?
        && let Err(e) = connections.release_slot(&record.owner, id).await
    {
        tracing::warn!(error = %e, connection_id = %id, "could not free a connection slot; it expires on its own");
    }
    connections.delete_connection(id).await
}

/// Why a message could not be handled at all (the store failed, or the connection went).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fatal {
    Store(StoreError),
    Push(PushError),
}

impl From<StoreError> for Fatal {
    fn from(e: StoreError) -> Self {
        Fatal::Store(e)
    }
}

impl From<PushError> for Fatal {
    fn from(e: PushError) -> Self {
        Fatal::Push(e)
    }
}

/// The error code of an action the server could not complete (its store did not answer):
/// nothing was done, and repeating the action is safe (asyncapi.json).
pub const UNAVAILABLE: &str = "unavailable";

/// Handles one client message as [`on_message`] does, and answers a store failure with an
/// `unavailable` error frame (logged once, counted as an error answered) rather than
/// failing: the local gateway and the deployed function both answer through here, so a
/// client sees one answer on either. What is left is a push failure: the connection is
/// going, or API Gateway refused the post.
pub async fn answer<P, C, E>(
    projects: &P,
    connections: &C,
    pusher: &E,
    id: &ConnectionId,
    text: &str,
) -> Result<(), PushError>
where
    P: ProjectStore + ?Sized,
    C: ConnectionStore + ?Sized,
    E: EventPusher + ?Sized,
{
    match on_message(projects, connections, pusher, id, text).await {
        Ok(()) => Ok(()),
        Err(Fatal::Push(e)) => Err(e),
        Err(Fatal::Store(e)) => {
            tracing::error!(error = %e, connection_id = %id, "a WebSocket action failed");
            zts_domain::metrics::error_answered(UNAVAILABLE);
            let error = WsError::new(
                UNAVAILABLE,
                "the server could not complete that action; nothing was done: send it again",
            );
            pusher
                .push(id, &ServerMessage::Error { error }.to_json())
                .await
        }
    }
}

/// Handles one client message. Client mistakes are answered with an error frame and
/// `Ok`; only store or push failures are `Err`.
pub async fn on_message<P, C, E>(
    projects: &P,
    connections: &C,
    pusher: &E,
    id: &ConnectionId,
    text: &str,
) -> Result<(), Fatal>
where
    P: ProjectStore + ?Sized,
    C: ConnectionStore + ?Sized,
    E: EventPusher + ?Sized,
{
    let reply = |m: ServerMessage| async move { pusher.push(id, &m.to_json()).await };
    let message = match parse(text) {
        Ok(m) => m,
        Err(error) => return Ok(reply(ServerMessage::Error { error }).await?),
    };
    let Some(connection) = connections.get_connection(id).await? else {
        return Err(Fatal::Push(PushError::Gone));
    };
    match message {
        ClientMessage::Ping => reply(ServerMessage::Pong).await?,
        ClientMessage::Unsubscribe { project_id } => {
            let Some(project_id) = ProjectId::parse(&project_id) else {
                return Ok(reply(not_found()).await?);
            };
            connections.unsubscribe(id, &project_id).await?;
            reply(ServerMessage::Unsubscribed { project_id }).await?;
        }
        ClientMessage::Subscribe {
            project_id,
            after_seq,
        } => {
            let owned = match ProjectId::parse(&project_id) {
                Some(pid) => projects
                    .get_meta(&pid)
                    .await?
                    .filter(|m| m.owner == connection.owner && !m.is_gone(clock::now()))
                    .map(|_| pid),
                None => None,
            };
            // Someone else's project is "not found", exactly like a missing one.
            let Some(project_id) = owned else {
                return Ok(reply(not_found()).await?);
            };
            if connection.subscriptions.len() >= MAX_SUBSCRIPTIONS
                && !connection.subscriptions.contains(&project_id)
            {
                return Ok(reply(ServerMessage::Error {
                    error: WsError::new("too_many_subscriptions", format!("a connection may follow at most {MAX_SUBSCRIPTIONS} projects; unsubscribe from one first")),
                })
                .await?);
            }
            // Register first (without a delivery mark), then replay, then set the mark:
            // the broadcaster waits while there is none and then pushes only what is
            // above it, so every event arrives once, in order, after the replay
            // (ARCHITECTURE.md §2).
            connections.subscribe(id, &project_id).await?;
            zts_domain::metrics::subscribed();
            let mut last_seq = after_seq;
            loop {
                let page = projects
                    .events_after(&project_id, last_seq, REPLAY_PAGE)
                    .await?;
                for event in &page {
                    pusher.push(id, &event.to_json()).await?;
                    last_seq = event.seq;
                }
                if page.len() < REPLAY_PAGE as usize {
                    break;
                }
            }
            reply(ServerMessage::ReplayComplete {
                project_id: project_id.clone(),
                last_seq,
            })
            .await?;
            // `false`: the connection subscribed again meanwhile (that replay sets its
            // own mark) or went; either way nothing more is ours to do.
            connections
                .mark_delivered(id, &project_id, None, last_seq)
                .await?;
        }
    }
    Ok(())
}

fn not_found() -> ServerMessage {
    ServerMessage::Error {
        error: WsError::new("not_found", "no such project (or it is not yours)"),
    }
}
