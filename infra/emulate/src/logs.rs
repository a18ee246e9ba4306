//! The emulated CloudWatch Logs of one function: every line its processes write to stdout
//! (its JSON log lines and its EMF metric documents, as Lambda captures them), kept for
//! whoever reads the log group (tests, the cost count) and echoed to the emulation's own
//! stdout, as the processes' inherited stdout did before.

use std::sync::{Arc, Mutex, PoisonError};
use tokio::io::{AsyncBufReadExt, BufReader};

/// The most lines a group keeps; older lines are dropped first (a long `zts emulate`
/// session must not grow without bound).
pub const MAX_LINES: usize = 200_000;

#[derive(Debug, Default)]
pub struct LogGroup {
    lines: Mutex<std::collections::VecDeque<String>>,
    /// Every byte ingested (each line and its newline), kept or dropped since.
    bytes: std::sync::atomic::AtomicU64,
}

impl LogGroup {
    pub fn new() -> Arc<Self> {
        Arc::new(LogGroup::default())
    }

    /// Every line kept, oldest first.
    pub fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }

    /// The lines that are CloudWatch embedded metric format documents.
    pub fn emf_documents(&self) -> Vec<serde_json::Value> {
        self.lines()
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v.get("_aws").is_some())
            .collect()
    }

    /// The bytes CloudWatch Logs would ingest for the lines so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn push(&self, line: String) {
        self.bytes
            .fetch_add(line.len() as u64 + 1, std::sync::atomic::Ordering::Relaxed);
        let mut lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        if lines.len() == MAX_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// Reads a process's stdout into the group until it closes.
    pub fn capture(self: &Arc<Self>, stdout: tokio::process::ChildStdout) {
        let group = self.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                println!("{line}");
                group.push(line);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_lines_and_finds_the_emf_documents() {
        let group = LogGroup::new();
        group.push(r#"{"level":"INFO","message":"hi"}"#.into());
        group.push(r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]},"x":1}"#.into());
        group.push("not json".into());
        assert_eq!(group.lines().len(), 3);
        assert_eq!(group.emf_documents().len(), 1);
        for i in 0..MAX_LINES {
            group.push(format!("{i}"));
        }
        let lines = group.lines();
        assert_eq!(lines.len(), MAX_LINES);
        assert_eq!(lines[0], "0");
    }
}
