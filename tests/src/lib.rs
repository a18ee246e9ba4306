//! Helpers for the end-to-end tests: a local stack on an ephemeral port, a small HTTP
//! client, and a WebSocket client that reads JSON messages with a deadline.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "the test kit: a failed expectation is a failed test"
)]

pub mod browser;
pub mod dynamodb;
pub mod packages;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use zts::faults::FaultRule;
use zts::{DataLocation, RunningStack, StackConfig};

/// How long a test waits for any one message before failing.
pub const WAIT: Duration = Duration::from_secs(20);

/// The key every test stack registers for the owner "local".
pub const TEST_KEY: &str = "zts_test_key_for_the_local_owner_0001";

/// A stack on an ephemeral port with [`TEST_KEY`] registered and generous limits (tests
/// send bursts; rate limiting has its own tests).
pub fn config(data: DataLocation) -> StackConfig {
    let mut config = StackConfig::new("127.0.0.1:0".parse().unwrap(), data);
    config.api_key = Some(TEST_KEY.to_string());
    config.default_limits = zts_domain::auth::Limits {
        rate: 10_000.0,
        burst: 10_000,
    };
    config
}

pub async fn stack_with(faults: Vec<FaultRule>, ws_queue_capacity: usize) -> RunningStack {
    let mut config = config(DataLocation::InMemory);
    config.faults = faults;
    config.ws_queue_capacity = ws_queue_capacity;
    zts::start(config).await.expect("the stack starts")
}

pub async fn stack() -> RunningStack {
    stack_with(Vec::new(), 1_024).await
}

pub fn idea(name: &str) -> Value {
    json!({
        "name": name,
        "description": "Independent bookkeepers spend 6 hours a month chasing receipts; we automate the chase.",
        "hypothesis": "At least 20% of 50 bookkeepers will pre-order at $29/month within 2 weeks.",
        "target_avatars": ["independent bookkeeper"],
    })
}

/// One sample of every kind PII redaction handles, as (what must never be seen again, the
/// sentence that carries it). Each secret is written the way a person would.
pub const PII_SAMPLES: &[(&str, &str)] = &[
    ("jan@example.com", "Mail jan@example.com."),
    ("170 1234567", "Ruf an: +49 170 1234567 oder 0170 1234567."),
    ("4111 1111 1111 1111", "Card 4111 1111 1111 1111."),
    ("3704 0044 0532", "IBAN DE89 3704 0044 0532 0130 00."),
    ("DE123456789", "USt-IdNr. DE123456789."),
    ("078-05-1120", "SSN 078-05-1120."),
    ("12345678Z", "DNI 12345678Z."),
    ("C01X00T47", "Reisepassnummer: C01X00T47."),
    ("12/03/1985", "DOB: 12/03/1985."),
    ("203.0.113.42", "Server 203.0.113.42."),
    ("hunter2", "DB postgres://admin:hunter2@db.example.com/app."),
    ("Baker Street", "Address: 221B Baker Street, London NW1 6XE"),
];

/// An idea that carries every [`PII_SAMPLES`] secret in its description (the address last:
/// it runs to the end of its line), and an e-mail in its name.
pub fn idea_full_of_pii(name_prefix: &str) -> Value {
    let description: Vec<&str> = PII_SAMPLES.iter().map(|(_, sentence)| *sentence).collect();
    json!({
        "name": format!("{name_prefix} by jan@example.com"),
        "description": description.join(" "),
        "hypothesis": "At least 20% of 50 pet owners will book within 2 weeks; call +44 7700 900123.",
        "target_avatars": ["dog owner"],
    })
}

pub struct Http {
    pub base: String,
    client: reqwest::Client,
}

impl Http {
    /// A client that sends [`TEST_KEY`].
    pub fn new(stack: &RunningStack) -> Http {
        Http::with_key(&stack.http_url(), Some(TEST_KEY))
    }

    pub fn with_key(base: &str, key: Option<&str>) -> Http {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(key) = key {
            headers.insert("x-api-key", key.parse().expect("a header value"));
        }
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .expect("a client");
        Http {
            base: base.to_string(),
            client,
        }
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// (status, JSON body or Null)
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> (u16, Value) {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("POST");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Creates a project and returns its id.
    pub async fn create(&self, body: &Value) -> String {
        let (status, created) = self
            .post_raw("/api/v1/projects", "application/json", body.to_string())
            .await;
        assert_eq!(status, 202, "create answered {status}: {created}");
        created["project_id"]
            .as_str()
            .expect("a project id")
            .to_string()
    }

    /// A WebSocket ticket (`POST /api/v1/ws-tickets`): its `ticket` and `websocket_url`.
    pub async fn ticket(&self) -> Value {
        let (status, ticket) = self
            .post_raw("/api/v1/ws-tickets", "application/json", "")
            .await;
        assert_eq!(status, 201, "a ticket: {ticket}");
        ticket
    }

    /// Connects the way a deployed client must: a ticket, then its `websocket_url`.
    pub async fn watch(&self) -> Ws {
        let ticket = self.ticket().await;
        Ws::try_connect(ticket["websocket_url"].as_str().expect("a URL"), None)
            .await
            .expect("a ticket connects")
    }

    /// Polls the status until the state is terminal.
    pub async fn wait_terminal(&self, id: &str) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let (_, status) = self.get(&format!("/api/v1/projects/{id}/status")).await;
            if matches!(
                status["state"].as_str(),
                Some("COMPLETED" | "FAILED" | "CANCELLED")
            ) {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{id} never finished: {status}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Keeps every frame a server sent in the end-to-end suite (`target/ws-frames/`, one JSON
/// text per line), for the check that each one is valid under the AsyncAPI document
/// (tests/browser/asyncapi.test.mjs, run by the README's test command after cargo test).
fn record_frame(text: &str) {
    use std::io::Write as _;
    use std::sync::{Mutex, OnceLock};
    static FILE: OnceLock<Option<Mutex<std::fs::File>>> = OnceLock::new();
    let file = FILE.get_or_init(|| {
        let dir = browser::repo_root().join("target/ws-frames");
        std::fs::create_dir_all(&dir).ok()?;
        let name = format!("rust-{}.jsonl", std::process::id());
        std::fs::File::create(dir.join(name)).ok().map(Mutex::new)
    });
    if let Some(file) = file {
        let mut file = file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = writeln!(file, "{}", text.replace('\n', " "));
    }
}

pub struct Ws {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    recording: bool,
}

impl Ws {
    /// Connects sending [`TEST_KEY`] (the local gateway accepts key headers).
    pub async fn connect(url: &str) -> Ws {
        Ws::try_connect(url, Some(TEST_KEY))
            .await
            .expect("WebSocket connect")
    }

    /// Connects with `key` in `x-api-key` (or none); the HTTP status when refused.
    pub async fn try_connect(url: &str, key: Option<&str>) -> Result<Ws, u16> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = url.into_client_request().expect("a WebSocket URL");
        if let Some(key) = key {
            request
                .headers_mut()
                .insert("x-api-key", key.parse().expect("a header value"));
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((stream, _)) => Ok(Ws {
                stream,
                recording: true,
            }),
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
            Err(e) => panic!("WebSocket connect failed: {e}"),
        }
    }

    /// Stops keeping this connection's frames for the AsyncAPI check: for a test that
    /// pushes payloads of its own through the Management API (not protocol frames).
    pub fn stop_recording(&mut self) {
        self.recording = false;
    }

    pub async fn send(&mut self, message: Value) {
        self.stream
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("send");
    }

    pub async fn subscribe(&mut self, project: &str, after_seq: u64) {
        self.send(json!({"action": "subscribe", "project_id": project, "after_seq": after_seq}))
            .await;
    }

    /// The next JSON message, or `None` if the server closed the connection.
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            let message = tokio::time::timeout(WAIT, self.stream.next())
                .await
                .expect("a message in time");
            match message {
                Some(Ok(Message::Text(text))) => {
                    if self.recording {
                        record_frame(text.as_str());
                    }
                    return Some(serde_json::from_str(text.as_str()).expect("JSON"));
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// The next text or binary frame as it came (text as its bytes), or `None` if the
    /// server closed the connection.
    pub async fn next_frame(&mut self) -> Option<(bool, Vec<u8>)> {
        loop {
            let message = tokio::time::timeout(WAIT, self.stream.next())
                .await
                .expect("a frame in time");
            match message {
                Some(Ok(Message::Text(text))) => return Some((false, text.as_bytes().to_vec())),
                Some(Ok(Message::Binary(bytes))) => return Some((true, bytes.to_vec())),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Every JSON message that arrives within `window` (none is not an error): what a
    /// client would still be sent after the run it watched has ended.
    pub async fn within(&mut self, window: Duration) -> Vec<Value> {
        let mut out = Vec::new();
        let deadline = tokio::time::Instant::now() + window;
        while let Ok(Some(Ok(message))) =
            tokio::time::timeout_at(deadline, self.stream.next()).await
        {
            if let Message::Text(text) = message
                && let Ok(value) = serde_json::from_str(text.as_str())
            {
                out.push(value);
            }
        }
        out
    }

    /// Messages up to and including the first one `stop` accepts.
    pub async fn until(&mut self, stop: impl Fn(&Value) -> bool) -> Vec<Value> {
        let mut out = Vec::new();
        while let Some(m) = self.next().await {
            let done = stop(&m);
            out.push(m);
            if done {
                return out;
            }
        }
        panic!("the connection closed before the expected message; got {out:?}");
    }

    /// Messages until `project`'s run ends (its COMPLETED or FAILED status).
    pub async fn until_terminal(&mut self, project: &str) -> Vec<Value> {
        self.until(|m| is_terminal(m, project)).await
    }

    /// The close frame's code and reason, reading (and discarding) what comes before it.
    pub async fn close_reason(&mut self) -> Option<(u16, String)> {
        loop {
            match tokio::time::timeout(WAIT, self.stream.next())
                .await
                .expect("a close in time")
            {
                Some(Ok(Message::Close(Some(frame)))) => {
                    return Some((frame.code.into(), frame.reason.to_string()));
                }
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }
}

pub fn is_terminal(m: &Value, project: &str) -> bool {
    m["project_id"] == project
        && m["event"] == "status_update"
        && matches!(
            m["state"].as_str(),
            Some("COMPLETED" | "FAILED" | "CANCELLED")
        )
}

/// The (seq, kind) of each event of `project` in `messages`.
pub fn seqs_of(messages: &[Value], project: &str) -> Vec<u64> {
    messages
        .iter()
        .filter(|m| m["project_id"] == project && m["seq"].is_u64())
        .map(|m| m["seq"].as_u64().unwrap())
        .collect()
}

/// An SDK configuration with dummy credentials and a fixed region: clients built from it
/// can only reach the endpoints tests give them (loopback), never AWS.
pub fn offline_sdk_config() -> aws_config::SdkConfig {
    use aws_config::{BehaviorVersion, Region};
    use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(zts_aws::http::https_client())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "test",
            "test",
            None,
            None,
            "zts-tests",
        )))
        .build()
}

/// Checks what a subscriber of `project` received against `expected` (the seqs it should
/// get): each once, in order, and the live ones (above the replay's `last_seq`) after
/// `replay_complete`. Both deployments promise this: locally the gateway's sequencer keeps
/// it, on AWS the subscriptions' delivery marks (ARCHITECTURE.md §2).
pub fn assert_delivered(messages: &[Value], project: &str, expected: &[u64]) {
    let seqs = seqs_of(messages, project);
    assert_eq!(seqs, expected, "every seq once, in order: {messages:?}");
    let Some(complete) = messages
        .iter()
        .position(|m| m["event"] == "replay_complete" && m["project_id"] == project)
    else {
        return;
    };
    let replayed_through = messages[complete]["last_seq"].as_u64().unwrap_or(0);
    let (replayed, live) = messages.split_at(complete);
    let replayed = seqs_of(replayed, project);
    let live = seqs_of(live, project);
    assert!(
        replayed.iter().all(|&s| s <= replayed_through)
            && live.iter().all(|&s| s > replayed_through),
        "replayed {replayed:?}, then replay_complete (last_seq {replayed_through}), then live {live:?}"
    );
}

/// The connections subscribed to `project`, as the store lists them.
pub async fn subscriber_ids<S: zts_domain::ports::ConnectionStore + ?Sized>(
    store: &S,
    project: &zts_domain::ProjectId,
) -> Vec<zts_domain::ids::ConnectionId> {
    store
        .subscribers(project)
        .await
        .expect("subscribers readable")
        .into_iter()
        .map(|s| s.connection_id)
        .collect()
}
