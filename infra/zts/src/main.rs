//! `zts`: the ZeroToShip local stack (`zts serve`), its API keys (`zts keys`), a client
//! for projects (`zts new`, `status`, `get`, `list`, `watch`), and its load generator
//! (`zts load`).

use clap::{Parser, Subcommand};

/// mimalloc instead of the system allocator: under load `zts serve` spent 18% of its CPU
/// in glibc's malloc and free (README: Benchmark).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use zts::{DataLocation, ServerLimits, SocketLimits, StackConfig};
use zts_domain::auth::{self, ApiKeyRecord, KeyStatus, Limits};
use zts_domain::pii::{DEFAULT_PII_REGIONS, PiiPolicy};
use zts_domain::ports::KeyStore;
use zts_domain::retention::{self, Retention};
use zts_embedded::EmbeddedStore;

#[derive(Parser)]
#[command(
    name = "zts",
    version,
    about = "ZeroToShip: idea → validation → advice, locally"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How log lines are written: human (text for a terminal) or json (one object per
    /// line with stable keys, as on Lambda; README: Observability).
    #[arg(long, global = true, default_value = "human", env = "ZTS_LOG_FORMAT")]
    log_format: zts_telemetry::LogFormat,
}

/// The limits a misbehaving client meets (README "Hardening").
#[derive(clap::Args)]
struct ConnectionFlags {
    /// Open connections (HTTP and WebSocket) past which new ones get 503 with Retry-After.
    #[arg(long, default_value_t = ServerLimits::default().max_connections)]
    max_connections: usize,
    /// Seconds a client may take to send a request's headers; also how long a keep-alive
    /// connection may wait idle for its next request.
    #[arg(long, default_value_t = ServerLimits::default().header_read_timeout.as_secs())]
    header_timeout: u64,
    /// Seconds a request body may take to arrive; a slower one gets 408.
    #[arg(long, default_value_t = ServerLimits::default().body_read_timeout.as_secs())]
    body_timeout: u64,
    /// Open WebSocket connections per owner; one more is refused with 429.
    #[arg(long, default_value_t = SocketLimits::default().per_owner)]
    ws_per_owner: usize,
    /// Seconds a WebSocket may go without a client frame before it is closed (1001).
    #[arg(long, default_value_t = SocketLimits::default().idle.as_secs())]
    ws_idle_timeout: u64,
    /// Seconds after which a WebSocket is closed (1001), as API Gateway's 2-hour limit.
    #[arg(long, default_value_t = SocketLimits::default().max_age.as_secs())]
    ws_max_age: u64,
}

/// Which workflows run and how far one execution may go (README "Workflows").
#[derive(clap::Args)]
struct WorkflowFlags {
    /// Read each workflow's definition from DIR/<its file> (a checkout's layout:
    /// statemachine.asl.json, workflows/*.asl.json) instead of the built-in copies, to run
    /// an edited definition without rebuilding. Every definition is checked at start.
    #[arg(long, value_name = "DIR", env = "ZTS_DEFINITIONS_ROOT")]
    definitions_root: Option<PathBuf>,
    /// The watchdog: an execution that makes this many state transitions is ended and
    /// its project FAILED (ZeroToShip.Watchdog). Every workflow needs fewer than 15.
    #[arg(long, default_value_t = zts_domain::workflows::MAX_TRANSITIONS_DEFAULT,
          value_parser = clap::value_parser!(u64).range(1..=asl::MAX_TRANSITIONS))]
    max_transitions: u64,
}

impl WorkflowFlags {
    fn apply(self, config: &mut StackConfig) {
        if let Some(root) = self.definitions_root {
            config.definitions = zts::definitions::Source::Root(root);
        }
        config.max_transitions = self.max_transitions;
    }
}

impl ConnectionFlags {
    fn apply(&self, config: &mut StackConfig) -> Result<(), String> {
        if self.max_connections == 0 || self.ws_per_owner == 0 {
            return Err("--max-connections and --ws-per-owner must be at least 1".into());
        }
        if [
            self.header_timeout,
            self.body_timeout,
            self.ws_idle_timeout,
            self.ws_max_age,
        ]
        .contains(&0)
        {
            return Err("timeouts are whole seconds, at least 1".into());
        }
        config.server = ServerLimits {
            max_connections: self.max_connections,
            header_read_timeout: Duration::from_secs(self.header_timeout),
            body_read_timeout: Duration::from_secs(self.body_timeout),
            ..ServerLimits::default()
        };
        config.sockets = SocketLimits {
            per_owner: self.ws_per_owner,
            idle: Duration::from_secs(self.ws_idle_timeout),
            max_age: Duration::from_secs(self.ws_max_age),
        };
        Ok(())
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole system on one machine: HTTP API, WebSockets, workflow, store.
    Serve {
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:3000", env = "ZTS_ADDR")]
        addr: SocketAddr,
        /// Where the data lives (created if missing).
        #[arg(
            long,
            default_value = "zts-data",
            env = "ZTS_DATA_DIR",
            conflicts_with = "in_memory"
        )]
        data_dir: PathBuf,
        /// Keep nothing: a throwaway store removed at exit.
        #[arg(long)]
        in_memory: bool,
        /// Register this API key for local use (otherwise an empty store gets a new key, printed once).
        #[arg(long, env = "ZTS_API_KEY", hide_env_values = true)]
        api_key: Option<String>,
        /// An origin allowed to call the API from a browser (repeat for more).
        #[arg(long = "cors-origin")]
        cors_origins: Vec<String>,
        /// Requests per second for keys without their own limit.
        #[arg(long, default_value_t = Limits::DEFAULT.rate)]
        rate: f64,
        /// Burst for keys without their own limit.
        #[arg(long, default_value_t = Limits::DEFAULT.burst)]
        burst: u32,
        /// Regions whose national phone formats PII redaction knows (ISO 3166 codes,
        /// comma-separated); international `+…` numbers are found for every country.
        #[arg(
            long,
            env = "ZTS_PII_REGIONS",
            default_value = DEFAULT_PII_REGIONS,
            value_parser = parse_pii_regions
        )]
        pii_regions: PiiPolicy,
        /// Serve Prometheus metrics at GET /metrics on this address, a listener of its own
        /// (no key: no metric names a key, an owner or a project). Off unless given.
        #[arg(long, env = "ZTS_METRICS_ADDR")]
        metrics_addr: Option<SocketAddr>,
        /// Days an ended project (COMPLETED, FAILED, CANCELLED) is kept; afterwards no route
        /// shows it and the reconciler's pass removes it. 0 keeps projects forever.
        #[arg(long, env = "ZTS_RETENTION_DAYS", default_value_t = retention::DEFAULT_DAYS)]
        retention_days: u32,
        #[command(flatten)]
        connections: ConnectionFlags,
        #[command(flatten)]
        workflows: WorkflowFlags,
    },
    /// Back up the local store, also while `zts serve` runs on it: one consistent snapshot
    /// (SQLite's online backup API), written to a new file.
    Backup {
        /// The store's directory.
        #[arg(long, default_value = "zts-data", env = "ZTS_DATA_DIR")]
        data_dir: PathBuf,
        /// The file to write; it must not exist.
        #[arg(long)]
        to: PathBuf,
    },
    /// Restore a backup as the local store. Refuses a directory that holds a store unless
    /// --force (stop `zts serve` on it first).
    Restore {
        /// The backup file (from `zts backup`).
        #[arg(long)]
        from: PathBuf,
        /// The store's directory.
        #[arg(long, default_value = "zts-data", env = "ZTS_DATA_DIR")]
        data_dir: PathBuf,
        /// Replace the store already in the directory.
        #[arg(long)]
        force: bool,
    },
    /// What 1,000,000 projects cost on AWS, Standard and Express side by side, from the
    /// counts of a run and a price table (README "What a project costs"); and what an idle
    /// deployment costs a month.
    Cost {
        /// The counts of a run: a JSON file in the form of
        /// infra/zts/tests/fixtures/cost/counts.json (README "What a project costs").
        #[arg(long)]
        counts: PathBuf,
        /// A price table in the built-in one's form (infra/cost/prices-us-east-1.json);
        /// the built-in one when absent.
        #[arg(long)]
        prices: Option<PathBuf>,
    },
    /// A running stack's readiness: each dependency with its latency, runs in flight and
    /// projects per state (GET /health/ready). Exit 0 ready, 1 not ready, 2 unreachable.
    Health {
        /// The API's URL: the local stack's, or a deployment's HttpApiUrl output.
        #[arg(long, default_value = "http://127.0.0.1:3000", env = "ZTS_ENDPOINT")]
        endpoint: String,
        /// Print the report as the API answered it (JSON).
        #[arg(long)]
        json: bool,
    },
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
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
        #[arg(long, default_value = "zts-data", env = "ZTS_DATA_DIR", global = true)]
        data_dir: PathBuf,
        /// Manage the keys of a deployment instead: its ApiKeys table (the stack output
        /// `ApiKeysTableName`), with AWS credentials and region from the environment.
        #[arg(
            long,
            env = "ZTS_API_KEYS_TABLE",
            global = true,
            conflicts_with = "data_dir"
        )]
        api_keys_table: Option<String>,
    },
    /// Run the AWS deployment on this machine: the packaged functions wired as template.yaml
    /// wires them — HTTP and WebSocket APIs, Step Functions, the stream mapping, schedules
    /// (README: `zts emulate`). Needs a zts built with `--features aws`.
    Emulate {
        /// Where the HTTP API listens.
        #[arg(long, default_value = "127.0.0.1:4000")]
        addr: SocketAddr,
        /// The function packages: `<dir>/<function>/bootstrap` (infra/scripts/package.sh,
        /// which is run when they are missing from a checkout's default directory).
        #[arg(long, default_value = "target/lambda")]
        functions: PathBuf,
        /// A moto server to use (DynamoDB, Streams, SQS, Secrets Manager); without it one is
        /// started on a free loopback port and stopped at exit.
        #[arg(long, env = "ZTS_DYNAMODB_ENDPOINT")]
        dynamodb_endpoint: Option<String>,
        /// Register this API key (owner `local`) in the emulated ApiKeys table.
        #[arg(long, env = "ZTS_API_KEY", hide_env_values = true)]
        api_key: Option<String>,
        /// Per-key defaults, as the template's KeyRatePerSecond and KeyBurst parameters.
        #[arg(long)]
        rate: Option<f64>,
        #[arg(long)]
        burst: Option<u32>,
        /// Any other template parameter: NAME=VALUE (repeat for more).
        #[arg(long = "parameter", value_parser = parse_parameter)]
        parameters: Vec<(String, String)>,
        /// Most processes per function (concurrent invocations; more are throttled, and
        /// API Gateway answers a throttled integration 500). Default: a deployment's
        /// (the account's 1,000 unreserved concurrency: the template reserves none),
        /// bounded by this machine's available memory at 64 MiB a process.
        #[arg(long)]
        max_processes: Option<usize>,
        /// At Ctrl-C, also write what the run did in AWS's billing units (invocations and
        /// billed ms per function, DynamoDB units per table, transitions, requests,
        /// messages, log bytes) to this file, for `zts cost --counts`.
        #[arg(long, value_name = "FILE")]
        counts: Option<PathBuf>,
    },
    /// Load-test a running stack: N projects at concurrency C, each watched to the end
    /// over its WebSocket; prints throughput, latency percentiles and events lost.
    Load {
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
        #[arg(
            long,
            env = "ZTS_API_KEY",
            hide_env_values = true,
            required_unless_present = "prototype"
        )]
        api_key: Option<String>,
        #[arg(long, short = 'n', default_value_t = 1_000)]
        projects: usize,
        #[arg(long, short = 'c', default_value_t = 50)]
        concurrency: usize,
        /// Watch as a deployed client must: a ticket, its `websocket_url`, a subscribe
        /// message (works against `zts emulate` and AWS, not only `zts serve`).
        #[arg(long, conflicts_with = "prototype")]
        via_ticket: bool,
        /// Speak the Python prototype's protocol (`../shared/bench/`): no key, its
        /// `ws://…/ws/projects/{id}` and four frames, so one generator measures both.
        #[arg(long)]
        prototype: bool,
        /// The server's pid: its CPU time per project is printed beside the generator's.
        #[arg(long)]
        server_pid: Option<u32>,
        /// One ticket WebSocket per client following this many projects (up to 10, a
        /// connection's limit): `-n` projects make `-n / K` clients, `-c` of them at once.
        #[arg(long, conflicts_with = "prototype", value_parser = clap::value_parser!(u16).range(1..=10))]
        projects_per_socket: Option<u16>,
        /// Repeat the run back to back for this many seconds, printing the server's
        /// resident memory after each round (needs --server-pid): is it flat once warm?
        #[arg(long, requires = "server_pid")]
        soak: Option<u64>,
        /// The Python prototype's URL: measure it first with the same generator and the
        /// same N and C, then this stack, and print the ratios.
        #[arg(long, conflicts_with_all = ["prototype", "soak"])]
        beside: Option<String>,
        /// The prototype's pid, for its CPU per project (with --beside).
        #[arg(long, requires = "beside")]
        beside_pid: Option<u32>,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key for an owner; the key is printed once and stored only as a hash.
    /// Create another for the same owner to rotate, then revoke the old one.
    Create {
        /// The tenant the key acts for: its projects are the owner's, and another
        /// owner's are invisible to it (letters, digits and - _ . @, at most 64).
        #[arg(long)]
        owner: String,
        /// Requests per second this key may send (default: the server's --rate); give
        /// --burst with it.
        #[arg(long, requires = "burst")]
        rate: Option<f64>,
        /// Requests this key may send at once before --rate paces it (default: the
        /// server's --burst); give --rate with it.
        #[arg(long, requires = "rate")]
        burst: Option<u32>,
        /// When the key stops working: a date (2027-01-31, midnight UTC) or an RFC 3339
        /// time, in the future. Without it the key works until revoked.
        #[arg(long)]
        expires: Option<String>,
    },
    /// List keys: id, owner, status, limits, expiry (never the keys).
    List {
        /// One JSON object per key instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by its id (from `zts keys list`).
    Revoke {
        /// The key's id: the first column of `zts keys list` (a prefix of it is enough
        /// when only one key starts with it).
        key_id: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    zts_telemetry::init(cli.log_format, "zts", false, "info");
    match cli.command {
        Command::Serve {
            addr,
            data_dir,
            in_memory,
            api_key,
            cors_origins,
            rate,
            burst,
            pii_regions,
            metrics_addr,
            retention_days,
            connections,
            workflows,
        } => {
            serve(
                workflows,
                metrics_addr,
                Retention::days(retention_days),
                addr,
                data_dir,
                in_memory,
                api_key,
                cors_origins,
                Limits { rate, burst },
                pii_regions,
                connections,
            )
            .await
        }
        Command::New {
            idea,
            watch,
            json,
            target,
        } => zts::client::commands::new(&target, &idea, watch, json).await,
        Command::Status { id, json, target } => {
            zts::client::commands::status(&target, &id, json).await
        }
        Command::Get { id, json, target } => zts::client::commands::get(&target, &id, json).await,
        Command::Retry {
            id,
            watch,
            json,
            target,
        } => zts::client::commands::retry(&target, &id, watch, json).await,
        Command::Cancel { id, json, target } => {
            zts::client::commands::cancel(&target, &id, json).await
        }
        Command::Delete { id, target } => zts::client::commands::delete(&target, &id).await,
        Command::Export { id, out, target } => {
            zts::client::commands::export(&target, &id, out.as_deref()).await
        }
        Command::List {
            limit,
            cursor,
            json,
            target,
        } => zts::client::commands::list(&target, limit, cursor.as_deref(), json).await,
        Command::Watch {
            id,
            after_seq,
            json,
            target,
        } => zts::client::commands::watch(&target, &id, after_seq, json).await,
        Command::Backup { data_dir, to } => zts::store_copy::backup(&data_dir, &to),
        Command::Restore {
            from,
            data_dir,
            force,
        } => zts::store_copy::restore(&from, &data_dir, force),
        Command::Cost { counts, prices } => match cost(&counts, prices.as_deref()) {
            Ok(table) => {
                print!("{table}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("zts cost: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Health { endpoint, json } => match zts::health::fetch(&endpoint).await {
            Ok(report) => {
                if json {
                    println!("{}", report.body);
                } else {
                    print!("{}", zts::health::render(&endpoint, &report));
                }
                if report.ready {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                }
            }
            Err(e) => {
                eprintln!("zts health: {e}");
                ExitCode::from(2)
            }
        },
        Command::Keys {
            command,
            data_dir,
            api_keys_table,
        } => match keys(command, &data_dir, api_keys_table).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("zts keys: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Emulate {
            addr,
            functions,
            dynamodb_endpoint,
            api_key,
            rate,
            burst,
            mut parameters,
            max_processes,
            counts,
        } => {
            if let Some(rate) = rate {
                parameters.push(("KeyRatePerSecond".into(), rate.to_string()));
            }
            if let Some(burst) = burst {
                parameters.push(("KeyBurst".into(), burst.to_string()));
            }
            emulate(
                addr,
                functions,
                dynamodb_endpoint,
                api_key,
                parameters,
                max_processes,
                counts,
            )
            .await
        }
        Command::Load {
            url,
            api_key,
            projects,
            concurrency,
            via_ticket,
            prototype,
            server_pid,
            projects_per_socket,
            soak,
            beside,
            beside_pid,
        } => {
            let watch = if let Some(k) = projects_per_socket {
                zts::load::Watch::Shared {
                    per_socket: usize::from(k),
                }
            } else if prototype {
                zts::load::Watch::Prototype
            } else if via_ticket {
                zts::load::Watch::Ticket
            } else {
                zts::load::Watch::ProjectLink
            };
            let api_key = api_key.unwrap_or_default();
            if let (Some(seconds), Some(pid)) = (soak, server_pid) {
                let duration = Duration::from_secs(seconds);
                let soak =
                    zts::soak::run(&url, &api_key, projects, concurrency, watch, pid, duration)
                        .await;
                return load_outcome(soak, zts::soak::Soak::clean);
            }
            if let Some(prototype_url) = beside {
                let both = async {
                    let prototype = zts::load::run_measured(
                        &prototype_url,
                        "",
                        projects,
                        concurrency,
                        zts::load::Watch::Prototype,
                        beside_pid,
                    )
                    .await?;
                    let stack = zts::load::run_measured(
                        &url,
                        &api_key,
                        projects,
                        concurrency,
                        watch,
                        server_pid,
                    )
                    .await?;
                    Ok::<_, String>(zts::compare::SideBySide { prototype, stack })
                };
                return load_outcome(both.await, zts::compare::SideBySide::clean);
            }
            let report =
                zts::load::run_measured(&url, &api_key, projects, concurrency, watch, server_pid)
                    .await;
            load_outcome(report, |r| r.lost_events == 0 && r.failed == 0)
        }
    }
}

/// Prints a load run's result (or why there is none); success only when `clean` holds.
fn load_outcome<T: std::fmt::Display>(
    result: Result<T, String>,
    clean: impl Fn(&T) -> bool,
) -> ExitCode {
    match result {
        Ok(result) => {
            println!("{result}");
            if clean(&result) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("zts load: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse_parameter(pair: &str) -> Result<(String, String), String> {
    pair.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("{pair:?} is not NAME=VALUE"))
}

#[cfg(feature = "aws")]
async fn emulate(
    addr: SocketAddr,
    functions: PathBuf,
    aws_endpoint: Option<String>,
    api_key: Option<String>,
    parameters: Vec<(String, String)>,
    max_processes: Option<usize>,
    counts: Option<PathBuf>,
) -> ExitCode {
    use zts_emulate::command::{EmulateArgs, default_max_processes, run};
    let args = EmulateArgs {
        addr,
        functions,
        aws_endpoint,
        api_key,
        parameters,
        max_processes: max_processes.unwrap_or_else(default_max_processes),
        counts,
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zts emulate: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(feature = "aws"))]
async fn emulate(
    _addr: SocketAddr,
    _functions: PathBuf,
    _aws_endpoint: Option<String>,
    _api_key: Option<String>,
    _parameters: Vec<(String, String)>,
    _max_processes: Option<usize>,
    _counts: Option<PathBuf>,
) -> ExitCode {
    eprintln!(
        "zts emulate needs a zts built with the AWS SDK: \
         cargo run --profile local -p zts --features aws -- emulate ..."
    );
    ExitCode::FAILURE
}

/// The cost table of a counts file, at the built-in prices or a file's.
fn cost(counts: &std::path::Path, prices: Option<&std::path::Path>) -> Result<String, String> {
    let read = |p: &std::path::Path| {
        std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
    };
    let parsed: zts_cost::Counts = serde_json::from_str(&read(counts)?)
        .map_err(|e| format!("{} is not a counts file: {e}", counts.display()))?;
    let prices = match prices {
        Some(p) => read(p)?,
        None => zts_cost::PRICES.to_string(),
    };
    let template: serde_norway::Value =
        serde_norway::from_str(zts_cost::TEMPLATE).map_err(|e| format!("template.yaml: {e}"))?;
    zts_cost::render(&parsed, &zts_cost::fixed_of(&template), &prices).map_err(|e| e.to_string())
}

fn parse_pii_regions(list: &str) -> Result<PiiPolicy, String> {
    PiiPolicy::from_regions(list).map_err(|e| e.to_string())
}

#[allow(clippy::too_many_arguments, reason = "one per `zts serve` flag")]
async fn serve(
    workflows: WorkflowFlags,
    metrics_addr: Option<SocketAddr>,
    retention: Retention,
    addr: SocketAddr,
    data_dir: PathBuf,
    in_memory: bool,
    api_key: Option<String>,
    cors_origins: Vec<String>,
    limits: Limits,
    pii: PiiPolicy,
    connections: ConnectionFlags,
) -> ExitCode {
    if let Err(e) = limits.validate() {
        eprintln!("zts serve: {e}");
        return ExitCode::FAILURE;
    }
    let data = if in_memory {
        DataLocation::InMemory
    } else {
        DataLocation::Dir(data_dir.clone())
    };
    let mut config = StackConfig::new(addr, data);
    config.api_key = api_key;
    config.default_limits = limits;
    config.http.cors_origins = cors_origins;
    config.pii = pii;
    config.retention = retention;
    workflows.apply(&mut config);
    if let Err(e) = connections.apply(&mut config) {
        eprintln!("zts serve: {e}");
        return ExitCode::FAILURE;
    }
    // The recorder first, so the stack's start is counted too.
    let metrics_url = match metrics_addr {
        Some(addr) => match zts::prometheus::serve(addr).await {
            Ok(url) => Some(url),
            Err(e) => {
                eprintln!("zts serve: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => None,
    };
    let stack = match zts::start(config).await {
        Ok(stack) => stack,
        Err(e) => {
            eprintln!("zts serve: {e}");
            return ExitCode::FAILURE;
        }
    };
    let where_ = if in_memory {
        "in memory".to_string()
    } else {
        data_dir.display().to_string()
    };
    // Tests and scripts read this line to find the port.
    println!(
        "ZeroToShip listening on {} (data: {where_})",
        stack.http_url()
    );
    if let Some(url) = metrics_url {
        println!("Prometheus metrics on {url}");
    }
    for warning in &stack.warnings {
        eprintln!("zts serve: warning: {warning}");
    }
    if let Some(key) = &stack.generated_key {
        print!("{}", zts::keys_view::banner(key));
    }
    stack.serve_until_signal().await;
    ExitCode::SUCCESS
}

async fn keys(
    command: KeysCommand,
    data_dir: &std::path::Path,
    api_keys_table: Option<String>,
) -> Result<(), String> {
    let store: Box<dyn KeyStore> = match api_keys_table {
        Some(table) => deployed_keys(table).await?,
        None => Box::new(EmbeddedStore::open(data_dir).map_err(|e| e.to_string())?),
    };
    match command {
        KeysCommand::Create {
            owner,
            rate,
            burst,
            expires,
        } => {
            let owner = zts_domain::Owner::parse(&owner).ok_or_else(|| {
                format!("--owner {owner:?}: use letters, digits and - _ . @ (at most 64)")
            })?;
            let limits = match (rate, burst) {
                (Some(rate), Some(burst)) => {
                    let limits = Limits { rate, burst };
                    limits.validate()?;
                    Some(limits)
                }
                _ => None,
            };
            let expires_at = expires
                .as_deref()
                .map(|raw| zts::keys_view::parse_expiry(raw, zts_domain::clock::now()))
                .transpose()?;
            let key = auth::new_key();
            let record = ApiKeyRecord {
                key_hash: auth::hash(&key),
                owner,
                status: KeyStatus::Active,
                limits,
                created_at: zts_domain::clock::now(),
                expires_at,
                revoked_at: None,
            };
            let id = record.key_id();
            store.put_key(record).await.map_err(|e| e.to_string())?;
            println!("{key}");
            eprintln!("created key {id} (shown once; store it now)");
        }
        KeysCommand::List { json } => {
            let keys = store.list_keys().await.map_err(|e| e.to_string())?;
            print!(
                "{}",
                zts::keys_view::table(&keys, zts_domain::clock::now(), json)
            );
        }
        KeysCommand::Revoke { key_id } => match store
            .revoke_key(&key_id, zts_domain::clock::now())
            .await
            .map_err(|e| e.to_string())?
        {
            Some(k) => println!("revoked {} (owner {})", k.key_id(), k.owner),
            None => {
                return Err(format!(
                    "no single key has the id {key_id:?}; see `zts keys list`"
                ));
            }
        },
    }
    Ok(())
}

/// A deployment's key store: key commands touch only its ApiKeys table.
#[cfg(feature = "aws")]
async fn deployed_keys(api_keys_table: String) -> Result<Box<dyn KeyStore>, String> {
    let config = zts_aws::deploy::sdk_config().await;
    Ok(Box::new(zts_aws::DynamoKeyStore::new(
        aws_sdk_dynamodb::Client::new(&config),
        api_keys_table,
    )))
}

/// The local stack is built without the AWS SDK (a faster first build); managing a
/// deployment's keys needs it.
#[cfg(not(feature = "aws"))]
async fn deployed_keys(_api_keys_table: String) -> Result<Box<dyn KeyStore>, String> {
    Err("--api-keys-table needs a zts built with the AWS SDK: \
         cargo run --profile local -p zts --features aws -- keys ..."
        .into())
}
