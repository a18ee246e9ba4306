//! The rule engine against the corpus in `tests/fixtures/ideas/corpus.json`: every idea
//! lands in the verdict set and score range written down for it, regulated domains are
//! flagged (and the ones that do not apply are not), the call, criteria, advice and
//! experiment avatars a careful reader expects hold, every pair of artifacts is coherent,
//! artifacts stay small and deterministic, and no PII value survives.

use serde_json::Value;
use zts_analysis::rules::RuleEngine;
use zts_analysis::{ARTIFACT_MAX_BYTES, AdvisoryInput, ValidationInput};
use zts_domain::input::ProjectInput;
use zts_domain::pii::PiiPolicy;
use zts_domain::ports::NewProject;
use zts_domain::project::StoredInput;

const CORPUS: &str = include_str!("../../fixtures/ideas/corpus.json");

struct Case {
    id: String,
    body: Value,
    expect: Value,
    pii: Vec<String>,
}

fn corpus() -> Vec<Case> {
    let doc: Value = serde_json::from_str(CORPUS).expect("the corpus is JSON");
    doc["ideas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let mut body = c["idea"].clone();
            if let Some(n) = c["repeat_description"].as_u64() {
                let d = body["description"].as_str().unwrap().to_string();
                body["description"] = Value::String(vec![d; n as usize].join(" "));
            }
            Case {
                id: c["id"].as_str().unwrap().to_string(),
                body,
                expect: c["expect"].clone(),
                pii: c["pii"]
                    .as_array()
                    .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
                    .unwrap_or_default(),
            }
        })
        .collect()
}

fn analyse(input: &ProjectInput) -> (String, String, StoredInput) {
    let stored = StoredInput::redact(input, PiiPolicy::default_regions());
    let engine = RuleEngine;
    let report = engine.validate_sync(&ValidationInput {
        input: stored.input(),
        redaction: stored.redaction(),
    });
    let new = NewProject {
        project_id: zts_domain::ProjectId::generate(),
        owner: zts_domain::Owner::parse("corpus").unwrap(),
        input: stored.clone(),
        correlation_id: "c".into(),
        created_at: zts_domain::clock::now(),
        idempotency: None,
        workflow: Default::default(),
    };
    let meta = new.initial_meta();
    let plan = engine.advise_sync(&AdvisoryInput {
        meta: &meta,
        input: stored.input(),
        report: &report,
    });
    (
        serde_json::to_string(&report).unwrap(),
        serde_json::to_string(&plan).unwrap(),
        stored,
    )
}

#[test]
fn the_corpus_has_at_least_sixty_varied_ideas() {
    let cases = corpus();
    assert!(cases.len() >= 60, "{} ideas", cases.len());
    let doc: Value = serde_json::from_str(CORPUS).unwrap();
    let categories: std::collections::BTreeSet<&str> = doc["ideas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["category"].as_str().unwrap())
        .collect();
    for needed in [
        "strong",
        "vague",
        "one-liner",
        "very-long",
        "non-english",
        "pii",
        "regulated",
        "hostile",
        "planned-vs-done",
        "false-flag",
        "multi-avatar",
        "units",
        "hypothesis",
    ] {
        assert!(categories.contains(needed), "no {needed} idea");
    }
}

#[test]
fn every_idea_lands_in_its_expected_verdict_and_range() {
    let mut misses = Vec::new();
    for case in corpus() {
        let input = ProjectInput::from_value(&case.body)
            .unwrap_or_else(|e| panic!("{}: the API would refuse it: {e:?}", case.id));
        let (report, _, _) = analyse(&input);
        let report: Value = serde_json::from_str(&report).unwrap();
        let score = report["overall_score"].as_u64().unwrap();
        let verdict = report["verdict"].as_str().unwrap();
        // Shown with --nocapture: the table the README's rubric section quotes.
        println!("{:<28} {:<13} {score:>3}", case.id, verdict);
        if std::env::var("ZTS_CORPUS_DETAIL").is_ok() {
            for c in report["criteria"].as_array().unwrap() {
                println!("    {:<24} {:>2}", c["id"].as_str().unwrap(), c["score"]);
            }
        }
        let verdicts: Vec<&str> = case.expect["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let (min, max) = (
            case.expect["score_min"].as_u64().unwrap(),
            case.expect["score_max"].as_u64().unwrap(),
        );
        if !verdicts.contains(&verdict) || score < min || score > max {
            misses.push(format!(
                "{}: {verdict} {score}, expected {verdicts:?} {min}-{max}",
                case.id
            ));
        }
        let (_, plan, stored) = analyse(&input);
        let plan: Value = serde_json::from_str(&plan).unwrap();
        misses.extend(expectations(&case, &report, &plan, &stored));
        for domain in case.expect["risk_domains"].as_array().into_iter().flatten() {
            let flagged = report["risk_flags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["domain"] == *domain);
            if !flagged {
                misses.push(format!("{}: the {domain} risk is not flagged", case.id));
            }
        }
    }
    assert!(misses.is_empty(), "\n{}", misses.join("\n"));
}

/// The expectations beyond the verdict: what must and must not be said.
fn expectations(case: &Case, report: &Value, plan: &Value, stored: &StoredInput) -> Vec<String> {
    let mut misses = Vec::new();
    let id = &case.id;
    let e = &case.expect;
    let flagged = |d: &Value| {
        report["risk_flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["domain"] == *d)
    };
    for domain in e["risk_domains_absent"].as_array().into_iter().flatten() {
        if flagged(domain) {
            misses.push(format!(
                "{id}: the {domain} risk is flagged, and must not be"
            ));
        }
    }
    let score = |c: &str| {
        report["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == c)
            .and_then(|x| x["score"].as_u64())
            .unwrap()
    };
    for (c, min) in e["criteria_min"].as_object().into_iter().flatten() {
        if score(c) < min.as_u64().unwrap() {
            misses.push(format!(
                "{id}: {c} is {}, expected at least {min}",
                score(c)
            ));
        }
    }
    for (c, max) in e["criteria_max"].as_object().into_iter().flatten() {
        if score(c) > max.as_u64().unwrap() {
            misses.push(format!("{id}: {c} is {}, expected at most {max}", score(c)));
        }
    }
    if let Some(call) = e["call"].as_str()
        && plan["decision"]["call"] != call
    {
        misses.push(format!(
            "{id}: the call is {}, expected {call}",
            plan["decision"]["call"]
        ));
    }
    for text in e["rationale_contains"].as_array().into_iter().flatten() {
        let rationale = plan["decision"]["rationale"].as_str().unwrap();
        if !rationale.contains(text.as_str().unwrap()) {
            misses.push(format!(
                "{id}: the rationale does not say {text}: {rationale}"
            ));
        }
    }
    let plan_text = plan.to_string();
    for text in e["plan_must_not_contain"].as_array().into_iter().flatten() {
        if plan_text.contains(text.as_str().unwrap()) {
            misses.push(format!("{id}: the plan says {text}"));
        }
    }
    for (method, avatar) in e["experiment_avatars"].as_object().into_iter().flatten() {
        let found = plan["experiments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["method"] == method.as_str())
            .map(|x| x["avatar"].clone());
        if found.as_ref() != Some(avatar) {
            misses.push(format!(
                "{id}: the {method} targets {found:?}, expected {avatar}"
            ));
        }
    }
    let report: zts_analysis::ValidationReport = serde_json::from_value(report.clone()).unwrap();
    let plan: zts_analysis::AdvisoryPlan = serde_json::from_value(plan.clone()).unwrap();
    if let Err(e) = zts_analysis::coherence::check(stored.input(), &report, &plan) {
        misses.push(format!("{id}: {e}"));
    }
    misses
}

/// Keeps each corpus artifact for the schema check (tests/browser/analysis-schema.test.mjs,
/// run by the README's test command after cargo test).
fn record(id: &str, report: &str, plan: &str) {
    let dir = zts_tests::browser::repo_root().join("target/analysis-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{id}.validation.json")), report).unwrap();
    std::fs::write(dir.join(format!("{id}.advisory.json")), plan).unwrap();
}

#[test]
fn artifacts_are_small_deterministic_and_free_of_pii() {
    for case in corpus() {
        let input = ProjectInput::from_value(&case.body).unwrap();
        let (report, plan, stored) = analyse(&input);
        let (report_again, plan_again, _) = analyse(&input);
        record(&case.id, &report, &plan);
        assert_eq!(
            report, report_again,
            "{}: the validation report is not deterministic",
            case.id
        );
        assert_eq!(
            plan, plan_again,
            "{}: the advisory plan is not deterministic",
            case.id
        );
        assert!(
            report.len() <= ARTIFACT_MAX_BYTES,
            "{}: report {} bytes",
            case.id,
            report.len()
        );
        assert!(
            plan.len() <= ARTIFACT_MAX_BYTES,
            "{}: plan {} bytes",
            case.id,
            plan.len()
        );
        let stored_json = serde_json::to_string(&stored).unwrap();
        for value in &case.pii {
            for (what, text) in [
                ("report", &report),
                ("plan", &plan),
                ("stored input", &stored_json),
            ] {
                assert!(
                    !text.contains(value.as_str()),
                    "{}: {value:?} is in the {what}",
                    case.id
                );
            }
        }
        if !case.pii.is_empty() {
            assert!(
                stored.redaction().total >= case.pii.len() as u32,
                "{}: {:?}",
                case.id,
                stored.redaction()
            );
            let report: Value = serde_json::from_str(&report).unwrap();
            assert_eq!(
                report["redaction"]["total"],
                stored.redaction().total,
                "the report repeats the redaction report"
            );
        }
    }
}
