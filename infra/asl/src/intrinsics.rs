//! Intrinsic functions (`States.Format(...)` and friends) in `.$` values: parsed when the
//! definition loads, so an unknown function or a malformed call is refused up front.

use crate::error::ExprError;
use crate::path::Path;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Literal(Value),
    Path(Path),
    Call(Call),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub function: Function,
    pub args: Vec<Arg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayLength,
    ArrayGetItem,
    MathAdd,
    Uuid,
}

impl Function {
    fn by_name(name: &str) -> Option<Function> {
        Some(match name {
            "States.Format" => Function::Format,
            "States.StringToJson" => Function::StringToJson,
            "States.JsonToString" => Function::JsonToString,
            "States.Array" => Function::Array,
            "States.ArrayLength" => Function::ArrayLength,
            "States.ArrayGetItem" => Function::ArrayGetItem,
            "States.MathAdd" => Function::MathAdd,
            "States.UUID" => Function::Uuid,
            _ => return None,
        })
    }

    /// (minimum, maximum) argument counts.
    fn arity(self) -> (usize, usize) {
        match self {
            Function::Format => (1, usize::MAX),
            Function::StringToJson | Function::JsonToString | Function::ArrayLength => (1, 1),
            Function::Array => (0, usize::MAX),
            Function::ArrayGetItem | Function::MathAdd => (2, 2),
            Function::Uuid => (0, 0),
        }
    }
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    source: &'a str,
}

/// Parses an intrinsic call such as `States.Format('Hello {}', $.name)`.
pub fn parse(source: &str) -> Result<Call, ExprError> {
    let mut p = Parser {
        chars: source.chars().collect(),
        pos: 0,
        source,
    };
    let call = p.call()?;
    p.skip_ws();
    if p.pos != p.chars.len() {
        return Err(p.error("unexpected text after the call"));
    }
    Ok(call)
}

impl Parser<'_> {
    fn error(&self, what: &str) -> ExprError {
        ExprError::malformed(
            format!("{:?}", self.source),
            format!("{what} at character {}", self.pos + 1),
        )
    }

    fn skip_ws(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn call(&mut self) -> Result<Call, ExprError> {
        self.skip_ws();
        let start = self.pos;
        while self
            .chars
            .get(self.pos)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '.')
        {
            self.pos += 1;
        }
        let name: String = self.chars[start..self.pos].iter().collect();
        let function = Function::by_name(&name).ok_or_else(|| {
            ExprError::malformed(
                format!("{:?}", self.source),
                format!("the intrinsic function {name:?} is not supported"),
            )
        })?;
        self.skip_ws();
        if self.chars.get(self.pos) != Some(&'(') {
            return Err(self.error("expected '('"));
        }
        self.pos += 1;
        let mut args = Vec::new();
        self.skip_ws();
        if self.chars.get(self.pos) == Some(&')') {
            self.pos += 1;
        } else {
            loop {
                args.push(self.arg()?);
                self.skip_ws();
                match self.chars.get(self.pos) {
                    Some(',') => self.pos += 1,
                    Some(')') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.error("expected ',' or ')'")),
                }
            }
        }
        let (min, max) = function.arity();
        if args.len() < min || args.len() > max {
            return Err(ExprError::malformed(
                format!("{:?}", self.source),
                match (min, max) {
                    (a, b) if a == b => format!("{name} takes {a} argument(s), not {}", args.len()),
                    (a, usize::MAX) => format!("{name} takes at least {a} argument(s)"),
                    (a, b) => format!("{name} takes {a} to {b} arguments"),
                },
            ));
        }
        Ok(Call { function, args })
    }

    fn arg(&mut self) -> Result<Arg, ExprError> {
        self.skip_ws();
        match self.chars.get(self.pos) {
            Some('\'') => self.string().map(|s| Arg::Literal(Value::String(s))),
            Some('$') => {
                let start = self.pos;
                let mut depth = 0;
                while let Some(c) = self.chars.get(self.pos) {
                    match c {
                        '[' => depth += 1,
                        ']' => depth -= 1,
                        ',' | ')' if depth == 0 => break,
                        _ => {}
                    }
                    self.pos += 1;
                }
                let raw: String = self.chars[start..self.pos].iter().collect();
                Path::parse(raw.trim()).map(Arg::Path)
            }
            Some(c)
                if c.is_ascii_alphabetic()
                    && self.chars[self.pos..].starts_with(&['S', 't', 'a', 't', 'e', 's', '.']) =>
            {
                self.call().map(Arg::Call)
            }
            Some(_) => {
                let start = self.pos;
                while self
                    .chars
                    .get(self.pos)
                    .is_some_and(|c| *c != ',' && *c != ')')
                {
                    self.pos += 1;
                }
                let raw: String = self.chars[start..self.pos].iter().collect();
                serde_json::from_str::<Value>(raw.trim())
                    .ok()
                    .filter(|v| !v.is_object() && !v.is_array() && !v.is_string())
                    .map(Arg::Literal)
                    .ok_or_else(|| self.error(&format!("{raw:?} is not a valid argument")))
            }
            None => Err(self.error("unexpected end")),
        }
    }

    fn string(&mut self) -> Result<String, ExprError> {
        self.pos += 1; // the opening quote
        let mut out = String::new();
        loop {
            match self.chars.get(self.pos) {
                None => return Err(self.error("unterminated string")),
                Some('\'') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('\\') => {
                    let next = self
                        .chars
                        .get(self.pos + 1)
                        .ok_or_else(|| self.error("dangling '\\'"))?;
                    // Keep \{ and \} escaped: States.Format reads them as literal braces.
                    if matches!(next, '{' | '}') {
                        out.push('\\');
                    }
                    out.push(*next);
                    self.pos += 2;
                }
                Some(c) => {
                    out.push(*c);
                    self.pos += 1;
                }
            }
        }
    }
}

/// Evaluates a call. `resolve` reads a path (data or context); a missing node or a wrong
/// argument type is an `Err` the interpreter turns into `States.Runtime`.
pub fn eval(call: &Call, resolve: &dyn Fn(&Path) -> Option<Value>) -> Result<Value, ExprError> {
    let args: Vec<Value> = call
        .args
        .iter()
        .map(|arg| match arg {
            Arg::Literal(v) => Ok(v.clone()),
            Arg::Path(p) => resolve(p).ok_or_else(|| ExprError::no_match("path", p, String::new())),
            Arg::Call(inner) => eval(inner, resolve),
        })
        .collect::<Result<_, _>>()?;
    match call.function {
        Function::Format => format(&args),
        Function::StringToJson => {
            let s = args[0]
                .as_str()
                .ok_or_else(|| unusable("States.StringToJson needs a string"))?;
            serde_json::from_str(s).map_err(|e| unusable(format!("States.StringToJson: {e}")))
        }
        Function::JsonToString => Ok(Value::String(args[0].to_string())),
        Function::Array => Ok(Value::Array(args)),
        Function::ArrayLength => args[0]
            .as_array()
            .map(|a| Value::from(a.len()))
            .ok_or_else(|| unusable("States.ArrayLength needs an array")),
        Function::ArrayGetItem => {
            let items = args[0]
                .as_array()
                .ok_or_else(|| unusable("States.ArrayGetItem needs an array"))?;
            let index = args[1]
                .as_u64()
                .ok_or_else(|| unusable("States.ArrayGetItem needs a whole index"))?;
            items.get(index as usize).cloned().ok_or_else(|| {
                unusable(format!(
                    "States.ArrayGetItem: index {index} is out of bounds"
                ))
            })
        }
        Function::MathAdd => {
            let (a, b) = (args[0].as_i64(), args[1].as_i64());
            match (a, b) {
                (Some(a), Some(b)) => a
                    .checked_add(b)
                    .map(Value::from)
                    .ok_or_else(|| unusable("States.MathAdd overflowed")),
                _ => Err(unusable("States.MathAdd needs two integers")),
            }
        }
        Function::Uuid => Ok(Value::String(uuid::Uuid::new_v4().to_string())),
    }
}

fn format(args: &[Value]) -> Result<Value, ExprError> {
    let template = args[0]
        .as_str()
        .ok_or_else(|| unusable("States.Format needs a string template"))?;
    let mut values = args[1..].iter();
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                let value = values
                    .next()
                    .ok_or_else(|| unusable("States.Format has more {} than arguments"))?;
                match value {
                    Value::String(s) => out.push_str(s),
                    Value::Number(_) | Value::Bool(_) | Value::Null => {
                        out.push_str(&value.to_string())
                    }
                    _ => {
                        return Err(unusable(
                            "States.Format arguments must be strings, numbers, booleans or null",
                        ));
                    }
                }
            }
            other => out.push(other),
        }
    }
    if values.next().is_some() {
        return Err(unusable("States.Format has more arguments than {}"));
    }
    Ok(Value::String(out))
}

/// A value the function cannot take: the execution fails with `States.Runtime`.
fn unusable(why: impl Into<String>) -> ExprError {
    ExprError::Unusable(why.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(source: &str, data: Value) -> Result<Value, ExprError> {
        let call = parse(source)?;
        eval(&call, &|p: &Path| p.get(&data).cloned())
    }

    #[test]
    fn format_with_paths_literals_and_escapes() {
        let data = json!({"name": "Ada", "n": 3});
        assert_eq!(
            run(
                r"States.Format('Hi {}, you have {} \{new\} items', $.name, $.n)",
                data
            )
            .unwrap(),
            json!("Hi Ada, you have 3 {new} items")
        );
    }

    #[test]
    fn nested_calls_and_json_round_trip() {
        let data = json!({"s": "{\"a\":[1,2]}"});
        // A member access on a call result is not ASL syntax.
        assert!(parse("States.ArrayLength(States.StringToJson($.s).a)").is_err());
        assert_eq!(
            run("States.StringToJson($.s)", data.clone()).unwrap(),
            json!({"a": [1, 2]})
        );
        assert_eq!(
            run("States.JsonToString(States.Array(1, 'x', true))", data).unwrap(),
            json!("[1,\"x\",true]")
        );
        assert_eq!(run("States.MathAdd(40, 2)", json!({})).unwrap(), json!(42));
        assert_eq!(
            run("States.ArrayGetItem(States.Array('a','b'), 1)", json!({})).unwrap(),
            json!("b")
        );
    }

    #[test]
    fn refuses_unknown_functions_and_bad_arity() {
        assert!(
            parse("States.Hash($.a, 'SHA-1')")
                .unwrap_err()
                .to_string()
                .contains("not supported")
        );
        assert!(parse("States.MathAdd(1)").is_err());
        assert!(parse("States.Format('x'").is_err());
        assert!(run("States.Format('{} {}', 'a')", json!({})).is_err());
    }
}
