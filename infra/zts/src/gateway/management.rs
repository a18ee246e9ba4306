//! The API Gateway Management API on the local gateway, so the AWS push adapter (and
//! anyone) can drive real WebSocket clients: `POST` sends, `GET` describes, `DELETE`
//! disconnects; an unknown or gone connection is 410, as on AWS.

use super::{CloseReason, Gateway};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;
use zts_domain::clock;
use zts_domain::ids::ConnectionId;

pub use super::quotas::MAX_MESSAGE_BYTES;

fn verbatim(status: StatusCode, body: serde_json::Value) -> Response {
    let mut res = (status, Json(body)).into_response();
    res.extensions_mut().insert(api::envelope::Verbatim);
    res
}

fn gone() -> Response {
    let mut res = verbatim(StatusCode::GONE, json!({"message": "GoneException"}));
    // As API Gateway does: SDKs read the error type from this header.
    res.headers_mut().insert(
        "x-amzn-errortype",
        axum::http::HeaderValue::from_static("GoneException"),
    );
    res
}

fn lookup(id: &str) -> Option<ConnectionId> {
    ConnectionId::parse(id)
}

pub async fn post(
    State(gateway): State<Arc<Gateway>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(id) = lookup(&id) else { return gone() };
    if body.len() > MAX_MESSAGE_BYTES {
        return verbatim(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"message": "PayloadTooLargeException"}),
        );
    }
    let Ok(text) = String::from_utf8(body.to_vec()) else {
        return verbatim(
            StatusCode::BAD_REQUEST,
            json!({"message": "the local gateway sends text frames; the body must be UTF-8"}),
        );
    };
    match gateway.enqueue(&id, super::Outgoing::Message(text)) {
        Ok(()) => StatusCode::OK.into_response(),
        Err(_) => gone(),
    }
}

pub async fn get(State(gateway): State<Arc<Gateway>>, Path(id): Path<String>) -> Response {
    let Some(info) = lookup(&id).and_then(|id| gateway.info(&id)) else {
        return gone();
    };
    Json(json!({
        "ConnectedAt": clock::format(&info.connected_at),
        "Identity": {"SourceIp": "127.0.0.1", "UserAgent": "local"},
        "LastActiveAt": clock::format(&clock::now()),
    }))
    .into_response()
}

pub async fn delete(State(gateway): State<Arc<Gateway>>, Path(id): Path<String>) -> Response {
    let Some(id) = lookup(&id) else { return gone() };
    if gateway.close(
        &id,
        CloseReason {
            code: 1000,
            reason: "disconnected by the server".into(),
        },
    ) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        gone()
    }
}
