//! `GET /metrics` for Prometheus (ARCHITECTURE.md §11): the metrics of
//! `zts_domain::metrics`, in Prometheus's text format, on a listener of their own
//! (`zts serve --metrics-addr`), as Prometheus exporters usually are. Nothing on it needs a
//! key because nothing on it names a key, an owner or a project: every label is one of the
//! low-cardinality ones the definitions allow. Off unless asked for.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

/// Histogram buckets (seconds) for step and request durations: a step takes milliseconds
/// to a few seconds, its task at most 13 s (ARCHITECTURE.md §7).
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How often histograms drop what they no longer need.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Prometheus's text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("could not install the metrics recorder: {0}")]
    Recorder(String),
    #[error("could not listen for /metrics on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// A recorder built the way `zts serve` installs one (for tests that install it locally).
pub fn recorder() -> Result<metrics_exporter_prometheus::PrometheusRecorder, MetricsError> {
    Ok(builder()?.build_recorder())
}

fn builder() -> Result<PrometheusBuilder, MetricsError> {
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
        .map_err(|e| MetricsError::Recorder(e.to_string()))
}

/// The process's recorder, installed once (the `metrics` facade has one global).
fn install() -> Result<PrometheusHandle, MetricsError> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let handle = builder()?
        .install_recorder()
        .map_err(|e| MetricsError::Recorder(e.to_string()))?;
    zts_domain::metrics::describe();
    zts_domain::metrics::cold_start();
    let handle = HANDLE.get_or_init(|| handle).clone();
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(UPKEEP_EVERY);
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

/// Installs the recorder and serves `GET /metrics` on `addr`; answers the endpoint's URL.
pub async fn serve(addr: SocketAddr) -> Result<String, MetricsError> {
    let handle = install()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| MetricsError::Listen { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| MetricsError::Listen { addr, source })?;
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let text = handle.render();
            async move { ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response() }
        }),
    );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
    Ok(format!("http://{bound}/metrics"))
}
