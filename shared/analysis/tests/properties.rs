//! Properties of the rule engine over arbitrary valid ideas: it never panics, its
//! artifacts stay under 64 KB, the same input gives byte-identical artifacts, and every
//! pair of artifacts keeps the coherence rules (the call follows the decision table, the
//! experiments test what they name, nothing contradicts, no malformed sentence).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed expectation is a failed test"
)]

mod common;

use proptest::prelude::*;
use zts_analysis::ARTIFACT_MAX_BYTES;
use zts_domain::input::ProjectInput;
use zts_domain::input::limits::*;
use zts_domain::pii::PiiPolicy;
use zts_domain::project::StoredInput;

/// Text mixing English and German words (so some ideas are read as German), numbers,
/// punctuation, emoji, CJK and control-free Unicode.
fn text(max_chars: usize) -> impl Strategy<Value = String> {
    let token = prop_oneof![
        "[a-z]{1,12}",
        "[0-9]{1,6}%?",
        Just("pay".to_string()),
        Just("at least".to_string()),
        Just("within 2 weeks".to_string()),
        Just("unlike".to_string()),
        Just("patients".to_string()),
        Just("zahlen".to_string()),
        Just("mindestens".to_string()),
        Just("innerhalb von 2 Wochen".to_string()),
        Just("die und mit".to_string()),
        Just("wir haben mit 12 gesprochen".to_string()),
        Just("Zahnärzte".to_string()),
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
        prop::collection::vec(
            prop_oneof![
                4 => "[A-Za-z0-9 _]{1,80}",
                1 => Just("Inhaber einer Bäckerei".to_string()),
                1 => Just("alle".to_string()),
            ],
            0..=AVATARS_MAX_COUNT,
        ),
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

fn typed(
    input: &ProjectInput,
) -> (
    StoredInput,
    zts_analysis::ValidationReport,
    zts_analysis::AdvisoryPlan,
) {
    let (report, plan) = artifacts(input);
    (
        StoredInput::redact(input, PiiPolicy::default_regions()),
        serde_json::from_str(&report).unwrap(),
        serde_json::from_str(&plan).unwrap(),
    )
}

fn artifacts(input: &ProjectInput) -> (String, String) {
    let (_, report, plan) = common::analyse(input);
    (
        serde_json::to_string(&report).unwrap(),
        serde_json::to_string(&plan).unwrap(),
    )
}

/// Ideas built from the phrases the rules read, in any order and combination.
fn realistic_idea() -> impl Strategy<Value = ProjectInput> {
    let sentence = prop_oneof![
        Just("Busy parents waste 3 hours a week finding tutors."),
        Just("We interviewed 14 practice managers."),
        Just("We will survey 100 dog owners next month."),
        Just("Unlike spreadsheets, it chases automatically."),
        Just("It cuts rework time by 70%."),
        Just("We start with one city."),
        Just("Patients wait weeks for dental insurance claims."),
        Just("Microloans for market traders, paid back weekly."),
        Just("A super app for everyone, worldwide."),
        Just("40 joined our waitlist."),
        Just(""),
    ];
    let hypothesis = prop_oneof![
        Just(""),
        Just("At least 20% of 50 bookkeepers will pre-order at $29/month within 2 weeks."),
        Just("30% of 100 surveyed dog owners book a trial walk within 14 days"),
        Just("People will like it."),
    ];
    let avatar = prop_oneof![
        Just("everyone"),
        Just("busy parent"),
        Just("practice manager at a solo dental clinic"),
        Just("dentist owner"),
        Just("dog owners"),
        Just("users"),
        Just("nurse who works nights"),
    ];
    (
        prop::collection::vec(sentence, 0..6),
        hypothesis,
        prop::collection::btree_set(avatar, 0..4),
    )
        .prop_map(|(sentences, hypothesis, avatars)| ProjectInput {
            name: "Claimfix".into(),
            description: sentences.join(" "),
            hypothesis: hypothesis.into(),
            target_avatars: avatars.into_iter().map(String::from).collect(),
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn every_pair_of_artifacts_is_coherent(input in prop_oneof![idea(), realistic_idea()]) {
        let (stored, report, plan) = typed(&input);
        let checked = zts_analysis::coherence::check(stored.input(), &report, &plan);
        prop_assert!(checked.is_ok(), "{:?}\n{}\n{}", checked, serde_json::to_string_pretty(&report).unwrap(), serde_json::to_string_pretty(&plan).unwrap());
    }

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

#[test]
fn a_label_that_repeats_a_word_is_the_founders_not_a_flaw() {
    let input = ProjectInput {
        name: "x".into(),
        description: "We interviewed 3 people.".into(),
        hypothesis: String::new(),
        target_avatars: vec!["x x thing".into(), "the the".into()],
    };
    let (stored, report, plan) = typed(&input);
    assert_eq!(
        zts_analysis::coherence::check(stored.input(), &report, &plan),
        Ok(())
    );
}

#[test]
fn weak_criteria_are_one_risk_and_a_repeated_template_is_refused() {
    let input = ProjectInput {
        name: "Thing".into(),
        description: "An app for everyone.".into(),
        hypothesis: String::new(),
        target_avatars: vec!["busy parent".into()],
    };
    let (stored, report, mut plan) = common::analyse(&input);
    let weak: Vec<_> = plan
        .risks
        .iter()
        .filter(|r| r.risk.contains("weak"))
        .collect();
    assert_eq!(weak.len(), 1, "{:#?}", plan.risks);
    assert!(weak[0].risk.contains(") and "), "{}", weak[0].risk);
    assert!(zts_analysis::coherence::check(stored.input(), &report, &plan).is_ok());
    // The template once per criterion, as the engine wrote it before 1.2.2: refused.
    let template = |rank: u32| zts_analysis::Mitigation {
        risk: format!("Criterion {rank} is weak."),
        mitigation: format!(
            "Keep the build to a prototype until recommendation {rank} is done and the score is 6 or more."
        ),
    };
    plan.risks.retain(|r| !r.risk.contains("weak"));
    plan.risks.extend([template(1), template(2)]);
    let refused = zts_analysis::coherence::check(stored.input(), &report, &plan).unwrap_err();
    assert_eq!(refused.rule, "no_sentence_said_twice", "{}", refused.detail);
}
