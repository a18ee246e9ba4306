//! Payload templates: `Parameters` and `ResultSelector`, where a key ending in `.$` takes
//! its value from a path, the context object, or an intrinsic function.

use crate::error::ExprError;
use crate::intrinsics::{self, Call};
use crate::path::Path;
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    Literal(Value),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    Path(Path),
    Intrinsic(Call),
}

impl Template {
    /// Compiles a template; errors name the offending key.
    pub fn compile(value: &Value) -> Result<Template, ExprError> {
        Ok(match value {
            Value::Object(map) => {
                let mut fields = Vec::with_capacity(map.len());
                for (key, v) in map {
                    if let Some(name) = key.strip_suffix(".$") {
                        let Value::String(expr) = v else {
                            return Err(ExprError::malformed(
                                format!("{key:?}"),
                                "it ends in '.$', so its value must be a path or an intrinsic function string",
                            ));
                        };
                        let dynamic = if expr.starts_with('$') {
                            Template::Path(
                                Path::parse(expr)
                                    .map_err(|e| ExprError::inside(format!("{key:?}"), e))?,
                            )
                        } else if expr.starts_with("States.") {
                            Template::Intrinsic(
                                intrinsics::parse(expr)
                                    .map_err(|e| ExprError::inside(format!("{key:?}"), e))?,
                            )
                        } else {
                            return Err(ExprError::malformed(
                                format!("{key:?}"),
                                format!("{expr:?} is neither a path nor an intrinsic function"),
                            ));
                        };
                        fields.push((name.to_string(), dynamic));
                    } else {
                        fields.push((key.clone(), Template::compile(v)?));
                    }
                }
                Template::Object(fields)
            }
            Value::Array(items) => Template::Array(
                items
                    .iter()
                    .map(Template::compile)
                    .collect::<Result<_, _>>()?,
            ),
            other => Template::Literal(other.clone()),
        })
    }

    /// Renders against the effective input and the context object.
    pub fn render(&self, input: &Value, context: &Value) -> Result<Value, ExprError> {
        let resolve = |p: &Path| p.get(if p.context { context } else { input }).cloned();
        Ok(match self {
            Template::Literal(v) => v.clone(),
            Template::Object(fields) => {
                let mut map = Map::with_capacity(fields.len());
                for (key, t) in fields {
                    map.insert(key.clone(), t.render(input, context)?);
                }
                Value::Object(map)
            }
            Template::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|t| t.render(input, context))
                    .collect::<Result<_, _>>()?,
            ),
            Template::Path(p) => {
                resolve(p).ok_or_else(|| ExprError::no_match("path", p, " in the input".into()))?
            }
            Template::Intrinsic(call) => intrinsics::eval(call, &resolve)?,
        })
    }
}
