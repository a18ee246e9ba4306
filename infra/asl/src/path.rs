//! Reference paths (`$.a.b[0]`, `$['a b']`, `$$.Execution.Id`): the JSONPath subset ASL
//! allows wherever a path names one node, and the only one this interpreter supports.
//! Wildcards, filters and recursive descent are refused at load time.

use crate::error::ExprError;
use serde_json::{Map, Value};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Field(String),
    Index(usize),
}

/// A parsed path: rooted at the state's data (`$`) or at the context object (`$$`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    pub context: bool,
    pub segments: Vec<Segment>,
    raw: String,
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl Path {
    pub fn parse(raw: &str) -> Result<Path, ExprError> {
        let (context, rest) = if let Some(rest) = raw.strip_prefix("$$") {
            (true, rest)
        } else if let Some(rest) = raw.strip_prefix('$') {
            (false, rest)
        } else {
            return Err(ExprError::NotAPath(raw.to_string()));
        };
        let mut segments = Vec::new();
        let chars: Vec<char> = rest.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    if chars.get(i + 1) == Some(&'.') {
                        return Err(ExprError::malformed(
                            format!("{raw:?}"),
                            "recursive descent ('..') is not supported",
                        ));
                    }
                    let start = i + 1;
                    let mut end = start;
                    while end < chars.len() && chars[end] != '.' && chars[end] != '[' {
                        end += 1;
                    }
                    let name: String = chars[start..end].iter().collect();
                    if name.is_empty() {
                        return Err(ExprError::malformed(format!("{raw:?}"), "empty field name"));
                    }
                    if name == "*" {
                        return Err(ExprError::malformed(
                            format!("{raw:?}"),
                            "wildcards are not supported",
                        ));
                    }
                    segments.push(Segment::Field(name));
                    i = end;
                }
                '[' => {
                    let close = chars[i..]
                        .iter()
                        .position(|c| *c == ']')
                        .map(|p| p + i)
                        .ok_or_else(|| {
                            ExprError::malformed(format!("{raw:?}"), "'[' without ']'")
                        })?;
                    let inner: String = chars[i + 1..close].iter().collect();
                    let inner = inner.trim();
                    if let Some(quoted) = inner
                        .strip_prefix('\'')
                        .and_then(|s| s.strip_suffix('\''))
                        .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
                    {
                        segments.push(Segment::Field(quoted.to_string()));
                    } else if let Ok(index) = inner.parse::<usize>() {
                        segments.push(Segment::Index(index));
                    } else {
                        return Err(ExprError::malformed(
                            format!("{raw:?}"),
                            format!("[{inner}] is not supported (only [n] and ['name'])"),
                        ));
                    }
                    i = close + 1;
                }
                other => {
                    return Err(ExprError::malformed(
                        format!("{raw:?}"),
                        format!("unexpected {other:?}"),
                    ));
                }
            }
        }
        Ok(Path {
            context,
            segments,
            raw: raw.to_string(),
        })
    }

    fn cannot_set(&self, problem: String) -> ExprError {
        ExprError::CannotSet {
            path: self.raw.clone(),
            problem,
        }
    }

    /// The node this path names in `root`, if there is one.
    pub fn get<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        let mut node = root;
        for segment in &self.segments {
            node = match (segment, node) {
                (Segment::Field(name), Value::Object(map)) => map.get(name)?,
                (Segment::Index(i), Value::Array(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// Returns `root` with `value` placed at this path (ResultPath semantics): missing
    /// objects on the way are created; a non-object on the way is an error.
    pub fn set(&self, root: Value, value: Value) -> Result<Value, ExprError> {
        if self.segments.is_empty() {
            return Ok(value);
        }
        let mut root = root;
        let mut node = &mut root;
        for (n, segment) in self.segments.iter().enumerate() {
            let last = n + 1 == self.segments.len();
            match segment {
                Segment::Field(name) => {
                    if node.is_null() {
                        *node = Value::Object(Map::new());
                    }
                    let Value::Object(map) = node else {
                        return Err(self
                            .cannot_set(format!("the value at {name:?} is not inside an object")));
                    };
                    if last {
                        map.insert(name.clone(), value);
                        return Ok(root);
                    }
                    node = map.entry(name.clone()).or_insert(Value::Null);
                }
                Segment::Index(i) => {
                    let Value::Array(items) = node else {
                        return Err(self.cannot_set(format!("[{i}] is not inside an array")));
                    };
                    let Some(slot) = items.get_mut(*i) else {
                        return Err(self.cannot_set(format!("index {i} is out of bounds")));
                    };
                    if last {
                        *slot = value;
                        return Ok(root);
                    }
                    node = slot;
                }
            }
        }
        unreachable!("the last segment returns")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_reads_reference_paths() {
        let doc = json!({"a": {"b c": [10, {"d": true}]}});
        assert_eq!(Path::parse("$").unwrap().get(&doc), Some(&doc));
        assert_eq!(
            Path::parse("$.a['b c'][1].d").unwrap().get(&doc),
            Some(&json!(true))
        );
        assert_eq!(Path::parse("$.a.x").unwrap().get(&doc), None);
        assert!(Path::parse("$$.Execution.Id").unwrap().context);
    }

    #[test]
    fn refuses_what_it_does_not_support() {
        for bad in ["a.b", "$..a", "$.a[*]", "$.*", "$.a[?(@.b)]", "$.a[", "$."] {
            assert!(Path::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn set_creates_objects_and_replaces_nodes() {
        let p = Path::parse("$.x.y").unwrap();
        assert_eq!(
            p.set(json!({"a": 1}), json!(2)).unwrap(),
            json!({"a": 1, "x": {"y": 2}})
        );
        assert_eq!(
            Path::parse("$")
                .unwrap()
                .set(json!({"a": 1}), json!(3))
                .unwrap(),
            json!(3)
        );
        assert!(p.set(json!({"x": 5}), json!(1)).is_err());
    }
}
