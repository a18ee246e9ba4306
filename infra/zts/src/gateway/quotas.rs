//! API Gateway's WebSocket quotas, in one place: the local gateway (`zts serve`) and the
//! emulated WebSocket API (`zts emulate`) both hold connections to them, so a client meets
//! the same limits on either (issue #37). The values are AWS's ("Amazon API Gateway quotas
//! for configuring and running a WebSocket API"; not adjustable).

use std::time::Duration;

/// The largest message (a frame sequence) a connection may send or be sent: 128 KB.
pub const MAX_MESSAGE_BYTES: usize = 128 * 1024;

/// The largest WebSocket frame: 32 KB.
pub const MAX_FRAME_BYTES: usize = 32 * 1024;

/// A connection with no message from its client for this long is closed: 10 minutes.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// A connection is closed at this age, whatever it does: 2 hours.
pub const MAX_CONNECTION_AGE: Duration = Duration::from_secs(2 * 60 * 60);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_gateways_default_to_the_quotas() {
        let local = crate::SocketLimits::default();
        let emulated = crate::emulate::websocket::ConnectionLimits::default();
        assert_eq!(
            (local.idle, local.max_age),
            (IDLE_TIMEOUT, MAX_CONNECTION_AGE)
        );
        assert_eq!(
            (emulated.idle, emulated.max_age),
            (IDLE_TIMEOUT, MAX_CONNECTION_AGE)
        );
        assert_eq!(
            crate::emulate::websocket::MAX_MESSAGE_BYTES,
            MAX_MESSAGE_BYTES
        );
        assert_eq!(
            crate::gateway::management::MAX_MESSAGE_BYTES,
            MAX_MESSAGE_BYTES
        );
    }
}
