//! What the analysis tests share: an idea run through both steps as the pipeline runs
//! them (redacted first, the plan made from the report and a fresh project's META).

#![allow(
    clippy::unwrap_used,
    dead_code,
    reason = "tests; each test crate uses what it needs of this module"
)]

use zts_analysis::rules::RuleEngine;
use zts_analysis::{AdvisoryInput, AdvisoryPlan, ValidationInput, ValidationReport};
use zts_domain::input::ProjectInput;
use zts_domain::pii::PiiPolicy;
use zts_domain::ports::NewProject;
use zts_domain::project::StoredInput;

/// The stored (redacted) input, its validation report and its advisory plan.
pub fn analyse(input: &ProjectInput) -> (StoredInput, ValidationReport, AdvisoryPlan) {
    let stored = StoredInput::redact(input, PiiPolicy::default_regions());
    let report = RuleEngine.validate_sync(&ValidationInput {
        input: stored.input(),
        redaction: stored.redaction(),
    });
    let meta = NewProject {
        project_id: zts_domain::ProjectId::generate(),
        owner: zts_domain::Owner::parse("corpus").unwrap(),
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
    (stored, report, plan)
}
