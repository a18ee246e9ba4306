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
