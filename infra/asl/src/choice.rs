//! Choice rules: comparisons (and their `…Path` variants), type tests, And / Or / Not.

use crate::error::ExprError;
use crate::path::Path;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq)]
pub enum ChoiceRule {
    And(Vec<ChoiceRule>),
    Or(Vec<ChoiceRule>),
    Not(Box<ChoiceRule>),
    Compare {
        variable: Path,
        op: Op,
        operand: Operand,
    },
    Test {
        variable: Path,
        test: TypeTest,
        expected: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Value(Value),
    Path(Path),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
    Matches,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op {
    pub family: Family,
    pub relation: Relation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeTest {
    Null,
    Present,
    Numeric,
    String,
    Boolean,
    Timestamp,
}

fn operator(name: &str) -> Option<(Op, bool)> {
    let (base, is_path) = match name.strip_suffix("Path") {
        Some(base) => (base, true),
        None => (name, false),
    };
    let (family, rest) = [
        ("String", Family::String),
        ("Numeric", Family::Numeric),
        ("Boolean", Family::Boolean),
        ("Timestamp", Family::Timestamp),
    ]
    .into_iter()
    .find_map(|(prefix, family)| base.strip_prefix(prefix).map(|rest| (family, rest)))?;
    let relation = match rest {
        "Equals" => Relation::Equals,
        "LessThan" => Relation::LessThan,
        "GreaterThan" => Relation::GreaterThan,
        "LessThanEquals" => Relation::LessThanEquals,
        "GreaterThanEquals" => Relation::GreaterThanEquals,
        "Matches" if family == Family::String && !is_path => Relation::Matches,
        _ => return None,
    };
    if family == Family::Boolean && relation != Relation::Equals {
        return None;
    }
    Some((Op { family, relation }, is_path))
}

fn type_test(name: &str) -> Option<TypeTest> {
    Some(match name {
        "IsNull" => TypeTest::Null,
        "IsPresent" => TypeTest::Present,
        "IsNumeric" => TypeTest::Numeric,
        "IsString" => TypeTest::String,
        "IsBoolean" => TypeTest::Boolean,
        "IsTimestamp" => TypeTest::Timestamp,
        _ => return None,
    })
}

/// Parses one rule. `top_level` rules carry `Next` (returned); nested ones must not.
pub fn parse_rule(
    value: &Value,
    top_level: bool,
    at: &str,
) -> Result<(ChoiceRule, Option<String>), ExprError> {
    let Value::Object(map) = value else {
        return Err(bad(at, "a choice rule must be an object"));
    };
    let mut map: Map<String, Value> = map.clone();
    let next = match map.remove("Next") {
        Some(Value::String(next)) if top_level => Some(next),
        Some(_) if top_level => return Err(bad(at, "Next must be a string")),
        Some(_) => {
            return Err(bad(at, "Next is only allowed on top-level choice rules"));
        }
        None if top_level => return Err(bad(at, "a top-level choice rule needs Next")),
        None => None,
    };
    map.remove("Comment");
    let rule = if let Some(v) = map.remove("And").or_else(|| map.remove("Or")) {
        let is_and = value.get("And").is_some();
        let Value::Array(items) = v else {
            return Err(bad(at, "And/Or takes a non-empty array of rules"));
        };
        if items.is_empty() {
            return Err(bad(at, "And/Or takes a non-empty array of rules"));
        }
        let rules = items
            .iter()
            .enumerate()
            .map(|(i, r)| {
                parse_rule(
                    r,
                    false,
                    &format!("{at}.{}[{i}]", if is_and { "And" } else { "Or" }),
                )
                .map(|(r, _)| r)
            })
            .collect::<Result<Vec<_>, _>>()?;
        if is_and {
            ChoiceRule::And(rules)
        } else {
            ChoiceRule::Or(rules)
        }
    } else if let Some(v) = map.remove("Not") {
        ChoiceRule::Not(Box::new(parse_rule(&v, false, &format!("{at}.Not"))?.0))
    } else {
        let variable = match map.remove("Variable") {
            Some(Value::String(p)) => {
                Path::parse(&p).map_err(|e| ExprError::inside(format!("{at}.Variable"), e))?
            }
            _ => return Err(bad(at, "a comparison needs a Variable path")),
        };
        let mut ops = map.iter();
        let (name, operand) = match (ops.next(), ops.next()) {
            (Some((name, operand)), None) => (name.clone(), operand.clone()),
            (None, _) => return Err(bad(at, "a comparison needs exactly one operator")),
            (Some((a, _)), Some((b, _))) => {
                return Err(bad(
                    at,
                    format!("{a} and {b}: a comparison takes exactly one operator"),
                ));
            }
        };
        map.clear();
        if let Some(test) = type_test(&name) {
            let Value::Bool(expected) = operand else {
                return Err(bad(format!("{at}.{name}"), "must be true or false"));
            };
            ChoiceRule::Test {
                variable,
                test,
                expected,
            }
        } else if let Some((op, is_path)) = operator(&name) {
            let operand = if is_path {
                let Value::String(p) = &operand else {
                    return Err(bad(format!("{at}.{name}"), "must be a path string"));
                };
                Operand::Path(
                    Path::parse(p).map_err(|e| ExprError::inside(format!("{at}.{name}"), e))?,
                )
            } else {
                let ok = match op.family {
                    Family::String => operand.is_string(),
                    Family::Numeric => operand.is_number(),
                    Family::Boolean => operand.is_boolean(),
                    Family::Timestamp => operand.as_str().is_some_and(|s| timestamp(s).is_some()),
                };
                if !ok {
                    return Err(bad(
                        format!("{at}.{name}"),
                        format!("{operand} is not a valid operand for this operator"),
                    ));
                }
                Operand::Value(operand)
            };
            ChoiceRule::Compare {
                variable,
                op,
                operand,
            }
        } else {
            return Err(bad(at, format!("the operator {name:?} is not supported")));
        }
    };
    if let Some(extra) = map.keys().next() {
        return Err(bad(at, format!("field {extra:?} is not supported here")));
    }
    Ok((rule, next))
}

fn bad(at: impl Into<String>, problem: impl Into<String>) -> ExprError {
    ExprError::malformed(at, problem)
}

fn timestamp(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `*` matches any run of characters; `\*` is a literal star and `\\` a backslash.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    enum Tok {
        Star,
        Char(char),
    }
    let mut toks = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => toks.push(Tok::Char(chars.next().unwrap_or('\\'))),
            '*' => toks.push(Tok::Star),
            c => toks.push(Tok::Char(c)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    // Classic greedy matching with backtracking to the last star.
    let (mut t, mut p) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while t < text.len() {
        match toks.get(p) {
            Some(Tok::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            Some(Tok::Star) => {
                star = Some(p);
                mark = t;
                p += 1;
            }
            _ => match star {
                Some(s) => {
                    p = s + 1;
                    mark += 1;
                    t = mark;
                }
                None => return false,
            },
        }
    }
    toks[p..].iter().all(|t| matches!(t, Tok::Star))
}

fn ordering_holds(relation: Relation, ord: Ordering) -> bool {
    match relation {
        Relation::Equals => ord == Ordering::Equal,
        Relation::LessThan => ord == Ordering::Less,
        Relation::GreaterThan => ord == Ordering::Greater,
        Relation::LessThanEquals => ord != Ordering::Greater,
        Relation::GreaterThanEquals => ord != Ordering::Less,
        Relation::Matches => false,
    }
}

impl ChoiceRule {
    /// Evaluates against the state's effective input (`$`) and the context (`$$`).
    /// A comparison whose Variable matches nothing is a runtime error, as on AWS.
    pub fn eval(&self, input: &Value, context: &Value) -> Result<bool, ExprError> {
        let read = |p: &Path| p.get(if p.context { context } else { input }).cloned();
        match self {
            ChoiceRule::And(rules) => {
                for r in rules {
                    if !r.eval(input, context)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            ChoiceRule::Or(rules) => {
                for r in rules {
                    if r.eval(input, context)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            ChoiceRule::Not(rule) => Ok(!rule.eval(input, context)?),
            ChoiceRule::Test {
                variable,
                test,
                expected,
            } => {
                let value = read(variable);
                let holds = match (test, &value) {
                    (TypeTest::Present, v) => v.is_some(),
                    (_, None) => false,
                    (TypeTest::Null, Some(v)) => v.is_null(),
                    (TypeTest::Numeric, Some(v)) => v.is_number(),
                    (TypeTest::String, Some(v)) => v.is_string(),
                    (TypeTest::Boolean, Some(v)) => v.is_boolean(),
                    (TypeTest::Timestamp, Some(v)) => {
                        v.as_str().is_some_and(|s| timestamp(s).is_some())
                    }
                };
                Ok(holds == *expected)
            }
            ChoiceRule::Compare {
                variable,
                op,
                operand,
            } => {
                let left = read(variable).ok_or_else(|| {
                    ExprError::no_match("choice Variable", variable, String::new())
                })?;
                let right = match operand {
                    Operand::Value(v) => v.clone(),
                    Operand::Path(p) => read(p).ok_or_else(|| {
                        ExprError::no_match("choice operand path", p, String::new())
                    })?,
                };
                // A type mismatch is simply false, as on AWS.
                Ok(match op.family {
                    Family::String => match (left.as_str(), right.as_str()) {
                        (Some(l), Some(r)) if op.relation == Relation::Matches => {
                            wildcard_match(r, l)
                        }
                        (Some(l), Some(r)) => ordering_holds(op.relation, l.cmp(r)),
                        _ => false,
                    },
                    Family::Numeric => match (left.as_f64(), right.as_f64()) {
                        (Some(l), Some(r)) => l
                            .partial_cmp(&r)
                            .is_some_and(|o| ordering_holds(op.relation, o)),
                        _ => false,
                    },
                    Family::Boolean => {
                        matches!((left.as_bool(), right.as_bool()), (Some(l), Some(r)) if l == r)
                    }
                    Family::Timestamp => match (
                        left.as_str().and_then(timestamp),
                        right.as_str().and_then(timestamp),
                    ) {
                        (Some(l), Some(r)) => ordering_holds(op.relation, l.cmp(&r)),
                        _ => false,
                    },
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*.log", "app.log"));
        assert!(wildcard_match("a*b*c", "axxbyyc"));
        assert!(!wildcard_match("a*b", "axxc"));
        assert!(wildcard_match(r"\*x", "*x"));
        assert!(!wildcard_match(r"\*x", "yx"));
        assert!(wildcard_match("*", ""));
    }
}
