//! The load generator: N projects at concurrency C against a running stack. Each project
//! is created (POST), watched on its WebSocket until COMPLETED or FAILED, and its events
//! checked for gaps and duplicates. Prints throughput, latency percentiles, losses.
//! [`Watch::Ticket`] watches the way a deployed client must (a ticket, the URL it comes
//! with, a subscribe message), so the same run measures `zts serve` and `zts emulate`;
//! [`Watch::Prototype`] speaks the Python prototype's protocol, so one generator measures
//! both side by side. Given the server's pid, it prints the server's CPU time per project
//! beside its own, so a reader sees which of the two was the limit.

pub mod compare;
pub mod cpu;
pub mod memory;
pub mod proc_io;
mod shared_socket;
pub mod soak;

use futures_util::StreamExt;
use serde_json::{Value, json};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;
use zts_embedded::StoreStats;

/// The events a completed run has (ARCHITECTURE.md §4).
const HAPPY_PATH_EVENTS: u64 = 6;
/// How long one project may take before it counts as failed.
const PROJECT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long after the last project the server's counters are read, so the work its last
/// clients caused (their disconnects) is counted too.
const SETTLE: Duration = Duration::from_millis(200);

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
    /// CPU time (user + system) the server used during the run, when its pid was given.
    pub server_cpu: Option<Duration>,
    /// CPU time this load generator used during the run.
    pub generator_cpu: Option<Duration>,
    /// What the server's store did during the run, from its `GET /_zts/stats` (the local
    /// stack's; `None` for a server without it, as the prototype).
    pub store: Option<StoreStats>,
    /// Bytes the server caused to be written to storage during the run (its
    /// `/proc/<pid>/io`), when its pid was given.
    pub server_storage_bytes: Option<u64>,
}

impl Report {
    pub fn throughput(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Milliseconds of `cpu` per completed project.
    pub fn per_project_ms(&self, cpu: Option<Duration>) -> Option<f64> {
        let cpu = cpu?;
        (self.completed > 0).then(|| cpu.as_secs_f64() * 1000.0 / self.completed as f64)
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
        writeln!(
            f,
            "events        {} lost, {} duplicated",
            self.lost_events, self.duplicate_events
        )?;
        let cpu = |d: Option<Duration>| match self.per_project_ms(d) {
            Some(ms) => format!("{ms:.3} ms/project"),
            None => "not measured".to_string(),
        };
        write!(
            f,
            "cpu           server {} (--server-pid), generator {} (user + system)",
            cpu(self.server_cpu),
            cpu(self.generator_cpu)
        )?;
        if let Some(line) = self.store_line() {
            write!(f, "\n{line}")?;
        }
        Ok(())
    }
}

impl Report {
    /// The store's cost per completed project, as `zts load` prints it.
    fn store_line(&self) -> Option<String> {
        let n = self.completed.max(1) as f64;
        let per = |count: u64| count as f64 / n;
        let mut line = match &self.store {
            Some(s) => format!(
                "store         per project: {:.1} writes, {:.1} reads, {:.2} commits, {:.2} fsyncs, {:.1} rows written",
                per(s.writes),
                per(s.reads),
                per(s.commits),
                per(s.fsyncs),
                per(s.rows_written)
            ),
            None if self.server_storage_bytes.is_some() => "store         per project:".to_string(),
            None => return None,
        };
        if let Some(bytes) = self.server_storage_bytes {
            let sep = if self.store.is_some() { ";" } else { "" };
            line.push_str(&format!(
                "{sep} {:.1} KiB to storage (--server-pid)",
                per(bytes) / 1024.0
            ));
        }
        Some(line)
    }
}

/// What the store did between two readings of its counters.
fn store_delta(before: &StoreStats, after: &StoreStats) -> StoreStats {
    StoreStats {
        writes: after.writes.saturating_sub(before.writes),
        reads: after.reads.saturating_sub(before.reads),
        commits: after.commits.saturating_sub(before.commits),
        fsyncs: after.fsyncs.saturating_sub(before.fsyncs),
        rows_written: after.rows_written.saturating_sub(before.rows_written),
    }
}

/// The server's store counters, when it serves them (the local stack does).
async fn store_stats(client: &reqwest::Client, url: &str) -> Option<StoreStats> {
    let answer = client
        .get(format!("{url}{}", crate::stats::PATH))
        .send()
        .await
        .ok()?;
    if !answer.status().is_success() {
        return None;
    }
    let stats: crate::stats::Stats = answer.json().await.ok()?;
    Some(stats.store)
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
    /// The Python prototype's `ws://HOST/ws/projects/{id}`: four frames without seqs, the
    /// last `status_update COMPLETED`.
    Prototype,
    /// One ticket WebSocket per client following `per_socket` projects (each subscribed
    /// with `after_seq` 0 right after its POST): N / `per_socket` clients, C at a time.
    Shared { per_socket: usize },
}

/// The frames a prototype run sends.
const PROTOTYPE_FRAMES: u64 = 4;

/// Why a load run could not be made or measured (a project that fails or times out is
/// counted in the report instead).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("no process {0} to measure (--server-pid)")]
    NoProcess(u32),
    #[error("cannot read process {0}'s memory")]
    NoMemoryReading(u32),
    #[error("the API key cannot be sent as a header")]
    BadKey,
    #[error("the stack at {url} does not answer: {source}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url}/health answered {status}")]
    Unhealthy {
        url: String,
        status: reqwest::StatusCode,
    },
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    #[error("WebSocket: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("a frame is not JSON: {0}")]
    Frame(#[from] serde_json::Error),
    /// An answer without what the protocol promises (a project id, a WebSocket URL).
    #[error("the answer has no {0}")]
    Missing(&'static str),
    #[error("timed out")]
    TimedOut,
    #[error("a client task ended: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("the concurrency limit closed")]
    Closed(#[from] tokio::sync::AcquireError),
    #[error("the server could not complete a subscribe {0} times in a row")]
    NotSubscribed(u32),
}

/// How many times in a row a subscribe the server could not complete is made again.
const SUBSCRIBE_TRIES: u32 = 8;

/// How long to wait before subscribing again after the `failures`-th failure in a row:
/// full jitter under a ceiling doubling from 100 ms to 5 s (as the clients do), or
/// [`LoadError::NotSubscribed`] once [`SUBSCRIBE_TRIES`] have failed.
fn resubscribe_after(failures: u32) -> Result<Duration, LoadError> {
    if failures >= SUBSCRIBE_TRIES {
        return Err(LoadError::NotSubscribed(failures));
    }
    Ok(crate::client::follow::full_jitter(
        Duration::from_millis(100),
        Duration::from_secs(5),
        failures,
    ))
}

pub async fn run(
    url: &str,
    api_key: &str,
    projects: usize,
    concurrency: usize,
    watch: Watch,
) -> Result<Report, LoadError> {
    run_measured(url, api_key, projects, concurrency, watch, None).await
}

/// [`run`], with the server's CPU time measured from its pid.
pub async fn run_measured(
    url: &str,
    api_key: &str,
    projects: usize,
    concurrency: usize,
    watch: Watch,
    server_pid: Option<u32>,
) -> Result<Report, LoadError> {
    if let Some(pid) = server_pid
        && self::cpu::cpu_time(Some(pid)).is_none()
    {
        return Err(LoadError::NoProcess(pid));
    }
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "x-api-key",
        reqwest::header::HeaderValue::from_str(api_key).map_err(|_| LoadError::BadKey)?,
    );
    let client = reqwest::Client::builder()
        .default_headers(headers.clone())
        .pool_max_idle_per_host(concurrency.max(1))
        .build()?;
    let health = client
        .get(format!("{url}/health"))
        .send()
        .await
        .map_err(|source| LoadError::Unreachable {
            url: url.to_string(),
            source,
        })?;
    if !health.status().is_success() {
        return Err(LoadError::Unhealthy {
            url: url.to_string(),
            status: health.status(),
        });
    }
    let limit = Arc::new(Semaphore::new(concurrency.max(1)));
    let store_before = store_stats(&client, url).await;
    let bytes_before = server_pid.and_then(|pid| self::proc_io::storage_write_bytes(Some(pid)));
    let server_before = server_pid.and_then(|pid| self::cpu::cpu_time(Some(pid)));
    let generator_before = self::cpu::cpu_time(None);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let per_task = match watch {
        Watch::Shared { per_socket } => per_socket.max(1),
        _ => 1,
    };
    for first in (0..projects).step_by(per_task) {
        let count = per_task.min(projects - first);
        let permit = limit.clone().acquire_owned().await?;
        let (client, url, key) = (client.clone(), url.to_string(), api_key.to_string());
        tasks.spawn(async move {
            let work = async {
                match watch {
                    Watch::Shared { .. } => {
                        shared_socket::shared(&client, &url, first, count).await
                    }
                    _ => one(&client, &url, &key, first, watch)
                        .await
                        .map(|s| vec![s]),
                }
            };
            let result = tokio::time::timeout(PROJECT_TIMEOUT, work).await;
            drop(permit);
            match result {
                Ok(r) => r.map_err(|e| (count, e)),
                Err(_) => Err((count, LoadError::TimedOut)),
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
        server_cpu: None,
        generator_cpu: None,
        store: None,
        server_storage_bytes: None,
    };
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        match joined.map_err(|e| (1, LoadError::from(e))).and_then(|r| r) {
            Ok(samples) => {
                for sample in samples {
                    report.lost_events += sample.lost;
                    report.duplicate_events += sample.duplicates;
                    if sample.completed {
                        report.completed += 1;
                        report.latencies.push(sample.latency);
                    } else {
                        report.failed += 1;
                    }
                }
            }
            Err((count, e)) => {
                report.failed += count;
                first_error.get_or_insert(e);
            }
        }
    }
    report.elapsed = started.elapsed();
    // The last clients' disconnects are still being recorded: part of their cost.
    tokio::time::sleep(SETTLE).await;
    let spent = |before: Option<Duration>, pid: Option<u32>| {
        Some(self::cpu::cpu_time(pid)?.saturating_sub(before?))
    };
    report.server_cpu = server_pid.and_then(|pid| spent(server_before, Some(pid)));
    report.generator_cpu = spent(generator_before, None);
    report.server_storage_bytes = server_pid.and_then(|pid| {
        Some(self::proc_io::storage_write_bytes(Some(pid))?.saturating_sub(bytes_before?))
    });
    if let Some(before) = store_before {
        report.store = store_stats(&client, url)
            .await
            .map(|after| store_delta(&before, &after));
    }
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
) -> Result<Sample, LoadError> {
    let started = Instant::now();
    let created = create(client, url, i).await?;
    let (mut socket, _) = match watch {
        Watch::Prototype => {
            let project = created["project_id"]
                .as_str()
                .ok_or(LoadError::Missing("project id"))?;
            let ws_url = format!(
                "{}/ws/projects/{project}",
                url.replacen("http", "ws", 1).trim_end_matches('/')
            );
            tokio_tungstenite::connect_async(ws_url).await?
        }
        Watch::ProjectLink => {
            let ws_url = created["links"]["websocket"]
                .as_str()
                .ok_or(LoadError::Missing("websocket link"))?;
            let mut request =
                tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
                    ws_url,
                )?;
            request
                .headers_mut()
                .insert("x-api-key", api_key.parse().map_err(|_| LoadError::BadKey)?);
            tokio_tungstenite::connect_async(request).await?
        }
        Watch::Ticket => {
            let project = created["project_id"]
                .as_str()
                .ok_or(LoadError::Missing("project id"))?;
            let mut connected = connect_with_ticket(client, url).await?;
            subscribe(&mut connected.0, project, 0).await?;
            connected
        }
        Watch::Shared { .. } => unreachable!("a shared socket is watched by shared()"),
    };
    let mut seqs = Vec::new();
    let mut frames = 0u64;
    let mut terminal = None;
    let (mut subscribed, mut failures) = (false, 0);
    while let Some(message) = socket.next().await {
        let Message::Text(text) = message? else {
            continue;
        };
        let event: Value = serde_json::from_str(text.as_str())?;
        if watch == Watch::Ticket && crate::client::follow::transient(&event).is_some() {
            // The subscribe is not in effect: make it again, from what arrived.
            if !subscribed {
                failures += 1;
                tokio::time::sleep(resubscribe_after(failures)?).await;
                let project = created["project_id"].as_str().unwrap_or_default();
                let after = shared_socket::contiguous(&seqs);
                subscribe(&mut socket, project, after).await?;
            }
            continue;
        }
        subscribed |= event["event"] == "replay_complete";
        frames += 1;
        if let Some(seq) = event["seq"].as_u64() {
            seqs.push(seq);
        }
        if event["event"] == "status_update"
            && matches!(
                event["state"].as_str(),
                Some("COMPLETED" | "FAILED" | "CANCELLED")
            )
        {
            terminal = event["state"].as_str().map(str::to_string);
            break;
        }
    }
    let latency = started.elapsed();
    let _ = socket.close(None).await;
    let completed = terminal.as_deref() == Some("COMPLETED");
    if watch == Watch::Prototype {
        // No seqs to tell a duplicate by: count the frames a run sends.
        return Ok(Sample {
            latency,
            completed,
            lost: PROTOTYPE_FRAMES.saturating_sub(frames),
            duplicates: frames.saturating_sub(PROTOTYPE_FRAMES),
        });
    }
    let (lost, duplicates) = losses(&seqs, completed);
    Ok(Sample {
        latency,
        completed,
        lost,
        duplicates,
    })
}

/// POSTs load test idea `i`; the answer's JSON.
async fn create(client: &reqwest::Client, url: &str, i: usize) -> Result<Value, LoadError> {
    let body = json!({
        "name": format!("load test idea {i}"),
        "description": "Independent bookkeepers spend 6 hours a month chasing receipts from clients; we automate the chase by e-mail and SMS.",
        "hypothesis": "At least 20% of 50 bookkeepers we contact will pre-order at $29/month within 2 weeks.",
        "target_avatars": ["independent bookkeeper", "small agency owner"],
    });
    answer_of(client.post(format!("{url}/api/v1/projects")).json(&body)).await
}

/// Sends `request`; its answer's JSON, or why there is none (a refusal included).
async fn answer_of(request: reqwest::RequestBuilder) -> Result<Value, LoadError> {
    Ok(request.send().await?.error_for_status()?.json().await?)
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A ticket, then the WebSocket URL it comes with (as every deployment's client does).
async fn connect_with_ticket(
    client: &reqwest::Client,
    url: &str,
) -> Result<
    (
        Socket,
        tokio_tungstenite::tungstenite::handshake::client::Response,
    ),
    LoadError,
> {
    let ticket = answer_of(client.post(format!("{url}/api/v1/ws-tickets"))).await?;
    let ws_url = ticket["websocket_url"]
        .as_str()
        .ok_or(LoadError::Missing("websocket_url"))?;
    Ok(tokio_tungstenite::connect_async(ws_url).await?)
}

async fn subscribe<S>(sink: &mut S, project: &str, after_seq: u64) -> Result<(), LoadError>
where
    S: futures_util::Sink<Message> + Unpin,
    LoadError: From<S::Error>,
{
    let message = json!({"action": "subscribe", "project_id": project, "after_seq": after_seq});
    futures_util::SinkExt::send(sink, Message::Text(message.to_string().into())).await?;
    Ok(())
}

/// Seqs missing and seqs repeated in what one project's watcher received.
fn losses(seqs: &[u64], completed: bool) -> (u64, u64) {
    let mut unique = seqs.to_vec();
    unique.sort();
    unique.dedup();
    let duplicates = (seqs.len() - unique.len()) as u64;
    let last = unique.last().copied().unwrap_or(0);
    let expected = if completed {
        HAPPY_PATH_EVENTS.max(last)
    } else {
        last
    };
    (expected.saturating_sub(unique.len() as u64), duplicates)
}
