//! Following a project's run over the WebSocket, as the browser page does: a new ticket
//! per connection, the URL the ticket names (a deployment's one WebSocket URL, or the
//! local gateway's), `subscribe` with `after_seq` = the last seq seen, so a reconnect
//! resumes and nothing is handled twice; back-off with full jitter between tries, and a
//! ping every 4 minutes under API Gateway's 10-minute idle limit. A subscribe the server
//! could not complete ([`transient`]) is made again the same way.

use super::{Client, ClientError};
use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use zts_domain::project::State;

const PING_EVERY: Duration = Duration::from_secs(240);
const BACKOFF_FIRST: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// Tries in a row without a completed replay before giving up (about a minute).
const MAX_TRIES: u32 = 8;

/// What following reports besides events.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    /// Subscribed and caught up to this seq.
    Live { last_seq: u64 },
    /// The connection went; trying again after this long.
    Reconnecting { after: Duration, reason: String },
}

/// Whether an event ends the run: a terminal status, or the project's deletion.
pub fn is_terminal(event: &Value) -> bool {
    event["event"] == "project_deleted"
        || (event["event"] == "status_update"
            && serde_json::from_value::<State>(event["state"].clone())
                .is_ok_and(|s| s.is_terminal()))
}

/// The wait before try `tries + 1` (`tries` ≥ 1 have failed): full jitter under a ceiling
/// that doubles from `first` up to `max`.
pub(crate) fn full_jitter(first: Duration, max: Duration, tries: u32) -> Duration {
    let ceiling = first
        .saturating_mul(1 << tries.saturating_sub(1).min(16))
        .min(max);
    rand::rng().random_range(Duration::ZERO..=ceiling)
}

/// A failure the server had rather than a refusal of what the client sent, with its
/// message (asyncapi.json): the `unavailable` error code, or API Gateway's own frame for a
/// failed integration (AWS), which has no `event` and names no action.
pub fn transient(frame: &Value) -> Option<&str> {
    match frame["event"].as_str() {
        Some("error") if frame["error"]["code"] == "unavailable" => {
            frame["error"]["message"].as_str()
        }
        None => frame["message"].as_str(),
        Some(_) => None,
    }
}

/// Follows `project_id` from `after_seq` until its run ends; each event goes to `on_event`
/// once, in seq order. Returns the last event (the terminal `status_update`). In the
/// replay a terminal status ends the follow only if nothing comes after it (a retried
/// project's FAILED is followed by its new run); live, it ends it at once.
pub async fn follow(
    client: &Client,
    project_id: &str,
    after_seq: u64,
    mut on_event: impl FnMut(&Value),
    mut on_note: impl FnMut(Note),
) -> Result<Value, ClientError> {
    let mut last_seq = after_seq;
    let mut tries = 0;
    loop {
        let reason = match connection(
            client,
            project_id,
            &mut last_seq,
            &mut on_event,
            &mut on_note,
        )
        .await
        {
            Ok(Ended::Run(event)) => return Ok(event),
            Ok(Ended::Dropped { caught_up, reason }) => {
                if caught_up {
                    tries = 0;
                }
                reason
            }
            Err(Retry::Fatal(e)) => return Err(e),
            Err(Retry::Again(reason)) => reason,
        };
        tries += 1;
        if tries >= MAX_TRIES {
            return Err(ClientError::Disconnected {
                url: client.endpoint().to_string(),
                attempts: tries,
                reason,
            });
        }
        let after = full_jitter(BACKOFF_FIRST, BACKOFF_MAX, tries);
        on_note(Note::Reconnecting { after, reason });
        tokio::time::sleep(after).await;
    }
}

enum Ended {
    Run(Value),
    Dropped { caught_up: bool, reason: String },
}

enum Retry {
    Fatal(ClientError),
    Again(String),
}

/// One connection: ticket, connect, subscribe, read until the run ends or the socket goes.
async fn connection(
    client: &Client,
    project_id: &str,
    last_seq: &mut u64,
    on_event: &mut impl FnMut(&Value),
    on_note: &mut impl FnMut(Note),
) -> Result<Ended, Retry> {
    let ticket = client.ticket().await.map_err(|e| match e {
        ClientError::Unreachable { reason, .. } => Retry::Again(reason),
        other => Retry::Fatal(other),
    })?;
    let url = ticket["websocket_url"].as_str().ok_or_else(|| {
        Retry::Fatal(ClientError::Refused(
            "the ticket had no websocket_url".into(),
        ))
    })?;
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .map_err(|e| Retry::Again(format!("connect: {e}")))?;
    let subscribe =
        json!({"action": "subscribe", "project_id": project_id, "after_seq": *last_seq});
    socket
        .send(Message::text(subscribe.to_string()))
        .await
        .map_err(|e| Retry::Again(format!("subscribe: {e}")))?;
    let mut caught_up = false;
    // A terminal status seen in the replay ends the follow only if it is the newest event:
    // a FAILED run may have been retried since, and the new run's events follow it.
    let mut ended_in_replay: Option<Value> = None;
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    loop {
        let frame = tokio::select! {
            frame = socket.next() => frame,
            _ = ping.tick() => {
                let ping = json!({"action": "ping"}).to_string();
                if let Err(e) = socket.send(Message::text(ping)).await {
                    return Ok(Ended::Dropped { caught_up, reason: format!("ping: {e}") });
                }
                continue;
            }
        };
        let text = match frame {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(close))) => {
                let reason = close.map_or_else(
                    || "closed".to_string(),
                    |c| format!("closed {} {}", u16::from(c.code), c.reason),
                );
                return Ok(Ended::Dropped { caught_up, reason });
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                return Ok(Ended::Dropped {
                    caught_up,
                    reason: e.to_string(),
                });
            }
            None => {
                return Ok(Ended::Dropped {
                    caught_up,
                    reason: "closed".into(),
                });
            }
        };
        let Ok(frame) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if let Some(message) = transient(&frame) {
            // Live, it answered a ping: nothing is lost. Before replay_complete the
            // subscribe is not in effect: leave, and the next connection subscribes again.
            if caught_up {
                continue;
            }
            let _ = socket.close(None).await;
            return Ok(Ended::Dropped {
                caught_up,
                reason: format!("the server could not subscribe: {message}"),
            });
        }
        match frame["event"].as_str() {
            Some("replay_complete") => {
                caught_up = true;
                if let Some(end) = ended_in_replay.take() {
                    let _ = socket.close(None).await;
                    return Ok(Ended::Run(end));
                }
                on_note(Note::Live {
                    last_seq: *last_seq,
                });
            }
            Some("error") => {
                let message = frame["error"]["message"].as_str().unwrap_or("an error");
                return Err(Retry::Fatal(ClientError::Refused(message.to_string())));
            }
            Some("pong" | "unsubscribed") | None => {}
            Some(_) => {
                let seq = frame["seq"].as_u64().unwrap_or(0);
                if frame["project_id"] != project_id || seq <= *last_seq {
                    continue;
                }
                *last_seq = seq;
                on_event(&frame);
                match (is_terminal(&frame), caught_up) {
                    (true, true) => {
                        let _ = socket.close(None).await;
                        return Ok(Ended::Run(frame));
                    }
                    (true, false) => ended_in_replay = Some(frame),
                    (false, _) => ended_in_replay = None,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "tests: a failed expectation is a failed test"
    )]
    use super::*;

    #[test]
    fn a_server_failure_is_transient_and_a_refusal_is_not() {
        let unavailable =
            json!({"event": "error", "error": {"code": "unavailable", "message": "retry"}});
        assert_eq!(transient(&unavailable), Some("retry"));
        let gateway =
            json!({"message": "Internal server error", "connectionId": "c", "requestId": "r"});
        assert_eq!(transient(&gateway), Some("Internal server error"));
        let refused = json!({"event": "error", "error": {"code": "not_found", "message": "no"}});
        assert_eq!(transient(&refused), None);
        assert_eq!(transient(&json!({"event": "pong"})), None);
        assert_eq!(
            transient(&json!({"event": "status_update", "message": "x"})),
            None
        );
    }

    /// A stand-in server: each connection's subscribe is answered by the next of
    /// `answers` (a failure frame), and once they are used up by a replay of a whole run.
    async fn server(answers: Vec<Value>) -> String {
        use axum::extract::State;
        use axum::extract::ws::{Message as AxumMessage, WebSocketUpgrade};
        use axum::routing::{get, post};
        use std::sync::{Arc, Mutex};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let ws_url = format!("{}/ws", base.replacen("http", "ws", 1));
        let answers = Arc::new(Mutex::new(answers.into_iter()));
        let app = axum::Router::new()
            .route(
                "/api/v1/ws-tickets",
                post(move || async move { axum::Json(json!({"websocket_url": ws_url})) }),
            )
            .route(
                "/ws",
                get(|State(answers): State<Arc<Mutex<std::vec::IntoIter<Value>>>>, upgrade: WebSocketUpgrade| async move {
                    upgrade.on_upgrade(move |mut socket| async move {
                        let Some(Ok(AxumMessage::Text(subscribe))) = socket.recv().await else {
                            return;
                        };
                        let request: Value = serde_json::from_str(subscribe.as_str()).unwrap();
                        let after = request["after_seq"].as_u64().unwrap();
                        let answer = answers.lock().unwrap().next();
                        let frames = match answer {
                            Some(failure) => vec![failure],
                            None => {
                                let mut run: Vec<Value> = (after + 1..=3)
                                    .map(|seq| {
                                        let state = if seq == 3 { "COMPLETED" } else { "IDEA_VALIDATION" };
                                        json!({"event": "status_update", "project_id": "p", "seq": seq, "state": state})
                                    })
                                    .collect();
                                run.push(json!({"event": "replay_complete", "project_id": "p", "last_seq": 3}));
                                run
                            }
                        };
                        for frame in frames {
                            let _ = socket.send(AxumMessage::Text(frame.to_string().into())).await;
                        }
                        // Held open, as a server does after a failed action.
                        while let Some(Ok(_)) = socket.recv().await {}
                    })
                }),
            )
            .with_state(answers);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        base
    }

    #[tokio::test]
    async fn a_subscribe_the_server_could_not_complete_is_made_again() {
        let base = server(vec![
            json!({"message": "Internal server error", "connectionId": "c", "requestId": "r"}),
            json!({"event": "error", "error": {"code": "unavailable", "message": "send it again"}}),
        ])
        .await;
        let client = Client::new(&base, Some("zts_a_key")).unwrap();
        let (mut seqs, mut notes) = (Vec::new(), Vec::new());
        let end = follow(
            &client,
            "p",
            0,
            |e| seqs.push(e["seq"].as_u64().unwrap()),
            |n| notes.push(n),
        )
        .await
        .unwrap();
        assert_eq!(end["state"], "COMPLETED");
        assert_eq!(seqs, [1, 2, 3]);
        let reasons: Vec<String> = notes
            .iter()
            .filter_map(|n| match n {
                Note::Reconnecting { reason, .. } => Some(reason.clone()),
                Note::Live { .. } => None,
            })
            .collect();
        assert_eq!(
            reasons,
            [
                "the server could not subscribe: Internal server error",
                "the server could not subscribe: send it again"
            ]
        );
    }

    #[tokio::test]
    async fn a_refused_subscribe_is_not_made_again() {
        let base = server(vec![
            json!({"event": "error", "error": {"code": "not_found", "message": "no such project"}}),
        ])
        .await;
        let client = Client::new(&base, Some("zts_a_key")).unwrap();
        let ended = follow(&client, "p", 0, |_| {}, |_| {}).await;
        assert!(
            matches!(&ended, Err(ClientError::Refused(m)) if m == "no such project"),
            "{:?}",
            ended.map(|_| ())
        );
    }

    #[test]
    fn only_a_terminal_status_update_ends_the_run() {
        assert!(is_terminal(
            &json!({"event": "status_update", "state": "COMPLETED"})
        ));
        assert!(is_terminal(
            &json!({"event": "status_update", "state": "FAILED"})
        ));
        assert!(!is_terminal(
            &json!({"event": "status_update", "state": "ADVISORY"})
        ));
        assert!(!is_terminal(
            &json!({"event": "step_complete", "state": "COMPLETED"})
        ));
    }
}
