//! The AsyncAPI document (functions/api/contract/asyncapi.json) against the Rust types, so
//! the contract cannot drift from the code: every variant of every frame the server sends,
//! serialised by the code, fits its message's schema (no field the schema lacks, none it
//! requires missing, every value of its enums); every enum in the document lists exactly
//! the code's values; every client example is a message the server accepts; every refusal
//! code the server sends is documented. The matches below are exhaustive on purpose: a new
//! variant does not compile until it is added here, and then fails until it is documented.
//! (The test command also validates every frame the suite recorded, with a JSON Schema
//! validator: tests/browser/asyncapi.test.mjs.)

use serde_json::{Value, json};
use std::collections::BTreeSet;
use ws::{ClientMessage, ServerMessage, WsError};
use zts_domain::events::{Event, EventBody};
use zts_domain::ids::ProjectId;
use zts_domain::project::{ErrorInfo, State, StepName};

const DOC: &str = include_str!("../../../functions/api/contract/asyncapi.json");

fn doc() -> Value {
    serde_json::from_str(DOC).expect("asyncapi.json is JSON")
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => doc
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("unresolved {r}")),
        None => schema,
    }
}

/// Checks `value` against the subset of JSON Schema the document uses.
fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(doc, schema);
    if let Some(c) = schema.get("const")
        && c != value
    {
        return Err(format!("{at}: {value} is not the const {c}"));
    }
    if let Some(options) = schema["enum"].as_array()
        && !options.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {options:?}"));
    }
    let ok = match schema["type"].as_str() {
        Some("object") => value.is_object(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_u64() || value.is_i64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        _ => true,
    };
    if !ok {
        return Err(format!("{at}: {value} is not a {}", schema["type"]));
    }
    if let (Some(min), Some(n)) = (schema["minimum"].as_f64(), value.as_f64())
        && n < min
    {
        return Err(format!("{at}: {n} is below {min}"));
    }
    if let (Some(max), Some(n)) = (schema["maximum"].as_f64(), value.as_f64())
        && n > max
    {
        return Err(format!("{at}: {n} is above {max}"));
    }
    if let (Some(max), Some(text)) = (schema["maxLength"].as_u64(), value.as_str())
        && text.chars().count() as u64 > max
    {
        return Err(format!("{at}: longer than {max} characters"));
    }
    if let Some(object) = value.as_object() {
        let properties = schema["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for required in schema["required"].as_array().into_iter().flatten() {
            let key = required.as_str().unwrap_or_default();
            if !object.contains_key(key) {
                return Err(format!("{at}: the required {key} is missing"));
            }
        }
        for (key, v) in object {
            match properties.get(key) {
                Some(s) => conforms(doc, s, v, &format!("{at}.{key}"))?,
                None if schema["additionalProperties"] == false => {
                    return Err(format!("{at}: {key} is not in the schema"));
                }
                None => {}
            }
        }
    }
    Ok(())
}

fn schema_for(doc: &Value, name: &str) -> Value {
    doc["components"]["schemas"][name].clone()
}

fn assert_fits(doc: &Value, name: &str, value: &Value) {
    if let Err(e) = conforms(doc, &schema_for(doc, name), value, name) {
        panic!("the code's frame does not fit the document: {e}\n{value}");
    }
}

fn all_states() -> Vec<State> {
    let every = [
        State::Created,
        State::IdeaValidation,
        State::Advisory,
        State::Completed,
        State::Failed,
        State::Cancelled,
    ];
    // Exhaustive: a new state must be added to `every` (and then to the document), or
    // say why no status_update carries it.
    for s in State::ALL {
        match s {
            State::Created
            | State::IdeaValidation
            | State::Advisory
            | State::Completed
            | State::Failed
            | State::Cancelled => assert!(every.contains(&s)),
            // A tombstone: clients get project_deleted, never a status with it.
            State::Deleted => {}
        }
    }
    every.to_vec()
}

fn event(body: EventBody) -> Value {
    serde_json::to_value(Event {
        body,
        project_id: ProjectId::parse("01a24017-c789-75b3-ad97-e9983965299d").unwrap(),
        seq: 7,
        ts: "2026-12-04T08:00:00.123Z".parse().unwrap(),
        correlation_id: "c-1".into(),
    })
    .unwrap()
}

/// The schema a body variant goes with (exhaustive over the variants).
fn schema_of(body: &EventBody) -> &'static str {
    match body {
        EventBody::StatusUpdate { .. } => "StatusUpdate",
        EventBody::StepComplete { .. } => "StepComplete",
        EventBody::StepFailed { .. } => "StepFailed",
        EventBody::ProjectDeleted {} => "ProjectDeleted",
    }
}

#[test]
fn every_event_the_code_writes_fits_its_message() {
    let doc = doc();
    let error = ErrorInfo::new("engine_timeout", "x".repeat(600));
    let mut bodies = Vec::new();
    for state in all_states() {
        bodies.push(EventBody::StatusUpdate {
            state,
            progress: 50,
            current_step: None,
            error: None,
            workflow: None,
        });
        for step in StepName::ALL {
            bodies.push(EventBody::StatusUpdate {
                state,
                progress: 100,
                current_step: Some(step),
                error: Some(error.clone()),
                workflow: None,
            });
        }
    }
    for agent in StepName::ALL {
        bodies.push(EventBody::StepComplete {
            agent,
            attempt: 1,
            duration_s: 0.5,
            artifact_type: "validation_report".into(),
            progress: 50,
        });
        for retryable in [true, false] {
            bodies.push(EventBody::StepFailed {
                agent,
                attempt: 3,
                error: error.clone(),
                retryable,
                progress: 25,
            });
        }
    }
    bodies.push(EventBody::ProjectDeleted {});
    for body in bodies {
        let name = schema_of(&body);
        assert_fits(&doc, name, &event(body));
    }
}

#[test]
fn the_documents_enums_are_exactly_the_codes_values() {
    let doc = doc();
    let props = &doc["components"]["schemas"]["StatusUpdate"]["properties"];
    let documented = |v: &Value| -> BTreeSet<String> {
        v["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    let states: BTreeSet<String> = all_states().iter().map(|s| s.to_string()).collect();
    assert_eq!(documented(&props["state"]), states);
    let steps: BTreeSet<String> = StepName::ALL.iter().map(|s| s.to_string()).collect();
    assert_eq!(documented(&props["current_step"]), steps);
}

fn server_message_schema(m: &ServerMessage) -> &'static str {
    match m {
        ServerMessage::ReplayComplete { .. } => "ReplayComplete",
        ServerMessage::Unsubscribed { .. } => "Unsubscribed",
        ServerMessage::Pong => "Pong",
        ServerMessage::Error { .. } => "Error",
    }
}

#[test]
fn every_reply_and_refusal_the_server_sends_fits_its_message() {
    let doc = doc();
    let pid = ProjectId::parse("01a24017-c789-75b3-ad97-e9983965299d").unwrap();
    // Refusals as the server makes them, from the inputs that provoke them.
    let mut refusals: Vec<WsError> = [
        "not json",
        "{}",
        r#"{"action":"dance"}"#,
        r#"{"action":"subscribe"}"#,
        r#"{"action":"subscribe","project_id":"p","extra":1}"#,
    ]
    .iter()
    .map(|text| ws::parse(text).unwrap_err())
    .collect();
    refusals.push(ws::parse(&"x".repeat(ws::MAX_CLIENT_MESSAGE_BYTES + 1)).unwrap_err());
    for code in [
        "not_found",
        "too_many_subscriptions",
        ws::UNAVAILABLE,
        "unsupported_frame",
    ] {
        refusals.push(WsError {
            code: code.into(),
            message: "m".into(),
        });
    }
    let mut messages = vec![
        ServerMessage::ReplayComplete {
            project_id: pid.clone(),
            last_seq: 0,
        },
        ServerMessage::Unsubscribed { project_id: pid },
        ServerMessage::Pong,
    ];
    messages.extend(
        refusals
            .into_iter()
            .map(|error| ServerMessage::Error { error }),
    );
    for m in messages {
        let name = server_message_schema(&m);
        assert_fits(&doc, name, &serde_json::from_str(&m.to_json()).unwrap());
    }
    // The codes built outside `ws::parse` are the ones the document lists.
    let sources = [
        include_str!("../../../functions/ws/src/lib.rs"),
        include_str!("../../../infra/zts/src/gateway/socket.rs"),
    ];
    for code in [
        "not_found",
        "too_many_subscriptions",
        "unavailable",
        "unsupported_frame",
    ] {
        assert!(
            sources.iter().any(|s| s.contains(&format!("\"{code}\""))),
            "{code} is no longer sent"
        );
    }
    // API Gateway's own frame for a failed integration (AWS, and `zts emulate`).
    let frame =
        zts_apigw::client_frames::integration_failed("Zx8xLfNfoAMCJ0w=", "Zx8xNGq0IAMFdXw=");
    assert_fits(&doc, "GatewayError", &serde_json::from_str(&frame).unwrap());
}

fn client_schema(m: &ClientMessage) -> &'static str {
    match m {
        ClientMessage::Subscribe { .. } => "Subscribe",
        ClientMessage::Unsubscribe { .. } => "Unsubscribe",
        ClientMessage::Ping => "Ping",
    }
}

#[test]
fn every_client_message_in_the_document_is_one_the_server_accepts() {
    let doc = doc();
    let messages = doc["components"]["messages"].as_object().unwrap();
    let mut accepted = BTreeSet::new();
    for (name, message) in messages {
        let schema = message["payload"]["$ref"].as_str().unwrap();
        let is_client = schema_for(&doc, schema.rsplit('/').next().unwrap())["properties"]
            .get("action")
            .is_some();
        for example in message["examples"].as_array().unwrap() {
            let payload = &example["payload"];
            if is_client {
                let parsed = ws::parse(&payload.to_string())
                    .unwrap_or_else(|e| panic!("{name}'s example is refused: {e}"));
                assert_eq!(client_schema(&parsed), name.as_str());
                accepted.insert(name.clone());
            }
        }
    }
    assert_eq!(
        accepted,
        ["Ping", "Subscribe", "Unsubscribe"]
            .map(String::from)
            .into_iter()
            .collect()
    );
    // The default the document states is the one the code applies.
    let parsed = ws::parse(&json!({"action": "subscribe", "project_id": "p"}).to_string());
    assert_eq!(
        parsed.unwrap(),
        ClientMessage::Subscribe {
            project_id: "p".into(),
            after_seq: 0
        }
    );
    assert_eq!(
        doc["components"]["schemas"]["Subscribe"]["properties"]["after_seq"]["default"],
        0
    );
}

#[test]
fn the_document_is_served_beside_openapi_without_a_key() {
    let doc = doc();
    assert_eq!(
        doc["asyncapi"].as_str().unwrap().split('.').next(),
        Some("3")
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let stack = zts_tests::stack().await;
        let http = zts_tests::Http::with_key(&stack.http_url(), None);
        let (status, served) = http.get("/asyncapi.json").await;
        assert_eq!(status, 200);
        assert_eq!(served, doc);
        stack.shutdown().await;
    });
}
