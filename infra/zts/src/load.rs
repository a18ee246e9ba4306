//! The load generator: N projects at concurrency C against a running stack. Each project
//! is created (POST), watched on its WebSocket until COMPLETED or FAILED, and its events
//! checked for gaps and duplicates. Prints throughput, latency percentiles, losses.
//! [`Watch::Ticket`] watches the way a deployed client must (a ticket, the URL it comes
//! with, a subscribe message), so the same run measures `zts serve` and `zts emulate`.

use futures_util::StreamExt;
use serde_json::{Value, json};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

/// The events a completed run has (ARCHITECTURE.md §4).
const HAPPY_PATH_EVENTS: u64 = 6;
/// How long one project may take before it counts as failed.
const PROJECT_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct Report {
    pub projects: usize,
    pub concurrency: usize,
    pub elapsed: Duration,
    pub completed: usize,
    /// Projects that errored, timed out or ended FAILED.
    pub failed: usize,
    /// Seqs missing from a project's stream (counted over all projects).
    pub lost_events: u64,
    pub duplicate_events: u64,
    pub latencies: Vec<Duration>,
}

impl Report {
    pub fn throughput(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        writeln!(
            f,
            "projects      {} at concurrency {}",
            self.projects, self.concurrency
        )?;
        writeln!(
            f,
            "completed     {} in {:.2} s ({} failed)",
            self.completed,
            self.elapsed.as_secs_f64(),
            self.failed
        )?;
        writeln!(f, "throughput    {:.0} projects/s", self.throughput())?;
        writeln!(
            f,
            "latency       p50 {:.1} ms  p90 {:.1} ms  p99 {:.1} ms  max {:.1} ms (POST to COMPLETED on the WebSocket)",
            ms(self.percentile(50.0)),
            ms(self.percentile(90.0)),
            ms(self.percentile(99.0)),
            ms(self.percentile(100.0))
        )?;
        write!(
            f,
            "events        {} lost, {} duplicated",
            self.lost_events, self.duplicate_events
        )
    }
}

struct Sample {
    latency: Duration,
    completed: bool,
    lost: u64,
    duplicates: u64,
}

/// How each project's events are watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watch {
    /// The project's own WebSocket link, with the key header (the local stack's).
    ProjectLink,
    /// `POST /api/v1/ws-tickets`, its `websocket_url`, then `subscribe` (every deployment).
    Ticket,
}

pub async fn run(
    url: &str,
    api_key: &str,
    projects: usize,
    concurrency: usize,
    watch: Watch,
) -> Result<Report, String> {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "x-api-key",
        reqwest::header::HeaderValue::from_str(api_key).map_err(|e| e.to_string())?,
    );
    let client = reqwest::Client::builder()
        .default_headers(headers.clone())
        .pool_max_idle_per_host(concurrency.max(1))
        .build()
        .map_err(|e| e.to_string())?;
    let health = client
        .get(format!("{url}/health"))
        .send()
        .await
        .map_err(|e| format!("the stack at {url} does not answer: {e}"))?;
    if !health.status().is_success() {
        return Err(format!("{url}/health answered {}", health.status()));
    }
    let limit = Arc::new(Semaphore::new(concurrency.max(1)));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..projects {
        let permit = limit
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        let (client, url, key) = (client.clone(), url.to_string(), api_key.to_string());
        tasks.spawn(async move {
            let result =
                tokio::time::timeout(PROJECT_TIMEOUT, one(&client, &url, &key, i, watch)).await;
            drop(permit);
            match result {
                Ok(r) => r,
                Err(_) => Err("timed out".to_string()),
            }
        });
    }
    let mut report = Report {
        projects,
        concurrency,
        elapsed: Duration::ZERO,
        completed: 0,
        failed: 0,
        lost_events: 0,
        duplicate_events: 0,
        latencies: Vec::with_capacity(projects),
    };
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        match joined.map_err(|e| e.to_string()).and_then(|r| r) {
            Ok(sample) => {
                report.lost_events += sample.lost;
                report.duplicate_events += sample.duplicates;
                if sample.completed {
                    report.completed += 1;
                    report.latencies.push(sample.latency);
                } else {
                    report.failed += 1;
                }
            }
            Err(e) => {
                report.failed += 1;
                first_error.get_or_insert(e);
            }
        }
    }
    report.elapsed = started.elapsed();
    if let Some(e) = first_error {
        eprintln!("first failure: {e}");
    }
    Ok(report)
}

async fn one(
    client: &reqwest::Client,
    url: &str,
    api_key: &str,
    i: usize,
    watch: Watch,
) -> Result<Sample, String> {
    let started = Instant::now();
    let body = json!({
        "name": format!("load test idea {i}"),
        "description": "Independent bookkeepers spend 6 hours a month chasing receipts from clients; we automate the chase by e-mail and SMS.",
        "hypothesis": "At least 20% of 50 bookkeepers we contact will pre-order at $29/month within 2 weeks.",
        "target_avatars": ["independent bookkeeper", "small agency owner"],
    });
    let created: Value = client
        .post(format!("{url}/api/v1/projects"))
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .error_for_status()
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let (mut socket, _) = match watch {
        Watch::ProjectLink => {
            let ws_url = created["links"]["websocket"]
                .as_str()
                .ok_or("no websocket link")?;
            let mut request =
                tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
                    ws_url,
                )
                .map_err(|e| e.to_string())?;
            request.headers_mut().insert(
                "x-api-key",
                api_key.parse().map_err(|_| "a bad API key".to_string())?,
            );
            tokio_tungstenite::connect_async(request)
                .await
                .map_err(|e| e.to_string())?
        }
        Watch::Ticket => {
            let project = created["project_id"].as_str().ok_or("no project id")?;
            let ticket: Value = client
                .post(format!("{url}/api/v1/ws-tickets"))
                .send()
                .await
                .map_err(|e| e.to_string())?
                .error_for_status()
                .map_err(|e| e.to_string())?
                .json()
                .await
                .map_err(|e| e.to_string())?;
            let ws_url = ticket["websocket_url"].as_str().ok_or("no websocket_url")?;
            let mut connected = tokio_tungstenite::connect_async(ws_url)
                .await
                .map_err(|e| e.to_string())?;
            let subscribe = json!({"action": "subscribe", "project_id": project, "after_seq": 0});
            futures_util::SinkExt::send(
                &mut connected.0,
                Message::Text(subscribe.to_string().into()),
            )
            .await
            .map_err(|e| e.to_string())?;
            connected
        }
    };
    let mut seqs = Vec::new();
    let mut terminal = None;
    while let Some(message) = socket.next().await {
        let Message::Text(text) = message.map_err(|e| e.to_string())? else {
            continue;
        };
        let event: Value = serde_json::from_str(text.as_str()).map_err(|e| e.to_string())?;
        if let Some(seq) = event["seq"].as_u64() {
            seqs.push(seq);
        }
        if event["event"] == "status_update"
            && matches!(event["state"].as_str(), Some("COMPLETED" | "FAILED"))
        {
            terminal = event["state"].as_str().map(str::to_string);
            break;
        }
    }
    let latency = started.elapsed();
    let _ = socket.close(None).await;
    let mut unique = seqs.clone();
    unique.sort();
    unique.dedup();
    let duplicates = (seqs.len() - unique.len()) as u64;
    let last = unique.last().copied().unwrap_or(0);
    let expected = if terminal.as_deref() == Some("COMPLETED") {
        HAPPY_PATH_EVENTS.max(last)
    } else {
        last
    };
    let lost = expected - unique.len() as u64;
    Ok(Sample {
        latency,
        completed: terminal.as_deref() == Some("COMPLETED"),
        lost,
        duplicates,
    })
}
