//! The Management API's answers (`POST`, `GET`, `DELETE /@connections/{id}`), as AWS's
//! service model for `apigatewaymanagementapi` 2018-11-29 states them (restJson1):
//!
//! - `PostToConnection` 200; its body is at most 128 KB (`Data`, length ≤ 131072), else
//!   `PayloadTooLargeException` 413 with a `message`;
//! - `GetConnection` 200 with `connectedAt`, `identity {sourceIp, userAgent}` and
//!   `lastActiveAt` (the model's `jsonName`s: lower camel case, ISO 8601 times);
//! - `DeleteConnection` 204;
//! - an unknown or closed connection: `GoneException` 410.
//!
//! Every error carries `x-amzn-errortype`, the header an AWS SDK reads the error's type
//! from: without it an SDK reports an unhandled error instead of `GoneException`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

use crate::quotas::MAX_MESSAGE_BYTES;

/// The header an AWS SDK reads an error's type from.
pub const ERROR_TYPE_HEADER: &str = "x-amzn-errortype";

/// What a `PostToConnection` body becomes on the connection: a text frame when it is
/// UTF-8, a binary frame otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Text(String),
    Binary(Vec<u8>),
}

/// A `PostToConnection` body over 128 KB: answered 413 `PayloadTooLargeException`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge;

impl IntoResponse for TooLarge {
    fn into_response(self) -> Response {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLargeException",
            "Message too long",
        )
    }
}

/// A `PostToConnection` body as its frame, or [`TooLarge`].
pub fn frame(body: &[u8]) -> Result<Frame, TooLarge> {
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(TooLarge);
    }
    Ok(match std::str::from_utf8(body) {
        Ok(text) => Frame::Text(text.to_string()),
        Err(_) => Frame::Binary(body.to_vec()),
    })
}

/// What `GetConnection` describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub connected_at: DateTime<Utc>,
    pub last_active_at: DateTime<Utc>,
    pub source_ip: String,
    pub user_agent: String,
}

/// `PostToConnection` done.
pub fn posted() -> Response {
    StatusCode::OK.into_response()
}

/// `DeleteConnection` done.
pub fn deleted() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// `GetConnection`'s answer.
pub fn described(connection: &Connection) -> Response {
    let time = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    axum::Json(json!({
        "connectedAt": time(&connection.connected_at),
        "identity": {
            "sourceIp": connection.source_ip,
            "userAgent": connection.user_agent,
        },
        "lastActiveAt": time(&connection.last_active_at),
    }))
    .into_response()
}

/// The connection is unknown or closed.
pub fn gone() -> Response {
    error(StatusCode::GONE, "GoneException", "Gone")
}

fn error(status: StatusCode, error_type: &'static str, message: &str) -> Response {
    let mut res = (status, axum::Json(json!({ "message": message }))).into_response();
    res.headers_mut()
        .insert(ERROR_TYPE_HEADER, HeaderValue::from_static(error_type));
    res
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    async fn body(res: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn errors_name_their_type_in_the_header_an_sdk_reads() {
        let res = gone();
        assert_eq!(res.status(), StatusCode::GONE);
        assert_eq!(res.headers()[ERROR_TYPE_HEADER], "GoneException");
        let res = frame(&vec![b'x'; MAX_MESSAGE_BYTES + 1])
            .unwrap_err()
            .into_response();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(res.headers()[ERROR_TYPE_HEADER], "PayloadTooLargeException");
        assert_eq!(body(res).await["message"], "Message too long");
    }

    #[test]
    fn a_body_of_128_kb_is_sent_and_its_utf8_decides_the_frame() {
        assert_eq!(
            frame(&vec![b'x'; MAX_MESSAGE_BYTES]).unwrap(),
            Frame::Text("x".repeat(MAX_MESSAGE_BYTES))
        );
        assert_eq!(frame(&[0xff, 0]).unwrap(), Frame::Binary(vec![0xff, 0]));
    }

    #[tokio::test]
    async fn a_description_uses_the_models_json_names() {
        let at = DateTime::parse_from_rfc3339("2026-12-05T02:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let json = body(described(&Connection {
            connected_at: at,
            last_active_at: at,
            source_ip: "127.0.0.1".into(),
            user_agent: "test".into(),
        }))
        .await;
        assert_eq!(
            json,
            json!({
                "connectedAt": "2026-12-05T02:30:00.000Z",
                "identity": {"sourceIp": "127.0.0.1", "userAgent": "test"},
                "lastActiveAt": "2026-12-05T02:30:00.000Z",
            })
        );
    }
}
