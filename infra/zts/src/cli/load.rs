//! `zts load`: load-test a running stack (or the Python prototype beside it).

use clap::Args;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args)]
pub struct LoadArgs {
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    pub url: String,
    #[arg(
        long,
        env = "ZTS_API_KEY",
        hide_env_values = true,
        required_unless_present = "prototype"
    )]
    pub api_key: Option<String>,
    #[arg(long, short = 'n', default_value_t = 1_000)]
    pub projects: usize,
    #[arg(long, short = 'c', default_value_t = 50)]
    pub concurrency: usize,
    /// Watch as a deployed client must: a ticket, its `websocket_url`, a subscribe
    /// message (works against `zts emulate` and AWS, not only `zts serve`).
    #[arg(long, conflicts_with = "prototype")]
    pub via_ticket: bool,
    /// Speak the Python prototype's protocol (`../shared/bench/`): no key, its
    /// `ws://…/ws/projects/{id}` and four frames, so one generator measures both.
    #[arg(long)]
    pub prototype: bool,
    /// The server's pid: its CPU time per project is printed beside the generator's.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// One ticket WebSocket per client following this many projects (up to 10, a
    /// connection's limit): `-n` projects make `-n / K` clients, `-c` of them at once.
    #[arg(long, conflicts_with = "prototype", value_parser = clap::value_parser!(u16).range(1..=10))]
    pub projects_per_socket: Option<u16>,
    /// Repeat the run back to back for this many seconds, printing the server's
    /// resident memory after each round (needs --server-pid): is it flat once warm?
    #[arg(long, requires = "server_pid")]
    pub soak: Option<u64>,
    /// The Python prototype's URL: measure it first with the same generator and the
    /// same N and C, then this stack, and print the ratios.
    #[arg(long, conflicts_with_all = ["prototype", "soak"])]
    pub beside: Option<String>,
    /// The prototype's pid, for its CPU per project (with --beside).
    #[arg(long, requires = "beside")]
    pub beside_pid: Option<u32>,
}

pub async fn run(args: LoadArgs) -> ExitCode {
    let LoadArgs {
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
    } = args;
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
            zts::load::soak::run(&url, &api_key, projects, concurrency, watch, pid, duration).await;
        return load_outcome(soak, zts::load::soak::Soak::clean);
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
            let stack =
                zts::load::run_measured(&url, &api_key, projects, concurrency, watch, server_pid)
                    .await?;
            Ok::<_, zts::load::LoadError>(zts::load::compare::SideBySide { prototype, stack })
        };
        return load_outcome(both.await, zts::load::compare::SideBySide::clean);
    }
    let report =
        zts::load::run_measured(&url, &api_key, projects, concurrency, watch, server_pid).await;
    load_outcome(report, |r| r.lost_events == 0 && r.failed == 0)
}

/// Prints a load run's result (or why there is none); success only when `clean` holds.
fn load_outcome<T: std::fmt::Display>(
    result: Result<T, zts::load::LoadError>,
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
