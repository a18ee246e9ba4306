//! Table-driven validation of the create body: every limit at, below and above its
//! bound; wrong types; missing and unknown fields; malformed JSON.

use serde_json::{Value, json};
use zts_domain::input::ProjectInput;
use zts_domain::input::limits::*;
use zts_domain::{AppError, ErrorCode};

fn body(overrides: Value) -> Value {
    let mut base = json!({
        "name": "demo",
        "description": "A tool for busy parents",
        "hypothesis": "Parents will pay",
        "target_avatars": ["busy parent"]
    });
    for (k, v) in overrides.as_object().unwrap() {
        if v == &json!("__remove__") {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    base
}

fn validate(value: &Value) -> Result<ProjectInput, AppError> {
    ProjectInput::from_json_bytes(value.to_string().as_bytes())
}

/// Expects a 422 naming `field` with `code`.
fn rejects(value: Value, field: &str, code: &str) {
    let err = validate(&value).expect_err(&format!("accepted {value}"));
    assert_eq!(err.code, ErrorCode::ValidationFailed, "{value}");
    assert!(
        err.details
            .iter()
            .any(|d| d.field == field && d.code == code),
        "expected {field}/{code} in {:?}",
        err.details
    );
    assert!(!err.message.is_empty());
}

fn accepts(value: Value) -> ProjectInput {
    validate(&value).unwrap_or_else(|e| panic!("refused {value}: {e:?}"))
}

fn s(n: usize) -> String {
    "x".repeat(n)
}

#[test]
fn text_limits_at_below_and_above_their_bounds() {
    let cases: [(&str, usize); 3] = [
        ("name", NAME_MAX_CHARS),
        ("description", DESCRIPTION_MAX_CHARS),
        ("hypothesis", HYPOTHESIS_MAX_CHARS),
    ];
    for (field, max) in cases {
        accepts(body(json!({ field: s(max - 1) })));
        let at = accepts(body(json!({ field: s(max) })));
        let stored = match field {
            "name" => at.name,
            "description" => at.description,
            _ => at.hypothesis,
        };
        assert_eq!(stored.chars().count(), max);
        rejects(body(json!({ field: s(max + 1) })), field, "too_long");
    }
}

#[test]
fn lengths_count_characters_not_bytes() {
    // 120 four-byte characters fit a 120-character name.
    let emoji = "🚀".repeat(NAME_MAX_CHARS);
    assert_eq!(
        accepts(body(json!({ "name": emoji }))).name.chars().count(),
        NAME_MAX_CHARS
    );
    rejects(
        body(json!({ "name": "🚀".repeat(NAME_MAX_CHARS + 1) })),
        "name",
        "too_long",
    );
}

#[test]
fn avatar_count_and_length_bounds() {
    let avatars = |n: usize| (0..n).map(|i| format!("avatar {i}")).collect::<Vec<_>>();
    accepts(body(
        json!({ "target_avatars": avatars(AVATARS_MAX_COUNT - 1) }),
    ));
    accepts(body(
        json!({ "target_avatars": avatars(AVATARS_MAX_COUNT) }),
    ));
    rejects(
        body(json!({ "target_avatars": avatars(AVATARS_MAX_COUNT + 1) })),
        "target_avatars",
        "too_many",
    );
    accepts(body(json!({ "target_avatars": [s(AVATAR_MAX_CHARS - 1)] })));
    accepts(body(json!({ "target_avatars": [s(AVATAR_MAX_CHARS)] })));
    rejects(
        body(json!({ "target_avatars": ["ok", s(AVATAR_MAX_CHARS + 1)] })),
        "target_avatars[1]",
        "too_long",
    );
}

#[test]
fn a_thin_idea_is_accepted() {
    let thin = accepts(json!({ "name": "x" }));
    assert_eq!(thin.description, "");
    assert_eq!(thin.hypothesis, "");
    assert!(thin.target_avatars.is_empty());
    let nulls = accepts(
        json!({ "name": "x", "description": null, "hypothesis": null, "target_avatars": null }),
    );
    assert_eq!(nulls, thin);
    accepts(body(json!({ "target_avatars": [] })));
}

#[test]
fn required_and_empty_names() {
    rejects(body(json!({ "name": "__remove__" })), "name", "required");
    rejects(body(json!({ "name": null })), "name", "required");
    rejects(body(json!({ "name": "" })), "name", "required");
    rejects(body(json!({ "name": "   \t  " })), "name", "required");
}

#[test]
fn limits_apply_to_the_text_as_sent_and_storage_is_trimmed() {
    // The published schema states the limits on what is sent, so the server counts that.
    let padded = format!("  {}  ", s(NAME_MAX_CHARS - 4));
    assert_eq!(
        accepts(body(json!({ "name": padded }))).name,
        s(NAME_MAX_CHARS - 4)
    );
    rejects(
        body(json!({ "name": format!(" {} ", s(NAME_MAX_CHARS - 1)) })),
        "name",
        "too_long",
    );
    // A whitespace-only control character still counts as one.
    rejects(
        body(json!({ "hypothesis": "\u{85}" })),
        "hypothesis",
        "invalid_character",
    );
    // Avatars are labels, kept exactly: surrounding spaces are refused, not trimmed.
    rejects(
        body(json!({ "target_avatars": ["  busy parent "] })),
        "target_avatars[0]",
        "invalid_character",
    );
}

#[test]
fn wrong_types_name_the_field() {
    let cases = [
        (json!({ "name": 42 }), "name"),
        (json!({ "name": ["a"] }), "name"),
        (json!({ "description": true }), "description"),
        (json!({ "hypothesis": {"a": 1} }), "hypothesis"),
        (json!({ "target_avatars": "busy parent" }), "target_avatars"),
        (json!({ "target_avatars": [1, "ok"] }), "target_avatars[0]"),
        (json!({ "target_avatars": [null] }), "target_avatars[0]"),
    ];
    for (overrides, field) in cases {
        rejects(body(overrides), field, "wrong_type");
    }
}

#[test]
fn a_body_that_is_not_an_object_is_422() {
    for value in [json!([]), json!("name"), json!(1), json!(null)] {
        let err = validate(&value).unwrap_err();
        assert_eq!(err.code, ErrorCode::ValidationFailed, "{value}");
        assert_eq!(err.details[0].code, "wrong_type");
    }
}

#[test]
fn unknown_fields_are_refused() {
    rejects(
        body(json!({ "owner": "mallory" })),
        "owner",
        "unknown_field",
    );
    rejects(
        body(json!({ "Name": "case matters" })),
        "Name",
        "unknown_field",
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let err = validate(&json!({ "name": "", "description": 1, "extra": true })).unwrap_err();
    let fields: Vec<&str> = err.details.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(fields.len(), 3, "{fields:?}");
    for f in ["name", "description", "extra"] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }
}

#[test]
fn control_and_bidi_characters_are_refused() {
    rejects(
        body(json!({ "name": "line\nbreak" })),
        "name",
        "invalid_character",
    );
    rejects(
        body(json!({ "name": "nul\u{0}" })),
        "name",
        "invalid_character",
    );
    rejects(
        body(json!({ "description": "evil \u{202E}txt.exe" })),
        "description",
        "invalid_character",
    );
    rejects(
        body(json!({ "hypothesis": "bell\u{7}" })),
        "hypothesis",
        "invalid_character",
    );
    // Newlines and tabs are fine in long texts.
    accepts(body(
        json!({ "description": "line one\nline two\tindented" }),
    ));
}

#[test]
fn avatar_characters_and_duplicates() {
    accepts(body(
        json!({ "target_avatars": ["startup_entrepreneur", "Mère célibataire", "R&D lead (EU)"] }),
    ));
    rejects(
        body(json!({ "target_avatars": ["<script>"] })),
        "target_avatars[0]",
        "invalid_character",
    );
    rejects(
        body(json!({ "target_avatars": ["a@b.c"] })),
        "target_avatars[0]",
        "invalid_character",
    );
    rejects(
        body(json!({ "target_avatars": [""] })),
        "target_avatars[0]",
        "required",
    );
    rejects(
        body(json!({ "target_avatars": ["busy parent", "busy parent"] })),
        "target_avatars[1]",
        "duplicate",
    );
}

#[test]
fn malformed_json_is_400() {
    for raw in [
        &b"{"[..],
        b"",
        b"{\"name\": \"x\",}",
        b"not json",
        b"{\"name\": \"\\ud800\"}",
        b"\xff\xfe",
    ] {
        let err = ProjectInput::from_json_bytes(raw).unwrap_err();
        assert_eq!(
            err.code,
            ErrorCode::MalformedJson,
            "{:?}",
            String::from_utf8_lossy(raw)
        );
        assert!(err.message.contains("not valid JSON"));
    }
}
