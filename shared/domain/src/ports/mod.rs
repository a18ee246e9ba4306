//! The ports: small traits the handlers are generic over. Each has an embedded adapter
//! (here, behind the `embedded` feature) and an AWS adapter, and every adapter of a port
//! passes the same conformance suite (`conformance` feature).

mod connections;
mod keys;
mod projects;
mod push;
mod slots;
mod workflow;

pub use connections::{ConnectionRecord, ConnectionStore, OpenTotals};
pub use keys::KeyStore;
pub use projects::{
    CommitOutcome, CreateOutcome, EVENTS_PAGE_MAX, NewProject, Page, PageRequest, ProjectStore,
    PutArtifactOutcome, events_page_limit,
};
pub use push::{EventPusher, PushError};
pub use slots::ConnectionSlots;
pub use workflow::{StartOutcome, WorkflowError, WorkflowStart, WorkflowStarter};

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
