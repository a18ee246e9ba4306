//! Assembling and serving the local stack.

use crate::faults::{FaultRule, FaultyEngine};
use crate::gateway::socket::{self, OwnerSlots, SocketLimits, SocketState};
use crate::gateway::{Gateway, management};
use crate::server::{self, ConnectionCount, ServerLimits};
use crate::tasks::LocalTasks;
use crate::workflow::LocalWorkflow;
use axum::Router;
use axum::routing::get;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use zts_analysis::AnalysisEngine;
use zts_analysis::rules::RuleEngine;
use zts_domain::auth::{self, ApiKeyRecord, KeyStatus, Limits};
use zts_domain::pii::PiiPolicy;
use zts_domain::ports::{KeyStore, WorkflowStarter};
use zts_domain::reconcile::ReconcilePolicy;
use zts_domain::retention::Retention;
use zts_domain::{Owner, clock};
use zts_embedded::{EmbeddedStore, LiveConnections};

#[derive(Debug, Clone)]
pub enum DataLocation {
    Dir(PathBuf),
    /// A throwaway store, removed when the stack stops.
    InMemory,
}

#[derive(Debug, Clone)]
pub struct StackConfig {
    pub addr: SocketAddr,
    pub data: DataLocation,
    /// A key to register for the local owner (`--api-key`); without one, the first start
    /// of an empty store creates a key and reports it in [`RunningStack::generated_key`].
    pub api_key: Option<String>,
    /// Limits for keys created without their own.
    pub default_limits: Limits,
    pub http: api::HttpConfig,
    /// Messages a WebSocket connection may have unsent before it is disconnected.
    pub ws_queue_capacity: usize,
    /// How often the reconciler looks for projects whose run never started.
    pub reconcile_every: Duration,
    /// Its deadline and run budget (ARCHITECTURE.md §7).
    pub reconcile: ReconcilePolicy,
    /// Test-only fault injection; empty in every normal run.
    pub faults: Vec<FaultRule>,
    /// What PII redaction knows (`--pii-regions`).
    pub pii: PiiPolicy,
    /// Header read and idle timeouts, the connection cap (`--max-connections`, …).
    pub server: ServerLimits,
    /// WebSocket limits: per owner, idle, age (`--ws-per-owner`, …).
    pub sockets: SocketLimits,
    /// How long ended projects are kept before the reconciler's pass removes them
    /// (`--retention-days`).
    pub retention: Retention,
    /// Where the workflows' definitions come from (`--definitions-root`).
    pub definitions: crate::definitions::Source,
    /// The watchdog: the most state transitions one execution may make
    /// (`--max-transitions`).
    pub max_transitions: u64,
}

impl StackConfig {
    pub fn new(addr: SocketAddr, data: DataLocation) -> Self {
        StackConfig {
            addr,
            data,
            api_key: None,
            default_limits: Limits::DEFAULT,
            http: api::HttpConfig::default(),
            ws_queue_capacity: 1_024,
            reconcile_every: Duration::from_secs(10),
            reconcile: ReconcilePolicy::DEFAULT,
            faults: Vec::new(),
            pii: PiiPolicy::default(),
            server: ServerLimits::default(),
            sockets: SocketLimits::default(),
            retention: Retention::default(),
            definitions: Default::default(),
            max_transitions: zts_domain::workflows::MAX_TRANSITIONS_DEFAULT,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error("cannot open the store: {0}")]
    Store(#[from] zts_domain::ports::StoreError),
    #[error("a workflow definition is refused: {0}")]
    Definition(#[from] crate::definitions::DefinitionError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the API key is not usable: {0}")]
    ApiKey(String),
    #[error("cannot resume executions: {0}")]
    Resume(#[from] zts_domain::ports::WorkflowError),
}

pub struct RunningStack {
    pub addr: SocketAddr,
    pub store: Arc<EmbeddedStore>,
    pub workflow: LocalWorkflow,
    pub gateway: Arc<Gateway>,
    /// The live WebSocket connections and their subscriptions (in memory).
    pub connections: Arc<LiveConnections>,
    /// Executions resumed from a previous process at start.
    pub resumed: usize,
    /// The key this start created (first start of an empty store, no `--api-key`): print it.
    pub generated_key: Option<String>,
    /// What the operator should know before traffic arrives (a descriptor limit too low
    /// for the connection cap): `zts serve` prints each.
    pub warnings: Vec<String>,
    /// Open connections, HTTP and WebSocket.
    pub open_connections: ConnectionCount,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<()>,
}

impl RunningStack {
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Stops accepting, closes WebSockets with "going away", and waits for the server.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.server.await;
    }

    /// Runs until Ctrl-C (or SIGTERM), then shuts down gracefully.
    pub async fn serve_until_signal(self) {
        shutdown_signal().await;
        tracing::info!("shutting down");
        self.shutdown().await;
    }
}

#[allow(
    clippy::expect_used,
    reason = "installing a signal handler fails only without a tokio runtime"
)]
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("a SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

pub async fn start(config: StackConfig) -> Result<RunningStack, StackError> {
    let store = Arc::new(match &config.data {
        DataLocation::Dir(dir) => EmbeddedStore::open(dir)?.with_retention(config.retention),
        DataLocation::InMemory => EmbeddedStore::in_memory()?.with_retention(config.retention),
    });
    let generated_key = ensure_key(&store, config.api_key.as_deref()).await?;
    let engine: Arc<dyn AnalysisEngine> = if config.faults.is_empty() {
        Arc::new(RuleEngine)
    } else {
        Arc::new(FaultyEngine::new(RuleEngine, config.faults.clone()))
    };
    let machines = crate::definitions::load_all(&config.definitions, config.max_transitions)?;
    let local_tasks = Arc::new(LocalTasks {
        store: store.clone(),
        engine,
    });
    let workflow = LocalWorkflow::new(machines, local_tasks, store.clone());
    let gateway = Arc::new(Gateway::new(config.ws_queue_capacity));
    let connections = Arc::new(LiveConnections::new());
    // The numbering plans load once, at start (nothing is served yet, so blocking here
    // delays nobody), not on the first create.
    config.pii.warm_up();

    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|source| StackError::Bind {
            addr: config.addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StackError::Bind {
        addr: config.addr,
        source,
    })?;
    let (shutdown, shutdown_rx) = watch::channel(false);
    let open = ConnectionCount::default();
    let warnings: Vec<String> =
        server::descriptor_warning(config.server.max_connections, server::open_files_limit())
            .into_iter()
            .collect();
    for warning in &warnings {
        tracing::warn!("{warning}");
    }

    let api = api::router(api::Api {
        projects: store.clone(),
        workflow: Arc::new(workflow.clone()) as Arc<dyn WorkflowStarter>,
        keys: store.clone(),
        websocket: api::WebSocketUrls {
            connect: format!("ws://{addr}/ws"),
            per_project_paths: true,
        },
        pii: config.pii.clone(),
        push: gateway.clone(),
        counts: Default::default(),
    });
    let sockets = Router::new()
        .route("/ws", get(socket::root))
        .route("/ws/projects/{id}", get(socket::project))
        .with_state(SocketState {
            store: store.clone(),
            connections: connections.clone(),
            gateway: gateway.clone(),
            shutdown: shutdown_rx.clone(),
            endpoint: format!("http://{addr}"),
            limits: config.sockets,
            owners: OwnerSlots::default(),
            open: open.clone(),
        });
    let management = Router::new()
        .route(
            "/@connections/{id}",
            axum::routing::post(management::post)
                .get(management::get)
                .delete(management::delete),
        )
        .with_state(gateway.clone());
    let stats = Router::new()
        .route(crate::stats::PATH, get(crate::stats::get))
        .with_state(crate::stats::StatsState {
            store: store.clone(),
            workflow: workflow.clone(),
        });
    let auth = api::Auth {
        keys: store.clone(),
        default_limits: config.default_limits,
        // The local gateway's sockets are mounted beside the api: connects take tickets.
        websocket_tickets: true,
    };
    // The Management API is outside authentication: on AWS it is IAM's, here loopback's;
    // so are the stack's counters, which hold no data.
    let app = api::with_auth(api.merge(sockets), auth)
        .merge(management)
        .merge(stats)
        .layer(axum::middleware::from_fn_with_state(
            config.server.body_read_timeout,
            server::body_deadline,
        ));
    let app = api::with_envelope(app, &config.http);

    spawn_broadcaster(store.clone(), connections.clone(), gateway.clone());
    let resumed = workflow.resume_all().await?;
    if resumed > 0 {
        tracing::info!(resumed, "resumed executions that were in flight");
    }
    workflow.spawn_reconciler(
        config.reconcile_every,
        config.reconcile,
        connections.clone(),
    );

    let server = tokio::spawn(server::serve(
        listener,
        app,
        config.server,
        open.clone(),
        shutdown_rx,
    ));
    Ok(RunningStack {
        addr,
        store,
        workflow,
        gateway,
        connections,
        resumed,
        generated_key,
        warnings,
        open_connections: open,
        shutdown,
        server,
    })
}

/// Feeds every committed event, in commit order, to the broadcaster.
fn spawn_broadcaster(
    store: Arc<EmbeddedStore>,
    connections: Arc<LiveConnections>,
    gateway: Arc<Gateway>,
) {
    let mut events = store.committed_events();
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if let Err(e) = broadcaster::broadcast(
                        &*connections,
                        &*store,
                        &*gateway,
                        &event,
                        broadcaster::Ordering::ByGateway,
                    )
                    .await
                    {
                        tracing::warn!(error = %e, project_id = %event.project_id, seq = event.seq, "broadcast failed; clients fill the gap by seq");
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        missed,
                        "the broadcaster fell behind; clients fill gaps from GET …/events"
                    );
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

/// The owner local keys belong to.
#[allow(clippy::expect_used, reason = "\"local\" is a valid owner")]
pub fn local_owner() -> Owner {
    Owner::parse("local").expect("a valid owner")
}

/// Registers `--api-key` if it is new; on an empty store without one, creates a key.
async fn ensure_key(
    store: &EmbeddedStore,
    api_key: Option<&str>,
) -> Result<Option<String>, StackError> {
    let record = |secret: &str| ApiKeyRecord {
        key_hash: auth::hash(secret),
        owner: local_owner(),
        status: KeyStatus::Active,
        limits: None,
        created_at: clock::now(),
        expires_at: None,
        revoked_at: None,
    };
    match api_key {
        Some(key) => {
            if key.len() < 8 || !key.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(StackError::ApiKey(
                    "use at least 8 visible ASCII characters".into(),
                ));
            }
            if store.get_key(&auth::hash(key)).await?.is_none() {
                store.put_key(record(key)).await?;
            }
            Ok(None)
        }
        None if store.list_keys().await?.is_empty() => {
            let key = auth::new_key();
            store.put_key(record(&key)).await?;
            Ok(Some(key))
        }
        None => Ok(None),
    }
}
