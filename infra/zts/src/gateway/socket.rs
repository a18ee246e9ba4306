//! The WebSocket endpoints: `/ws` (subscribe with messages) and `/ws/projects/{id}` (the
//! original ZeroToShip path, subscribed at once from seq 0). The protocol itself is the
//! `ws` function's code; this is the transport API Gateway provides on AWS.

use super::sequencer::Sequencer;
use super::{CloseReason, Gateway, Mailbox, Outgoing};
use crate::server::{ConnectionCount, ConnectionGuard};
use api::Caller;
use api::envelope::Failure;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::Response;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use ws::{ClientMessage, ServerMessage, WsError};
use zts_domain::error::{AppError, ErrorCode};
use zts_domain::ids::{ConnectionId, Owner};
use zts_domain::ports::EventPusher;
use zts_embedded::{EmbeddedStore, LiveConnections};

/// How long a closing connection may take to receive its close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

use zts_apigw::quotas::{IDLE_TIMEOUT, MAX_CONNECTION_AGE, MAX_FRAME_BYTES};

/// The chunk each connection reads into. tungstenite allocates it up front per connection
/// (128 KiB by default, most of an idle connection's memory); client messages are small
/// (a subscribe is under 200 bytes), and a larger frame is still read, in more chunks.
/// README "Hardening" states the memory per idle connection this gives.
const READ_BUFFER_BYTES: usize = 4 * 1024;

#[derive(Clone)]
pub struct SocketState {
    pub store: Arc<EmbeddedStore>,
    /// This process's connections and subscriptions (in memory: they die with it).
    pub connections: Arc<LiveConnections>,
    pub gateway: Arc<Gateway>,
    pub shutdown: watch::Receiver<bool>,
    /// Recorded as each connection's push endpoint (this server's management API).
    pub endpoint: String,
    pub limits: SocketLimits,
    pub owners: OwnerSlots,
    /// Open connections, for the server's cap: an upgraded connection leaves hyper's count.
    pub open: ConnectionCount,
}

/// The limits API Gateway puts on a WebSocket, plus one per owner (README "Hardening").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketLimits {
    /// Open connections one owner may have; one more is refused with 429 before the upgrade.
    pub per_owner: usize,
    /// A connection the client sends nothing on for this long is closed (1001).
    pub idle: Duration,
    /// A connection is closed at this age (1001), whatever it does.
    pub max_age: Duration,
}

impl Default for SocketLimits {
    /// API Gateway's 10-minute idle timeout and 2-hour maximum; 25 per owner fits a client
    /// with a few tabs and workers open.
    fn default() -> Self {
        SocketLimits {
            per_owner: zts_domain::slots::DEFAULT_PER_OWNER,
            idle: IDLE_TIMEOUT,
            max_age: MAX_CONNECTION_AGE,
        }
    }
}

/// Open WebSocket connections per owner. A slot is claimed before the upgrade (so
/// concurrent connects cannot overshoot) and freed when its guard drops.
#[derive(Debug, Clone, Default)]
pub struct OwnerSlots(Arc<Mutex<HashMap<Owner, usize>>>);

pub struct OwnerSlot {
    slots: OwnerSlots,
    owner: Owner,
}

impl OwnerSlots {
    fn claim(&self, owner: &Owner, max: usize) -> Option<OwnerSlot> {
        let mut open = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(owner.clone()).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(OwnerSlot {
            slots: self.clone(),
            owner: owner.clone(),
        })
    }
}

impl Drop for OwnerSlot {
    fn drop(&mut self) {
        let mut open = self.slots.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.owner) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.owner);
            }
        }
    }
}

pub async fn root(
    State(state): State<SocketState>,
    caller: Caller,
    upgrade: WebSocketUpgrade,
) -> Result<Response, Failure> {
    let slot = claim(&state, &caller.owner)?;
    Ok(limits(upgrade).on_upgrade(move |socket| serve(state, caller.owner, socket, None, slot)))
}

pub async fn project(
    State(state): State<SocketState>,
    caller: Caller,
    Path(id): Path<String>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, Failure> {
    let slot = claim(&state, &caller.owner)?;
    Ok(
        limits(upgrade)
            .on_upgrade(move |socket| serve(state, caller.owner, socket, Some(id), slot)),
    )
}

/// The owner's slot, or 429 in the error shape: on AWS the authorizer's Deny (403) says the
/// same at the handshake (README "Hardening").
fn claim(state: &SocketState, owner: &Owner) -> Result<OwnerSlot, Failure> {
    let max = state.limits.per_owner;
    state.owners.claim(owner, max).ok_or_else(|| {
        zts_domain::metrics::connection_refused();
        Failure(
            AppError::new(
                ErrorCode::RateLimited,
                format!(
                    "this key's owner already has {max} open WebSocket connections, the most \
                     allowed; close one and connect again"
                ),
            )
            .with_retry_after(5),
        )
    })
}

fn limits(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .max_message_size(ws::MAX_CLIENT_MESSAGE_BYTES * 2)
}

async fn serve(
    state: SocketState,
    owner: Owner,
    socket: WebSocket,
    initial: Option<String>,
    _slot: OwnerSlot,
) {
    let _open: ConnectionGuard = state.open.hold();
    let id = ConnectionId::generate();
    let (mut sink, mut stream) = socket.split();
    if let Err(e) = ws::connect(&*state.connections, &id, &owner, &state.endpoint).await {
        tracing::error!(error = %e, "could not record a connection");
        let _ = sink
            .send(close_message(&CloseReason {
                code: 1011,
                reason: "the server could not register the connection".into(),
            }))
            .await;
        return;
    }
    let mailbox = state.gateway.register(&id);
    let mut writer = tokio::spawn(write_loop(sink, mailbox, state.shutdown.clone()));
    if let Some(project) = initial {
        let subscribe =
            serde_json::json!({"action": "subscribe", "project_id": project, "after_seq": 0})
                .to_string();
        handle_text(&state, &id, &subscribe).await;
    }
    let opened = Instant::now();
    let mut last_heard = opened;
    loop {
        let idle_at = last_heard + state.limits.idle;
        let too_old_at = opened + state.limits.max_age;
        tokio::select! {
            _ = &mut writer => break,
            _ = tokio::time::sleep_until(idle_at.min(too_old_at)) => {
                let reason = if too_old_at <= idle_at {
                    format!("the connection reached the {} s maximum age; reconnect", state.limits.max_age.as_secs())
                } else {
                    format!("nothing received for {} s; reconnect", state.limits.idle.as_secs())
                };
                state.gateway.close(&id, CloseReason { code: 1001, reason });
                let _ = tokio::time::timeout(CLOSE_GRACE, &mut writer).await;
                break;
            }
            message = stream.next() => { last_heard = Instant::now(); match message {
                Some(Ok(Message::Text(text))) => handle_text(&state, &id, text.as_str()).await,
                Some(Ok(Message::Binary(_))) => {
                    let error = WsError { code: "unsupported_frame".into(), message: "send JSON text frames".into() };
                    let _ = state.gateway.push(&id, &ServerMessage::Error { error }.to_json()).await;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
            }},
        }
    }
    if let Err(e) = ws::disconnect(&*state.connections, &id).await {
        tracing::warn!(error = %e, connection_id = %id, "could not remove a connection");
    }
    state.gateway.unregister(&id);
    if !writer.is_finished() {
        // Give the writer a moment to flush a close frame, then stop it.
        if tokio::time::timeout(CLOSE_GRACE, &mut writer)
            .await
            .is_err()
        {
            writer.abort();
        }
    }
}

async fn handle_text(state: &SocketState, id: &ConnectionId, text: &str) {
    let parsed = ws::parse(text).ok();
    if let Some(ClientMessage::Subscribe {
        project_id,
        after_seq,
    }) = &parsed
    {
        let _ = state.gateway.enqueue(
            id,
            Outgoing::Baseline {
                project: project_id.clone(),
                after_seq: *after_seq,
            },
        );
    }
    // A push failure means the connection is going away: nothing more to answer.
    let _ = ws::answer(
        &*state.store,
        &*state.connections,
        &*state.gateway,
        id,
        text,
    )
    .await;
    if let Some(ClientMessage::Unsubscribe { project_id }) = parsed {
        let _ = state.gateway.enqueue(
            id,
            Outgoing::Forget {
                project: project_id,
            },
        );
    }
}

fn close_message(reason: &CloseReason) -> Message {
    Message::Close(Some(CloseFrame {
        code: reason.code,
        reason: reason.reason.clone().into(),
    }))
}

async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut mailbox: Mailbox,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut sequencer = Sequencer::default();
    let close = 'run: loop {
        tokio::select! {
            biased;
            reason = &mut mailbox.kill => break reason.ok(),
            _ = shutdown.changed() => break Some(CloseReason { code: 1001, reason: "the server is shutting down".into() }),
            item = mailbox.queue.recv() => match item {
                None => break None,
                Some(Outgoing::Baseline { project, after_seq }) => sequencer.baseline(&project, after_seq),
                Some(Outgoing::Forget { project }) => sequencer.forget(&project),
                Some(Outgoing::Binary(bytes)) => {
                    tokio::select! {
                        sent = sink.send(Message::Binary(bytes.into())) => if sent.is_err() { break 'run None },
                        reason = &mut mailbox.kill => break 'run reason.ok(),
                    }
                }
                Some(Outgoing::Message(message)) => {
                    for text in sequencer.accept(message) {
                        // A send blocked on a consumer that does not read must not outlive a kill.
                        tokio::select! {
                            sent = sink.send(Message::Text(text.into())) => if sent.is_err() { break 'run None },
                            reason = &mut mailbox.kill => break 'run reason.ok(),
                        }
                    }
                }
            },
        }
    };
    if let Some(reason) = close {
        // The close frame queues behind what the client has not read yet: give a slow
        // (not dead) client a few seconds to drain and learn why it was dropped.
        let _ = tokio::time::timeout(CLOSE_GRACE, sink.send(close_message(&reason))).await;
    }
}
