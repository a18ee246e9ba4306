//! The ZeroToShip domain and its ports.
//!
//! Everything here is independent of where it runs: handlers in `functions/*` call the
//! domain through the ports in [`ports`], and each port has an adapter per world —
//! `embedded` (the local database) here, `aws` (DynamoDB, Step Functions, API Gateway
//! management) behind its own feature. Domain code never names an AWS SDK type.

pub mod auth;
pub mod clock;
pub mod create;
pub mod cursor;
pub mod error;
pub mod events;
pub mod idempotency;
pub mod ids;
pub mod input;
pub mod items;
pub mod lifecycle;
pub mod metrics;
pub mod pii;
pub mod ports;
pub mod project;
pub mod reconcile;
pub mod retention;
pub mod slots;
pub mod step;
pub mod store_error;
pub mod transition;
pub mod workflows;

pub use error::{AppError, ErrorCode, FieldError};
pub use events::{Event, EventBody};
pub use ids::{ConnectionId, Owner, ProjectId};
pub use input::ProjectInput;
pub use project::{Artifact, ErrorInfo, ProjectMeta, State, StepName};
