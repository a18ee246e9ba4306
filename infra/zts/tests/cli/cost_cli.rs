//! `zts cost` on a fixed counts file prints a fixed table (a golden file; regenerate with
//! `ZTS_BLESS_GOLDEN=1` and read the diff), whose figures are the counts times the price
//! table's prices; a broken counts file is refused naming it.

use std::path::Path;
use std::process::Command;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cost")
        .join(name)
}

fn cost(counts: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_zts"))
        .args(["cost", "--counts"])
        .arg(counts)
        .output()
        .unwrap()
}

#[test]
fn a_fixed_counts_file_prints_the_golden_table() {
    let out = cost(&fixture("counts.json"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    let golden = fixture("table.txt");
    if std::env::var_os("ZTS_BLESS_GOLDEN").is_some() {
        std::fs::write(&golden, &table).unwrap();
    }
    assert_eq!(table, std::fs::read_to_string(&golden).unwrap());
    // The figures are the counts at the table's prices, worked out here by hand: 8
    // transitions a project at $0.025 per 1,000; 19 write units at $0.625 per million;
    // one Express request at $1 per million; 4 HTTP requests at $1 per million.
    let line = |service: &str, unit: &str| {
        table
            .lines()
            .find(|l| l.starts_with(service) && l.contains(unit))
            .unwrap_or_else(|| panic!("no {service} {unit} line:\n{table}"))
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(line("Step Functions", "Standard").last().unwrap(), "-");
    assert!(line("Step Functions", "Standard").contains(&"200.00".to_string()));
    assert!(line("DynamoDB", "write").contains(&"11.88".to_string()));
    assert!(line("Step Functions", "Express requests").contains(&"1.00".to_string()));
    assert!(line("HTTP API", "requests").contains(&"4.00".to_string()));
    assert!(table.contains("DynamoDB write request units per project: 19.00"));
    assert!(table.contains("prices as of 2026-12-04"));
}

#[test]
fn a_counts_file_that_is_not_one_is_refused_naming_it() {
    let bad = Path::new(env!("CARGO_TARGET_TMPDIR")).join("not-counts.json");
    std::fs::write(&bad, "{\"projects\": \"many\"}").unwrap();
    let out = cost(&bad);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not-counts.json") && err.contains("not a counts file"),
        "{err}"
    );
}
