//! Why a store call failed: what every port's adapters map their backend's errors onto.
//! A module of its own, so the ports and the cursor codec (which the project port uses)
//! both depend on it without depending on each other.

use crate::transition::TransitionError;

/// Why a store call failed. Adapters map their backend's errors onto these, so handlers
/// never see an SDK or database type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("the idempotency key was used with a different request")]
    IdempotencyConflict,
    #[error("an item with this key already exists")]
    AlreadyExists,
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("the cursor was not issued for this caller")]
    InvalidCursor,
    /// Worth retrying: throttled, timed out, busy.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store failure: {0}")]
    Backend(String),
    /// An item could not be decoded: a bug or a hand-edited table, never the client's fault.
    #[error("corrupt item: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}
