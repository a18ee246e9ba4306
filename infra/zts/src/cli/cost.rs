//! `zts cost`: what a million projects cost on AWS, from a run's counts.

use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::CliError;

#[derive(Args)]
pub struct CostArgs {
    /// The counts of a run: a JSON file in the form of
    /// infra/zts/tests/fixtures/cost/counts.json (README "What a project costs").
    #[arg(long)]
    pub counts: PathBuf,
    /// A price table in the built-in one's form (infra/cost/prices-us-east-1.json);
    /// the built-in one when absent.
    #[arg(long)]
    pub prices: Option<PathBuf>,
}

pub fn run(args: CostArgs) -> ExitCode {
    let table = cost(&args.counts, args.prices.as_deref());
    super::outcome("cost", table.map(|table| print!("{table}")))
}

/// The cost table of a counts file, at the built-in prices or a file's.
fn cost(counts: &Path, prices: Option<&Path>) -> Result<String, CliError> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|source| CliError::Read {
            path: path.to_path_buf(),
            source,
        })
    };
    let parsed: zts_cost::Counts =
        serde_json::from_str(&read(counts)?).map_err(|e| CliError::Malformed {
            path: counts.to_path_buf(),
            what: "a counts file",
            why: e.to_string(),
        })?;
    let prices = match prices {
        Some(path) => read(path)?,
        None => zts_cost::PRICES.to_string(),
    };
    let template: serde_norway::Value = serde_norway::from_str(zts_cost::TEMPLATE)
        .map_err(|e| CliError::Start(format!("template.yaml: {e}")))?;
    Ok(zts_cost::render(
        &parsed,
        &zts_cost::fixed_of(&template),
        &prices,
    )?)
}
