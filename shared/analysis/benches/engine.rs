//! What the analysis costs per idea (RUBRIC.md, "Cost"): the validator, the advisory step
//! and the coherence check over the corpus, best of several rounds, in microseconds; and
//! the well-formed-sentence rule (`grammar::flaws`) alone, per sentence of the artifacts.
//! `cargo bench -p zts-analysis --bench engine`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a bench: a failure is loud"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};
use zts_analysis::rules::RuleEngine;
use zts_analysis::{AdvisoryInput, ValidationInput};
use zts_domain::input::ProjectInput;
use zts_domain::pii::PiiPolicy;
use zts_domain::ports::NewProject;
use zts_domain::project::StoredInput;

const CORPUS: &str = include_str!("../../../tests/fixtures/ideas/corpus.json");
const ROUNDS: usize = 15;

fn main() {
    let doc: serde_json::Value = serde_json::from_str(CORPUS).unwrap();
    let ideas: Vec<StoredInput> = doc["ideas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let input = ProjectInput::from_value(&c["idea"]).unwrap();
            StoredInput::redact(&input, PiiPolicy::default_regions())
        })
        .collect();
    let meta = NewProject {
        project_id: zts_domain::ProjectId::generate(),
        owner: zts_domain::Owner::parse("bench").unwrap(),
        input: ideas[0].clone(),
        correlation_id: "c".into(),
        created_at: zts_domain::clock::now(),
        idempotency: None,
        workflow: Default::default(),
    }
    .initial_meta();
    let (mut validate, mut advise, mut check) = (Duration::MAX, Duration::MAX, Duration::MAX);
    let mut sentences: Vec<String> = Vec::new();
    for round in 0..ROUNDS {
        let (mut v, mut a, mut c) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
        for stored in &ideas {
            let t = Instant::now();
            let report = RuleEngine.validate_sync(&ValidationInput {
                input: stored.input(),
                redaction: stored.redaction(),
            });
            v += t.elapsed();
            let t = Instant::now();
            let plan = RuleEngine.advise_sync(&AdvisoryInput {
                meta: &meta,
                input: stored.input(),
                report: &report,
            });
            a += t.elapsed();
            let t = Instant::now();
            black_box(zts_analysis::coherence::check(
                stored.input(),
                &report,
                &plan,
            ))
            .unwrap();
            c += t.elapsed();
            if round == 0 {
                sentences.extend(sentences_of(&report, &plan));
            }
        }
        validate = validate.min(v);
        advise = advise.min(a);
        check = check.min(c);
    }
    let mut flaws = Duration::MAX;
    for _ in 0..ROUNDS {
        let t = Instant::now();
        for sentence in &sentences {
            black_box(zts_analysis::grammar::flaws(black_box(sentence)));
        }
        flaws = flaws.min(t.elapsed());
    }
    let per = |d: Duration| d.as_secs_f64() * 1e6 / ideas.len() as f64;
    println!(
        "analysis per idea over {} corpus ideas (best of {ROUNDS}): validate {:.1} µs, advise {:.1} µs, coherence check {:.1} µs, total {:.1} µs",
        ideas.len(),
        per(validate),
        per(advise),
        per(check),
        per(validate + advise + check)
    );
    println!(
        "the well-formed-sentence rule: {} sentences ({:.1} per idea), {:.0} ns per sentence, {:.1} µs per idea",
        sentences.len(),
        sentences.len() as f64 / ideas.len() as f64,
        flaws.as_secs_f64() * 1e9 / sentences.len() as f64,
        per(flaws)
    );
}

/// The sentences of a report and its plan the engine wrote (the founder's hypothesis
/// quoted as an assumption included, as the rule reads it).
fn sentences_of(
    report: &zts_analysis::ValidationReport,
    plan: &zts_analysis::AdvisoryPlan,
) -> Vec<String> {
    let mut out = vec![
        report.summary.clone(),
        plan.decision.rationale.clone(),
        plan.next_milestone.clone(),
    ];
    for a in &report.assumptions {
        out.extend([a.statement.clone(), a.test.clone()]);
    }
    for r in &plan.recommendations {
        out.extend([r.action.clone(), r.answers.clone()]);
    }
    for x in &plan.experiments {
        out.extend([x.description.clone(), x.success_metric.clone()]);
    }
    for m in &plan.risks {
        out.extend([m.risk.clone(), m.mitigation.clone()]);
    }
    out
}
