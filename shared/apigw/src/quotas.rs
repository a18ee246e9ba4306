//! API Gateway's WebSocket quotas: the local gateway (`zts serve`), the emulated WebSocket
//! API (`zts emulate`) and the ws function's connection records all hold to them. The
//! values are AWS's ("Amazon API Gateway quotas for configuring and running a WebSocket
//! API"; not adjustable).

use std::time::Duration;

/// The largest message (a frame sequence) a connection may send or be sent: 128 KB.
pub const MAX_MESSAGE_BYTES: usize = 128 * 1024;

/// The largest WebSocket frame: 32 KB.
pub const MAX_FRAME_BYTES: usize = 32 * 1024;

/// A connection with no message from its client for this long is closed: 10 minutes.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// A connection is closed at this age, whatever it does: 2 hours.
pub const MAX_CONNECTION_AGE: Duration = Duration::from_secs(2 * 60 * 60);
