//! The create-project body and its validation.
//!
//! A thin idea (empty description, no hypothesis, no avatars) is accepted: judging it is
//! the analysis's job. What the API refuses is only what is malformed or out of bounds,
//! and it reports every offending field at once rather than the first one.

use crate::error::{AppError, ErrorCode, FieldError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The limits of a create body. Lengths count Unicode scalar values after trimming.
pub mod limits {
    pub const NAME_MAX_CHARS: usize = 120;
    pub const DESCRIPTION_MAX_CHARS: usize = 5_000;
    pub const HYPOTHESIS_MAX_CHARS: usize = 2_000;
    pub const AVATARS_MAX_COUNT: usize = 10;
    pub const AVATAR_MAX_CHARS: usize = 80;
    /// The largest body the API reads; anything bigger is 413 before it is parsed.
    pub const BODY_MAX_BYTES: usize = 64 * 1024;
}

use limits::*;

const FIELDS: [&str; 4] = ["name", "description", "hypothesis", "target_avatars"];

/// The fields a create body may hold, as messages name them: the idea's, and the
/// workflow the create chooses (read by `crate::create`).
const BODY_FIELDS: &str = "name, description, hypothesis, target_avatars, workflow";

/// A validated, normalised idea.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectInput {
    pub name: String,
    pub description: String,
    pub hypothesis: String,
    pub target_avatars: Vec<String>,
}

impl ProjectInput {
    /// Parses and validates a request body: 400 `malformed_json` when it is not JSON,
    /// 422 `validation_failed` with every field's problem otherwise.
    pub fn from_json_bytes(body: &[u8]) -> Result<Self, AppError> {
        Self::from_value(&Self::parse_json(body)?)
    }

    /// A body as JSON: 400 `malformed_json` when it is not.
    pub fn parse_json(body: &[u8]) -> Result<Value, AppError> {
        serde_json::from_slice(body).map_err(|e| {
            AppError::new(
                ErrorCode::MalformedJson,
                format!(
                    "the request body is not valid JSON (line {}, column {}); send a JSON object",
                    e.line(),
                    e.column()
                ),
            )
        })
    }

    pub fn from_value(value: &Value) -> Result<Self, AppError> {
        let Some(object) = value.as_object() else {
            return Err(AppError::validation(vec![FieldError::new(
                "",
                "wrong_type",
                format!(
                    "the body must be a JSON object with fields {}, not {}",
                    BODY_FIELDS,
                    type_name(value)
                ),
            )]));
        };
        let mut errors = Vec::new();
        for key in object.keys() {
            if !FIELDS.contains(&key.as_str()) {
                errors.push(FieldError::new(
                    key.as_str(),
                    "unknown_field",
                    format!("unknown field; the allowed fields are {BODY_FIELDS}"),
                ));
            }
        }
        let name = text_field(object, "name", true, NAME_MAX_CHARS, false, &mut errors);
        let description = text_field(
            object,
            "description",
            false,
            DESCRIPTION_MAX_CHARS,
            true,
            &mut errors,
        );
        let hypothesis = text_field(
            object,
            "hypothesis",
            false,
            HYPOTHESIS_MAX_CHARS,
            true,
            &mut errors,
        );
        let target_avatars = avatars_field(object, &mut errors);
        if !errors.is_empty() {
            return Err(AppError::validation(errors));
        }
        Ok(ProjectInput {
            name,
            description,
            hypothesis,
            target_avatars,
        })
    }

    /// Total characters of free text, for sizing decisions.
    pub fn text_len(&self) -> usize {
        self.name.len()
            + self.description.len()
            + self.hypothesis.len()
            + self.target_avatars.iter().map(String::len).sum::<usize>()
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A character no field may hold: control characters (bar newline and tab in long texts)
/// and the bidirectional overrides that make text read differently from what it is.
fn forbidden_char(c: char, multiline: bool) -> bool {
    let bidi = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    let allowed_control = multiline && matches!(c, '\n' | '\t' | '\r');
    bidi || (c.is_control() && !allowed_control)
}

fn text_field(
    object: &Map<String, Value>,
    field: &str,
    required: bool,
    max_chars: usize,
    multiline: bool,
    errors: &mut Vec<FieldError>,
) -> String {
    let value = match object.get(field) {
        None | Some(Value::Null) if required => {
            errors.push(FieldError::new(
                field,
                "required",
                format!("{field} is required"),
            ));
            return String::new();
        }
        None | Some(Value::Null) => return String::new(),
        Some(Value::String(s)) => s.as_str(),
        Some(other) => {
            errors.push(FieldError::new(
                field,
                "wrong_type",
                format!("{field} must be a string, not {}", type_name(other)),
            ));
            return String::new();
        }
    };
    // Limits and characters apply to the text as sent (so the published schema states
    // them exactly); what is stored is trimmed.
    if required && value.trim().is_empty() {
        errors.push(FieldError::new(
            field,
            "required",
            format!("{field} must not be empty"),
        ));
    }
    let chars = value.chars().count();
    if chars > max_chars {
        errors.push(FieldError::new(
            field,
            "too_long",
            format!("{field} has {chars} characters; the maximum is {max_chars}"),
        ));
    }
    if let Some(bad) = value.chars().find(|c| forbidden_char(*c, multiline)) {
        errors.push(FieldError::new(
            field,
            "invalid_character",
            format!(
                "{field} contains the control character U+{:04X}; remove it",
                bad as u32
            ),
        ));
    }
    value.trim().to_string()
}

/// Avatars are short labels ("startup_entrepreneur", "busy parent"): letters, digits,
/// spaces and a little punctuation, so they stay safe to show and to match on.
fn avatar_char_allowed(c: char) -> bool {
    c.is_alphanumeric()
        || matches!(
            c,
            ' ' | '_' | '-' | '.' | ',' | '\'' | '&' | '/' | '(' | ')' | '+'
        )
}

fn avatars_field(object: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Vec<String> {
    let items = match object.get("target_avatars") {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(items)) => items,
        Some(other) => {
            errors.push(FieldError::new(
                "target_avatars",
                "wrong_type",
                format!(
                    "target_avatars must be an array of strings, not {}",
                    type_name(other)
                ),
            ));
            return Vec::new();
        }
    };
    if items.len() > AVATARS_MAX_COUNT {
        errors.push(FieldError::new(
            "target_avatars",
            "too_many",
            format!(
                "target_avatars has {} entries; the maximum is {AVATARS_MAX_COUNT}",
                items.len()
            ),
        ));
        return Vec::new();
    }
    let mut avatars: Vec<String> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = format!("target_avatars[{i}]");
        let Some(raw) = item.as_str() else {
            errors.push(FieldError::new(
                field,
                "wrong_type",
                format!("each avatar must be a string, not {}", type_name(item)),
            ));
            continue;
        };
        // Labels are taken exactly as sent: a label is compared, shown and matched as is.
        let avatar = raw;
        let chars = avatar.chars().count();
        if avatar.trim().is_empty() {
            errors.push(FieldError::new(
                field,
                "required",
                "an avatar must not be empty",
            ));
        } else if avatar.trim() != avatar {
            errors.push(FieldError::new(
                field,
                "invalid_character",
                "an avatar must not start or end with spaces",
            ));
        } else if chars > AVATAR_MAX_CHARS {
            errors.push(FieldError::new(
                field,
                "too_long",
                format!("this avatar has {chars} characters; the maximum is {AVATAR_MAX_CHARS}"),
            ));
        } else if let Some(bad) = avatar.chars().find(|c| !avatar_char_allowed(*c)) {
            errors.push(FieldError::new(
                field,
                "invalid_character",
                format!(
                    "avatars may hold letters, digits, spaces and _ - . , ' & / ( ) +; \
                     {bad:?} is not allowed"
                ),
            ));
        } else if avatars.iter().any(|a| a == avatar) {
            errors.push(FieldError::new(
                field,
                "duplicate",
                format!("the avatar {avatar:?} is listed twice"),
            ));
        } else {
            avatars.push(avatar.to_string());
        }
    }
    avatars
}
