//! Common mapping expressions evaluated on the JSON directly, without jaq: paths (`.a.b[0]`,
//! `."x y"`, `.a?`, `.[1:3]`), literals, string interpolation, `+`, `//`, `|`, `==`/`!=` and a few
//! builtins (`map`, `split`, `join`, `tostring`, `ascii_downcase`, `ascii_upcase`, `length`,
//! `not`). Most mapping fields are such expressions, and skipping the interpreter skips
//! converting the item, boxing every step and converting the result back.
//!
//! The evaluator only answers when the answer is certainly jq's: whenever a value is of a kind
//! it does not handle exactly (a non-integral number to print, a number to add or compare) or
//! an error would be raised, it defers to the interpreter, which then runs the whole program
//! and produces jq's result or error. The one error it raises itself is indexing a value of
//! the wrong type along a path (`Cannot index number with "b"`), with jq's own message.

use super::value::{json_type_name, normalized_clone, write_json_str};
use jaq_core::load::lex::StrPart;
use jaq_core::load::parse::{BinaryOp, Term};
use jaq_core::ops::{Cmp, Math};
use jaq_core::path::{Opt, Part};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// Integers up to this magnitude print the same in jq (a double) as in JSON.
const EXACT_INT: i64 = 9_007_199_254_740_992;

/// Objects up to this size are searched by scanning their keys, which is cheaper than hashing
/// the key for the few keys most API objects have.
const SCAN_LIMIT: usize = 8;

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(i64),
    Slice(Option<i64>, Option<i64>),
}

/// Builtins evaluated natively (the user cannot redefine them without a `def`, which the
/// evaluator does not accept).
#[derive(Debug, Clone)]
enum Builtin {
    Map(Box<Expr>),
    Split(String),
    Join(String),
    ToString,
    AsciiDowncase,
    AsciiUpcase,
    Length,
    Not,
}

#[derive(Debug, Clone)]
enum StrSeg {
    Lit(String),
    Expr(Expr),
}

#[derive(Debug, Clone)]
enum Expr {
    /// A path from the input: each step with whether it is optional (`?`).
    Path(Vec<(Step, bool)>),
    Lit(Value),
    Empty,
    Interp(Vec<StrSeg>),
    Pipe(Box<Expr>, Box<Expr>),
    Add(Box<Expr>, Box<Expr>),
    Alt(Box<Expr>, Box<Expr>),
    Eq(Box<Expr>, Box<Expr>, bool),
    Call(Builtin),
    /// `split(sep) | .[from:upto] | rest`, which makes only the parts the slice keeps (the
    /// common `split("/") | .[:3] | join("/")` of URL mappings).
    SplitSlice {
        sep: String,
        from: Option<i64>,
        upto: Option<i64>,
        rest: Box<Expr>,
    },
}

/// Why the evaluator gives no output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The interpreter must run the program: the evaluator cannot tell jq's answer here.
    Defer,
    /// The program fails with this jq error.
    Error(String),
}

use Stop::Defer;

/// At most one output (the evaluated subset never yields more), borrowed from the input when
/// it is a part of it.
type Out<'a> = Result<Option<Cow<'a, Value>>, Stop>;

/// Leaves errors of operands to the interpreter, where the order in which operands run
/// decides which error jq reports.
fn operand(out: Out<'_>) -> Out<'_> {
    out.map_err(|_| Defer)
}

/// A program in the natively evaluated subset of jq.
#[derive(Debug, Clone)]
pub(crate) struct FastPath(Expr);

impl FastPath {
    /// The native form of a program, if all of it is in the evaluated subset.
    pub(crate) fn of(term: &Term<&str>) -> Option<Self> {
        Expr::of(term).map(Self)
    }

    /// The first (only) output as jq gives it (integral numbers as integers), `None` when the
    /// program yields nothing; `Err(Stop::Defer)` when only the interpreter can tell.
    pub(crate) fn eval(&self, input: &Value) -> Result<Option<Value>, Stop> {
        Ok(self.0.eval(input)?.map(owned))
    }
}

/// An owned output: parts of the input are copied with integral floats made integers, as a
/// jq output has them; computed values are built that way already.
fn owned(v: Cow<'_, Value>) -> Value {
    match v {
        Cow::Borrowed(v) => normalized_clone(v),
        Cow::Owned(v) => v,
    }
}

/// The literal text of a string term without interpolation.
fn plain_str(parts: &[StrPart<&str, Term<&str>>]) -> Option<String> {
    let mut out = String::new();
    for p in parts {
        match p {
            StrPart::Str(s) => out.push_str(s),
            StrPart::Char(c) => out.push(*c),
            StrPart::Term(_) => return None,
        }
    }
    Some(out)
}

/// An integer literal that jq holds exactly.
fn int_literal(t: &Term<&str>) -> Option<i64> {
    let (text, negative) = match t {
        Term::Num(n) => (*n, false),
        Term::Neg(inner) => match &**inner {
            Term::Num(n) => (*n, true),
            _ => return None,
        },
        _ => return None,
    };
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = text.parse().ok().filter(|n: &i64| *n <= EXACT_INT)?;
    Some(if negative { -n } else { n })
}

fn string_arg(args: &[Term<&str>]) -> Option<String> {
    match args {
        [Term::Str(None, parts)] => plain_str(parts),
        _ => None,
    }
}

impl Expr {
    /// `l | r`, fusing a `split` followed by a slice.
    fn pipe(l: Self, r: Self) -> Self {
        let (sep, r) = match (l, r) {
            (Self::Call(Builtin::Split(sep)), r) if !sep.is_empty() => (sep, r),
            (l, r) => return Self::Pipe(Box::new(l), Box::new(r)),
        };
        let (steps, after) = match r {
            Self::Path(steps) => (steps, None),
            Self::Pipe(head, after) => match *head {
                Self::Path(steps) => (steps, Some(after)),
                head => (
                    Vec::new(),
                    Some(Box::new(Self::Pipe(Box::new(head), after))),
                ),
            },
            r => (Vec::new(), Some(Box::new(r))),
        };
        let split = Self::Call(Builtin::Split(sep.clone()));
        let Some(((Step::Slice(from, upto), false), rest)) = steps.split_first() else {
            let r = match after {
                None => Self::Path(steps),
                Some(after) if steps.is_empty() => *after,
                Some(after) => Self::Pipe(Box::new(Self::Path(steps)), after),
            };
            return Self::Pipe(Box::new(split), Box::new(r));
        };
        let fused = Self::SplitSlice {
            sep,
            from: *from,
            upto: *upto,
            rest: Box::new(Self::Path(rest.to_vec())),
        };
        match after {
            None => fused,
            Some(after) => Self::Pipe(Box::new(fused), after),
        }
    }

    fn of(term: &Term<&str>) -> Option<Self> {
        Some(match term {
            Term::Id => Self::Path(Vec::new()),
            Term::Num(_) => Self::Lit(Value::from(int_literal(term)?)),
            Term::Str(None, parts) => match plain_str(parts) {
                Some(s) => Self::Lit(Value::String(s)),
                None => Self::Interp(
                    parts
                        .iter()
                        .map(|p| match p {
                            StrPart::Str(s) => Some(StrSeg::Lit((*s).to_owned())),
                            StrPart::Char(c) => Some(StrSeg::Lit(c.to_string())),
                            StrPart::Term(t) => Self::of(t).map(StrSeg::Expr),
                        })
                        .collect::<Option<_>>()?,
                ),
            },
            Term::BinOp(l, op, r) => {
                let (l, r) = (Box::new(Self::of(l)?), Box::new(Self::of(r)?));
                match op {
                    BinaryOp::Pipe(None) => Self::pipe(*l, *r),
                    BinaryOp::Math(Math::Add) => Self::Add(l, r),
                    BinaryOp::Alt => Self::Alt(l, r),
                    BinaryOp::Cmp(Cmp::Eq) => Self::Eq(l, r, true),
                    BinaryOp::Cmp(Cmp::Ne) => Self::Eq(l, r, false),
                    _ => return None,
                }
            }
            Term::Call(name, args) => match (*name, args.as_slice()) {
                ("null", []) => Self::Lit(Value::Null),
                ("true", []) => Self::Lit(Value::Bool(true)),
                ("false", []) => Self::Lit(Value::Bool(false)),
                ("empty", []) => Self::Empty,
                ("map", [f]) => Self::Call(Builtin::Map(Box::new(Self::of(f)?))),
                ("split", _) => Self::Call(Builtin::Split(string_arg(args)?)),
                ("join", _) => Self::Call(Builtin::Join(string_arg(args)?)),
                ("tostring", []) => Self::Call(Builtin::ToString),
                ("ascii_downcase", []) => Self::Call(Builtin::AsciiDowncase),
                ("ascii_upcase", []) => Self::Call(Builtin::AsciiUpcase),
                ("length", []) => Self::Call(Builtin::Length),
                ("not", []) => Self::Call(Builtin::Not),
                _ => return None,
            },
            Term::Path(head, path) => {
                let mut steps = Vec::with_capacity(path.0.len());
                for (part, opt) in &path.0 {
                    let step = match part {
                        Part::Index(Term::Str(None, parts)) => Step::Key(plain_str(parts)?),
                        Part::Index(i) => Step::Index(int_literal(i)?),
                        Part::Range(None, None) => return None,
                        Part::Range(from, upto) => Step::Slice(
                            from.as_ref()
                                .map(int_literal)
                                .map_or(Some(None), |b| b.map(Some))?,
                            upto.as_ref()
                                .map(int_literal)
                                .map_or(Some(None), |b| b.map(Some))?,
                        ),
                    };
                    steps.push((step, matches!(opt, Opt::Optional)));
                }
                let path = Self::Path(steps);
                match &**head {
                    Term::Id => path,
                    head => Self::pipe(Self::of(head)?, path),
                }
            }
            _ => return None,
        })
    }

    fn eval<'a>(&self, input: &'a Value) -> Out<'a> {
        match self {
            Self::Path(steps) => path(steps, input),
            Self::Lit(v) => Ok(Some(Cow::Owned(v.clone()))),
            Self::Empty => Ok(None),
            Self::Interp(segs) => {
                let mut out = String::new();
                let mut empty = false;
                for seg in segs {
                    match seg {
                        StrSeg::Lit(s) => out.push_str(s),
                        StrSeg::Expr(e) => match operand(e.eval(input))? {
                            Some(v) => push_text(&mut out, &v)?,
                            None => empty = true,
                        },
                    }
                }
                Ok((!empty).then(|| Cow::Owned(Value::String(out))))
            }
            Self::Pipe(l, r) => match l.eval(input)? {
                None => Ok(None),
                Some(Cow::Borrowed(v)) => r.eval(v),
                Some(Cow::Owned(v)) => Ok(r.eval(&v)?.map(|out| Cow::Owned(owned(out)))),
            },
            Self::Add(l, r) => {
                let (l, r) = (operand(l.eval(input))?, operand(r.eval(input))?);
                let (Some(l), Some(r)) = (l, r) else {
                    return Ok(None);
                };
                add(l, r).map(Some)
            }
            Self::Alt(l, r) => match operand(l.eval(input))? {
                Some(v) if !matches!(*v, Value::Null | Value::Bool(false)) => Ok(Some(v)),
                _ => operand(r.eval(input)),
            },
            Self::Eq(l, r, equal) => {
                let (l, r) = (operand(l.eval(input))?, operand(r.eval(input))?);
                let (Some(l), Some(r)) = (l, r) else {
                    return Ok(None);
                };
                if !plain_scalar(&l) || !plain_scalar(&r) {
                    return Err(Defer);
                }
                Ok(Some(Cow::Owned(Value::Bool((l == r) == *equal))))
            }
            Self::Call(b) => builtin(b, input),
            Self::SplitSlice {
                sep,
                from,
                upto,
                rest,
            } => {
                let Value::String(s) = input else {
                    return Err(Defer);
                };
                // jq splits an empty string into no parts at all.
                let count = if s.is_empty() {
                    0
                } else {
                    s.matches(sep.as_str()).count() + 1
                };
                let start = from.map_or(0, |f| bound(f, count));
                let end = upto.map_or(count, |u| bound(u, count)).max(start);
                let parts: Vec<Value> = if count == 0 {
                    Vec::new()
                } else {
                    s.split(sep.as_str())
                        .skip(start)
                        .take(end - start)
                        .map(Value::from)
                        .collect()
                };
                let sliced = Value::Array(parts);
                Ok(rest.eval(&sliced)?.map(|v| Cow::Owned(owned(v))))
            }
        }
    }
}

/// Strings, booleans and `null`, which compare in jq exactly as in JSON.
fn plain_scalar(v: &Value) -> bool {
    matches!(v, Value::Null | Value::Bool(_) | Value::String(_))
}

/// `map.get(key)`, scanning small objects instead of hashing.
fn lookup<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    if map.len() <= SCAN_LIMIT {
        map.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v)
    } else {
        map.get(key)
    }
}

/// A jq index (negative from the end) as a position in `len` items.
fn position(i: i64, len: usize) -> Option<usize> {
    if i < 0 {
        usize::try_from(i.unsigned_abs())
            .ok()
            .and_then(|back| len.checked_sub(back))
    } else {
        usize::try_from(i).ok()
    }
}

/// A slice bound clamped into `0..=len`.
fn bound(i: i64, len: usize) -> usize {
    if i < 0 {
        usize::try_from(i.unsigned_abs()).map_or(0, |back| len.saturating_sub(back))
    } else {
        usize::try_from(i).map_or(len, |i| i.min(len))
    }
}

static NULL: Value = Value::Null;

fn path<'a>(steps: &[(Step, bool)], input: &'a Value) -> Out<'a> {
    let mut current = input;
    for (i, (step, optional)) in steps.iter().enumerate() {
        current = match (step, current) {
            (Step::Key(_) | Step::Index(_), Value::Null) => &NULL,
            (Step::Slice(..), Value::Null) => &NULL,
            (Step::Key(k), Value::Object(map)) => lookup(map, k).unwrap_or(&NULL),
            (Step::Index(i), Value::Array(items)) => position(*i, items.len())
                .and_then(|idx| items.get(idx))
                .unwrap_or(&NULL),
            (Step::Slice(from, upto), Value::Array(items)) => {
                let start = from.map_or(0, |f| bound(f, items.len()));
                let end = upto.map_or(items.len(), |u| bound(u, items.len()));
                let part = items.get(start..end.max(start)).unwrap_or_default();
                let sliced = Value::Array(part.iter().map(normalized_clone).collect());
                let rest = &steps[i + 1..];
                if rest.is_empty() {
                    return Ok(Some(Cow::Owned(sliced)));
                }
                return Ok(path(rest, &sliced)?.map(|v| Cow::Owned(owned(v))));
            }
            // Slicing a string (by code points) is left to the interpreter.
            (Step::Slice(..), Value::String(_)) => return Err(Defer),
            _ if *optional => return Ok(None),
            (Step::Slice(..), _) => return Err(Defer),
            (Step::Key(k), value) => return Err(index_error(value, "string", &quoted(k)?)),
            (Step::Index(i), value) => return Err(index_error(value, "number", &i.to_string())),
        };
    }
    Ok(Some(Cow::Borrowed(current)))
}

/// Dumps longer than this are cut in jq's error messages.
const DUMP_LIMIT: usize = 29;

/// A key as jq 1.8 quotes it in an error message: JSON text, cut to 25 bytes and `...` when
/// longer than 29 bytes (a cut inside a character is left to the interpreter).
fn quoted(key: &str) -> Result<String, Stop> {
    let mut dump = String::new();
    write_json_str(&mut dump, key);
    if dump.len() > DUMP_LIMIT {
        if !dump.is_char_boundary(25) {
            return Err(Defer);
        }
        dump.truncate(25);
        dump.push_str("...");
    }
    Ok(dump)
}

/// jq 1.8's error for indexing `value` with a key or number.
fn index_error(value: &Value, kind: &str, index: &str) -> Stop {
    Stop::Error(format!(
        "Cannot index {} with {kind} ({index})",
        json_type_name(value)
    ))
}

/// jq's text of a value, as `tostring` and string interpolation give it.
fn push_text(out: &mut String, v: &Value) -> Result<(), Stop> {
    match v {
        Value::String(s) => out.push_str(s),
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_i64() {
            Some(i) if i.abs() <= EXACT_INT => {
                use std::fmt::Write;
                let _ = write!(out, "{i}");
            }
            // Large and fractional numbers follow jq's number formatting.
            _ => return Err(Defer),
        },
        // Nested values print as jq's JSON text, which the interpreter formats.
        Value::Array(_) | Value::Object(_) => return Err(Defer),
    }
    Ok(())
}

fn add<'a>(l: Cow<'a, Value>, r: Cow<'a, Value>) -> Result<Cow<'a, Value>, Stop> {
    Ok(match (&*l, &*r) {
        (Value::Null, _) => r,
        (_, Value::Null) => l,
        (Value::String(a), Value::String(b)) => {
            let mut s = match l {
                Cow::Owned(Value::String(s)) => s,
                _ => a.clone(),
            };
            s.push_str(b);
            Cow::Owned(Value::String(s))
        }
        (Value::Array(a), Value::Array(b)) => Cow::Owned(Value::Array(
            a.iter().chain(b.iter()).map(normalized_clone).collect(),
        )),
        _ => return Err(Defer),
    })
}

fn builtin<'a>(b: &Builtin, input: &'a Value) -> Out<'a> {
    let out = match (b, input) {
        (Builtin::Map(f), Value::Array(items)) => map_all(f, items.iter())?,
        (Builtin::Map(f), Value::Object(map)) => map_all(f, map.values())?,
        (Builtin::Split(sep), Value::String(s)) => {
            if s.is_empty() {
                Value::Array(Vec::new())
            } else if sep.is_empty() {
                return Err(Defer);
            } else {
                Value::Array(s.split(sep.as_str()).map(Value::from).collect())
            }
        }
        (Builtin::Join(sep), Value::Array(items)) => {
            let mut out = String::new();
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                match item {
                    Value::Null => {}
                    Value::String(s) => out.push_str(s),
                    Value::Bool(_) => push_text(&mut out, item)?,
                    _ => return Err(Defer),
                }
            }
            Value::String(out)
        }
        (Builtin::ToString, Value::String(_)) => return Ok(Some(Cow::Borrowed(input))),
        (Builtin::ToString, _) => {
            let mut out = String::new();
            push_text(&mut out, input)?;
            Value::String(out)
        }
        (Builtin::AsciiDowncase, Value::String(s)) => Value::String(s.to_ascii_lowercase()),
        (Builtin::AsciiUpcase, Value::String(s)) => Value::String(s.to_ascii_uppercase()),
        (Builtin::Length, Value::Null) => Value::from(0),
        (Builtin::Length, Value::String(s)) => Value::from(s.chars().count()),
        (Builtin::Length, Value::Array(items)) => Value::from(items.len()),
        (Builtin::Length, Value::Object(map)) => Value::from(map.len()),
        (Builtin::Not, v) => Value::Bool(matches!(v, Value::Null | Value::Bool(false))),
        _ => return Err(Defer),
    };
    Ok(Some(Cow::Owned(out)))
}

fn map_all<'a>(f: &Expr, items: impl Iterator<Item = &'a Value>) -> Result<Value, Stop> {
    let mut out = Vec::with_capacity(items.size_hint().0);
    for item in items {
        if let Some(v) = f.eval(item)? {
            out.push(owned(v));
        }
    }
    Ok(Value::Array(out))
}

/// The parts of the input a program can observe: either everything, or only the values at
/// some plain key paths from the root. Converting just those for jaq is much cheaper than
/// converting a whole large item.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Projection {
    /// Child keys to keep; a key mapping to `None` keeps that child whole.
    children: Vec<(String, Option<Projection>)>,
}

/// Builtins that ignore their input (whatever their arguments read is collected separately).
/// `error` is not one: `error/0` raises its input, which `try ... catch .` hands back whole.
const INPUT_FREE: &[&str] = &["true", "false", "null", "empty", "nan", "infinite", "range"];

impl Projection {
    /// The projection of a program, `None` when it may observe the whole input: whenever a
    /// result can hold the input itself (`.`, an `if` without `else`, `select`, `error/0`, a
    /// user definition, ...), the program gets the whole item.
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
            // `if c then t end` yields the input itself when `c` is false or null.
            Term::IfThenElse(branches, els) => {
                let Some(els) = els else { return false };
                branches
                    .iter()
                    .all(|(c, t)| self.collect(c) && self.collect(t))
                    && self.collect(els)
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

#[cfg(test)]
mod tests {
    use super::super::{JqEngine, JqInput};
    use super::Stop;
    use serde_json::{Value, json};

    /// Expressions of the natively evaluated subset (and a few just outside it).
    const EXPRESSIONS: &[&str] = &[
        ".",
        ".a",
        ".a.b",
        ".a.b.c",
        ".a[0]",
        ".a[-1]",
        ".a[7]",
        ".a?",
        ".a.b?",
        ".a?.b",
        ".[\"a b\"]",
        ".\"a\"",
        ".[0]",
        ".[1:3]",
        ".a[:2]",
        ".a[-2:]",
        ".a[5:1]",
        ".a[1:]",
        ".a[:2].k",
        ".a[0].k",
        ".a | .b",
        "(.a | .b).c",
        ".a | map(.k)",
        ".a | map(.k?)",
        "map(.)",
        ".s | split(\"/\")",
        ".s | split(\"\")",
        ".s | split(\"/\") | .[:3] | join(\"/\")",
        ".s | split(\"/\") | .[-2:]",
        ".s | split(\"/\") | .[1:2][0]",
        ".s | split(\"/\") | .[5:1]",
        ".s | split(\"/\") | .[2:]?",
        ".s | split(\"/\") | .[0]",
        ".s | split(\"/\") | length",
        ".s | split(\"/\")[:2] | join(\"-\")",
        "(.self | split(\"/\") | .[:3] | join(\"/\")) + \"/browse/\" + .key",
        "\"\\(.a)-\\(.b)\"",
        "\"x\\(.a?)y\"",
        "\"\\(empty)x\"",
        "\"tab\\t\\(.s)\"",
        ".a + .b",
        ".a + null",
        "null + .a",
        "\"x\" + .a",
        ".a // \"d\"",
        ".a // .b",
        ".a // empty",
        ".a.b // 7",
        ".a == \"x\"",
        ".a != null",
        ".a == .b",
        ".a | tostring",
        ".a | length",
        ".a | not",
        ".a | ascii_downcase",
        ".a | ascii_upcase",
        ".a | join(\",\")",
        "1",
        "-1",
        "null",
        "true",
        "empty",
        ".a.b | map(. + \"!\")",
        "'x' + .s",
    ];

    fn inputs() -> Vec<Value> {
        let values = [
            json!(null),
            json!(true),
            json!(false),
            json!(0),
            json!(2),
            json!(2.0),
            json!(1.5),
            json!(-7),
            json!(12_345_678_901_234_567_890u64),
            json!(9_007_199_254_740_993i64),
            json!(""),
            json!("x"),
            json!("AbC/dé/f/g"),
            json!("a/b/c/d"),
            json!([]),
            json!([1, "x", null, 2.0]),
            json!(["a", null, "b"]),
            json!(["a", true, "b"]),
            json!([{"k": 1}, {"k": "v"}, {"z": 1}, 3]),
            json!([{"k": 1}, {"k": "v"}, {"z": 1}]),
            json!({"b": 1, "k": 2}),
            json!({"b": null}),
            json!({"b": {"c": [1.0, 2.5]}}),
            json!({"b": ["p", "q"]}),
        ];
        let mut out: Vec<Value> = values.to_vec();
        for a in &values {
            for b in [
                json!(null),
                json!("y"),
                json!([1]),
                json!(3),
                json!({"c": 1}),
            ] {
                out.push(json!({
                    "a": a, "b": b, "s": a, "key": "K-1",
                    "self": "https://host/rest/api/3/issue/1", "a b": a
                }));
            }
        }
        out
    }

    #[test]
    fn native_answers_agree_with_the_interpreter_everywhere() {
        let engine = JqEngine::default();
        let inputs = inputs();
        let mut native_answers = 0;
        for expr in EXPRESSIONS {
            let program = engine.compile(expr).unwrap();
            for input in &inputs {
                let wrapped = JqInput::new(input);
                let interpreted = program.first_interpreted(&wrapped);
                // Where the evaluator raises an error itself, it words it as jq does, not as
                // jaq does: only compare that both fail.
                // jaq looks numbers up in objects (null) where jq fails: that error is
                // checked against jq by the tests below and the golden corpus.
                match (program.first_on(&wrapped), interpreted) {
                    (Err(native), _) if native.message().starts_with("Cannot index") => {
                        assert!(program.all_on(&wrapped).is_err());
                    }
                    (native, interpreted) => {
                        assert_eq!(native, interpreted, "first output of `{expr}` on {input}");
                        assert_eq!(
                            program.all_on(&wrapped),
                            program.all_interpreted(&wrapped),
                            "all outputs of `{expr}` on {input}"
                        );
                    }
                }
                if let Some(fast) = &program.inner.fast_path
                    && fast.eval(input).is_ok()
                {
                    native_answers += 1;
                }
            }
        }
        // Most cases must be answered natively, or the comparison proves little.
        let total = EXPRESSIONS.len() * inputs.len();
        eprintln!("{native_answers} of {total} answered natively");
        assert!(native_answers > total / 3);
    }

    fn native(expr: &str, input: &Value) -> Option<Result<Option<Value>, Stop>> {
        let program = JqEngine::default().compile(expr).unwrap();
        let fast = program.inner.fast_path.as_ref()?;
        Some(fast.eval(input))
    }

    #[test]
    fn missing_keys_and_null_intermediates_give_null() {
        let input = json!({"fields": {"parent": null}});
        assert_eq!(
            native(".fields.parent.key", &input),
            Some(Ok(Some(Value::Null)))
        );
        assert_eq!(
            native(".nope.deeper[0]", &input),
            Some(Ok(Some(Value::Null)))
        );
    }

    #[test]
    fn wrong_types_are_left_to_the_interpreter_for_jq_error() {
        let input = json!({"a": 5});
        let program = JqEngine::default().compile(".a.b").unwrap();
        let err = program.first(&input).unwrap_err();
        // The messages are jq 1.8's (checked with jq.py 1.13).
        assert_eq!(err.message(), "Cannot index number with string (\"b\")");
        assert!(program.first_interpreted(&JqInput::new(&input)).is_err());
        // An optional step yields nothing instead.
        assert_eq!(native(".a.b?", &input), Some(Ok(None)));
        // Non-object input.
        assert_eq!(
            native(".a", &json!([1])),
            Some(Err(Stop::Error(
                "Cannot index array with string (\"a\")".into()
            )))
        );
        assert_eq!(
            native(".[-1]", &json!({})),
            Some(Err(Stop::Error(
                "Cannot index object with number (-1)".into()
            )))
        );
        assert_eq!(
            native(".kkkkkkkkkkkkkkkkkkkkkkkkkkk", &json!("s")),
            Some(Err(Stop::Error(format!(
                "Cannot index string with string (\"{}\")",
                "k".repeat(27)
            ))))
        );
        assert_eq!(
            native(".kkkkkkkkkkkkkkkkkkkkkkkkkkkk", &json!(true)),
            Some(Err(Stop::Error(format!(
                "Cannot index boolean with string (\"{}...)",
                "k".repeat(24)
            ))))
        );
        assert_eq!(
            native(".[\"a\\tb\"]", &json!(1)),
            Some(Err(Stop::Error(
                "Cannot index number with string (\"a\\tb\")".into()
            )))
        );
        // Errors of operands are left to the interpreter.
        assert_eq!(native(".a.b + \"x\"", &input), Some(Err(Stop::Defer)));
        assert_eq!(native(".[0]", &json!([1])), Some(Ok(Some(json!(1)))));
    }

    #[test]
    fn numbers_that_jq_formats_its_own_way_are_left_to_the_interpreter() {
        assert_eq!(
            native(".a | tostring", &json!({"a": 2.0})),
            Some(Err(Stop::Defer))
        );
        assert_eq!(native(".a + .a", &json!({"a": 1})), Some(Err(Stop::Defer)));
        assert_eq!(native(".a", &json!({"a": 2.0})), Some(Ok(Some(json!(2)))));
        assert_eq!(
            native("\"\\(.a)\"", &json!({"a": 12})),
            Some(Ok(Some(json!("12"))))
        );
    }

    #[test]
    fn jira_mapping_expressions_are_all_native() {
        let issue = json!({
            "self": "https://api.atlassian.com/ex/jira/1/rest/api/3/issue/10108",
            "key": "SEC-108",
            "fields": {"summary": "s", "subtasks": [{"key": "SEC-1"}, {"key": "SEC-2"}],
                       "status": {"name": "To Do"}, "labels": ["a"]}
        });
        for expr in [
            ".key",
            ".fields.summary",
            "(.self | split(\"/\") | .[:3] | join(\"/\")) + \"/browse/\" + .key",
            ".fields.status.name",
            ".fields.labels",
            ".fields.parent.key",
            ".fields.subtasks | map(.key)",
        ] {
            assert!(
                matches!(native(expr, &issue), Some(Ok(Some(_)))),
                "`{expr}` is not answered natively"
            );
        }
        assert_eq!(
            native(
                "(.self | split(\"/\") | .[:3] | join(\"/\")) + \"/browse/\" + .key",
                &issue
            ),
            Some(Ok(Some(json!("https://api.atlassian.com/browse/SEC-108"))))
        );
        // The URL's split and slice are fused: only the kept parts are made.
        let url = "(.self | split(\"/\") | .[:3] | join(\"/\")) + \"/browse/\" + .key";
        let program = JqEngine::default().compile(url).unwrap();
        let fast = format!("{:?}", program.inner.fast_path);
        assert!(fast.contains("SplitSlice"), "{fast}");
        assert_eq!(
            native(".fields.subtasks | map(.key)", &issue),
            Some(Ok(Some(json!(["SEC-1", "SEC-2"]))))
        );
    }

    #[test]
    fn programs_outside_the_subset_have_no_native_form() {
        for expr in [
            ".a[]",
            ".a, .b",
            "[.a]",
            "{a: .a}",
            ".a as $x | $x",
            "def f: .; f",
            "@base64",
            ".a * 2",
            "(.a)?",
            ".a[1.5]",
        ] {
            assert!(native(expr, &json!({})).is_none(), "`{expr}`");
        }
    }
}
