//! The local stack's accept loop, with the limits a production HTTP server has and
//! `axum::serve` lacks (ARCHITECTURE.md §5, README "Hardening"): a header read timeout,
//! which hyper also applies to a keep-alive connection waiting for its next request (so it
//! doubles as the idle timeout), and a cap on open connections (HTTP and WebSocket
//! together) past which a new connection gets `503` with `Retry-After` instead of the
//! process running out of file descriptors.

use api::envelope::Failure;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use zts_domain::error::{AppError, ErrorCode};

/// What the accept loop enforces. Every field is a `zts serve` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// Open connections (HTTP and WebSocket) past which new ones are refused with 503.
    pub max_connections: usize,
    /// How long a client may take to send a request's headers, and how long a keep-alive
    /// connection may sit idle before its next request.
    pub header_read_timeout: Duration,
    /// What a refused connection is told to wait.
    pub retry_after: Duration,
    /// How long a request body may take to arrive; a slower one gets 408.
    pub body_read_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_connections: 4_096,
            header_read_timeout: Duration::from_secs(10),
            retry_after: Duration::from_secs(5),
            body_read_timeout: Duration::from_secs(30),
        }
    }
}

/// Open connections: HTTP connections counted here, WebSockets by whoever holds them.
#[derive(Debug, Clone, Default)]
pub struct ConnectionCount(Arc<AtomicUsize>);

impl ConnectionCount {
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    /// Counts one connection until the guard drops.
    pub fn hold(&self) -> ConnectionGuard {
        self.0.fetch_add(1, Ordering::Relaxed);
        ConnectionGuard(self.0.clone())
    }
}

pub struct ConnectionGuard(Arc<AtomicUsize>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves `app` until `stop` turns true, then lets open requests finish (at most 10 s).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    open: ConnectionCount,
    mut stop: watch::Receiver<bool>,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let mut connections = JoinSet::new();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors or a reset before accept: wait a moment, go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            () = async { let _ = stop.wait_for(|s| *s).await; } => break,
        };
        // Events are small frames written one by one: with Nagle's algorithm a frame waits
        // for the previous one's ACK, which a client may delay by 40 ms.
        let _ = stream.set_nodelay(true);
        if open.get() >= limits.max_connections {
            tokio::spawn(refuse(stream, limits.retry_after));
            continue;
        }
        let guard = open.hold();
        let service = TowerToHyperService::new(app.clone());
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        let mut stop = stop.clone();
        connections.spawn(async move {
            let _guard = guard;
            let mut connection = std::pin::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                () = async { let _ = stop.wait_for(|s| *s).await; } => {
                    // Finish the request in flight, then close.
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    let drained = tokio::time::timeout(Duration::from_secs(10), async {
        while connections.join_next().await.is_some() {}
    });
    if drained.await.is_err() {
        connections.abort_all();
    }
}

/// Answers a connection over the cap with 503 and `Retry-After`, in the API's error shape,
/// after reading its request head (a response sent before the request is read can be lost
/// to a TCP reset).
async fn refuse(mut stream: TcpStream, retry_after: Duration) {
    let mut head = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.read(&mut head)).await;
    let seconds = retry_after.as_secs().max(1);
    let body = format!(
        r#"{{"error":{{"code":"unavailable","message":"the server is at its connection limit; retry in {seconds} s","details":[]}}}}"#
    );
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: {seconds}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// The process's soft limit on open files, where the OS says it (Linux: /proc).
pub fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// A warning when the descriptor limit cannot hold the connection cap (each connection is
/// one descriptor; the store and the runtime need some too).
pub fn descriptor_warning(max_connections: usize, limit: Option<u64>) -> Option<String> {
    const RESERVED: u64 = 64;
    let limit = limit?;
    let needed = max_connections as u64 + RESERVED;
    (limit < needed).then(|| {
        format!(
            "the open-file limit is {limit}, below the {needed} that --max-connections {max_connections} needs; \
             raise it (ulimit -n {needed}) or lower --max-connections, or the server will refuse \
             connections by running out of descriptors instead of with 503"
        )
    })
}

/// Reads a request's body within `limit` (a client trickling its body would otherwise hold
/// a connection and a task as long as it likes): late gets 408 `request_timeout`, more than
/// `BODY_BUFFER_MAX` gets 413. Requests without a body pass straight through (WebSocket
/// upgrades among them).
pub async fn body_deadline(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    let has_body = req.headers().contains_key(header::TRANSFER_ENCODING)
        || req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|n| n > 0);
    if !has_body {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    match tokio::time::timeout(limit, axum::body::to_bytes(body, BODY_BUFFER_MAX)).await {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(Err(_)) => Failure(AppError::new(
            ErrorCode::PayloadTooLarge,
            format!("the body is over {BODY_BUFFER_MAX} bytes"),
        ))
        .into_response(),
        Err(_) => Failure(AppError::new(
            ErrorCode::RequestTimeout,
            format!(
                "the request body did not arrive within {} s; send it again",
                limit.as_secs()
            ),
        ))
        .into_response(),
    }
}

/// The most a body is buffered to: above any route's own limit (the api's is 64 KiB, the
/// Management API's 128 KiB), which each route still enforces.
const BODY_BUFFER_MAX: usize = 256 * 1024;
