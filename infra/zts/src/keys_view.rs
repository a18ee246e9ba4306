//! What `zts keys` prints and reads: the first start's key banner, `--expires`, and the
//! `list` table (README: API keys).

use zts_domain::auth::{ApiKeyRecord, KeyStatus};
use zts_domain::clock::{self, Timestamp};

/// The key a first start made, in a box that stands out after a long build: what it is,
/// how to use it, and how to get another.
pub fn banner(key: &str) -> String {
    let lines = [
        "A new API key for owner \"local\" (shown only this once):".to_string(),
        String::new(),
        format!("    {key}"),
        String::new(),
        "Send it as  x-api-key: <key>  (or Authorization: Bearer <key>).".to_string(),
        "Lost it? Another:  zts keys create --owner local".to_string(),
    ];
    let width = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let mut out = format!("+{}+\n", "-".repeat(width + 2));
    for l in &lines {
        out.push_str(&format!("| {l:<width$} |\n"));
    }
    out.push_str(&format!("+{}+\n", "-".repeat(width + 2)));
    out
}

/// Why `--expires` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpiryError {
    #[error("{0:?}: use a date (2027-01-31) or an RFC 3339 time")]
    NotATime(String),
    #[error("{given}: that is in the past; give a date or time after now ({now})")]
    InThePast { given: String, now: String },
}

/// `--expires`: a date or an RFC 3339 time after `now` (a key created already expired
/// would be refused at its first use, which is never what was meant).
pub fn parse_expiry(raw: &str, now: Timestamp) -> Result<Timestamp, ExpiryError> {
    let at = match chrono::DateTime::parse_from_rfc3339(raw) {
        Ok(t) => t.with_timezone(&chrono::Utc),
        Err(_) => chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
            .map_err(|_| ExpiryError::NotATime(raw.to_string()))?,
    };
    if at <= now {
        return Err(ExpiryError::InThePast {
            given: raw.to_string(),
            now: clock::format(&now),
        });
    }
    Ok(at)
}

/// `zts keys list`: one row per key under headers as wide as their widest value, or one
/// JSON object per line.
pub fn table(keys: &[ApiKeyRecord], now: Timestamp, json: bool) -> String {
    let rows: Vec<[String; 5]> = keys
        .iter()
        .map(|k| {
            let status = if k.status == KeyStatus::Revoked {
                "revoked"
            } else if k.check(now).is_err() {
                "expired"
            } else {
                "active"
            };
            [
                k.key_id(),
                k.owner.to_string(),
                status.to_string(),
                k.limits.map_or_else(
                    || "default".to_string(),
                    |l| format!("{}/s burst {}", l.rate, l.burst),
                ),
                k.expires_at
                    .as_ref()
                    .map_or_else(|| "never".to_string(), clock::format),
            ]
        })
        .collect();
    const HEADERS: [&str; 5] = ["id", "owner", "status", "limits", "expires"];
    let mut out = String::new();
    if json {
        for row in &rows {
            let object: serde_json::Map<String, serde_json::Value> = HEADERS
                .iter()
                .zip(row)
                .map(|(h, v)| (h.to_string(), serde_json::Value::from(v.as_str())))
                .collect();
            out.push_str(&serde_json::Value::Object(object).to_string());
            out.push('\n');
        }
        return out;
    }
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([HEADERS[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: [&str; 5]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    out.push_str(&line(HEADERS));
    for row in &rows {
        out.push_str(&line([&row[0], &row[1], &row[2], &row[3], &row[4]]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use zts_domain::auth::Limits;

    fn at(s: &str) -> Timestamp {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .with_timezone(&chrono::Utc)
    }

    #[test]
    fn an_expiry_in_the_past_is_refused_and_a_future_one_is_read() {
        let now = at("2026-12-04T06:00:00Z");
        let past = parse_expiry("2020-01-01", now).unwrap_err();
        assert!(matches!(past, ExpiryError::InThePast { .. }), "{past}");
        assert!(past.to_string().contains("in the past"), "{past}");
        assert!(parse_expiry("2026-12-04T05:59:59Z", now).is_err());
        assert_eq!(
            parse_expiry("2027-01-31", now).unwrap(),
            at("2027-01-31T00:00:00Z")
        );
        assert_eq!(
            parse_expiry("next week", now).unwrap_err(),
            ExpiryError::NotATime("next week".into())
        );
    }

    #[test]
    fn every_value_stands_under_its_header() {
        let now = at("2026-12-04T06:00:00Z");
        let key = |owner: &str, limits: Option<Limits>| ApiKeyRecord {
            key_hash: zts_domain::auth::hash(owner),
            owner: zts_domain::Owner::parse(owner).unwrap(),
            status: KeyStatus::Active,
            limits,
            created_at: now,
            expires_at: None,
            revoked_at: None,
        };
        let keys = [
            key(
                "a-rather-long-owner-name@example",
                Some(Limits {
                    rate: 100000.0,
                    burst: 100000,
                }),
            ),
            key("bob", None),
        ];
        let text = table(&keys, now, false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        for header in ["owner", "status", "limits", "expires"] {
            let column = lines[0].find(header).unwrap();
            for row in &lines[1..] {
                let cell = &row[column..];
                assert!(
                    row[..column].ends_with("  ") && !cell.starts_with(' '),
                    "{header} is not above its values:\n{text}"
                );
            }
        }
        assert!(lines[1].contains("100000/s burst 100000") && lines[2].contains("default"));
        let json: Vec<serde_json::Value> = table(&keys, now, true)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(json[1]["owner"], "bob");
        assert_eq!(json[1]["expires"], "never");
    }

    #[test]
    fn the_banner_boxes_the_key_and_says_how_to_get_another() {
        let text = banner("zts_abc");
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines
                .iter()
                .any(|l| l.trim_matches(|c| c == '|' || c == ' ') == "zts_abc")
        );
        assert!(text.contains("zts keys create --owner local"));
        let width = lines[0].chars().count();
        assert!(lines.iter().all(|l| l.chars().count() == width), "{text}");
    }
}
