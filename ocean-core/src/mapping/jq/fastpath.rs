//! Plain paths (`.a`, `.a.b[0]`, `."x y"`, `.a?`) evaluated on the JSON directly: most mapping
//! fields are such paths, and this skips converting the item for jaq.

use super::value::{json_type_name, normalized_clone};
use jaq_core::load::lex::StrPart;
use jaq_core::load::parse::Term;
use jaq_core::path::{Opt, Part};
use serde_json::Value;

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(i64),
}

/// A path of keys and integer indices starting at the input.
#[derive(Debug, Clone)]
pub(crate) struct FastPath(Vec<(Step, bool)>);

impl FastPath {
    /// The path a program consists of, if it is nothing but a plain path.
    pub(crate) fn of(term: &Term<&str>) -> Option<Self> {
        let Term::Path(head, path) = term else {
            return None;
        };
        if !matches!(**head, Term::Id) {
            return None;
        }
        let mut steps = Vec::with_capacity(path.0.len());
        for (part, opt) in &path.0 {
            let optional = matches!(opt, Opt::Optional);
            let step = match part {
                Part::Index(Term::Str(None, parts)) => {
                    let mut key = String::new();
                    for p in parts {
                        match p {
                            StrPart::Str(s) => key.push_str(s),
                            StrPart::Char(c) => key.push(*c),
                            StrPart::Term(_) => return None,
                        }
                    }
                    Step::Key(key)
                }
                Part::Index(Term::Num(n)) => Step::Index(n.parse().ok()?),
                Part::Index(Term::Neg(inner)) => match &**inner {
                    Term::Num(n) => Step::Index(-n.parse::<i64>().ok()?),
                    _ => return None,
                },
                _ => return None,
            };
            steps.push((step, optional));
        }
        Some(Self(steps))
    }

    /// The first (only) output: the value at the path, `null` past a missing key or `null`,
    /// an error when indexing a value of the wrong type, nothing for a failing optional step.
    pub(crate) fn eval(&self, input: &Value) -> Result<Option<Value>, String> {
        let mut current = input;
        for (step, optional) in &self.0 {
            let next = match (step, current) {
                (_, Value::Null) => Some(&Value::Null),
                (Step::Key(k), Value::Object(map)) => Some(map.get(k).unwrap_or(&Value::Null)),
                (Step::Index(i), Value::Array(items)) => {
                    let idx = if *i < 0 {
                        usize::try_from(i.unsigned_abs())
                            .ok()
                            .and_then(|back| items.len().checked_sub(back))
                    } else {
                        usize::try_from(*i).ok()
                    };
                    Some(idx.and_then(|idx| items.get(idx)).unwrap_or(&Value::Null))
                }
                _ => None,
            };
            match next {
                Some(v) => current = v,
                None if *optional => return Ok(None),
                None => {
                    let index = match step {
                        Step::Key(k) => format!("\"{k}\""),
                        Step::Index(_) => "number".to_owned(),
                    };
                    return Err(format!(
                        "Cannot index {} with {index}",
                        json_type_name(current)
                    ));
                }
            }
        }
        Ok(Some(normalized_clone(current)))
    }
}
