//! The PII corpus (`pii_corpus.tsv`): every international-format phone and every non-phone
//! sample redacted, at least 95% of national-format phones, no near miss changed. The
//! README's "PII redaction" figures are what this measures.

use std::collections::BTreeMap;
use zts_domain::pii::{PiiKind, RedactionReport, redact_text};

const CORPUS: &str = include_str!("pii_corpus.tsv");

struct Sample {
    kind: String,
    region: String,
    format: String,
    secret: String,
    text: String,
}

fn unescape(s: &str) -> String {
    s.replace("\\n", "\n")
}

fn corpus() -> (Vec<Sample>, Vec<(String, String)>) {
    let mut redact = Vec::new();
    let mut stay = Vec::new();
    for (n, line) in CORPUS.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        match cols.as_slice() {
            ["redact", kind, region, format, secret, text] => redact.push(Sample {
                kind: kind.to_string(),
                region: region.to_string(),
                format: format.to_string(),
                secret: unescape(secret),
                text: unescape(text),
            }),
            ["stay", category, text] => stay.push((category.to_string(), unescape(text))),
            _ => panic!("pii_corpus.tsv line {}: unreadable: {line:?}", n + 1),
        }
    }
    (redact, stay)
}

#[test]
fn the_corpus_is_large_and_well_formed() {
    let (redact, stay) = corpus();
    assert!(redact.len() >= 200, "{} samples", redact.len());
    assert!(stay.len() >= redact.len(), "fewer near misses than samples");
    let regions: std::collections::BTreeSet<&str> = redact
        .iter()
        .filter(|s| s.kind == "phone" && s.format == "national")
        .map(|s| s.region.as_str())
        .collect();
    for region in "US CA GB DE FR ES IT NL IN JP BR AU".split(' ') {
        assert!(regions.contains(region), "no national sample for {region}");
    }
    for s in &redact {
        assert!(
            s.text.contains(&s.secret),
            "{:?} not in {:?}",
            s.secret,
            s.text
        );
        assert!(
            ["international", "national", "other"].contains(&s.format.as_str()),
            "{}",
            s.format
        );
    }
}

fn kind_of(name: &str) -> Option<PiiKind> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
}

/// One sample passes when its secret is gone and its kind, and only its kind, is reported.
fn passes(sample: &Sample) -> Result<(), String> {
    let mut report = RedactionReport::default();
    let out = redact_text(&sample.text, &mut report);
    let kind = kind_of(&sample.kind);
    let reported = kind
        .and_then(|k| report.kinds.get(&k).copied())
        .unwrap_or(0);
    if out.contains(&sample.secret) || reported == 0 || reported != report.total {
        return Err(format!(
            "{} {} {}: {:?} -> {:?} {:?}",
            sample.kind, sample.region, sample.format, sample.text, out, report.kinds
        ));
    }
    Ok(())
}

#[test]
fn recall_and_false_positives_hold_on_the_corpus() {
    let (redact, stay) = corpus();
    // (found, total) per kind and phone format.
    let mut tally: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut misses = Vec::new();
    for sample in &redact {
        let key = if sample.kind == "phone" {
            format!("phone/{}", sample.format)
        } else {
            sample.kind.clone()
        };
        let entry = tally.entry(key).or_default();
        entry.1 += 1;
        match passes(sample) {
            Ok(()) => entry.0 += 1,
            Err(miss) => misses.push(miss),
        }
    }
    let changed: Vec<String> = stay
        .iter()
        .filter_map(|(category, text)| {
            let mut report = RedactionReport::default();
            let out = redact_text(text, &mut report);
            (&out != text || report.total != 0).then(|| format!("{category}: {text:?} -> {out:?}"))
        })
        .collect();
    let summary: Vec<String> = tally
        .iter()
        .map(|(k, (found, total))| format!("{k}: {found}/{total}"))
        .collect();
    println!("recall: {}", summary.join(", "));
    println!("near misses changed: {} of {}", changed.len(), stay.len());
    for miss in &misses {
        println!("miss: {miss}");
    }
    for change in &changed {
        println!("changed: {change}");
    }
    for (k, (found, total)) in &tally {
        if k == "phone/national" {
            assert!(
                *found * 100 >= *total * 95,
                "national phones: {found}/{total} is under 95%\n{}",
                misses.join("\n")
            );
        } else {
            assert_eq!(
                found,
                total,
                "{k}: every sample must be redacted\n{}",
                misses.join("\n")
            );
        }
    }
    assert!(
        changed.is_empty(),
        "near misses changed:\n{}",
        changed.join("\n")
    );
}
