//! Identifiers. Each is a validated newtype so a raw string from a path or a message
//! can never reach a store key unchecked.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// A project id: a UUID v7 (time-ordered), in its canonical lower-case hyphenated form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProjectId(String);

impl ProjectId {
    /// A fresh, time-ordered id.
    pub fn generate() -> Self {
        ProjectId(Uuid::now_v7().hyphenated().to_string())
    }

    /// Parses an id from a path segment or a message; only the canonical form is accepted,
    /// so one project never has two spellings (and two store keys).
    pub fn parse(raw: &str) -> Option<Self> {
        let uuid = Uuid::try_parse(raw).ok()?;
        let canonical = uuid.hyphenated().to_string();
        (canonical == raw).then_some(ProjectId(canonical))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ProjectId {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        ProjectId::parse(&value).ok_or_else(|| format!("not a project id: {value:?}"))
    }
}

impl From<ProjectId> for String {
    fn from(value: ProjectId) -> Self {
        value.0
    }
}

impl fmt::Display for ProjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The tenant a project belongs to. Every read and list is scoped to one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Owner(String);

impl Owner {
    pub const MAX_LEN: usize = 64;

    /// Owners appear inside store keys (`IDEMPOTENCY#<owner>#…`), so they are limited to
    /// characters that can never be confused with the `#` separator.
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = !raw.is_empty()
            && raw.len() <= Self::MAX_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@'));
        ok.then(|| Owner(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Owner {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Owner::parse(&value).ok_or_else(|| format!("not an owner name: {value:?}"))
    }
}

impl From<Owner> for String {
    fn from(value: Owner) -> Self {
        value.0
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A WebSocket connection id as API Gateway (or the local gateway) issues it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ConnectionId(String);

impl ConnectionId {
    pub const MAX_LEN: usize = 128;

    pub fn parse(raw: &str) -> Option<Self> {
        let ok = !raw.is_empty()
            && raw.len() <= Self::MAX_LEN
            && raw.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'=' | b'+' | b'/')
            });
        ok.then(|| ConnectionId(raw.to_string()))
    }

    pub fn generate() -> Self {
        ConnectionId(Uuid::new_v4().simple().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ConnectionId {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        ConnectionId::parse(&value).ok_or_else(|| format!("not a connection id: {value:?}"))
    }
}

impl From<ConnectionId> for String {
    fn from(value: ConnectionId) -> Self {
        value.0
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_id_accepts_only_the_canonical_form() {
        let id = ProjectId::generate();
        assert_eq!(ProjectId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(ProjectId::parse(&id.as_str().to_uppercase()), None);
        assert_eq!(ProjectId::parse(&id.as_str().replace('-', "")), None);
        assert_eq!(ProjectId::parse("../../etc/passwd"), None);
        assert_eq!(ProjectId::parse(""), None);
    }

    #[test]
    fn owner_rejects_key_separators_and_overlong_names() {
        assert!(Owner::parse("acme-inc_1").is_some());
        assert!(Owner::parse("a#b").is_none());
        assert!(Owner::parse("").is_none());
        assert!(Owner::parse(&"a".repeat(64)).is_some());
        assert!(Owner::parse(&"a".repeat(65)).is_none());
    }
}
