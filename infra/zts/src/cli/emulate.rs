//! `zts emulate`: the AWS deployment on this machine (`zts_emulate`, with `--features aws`).

use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct EmulateArgs {
    /// Where the HTTP API listens.
    #[arg(long, default_value = "127.0.0.1:4000")]
    pub addr: SocketAddr,
    /// The function packages: `<dir>/<function>/bootstrap` (infra/scripts/package.sh,
    /// which is run when they are missing from a checkout's default directory).
    #[arg(long, default_value = "target/lambda")]
    pub functions: PathBuf,
    /// A moto server to use (DynamoDB, Streams, SQS, Secrets Manager); without it one is
    /// started on a free loopback port and stopped at exit.
    #[arg(long, env = "ZTS_DYNAMODB_ENDPOINT")]
    pub dynamodb_endpoint: Option<String>,
    /// Register this API key (owner `local`) in the emulated ApiKeys table.
    #[arg(long, env = "ZTS_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Per-key defaults, as the template's KeyRatePerSecond and KeyBurst parameters.
    #[arg(long)]
    pub rate: Option<f64>,
    #[arg(long)]
    pub burst: Option<u32>,
    /// Any other template parameter: NAME=VALUE (repeat for more).
    #[arg(long = "parameter", value_parser = parse_parameter)]
    pub parameters: Vec<(String, String)>,
    /// Most processes per function (concurrent invocations; more are throttled, and
    /// API Gateway answers a throttled integration 500). Default: a deployment's
    /// (the account's 1,000 unreserved concurrency: the template reserves none),
    /// bounded by this machine's available memory at 64 MiB a process.
    #[arg(long)]
    pub max_processes: Option<usize>,
    /// At Ctrl-C, also write what the run did in AWS's billing units (invocations and
    /// billed ms per function, DynamoDB units per table, transitions, requests,
    /// messages, log bytes) to this file, for `zts cost --counts`.
    #[arg(long, value_name = "FILE")]
    pub counts: Option<PathBuf>,
}

fn parse_parameter(pair: &str) -> Result<(String, String), String> {
    pair.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("{pair:?} is not NAME=VALUE"))
}

#[cfg(feature = "aws")]
pub async fn run(args: EmulateArgs) -> ExitCode {
    let EmulateArgs {
        addr,
        functions,
        dynamodb_endpoint,
        api_key,
        rate,
        burst,
        mut parameters,
        max_processes,
        counts,
    } = args;
    if let Some(rate) = rate {
        parameters.push(("KeyRatePerSecond".into(), rate.to_string()));
    }
    if let Some(burst) = burst {
        parameters.push(("KeyBurst".into(), burst.to_string()));
    }
    use zts_emulate::command as emulation;
    let args = emulation::EmulateArgs {
        addr,
        functions,
        aws_endpoint: dynamodb_endpoint,
        api_key,
        parameters,
        max_processes: max_processes.unwrap_or_else(emulation::default_max_processes),
        counts,
    };
    let ran = emulation::run(args).await.map_err(super::CliError::Emulate);
    super::outcome("emulate", ran)
}

#[cfg(not(feature = "aws"))]
pub async fn run(_args: EmulateArgs) -> ExitCode {
    let needs = Err(super::CliError::NeedsAws {
        what: "zts emulate",
        command: "emulate",
    });
    super::outcome("emulate", needs)
}
