//! `zts`: the ZeroToShip local stack (`zts serve`), its API keys (`zts keys`), a client
//! for projects (`zts new`, `status`, `get`, `list`, `watch`, …), the AWS deployment on one
//! machine (`zts emulate`), what it costs (`zts cost`), and its load generator (`zts load`).
//! A thin front: each command is a module of `cli/`.

mod cli;

use clap::Parser;
use std::process::ExitCode;

/// mimalloc instead of the system allocator: under load `zts serve` spent a large share
/// of its CPU in glibc's malloc and free (README: Benchmark, has the figures).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    zts_telemetry::init(cli.log_format, "zts", false, "info");
    cli.command.run().await
}
