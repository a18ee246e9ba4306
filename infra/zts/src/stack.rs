//! Assembling and serving the local stack.

use crate::faults::{FaultRule, FaultyEngine};
use crate::gateway::socket::{self, SocketState};
use crate::gateway::{Gateway, management};
use crate::tasks::{self, LocalTasks};
use crate::workflow::LocalWorkflow;
use axum::Router;
use axum::routing::get;
use shared::analysis::AnalysisEngine;
use shared::analysis::rules::RuleEngine;
use shared::embedded::EmbeddedStore;
use shared::{Owner, ports::WorkflowStarter};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

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
    /// Until API keys exist, every request acts as this owner.
    pub owner: Owner,
    /// Messages a WebSocket connection may have unsent before it is disconnected.
    pub ws_queue_capacity: usize,
    /// How often the reconciler looks for projects left CREATED.
    pub reconcile_every: Duration,
    /// Test-only fault injection; empty in every normal run.
    pub faults: Vec<FaultRule>,
}

impl StackConfig {
    pub fn new(addr: SocketAddr, data: DataLocation) -> Self {
        StackConfig {
            addr,
            data,
            owner: Owner::parse("local").expect("a valid owner"),
            ws_queue_capacity: 1_024,
            reconcile_every: Duration::from_secs(10),
            faults: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error("cannot open the store: {0}")]
    Store(#[from] shared::ports::StoreError),
    #[error("statemachine.asl.json does not load: {0}")]
    Definition(#[from] asl::LoadError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot resume executions: {0}")]
    Resume(#[from] shared::ports::WorkflowError),
}

pub struct RunningStack {
    pub addr: SocketAddr,
    pub store: Arc<EmbeddedStore>,
    pub workflow: LocalWorkflow,
    pub gateway: Arc<Gateway>,
    /// Executions resumed from a previous process at start.
    pub resumed: usize,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
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
        DataLocation::Dir(dir) => EmbeddedStore::open(dir)?,
        DataLocation::InMemory => EmbeddedStore::in_memory()?,
    });
    let engine: Arc<dyn AnalysisEngine> = if config.faults.is_empty() {
        Arc::new(RuleEngine)
    } else {
        Arc::new(FaultyEngine::new(RuleEngine, config.faults.clone()))
    };
    let definition = asl::load(crate::STATE_MACHINE, &tasks::substitutions())?;
    let machine = asl::Machine::new(definition, "zts");
    let local_tasks = Arc::new(LocalTasks {
        store: store.clone(),
        engine,
    });
    let workflow = LocalWorkflow::new(machine, local_tasks, store.clone());
    let gateway = Arc::new(Gateway::new(config.ws_queue_capacity));

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

    let api = api::router(api::Api {
        projects: store.clone(),
        workflow: Arc::new(workflow.clone()) as Arc<dyn WorkflowStarter>,
        websocket_base: format!("ws://{addr}"),
    });
    let sockets = Router::new()
        .route("/ws", get(socket::root))
        .route("/ws/projects/{id}", get(socket::project))
        .with_state(SocketState {
            store: store.clone(),
            gateway: gateway.clone(),
            shutdown: shutdown_rx.clone(),
            endpoint: format!("http://{addr}"),
        });
    let management = Router::new()
        .route(
            "/@connections/{id}",
            axum::routing::post(management::post)
                .get(management::get)
                .delete(management::delete),
        )
        .with_state(gateway.clone());
    let app = api
        .merge(sockets)
        .layer(axum::middleware::from_fn_with_state(
            config.owner.clone(),
            api::fixed_owner,
        ))
        .merge(management);
    let app = api::with_envelope(app);

    spawn_broadcaster(store.clone(), gateway.clone());
    let resumed = workflow.resume_all().await?;
    if resumed > 0 {
        tracing::info!(resumed, "resumed executions that were in flight");
    }
    workflow.spawn_reconciler(config.reconcile_every);

    let mut stop = shutdown_rx;
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
    });
    Ok(RunningStack {
        addr,
        store,
        workflow,
        gateway,
        resumed,
        shutdown,
        server,
    })
}

/// Feeds every committed event, in commit order, to the broadcaster.
fn spawn_broadcaster(store: Arc<EmbeddedStore>, gateway: Arc<Gateway>) {
    let mut events = store.committed_events();
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if let Err(e) = broadcaster::broadcast(&*store, &*gateway, &event).await {
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
