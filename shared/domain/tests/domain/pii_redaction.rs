//! PII redaction on real-looking samples, and the near misses that must stay.

use zts_domain::ProjectInput;
use zts_domain::pii::{PiiKind, RedactionReport, redact_input, redact_text};

fn redact(text: &str) -> (String, RedactionReport) {
    let mut report = RedactionReport::default();
    let out = redact_text(text, &mut report);
    (out, report)
}

/// (sample, the secret part that must vanish, the kind it is reported as)
const MUST_REDACT: &[(&str, &str, PiiKind)] = &[
    (
        "Contact me at jane.doe+ideas@example.co.uk today",
        "jane.doe+ideas@example.co.uk",
        PiiKind::Email,
    ),
    (
        "email: J_SMITH@Mail.Example.COM.",
        "J_SMITH@Mail.Example.COM",
        PiiKind::Email,
    ),
    (
        "Call +1 (415) 555-0132 after 5pm",
        "555-0132",
        PiiKind::Phone,
    ),
    ("my cell is +44 7700 900123", "7700 900123", PiiKind::Phone),
    (
        "ring 020 7946 0958 for the demo",
        "7946 0958",
        PiiKind::Phone,
    ),
    ("phone: 415-555-0199.", "415-555-0199", PiiKind::Phone),
    ("whatsapp +4915123456789", "4915123456789", PiiKind::Phone),
    (
        "Card 4111 1111 1111 1111 exp 12/29",
        "4111 1111 1111 1111",
        PiiKind::CardNumber,
    ),
    (
        "paid with 5500-0000-0000-0004",
        "5500-0000-0000-0004",
        PiiKind::CardNumber,
    ),
    (
        "amex 378282246310005 was charged",
        "378282246310005",
        PiiKind::CardNumber,
    ),
    (
        "IBAN DE89 3704 0044 0532 0130 00 please",
        "3704 0044 0532",
        PiiKind::Iban,
    ),
    (
        "send to GB82WEST12345698765432",
        "GB82WEST12345698765432",
        PiiKind::Iban,
    ),
    (
        "SSN 078-05-1120 on file",
        "078-05-1120",
        PiiKind::NationalId,
    ),
    (
        "my NI number is QQ 12 34 56 C",
        "QQ 12 34 56 C",
        PiiKind::NationalId,
    ),
    (
        "passport no. X1234567 expires",
        "X1234567",
        PiiKind::NationalId,
    ),
    (
        "server at 192.168.10.42 is down",
        "192.168.10.42",
        PiiKind::IpAddress,
    ),
    ("client ip 8.8.4.4, then", "8.8.4.4", PiiKind::IpAddress),
    (
        "ipv6 2001:db8:85a3::8a2e:370:7334 seen",
        "2001:db8:85a3::8a2e:370:7334",
        PiiKind::IpAddress,
    ),
    (
        "db at postgres://admin:hunter2@db.internal:5432/app",
        "hunter2",
        PiiKind::UrlCredentials,
    ),
    (
        "hook https://api.example.com/x?token=abc123SECRET&x=1",
        "abc123SECRET",
        PiiKind::UrlCredentials,
    ),
];

/// Near misses: text that looks a little like PII and must stay as it is.
const MUST_STAY: &[&str] = &[
    // A 16-digit order number that fails the Luhn check.
    "Order 1234 5678 9012 3456 shipped",
    "tracking 4111111111111112",
    // Version strings look like IPv4 addresses: kept (documented judgment call).
    "upgrade to v1.2.3.4 soon",
    "runs on version 10.0.2.1 of the SDK",
    "semver 1.2.3.4.5 is not an address",
    // Numbers that are not phones.
    "Revenue of $1,250,000 in 2025 at 3.14159265 margin",
    "dates 2026-11-22 and 12/31/2025",
    "we target 20000 users, 15% conversion, 42 cities",
    "time 12:30:45 UTC",
    // Not an e-mail, not a credential.
    "follow @startup on the socials; ratio 3:1",
    "see https://example.com/path?page=2&sort=desc",
    // 'passport' without a number stays.
    "passport holders travelling to the EU",
    // An SSN-shaped number with an invalid area stays.
    "part number 000-12-3456",
    // Not IBAN: no known country prefix.
    "product code ZZ12 3456 7890 1234 5678",
];

#[test]
fn every_sample_is_redacted_and_reported() {
    let mut wrong = Vec::new();
    for (sample, secret, kind) in MUST_REDACT {
        let (out, report) = redact(sample);
        let ok = !out.contains(secret)
            && out.contains(&format!("[REDACTED:{}]", kind.as_str()))
            && report.kinds.get(kind) == Some(&1)
            && report.total == 1;
        if !ok {
            wrong.push(format!(
                "{sample:?} -> {out:?} {report:?} (want one {kind:?})"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn near_misses_stay_untouched() {
    let changed: Vec<String> = MUST_STAY
        .iter()
        .filter_map(|sample| {
            let (out, report) = redact(sample);
            (&out != sample || report.total != 0).then(|| format!("{sample:?} -> {out:?}"))
        })
        .collect();
    assert!(changed.is_empty(), "{}", changed.join("\n"));
}

#[test]
fn text_around_a_finding_is_kept() {
    let (out, _) = redact("Mail bob@example.com or call +1 415 555 0132.");
    assert_eq!(out, "Mail [REDACTED:email] or call [REDACTED:phone].");
}

#[test]
fn the_report_counts_kinds_and_never_holds_values() {
    let input = ProjectInput {
        name: "Acme by ann@example.com".into(),
        description: "Reach ann@example.com or bob@example.org, card 4111111111111111".into(),
        hypothesis: "Users at 10.0.0.1 convert".into(),
        target_avatars: vec!["founder +1 415 555 0132".into()],
    };
    let (redacted, report) = redact_input(&input);
    assert_eq!(report.kinds.get(&PiiKind::Email), Some(&3));
    assert_eq!(report.kinds.get(&PiiKind::CardNumber), Some(&1));
    assert_eq!(report.kinds.get(&PiiKind::IpAddress), Some(&1));
    assert_eq!(report.kinds.get(&PiiKind::Phone), Some(&1));
    assert_eq!(report.total, 6);
    let stored = serde_json::to_string(&(&redacted, &report)).unwrap();
    for secret in [
        "ann@example.com",
        "bob@example.org",
        "4111111111111111",
        "10.0.0.1",
        "555 0132",
    ] {
        assert!(!stored.contains(secret), "{secret} survived: {stored}");
    }
    let report_json = serde_json::to_value(&report).unwrap();
    assert_eq!(report_json["kinds"]["email"], 3);
}

#[test]
fn redaction_is_idempotent() {
    for (sample, _, _) in MUST_REDACT {
        let (once, _) = redact(sample);
        let (twice, report) = redact(&once);
        assert_eq!(once, twice);
        assert_eq!(report.total, 0, "{once:?} re-redacted");
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Valid numbers from libphonenumber's own examples, one per kind of region the
    /// defaults cover, written internationally (`+…`) and nationally (with the trunk `0`).
    const PHONES: &[&str] = &[
        "+49 1512 3456789",
        "+44 7400 123456",
        "+33 6 12 34 56 78",
        "+34 612 34 56 78",
        "+39 312 345 6789",
        "+31 6 12345678",
        "+91 81234 56789",
        "+81 90-1234-5678",
        "+55 11 96123-4567",
        "+61 412 345 678",
        "+1 201-555-0123",
        "01512 3456789",
        "07400 123456",
        "06 12 34 56 78",
        "090-1234-5678",
        "0412 345 678",
        "(201) 555-0123",
    ];

    /// The most a finding may add: its placeholder replaces at least one character.
    fn growth_bound(report: &RedactionReport) -> usize {
        report
            .kinds
            .iter()
            .map(|(kind, n)| format!("[REDACTED:{}]", kind.as_str()).len() * *n as usize)
            .sum()
    }

    fn separators() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(" ".to_string()),
            Just("-".to_string()),
            Just(".".to_string()),
            Just("".to_string())
        ]
    }

    /// A Luhn-valid 16-digit number with a card network's prefix.
    fn card() -> impl Strategy<Value = Vec<u32>> {
        (
            prop_oneof![Just(4u32), Just(5), Just(6)],
            proptest::collection::vec(0u32..10, 14),
        )
            .prop_map(|(first, middle)| {
                let mut digits = vec![first];
                digits.extend(middle);
                let sum: u32 = digits
                    .iter()
                    .rev()
                    .enumerate()
                    .map(|(i, d)| {
                        if i % 2 == 0 {
                            let doubled = d * 2;
                            if doubled > 9 { doubled - 9 } else { doubled }
                        } else {
                            *d
                        }
                    })
                    .sum();
                digits.push((10 - sum % 10) % 10);
                digits
            })
    }

    /// Redaction grows text by its placeholders at most, and a second pass finds nothing.
    fn bounded_and_idempotent(text: &str) -> Result<(), TestCaseError> {
        let (out, report) = redact(text);
        prop_assert!(out.len() <= text.len() + growth_bound(&report));
        let (again, second) = redact(&out);
        prop_assert_eq!(&again, &out);
        prop_assert_eq!(second.total, 0);
        Ok(())
    }

    proptest! {
        #[test]
        fn never_panics_never_grows_past_its_placeholders_and_is_idempotent(
            text in "\\PC{0,400}"
        ) {
            bounded_and_idempotent(&text)?;
        }

        #[test]
        fn digit_heavy_text_is_redacted_idempotently(
            text in "[0-9 +().\\-/]{0,60}[a-z ]{0,5}[0-9 +().\\-/]{0,60}"
        ) {
            bounded_and_idempotent(&text)?;
        }

        #[test]
        fn a_valid_phone_number_never_survives(
            phone in proptest::sample::select(PHONES),
            before in "[A-Za-z ,:]{0,20}",
            after in "[A-Za-z ,.!]{0,20}",
        ) {
            let text = format!("{before} {phone} {after}");
            let (out, report) = redact(&text);
            let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
            let out_digits: String = out.chars().filter(char::is_ascii_digit).collect();
            prop_assert!(!out_digits.contains(&digits[digits.len() - 6..]), "{text:?} -> {out:?}");
            // Found as a phone, unless a label the random text spelled made it an id first.
            prop_assert!(report.total >= 1);
        }

        #[test]
        fn a_luhn_valid_card_number_never_survives(
            digits in card(),
            sep in separators(),
            before in "[A-Za-z :]{0,20}",
        ) {
            let grouped: Vec<String> = digits
                .chunks(4)
                .map(|g| g.iter().map(u32::to_string).collect())
                .collect();
            let card = grouped.join(&sep);
            let text = format!("{before} {card} thanks");
            let (out, report) = redact(&text);
            prop_assert!(!out.contains(&card), "{text:?} -> {out:?}");
            prop_assert!(report.total >= 1);
        }

        #[test]
        fn an_embedded_email_always_disappears(
            user in "[a-z][a-z0-9.]{0,10}[a-z0-9]",
            domain in "[a-z]{2,10}",
            prefix in "[A-Za-z ]{0,20}",
        ) {
            let email = format!("{user}@{domain}.com");
            let (out, report) = redact(&format!("{prefix} {email} thanks"));
            prop_assert!(!out.contains(&email));
            prop_assert!(report.kinds.get(&PiiKind::Email) == Some(&1));
        }
    }
}

mod policy {
    use zts_domain::pii::{
        DEFAULT_PII_REGIONS, PiiKind, PiiPolicy, PiiRegionsError, RedactionReport,
    };

    #[test]
    fn national_formats_follow_the_configured_regions() {
        let text = "Ruf an: 0170 1234567, or +49 170 1234567";
        let mut us_report = RedactionReport::default();
        let us = PiiPolicy::from_regions("US")
            .unwrap()
            .redact_text(text, &mut us_report);
        // Without Germany, the national number stays; the international one never does.
        assert_eq!(us, "Ruf an: 0170 1234567, or [REDACTED:phone]");
        let mut de_report = RedactionReport::default();
        let de = PiiPolicy::from_regions("de")
            .unwrap()
            .redact_text(text, &mut de_report);
        assert_eq!(de, "Ruf an: [REDACTED:phone], or [REDACTED:phone]");
        assert_eq!(de_report.kinds.get(&PiiKind::Phone), Some(&2));
    }

    #[test]
    fn a_region_list_is_parsed_strictly_and_named_in_its_error() {
        let policy = PiiPolicy::from_regions(" us, GB ,us,de ").unwrap();
        assert_eq!(policy.regions(), ["US", "GB", "DE"]);
        assert_eq!(
            PiiPolicy::from_regions("US,XX"),
            Err(PiiRegionsError::Unknown("XX".into()))
        );
        assert_eq!(PiiPolicy::from_regions(" , "), Err(PiiRegionsError::Empty));
        let many: Vec<String> = PiiPolicy::from_regions(DEFAULT_PII_REGIONS)
            .unwrap()
            .regions()
            .iter()
            .map(|r| r.to_string())
            .collect();
        assert!(many.len() >= 12, "{many:?}");
        let all = "US,CA,GB,DE,FR,ES,IT,NL,IN,JP,BR,AU,AT,CH,BE,IE,PT,MX,SE,NO,DK,FI,PL,CZ,SK,HU,RO,BG,GR,TR,IL,ZA,NG,KE,EG,MA,AR,CL,CO,PE,VE,NZ";
        assert!(matches!(
            PiiPolicy::from_regions(all),
            Err(PiiRegionsError::TooMany(n)) if n > 40
        ));
    }

    #[test]
    fn the_default_covers_the_regions_the_readme_names() {
        let regions = PiiPolicy::default().regions().join(",");
        for region in "US CA GB DE FR ES IT NL IN JP BR AU".split(' ') {
            assert!(regions.contains(region), "{region} missing from {regions}");
        }
        assert_eq!(regions, DEFAULT_PII_REGIONS);
    }
}
