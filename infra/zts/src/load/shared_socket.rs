//! [`super::Watch::Shared`]: one ticket WebSocket per client following several projects,
//! each created and then subscribed on it, as a page following a list does. One subscribe
//! is in flight at a time: a failure frame names no action (API Gateway's own, on AWS), so
//! only then is it known whose subscribe to make again.

use super::{LoadError, Sample, create, losses, resubscribe_after, subscribe};
use crate::client::follow::transient;
use futures_util::StreamExt;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// What one project's watcher received: its seqs, and when its terminal event came
/// (with whether it was COMPLETED).
#[derive(Default, Clone)]
struct Watched {
    seqs: Vec<u64>,
    terminal: Option<(Instant, bool)>,
}

/// What the reader tells the writer about the subscribe in flight.
enum Answer {
    /// A subscribe's `replay_complete`: it is in effect.
    Subscribed(String),
    /// The server could not complete an action: the subscribe in flight is not in effect.
    Failed,
}

type Seen = Arc<Mutex<HashMap<String, Watched>>>;

fn lock(seen: &Seen) -> std::sync::MutexGuard<'_, HashMap<String, Watched>> {
    seen.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One client: `count` projects created one after another, each subscribed right after
/// its POST (and again after a back-off if the server could not complete it); a reader
/// takes every frame meanwhile. Each project's latency runs from its POST to its terminal
/// event reaching the reader.
pub(super) async fn shared(
    client: &reqwest::Client,
    url: &str,
    first: usize,
    count: usize,
) -> Result<Vec<Sample>, LoadError> {
    let (socket, _) = super::connect_with_ticket(client, url).await?;
    let (mut sink, stream) = socket.split();
    let seen = Seen::default();
    let (answers_to, mut answers) = mpsc::unbounded_channel();
    let reader = tokio::spawn(read(stream, count, seen.clone(), answers_to));
    let mut posted = Vec::with_capacity(count);
    for i in first..first + count {
        let started = Instant::now();
        let created = create(client, url, i).await?;
        let project = created["project_id"]
            .as_str()
            .ok_or(LoadError::Missing("project id"))?
            .to_string();
        let mut failures = 0;
        loop {
            let after = lock(&seen).get(&project).map_or(0, |w| contiguous(&w.seqs));
            subscribe(&mut sink, &project, after).await?;
            let answer = loop {
                match answers.recv().await {
                    Some(Answer::Subscribed(p)) if p != project => continue,
                    other => break other,
                }
            };
            match answer {
                Some(Answer::Failed) => {
                    failures += 1;
                    tokio::time::sleep(resubscribe_after(failures)?).await;
                }
                // Subscribed, or the reader has every run it waits for.
                _ => break,
            }
        }
        posted.push((project, started));
    }
    let stream = reader.await?;
    if let Ok(mut socket) = sink.reunite(stream) {
        let _ = socket.close(None).await;
    }
    let seen = lock(&seen);
    Ok(posted
        .into_iter()
        .map(|(project, started)| {
            let Watched { seqs, terminal } = seen.get(&project).cloned().unwrap_or_default();
            let (lost, duplicates) = losses(&seqs, terminal.is_some_and(|(_, ok)| ok));
            Sample {
                latency: terminal.map_or(std::time::Duration::ZERO, |(at, _)| at - started),
                completed: terminal.is_some_and(|(_, ok)| ok),
                lost,
                duplicates,
            }
        })
        .collect())
}

type Stream = futures_util::stream::SplitStream<super::Socket>;

/// Reads until `count` projects have ended (or the socket goes), keeping each project's
/// seqs and telling the writer how its subscribe went.
async fn read(
    mut stream: Stream,
    count: usize,
    seen: Seen,
    answers: mpsc::UnboundedSender<Answer>,
) -> Stream {
    let mut terminals = 0;
    while terminals < count {
        let Some(message) = stream.next().await else {
            break;
        };
        let Ok(Message::Text(text)) = message else {
            continue;
        };
        let Ok(event) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        if transient(&event).is_some() {
            let _ = answers.send(Answer::Failed);
            continue;
        }
        let Some(project) = event["project_id"].as_str() else {
            continue;
        };
        if event["event"] == "replay_complete" {
            let _ = answers.send(Answer::Subscribed(project.to_string()));
            continue;
        }
        let mut seen = lock(&seen);
        let entry = seen.entry(project.to_string()).or_default();
        if let Some(seq) = event["seq"].as_u64() {
            entry.seqs.push(seq);
        }
        if event["event"] == "status_update"
            && entry.terminal.is_none()
            && let Some(state @ ("COMPLETED" | "FAILED" | "CANCELLED")) = event["state"].as_str()
        {
            entry.terminal = Some((Instant::now(), state == "COMPLETED"));
            terminals += 1;
        }
    }
    stream
}

/// The highest seq up to which every seq from 1 arrived: where a new subscribe resumes.
pub(super) fn contiguous(seqs: &[u64]) -> u64 {
    let mut sorted = seqs.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    sorted
        .iter()
        .zip(1..)
        .take_while(|(seq, n)| **seq == *n)
        .count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resubscribe_resumes_after_the_last_seq_without_a_gap() {
        assert_eq!(contiguous(&[]), 0);
        assert_eq!(contiguous(&[1, 2, 3]), 3);
        assert_eq!(contiguous(&[2, 1, 1, 3]), 3);
        assert_eq!(contiguous(&[1, 2, 4]), 2);
        assert_eq!(contiguous(&[2, 3]), 0);
    }
}
