//! Security end to end: the tenancy matrix over every route and the WebSocket, tickets,
//! rate limits (also across two stacks sharing one store), headers and CORS.

use serde_json::{Value, json};
use zts_domain::auth::{self, ApiKeyRecord, KeyStatus, Limits, TicketRecord};
use zts_domain::ports::KeyStore;
use zts_domain::{Owner, clock};
use zts_tests::*;

async fn add_key(
    stack: &zts::RunningStack,
    owner: &str,
    status: KeyStatus,
    expired: bool,
    limits: Option<Limits>,
) -> String {
    let key = auth::new_key();
    let now = clock::now();
    stack
        .store
        .put_key(ApiKeyRecord {
            key_hash: auth::hash(&key),
            owner: Owner::parse(owner).unwrap(),
            status,
            limits,
            created_at: now,
            expires_at: expired.then(|| now - chrono::Duration::seconds(1)),
            revoked_at: (status == KeyStatus::Revoked).then_some(now),
        })
        .await
        .unwrap();
    key
}

#[derive(Debug)]
enum Who {
    Nobody,
    BadKey,
    Revoked,
    Expired,
    OtherTenant,
    Owner,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tenancy_matrix() {
    let stack = stack().await;
    let alice = add_key(&stack, "alice", KeyStatus::Active, false, None).await;
    let bob = add_key(&stack, "bob", KeyStatus::Active, false, None).await;
    let revoked = add_key(&stack, "alice", KeyStatus::Revoked, false, None).await;
    let expired = add_key(&stack, "alice", KeyStatus::Active, true, None).await;
    let secret_name = "alice's unreleased idea";
    let as_alice = Http::with_key(&stack.http_url(), Some(&alice));
    let mut idea = idea(secret_name);
    idea["description"] = json!("a secret description only alice may read");
    let id = as_alice.create(&idea).await;
    assert_eq!(as_alice.wait_terminal(&id).await["state"], "COMPLETED");

    let routes = [
        ("GET", "/api/v1/projects".to_string()),
        ("GET", format!("/api/v1/projects/{id}")),
        ("GET", format!("/api/v1/projects/{id}/status")),
        ("GET", format!("/api/v1/projects/{id}/events?after=0")),
        ("POST", "/api/v1/projects".to_string()),
        ("POST", "/api/v1/ws-tickets".to_string()),
    ];
    for who in [
        Who::Nobody,
        Who::BadKey,
        Who::Revoked,
        Who::Expired,
        Who::OtherTenant,
        Who::Owner,
    ] {
        let key = match who {
            Who::Nobody => None,
            Who::BadKey => Some("zts_this_key_was_never_issued_000000000"),
            Who::Revoked => Some(revoked.as_str()),
            Who::Expired => Some(expired.as_str()),
            Who::OtherTenant => Some(bob.as_str()),
            Who::Owner => Some(alice.as_str()),
        };
        let http = Http::with_key(&stack.http_url(), key);
        for (method, path) in &routes {
            let res = match *method {
                "GET" => http
                    .client()
                    .get(format!("{}{path}", http.base))
                    .send()
                    .await
                    .unwrap(),
                _ => http
                    .client()
                    .post(format!("{}{path}", http.base))
                    .header("content-type", "application/json")
                    .body(self::idea("bob's own").to_string())
                    .send()
                    .await
                    .unwrap(),
            };
            let status = res.status().as_u16();
            let text = res.text().await.unwrap();
            let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let expected = match (&who, *method, path.as_str()) {
                (Who::Nobody | Who::BadKey | Who::Revoked | Who::Expired, _, _) => 401,
                (Who::OtherTenant, "GET", "/api/v1/projects") => 200,
                (Who::OtherTenant, "GET", _) => 404,
                (_, "POST", "/api/v1/projects") => 202,
                (_, "POST", _) => 201,
                (Who::OtherTenant | Who::Owner, _, _) => 200,
            };
            assert_eq!(status, expected, "{who:?} {method} {path}: {text}");
            if status >= 400 {
                assert!(
                    body["error"]["code"].is_string() && body["request_id"].is_string(),
                    "{who:?} {path}: not the error shape: {text}"
                );
            }
            if !matches!(who, Who::Owner) {
                assert!(
                    !text.contains(secret_name) && !text.contains("secret description"),
                    "{who:?} {path} leaked: {text}"
                );
                if *method == "GET" && path.as_str() == "/api/v1/projects" {
                    assert!(!text.contains(&id), "{who:?} lists alice's project: {text}");
                }
            }
            let expected_message = match who {
                Who::Revoked => Some("revoked"),
                Who::Expired => Some("expired"),
                _ => None,
            };
            if let Some(word) = expected_message {
                assert!(
                    body["error"]["message"].as_str().unwrap().contains(word),
                    "{text}"
                );
            }
        }
        // The WebSocket: refused before the upgrade without valid credentials; another
        // tenant connects but cannot follow alice's project.
        let url = format!("{}/ws/projects/{id}", stack.ws_url());
        match who {
            Who::Nobody | Who::BadKey | Who::Revoked | Who::Expired => {
                assert_eq!(Ws::try_connect(&url, key).await.err(), Some(401), "{who:?}");
            }
            Who::OtherTenant => {
                let mut ws = Ws::try_connect(&url, key).await.unwrap();
                let m = ws.next().await.unwrap();
                assert_eq!(m["event"], "error");
                assert_eq!(m["error"]["code"], "not_found");
                ws.subscribe(&id, 0).await;
                assert_eq!(ws.next().await.unwrap()["error"]["code"], "not_found");
            }
            Who::Owner => {
                let mut ws = Ws::try_connect(&url, key).await.unwrap();
                let replay = ws.until(|m| m["event"] == "replay_complete").await;
                assert_eq!(seqs_of(&replay, &id), vec![1, 2, 3, 4, 5, 6]);
            }
        }
    }
    // Bob's listing holds only his own projects.
    let (_, list) = Http::with_key(&stack.http_url(), Some(&bob))
        .get("/api/v1/projects")
        .await;
    assert!(
        list["projects"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["name"] == "bob's own"),
        "{list}"
    );
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickets_work_once_expire_and_stay_in_their_tenancy() {
    let stack = stack().await;
    let alice = add_key(&stack, "alice", KeyStatus::Active, false, None).await;
    let bob = add_key(&stack, "bob", KeyStatus::Active, false, None).await;
    let bobs_project = Http::with_key(&stack.http_url(), Some(&bob))
        .create(&idea("bob's"))
        .await;
    let as_alice = Http::with_key(&stack.http_url(), Some(&alice));
    let alices_project = as_alice.create(&idea("alice's")).await;
    let (status, ticket) = as_alice
        .post_raw("/api/v1/ws-tickets", "application/json", "")
        .await;
    assert_eq!(status, 201);
    let url = ticket["websocket_url"].as_str().unwrap().to_string();
    assert!(url.contains("?ticket=wst_"));
    // With the ticket and no key: in, as alice.
    let mut ws = Ws::try_connect(&url, None).await.expect("the ticket works");
    ws.subscribe(&alices_project, 0).await;
    let replay = ws.until(|m| m["event"] == "replay_complete").await;
    assert!(!seqs_of(&replay, &alices_project).is_empty());
    // Alice's ticket cannot follow bob's project.
    ws.subscribe(&bobs_project, 0).await;
    let refused = ws.until(|m| m["event"] == "error").await;
    assert_eq!(refused.last().unwrap()["error"]["code"], "not_found");
    // Used once: refused the second time.
    assert_eq!(Ws::try_connect(&url, None).await.err(), Some(401));
    // An expired ticket is refused.
    let stale = auth::new_ticket();
    let past = clock::now() - chrono::Duration::seconds(1);
    stack
        .store
        .put_ticket(TicketRecord {
            ticket_hash: auth::hash(&stale),
            owner: Owner::parse("alice").unwrap(),
            expires_at: past,
            ttl: past.timestamp(),
        })
        .await
        .unwrap();
    assert_eq!(
        Ws::try_connect(&format!("{}/ws?ticket={stale}", stack.ws_url()), None)
            .await
            .err(),
        Some(401)
    );
    // A ticket is no API key.
    let (status, _) = Http::with_key(&stack.http_url(), None)
        .get(&format!("/api/v1/projects?ticket={stale}"))
        .await;
    assert_eq!(status, 401);
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_past_the_burst_is_limited_per_key_across_stacks() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("ratelimit-{}", zts_domain::ProjectId::generate()));
    let one = zts::start(config(zts::DataLocation::Dir(dir.clone())))
        .await
        .unwrap();
    let two = zts::start(config(zts::DataLocation::Dir(dir)))
        .await
        .unwrap();
    let limited = add_key(
        &one,
        "alice",
        KeyStatus::Active,
        false,
        Some(Limits {
            rate: 0.5,
            burst: 4,
        }),
    )
    .await;
    let other = add_key(
        &one,
        "bob",
        KeyStatus::Active,
        false,
        Some(Limits {
            rate: 0.5,
            burst: 4,
        }),
    )
    .await;
    // The burst, spread over both stacks: they share the bucket.
    let mut statuses = Vec::new();
    let mut last = None;
    for i in 0..5 {
        let stack = if i % 2 == 0 { &one } else { &two };
        let res = Http::with_key(&stack.http_url(), Some(&limited))
            .client()
            .get(format!("{}/api/v1/projects", stack.http_url()))
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
        last = Some(res);
    }
    assert_eq!(statuses, vec![200, 200, 200, 200, 429]);
    let denied = last.unwrap();
    let header = |name: &str| {
        denied
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    assert_eq!(
        header("retry-after").as_deref(),
        Some("2"),
        "one token per 2 s"
    );
    assert_eq!(header("ratelimit-limit").as_deref(), Some("4"));
    assert_eq!(header("ratelimit-remaining").as_deref(), Some("0"));
    let body: Value = denied.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    // Another key is unaffected, on either stack.
    let res = Http::with_key(&two.http_url(), Some(&other))
        .client()
        .get(format!("{}/api/v1/projects", two.http_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["ratelimit-remaining"], "3");
    one.shutdown().await;
    two.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_headers_and_cors() {
    let mut config = config(zts::DataLocation::InMemory);
    config.http.cors_origins = vec!["https://app.example.com".into()];
    let stack = zts::start(config).await.unwrap();
    let http = Http::new(&stack);
    for path in ["/api/v1/projects", "/nope", "/health"] {
        let res = http
            .client()
            .get(format!("{}{path}", http.base))
            .send()
            .await
            .unwrap();
        for (name, value) in [
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "no-referrer"),
            (
                "content-security-policy",
                "default-src 'none'; frame-ancestors 'none'",
            ),
        ] {
            assert_eq!(
                res.headers().get(name).and_then(|v| v.to_str().ok()),
                Some(value),
                "{path}: {name}"
            );
        }
        assert!(
            res.headers().get("strict-transport-security").is_none(),
            "HSTS over plain HTTP"
        );
        assert!(res.headers().get("x-request-id").is_some());
    }
    // A preflight from an allowed origin needs no key; another origin gets no grant.
    let anonymous = Http::with_key(&stack.http_url(), None);
    let preflight = |origin: &'static str| {
        anonymous
            .client()
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/api/v1/projects", anonymous.base),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type,x-api-key")
            .send()
    };
    let ok = preflight("https://app.example.com").await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let other = preflight("https://evil.example.net").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    stack.shutdown().await;
}
