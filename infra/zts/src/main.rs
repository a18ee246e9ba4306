//! `zts`: the ZeroToShip local stack (`zts serve`) and its load generator (`zts load`).

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use zts::{DataLocation, StackConfig};

#[derive(Parser)]
#[command(
    name = "zts",
    version,
    about = "ZeroToShip: idea → validation → advice, locally"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
    },
    /// Load-test a running stack: N projects at concurrency C, each watched to the end
    /// over its WebSocket; prints throughput, latency percentiles and events lost.
    Load {
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
        #[arg(long, short = 'n', default_value_t = 1_000)]
        projects: usize,
        #[arg(long, short = 'c', default_value_t = 50)]
        concurrency: usize,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    shared::telemetry::init_json("info");
    match Cli::parse().command {
        Command::Serve {
            addr,
            data_dir,
            in_memory,
        } => {
            let data = if in_memory {
                DataLocation::InMemory
            } else {
                DataLocation::Dir(data_dir.clone())
            };
            let stack = match zts::start(StackConfig::new(addr, data)).await {
                Ok(stack) => stack,
                Err(e) => {
                    eprintln!("zts: {e}");
                    return std::process::ExitCode::FAILURE;
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
            stack.serve_until_signal().await;
            std::process::ExitCode::SUCCESS
        }
        Command::Load {
            url,
            projects,
            concurrency,
        } => match zts::load::run(&url, projects, concurrency).await {
            Ok(report) => {
                println!("{report}");
                if report.lost_events == 0 && report.failed == 0 {
                    std::process::ExitCode::SUCCESS
                } else {
                    std::process::ExitCode::FAILURE
                }
            }
            Err(e) => {
                eprintln!("zts load: {e}");
                std::process::ExitCode::FAILURE
            }
        },
    }
}
