//! The Lambda Runtime API, as Lambda serves it to a function's `bootstrap`: each process
//! (an execution environment) gets its own loopback endpoint, asks it for the next event
//! (`GET …/invocation/next`) and posts a response or an error. Like Lambda: one invocation
//! per process at a time, another process when all are busy (up to a cap, past which an
//! invocation is throttled), init timed apart from invocations, the function's `Timeout`
//! enforced by killing the process (reported as `Sandbox.Timedout`), a crash reported as
//! `Lambda.Unknown`, and `MemorySize` watched through the process's peak RSS.

use super::logs::LogGroup;
use super::template::FunctionSpec;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, oneshot};

/// Lambda's own limit on a function's init phase.
const INIT_LIMIT: Duration = Duration::from_secs(10);
/// How often a running invocation's peak memory is read.
const MEMORY_POLL: Duration = Duration::from_millis(20);

/// Why an invocation did not return the function's answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    /// The function answered with an error (its `errorType` and `errorMessage`).
    #[error("{error_type}: {message}")]
    Function { error_type: String, message: String },
    #[error("Task timed out after {0:.2?}")]
    TimedOut(Duration),
    #[error("the process exited ({0}) during the invocation")]
    Crashed(String),
    #[error("the process used {used_mb} MB, more than its {limit_mb} MB")]
    OutOfMemory { used_mb: u64, limit_mb: u32 },
    #[error("init failed: {0}")]
    InitFailed(String),
    #[error("all {0} execution environments are busy")]
    Throttled(usize),
}

impl InvokeError {
    /// The error name Step Functions' Retry and Catch see for this outcome of a Lambda task.
    pub fn states_error(&self) -> String {
        match self {
            InvokeError::Function { error_type, .. } => error_type.clone(),
            InvokeError::TimedOut(_) => "Sandbox.Timedout".into(),
            InvokeError::Crashed(_) | InvokeError::OutOfMemory { .. } => "Lambda.Unknown".into(),
            InvokeError::InitFailed(_) => "Lambda.Unknown".into(),
            InvokeError::Throttled(_) => "Lambda.TooManyRequestsException".into(),
        }
    }
}

/// Counts per function, for the debug lines and the exit summary.
#[derive(Debug, Default)]
pub struct FunctionStats {
    pub invocations: AtomicU64,
    pub errors: AtomicU64,
    pub timeouts: AtomicU64,
    pub throttles: AtomicU64,
    /// Retries Step Functions scheduled after this function's task failed.
    pub retries: AtomicU64,
    pub inits: AtomicU64,
    pub init_micros: AtomicU64,
    /// Invocations a process ran (after its init, if it had one) and their time in all.
    pub runs: AtomicU64,
    pub run_micros: AtomicU64,
    /// What Lambda would bill: each run's duration and each init's, rounded up to 1 ms.
    pub billed_ms: AtomicU64,
}

/// A fault the emulation injects at its Runtime API for one invocation (never through the
/// packaged code): tests make a real function fail the way Lambda would report it.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this error type instead of invoking the process.
    Error { error_type: String, message: String },
    /// Deliver the event but hold the function's answer past its timeout.
    Hold,
    /// Kill the process once it has the event.
    Kill,
    /// Let the function run, then answer with what this makes of the event instead of
    /// the function's answer (e.g. a stream batch's `batchItemFailures`): what the
    /// function did stays done, as when its answer is lost or it reports a failure.
    Answer(fn(&serde_json::Value) -> serde_json::Value),
}

/// How an invocation found its process, for the per-invocation debug line.
#[derive(Debug, Clone, Copy)]
enum Start {
    /// Answered without a process (an injected error, a throttle).
    None,
    /// A new process, its init included.
    Init,
    /// A process that had finished an invocation before.
    Warm,
}

impl Start {
    fn as_str(self) -> &'static str {
        match self {
            Start::None => "none",
            Start::Init => "init",
            Start::Warm => "warm",
        }
    }
}

/// How processes are started: the packaged `bootstrap`, and the variables the emulation
/// adds to the template's (the documented overrides, and what Lambda itself sets).
#[derive(Debug, Clone)]
pub struct Launch {
    pub bootstrap: PathBuf,
    pub extra_env: BTreeMap<String, String>,
    /// Most processes (concurrent invocations) at once.
    pub max_processes: usize,
}

/// One invocation waiting for (or being served by) a process.
struct Pending {
    request_id: String,
    payload: Bytes,
    deadline_ms: u64,
    answer: oneshot::Sender<Result<Bytes, InvokeError>>,
}

/// What a process's Runtime API endpoint shares with the invoker.
#[derive(Default)]
struct SandboxShared {
    next: Mutex<Option<Pending>>,
    in_flight: Mutex<Option<Pending>>,
    posted: Notify,
    /// The process took the posted invocation.
    taken: Notify,
    ready: Notify,
    initialised: Mutex<Option<Instant>>,
}

struct Sandbox {
    shared: Arc<SandboxShared>,
    child: tokio::process::Child,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.server.abort();
        // kill_on_drop ends the process.
    }
}

/// The execution environments of one function.
pub struct FunctionPool {
    pub spec: FunctionSpec,
    launch: Launch,
    idle: Mutex<Vec<Sandbox>>,
    live: AtomicU64,
    pub stats: FunctionStats,
    /// What its processes wrote to stdout: its log group.
    pub logs: Arc<LogGroup>,
    request_ids: AtomicU64,
    /// Faults by invocation number (1-based, counted over the pool's life).
    faults: Mutex<BTreeMap<u64, Fault>>,
}

impl FunctionPool {
    pub fn new(spec: FunctionSpec, launch: Launch) -> Arc<Self> {
        Arc::new(FunctionPool {
            spec,
            launch,
            idle: Mutex::new(Vec::new()),
            live: AtomicU64::new(0),
            stats: FunctionStats::default(),
            logs: LogGroup::new(),
            request_ids: AtomicU64::new(0),
            faults: Mutex::new(BTreeMap::new()),
        })
    }

    /// The `nth` invocation (1-based) from now on meets `fault`.
    pub fn inject(&self, nth: u64, fault: Fault) {
        let base = self.stats.invocations.load(Ordering::Relaxed);
        self.faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(base + nth, fault);
    }

    /// Processes alive now (idle or invoking).
    pub fn processes(&self) -> u64 {
        self.live.load(Ordering::Relaxed)
    }

    /// Invokes the function with `payload` and returns its answer (the JSON it posted).
    pub async fn invoke(&self, payload: &Value) -> Result<Value, InvokeError> {
        let started = Instant::now();
        let mut start = Start::None;
        let result = self
            .invoke_bytes(Bytes::from(payload.to_string()), &mut start)
            .await;
        let outcome = match &result {
            Ok(_) => "ok".to_string(),
            Err(e) => e.states_error(),
        };
        tracing::debug!(function = %self.spec.binary, duration_ms = started.elapsed().as_millis() as u64, start = start.as_str(), outcome, "invocation");
        let body = result?;
        serde_json::from_slice(&body).map_err(|e| InvokeError::Function {
            error_type: "Runtime.InvalidResponse".into(),
            message: e.to_string(),
        })
    }

    async fn invoke_bytes(&self, payload: Bytes, start: &mut Start) -> Result<Bytes, InvokeError> {
        let number = self.stats.invocations.fetch_add(1, Ordering::Relaxed) + 1;
        let fault = self
            .faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&number);
        if let Some(Fault::Error {
            error_type,
            message,
        }) = &fault
        {
            self.stats.errors.fetch_add(1, Ordering::Relaxed);
            return Err(InvokeError::Function {
                error_type: error_type.clone(),
                message: message.clone(),
            });
        }
        let taken = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut sandbox = match taken {
            Some(s) => {
                *start = Start::Warm;
                s
            }
            None => {
                let live = self.live.fetch_add(1, Ordering::Relaxed) as usize;
                if live >= self.launch.max_processes {
                    self.live.fetch_sub(1, Ordering::Relaxed);
                    self.stats.throttles.fetch_add(1, Ordering::Relaxed);
                    return Err(InvokeError::Throttled(self.launch.max_processes));
                }
                *start = Start::Init;
                match self.spawn().await {
                    Ok(s) => s,
                    Err(e) => {
                        self.live.fetch_sub(1, Ordering::Relaxed);
                        self.stats.errors.fetch_add(1, Ordering::Relaxed);
                        return Err(e);
                    }
                }
            }
        };
        let run_started = Instant::now();
        let result = self.run(&mut sandbox, payload, fault).await;
        self.stats.runs.fetch_add(1, Ordering::Relaxed);
        self.stats.run_micros.fetch_add(
            u64::try_from(run_started.elapsed().as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.stats.billed_ms.fetch_add(
            zts_cost::units::lambda_billed_ms(run_started.elapsed()),
            Ordering::Relaxed,
        );
        match &result {
            // The environment survives a function error, as on Lambda.
            Ok(_) | Err(InvokeError::Function { .. }) => self
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(sandbox),
            Err(_) => {
                self.live.fetch_sub(1, Ordering::Relaxed);
                drop(sandbox);
            }
        }
        if let Err(e) = &result {
            self.stats.errors.fetch_add(1, Ordering::Relaxed);
            if matches!(e, InvokeError::TimedOut(_)) {
                self.stats.timeouts.fetch_add(1, Ordering::Relaxed);
            }
        }
        result
    }

    /// Starts a process and waits for its first `GET …/next` (the end of its init).
    async fn spawn(&self) -> Result<Sandbox, InvokeError> {
        let shared = Arc::new(SandboxShared::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| InvokeError::InitFailed(e.to_string()))?;
        let addr = listener
            .local_addr()
            .map_err(|e| InvokeError::InitFailed(e.to_string()))?;
        let app = runtime_api(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let spec = &self.spec;
        let mut command = tokio::process::Command::new(&self.launch.bootstrap);
        command
            .env_clear()
            .envs(&spec.environment)
            .envs(&self.launch.extra_env)
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &spec.name)
            .env(
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                spec.memory_mb.to_string(),
            )
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", spec.name),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "emulated")
            .env("_HANDLER", "bootstrap")
            .env("TZ", ":UTC")
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true);
        let started = Instant::now();
        let mut child = command.spawn().map_err(|e| {
            InvokeError::InitFailed(format!("{}: {e}", self.launch.bootstrap.display()))
        })?;
        if let Some(stdout) = child.stdout.take() {
            self.logs.capture(stdout);
        }
        let ready = shared.ready.notified();
        tokio::select! {
            _ = ready => {}
            status = child.wait() => {
                server.abort();
                return Err(InvokeError::InitFailed(format!("the process exited during init: {}", describe(status))));
            }
            _ = tokio::time::sleep(INIT_LIMIT) => {
                server.abort();
                return Err(InvokeError::InitFailed(format!("init took longer than {INIT_LIMIT:?}")));
            }
        }
        self.stats.inits.fetch_add(1, Ordering::Relaxed);
        self.stats
            .init_micros
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        // Lambda bills the init phase too.
        self.stats.billed_ms.fetch_add(
            zts_cost::units::lambda_billed_ms(started.elapsed()),
            Ordering::Relaxed,
        );
        tracing::debug!(function = %spec.binary, init_ms = started.elapsed().as_millis() as u64, "init");
        Ok(Sandbox {
            shared,
            child,
            server,
        })
    }

    /// One invocation on `sandbox`, within the function's timeout and memory.
    async fn run(
        &self,
        sandbox: &mut Sandbox,
        payload: Bytes,
        fault: Option<Fault>,
    ) -> Result<Bytes, InvokeError> {
        let timeout = self.spec.timeout;
        let (tx, rx) = oneshot::channel();
        let fault_kills = matches!(fault, Some(Fault::Kill));
        let event_for_answer = match &fault {
            Some(Fault::Answer(_)) => serde_json::from_slice(&payload).ok(),
            _ => None,
        };
        // Registered before the event is posted, so the hand-over cannot be missed.
        let taken = sandbox.shared.taken.notified();
        tokio::pin!(taken);
        taken.as_mut().enable();
        let request_id = format!(
            "emulated-{}-{}",
            self.spec.binary,
            self.request_ids.fetch_add(1, Ordering::Relaxed)
        );
        let deadline_ms = (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            + timeout)
            .as_millis() as u64;
        *sandbox
            .shared
            .next
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Pending {
            request_id,
            payload,
            deadline_ms,
            answer: tx,
        });
        sandbox.shared.posted.notify_one();
        let pid = sandbox.child.id();
        let limit_mb = self.spec.memory_mb;
        let memory = async move {
            loop {
                tokio::time::sleep(MEMORY_POLL).await;
                if let Some(used_mb) = pid.and_then(peak_rss_mb)
                    && used_mb > u64::from(limit_mb)
                {
                    return InvokeError::OutOfMemory { used_mb, limit_mb };
                }
            }
        };
        let answer = async move {
            match fault {
                Some(Fault::Hold) => std::future::pending().await,
                Some(Fault::Answer(make)) => {
                    let event = event_for_answer.unwrap_or_default();
                    rx.await
                        .map(|done| done.map(|_| Bytes::from(make(&event).to_string())))
                }
                _ => rx.await,
            }
        };
        if fault_kills {
            // Once the process has taken the event, as a crash mid-invocation would.
            let _ = tokio::time::timeout(timeout, taken).await;
            let _ = sandbox.child.start_kill();
        }
        tokio::select! {
            answer = answer => answer.unwrap_or_else(|_| Err(InvokeError::Crashed("the runtime API closed".into()))),
            status = sandbox.child.wait() => Err(InvokeError::Crashed(describe(status))),
            _ = tokio::time::sleep(timeout) => {
                let _ = sandbox.child.start_kill();
                Err(InvokeError::TimedOut(timeout))
            }
            e = memory => {
                let _ = sandbox.child.start_kill();
                Err(e)
            }
        }
    }
}

fn describe(status: std::io::Result<std::process::ExitStatus>) -> String {
    match status {
        Ok(s) => s.to_string(),
        Err(e) => e.to_string(),
    }
}

/// The process's peak resident set (`VmHWM`), in MB.
fn peak_rss_mb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

fn runtime_api(shared: Arc<SandboxShared>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(shared)
}

/// Blocks until an invocation is posted, then hands it over with Lambda's headers.
async fn next(State(shared): State<Arc<SandboxShared>>) -> Response {
    {
        let mut init = shared
            .initialised
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if init.is_none() {
            *init = Some(Instant::now());
            shared.ready.notify_one();
        }
    }
    loop {
        let posted = shared.posted.notified();
        let taken = shared
            .next
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(pending) = taken {
            let mut headers = HeaderMap::new();
            let put = |headers: &mut HeaderMap, name: &'static str, value: String| {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    headers.insert(name, v);
                }
            };
            put(
                &mut headers,
                "lambda-runtime-aws-request-id",
                pending.request_id.clone(),
            );
            put(
                &mut headers,
                "lambda-runtime-deadline-ms",
                pending.deadline_ms.to_string(),
            );
            put(
                &mut headers,
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:emulated".into(),
            );
            put(
                &mut headers,
                "lambda-runtime-trace-id",
                format!("Root=1-{}", pending.request_id),
            );
            let body = pending.payload.clone();
            shared.taken.notify_waiters();
            *shared
                .in_flight
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(pending);
            return (StatusCode::OK, headers, body).into_response();
        }
        posted.await;
    }
}

fn complete(shared: &SandboxShared, id: &str, result: Result<Bytes, InvokeError>) -> StatusCode {
    let mut in_flight = shared
        .in_flight
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    match in_flight.take() {
        Some(pending) if pending.request_id == id => {
            let _ = pending.answer.send(result);
            StatusCode::ACCEPTED
        }
        other => {
            *in_flight = other;
            StatusCode::BAD_REQUEST
        }
    }
}

async fn response(
    State(shared): State<Arc<SandboxShared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    complete(&shared, &id, Ok(body))
}

async fn error(
    State(shared): State<Arc<SandboxShared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let error = InvokeError::Function {
        error_type: parsed["errorType"]
            .as_str()
            .unwrap_or("Unhandled")
            .to_string(),
        message: parsed["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    };
    complete(&shared, &id, Err(error))
}

/// An init error ends the environment; the invoker sees the process exit.
async fn init_error(body: Bytes) -> StatusCode {
    tracing::warn!(error = %String::from_utf8_lossy(&body), "a function failed its init");
    StatusCode::ACCEPTED
}
