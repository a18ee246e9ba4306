//! What PII redaction costs (README "PII redaction"): the one-time load of the numbering
//! plans, and CPU per create for a typical idea, one full of PII, and a worst case (every
//! field at its maximum, digit-heavy). `cargo bench -p zts-domain --bench redaction`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark binary"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};
use zts_domain::ProjectInput;
use zts_domain::input::limits::{DESCRIPTION_MAX_CHARS, HYPOTHESIS_MAX_CHARS};
use zts_domain::pii::PiiPolicy;

fn idea(name: &str, description: String, hypothesis: String) -> ProjectInput {
    ProjectInput {
        name: name.into(),
        description,
        hypothesis,
        target_avatars: vec!["independent bookkeeper".into(), "busy parent".into()],
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn measure(label: &str, policy: &PiiPolicy, input: &ProjectInput, rounds: usize) {
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        black_box(policy.redact_input(black_box(input)));
        times.push(start.elapsed());
    }
    times.sort();
    println!(
        "{label:<44} median {:>8.1} µs   p99 {:>8.1} µs   ({} chars)",
        percentile(&times, 0.5).as_secs_f64() * 1e6,
        percentile(&times, 0.99).as_secs_f64() * 1e6,
        input.description.len() + input.hypothesis.len() + input.name.len()
    );
}

fn main() {
    let start = Instant::now();
    black_box(phonenumber::parse(None, "+1 201 555 0123").is_ok());
    println!(
        "start-up, libphonenumber's metadata (deserialise, compile every pattern): {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    let start = Instant::now();
    let policy = PiiPolicy::default();
    policy.warm_up();
    println!(
        "start-up, the rest of PiiPolicy::warm_up (our patterns, the region plans): {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );

    let typical = idea(
        "Receipt chaser",
        "Independent bookkeepers spend 6 hours a month chasing receipts from 20-50 clients; \
         we automate the chase by e-mail and SMS, at $29/month, launching 2026-12-01."
            .repeat(3),
        "At least 20% of 50 bookkeepers will pre-order at $29/month within 2 weeks.".into(),
    );
    let full_of_pii = idea(
        "Pet sitting by jan@example.com",
        "Mail jan@example.com. Ruf an: +49 170 1234567 oder 0170 1234567. Card 4111 1111 1111 \
         1111. IBAN DE89 3704 0044 0532 0130 00. USt-IdNr. DE123456789. SSN 078-05-1120. DNI \
         12345678Z. DOB: 12/03/1985. Server 203.0.113.42. Address: 221B Baker Street, London"
            .into(),
        "At least 20% of 50 pet owners will book within 2 weeks; call +44 7700 900123.".into(),
    );
    let digits = "Order 2026-11-000457, 12 500 000 users, +15% MoM, call 0170 1234567 or (201) \
                  555-0123, v1.2.3.4, 1 250 000 €. ";
    let worst = idea(
        "Worst case",
        digits.repeat(DESCRIPTION_MAX_CHARS / digits.len()),
        digits.repeat(HYPOTHESIS_MAX_CHARS / digits.len()),
    );
    let rounds = 2_000;
    measure("typical idea, no PII", &policy, &typical, rounds);
    measure("one of every PII kind", &policy, &full_of_pii, rounds);
    measure("worst case: 7,000 digit-heavy chars", &policy, &worst, 200);
    let us = PiiPolicy::from_regions("US").unwrap();
    measure("worst case, regions = US only", &us, &worst, 200);
}
