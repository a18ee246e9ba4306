//! The analysis artifacts' JSON Schema against the Rust types, so it cannot drift: every
//! enum it lists is exactly the code's values (the matches are exhaustive: a new variant
//! does not compile until it is added here, and then fails until the schema has it), every
//! field the code writes is in the schema and every field the schema requires is written;
//! and the schema is served without a key. (The test command also validates every corpus
//! artifact with a JSON Schema validator: tests/browser/analysis-schema.test.mjs.)

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;
use zts_analysis::{AssumptionKind, Call, CriterionId, FindingKind, SCHEMA, Verdict};
use zts_domain::pii::PiiKind;

fn schema() -> Value {
    serde_json::from_str(SCHEMA).expect("the schema is JSON")
}

fn names<T: Serialize>(values: &[T]) -> BTreeSet<String> {
    values
        .iter()
        .map(|v| {
            serde_json::to_value(v)
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn listed(v: &Value) -> BTreeSet<String> {
    v["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("no enum in {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn verdicts() -> Vec<Verdict> {
    let all = [
        Verdict::Insufficient,
        Verdict::NeedsWork,
        Verdict::Promising,
        Verdict::Strong,
    ];
    for v in all {
        match v {
            Verdict::Insufficient | Verdict::NeedsWork | Verdict::Promising | Verdict::Strong => {}
        }
    }
    all.to_vec()
}

fn calls() -> Vec<Call> {
    let all = [Call::Go, Call::Pivot, Call::Stop];
    for c in all {
        match c {
            Call::Go | Call::Pivot | Call::Stop => {}
        }
    }
    all.to_vec()
}

fn finding_kinds() -> Vec<FindingKind> {
    let all = [FindingKind::Strength, FindingKind::Gap, FindingKind::Risk];
    for k in all {
        match k {
            FindingKind::Strength | FindingKind::Gap | FindingKind::Risk => {}
        }
    }
    all.to_vec()
}

fn criteria() -> Vec<CriterionId> {
    use CriterionId::*;
    let all = [
        ProblemClarity,
        CustomerSpecificity,
        HypothesisTestability,
        ValueProposition,
        EvidenceOfDemand,
        Differentiation,
        ScopeRealism,
        RegulatoryRisk,
    ];
    for c in all {
        match c {
            ProblemClarity
            | CustomerSpecificity
            | HypothesisTestability
            | ValueProposition
            | EvidenceOfDemand
            | Differentiation
            | ScopeRealism
            | RegulatoryRisk => {}
        }
    }
    all.to_vec()
}

fn assumption_kinds() -> Vec<AssumptionKind> {
    use AssumptionKind::*;
    let all = [
        Hypothesis,
        Problem,
        WillingnessToPay,
        BetterThanAlternative,
        Reachable,
    ];
    for k in all {
        match k {
            Hypothesis | Problem | WillingnessToPay | BetterThanAlternative | Reachable => {}
        }
    }
    all.to_vec()
}

#[test]
fn every_enum_in_the_schema_is_exactly_the_codes() {
    let s = schema();
    let defs = &s["$defs"];
    let report = &defs["ValidationReport"]["properties"];
    assert_eq!(listed(&report["verdict"]), names(&verdicts()));
    assert_eq!(
        listed(&defs["AdvisoryPlan"]["properties"]["decision"]["properties"]["call"]),
        names(&calls())
    );
    assert_eq!(
        listed(&defs["Finding"]["properties"]["kind"]),
        names(&finding_kinds())
    );
    assert_eq!(listed(&defs["CriterionId"]), names(&criteria()));
    assert_eq!(
        listed(&defs["Assumption"]["properties"]["kind"]),
        names(&assumption_kinds())
    );
    assert_eq!(
        listed(&defs["Redaction"]["properties"]["kinds"]["propertyNames"]),
        names(&PiiKind::ALL)
    );
    let domains: BTreeSet<String> = zts_analysis::rules::regulated_domains()
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(listed(&defs["RiskFlag"]["properties"]["domain"]), domains);
}

/// Every object the code writes has only the schema's fields and all it requires.
fn fields_agree(s: &Value, schema: &Value, value: &Value, at: &str) {
    let schema = match schema["$ref"].as_str() {
        Some(r) => s.pointer(r.trim_start_matches('#')).unwrap(),
        None => schema,
    };
    match value {
        Value::Object(map) => {
            // A map (redaction kinds → counts) has no named fields to compare.
            let Some(props) = schema["properties"].as_object() else {
                return;
            };
            for key in map.keys() {
                assert!(
                    props.contains_key(key),
                    "{at}.{key} is written but not in the schema"
                );
            }
            for required in schema["required"].as_array().into_iter().flatten() {
                let key = required.as_str().unwrap();
                assert!(
                    map.contains_key(key),
                    "{at}.{key} is required but not written"
                );
            }
            for (key, v) in map {
                if props[key].get("$ref").is_some()
                    || props[key]["type"] == "object"
                    || props[key]["type"] == "array"
                {
                    fields_agree(s, &props[key], v, &format!("{at}.{key}"));
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                fields_agree(s, &schema["items"], item, &format!("{at}[{i}]"));
            }
        }
        _ => {}
    }
}

#[test]
fn the_fields_the_engine_writes_are_the_schemas() {
    use zts_analysis::rules::RuleEngine;
    use zts_analysis::{AdvisoryInput, ValidationInput};
    let s = schema();
    let input = zts_domain::input::ProjectInput {
        name: "ClaimClean".into(),
        description: "Practice managers at dental clinics lose 5 hours a week to claims. We interviewed 14 of them. Unlike clearinghouses, we fix claims. Write to a@b.co.".into(),
        hypothesis: "At least 25% of 40 clinics will pay $99/month within 3 weeks.".into(),
        target_avatars: vec!["practice manager".into(), "dentist owner".into()],
    };
    let stored = zts_domain::project::StoredInput::redact(
        &input,
        zts_domain::pii::PiiPolicy::default_regions(),
    );
    let report = RuleEngine.validate_sync(&ValidationInput {
        input: stored.input(),
        redaction: stored.redaction(),
    });
    let meta = zts_domain::ports::NewProject {
        project_id: zts_domain::ProjectId::generate(),
        owner: zts_domain::Owner::parse("o").unwrap(),
        input: stored.clone(),
        correlation_id: "c".into(),
        created_at: zts_domain::clock::now(),
        idempotency: None,
        workflow: Default::default(),
    }
    .initial_meta();
    let plan = RuleEngine.advise_sync(&AdvisoryInput {
        meta: &meta,
        input: stored.input(),
        report: &report,
    });
    let report = serde_json::to_value(&report).unwrap();
    assert!(
        report["redaction"]["total"].as_u64().unwrap() >= 1,
        "the sample redacts"
    );
    fields_agree(&s, &s["$defs"]["ValidationReport"], &report, "report");
    fields_agree(
        &s,
        &s["$defs"]["AdvisoryPlan"],
        &serde_json::to_value(&plan).unwrap(),
        "plan",
    );
}

#[test]
fn the_schema_is_served_without_a_key() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let stack = zts_tests::stack().await;
        let http = zts_tests::Http::with_key(&stack.http_url(), None);
        let (status, served) = http.get("/analysis.schema.json").await;
        assert_eq!(status, 200);
        assert_eq!(served, schema());
        stack.shutdown().await;
    });
}
