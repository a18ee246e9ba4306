//! Per-connection ordering. Replayed and live events for one project can reach a
//! connection's queue interleaved (live pushes start as soon as the subscription exists,
//! while the replay is still reading). The sequencer delivers each project's events in
//! seq order, once each: duplicates are dropped, an event that arrives ahead of a gap is
//! held until the gap fills (the replay always fills it).

use serde::Deserialize;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

/// More held events than this means the gap will not fill (it would be a bug): they are
/// released in order anyway, and the client fills the gap from `GET …/events`.
const MAX_HELD: usize = 1_024;

#[derive(Default)]
pub struct Sequencer {
    projects: HashMap<String, Stream>,
}

#[derive(Default)]
struct Stream {
    delivered: u64,
    held: BTreeMap<u64, String>,
    /// The subscription's replay is still being sent: everything waits for its
    /// `replay_complete`, so a live event never goes out before it (the protocol's
    /// promise: replayed events up to its `last_seq`, then live ones above it).
    replaying: bool,
}

/// A `replay_complete` message's project and last seq.
#[derive(Deserialize)]
struct ReplayEnd<'a> {
    event: &'a str,
    #[serde(borrow)]
    project_id: Cow<'a, str>,
    last_seq: u64,
}

/// The two fields of an event message the sequencer needs. Read without building the
/// message's JSON tree (every other field is skipped unparsed): this runs for every event
/// on every connection.
#[derive(Deserialize)]
struct EventKey<'a> {
    #[serde(borrow)]
    project_id: Cow<'a, str>,
    seq: u64,
}

/// The project id and seq of an event message; `None` for anything else.
fn event_key(message: &str) -> Option<EventKey<'_>> {
    serde_json::from_str(message).ok()
}

impl Sequencer {
    /// A subscription starts: events up to `after_seq` are the client's already.
    pub fn baseline(&mut self, project: &str, after_seq: u64) {
        self.projects.insert(
            project.to_string(),
            Stream {
                delivered: after_seq,
                held: BTreeMap::new(),
                replaying: true,
            },
        );
    }

    pub fn forget(&mut self, project: &str) {
        self.projects.remove(project);
    }

    /// The messages to send now, in order, for one incoming message.
    pub fn accept(&mut self, message: String) -> Vec<String> {
        let Some(EventKey { project_id, seq }) = event_key(&message) else {
            return self.end_of_replay(message);
        };
        let Some(stream) = self.projects.get_mut(project_id.as_ref()) else {
            // Not subscribed through this gateway (e.g. a management-API push): as is.
            return vec![message];
        };
        if seq <= stream.delivered {
            return Vec::new();
        }
        stream.held.insert(seq, message);
        let mut out = Vec::new();
        if !stream.replaying {
            stream.release_through(u64::MAX, &mut out);
        }
        if stream.held.len() > MAX_HELD {
            stream.replaying = false;
            for (seq, message) in std::mem::take(&mut stream.held) {
                stream.delivered = seq;
                out.push(message);
            }
        }
        out
    }

    /// A `replay_complete`: what the replay held goes out up to its `last_seq`, then the
    /// message, then the live events above it, in order. Anything else passes as is.
    fn end_of_replay(&mut self, message: String) -> Vec<String> {
        let end = serde_json::from_str::<ReplayEnd<'_>>(&message)
            .ok()
            .filter(|e| e.event == "replay_complete")
            .map(|e| (e.project_id.into_owned(), e.last_seq));
        let Some((project, last_seq)) = end else {
            return vec![message];
        };
        let Some(stream) = self.projects.get_mut(&project) else {
            return vec![message];
        };
        let mut out = Vec::new();
        stream.release_through(last_seq, &mut out);
        out.push(message);
        stream.replaying = false;
        stream.release_through(u64::MAX, &mut out);
        out
    }
}

impl Stream {
    /// The held events that follow what was delivered without a gap, up to `last`.
    fn release_through(&mut self, last: u64, out: &mut Vec<String>) {
        while self.delivered < last {
            let Some(next) = self.held.remove(&(self.delivered + 1)) else {
                break;
            };
            out.push(next);
            self.delivered += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: u64) -> String {
        format!(r#"{{"event":"status_update","project_id":"p","seq":{seq}}}"#)
    }

    #[test]
    fn orders_interleaved_replay_and_live_events_once_each() {
        let mut s = Sequencer::default();
        s.baseline("p", 2);
        let mut out = Vec::new();
        // live 5 and 6 arrive before the replay of 3 and 4; 4 and 5 arrive twice.
        for seq in [5, 6, 3, 4, 4, 5, 7, 1] {
            out.extend(s.accept(event(seq)));
        }
        out.extend(s.accept(replay_complete(4)));
        let seqs: Vec<u64> = out
            .iter()
            .map(|m| event_key(m).map_or(0, |k| k.seq))
            .collect();
        assert_eq!(seqs, vec![3, 4, 0, 5, 6, 7], "replay, its end, then live");
    }

    fn replay_complete(last_seq: u64) -> String {
        format!(r#"{{"event":"replay_complete","project_id":"p","last_seq":{last_seq}}}"#)
    }

    #[test]
    fn a_live_event_never_overtakes_the_end_of_the_replay() {
        let mut s = Sequencer::default();
        s.baseline("p", 0);
        // The replay read 1..3; event 4 was committed meanwhile and pushed live first.
        let mut out = Vec::new();
        for seq in [1, 2, 3, 4] {
            out.extend(s.accept(event(seq)));
        }
        assert!(out.is_empty(), "held until the replay ends: {out:?}");
        out.extend(s.accept(replay_complete(3)));
        assert_eq!(
            out,
            vec![event(1), event(2), event(3), replay_complete(3), event(4)]
        );
        // Live from then on: each event goes out as it comes.
        assert_eq!(s.accept(event(5)), vec![event(5)]);
    }

    #[test]
    fn other_messages_pass_straight_through() {
        let mut s = Sequencer::default();
        assert_eq!(
            s.accept(r#"{"event":"pong"}"#.into()),
            vec![r#"{"event":"pong"}"#.to_string()]
        );
        assert_eq!(
            s.accept(event(9)),
            vec![event(9)],
            "unsubscribed projects are not held"
        );
    }

    #[test]
    fn reads_the_key_of_a_full_event_message() {
        // Nested data is skipped, an escaped id is unescaped, field order does not matter.
        let message = r#"{"seq":4,"data":{"step":"validator","list":[1,{"a":"b"}]},"event":"step_completed","project_id":"p\u0031"}"#;
        let key = event_key(message).unwrap();
        assert_eq!((key.project_id.as_ref(), key.seq), ("p1", 4));
        let mut s = Sequencer::default();
        s.baseline("p1", 3);
        let end = r#"{"event":"replay_complete","project_id":"p1","last_seq":3}"#;
        assert_eq!(s.accept(end.to_string()), vec![end.to_string()]);
        assert_eq!(s.accept(message.to_string()), vec![message.to_string()]);
        assert!(
            s.accept(message.to_string()).is_empty(),
            "a duplicate is dropped"
        );
        for not_an_event in [
            r#"{"seq":-1,"project_id":"p1"}"#,
            r#"{"seq":2}"#,
            "not json",
        ] {
            assert!(event_key(not_an_event).is_none(), "{not_an_event}");
        }
    }
}
