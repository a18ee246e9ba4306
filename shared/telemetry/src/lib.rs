//! Logs for the people who run ZeroToShip (ARCHITECTURE.md §11). On Lambda (and with
//! `zts serve --log-format json`) every line is one JSON object with stable keys in the
//! Powertools style — `level`, `message`, `timestamp`, `service`, `cold_start` on Lambda,
//! and the fields of every span the line is inside (`function_request_id`,
//! `correlation_id`, `project_id`, `execution_id`, `step`, `attempt`, …) flattened beside
//! the event's own — so CloudWatch Logs Insights and a local `jq` filter one run by one
//! key. Locally the default is human-readable text.

pub mod emf;
mod json;

use std::sync::atomic::{AtomicBool, Ordering};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

pub use json::PowertoolsJson;

/// How lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Text for a person at a terminal (the local default).
    #[default]
    Human,
    /// One JSON object per line (Lambda, and `--log-format json`).
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "human" => Ok(LogFormat::Human),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("{other:?} is not a log format: use human or json")),
        }
    }
}

/// Whether this Lambda process is still in its first invocation (Powertools' `cold_start`).
static COLD_START: AtomicBool = AtomicBool::new(true);

/// Marks the end of the process's first invocation: later lines say `cold_start: false`.
pub fn first_invocation_done() {
    COLD_START.store(false, Ordering::Relaxed);
}

/// Whether the process has not finished an invocation yet.
pub fn is_cold() -> bool {
    COLD_START.load(Ordering::Relaxed)
}

/// The levels from `RUST_LOG` (`info`, `warn,broadcaster=debug`, …), else `default_filter`.
///
/// `Targets` rather than `EnvFilter`: it reads the same `level` and `target=level`
/// directives without span or field filters, and without the regex engine `EnvFilter`
/// links into every function's zip (its size: README, AWS, Figures).
pub fn filter(default_filter: &str) -> Targets {
    targets(std::env::var("RUST_LOG").ok().as_deref(), default_filter)
}

/// `rust_log` when it parses, else `default_filter`, else info.
fn targets(rust_log: Option<&str>, default_filter: &str) -> Targets {
    rust_log
        .and_then(|directives| directives.parse().ok())
        .or_else(|| default_filter.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO))
}

/// Installs the subscriber once (a second call keeps the first). `RUST_LOG` (or
/// `default_filter`) picks the levels; `service` names the process on every JSON line;
/// `lambda` adds `cold_start`.
///
/// Lambda reads a function's stdout; elsewhere lines go to stderr, so a command's own
/// output (a key, a URL, a report) stays alone on stdout.
pub fn init(format: LogFormat, service: &'static str, lambda: bool, default_filter: &str) {
    let writer = if lambda {
        BoxMakeWriter::new(std::io::stdout)
    } else {
        BoxMakeWriter::new(std::io::stderr)
    };
    let targets = filter(default_filter);
    let _ = match format {
        LogFormat::Json => tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
                    .event_format(PowertoolsJson::new(service, lambda))
                    .with_writer(writer),
            )
            .with(targets)
            .try_init(),
        LogFormat::Human => tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_target(false)
                    // Colours for a person at a terminal; a file or a pipe gets plain text.
                    .with_ansi(human_at_terminal(lambda))
                    .with_writer(writer),
            )
            .with(targets)
            .try_init(),
    };
}

/// Whether the human format's destination (stdout on Lambda, stderr elsewhere) is a
/// terminal.
fn human_at_terminal(lambda: bool) -> bool {
    use std::io::IsTerminal;
    if lambda {
        std::io::stdout().is_terminal()
    } else {
        std::io::stderr().is_terminal()
    }
}

/// JSON lines for a Lambda function named `service`.
pub fn init_lambda(service: &'static str) {
    init(LogFormat::Json, service, true, "info");
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn rust_log_directives_pick_levels_per_target_and_a_bad_one_falls_back() {
        let t = targets(Some("warn,broadcaster=debug"), "info");
        assert!(t.would_enable("broadcaster", &Level::DEBUG));
        assert!(t.would_enable("api::observe", &Level::WARN));
        assert!(!t.would_enable("api::observe", &Level::INFO));
        let fallback = targets(Some("=debug=nonsense=="), "info");
        assert!(fallback.would_enable("api", &Level::INFO));
        assert!(!fallback.would_enable("api", &Level::DEBUG));
        assert!(targets(None, "debug").would_enable("zts", &Level::DEBUG));
        assert!("json".parse::<LogFormat>().is_ok());
        assert!(
            "xml"
                .parse::<LogFormat>()
                .unwrap_err()
                .contains("human or json")
        );
    }
}
