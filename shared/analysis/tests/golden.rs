//! A golden file per corpus idea (`tests/fixtures/ideas/golden/<id>.json`): the full
//! validation report and advisory plan the rule engine writes for it, reviewed once by
//! reading. Any later change to wording or scores shows up here, and in review as a diff
//! of these files. After a change made on purpose, regenerate them with
//! `ZTS_BLESS_GOLDEN=1 cargo test -p zts-analysis --test golden` and read the diff.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed expectation is a failed test"
)]

mod common;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use zts_domain::input::ProjectInput;

const CORPUS: &str = include_str!("../../../tests/fixtures/ideas/corpus.json");

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/ideas/golden")
}

/// What the engine writes for one corpus idea, as the golden file holds it.
fn analysis_of(idea: &Value) -> Value {
    let mut body = idea["idea"].clone();
    if let Some(n) = idea["repeat_description"].as_u64() {
        let d = body["description"].as_str().unwrap().to_string();
        body["description"] = Value::String(vec![d; n as usize].join(" "));
    }
    let input: ProjectInput = serde_json::from_value(body).unwrap();
    let (_, report, plan) = common::analyse(&input);
    json!({"id": idea["id"], "report": report, "plan": plan})
}

#[test]
fn every_corpus_idea_matches_its_golden_file() {
    let corpus: Value = serde_json::from_str(CORPUS).unwrap();
    let bless = std::env::var("ZTS_BLESS_GOLDEN").is_ok_and(|v| v == "1");
    let mut differ = Vec::new();
    let mut expected_files = Vec::new();
    for idea in corpus["ideas"].as_array().unwrap() {
        let id = idea["id"].as_str().unwrap();
        let path = golden_dir().join(format!("{id}.json"));
        expected_files.push(format!("{id}.json"));
        let got = serde_json::to_string_pretty(&analysis_of(idea)).unwrap() + "\n";
        if bless {
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if want != got {
            let line = want
                .lines()
                .zip(got.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| want.lines().count().min(got.lines().count()));
            differ.push(format!(
                "{id}: line {}: golden {:?}, now {:?}",
                line + 1,
                want.lines().nth(line).unwrap_or("<end>"),
                got.lines().nth(line).unwrap_or("<end>")
            ));
        }
    }
    assert!(
        differ.is_empty(),
        "the engine's output changed (regenerate with ZTS_BLESS_GOLDEN=1 if on purpose, \
         then read the diff):\n{}",
        differ.join("\n")
    );
    // No golden file outlives its idea.
    let mut on_disk: Vec<String> = std::fs::read_dir(golden_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    expected_files.sort();
    assert_eq!(
        on_disk, expected_files,
        "golden files without a corpus idea, or the reverse"
    );
}
