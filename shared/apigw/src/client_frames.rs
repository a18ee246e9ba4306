//! What API Gateway itself sends a WebSocket client. When the integration behind a route
//! fails — the function errs, times out, or Lambda throttles it — the client gets one text
//! frame `{"message": "Internal server error", "connectionId", "requestId"}` (Lambda's
//! "Handling Lambda errors with an API Gateway API": every invocation or function error is
//! an internal error with that message; API Gateway retries none). The frame names no
//! action, so a client treats every action not yet answered as not done
//! (asyncapi.json: GatewayError).

/// The message of API Gateway's frame for a failed integration.
pub const INTEGRATION_FAILED: &str = "Internal server error";

/// The frame a client gets when the integration behind its message failed.
pub fn integration_failed(connection_id: &str, request_id: &str) -> String {
    serde_json::json!({
        "message": INTEGRATION_FAILED,
        "connectionId": connection_id,
        "requestId": request_id,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn the_frame_has_exactly_api_gateways_three_fields() {
        let frame: serde_json::Value =
            serde_json::from_str(&integration_failed("Zx8x=", "req\"1")).unwrap();
        assert_eq!(
            frame,
            serde_json::json!({
                "message": "Internal server error",
                "connectionId": "Zx8x=",
                "requestId": "req\"1",
            })
        );
    }
}
