//! Following a project's run over the WebSocket, as the browser page does: a new ticket
//! per connection, the URL the ticket names (a deployment's one WebSocket URL, or the
//! local gateway's), `subscribe` with `after_seq` = the last seq seen, so a reconnect
//! resumes and nothing is handled twice; back-off with full jitter between tries, and a
//! ping every 4 minutes under API Gateway's 10-minute idle limit.

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
        let ceiling = BACKOFF_FIRST
            .saturating_mul(1 << (tries - 1).min(16))
            .min(BACKOFF_MAX);
        let after = rand::rng().random_range(Duration::ZERO..=ceiling);
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
    use super::*;

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
