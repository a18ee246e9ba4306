//! `zts backup` and `zts restore`: the local store as one consistent file.

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct BackupArgs {
    /// The store's directory.
    #[arg(long, default_value = "zts-data", env = "ZTS_DATA_DIR")]
    pub data_dir: PathBuf,
    /// The file to write; it must not exist.
    #[arg(long)]
    pub to: PathBuf,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// The backup file (from `zts backup`).
    #[arg(long)]
    pub from: PathBuf,
    /// The store's directory.
    #[arg(long, default_value = "zts-data", env = "ZTS_DATA_DIR")]
    pub data_dir: PathBuf,
    /// Replace the store already in the directory.
    #[arg(long)]
    pub force: bool,
}

pub fn backup(args: BackupArgs) -> ExitCode {
    zts::store_copy::backup(&args.data_dir, &args.to)
}

pub fn restore(args: RestoreArgs) -> ExitCode {
    zts::store_copy::restore(&args.from, &args.data_dir, args.force)
}
