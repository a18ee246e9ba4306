//! The API Gateway Management API on the local gateway, so the AWS push adapter (and
//! anyone) can drive real WebSocket clients: `POST` sends, `GET` describes, `DELETE`
//! disconnects. The answers are `zts_apigw::management`'s, the emulation's too.

use super::{CloseReason, Gateway, Outgoing};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use zts_apigw::management::{self, Frame};
use zts_domain::clock;
use zts_domain::ids::ConnectionId;

/// The api's envelope leaves these answers as they are: they are API Gateway's, not ours.
fn verbatim(mut res: Response) -> Response {
    res.extensions_mut().insert(api::envelope::Verbatim);
    res
}

fn gone() -> Response {
    verbatim(management::gone())
}

pub async fn post(
    State(gateway): State<Arc<Gateway>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(id) = ConnectionId::parse(&id) else {
        return gone();
    };
    let outgoing = match management::frame(&body) {
        Ok(Frame::Text(text)) => Outgoing::Message(text),
        Ok(Frame::Binary(bytes)) => Outgoing::Binary(bytes),
        Err(refused) => return verbatim(refused.into_response()),
    };
    match gateway.enqueue(&id, outgoing) {
        Ok(()) => verbatim(management::posted()),
        Err(_) => gone(),
    }
}

pub async fn get(State(gateway): State<Arc<Gateway>>, Path(id): Path<String>) -> Response {
    let Some(info) = ConnectionId::parse(&id).and_then(|id| gateway.info(&id)) else {
        return gone();
    };
    verbatim(management::described(&management::Connection {
        connected_at: info.connected_at,
        last_active_at: clock::now(),
        source_ip: "127.0.0.1".into(),
        user_agent: "local".into(),
    }))
}

pub async fn delete(State(gateway): State<Arc<Gateway>>, Path(id): Path<String>) -> Response {
    let Some(id) = ConnectionId::parse(&id) else {
        return gone();
    };
    let closed = gateway.close(
        &id,
        CloseReason {
            code: 1000,
            reason: "disconnected by the server".into(),
        },
    );
    if closed {
        verbatim(management::deleted())
    } else {
        gone()
    }
}
