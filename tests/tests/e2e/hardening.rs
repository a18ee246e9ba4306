//! A misbehaving client against the local stack (README "Hardening"): half-open and idle
//! connections are closed, the connection cap answers 503 with Retry-After while open
//! connections keep working, an owner over its WebSocket cap gets 429 (others do not), and
//! idle or old WebSockets are closed with 1001. Limits are set small so each runs in seconds.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zts::{ServerLimits, SocketLimits};
use zts_domain::auth::{self, ApiKeyRecord, KeyStatus};
use zts_domain::ports::KeyStore;
use zts_domain::{Owner, clock};
use zts_tests::*;

async fn stack_with_limits(server: ServerLimits, sockets: SocketLimits) -> zts::RunningStack {
    let mut config = config(zts::DataLocation::InMemory);
    config.server = server;
    config.sockets = sockets;
    zts::start(config).await.expect("the stack starts")
}

/// Reads until the peer closes; the bytes read. Fails if it stays open past `within`.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("the server closed the connection in time");
    all
}

fn short_headers() -> ServerLimits {
    ServerLimits {
        header_read_timeout: Duration::from_secs(1),
        ..ServerLimits::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_headers_are_cut_off_by_the_header_timeout() {
    let stack = stack_with_limits(short_headers(), SocketLimits::default()).await;
    let mut stream = TcpStream::connect(stack.addr).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "closed before the timeout"
    );
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed() {
    let stack = stack_with_limits(short_headers(), SocketLimits::default()).await;
    let mut stream = TcpStream::connect(stack.addr).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Kept alive, then silent: closed after the timeout.
    let rest = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(rest.is_empty() || !String::from_utf8_lossy(&rest).contains("HTTP/1.1 200"));
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_new_connections_get_503_and_open_ones_keep_working() {
    let server = ServerLimits {
        max_connections: 3,
        header_read_timeout: Duration::from_secs(30),
        retry_after: Duration::from_secs(7),
        ..ServerLimits::default()
    };
    let stack = stack_with_limits(server, SocketLimits::default()).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(stack.addr).await.unwrap());
    }
    // The server counts a connection once it accepts it.
    for _ in 0..100 {
        if stack.open_connections.get() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut extra = TcpStream::connect(stack.addr).await.unwrap();
    extra
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer =
        String::from_utf8(read_until_closed(&mut extra, Duration::from_secs(5)).await).unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.to_lowercase().contains("retry-after: 7"), "{answer}");
    assert!(answer.contains(r#""code":"unavailable""#), "{answer}");
    // A connection it already has is still served.
    let first = &mut held[0];
    first
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = first.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    drop(held);
    stack.shutdown().await;
}

async fn key_for(stack: &zts::RunningStack, owner: &str) -> String {
    let key = auth::new_key();
    stack
        .store
        .put_key(ApiKeyRecord {
            key_hash: auth::hash(&key),
            owner: Owner::parse(owner).unwrap(),
            status: KeyStatus::Active,
            limits: None,
            created_at: clock::now(),
            expires_at: None,
            revoked_at: None,
        })
        .await
        .unwrap();
    key
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_over_its_websocket_cap_gets_429_others_do_not_and_a_closed_slot_frees() {
    let sockets = SocketLimits {
        per_owner: 2,
        ..SocketLimits::default()
    };
    let stack = stack_with_limits(ServerLimits::default(), sockets).await;
    let url = format!("{}/ws", stack.ws_url());
    let mut first = Ws::try_connect(&url, Some(TEST_KEY)).await.unwrap();
    let _second = Ws::try_connect(&url, Some(TEST_KEY)).await.unwrap();
    assert_eq!(Ws::try_connect(&url, Some(TEST_KEY)).await.err(), Some(429));
    // Another owner is unaffected.
    let other = key_for(&stack, "other-tenant").await;
    let _theirs = Ws::try_connect(&url, Some(&other)).await.unwrap();
    first.send(serde_json::json!({"action": "ping"})).await;
    drop(first);
    let mut reconnected = None;
    for _ in 0..100 {
        match Ws::try_connect(&url, Some(TEST_KEY)).await {
            Ok(ws) => {
                reconnected = Some(ws);
                break;
            }
            Err(status) => assert_eq!(status, 429),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        reconnected.is_some(),
        "the closed connection's slot never came back"
    );
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_connects_racing_for_the_last_slot_produce_one_connection() {
    let sockets = SocketLimits {
        per_owner: 3,
        ..SocketLimits::default()
    };
    let stack = stack_with_limits(ServerLimits::default(), sockets).await;
    let url = format!("{}/ws", stack.ws_url());
    let _a = Ws::try_connect(&url, Some(TEST_KEY)).await.unwrap();
    let _b = Ws::try_connect(&url, Some(TEST_KEY)).await.unwrap();
    let racers = (0..6).map(|_| Ws::try_connect(&url, Some(TEST_KEY)));
    let results = futures_util::future::join_all(racers).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    let refused = results
        .iter()
        .filter(|r| r.as_ref().err() == Some(&429))
        .count();
    assert_eq!((won, refused), (1, 5));
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_websocket_is_closed_with_1001_after_the_idle_timeout() {
    let sockets = SocketLimits {
        idle: Duration::from_secs(1),
        ..SocketLimits::default()
    };
    let stack = stack_with_limits(ServerLimits::default(), sockets).await;
    let mut ws = Ws::try_connect(&format!("{}/ws", stack.ws_url()), Some(TEST_KEY))
        .await
        .unwrap();
    let (code, reason) = ws.close_reason().await.expect("a close frame");
    assert_eq!(code, 1001);
    assert!(reason.contains("nothing received for 1 s"), "{reason}");
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_is_closed_with_1001_at_its_maximum_age_even_when_active() {
    let sockets = SocketLimits {
        idle: Duration::from_secs(30),
        max_age: Duration::from_secs(2),
        ..SocketLimits::default()
    };
    let stack = stack_with_limits(ServerLimits::default(), sockets).await;
    let url = format!("{}/ws", stack.ws_url());
    let mut ws = Ws::try_connect(&url, Some(TEST_KEY)).await.unwrap();
    let started = std::time::Instant::now();
    for _ in 0..5 {
        ws.send(serde_json::json!({"action": "ping"})).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (code, reason) = ws.close_reason().await.expect("a close frame");
    assert_eq!(code, 1001);
    assert!(reason.contains("maximum age"), "{reason}");
    assert!(started.elapsed() >= Duration::from_millis(1_900));
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_descriptor_limit_below_the_cap_is_warned_about_at_start() {
    let limit = zts::server::open_files_limit().expect("Linux reports its limits");
    let server = ServerLimits {
        max_connections: usize::try_from(limit).unwrap() + 1_000,
        ..ServerLimits::default()
    };
    let stack = stack_with_limits(server, SocketLimits::default()).await;
    assert_eq!(stack.warnings.len(), 1, "{:?}", stack.warnings);
    assert!(
        stack.warnings[0].contains("open-file limit"),
        "{:?}",
        stack.warnings
    );
    stack.shutdown().await;
    let fits = stack_with_limits(ServerLimits::default(), SocketLimits::default()).await;
    let default_fits = limit >= ServerLimits::default().max_connections as u64 + 64;
    assert_eq!(fits.warnings.is_empty(), default_fits);
    fits.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_slower_than_the_body_timeout_gets_408_and_a_prompt_one_is_served() {
    let server = ServerLimits {
        body_read_timeout: Duration::from_secs(1),
        ..ServerLimits::default()
    };
    let stack = stack_with_limits(server, SocketLimits::default()).await;
    let mut slow = TcpStream::connect(stack.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/projects HTTP/1.1\r\nHost: x\r\nx-api-key: {TEST_KEY}\r\n\
         content-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"name\":"
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), slow.read(&mut buf))
        .await
        .expect("an answer in time")
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"request_timeout""#), "{answer}");
    assert!(started.elapsed() >= Duration::from_millis(900));
    // Nothing was created; a body sent at once is served.
    let http = Http::new(&stack);
    let (_, list) = http.get("/api/v1/projects").await;
    assert_eq!(list["projects"].as_array().map(Vec::len), Some(0), "{list}");
    http.create(&idea("Prompt body")).await;
    stack.shutdown().await;
}
