//! The PII corpus (`pii_corpus.tsv`): every international-format phone and every non-phone
//! sample redacted, at least 95% of national-format phones, no near miss changed. The
//! README's "PII redaction" figures are what this measures.


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
        assert!(s.text.contains(&s.secret), "{:?} not in {:?}", s.secret, s.text);
        assert!(
            ["international", "national", "other"].contains(&s.format.as_str()),
            "{}",
            s.format
        );
    }
}

