//! API Gateway's WebSocket behaviour, in one place (issue #37): the quotas every gateway
//! holds a connection to, the answers of the Management API (`@connections`) exactly as
//! AWS's service model states them, and the frame a client gets when a route's
//! integration fails, for the local gateway (`zts serve`) and the
//! emulated WebSocket API (`zts emulate`), so a client or an SDK meets the same behaviour
//! on either, and on AWS.

pub mod quotas;

#[cfg(feature = "management")]
pub mod client_frames;
#[cfg(feature = "management")]
pub mod management;

pub use quotas::*;
