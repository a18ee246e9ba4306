//! `zts health`: a running stack's readiness.

use clap::Args;
use std::process::ExitCode;

#[derive(Args)]
pub struct HealthArgs {
    /// The API's URL: the local stack's, or a deployment's HttpApiUrl output.
    #[arg(long, default_value = "http://127.0.0.1:3000", env = "ZTS_ENDPOINT")]
    pub endpoint: String,
    /// Print the report as the API answered it (JSON).
    #[arg(long)]
    pub json: bool,
}

/// Exit 0 ready, 1 not ready, 2 unreachable.
pub async fn run(args: HealthArgs) -> ExitCode {
    match zts::health::fetch(&args.endpoint).await {
        Ok(report) => {
            if args.json {
                println!("{}", report.body);
            } else {
                print!("{}", zts::health::render(&args.endpoint, &report));
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
    }
}
