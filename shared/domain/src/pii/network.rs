//! Credentials in URLs, e-mail addresses, IP addresses.
//!
//! Judgment calls (each has a test or corpus line):
//! - A URL's password (`scheme://user:password@host`) and the values of query parameters
//!   that carry secrets (`token=`, `api_key=`, `password=`, `sig=`, …) are credentials; the
//!   rest of the URL stays, so the idea still reads.
//! - An IPv4-shaped string directly after `v`, `version` or `ver.` is a version number and
//!   stays; so does a dotted run with more than four parts (`1.2.3.4.5`).
//! - IPv6 is whatever the standard library parses as an address with at least two colons,
//!   so a time (`12:30:45`) or a ratio (`3:1`) stays.

use regex::Regex;
use std::net::Ipv6Addr;
use std::sync::LazyLock;

use super::{PiiKind, RedactionReport, re, replace};

static URL_USERINFO: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)(?-u:\b)([a-z][a-z0-9+.\-]*://)([^/\s:@]+):([^/\s@]+)@"));
static URL_SECRET_PARAM: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)([?&](?:access_token|id_token|token|api_key|apikey|key|password|passwd|pwd|secret|client_secret|sig|signature|auth)=)([^&\s#]+)",
    )
});
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)[a-z0-9._%+\-]+@[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)*\.[a-z]{2,}",
    )
});
static IPV4: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?-u:\b)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?-u:\b)"));
static IPV6_CANDIDATE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?:%[0-9a-z]+)?"));

pub(super) fn redact_url_credentials(text: &str, report: &mut RedactionReport) -> String {
    let kind = PiiKind::UrlCredentials;
    let out = replace(text, &URL_USERINFO, kind, report, |c| {
        // Already redacted: leave it, so redaction is idempotent.
        (!c[2].starts_with("[REDACTED")).then(|| format!("{}{}@", &c[1], kind.placeholder()))
    });
    replace(&out, &URL_SECRET_PARAM, kind, report, |c| {
        (!c[2].starts_with("[REDACTED")).then(|| format!("{}{}", &c[1], kind.placeholder()))
    })
}

pub(super) fn redact_emails(text: &str, report: &mut RedactionReport) -> String {
    replace(text, &EMAIL, PiiKind::Email, report, |_| {
        Some(PiiKind::Email.placeholder())
    })
}

pub(super) fn redact_ip_addresses(text: &str, report: &mut RedactionReport) -> String {
    let out = redact_ipv4(text, report);
    replace(&out, &IPV6_CANDIDATE, PiiKind::IpAddress, report, |c| {
        let candidate = c[0].split('%').next().unwrap_or_default();
        (candidate.matches(':').count() >= 2 && candidate.parse::<Ipv6Addr>().is_ok())
            .then(|| PiiKind::IpAddress.placeholder())
    })
}

fn redact_ipv4(text: &str, report: &mut RedactionReport) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut found = 0;
    for c in IPV4.captures_iter(text) {
        let Some(whole) = c.get(0) else { continue };
        let before = &text[..whole.start()];
        let after = &text[whole.end()..];
        let octets_ok = (1..=4).all(|i| c[i].parse::<u32>().is_ok_and(|o| o <= 255));
        // A fifth dotted part means this is not an address (`1.2.3.4.5`).
        let longer_run = after.starts_with('.')
            && after[1..].starts_with(|ch: char| ch.is_ascii_digit())
            || before.ends_with('.')
                && before[..before.len() - 1].ends_with(|ch: char| ch.is_ascii_digit());
        if !octets_ok || longer_run || is_version_prefix(before) {
            continue;
        }
        out.push_str(&text[last..whole.start()]);
        out.push_str(&PiiKind::IpAddress.placeholder());
        last = whole.end();
        found += 1;
    }
    out.push_str(&text[last..]);
    report.add(PiiKind::IpAddress, found);
    out
}

fn is_version_prefix(before: &str) -> bool {
    let lower = before.trim_end().to_lowercase();
    let glued_v = before.ends_with(['v', 'V'])
        && !before[..before.len() - 1].ends_with(|c: char| c.is_alphanumeric());
    glued_v
        || lower.ends_with("version")
        || lower.ends_with("ver.")
        || lower.ends_with(" v")
        || lower.ends_with("build")
        || lower.ends_with("firmware")
}
