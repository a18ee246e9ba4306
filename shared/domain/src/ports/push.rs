use crate::ids::ConnectionId;
use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// The connection no longer exists (HTTP 410 from the management API).
    #[error("connection is gone")]
    Gone,
    /// Throttled or a server error: worth retrying with back-off.
    #[error("push failed transiently: {0}")]
    Transient(String),
    #[error("push failed: {0}")]
    Failed(String),
}

/// Sends one message to one WebSocket connection (API Gateway's PostToConnection, or
/// the local gateway's send queue).
#[async_trait]
pub trait EventPusher: Send + Sync {
    async fn push(&self, connection: &ConnectionId, message: &str) -> Result<(), PushError>;

    /// Readiness (`GET /health/ready`): the push endpoint answers this caller. An
    /// in-process pusher (the local gateway) is ready while its process runs.
    async fn ready(&self) -> Result<(), PushError> {
        Ok(())
    }
}
