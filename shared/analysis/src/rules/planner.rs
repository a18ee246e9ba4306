//! The advisory planner: the call and its rationale, the milestone, the experiments that
//! test the report's assumptions by id, the recommended actions and the risks
//! (RUBRIC.md, "Advice").

use super::super::*;
use crate::decision;
use crate::grammar::and_list;
use crate::reading::Reading;
use crate::text::quote;

/// The risks to manage: each regulated domain with its mitigation, the weak criteria as
/// one risk, else the execution risk every idea has.
pub(super) fn risks(
    report: &ValidationReport,
    recommendations: &[Recommendation],
) -> Vec<Mitigation> {
    let mut risks: Vec<Mitigation> = report
        .risk_flags
        .iter()
        .map(|f| Mitigation {
            risk: format!("Regulated domain ({}): {}", f.domain, f.note),
            mitigation: mitigation_for(&f.domain),
        })
        .collect();
    // The weak criteria are one risk with one mitigation: the same template once per
    // criterion read as boilerplate (issue #32).
    let weak: Vec<_> = report
        .criteria
        .iter()
        .filter(|c| c.weight > 0 && c.score <= decision::WEAK_AT_MOST)
        .take(3)
        .collect();
    if !weak.is_empty() {
        let named: Vec<String> = weak
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let name = if i == 0 {
                    c.name.clone()
                } else {
                    c.name.to_lowercase()
                };
                format!("{name} ({}/10)", c.score)
            })
            .collect();
        let mut ranks: Vec<String> = weak
            .iter()
            .filter_map(|c| recommendations.iter().find(|r| r.criterion == c.id))
            .map(|r| r.rank.to_string())
            .collect();
        ranks.sort();
        let (is, scores) = if weak.len() == 1 {
            ("is", "its score is")
        } else {
            ("are", "each of these scores is")
        };
        let mitigation = match ranks.len() {
            0 => format!("Keep the build to a prototype until {scores} 6 or more."),
            1 => format!(
                "Keep the build to a prototype until recommendation {} is done and {scores} 6 or more.",
                ranks[0]
            ),
            _ => format!(
                "Keep the build to a prototype until recommendations {} are done and {scores} 6 or more.",
                and_list(&ranks)
            ),
        };
        risks.push(Mitigation {
            risk: format!(
                "{} {is} weak: building now risks solving the wrong problem.",
                and_list(&named)
            ),
            mitigation,
        });
    }
    if risks.is_empty() {
        risks.push(Mitigation {
            risk: "Execution risk: the first version takes longer than the evidence window.".into(),
            mitigation: "Time-box the first release to 6 weeks and cut scope, not the deadline."
                .into(),
        });
    }
    risks
}

/// What to reach next, by the call.
pub(super) fn next_milestone(
    report: &ValidationReport,
    input: &ProjectInput,
    reading: &Reading,
    evidenced: bool,
    call: Call,
) -> String {
    let user = reading.user.as_str();
    match call {
        Call::Go => format!(
            "Within 4 weeks: {} paying or committed, and a working first version for them.",
            reading.count(3, &reading.payer)
        ),
        Call::Pivot => pivot_milestone(report, input, reading, evidenced),
        Call::Stop => match reading.interviews_reported {
            Some(n) if n >= 10 => format!(
                "Within 2 weeks: write down the problem, the customer and one testable hypothesis from what your {n} interviews showed."
            ),
            _ => format!(
                "Within 2 weeks: write down the problem, the customer and one testable hypothesis, then interview {}.",
                reading.count(10, user)
            ),
        },
    }
}

/// The call from the decision table, and a rationale that names its reasons.
pub(super) fn decide(report: &ValidationReport, recommendations: &[Recommendation]) -> Decision {
    let call = decision::call(report);
    let score = report.overall_score;
    let blockers = decision::blockers(report);
    let reasons = blockers
        .iter()
        .take(3)
        .map(decision::Blocker::describe)
        .collect::<Vec<_>>()
        .join("; ");
    let rationale = match call {
        Call::Go => format!(
            "The idea scores {score}/100 with nothing blocking: run the experiments below to confirm demand while you build the smallest version."
        ),
        Call::Pivot if score >= decision::GO_FROM => {
            format!("The idea scores {score}/100, but {reasons}: settle that first, then build.")
        }
        Call::Pivot => {
            let first = recommendations
                .iter()
                .take(2)
                .map(|r| r.criterion.label().to_lowercase())
                .collect::<Vec<_>>();
            let work = if first.is_empty() {
                String::new()
            } else {
                format!(" Close the biggest gaps first: {}.", first.join(" and "))
            };
            if reasons.is_empty() {
                format!("The idea scores {score}/100: not yet enough to build on.{work}")
            } else {
                format!("The idea scores {score}/100 and {reasons}.{work}")
            }
        }
        Call::Stop => format!(
            "At {score}/100 there is not enough to act on yet: stop building and gather evidence before deciding."
        ),
    };
    Decision { call, rationale }
}

/// What to reach next when the call is pivot, asking only for what the idea lacks.
fn pivot_milestone(
    report: &ValidationReport,
    input: &ProjectInput,
    reading: &Reading,
    evidenced: bool,
) -> String {
    let mut asks = Vec::new();
    if report.risk_flags.len() >= decision::DOMAINS_THAT_BLOCK {
        asks.push("a compliance review of the regulated parts".to_string());
    }
    if !evidenced {
        asks.push(format!(
            "interviews with {}",
            reading.count(10, &reading.user)
        ));
    }
    let testability = report
        .criteria
        .iter()
        .find(|c| c.id == CriterionId::HypothesisTestability)
        .map_or(0, |c| c.score);
    if input.hypothesis.trim().is_empty() || testability < 8 {
        asks.push("a hypothesis with a threshold and a time box".into());
    }
    if asks.is_empty() {
        asks.push(format!(
            "the top recommendation done and shown to {}",
            reading.count(5, &reading.payer)
        ));
    }
    format!("Within 2 weeks: {}.", and_list(&asks))
}

/// The experiments: one per assumption, each testing that assumption by id, with the
/// avatar that fits what it tests (who pays, for a pre-sale); at most five.
pub(super) fn experiments(
    report: &ValidationReport,
    input: &ProjectInput,
    reading: &Reading,
) -> Vec<Experiment> {
    let user = reading.user.as_str();
    let users = reading.plural(user);
    let name = format!("“{}”", quote(&input.name));
    let testable = report
        .criteria
        .iter()
        .any(|c| c.id == CriterionId::HypothesisTestability && c.score >= 8);
    let mut out = Vec::new();
    for assumption in &report.assumptions {
        let Some(kind) = assumption.kind else {
            continue;
        };
        let tests = assumption.id.clone();
        let experiment = match kind {
            AssumptionKind::Hypothesis if testable => Experiment {
                method: method_for(kind).into(),
                avatar: user.to_string(),
                description: format!(
                    "Run the hypothesis exactly as written with {}, the threshold fixed in advance.",
                    reading.count(20, user)
                ),
                success_metric: format!("the threshold it states: “{}”", quote(input.hypothesis.trim())),
                cost: "about $100–300".into(),
                duration: "2 weeks".into(),
                tests,
            },
            AssumptionKind::Hypothesis => Experiment {
                method: method_for(kind).into(),
                avatar: user.to_string(),
                description: format!(
                    "Rewrite the hypothesis with who, an observable behaviour, a threshold and a time box, then run it with {}.",
                    reading.count(20, user)
                ),
                success_metric: "the threshold you write down before you start".into(),
                cost: "about $100–300".into(),
                duration: "2 weeks".into(),
                tests,
            },
            AssumptionKind::Problem if reading.interviews_reported.is_some_and(|n| n >= 10) => Experiment {
                method: "concierge MVP".into(),
                avatar: user.to_string(),
                description: format!(
                    "Deliver the outcome by hand for {} before building software; time every step.",
                    reading.count(5, user)
                ),
                success_metric: "at least 3 of 5 use it twice or more and ask to continue".into(),
                cost: "your time; under $200".into(),
                duration: "2–3 weeks".into(),
                tests,
            },
            AssumptionKind::Problem => Experiment {
                method: method_for(kind).into(),
                avatar: user.to_string(),
                description: format!(
                    "Ten 30-minute problem interviews with {users}: ask about the last time the problem happened, what it cost, and what they tried."
                ),
                success_metric:
                    "at least 6 of 10 describe the problem unprompted and a workaround they use today"
                        .into(),
                cost: "about $0–300 (gift cards)".into(),
                duration: "1–2 weeks".into(),
                tests,
            },
            AssumptionKind::WillingnessToPay => Experiment {
                method: method_for(kind).into(),
                avatar: reading.payer.clone(),
                description: format!(
                    "Offer {} a discounted founding-customer price for {name}, paid now or as a signed letter of intent.",
                    reading.plural(&reading.payer)
                ),
                success_metric: "at least 3 of 20 prospects pay or sign".into(),
                cost: "under $100".into(),
                duration: "2 weeks".into(),
                tests,
            },
            AssumptionKind::BetterThanAlternative => Experiment {
                method: method_for(kind).into(),
                avatar: user.to_string(),
                description: format!(
                    "List the top 3 alternatives {users} use today; interview 5 of their users about what they would switch for."
                ),
                success_metric: "at least 3 of 5 name a switching trigger your idea meets".into(),
                cost: "under $100".into(),
                duration: "1 week".into(),
                tests,
            },
            AssumptionKind::Reachable => Experiment {
                method: method_for(kind).into(),
                avatar: user.to_string(),
                description: format!(
                    "A one-page offer for {name} with a sign-up button, in front of 300 visitors from one channel {users} use."
                ),
                success_metric:
                    "at least 5% of visitors leave an e-mail; at least 1% click a priced plan".into(),
                cost: "about $200–500 (ads)".into(),
                duration: "1 week".into(),
                tests,
            },
        };
        out.push(experiment);
    }
    out.truncate(5);
    out
}

/// The method that tests each kind of assumption (a concierge MVP also tests the problem,
/// where interviews are already done).
pub fn method_for(kind: AssumptionKind) -> &'static str {
    match kind {
        AssumptionKind::Hypothesis => "hypothesis test",
        AssumptionKind::Problem => "customer interviews",
        AssumptionKind::WillingnessToPay => "pre-sale",
        AssumptionKind::BetterThanAlternative => "competitor teardown and switching interviews",
        AssumptionKind::Reachable => "landing page smoke test",
    }
}

pub(super) fn action_for(id: CriterionId, reading: &Reading) -> String {
    let user = reading.user.as_str();
    match id {
        CriterionId::ProblemClarity => format!("Rewrite the description as: \"{} struggle with <problem> <how often>, costing them <time or money>; today they <workaround>.\"", reading.plural(user)),
        CriterionId::CustomerSpecificity => "Pick one segment you can reach this week (role, situation, channel) and make it the first avatar.".into(),
        CriterionId::HypothesisTestability => format!("Rewrite the hypothesis: \"<N%> of {} will <pay/sign up/switch> within <2 weeks>.\"", reading.count(20, user)),
        CriterionId::ValueProposition => "State the outcome in the customer's terms and put a number on it (hours saved, money made).".into(),
        CriterionId::EvidenceOfDemand if reading.interviews_reported.is_some_and(|n| n >= 10) => "Turn the interviews into commitments: a waitlist, pre-orders or letters of intent.".into(),
        CriterionId::EvidenceOfDemand => format!("Collect evidence before building: interview {}, then open a waitlist or take pre-orders.", reading.count(10, user)),
        CriterionId::Differentiation => "Name today's alternatives and the one reason a customer would switch; test that reason in interviews.".into(),
        CriterionId::ScopeRealism => "Cut to one segment, one job and one channel for the first version.".into(),
        CriterionId::RegulatoryRisk => "Get a one-hour review with a specialist lawyer before handling regulated data.".into(),
    }
}

fn mitigation_for(domain: &str) -> String {
    match domain {
        "health" => "Avoid diagnostic claims in the first version; keep health data out of it or use a HIPAA-eligible provider with a BAA; get a regulatory review.",
        "finance" => "Partner with a licensed provider (banking-as-a-service, payment processor) instead of holding funds; get a compliance review before launch.",
        "children" => "Sell to parents or schools, not children; collect no child data without verifiable parental consent; follow COPPA/GDPR-K.",
        "personal_data" => "Collect the minimum, get explicit consent, run a DPIA before the pilot.",
        _ => "Verify age at sign-up and check local licensing before launch.",
    }
    .to_string()
}
