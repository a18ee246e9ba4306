//! An Amazon States Language interpreter, so the local stack runs the very
//! `statemachine.asl.json` that Step Functions runs on AWS.
//!
//! [`load`] substitutes `${…}` placeholders (as SAM's `DefinitionSubstitutions` does),
//! parses strictly and validates: anything unsupported is refused by name. A [`Machine`]
//! then runs [`Execution`]s one step at a time; tasks are resolved by the caller's
//! [`TaskHandler`], every transition is reported to an [`Observer`], and the execution is
//! a plain serialisable value the caller persists between steps.
//!
//! Supported: Task, Pass, Choice, Wait, Succeed, Fail; InputPath, Parameters,
//! ResultSelector, ResultPath, OutputPath (reference paths and the `$$` context object);
//! the intrinsics States.Format, StringToJson, JsonToString, Array, ArrayLength,
//! ArrayGetItem, MathAdd, UUID; Retry with IntervalSeconds, MaxAttempts, BackoffRate,
//! MaxDelaySeconds and JitterStrategy; Catch; TimeoutSeconds on tasks and the machine.

mod choice;
mod definition;
mod error;
mod execution;
mod intrinsics;
mod load;
mod path;
mod template;

pub use definition::{Definition, Kind};
pub use error::ExprError;
pub use execution::{
    Clock, Execution, MAX_TRANSITIONS, Machine, NoObserver, Observation, Observer, Position,
    Status, TaskError, TaskHandler, TokioClock, backoff_delay, error_matches,
};
pub use load::{LoadError, cycle, load, parse};
pub use path::Path;

/// Timestamps in the context object: RFC 3339 with milliseconds, as AWS writes them.
fn format_time(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
