//! The browser page (README: Browser page): one HTML document, a stylesheet and ES modules,
//! embedded in the binary. The api serves them, so `zts serve`, `zts emulate` and the
//! deployed api function (its `GET /` route and the catch-all) answer the same page with
//! no build step, no bucket and no second origin: the page calls the API on its own origin
//! and needs no CORS.
//!
//! The page gets its own Content-Security-Policy (the API's `default-src 'none'` would
//! block it): scripts and styles from itself only, no inline script, and `connect-src`
//! for the API and the WebSocket URL this deployment hands out in tickets.

use crate::AppState;
use crate::envelope::Failure;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use std::sync::OnceLock;
use zts_domain::error::{AppError, ErrorCode};
use zts_domain::input::limits;
use zts_domain::workflows::{DEFAULT_WORKFLOW, Workflow};

const INDEX: &str = include_str!("../page/index.html");

/// The page's files under `/ui/`: name, content type, text.
const ASSETS: &[(&str, &str, &str)] = &[
    ("app.css", CSS, include_str!("../page/app.css")),
    ("app.js", JS, include_str!("../page/app.js")),
    ("api.js", JS, include_str!("../page/api.js")),
    ("live.js", JS, include_str!("../page/live.js")),
    ("render.js", JS, include_str!("../page/render.js")),
    ("form.js", JS, include_str!("../page/form.js")),
    ("icon.svg", SVG, include_str!("../page/icon.svg")),
];
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// Whether a path is one of the page's (served without an API key: the page holds none).
pub fn is_page(path: &str) -> bool {
    path == "/" || path.starts_with("/ui/")
}

/// The WebSocket protocol's contract (README: WebSocket protocol): checked against the
/// Rust types by the end-to-end suite and against every frame it saw by the test command.
pub const ASYNCAPI: &str = include_str!("../contract/asyncapi.json");

/// `GET /asyncapi.json`: the contract, beside `/openapi.json`.
pub async fn asyncapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], ASYNCAPI).into_response()
}

/// The page's files change only with the binary: their URLs carry a hash of their
/// contents, so a browser keeps them for a year and a new deployment's page asks for new
/// URLs. A first visit costs one invocation per file; later visits only `GET /`.
pub fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        // FNV-1a: stable across builds and platforms, unlike std's hasher.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for (name, _, text) in ASSETS {
            for byte in name.bytes().chain(text.bytes()) {
                hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
        }
        format!("{hash:016x}")
    })
}

/// `GET /analysis.schema.json`: the artifacts' JSON Schema, beside the API's other
/// descriptions (what a client of `artifacts.*.content` can rely on).
pub async fn analysis_schema() -> Response {
    (
        [(header::CONTENT_TYPE, "application/schema+json")],
        zts_analysis::SCHEMA,
    )
        .into_response()
}

/// `GET /`: the page, with its files' versioned URLs and the limits the API enforces (as
/// data the form reads, so it checks exactly what the server will).
pub async fn index(State(state): State<AppState>) -> Response {
    let csp = policy(&state.websocket.connect);
    let mut response = (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page_html(&state.workflow.workflows()),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&csp) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

fn page_html(workflows: &[&'static Workflow]) -> String {
    INDEX
        .replace("<!-- workflow options -->", &workflow_options(workflows))
        .replace("\"/ui/", &format!("\"/ui/{}/", version()))
        .replace(
            "<body data-view=\"loading\">",
            &format!(
                "<body data-view=\"loading\" data-limits='{}'>",
                limits_json()
            ),
        )
}

/// `GET /ui/{version}/{file}`: a stylesheet, module or icon of the page. Another version
/// (a page from before a deployment) gets today's file, not kept.
pub async fn asset(Path((asked, file)): Path<(String, String)>) -> Response {
    let Some((_, content_type, text)) = ASSETS.iter().find(|(name, _, _)| *name == file) else {
        return Failure(AppError::new(
            ErrorCode::NotFound,
            "no such file of the page; open / for the page",
        ))
        .into_response();
    };
    let cache = if asked == version() {
        "public, max-age=31536000, immutable"
    } else {
        "no-store"
    };
    (
        [
            (header::CONTENT_TYPE, *content_type),
            (header::CACHE_CONTROL, cache),
        ],
        *text,
    )
        .into_response()
}

/// The page's policy: itself, plus the origin of the WebSocket URL (another host on AWS,
/// another port under `zts emulate`).
pub fn policy(websocket_connect: &str) -> String {
    let socket = websocket_origin(websocket_connect)
        .map(|o| format!(" {o}"))
        .unwrap_or_default();
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
         connect-src 'self'{socket}; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'"
    )
}

/// `ws://127.0.0.1:3000/ws` → `ws://127.0.0.1:3000`; `None` for anything that is not a
/// ws or wss URL (the policy then allows the page's own origin only).
fn websocket_origin(url: &str) -> Option<String> {
    let uri: Uri = url.parse().ok()?;
    let scheme = uri.scheme_str()?;
    if scheme != "ws" && scheme != "wss" {
        return None;
    }
    Some(format!("{scheme}://{}", uri.authority()?))
}

/// The form's workflow choices: the ones this deployment runs, the default selected, each
/// with its description for the help line.
fn workflow_options(workflows: &[&'static Workflow]) -> String {
    workflows
        .iter()
        .map(|w| {
            format!(
                "<option value=\"{name}\" data-description=\"{description}\"{selected}>{name}</option>",
                name = escape(w.name),
                description = escape(w.description),
                selected = if w.name == DEFAULT_WORKFLOW { " selected" } else { "" },
            )
        })
        .collect()
}

/// Text safe inside an element or a double-quoted attribute.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn limits_json() -> String {
    serde_json::json!({
        "name": limits::NAME_MAX_CHARS,
        "description": limits::DESCRIPTION_MAX_CHARS,
        "hypothesis": limits::HYPOTHESIS_MAX_CHARS,
        "avatars": limits::AVATARS_MAX_COUNT,
        "avatar": limits::AVATAR_MAX_CHARS,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use zts_domain::workflows::WORKFLOWS;

    #[test]
    fn the_policy_allows_the_websocket_origin_and_no_inline_script() {
        let csp = policy("wss://abc123.execute-api.eu-west-1.amazonaws.com/prod");
        assert!(
            csp.contains("connect-src 'self' wss://abc123.execute-api.eu-west-1.amazonaws.com;")
        );
        assert!(csp.contains("script-src 'self';"));
        assert!(!csp.contains("unsafe-inline"));
        assert!(!csp.contains("unsafe-eval"));
        let local = policy("ws://127.0.0.1:3000/ws");
        assert!(local.contains("connect-src 'self' ws://127.0.0.1:3000;"));
    }

    #[test]
    fn a_url_that_is_not_a_websocket_adds_nothing() {
        assert_eq!(websocket_origin("https://example.com/x"), None);
        assert_eq!(websocket_origin("not a url"), None);
        assert!(policy("").contains("connect-src 'self';"));
    }

    #[test]
    fn the_limits_are_the_enforced_ones_and_fit_in_a_quoted_attribute() {
        let limits: serde_json::Value = serde_json::from_str(&limits_json()).unwrap();
        assert_eq!(limits["name"], limits::NAME_MAX_CHARS);
        assert_eq!(limits["avatars"], limits::AVATARS_MAX_COUNT);
        assert!(!limits_json().contains('\''));
    }

    #[test]
    fn the_page_links_its_files_by_version_and_carries_the_limits() {
        let all: Vec<&'static Workflow> = WORKFLOWS.iter().collect();
        let html = page_html(&all);
        let v = version();
        for file in ["app.css", "app.js", "icon.svg"] {
            assert!(html.contains(&format!("\"/ui/{v}/{file}\"")), "{file}");
        }
        assert!(!html.contains("\"/ui/app"));
        assert!(html.contains(&format!("data-limits='{}'", limits_json())));
        // The workflows this deployment runs, the default chosen; none other.
        assert!(!html.contains("<!-- workflow options -->"));
        for w in WORKFLOWS {
            assert!(
                html.contains(&format!("<option value=\"{}\"", w.name)),
                "{}",
                w.name
            );
        }
        assert!(html.contains(&format!(
            "<option value=\"{DEFAULT_WORKFLOW}\" data-description="
        )));
        assert_eq!(html.matches(" selected>").count(), 1);
        let only_default = page_html(&[Workflow::default_workflow()]);
        assert!(!only_default.contains("value=\"quick-check\""));
        // Descriptions hold backticks and quotes: escaped inside the attribute.
        assert_eq!(
            escape("a \"b\" <c> & 'd'"),
            "a &quot;b&quot; &lt;c&gt; &amp; &#39;d&#39;"
        );
    }

    #[test]
    fn the_version_is_a_hash_of_the_files() {
        assert_eq!(version().len(), 16);
        assert_eq!(version(), version());
    }

    #[test]
    fn every_module_the_page_imports_is_served() {
        let served: Vec<&str> = ASSETS.iter().map(|(n, _, _)| *n).collect();
        let sources = ASSETS
            .iter()
            .map(|(_, _, t)| *t)
            .chain(std::iter::once(INDEX));
        for source in sources {
            for name in imports(source) {
                assert!(
                    served.contains(&name.as_str()),
                    "{name} is imported but not served"
                );
            }
        }
    }

    /// `./x.js` in `from './x.js'` and `/ui/x` in `src="/ui/x"` or `href="/ui/x"`.
    fn imports(source: &str) -> Vec<String> {
        let mut names = Vec::new();
        for marker in ["from './", "src=\"/ui/", "href=\"/ui/"] {
            for part in source.split(marker).skip(1) {
                if let Some(end) = part.find(['\'', '"']) {
                    names.push(part[..end].to_string());
                }
            }
        }
        names
    }
}
