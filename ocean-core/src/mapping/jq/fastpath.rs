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

/// The parts of the input a program can observe: either everything, or only the values at
/// some plain key paths from the root. Converting just those for jaq is much cheaper than
/// converting a whole large item.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Projection {
    /// Child keys to keep; a key mapping to `None` keeps that child whole.
    children: Vec<(String, Option<Projection>)>,
}

/// Builtins that ignore their input.
const INPUT_FREE: &[&str] = &[
    "true", "false", "null", "empty", "nan", "infinite", "range", "error",
];

impl Projection {
    /// The projection of a program, `None` when it may observe the whole input.
    pub(crate) fn of(term: &Term<&str>) -> Option<Self> {
        let mut p = Projection::default();
        p.collect(term).then_some(p)
    }

    fn add(&mut self, path: &[String]) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        let idx = match self.children.iter().position(|(k, _)| k == first) {
            Some(i) => i,
            None => {
                self.children
                    .push((first.clone(), Some(Projection::default())));
                self.children.len() - 1
            }
        };
        let slot = &mut self.children[idx].1;
        if rest.is_empty() {
            *slot = None;
        } else if let Some(child) = slot {
            child.add(rest);
        }
    }

    /// Adds what `t`, run on the root, reads; false when it may read anything.
    fn collect(&mut self, t: &Term<&str>) -> bool {
        use jaq_core::load::parse::BinaryOp;
        match t {
            Term::Num(_) | Term::Var(_) | Term::Break(_) => true,
            Term::Id | Term::Recurse | Term::Def(..) | Term::Label(..) => false,
            Term::Str(_, parts) => parts.iter().all(|p| match p {
                StrPart::Term(t) => self.collect(t),
                _ => true,
            }),
            Term::Arr(inner) => inner.as_ref().is_none_or(|t| self.collect(t)),
            Term::Obj(entries) => entries.iter().all(|(k, v)| {
                // `{a}` is shorthand for `{a: .a}`.
                let key_ok = match (k, v) {
                    (Term::Str(None, parts), None) => match parts.as_slice() {
                        [StrPart::Str(s)] => {
                            self.add(&[(*s).to_owned()]);
                            true
                        }
                        _ => false,
                    },
                    (Term::Var(_), None) => true,
                    (k, _) => self.collect(k),
                };
                key_ok && v.as_ref().is_none_or(|v| self.collect(v))
            }),
            Term::Neg(t) => self.collect(t),
            Term::BinOp(l, op, r) => match op {
                BinaryOp::Pipe(None) => self.collect(l),
                BinaryOp::Pipe(Some(_))
                | BinaryOp::Comma
                | BinaryOp::Alt
                | BinaryOp::Or
                | BinaryOp::And
                | BinaryOp::Math(_)
                | BinaryOp::Cmp(_) => self.collect(l) && self.collect(r),
                _ => false,
            },
            Term::Fold(_, xs, _, args) => {
                self.collect(xs) && args.first().is_none_or(|init| self.collect(init))
            }
            Term::TryCatch(t, _) => self.collect(t),
            Term::IfThenElse(branches, els) => {
                branches
                    .iter()
                    .all(|(c, t)| self.collect(c) && self.collect(t))
                    && els.as_ref().is_none_or(|e| self.collect(e))
            }
            Term::Call(name, args) => {
                INPUT_FREE.contains(name) && args.iter().all(|a| self.collect(a))
            }
            Term::Path(head, path) => {
                let mut keys = Vec::new();
                let mut literal = matches!(**head, Term::Id);
                if !literal && !self.collect(head) {
                    return false;
                }
                for (part, _) in &path.0 {
                    let key = match part {
                        Part::Index(Term::Str(None, parts)) if literal => match parts.as_slice() {
                            [StrPart::Str(s)] => Some((*s).to_owned()),
                            _ => None,
                        },
                        _ => None,
                    };
                    match key {
                        Some(k) => keys.push(k),
                        None => {
                            literal = false;
                            let ok = match part {
                                Part::Index(i) => self.collect(i),
                                Part::Range(f, u) => {
                                    f.as_ref().is_none_or(|f| self.collect(f))
                                        && u.as_ref().is_none_or(|u| self.collect(u))
                                }
                            };
                            if !ok {
                                return false;
                            }
                        }
                    }
                }
                if matches!(**head, Term::Id) {
                    if keys.is_empty() {
                        return false;
                    }
                    self.add(&keys);
                }
                true
            }
        }
    }

    /// Converts only the projected parts of `value` for jaq.
    pub(crate) fn project(&self, value: &Value) -> jaq_json::Val {
        use jaq_json::Val;
        let Value::Object(map) = value else {
            return super::value::to_val(value);
        };
        let mut out =
            jaq_json::Map::with_capacity_and_hasher(self.children.len(), Default::default());
        for (key, child) in &self.children {
            if let Some(v) = map.get(key) {
                let val = match child {
                    None => super::value::to_val(v),
                    Some(p) => p.project(v),
                };
                out.insert(Val::from(key.clone()), val);
            }
        }
        Val::obj(out)
    }
}
