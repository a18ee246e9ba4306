//! The ZeroToShip local stack: the same handler code as on AWS, in one process. The api
//! router is mounted as it is; a local gateway plays API Gateway's WebSocket part (and
//! answers its Management API); the `asl` interpreter runs `statemachine.asl.json`; the
//! embedded store plays DynamoDB, its committed events feeding the broadcaster.

pub mod client;
pub mod definitions;
pub mod faults;
pub mod gateway;
pub mod health;
pub mod keys_view;
pub mod load;
pub mod prometheus;
pub mod server;
mod stack;
pub mod stats;
pub mod store_copy;
pub mod tasks;
pub mod workflow;

pub use gateway::socket::SocketLimits;
pub use server::ServerLimits;
pub use stack::{DataLocation, RunningStack, StackConfig, StackError, local_owner, start};
