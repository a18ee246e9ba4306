//! `zts serve`: the local stack on one machine.

use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use zts::{DataLocation, ServerLimits, SocketLimits, StackConfig};
use zts_domain::auth::Limits;
use zts_domain::pii::{DEFAULT_PII_REGIONS, PiiPolicy};
use zts_domain::retention::{self, Retention};

use super::CliError;

#[derive(Args)]
pub struct ServeArgs {
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:3000", env = "ZTS_ADDR")]
    pub addr: SocketAddr,
    /// Where the data lives (created if missing).
    #[arg(
        long,
        default_value = "zts-data",
        env = "ZTS_DATA_DIR",
        conflicts_with = "in_memory"
    )]
    pub data_dir: PathBuf,
    /// Keep nothing: a throwaway store removed at exit.
    #[arg(long)]
    pub in_memory: bool,
    /// Register this API key for local use (otherwise an empty store gets a new key, printed once).
    #[arg(long, env = "ZTS_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// An origin allowed to call the API from a browser (repeat for more).
    #[arg(long = "cors-origin")]
    pub cors_origins: Vec<String>,
    /// Requests per second for keys without their own limit.
    #[arg(long, default_value_t = Limits::DEFAULT.rate)]
    pub rate: f64,
    /// Burst for keys without their own limit.
    #[arg(long, default_value_t = Limits::DEFAULT.burst)]
    pub burst: u32,
    /// Regions whose national phone formats PII redaction knows (ISO 3166 codes,
    /// comma-separated); international `+…` numbers are found for every country.
    #[arg(
        long,
        env = "ZTS_PII_REGIONS",
        default_value = DEFAULT_PII_REGIONS,
        value_parser = parse_pii_regions
    )]
    pub pii_regions: PiiPolicy,
    /// Serve Prometheus metrics at GET /metrics on this address, a listener of its own
    /// (no key: no metric names a key, an owner or a project). Off unless given.
    #[arg(long, env = "ZTS_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Days an ended project (COMPLETED, FAILED, CANCELLED) is kept; afterwards no route
    /// shows it and the reconciler's pass removes it. 0 keeps projects forever.
    #[arg(long, env = "ZTS_RETENTION_DAYS", default_value_t = retention::DEFAULT_DAYS)]
    pub retention_days: u32,
    #[command(flatten)]
    pub connections: ConnectionFlags,
    #[command(flatten)]
    pub workflows: WorkflowFlags,
}

/// The limits a misbehaving client meets (README "Hardening").
#[derive(clap::Args)]
pub struct ConnectionFlags {
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
pub struct WorkflowFlags {
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
    fn apply(&self, config: &mut StackConfig) -> Result<(), CliError> {
        if self.max_connections == 0 || self.ws_per_owner == 0 {
            return Err(CliError::Invalid {
                flag: "--max-connections/--ws-per-owner",
                why: "at least 1".into(),
            });
        }
        if [
            self.header_timeout,
            self.body_timeout,
            self.ws_idle_timeout,
            self.ws_max_age,
        ]
        .contains(&0)
        {
            return Err(CliError::Invalid {
                flag: "a timeout",
                why: "whole seconds, at least 1".into(),
            });
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

pub(super) fn parse_pii_regions(list: &str) -> Result<PiiPolicy, String> {
    PiiPolicy::from_regions(list).map_err(|e| e.to_string())
}

/// Starts the stack and serves until Ctrl-C.
pub async fn run(args: ServeArgs) -> ExitCode {
    match serve(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zts serve: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), CliError> {
    let ServeArgs {
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
    } = args;
    let limits = Limits { rate, burst };
    limits.validate().map_err(|e| CliError::Invalid {
        flag: "--rate/--burst",
        why: e.to_string(),
    })?;
    let data = if in_memory {
        DataLocation::InMemory
    } else {
        DataLocation::Dir(data_dir.clone())
    };
    let mut config = StackConfig::new(addr, data);
    config.api_key = api_key;
    config.default_limits = limits;
    config.http.cors_origins = cors_origins;
    config.pii = pii_regions;
    config.retention = Retention::days(retention_days);
    workflows.apply(&mut config);
    connections.apply(&mut config)?;
    // The recorder first, so the stack's start is counted too.
    let metrics_url = match metrics_addr {
        Some(addr) => Some(
            zts::prometheus::serve(addr)
                .await
                .map_err(|e| CliError::Start(e.to_string()))?,
        ),
        None => None,
    };
    let stack = zts::start(config)
        .await
        .map_err(|e| CliError::Start(e.to_string()))?;
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
    Ok(())
}
