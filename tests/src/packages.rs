//! The function packages the emulation runs: `target/lambda/<function>/bootstrap`, built
//! by `infra/scripts/package.sh` (the README's test command runs it before the tests, so
//! the tests run the same release packages CI reports the sizes of).

use std::path::PathBuf;

/// Every function template.yaml deploys, by its package directory.
pub const FUNCTIONS: [&str; 8] = [
    "api",
    "ws",
    "authorizer",
    "validator",
    "advisory",
    "finalize",
    "broadcaster",
    "reconciler",
];

/// The packages' directory when every package named is there. In CI a missing one fails
/// the test; elsewhere it skips (`None`), saying what to run.
pub fn dir(functions: &[&str]) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()?
        .join("target/lambda");
    for f in functions {
        let bootstrap = dir.join(f).join("bootstrap");
        if !bootstrap.exists() {
            let why = format!(
                "{} is missing: build the packages (bash infra/scripts/package.sh)",
                bootstrap.display()
            );
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{why}");
            }
            eprintln!("skipped: {why}");
            return None;
        }
    }
    Some(dir)
}
