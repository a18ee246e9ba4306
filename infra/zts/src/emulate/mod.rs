//! `zts emulate`: the AWS deployment as one running system on one machine — the packaged
//! functions wired exactly as `template.yaml` wires them (README: `zts emulate`). Built in
//! steps; so far: reading the template's functions and their environment, and a Lambda
//! Runtime API that runs each packaged `bootstrap` as Lambda does.

pub mod http_api;
pub mod runtime;
#[cfg(feature = "aws")]
pub mod stack;
pub mod states;
#[cfg(feature = "aws")]
pub mod tables;
pub mod template;
