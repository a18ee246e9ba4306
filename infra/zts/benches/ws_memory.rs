//! Memory per idle WebSocket connection on the local stack (README "Hardening"): starts
//! `zts serve` as its own process, reads its resident memory, opens N subscribed
//! WebSockets that then sit idle, and reads it again.
//! `cargo bench -p zts --bench ws_memory [-- N]` (default 2,000).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark binary"
)]

use futures_util::SinkExt;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const KEY: &str = "zts_bench_ws_memory_key_0000000000000";

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2_000);
    let mut server = Command::new(env!("CARGO_BIN_EXE_zts"))
        .args([
            "serve",
            "--in-memory",
            "--addr",
            "127.0.0.1:0",
            "--api-key",
            KEY,
        ])
        .args(["--ws-per-owner", "1000000", "--max-connections", "1000000"])
        .args(["--rate", "1000000", "--burst", "1000000"])
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("zts starts");
    let pid = server.id();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().unwrap().unwrap();
        if let Some(at) = line.find("http://") {
            let addr = line[at + 7..]
                .split_whitespace()
                .next()
                .unwrap()
                .to_string();
            break format!("ws://{addr}/ws");
        }
    };
    // Warm the server (one connection) so start-up allocations are not counted.
    let mut sockets = Vec::with_capacity(n + 1);
    let connect = |url: String| async move {
        let mut request = url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("x-api-key", KEY.parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let subscribe = serde_json::json!({"action": "subscribe", "project_id": "p-00000000000000000000000000", "after_seq": 0});
        let _ = ws.send(Message::Text(subscribe.to_string().into())).await;
        ws
    };
    sockets.push(connect(url.clone()).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib(pid);
    for _ in 0..n {
        sockets.push(connect(url.clone()).await);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(pid);
    println!(
        "{n} idle WebSockets: server RSS {before} KiB -> {after} KiB, {:.1} KiB per connection",
        (after.saturating_sub(before)) as f64 / n as f64
    );
    drop(sockets);
    let _ = server.kill();
    let _ = server.wait();
}
