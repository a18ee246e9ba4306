//! The assumptions an idea rests on, each with its kind (which experiment can test it)
//! and a test with a pass threshold (RUBRIC.md, "Assumptions").

use super::super::*;
use crate::grammar::capitalised;
use crate::reading::Reading;
use crate::text::quote;

const MAX_ASSUMPTIONS: usize = 6;

/// The assumptions the idea rests on, each with its kind (which experiment can test
/// it) and a test with a pass threshold; sentences built by the grammar layer.
pub(super) fn assumptions(
    input: &ProjectInput,
    reading: &Reading,
    criteria: &[Criterion],
) -> Vec<Assumption> {
    let users = reading.plural(&reading.user);
    let payers = reading.plural(&reading.payer);
    let name = format!("“{}”", quote(&input.name));
    let score = |id: CriterionId| criteria.iter().find(|c| c.id == id).map_or(0, |c| c.score);
    let mut out: Vec<(AssumptionKind, String, String)> = Vec::new();
    let hypothesis = input.hypothesis.trim();
    if !hypothesis.is_empty() {
        let test = if score(CriterionId::HypothesisTestability) >= 8 {
            "Run it as written, with the threshold it states fixed before you start.".to_string()
        } else {
            format!(
                "Rewrite it with who, an observable behaviour, a threshold and a time box, then run it with {}.",
                reading.count(20, &reading.user)
            )
        };
        out.push((AssumptionKind::Hypothesis, quote(hypothesis), test));
    }
    let problem_test = match reading.interviews_reported {
        Some(n) if n >= 10 => format!(
            "Already reported: {n} conversations. Confirm it in use: at least 3 of {} in a concierge trial use it twice or more.",
            reading.count(5, &reading.user)
        ),
        _ => format!(
            "Interview {}; at least 6 describe the problem unprompted and a workaround they use today.",
            reading.count(10, &reading.user)
        ),
    };
    out.push((
        AssumptionKind::Problem,
        capitalised(&format!(
            "{users} feel the problem {name} solves often and painfully enough to look for a fix."
        )),
        problem_test,
    ));
    out.push((
        AssumptionKind::WillingnessToPay,
        capitalised(&format!(
            "{payers} will pay for {name} rather than keep today's workaround."
        )),
        format!(
            "Ask {} to pre-order or sign a letter of intent; at least 3 commit.",
            reading.count(10, &reading.payer)
        ),
    ));
    if score(CriterionId::Differentiation) < 6 {
        out.push((
            AssumptionKind::BetterThanAlternative,
            format!("{name} is meaningfully better than what {users} use today."),
            "List the top 3 alternatives; show 5 prospects a side-by-side and count who would switch (target: 3 of 5).".into(),
        ));
    }
    if hypothesis.is_empty() || score(CriterionId::EvidenceOfDemand) < 5 {
        out.push((
            AssumptionKind::Reachable,
            format!("Enough {users} can be reached through one channel to test {name} cheaply."),
            "Put a landing page in front of 300 visitors from one channel; at least 5% leave an e-mail.".into(),
        ));
    }
    out.truncate(MAX_ASSUMPTIONS);
    out.into_iter()
        .enumerate()
        .map(|(i, (kind, statement, test))| Assumption {
            id: format!("A{}", i + 1),
            kind: Some(kind),
            statement,
            test,
        })
        .collect()
}
