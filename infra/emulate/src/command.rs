//! The `zts emulate` command: builds missing packages, starts moto unless given an
//! endpoint, assembles the emulated deployment (`super::stack`), prints its URLs and key,
//! and at Ctrl-C the per-function summary.

use std::net::SocketAddr;
use std::path::PathBuf;

/// The owner of the key the command makes when given none (the local stack's too).
const LOCAL_OWNER: &str = "local";

/// Why `zts emulate` stopped before or after running.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("packaging the functions failed (bash infra/scripts/package.sh)")]
    Packaging,
    #[error(transparent)]
    Moto(#[from] crate::moto::MotoError),
    #[error(transparent)]
    Start(#[from] crate::stack::EmulateError),
    #[error("cannot encode the counts: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("cannot write the counts to {path}: {source}")]
    Counts {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What the command line says (README: `zts emulate`).
pub struct EmulateArgs {
    pub addr: SocketAddr,
    /// The packages' directory (`target/lambda` by default).
    pub functions: PathBuf,
    /// An AWS endpoint to use instead of starting moto.
    pub aws_endpoint: Option<String>,
    pub api_key: Option<String>,
    pub parameters: Vec<(String, String)>,
    pub max_processes: usize,
    /// Where to write the run's counts at Ctrl-C (`zts cost --counts`).
    pub counts: Option<PathBuf>,
}

/// AWS's default concurrency for an account's functions together (a template without
/// `ReservedConcurrentExecutions`, like this one, shares it).
pub const ACCOUNT_CONCURRENCY: usize = 1000;
/// What one emulated process is allowed for in memory when sizing the default cap: a
/// packaged function's resident size is 10–20 MB, and a warm pool needs headroom.
const MEMORY_PER_PROCESS: u64 = 64 * 1024 * 1024;

/// `zts emulate`'s default `--max-processes`: what a deployment allows, bounded by what
/// this machine can run (its available memory at [`MEMORY_PER_PROCESS`] each).
pub fn default_max_processes() -> usize {
    let available = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| mem_available(&text));
    max_processes_for(available)
}

fn max_processes_for(available_bytes: Option<u64>) -> usize {
    match available_bytes {
        Some(bytes) => ((bytes / MEMORY_PER_PROCESS) as usize).clamp(1, ACCOUNT_CONCURRENCY),
        // Not Linux: the account's figure; a throttle is then the machine's to give.
        None => ACCOUNT_CONCURRENCY,
    }
}

/// `MemAvailable` of `/proc/meminfo`, in bytes.
fn mem_available(meminfo: &str) -> Option<u64> {
    meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemAvailable:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kb| kb.trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

pub async fn run(args: EmulateArgs) -> Result<(), CommandError> {
    use crate::stack::{EmulateConfig, FunctionsDir, start};
    build_missing_packages(&args.functions)?;
    // Kept alive (and stopped on drop) for as long as the emulation runs.
    let mut _moto = None;
    let aws_endpoint = match args.aws_endpoint {
        Some(url) => url,
        None => {
            let server = crate::moto::MotoServer::start(&crate::moto::find()?).await?;
            println!("zts emulate: moto at {}", server.url);
            let url = server.url.clone();
            _moto = Some(server);
            url
        }
    };
    let key = args.api_key.unwrap_or_else(zts_domain::auth::new_key);
    let emulation = start(EmulateConfig {
        addr: args.addr,
        functions: FunctionsDir::Packages(args.functions),
        aws_endpoint,
        parameters: args.parameters.into_iter().collect(),
        api_keys: vec![(LOCAL_OWNER.to_string(), key.clone(), None)],
        max_processes: args.max_processes,
        connection_limits: Default::default(),
        schedule_every: None,
        meter_dynamodb: args.counts.is_some(),
    })
    .await?;
    println!(
        "zts emulate: HTTP API {} (stage {})",
        emulation.base_url, emulation.stage
    );
    if emulation.websocket.is_some() {
        println!(
            "zts emulate: WebSocket API {}/{} (connect with ?ticket= from POST /api/v1/ws-tickets)",
            emulation.base_url.replacen("http://", "ws://", 1),
            emulation.stage
        );
    }
    println!("zts emulate: API key {key}");
    let _ = tokio::signal::ctrl_c().await;
    println!("{}", emulation.summary());
    if let Some(path) = args.counts {
        let projects = super::counts::projects_created(&emulation);
        let counts = emulation.counts(projects);
        let json = serde_json::to_string_pretty(&counts)?;
        std::fs::write(&path, json).map_err(|source| CommandError::Counts {
            path: path.clone(),
            source,
        })?;
        println!(
            "zts emulate: the counts of {projects} projects are in {} (zts cost --counts {})",
            path.display(),
            path.display()
        );
    }
    Ok(())
}

/// A checkout's default package directory lacking a function's `bootstrap` is built
/// with the project's own packaging script; any other directory is used as it is.
fn build_missing_packages(functions: &std::path::Path) -> Result<(), CommandError> {
    let script = std::path::Path::new("infra/scripts/package.sh");
    let missing = super::template::Template::parse(super::template::TEMPLATE)
        .map(|t| {
            t.resources_of("AWS::Serverless::Function")
                .iter()
                .filter_map(|id| t.resource(id))
                .filter_map(|r| r["Metadata"]["BuildProperties"]["Binary"].as_str())
                .any(|b| !functions.join(b).join("bootstrap").is_file())
        })
        .unwrap_or(false);
    if !(missing && functions == std::path::Path::new("target/lambda") && script.is_file()) {
        return Ok(());
    }
    eprintln!("zts emulate: building the function packages (bash infra/scripts/package.sh)");
    match std::process::Command::new("bash").arg(script).status() {
        Ok(s) if s.success() => Ok(()),
        _ => Err(CommandError::Packaging),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cap_is_the_accounts_bounded_by_memory() {
        let meminfo = "MemTotal:       24000000 kB\nMemAvailable:    1048576 kB\n";
        assert_eq!(mem_available(meminfo), Some(1024 * 1024 * 1024));
        // 1 GiB available: 16 processes of 64 MiB.
        assert_eq!(max_processes_for(mem_available(meminfo)), 16);
        // Plenty of memory: never more than a deployment's account would run.
        assert_eq!(max_processes_for(Some(1 << 40)), ACCOUNT_CONCURRENCY);
        assert_eq!(max_processes_for(Some(1)), 1);
        assert_eq!(max_processes_for(None), ACCOUNT_CONCURRENCY);
        assert_eq!(mem_available("MemTotal: 1 kB\n"), None);
    }
}
