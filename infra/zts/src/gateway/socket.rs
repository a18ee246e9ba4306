//! The WebSocket endpoints: `/ws` (subscribe with messages) and `/ws/projects/{id}` (the
//! original ZeroToShip path, subscribed at once from seq 0). The protocol itself is the
//! `ws` function's code; this is the transport API Gateway provides on AWS.

use super::sequencer::Sequencer;
use super::{CloseReason, Gateway, Mailbox, Outgoing};
use api::Caller;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::Response;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use ws::{ClientMessage, Fatal, ServerMessage, WsError};
use zts_domain::ids::{ConnectionId, Owner};
use zts_domain::ports::EventPusher;
use zts_embedded::EmbeddedStore;

/// How long a closing connection may take to receive its close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// API Gateway's frame limit.
const MAX_FRAME_BYTES: usize = 32 * 1024;

#[derive(Clone)]
pub struct SocketState {
    pub store: Arc<EmbeddedStore>,
    pub gateway: Arc<Gateway>,
    pub shutdown: watch::Receiver<bool>,
    /// Recorded as each connection's push endpoint (this server's management API).
    pub endpoint: String,
}

pub async fn root(
    State(state): State<SocketState>,
    caller: Caller,
    upgrade: WebSocketUpgrade,
) -> Response {
    limits(upgrade).on_upgrade(move |socket| serve(state, caller.owner, socket, None))
}

pub async fn project(
    State(state): State<SocketState>,
    caller: Caller,
    Path(id): Path<String>,
    upgrade: WebSocketUpgrade,
) -> Response {
    limits(upgrade).on_upgrade(move |socket| serve(state, caller.owner, socket, Some(id)))
}

fn limits(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade
        .max_frame_size(MAX_FRAME_BYTES)
        .max_message_size(ws::MAX_CLIENT_MESSAGE_BYTES * 2)
}

async fn serve(state: SocketState, owner: Owner, socket: WebSocket, initial: Option<String>) {
    let id = ConnectionId::generate();
    let (mut sink, mut stream) = socket.split();
    if let Err(e) = ws::connect(&*state.store, &id, &owner, &state.endpoint).await {
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
    loop {
        tokio::select! {
            _ = &mut writer => break,
            message = stream.next() => match message {
                Some(Ok(Message::Text(text))) => handle_text(&state, &id, text.as_str()).await,
                Some(Ok(Message::Binary(_))) => {
                    let error = WsError { code: "unsupported_frame".into(), message: "send JSON text frames".into() };
                    let _ = state.gateway.push(&id, &ServerMessage::Error { error }.to_json()).await;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
            },
        }
    }
    if let Err(e) = ws::disconnect(&*state.store, &id).await {
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
    match ws::on_message(&*state.store, &*state.store, &*state.gateway, id, text).await {
        Ok(()) => {}
        Err(Fatal::Push(_)) => {} // the connection is going away
        Err(Fatal::Store(e)) => {
            tracing::error!(error = %e, connection_id = %id, "a WebSocket action failed");
            let error = WsError {
                code: "unavailable".into(),
                message: "the server could not complete that action; retry".into(),
            };
            let _ = state
                .gateway
                .push(id, &ServerMessage::Error { error }.to_json())
                .await;
        }
    }
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
