//! `zts backup` and `zts restore`: the embedded store's online backup and restore
//! (`zts_embedded::backup`), with a progress bar on a terminal and one line at the end.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::Path;
use std::process::ExitCode;
use zts_embedded::backup::{self, BackupError, Copied, Progress};

fn bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} pages")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

fn run(
    verb: &str,
    copy: impl FnOnce(&mut dyn FnMut(Progress)) -> Result<Copied, BackupError>,
    done: impl FnOnce(&Copied) -> String,
) -> ExitCode {
    let bar = bar();
    bar.set_message(verb.to_string());
    let result = copy(&mut |p: Progress| {
        bar.set_length(p.total);
        bar.set_position(p.total.saturating_sub(p.remaining));
    });
    bar.finish_and_clear();
    match result {
        Ok(copied) => {
            eprintln!("{}", done(&copied));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("zts: {e}");
            ExitCode::from(2)
        }
    }
}

/// `zts backup --data-dir D --to FILE`.
pub fn backup(data_dir: &Path, to: &Path) -> ExitCode {
    run(
        "backing up",
        |progress| backup::backup(data_dir, to, progress),
        |c| {
            format!(
                "backed up {} projects ({} bytes) to {} in {:.1} s",
                c.projects,
                c.bytes,
                to.display(),
                c.took.as_secs_f64()
            )
        },
    )
}

/// `zts restore --from FILE --data-dir D [--force]`.
pub fn restore(from: &Path, data_dir: &Path, force: bool) -> ExitCode {
    run(
        "restoring",
        |progress| backup::restore(from, data_dir, force, progress),
        |c| {
            format!(
                "restored {} projects ({} bytes) into {} in {:.1} s; `zts serve --data-dir {}` \
                 serves them and resumes the runs that were in flight",
                c.projects,
                c.bytes,
                data_dir.display(),
                c.took.as_secs_f64(),
                data_dir.display()
            )
        },
    )
}
