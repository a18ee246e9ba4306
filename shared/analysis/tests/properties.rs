//! Properties of the rule engine over arbitrary valid ideas: it never panics, its
//! artifacts stay under 64 KB, and the same input gives byte-identical artifacts.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed expectation is a failed test"
)]

use proptest::prelude::*;
use zts_analysis::rules::RuleEngine;
use zts_analysis::{ARTIFACT_MAX_BYTES, AdvisoryInput, ValidationInput};
use zts_domain::input::ProjectInput;
use zts_domain::input::limits::*;
use zts_domain::pii::PiiPolicy;
use zts_domain::ports::NewProject;
use zts_domain::project::StoredInput;

/// Text mixing English words, numbers, punctuation, emoji, CJK and control-free Unicode.
fn text(max_chars: usize) -> impl Strategy<Value = String> {
    let token = prop_oneof![
        "[a-z]{1,12}",
        "[0-9]{1,6}%?",
        Just("pay".to_string()),
        Just("at least".to_string()),
        Just("within 2 weeks".to_string()),
        Just("unlike".to_string()),
        Just("patients".to_string()),
        Just("🚀".to_string()),
        Just("設計".to_string()),
        Just("a@b.co".to_string()),
        "[.,;:!?()'\"-]",
        "\\PC{1,4}",
    ];
    prop::collection::vec(token, 0..400).prop_map(move |tokens| {
        let joined = tokens.join(" ");
        let cleaned: String = joined
            .chars()
            .filter(|c| {
                !c.is_control() && !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
            })
            .take(max_chars)
            .collect();
        cleaned
    })
}

fn idea() -> impl Strategy<Value = ProjectInput> {
    (
        text(NAME_MAX_CHARS),
        text(DESCRIPTION_MAX_CHARS),
        text(HYPOTHESIS_MAX_CHARS),
        prop::collection::vec("[A-Za-z0-9 _]{1,80}", 0..=AVATARS_MAX_COUNT),
    )
        .prop_map(
            |(name, description, hypothesis, target_avatars)| ProjectInput {
                name: if name.trim().is_empty() {
                    "x".into()
                } else {
                    name.trim().to_string()
                },
                description,
                hypothesis,
                target_avatars,
            },
        )
}

fn artifacts(input: &ProjectInput) -> (String, String) {
    let stored = StoredInput::redact(input, PiiPolicy::default_regions());
    let report = RuleEngine.validate_sync(&ValidationInput {
        input: stored.input(),
        redaction: stored.redaction(),
    });
    let meta = NewProject {
        project_id: zts_domain::ProjectId::generate(),
        owner: zts_domain::Owner::parse("p").unwrap(),
        input: stored.clone(),
        correlation_id: "c".into(),
        created_at: zts_domain::clock::now(),
        idempotency: None,
    }
    .initial_meta();
    let plan = RuleEngine.advise_sync(&AdvisoryInput {
        meta: &meta,
        input: stored.input(),
        report: &report,
    });
    (
        serde_json::to_string(&report).unwrap(),
        serde_json::to_string(&plan).unwrap(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn bounded_and_deterministic(input in idea()) {
        let (report, plan) = artifacts(&input);
        prop_assert!(report.len() <= ARTIFACT_MAX_BYTES, "report {} bytes", report.len());
        prop_assert!(plan.len() <= ARTIFACT_MAX_BYTES, "plan {} bytes", plan.len());
        let (report_again, plan_again) = artifacts(&input);
        prop_assert_eq!(report, report_again);
        prop_assert_eq!(plan, plan_again);
    }

    #[test]
    fn scores_stay_in_bounds(input in idea()) {
        let (report, plan) = artifacts(&input);
        let report: serde_json::Value = serde_json::from_str(&report).unwrap();
        prop_assert!(report["overall_score"].as_u64().unwrap() <= 100);
        for c in report["criteria"].as_array().unwrap() {
            prop_assert!(c["score"].as_u64().unwrap() <= 10);
        }
        let plan: serde_json::Value = serde_json::from_str(&plan).unwrap();
        let experiments = plan["experiments"].as_array().unwrap().len();
        prop_assert!((3..=5).contains(&experiments), "{} experiments", experiments);
    }
}

#[test]
fn the_largest_valid_idea_stays_under_the_bound() {
    let long = |n: usize| {
        "Patients pay at least 30% within 2 weeks unlike competitors, we interviewed 20. ".repeat(n)
    };
    let input = ProjectInput {
        name: "n".repeat(NAME_MAX_CHARS),
        description: long(80).chars().take(DESCRIPTION_MAX_CHARS).collect(),
        hypothesis: long(40).chars().take(HYPOTHESIS_MAX_CHARS).collect(),
        target_avatars: (0..AVATARS_MAX_COUNT)
            .map(|i| format!("{i}{}", "a".repeat(AVATAR_MAX_CHARS - 2)))
            .collect(),
    };
    let (report, plan) = artifacts(&input);
    assert!(
        report.len() <= ARTIFACT_MAX_BYTES,
        "report {} bytes",
        report.len()
    );
    assert!(
        plan.len() <= ARTIFACT_MAX_BYTES,
        "plan {} bytes",
        plan.len()
    );
    println!(
        "largest idea: report {} bytes, plan {} bytes",
        report.len(),
        plan.len()
    );
}
