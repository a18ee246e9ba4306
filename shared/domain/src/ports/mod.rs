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

// Its own module, below the ports and the cursor that both name it (no import cycle).
pub use crate::store_error::StoreError;
