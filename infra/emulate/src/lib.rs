//! `zts emulate`: the AWS deployment as one running system on one machine — the packaged
//! functions wired exactly as `template.yaml` wires them (README: `zts emulate`): the
//! template read with its intrinsics resolved, a Lambda Runtime API running each packaged
//! `bootstrap`, Step Functions, the HTTP API, the WebSocket API with its Management API,
//! and the Projects table's stream mapping.

pub mod command;
pub mod counts;
pub mod http_api;
pub mod iam;
pub mod logs;
pub mod meter;
pub mod moto;
mod provision;
pub mod runtime;
pub mod schedule;
pub mod stack;
pub mod states;
pub mod stream;
pub mod tables;
pub mod template;
pub mod websocket;
