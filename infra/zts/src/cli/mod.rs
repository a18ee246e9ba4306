//! The command line: one module per command, each with its flags and its run; the
//! project commands (`new`, `status`, `get`, `list`, `watch`, `retry`, `cancel`, `export`,
//! `delete`) are the client's (`zts::client::commands`).

mod cost;
mod emulate;
mod health;
mod keys;
mod load;
mod serve;
mod store;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "zts",
    version,
    about = "ZeroToShip: idea → validation → advice, locally"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// How log lines are written: human (text for a terminal) or json (one object per
    /// line with stable keys, as on Lambda; README: Observability).
    #[arg(long, global = true, default_value = "human", env = "ZTS_LOG_FORMAT")]
    pub log_format: zts_telemetry::LogFormat,
}

/// Why a command could not do what it was asked; printed after the command's name.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A flag's value the command cannot use.
    #[error("{flag}: {why}")]
    Invalid { flag: &'static str, why: String },
    /// A flag that needs the AWS SDK, in a build without it.
    #[cfg_attr(
        feature = "aws",
        allow(dead_code, reason = "only a build without aws says so")
    )]
    #[error(
        "{what} needs a zts built with the AWS SDK: \
         cargo run --profile local -p zts --features aws -- {command} ..."
    )]
    NeedsAws {
        what: &'static str,
        command: &'static str,
    },
    #[error("no single key has the id {0:?}; see `zts keys list`")]
    NoSuchKey(String),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not {what}: {why}")]
    Malformed {
        path: PathBuf,
        what: &'static str,
        why: String,
    },
    /// The stack, the metrics listener or the emulation did not start.
    #[error("{0}")]
    Start(String),
    #[error(transparent)]
    Store(#[from] zts_domain::ports::StoreError),
    #[error(transparent)]
    Cost(#[from] zts_cost::CostError),
    #[cfg(feature = "aws")]
    #[error(transparent)]
    Emulate(#[from] zts_emulate::command::CommandError),
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the whole system on one machine: HTTP API, WebSockets, workflow, store.
    Serve(serve::ServeArgs),
    /// Back up the local store, also while `zts serve` runs on it: one consistent snapshot
    /// (SQLite's online backup API), written to a new file.
    Backup(store::BackupArgs),
    /// Restore a backup as the local store. Refuses a directory that holds a store unless
    /// --force (stop `zts serve` on it first).
    Restore(store::RestoreArgs),
    /// What 1,000,000 projects cost on AWS, Standard and Express side by side, from the
    /// counts of a run and a price table (README "What a project costs"); and what an idle
    /// deployment costs a month.
    Cost(cost::CostArgs),
    /// A running stack's readiness: each dependency with its latency, runs in flight and
    /// projects per state (GET /health/ready). Exit 0 ready, 1 not ready, 2 unreachable.
    Health(health::HealthArgs),
    /// Submit an idea; with --watch, follow its run with a progress bar and print what it
    /// found. Exit 0 when it COMPLETED, 1 when it FAILED, 2 when it could not be submitted.
    New {
        #[command(flatten)]
        idea: zts::client::commands::IdeaArgs,
        /// Follow the run to its end over the WebSocket, then print the artifacts.
        #[arg(long)]
        watch: bool,
        /// Print the API's answer (with --watch, the finished project) as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        target: zts::client::commands::Target,
    },
    /// A project's state in one line: progress, the step running, its attempt, why it failed.
    Status {
        /// The project's id (from `zts new` or `zts list`).
        id: String,
        /// The API's answer as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        target: zts::client::commands::Target,
    },
    /// Retry a FAILED project: its next run starts at the step that failed, keeping what the
    /// failed run produced.
    Retry {
        /// The project's id.
        id: String,
        /// Follow the new run to its end, then print the artifacts.
        #[arg(long)]
        watch: bool,
        /// Print the API's answer (with --watch, the finished project) as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        target: zts::client::commands::Target,
    },
    /// Cancel a project whose run has not finished: CANCELLED at once.
    Cancel {
        /// The project's id.
        id: String,
        /// The API's answer as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        target: zts::client::commands::Target,
    },
    /// Everything stored about a project (input, artifacts, every run and event) as one
    /// JSON document.
    Export {
        /// The project's id.
        id: String,
        /// Write it to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        target: zts::client::commands::Target,
    },
    /// Delete a project and everything about it (a running run is cancelled first).
    Delete {
        /// The project's id.
        id: String,
        #[command(flatten)]
        target: zts::client::commands::Target,
    },
    /// A project with its artifacts: scores, findings and their quotes, advice, experiments.
    Get {
        /// The project's id.
        id: String,
        /// The API's answer as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        target: zts::client::commands::Target,
    },
    /// Your projects, newest first, a page at a time.
    List {
        /// Projects per page (1–100).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100))]
        limit: u32,
        /// The page after the one that printed this cursor.
        #[arg(long)]
        cursor: Option<String>,
        /// The API's answer as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        target: zts::client::commands::Target,
    },
    /// Follow a run from any event on (reconnecting and resuming if the connection drops),
    /// then print the project. Exit 0 when it COMPLETED, 1 when it FAILED.
    Watch {
        /// The project's id.
        id: String,
        /// Start after this event (0: replay every event of the run).
        #[arg(long, default_value_t = 0)]
        after_seq: u64,
        /// Print the finished project as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        target: zts::client::commands::Target,
    },
    /// Manage API keys (works while `zts serve` runs on the same data directory).
    Keys(keys::KeysArgs),
    /// Run the AWS deployment on this machine: the packaged functions wired as template.yaml
    /// wires them — HTTP and WebSocket APIs, Step Functions, the stream mapping, schedules
    /// (README: `zts emulate`). Needs a zts built with `--features aws`.
    Emulate(emulate::EmulateArgs),
    /// Load-test a running stack: N projects at concurrency C, each watched to the end
    /// over its WebSocket; prints throughput, latency percentiles and events lost.
    Load(load::LoadArgs),
}

impl Command {
    /// Runs the command; its exit status.
    pub async fn run(self) -> ExitCode {
        use zts::client::commands as client;
        match self {
            Command::Serve(args) => serve::run(args).await,
            Command::Backup(args) => store::backup(args),
            Command::Restore(args) => store::restore(args),
            Command::Cost(args) => cost::run(args),
            Command::Health(args) => health::run(args).await,
            Command::Keys(args) => keys::run(args).await,
            Command::Emulate(args) => emulate::run(args).await,
            Command::Load(args) => load::run(args).await,
            Command::New {
                idea,
                watch,
                json,
                target,
            } => client::new(&target, &idea, watch, json).await,
            Command::Status { id, json, target } => client::status(&target, &id, json).await,
            Command::Get { id, json, target } => client::get(&target, &id, json).await,
            Command::Retry {
                id,
                watch,
                json,
                target,
            } => client::retry(&target, &id, watch, json).await,
            Command::Cancel { id, json, target } => client::cancel(&target, &id, json).await,
            Command::Delete { id, target } => client::delete(&target, &id).await,
            Command::Export { id, out, target } => {
                client::export(&target, &id, out.as_deref()).await
            }
            Command::List {
                limit,
                cursor,
                json,
                target,
            } => client::list(&target, limit, cursor.as_deref(), json).await,
            Command::Watch {
                id,
                after_seq,
                json,
                target,
            } => client::watch(&target, &id, after_seq, json).await,
        }
    }
}

/// Prints `result`'s error after the command's name; success or failure.
fn outcome(command: &str, result: Result<(), CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zts {command}: {e}");
            ExitCode::FAILURE
        }
    }
}
