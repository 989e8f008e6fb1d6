//! `itemsToParse`: fan one raw item out into one item per element of a list inside it, as
//! Ocean does.
//!
//! For each raw item (the parent):
//!
//! 1. The `itemsToParse` expression runs on the parent and only its **first output** counts,
//!    as for every mapping field: `[.a[] | select(.x)]` gives one list, while the stream
//!    `.a[]` gives only its first element (which fans out only if it is itself a list).
//! 2. With `itemsToParseTopLevelTransform` (the default), the parent is replaced by
//!    `. | del(<target>)`, where `<target>` is the first simple path of the expression (see
//!    below). When that yields `null` or fails (the parent is `null`, or the path does not fit
//!    it, e.g. `.a.b` when `.a` is a string), the parent is skipped with a warning. When the
//!    expression has no simple path, the target is `.`, and `del(.)` is `null`: **every parent
//!    is skipped**. That is what Ocean does (its `del(.)` fallback), so a mapping that works
//!    there works here and one that yields nothing there yields nothing here; the warning says
//!    to set `itemsToParseTopLevelTransform: false` to keep the parents.
//! 3. A first output that is `null` (or no output) skips the parent with a warning, as Ocean
//!    does. An error or a value that is not a list also skips it, and (unlike Ocean, which only
//!    warns) fails the item, so that a resync that could not read a kind does not delete its
//!    entities.
//! 4. Each element becomes a shallow copy of the (transformed) parent with the element under
//!    `itemsToParseName` (default `item`), replacing any key of that name in place.
//!
//! The **target** is found by Ocean's text rules, not by parsing jq:
//!
//! - Surrounding whitespace is trimmed. An expression starting with `(` is cut to the text
//!   between that `(` and the **first** `)` after it (`(.a | map(.))` → `.a | map(.`); with
//!   no `)` there is no target.
//! - The text is split on every `|` (even inside brackets or strings). Each piece is trimmed;
//!   pieces that are `.`, start with `$`, or bind the input (`. as $x`) are passed over.
//! - The first piece that **starts** with a path gives the target: `.name` (word characters:
//!   letters, digits, `_`) or `.[…]`, followed by any number of `.name`, `[…]` and `.[…]`,
//!   where `[…]` is any text up to the next `]` that is not empty. What follows the path is
//!   ignored: `.a // []` → `.a`, `.a[]?` → `.a` (`[]` is empty), `.a[0:2]` → `.a[0:2]`,
//!   `.a? // .b` → `.a`, `.["a"].b` → `.["a"].b`, `.a as $x | …` → `.a`. A piece that starts
//!   otherwise (`."a-b"`, `.[]`, `[.a[] | …]`, `map(.a)`, `..`) is passed over, so
//!   `map(.x) | .y` → `.y` and `[.a[] | select(.x)]` has none.
//!
//! Targets made of plain keys (`.name`, `["name"]`) and integer indices (`[0]`, `[-1]`) are
//! deleted natively with jq's `del` semantics (deleting under `null` or past the end of an
//! array is a no-op; indexing the wrong type is an error). Any other target (`.a[0:2]`,
//! `.[.k]`, `."x"`-style text, non-ASCII names) runs as `. | del(<target>)` through the jq
//! engine, exactly the program Ocean runs; if that program does not compile, every parent is
//! skipped, as in Ocean.

use super::jq::value::json_type_name;
use super::jq::{JqEngine, JqError, JqProgram};
use serde_json::{Map, Value};

/// One step of a simple path (`.a`, `["k"]`, `[0]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathStep {
    /// An object key.
    Key(String),
    /// An array index (negative counts from the end).
    Index(i64),
}

/// The first simple path of an `itemsToParse` expression, by Ocean's text rules (see the
/// module documentation); `None` when there is none (Ocean then deletes `.`).
pub fn delete_target_text(expr: &str) -> Option<&str> {
    let expr = expr.trim();
    let chain = match expr.strip_prefix('(') {
        Some(rest) => rest[..rest.find(')')?].trim(),
        None => expr,
    };
    chain.split('|').map(str::trim).find_map(|segment| {
        if segment == "." || segment.starts_with('$') || binds_input(segment) {
            return None;
        }
        leading_path_len(segment).map(|len| &segment[..len])
    })
}

/// Whether `segment` starts with `. as $name` (at least one space after the dot).
fn binds_input(segment: &str) -> bool {
    let Some(rest) = segment.strip_prefix('.') else {
        return false;
    };
    let after_dot = rest.trim_start();
    if after_dot.len() == rest.len() {
        return false;
    }
    let Some(rest) = after_dot.strip_prefix("as") else {
        return false;
    };
    let after_as = rest.trim_start();
    if after_as.len() == rest.len() {
        return false;
    }
    after_as
        .strip_prefix('$')
        .and_then(|name| name.chars().next())
        .is_some_and(is_word)
}

/// A regular-expression word character as Ocean's Python sees it: a letter, a digit or `_`.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The length of the path at the start of `s`: `.word` or `.[…]`, then any of `.word`, `[…]`
/// and `.[…]`; `None` when `s` does not start with one.
fn leading_path_len(s: &str) -> Option<usize> {
    let mut end = dotted_accessor(s, 0)?;
    loop {
        let next = if s[end..].starts_with('[') {
            bracket(s, end)
        } else {
            dotted_accessor(s, end)
        };
        match next {
            Some(after) => end = after,
            None => return Some(end),
        }
    }
}

/// `.word` or `.[…]` at `at`: the offset after it.
fn dotted_accessor(s: &str, at: usize) -> Option<usize> {
    let rest = s[at..].strip_prefix('.')?;
    if rest.starts_with('[') {
        return bracket(s, at + 1);
    }
    let word: usize = rest
        .chars()
        .take_while(|&c| is_word(c))
        .map(char::len_utf8)
        .sum();
    (word > 0).then_some(at + 1 + word)
}

/// `[…]` at `at`, with something before the first `]`: the offset after it.
fn bracket(s: &str, at: usize) -> Option<usize> {
    let inner = s[at..].strip_prefix('[')?;
    let close = inner.find(']')?;
    (close > 0).then_some(at + 1 + close + 1)
}

/// The target text as steps, when it is made only of plain keys and integer indices.
fn simple_steps(text: &str) -> Option<Vec<PathStep>> {
    let mut steps = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after_dot) = rest.strip_prefix('.')
            && !after_dot.starts_with('[')
        {
            let len = after_dot
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after_dot.len());
            let name = &after_dot[..len];
            if !is_plain_identifier(name) {
                return None;
            }
            steps.push(PathStep::Key(name.to_owned()));
            rest = &after_dot[len..];
            continue;
        }
        let bracketed = rest.strip_prefix('.').unwrap_or(rest).strip_prefix('[')?;
        let close = bracketed.find(']')?;
        let inner = bracketed[..close].trim();
        if let Some(key) = inner
            .strip_prefix('"')
            .and_then(|k| k.strip_suffix('"'))
            .filter(|k| !k.contains(['"', '\\']))
        {
            steps.push(PathStep::Key(key.to_owned()));
        } else {
            let digits = inner.strip_prefix('-').unwrap_or(inner);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            steps.push(PathStep::Index(inner.parse().ok()?));
        }
        rest = &bracketed[close + 1..];
    }
    (!steps.is_empty()).then_some(steps)
}

/// An ASCII identifier that jq reads as a field name after `.` (not a keyword, which jq may
/// treat differently: those go through the jq engine).
fn is_plain_identifier(name: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "and", "as", "catch", "def", "elif", "else", "end", "foreach", "if", "import", "include",
        "label", "or", "reduce", "then", "try", "__loc__",
    ];
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && !KEYWORDS.contains(&name)
}

/// What the top-level transform deletes from each parent.
#[derive(Debug, Clone)]
enum Transform {
    /// No simple path: Ocean runs `del(.)`, which is `null`, so every parent is skipped.
    DeleteWhole,
    /// Plain keys and integer indices, deleted natively.
    Steps(Vec<PathStep>),
    /// Any other target, run as `. | del(<target>)` with jq.
    Jq(Result<JqProgram, JqError>),
}

/// A compiled `itemsToParse`: how each raw item fans out.
#[derive(Debug, Clone)]
pub struct ItemsToParse {
    source: String,
    program: Result<JqProgram, JqError>,
    name: String,
    /// `None` when `itemsToParseTopLevelTransform` is false (parents are kept whole).
    transform: Option<Transform>,
    /// The program the transform runs, as Ocean writes it (for messages).
    transform_source: String,
}

/// What one raw item fans out to.
#[derive(Debug, Clone, PartialEq)]
pub enum Expansion {
    /// One item per element of the list, in order.
    Items(Vec<Value>),
    /// The parent yields nothing, and Ocean only warns: the transform gave `null` or failed,
    /// or the expression gave `null` or no output.
    Skipped(String),
    /// The parent yields nothing and the item fails: the expression failed or gave something
    /// other than a list, or the parent is not an object.
    Failed(String),
}

impl ItemsToParse {
    /// Compiles `expr`; `name` is the key each element is stored under and
    /// `top_level_transform` whether the target is deleted from the parents.
    pub fn new(engine: &JqEngine, expr: &str, name: &str, top_level_transform: bool) -> Self {
        let target = delete_target_text(expr);
        let transform_source = format!(". | del({})", target.unwrap_or("."));
        let transform = top_level_transform.then(|| match target {
            None => Transform::DeleteWhole,
            Some(text) => match simple_steps(text) {
                Some(steps) => Transform::Steps(steps),
                None => Transform::Jq(engine.compile(&transform_source)),
            },
        });
        Self {
            source: expr.to_owned(),
            program: engine.compile(expr),
            name: name.to_owned(),
            transform,
            transform_source,
        }
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The compile error of the expression, if it does not compile.
    pub fn compile_error(&self) -> Option<&JqError> {
        self.program.as_ref().err()
    }

    /// Why every parent will be skipped whatever it holds, if so: the expression has no
    /// simple path (Ocean's `del(.)`), or the transform does not compile.
    pub fn skips_every_item(&self) -> Option<String> {
        match &self.transform {
            Some(Transform::DeleteWhole) => Some(format!(
                "itemsToParse `{}` has no simple path to remove from the parent, so the \
                 top-level transform `{}` gives null and every item is skipped (as in Ocean); \
                 set itemsToParseTopLevelTransform: false to keep the parents",
                self.source, self.transform_source
            )),
            Some(Transform::Jq(Err(e))) => Some(format!(
                "the top-level transform `{}` of itemsToParse `{}` does not compile ({}), so \
                 every item is skipped (as in Ocean)",
                self.transform_source,
                self.source,
                e.message()
            )),
            _ => None,
        }
    }

    /// Fans `item` out.
    pub fn expand(&self, item: &Value) -> Expansion {
        let list = match &self.program {
            Ok(program) => program.first(item),
            Err(e) => Err(e.clone()),
        };
        let parent = match &self.transform {
            None => item.clone(),
            Some(transform) => match self.transform(transform, item) {
                Ok(parent) if !parent.is_null() => parent,
                Ok(_) => {
                    return Expansion::Skipped(format!(
                        "Top-level transform '{}' returned None for item, skipping",
                        self.transform_source
                    ));
                }
                Err(message) => {
                    return Expansion::Skipped(format!(
                        "Top-level transform '{}' failed for item ({message}), skipping",
                        self.transform_source
                    ));
                }
            },
        };
        let elements = match list {
            Ok(Some(Value::Array(elements))) => elements,
            Ok(None | Some(Value::Null)) => {
                return Expansion::Skipped(format!(
                    "Failed to parse items for JQ expression {}, Expected list but got null, skipping",
                    self.source
                ));
            }
            Ok(Some(other)) => {
                return Expansion::Failed(format!(
                    "itemsToParse `{}` must yield a list, got {}",
                    self.source,
                    json_type_name(&other)
                ));
            }
            Err(e) => return Expansion::Failed(format!("itemsToParse failed: {e}")),
        };
        let Value::Object(parent) = parent else {
            return Expansion::Failed(format!(
                "itemsToParse needs an object item to add `{}` to, got {}",
                self.name,
                json_type_name(&parent)
            ));
        };
        Expansion::Items(
            elements
                .into_iter()
                .map(|element| {
                    let mut expanded: Map<String, Value> = parent.clone();
                    expanded.insert(self.name.clone(), element);
                    Value::Object(expanded)
                })
                .collect(),
        )
    }

    /// The parent after the top-level transform; `Err` with jq's message when it fails.
    fn transform(&self, transform: &Transform, item: &Value) -> Result<Value, String> {
        match transform {
            Transform::DeleteWhole => Ok(Value::Null),
            Transform::Steps(steps) => {
                let mut parent = item.clone();
                delete_path(&mut parent, steps)?;
                Ok(parent)
            }
            Transform::Jq(program) => {
                let program = program.as_ref().map_err(JqError::message)?;
                Ok(program
                    .first(item)
                    .map_err(|e| e.message())?
                    .unwrap_or(Value::Null))
            }
        }
    }
}

/// Removes the value at `path` from `value` as jq's `del` does: a no-op under `null`, for a
/// missing key or past either end of an array; an error when a step indexes the wrong type.
pub(crate) fn delete_path(value: &mut Value, path: &[PathStep]) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else {
        return Ok(());
    };
    let mut current = value;
    for step in parents {
        current = match (step, current) {
            (_, Value::Null) => return Ok(()),
            (PathStep::Key(k), Value::Object(map)) => match map.get_mut(k) {
                Some(next) => next,
                None => return Ok(()),
            },
            (PathStep::Index(i), Value::Array(items)) => match resolve_index(*i, items.len()) {
                Some(idx) => &mut items[idx],
                None => return Ok(()),
            },
            (step, other) => return Err(cannot_index(other, step)),
        };
    }
    match (last, current) {
        (_, Value::Null) => {}
        (PathStep::Key(k), Value::Object(map)) => {
            map.shift_remove(k);
        }
        (PathStep::Index(i), Value::Array(items)) => {
            if let Some(idx) = resolve_index(*i, items.len()) {
                items.remove(idx);
            }
        }
        (step, other) => return Err(cannot_index(other, step)),
    }
    Ok(())
}

fn cannot_index(value: &Value, step: &PathStep) -> String {
    match step {
        PathStep::Key(k) => format!(
            "Cannot index {} with string ({})",
            json_type_name(value),
            Value::String(k.clone())
        ),
        PathStep::Index(i) => format!("Cannot index {} with number ({i})", json_type_name(value)),
    }
}

fn resolve_index(i: i64, len: usize) -> Option<usize> {
    let idx = if i < 0 {
        len.checked_sub(usize::try_from(i.unsigned_abs()).ok()?)?
    } else {
        usize::try_from(i).ok()?
    };
    (idx < len).then_some(idx)
}

#[cfg(test)]
mod tests;
