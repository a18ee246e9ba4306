//! Words read in their context (issue #32, "domain flags from phrases with context"):
//! a regulated keyword inside a phrase that means something else, or inside the idea's
//! coined name, raises no flag, while the same keyword on its own still does; and use or
//! payment reported as done counts as evidence of demand, while the same words in a plan
//! do not.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed expectation is a failed test"
)]

use zts_analysis::ValidationInput;
use zts_analysis::rules::RuleEngine;
use zts_analysis::{CriterionId, ValidationReport};
use zts_domain::input::ProjectInput;
use zts_domain::pii::RedactionReport;

fn report(name: &str, description: &str) -> ValidationReport {
    let input = ProjectInput {
        name: name.into(),
        description: description.into(),
        hypothesis: String::new(),
        target_avatars: vec!["small business owner".into()],
    };
    RuleEngine.validate_sync(&ValidationInput {
        input: &input,
        redaction: &RedactionReport::default(),
    })
}

fn flags(name: &str, description: &str) -> Vec<String> {
    report(name, description)
        .risk_flags
        .into_iter()
        .map(|f| f.domain)
        .collect()
}

#[test]
fn a_keyword_in_a_phrase_that_means_something_else_raises_no_flag() {
    for (text, domain) in [
        ("Veterinary clinics forget boosters.", "health"),
        ("Landlords wait for minor repairs.", "children"),
        ("Investigative journalists chase records.", "finance"),
        ("Students lose course credits when they move.", "finance"),
    ] {
        assert!(
            !flags("Tool", text).contains(&domain.to_string()),
            "{text} flagged {domain}"
        );
    }
    for (text, domain) in [
        ("Dental clinics lose claims.", "health"),
        ("Apps for minors need consent.", "children"),
        ("People want to invest their savings.", "finance"),
        ("Shops need credit for stock.", "finance"),
    ] {
        assert!(
            flags("Tool", text).contains(&domain.to_string()),
            "{text} not flagged {domain}"
        );
    }
}

#[test]
fn a_coined_name_is_not_what_the_idea_says() {
    let text = "CreditBridge matches syllabi between universities.";
    assert!(flags("CreditBridge", text).is_empty());
    // A name that is the keyword itself, or the same word outside the name, still counts.
    assert!(flags("Credit", "Credit for small shops.").contains(&"finance".to_string()));
    assert!(
        flags("CreditBridge", "CreditBridge gives shops credit.").contains(&"finance".to_string())
    );
}

fn evidence(description: &str) -> u8 {
    report("Tool", description)
        .criteria
        .iter()
        .find(|c| c.id == CriterionId::EvidenceOfDemand)
        .unwrap()
        .score
}

#[test]
fn use_and_payment_reported_as_done_count_as_evidence_and_plans_do_not() {
    for done in [
        "37 bookshops pay $49/month today.",
        "120 sessions were booked in our first month.",
        "Managers at 3 sites have used it for 6 weeks.",
        "11 contractors rented it in our first 2 months.",
    ] {
        assert!(evidence(done) >= 8, "{done}: {}", evidence(done));
    }
    for planned in [
        "We will get 37 bookshops to pay $49/month.",
        "Families pay $1,200 a month for childcare.",
        "We plan to have 50 tutors booked by spring.",
    ] {
        assert!(evidence(planned) <= 2, "{planned}: {}", evidence(planned));
    }
}

fn hypothesis_findings(avatars: &[&str], hypothesis: &str) -> Vec<String> {
    let input = ProjectInput {
        name: "Receipt chaser".into(),
        description: "Bookkeepers spend 6 hours a month chasing receipts; we automate it.".into(),
        hypothesis: hypothesis.into(),
        target_avatars: avatars.iter().map(|a| a.to_string()).collect(),
    };
    let report = RuleEngine.validate_sync(&ValidationInput {
        input: &input,
        redaction: &RedactionReport::default(),
    });
    report
        .criteria
        .iter()
        .find(|c| c.id == CriterionId::HypothesisTestability)
        .unwrap()
        .findings
        .iter()
        .map(|f| f.text.clone())
        .collect()
}

#[test]
fn a_hypothesis_naming_the_avatar_in_the_plural_says_who() {
    let says_no_who = |findings: &[String]| findings.iter().any(|f| f.contains("does not say who"));
    // "independent bookkeeper" is named by "bookkeepers"; "dental agency" by "agencies".
    for (avatars, hypothesis) in [
        (
            &["independent bookkeeper"][..],
            "At least 20% of 50 bookkeepers will pre-order within 2 weeks.",
        ),
        (
            &["dental agency"][..],
            "3 of 10 agencies will sign a letter of intent within a month.",
        ),
        (
            &["busy parent", "school"][..],
            "At least 30% of parents we ask will pre-order within 2 weeks.",
        ),
    ] {
        let findings = hypothesis_findings(avatars, hypothesis);
        assert!(
            !says_no_who(&findings),
            "{avatars:?} / {hypothesis}: {findings:?}"
        );
    }
    // A hypothesis about nobody in particular still gets the gap.
    let findings = hypothesis_findings(
        &["independent bookkeeper"],
        "At least 20% will pre-order within 2 weeks.",
    );
    assert!(says_no_who(&findings), "{findings:?}");
}

#[test]
fn the_head_of_a_qualified_avatar_names_it_too() {
    // "practice manager at a solo dental clinic": the managers are who, not the clinics.
    let findings = hypothesis_findings(
        &["practice manager at a solo dental clinic"],
        "At least 3 of 20 managers we demo to will pay $99/month within 3 weeks.",
    );
    assert!(
        !findings.iter().any(|f| f.contains("does not say who")),
        "{findings:?}"
    );
}
