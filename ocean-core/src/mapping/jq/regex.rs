//! jq 1.8 regular expressions (`test`, `match`, `capture`, `scan`, `split/2`, `splits`, `sub`,
//! `gsub`) on `fancy-regex` in its Oniguruma mode.
//!
//! jq runs Oniguruma with Perl syntax, so patterns may use backreferences, look-around and
//! Unicode classes; `fancy-regex` supports those and hands plain patterns to the `regex`
//! crate's automata. Match objects are built as jq builds them: offsets and lengths count
//! code points, every group is reported (`null` string and offset -1 when it did not take
//! part), and a global search after an empty match resumes one character further on.

use super::value::{type_name, write_json};
use fancy_regex::{Regex, RegexBuilder};
use jaq_json::Val;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

/// Compiled patterns kept per thread before the cache is emptied.
const CACHE_CAPACITY: usize = 256;

/// Steps the backtracking engine may take for one search before giving up, so that a
/// pathological pattern fails instead of hanging a mapping.
const BACKTRACK_LIMIT: usize = 1_000_000;

/// A jq error message.
type ReResult<T> = Result<T, String>;

/// The modifiers of a jq regex call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
struct Flags {
    global: bool,
    ignore_case: bool,
    extended: bool,
    dot_all: bool,
    longest: bool,
    not_empty: bool,
}

impl Flags {
    fn parse(flags: &Val) -> ReResult<Self> {
        let text = match flags {
            Val::Null => return Ok(Self::default()),
            Val::TStr(b) | Val::BStr(b) => String::from_utf8_lossy(b).into_owned(),
            other => return Err(format!("{} is not a string", describe(other))),
        };
        let mut out = Self::default();
        for c in text.chars() {
            match c {
                'g' => out.global = true,
                'i' => out.ignore_case = true,
                'x' => out.extended = true,
                // Oniguruma's "multiline" is what Perl calls dot-all; `s` (single line) is
                // already the default of jq's Perl syntax.
                'm' | 'p' => out.dot_all = true,
                's' => {}
                'l' => out.longest = true,
                'n' => out.not_empty = true,
                _ => return Err(format!("{text} is not a valid modifier string")),
            }
        }
        Ok(out)
    }

    /// The compile-time part (global and not-empty only steer the search loop).
    fn key(self) -> u8 {
        u8::from(self.ignore_case)
            | (u8::from(self.extended) << 1)
            | (u8::from(self.dot_all) << 2)
            | (u8::from(self.longest) << 3)
    }
}

fn describe(v: &Val) -> String {
    let mut s = String::new();
    write_json(&mut s, v, 0);
    format!("{} ({s})", type_name(v))
}

thread_local! {
    static CACHE: RefCell<HashMap<(String, u8), Arc<Regex>>> = RefCell::new(HashMap::new());
}

fn compile(pattern: &str, flags: Flags) -> ReResult<Arc<Regex>> {
    let key = (pattern.to_owned(), flags.key());
    if let Some(hit) = CACHE.with(|c| c.borrow().get(&key).cloned()) {
        return Ok(hit);
    }
    let regex = RegexBuilder::new(pattern)
        .oniguruma_mode(true)
        .case_insensitive(flags.ignore_case)
        .ignore_whitespace(flags.extended)
        .dot_matches_new_line(flags.dot_all)
        .leftmost_longest(flags.longest)
        .backtrack_limit(BACKTRACK_LIMIT)
        .build()
        .map_err(|err| format!("{pattern} (at offset 0) is not a valid regex: {err}"))?;
    let regex = Arc::new(regex);
    CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        if cache.len() >= CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert(key, Arc::clone(&regex));
    });
    Ok(regex)
}

/// One group of a match: byte range, or `None` when the group did not take part.
type Group = Option<(usize, usize)>;

/// The input, pattern and modifiers of a call, checked as jq checks them.
struct Call {
    text: String,
    regex: Arc<Regex>,
    flags: Flags,
}

impl Call {
    fn new(input: &Val, re: &Val, flags: &Val) -> ReResult<Self> {
        let text = match input {
            Val::TStr(b) | Val::BStr(b) => String::from_utf8_lossy(b).into_owned(),
            other => {
                return Err(format!(
                    "{} cannot be matched, as it is not a string",
                    describe(other)
                ));
            }
        };
        let pattern = match re {
            Val::TStr(b) | Val::BStr(b) => String::from_utf8_lossy(b).into_owned(),
            other => return Err(format!("{} is not a string", describe(other))),
        };
        let flags = Flags::parse(flags)?;
        let regex = compile(&pattern, flags)?;
        Ok(Self { text, regex, flags })
    }

    /// Every match (only the first unless global), each as its list of groups (group 0 first).
    fn matches(&self, force_global: bool) -> ReResult<Vec<Vec<Group>>> {
        let global = self.flags.global || force_global;
        let mut out = Vec::new();
        let mut pos = 0;
        while pos <= self.text.len() {
            let found = self
                .regex
                .captures_from_pos(self.text.as_str(), pos)
                .map_err(|err| format!("regex search failed: {err}"))?;
            let Some(caps) = found else { break };
            let groups: Vec<Group> = (0..caps.len())
                .map(|i| caps.get(i).map(|m| (m.start(), m.end())))
                .collect();
            let Some((start, end)) = groups.first().copied().flatten() else {
                break;
            };
            let empty = start == end;
            if !(empty && self.flags.not_empty) {
                out.push(groups);
                if !global {
                    break;
                }
            }
            // After an empty match the search resumes one character on, as jq does.
            pos = if empty {
                match self.text[end..].chars().next() {
                    Some(c) => end + c.len_utf8(),
                    None => break,
                }
            } else {
                end
            };
        }
        Ok(out)
    }

    /// Code point offset of a byte position.
    fn offset(&self, byte: usize) -> isize {
        self.text
            .get(..byte)
            .map_or(0, |s| s.chars().count() as isize)
    }

    fn piece(&self, start: usize, end: usize) -> Val {
        Val::from(self.text.get(start..end).unwrap_or_default().to_owned())
    }

    fn names(&self) -> Vec<Option<String>> {
        self.regex
            .capture_names()
            .map(|n| n.map(str::to_owned))
            .collect()
    }

    /// A match object: `{offset, length, string, captures}`, keys in jq's order.
    fn match_object(&self, groups: &[Group], names: &[Option<String>]) -> Val {
        let (start, end) = groups.first().copied().flatten().unwrap_or((0, 0));
        let mut captures = Vec::with_capacity(groups.len().saturating_sub(1));
        for (i, group) in groups.iter().enumerate().skip(1) {
            let name = names.get(i).cloned().flatten().map_or(Val::Null, Val::from);
            captures.push(match group {
                Some((s, e)) if s != e => obj([
                    ("offset", Val::from(self.offset(*s))),
                    ("length", Val::from(self.offset(*e) - self.offset(*s))),
                    ("string", self.piece(*s, *e)),
                    ("name", name),
                ]),
                Some((s, _)) => obj([
                    ("offset", Val::from(self.offset(*s))),
                    ("string", Val::from(String::new())),
                    ("length", Val::from(0isize)),
                    ("name", name),
                ]),
                None => obj([
                    ("offset", Val::from(-1isize)),
                    ("string", Val::Null),
                    ("length", Val::from(0isize)),
                    ("name", name),
                ]),
            });
        }
        obj([
            ("offset", Val::from(self.offset(start))),
            ("length", Val::from(self.offset(end) - self.offset(start))),
            ("string", self.piece(start, end)),
            ("captures", captures.into_iter().collect()),
        ])
    }

    /// The object `capture` makes of a match: named groups to their strings (`null` when a
    /// group did not take part; a later group of the same name wins).
    fn capture_object(&self, groups: &[Group], names: &[Option<String>]) -> Val {
        let mut map = jaq_json::Map::default();
        for (i, group) in groups.iter().enumerate().skip(1) {
            if let Some(Some(name)) = names.get(i) {
                let value = group.map_or(Val::Null, |(s, e)| self.piece(s, e));
                map.insert(Val::from(name.clone()), value);
            }
        }
        Val::obj(map)
    }
}

fn obj<const N: usize>(entries: [(&str, Val); N]) -> Val {
    let mut map = jaq_json::Map::default();
    for (k, v) in entries {
        map.insert(Val::from(k.to_owned()), v);
    }
    Val::obj(map)
}

/// The pattern and modifiers of the one-argument forms: a string, or `[re]` / `[re, flags]`.
pub(crate) fn split_arg(val: &Val) -> ReResult<(Val, Val)> {
    match val {
        Val::TStr(_) | Val::BStr(_) => Ok((val.clone(), Val::Null)),
        Val::Arr(items) if !items.is_empty() => {
            Ok((items[0].clone(), items.get(1).cloned().unwrap_or(Val::Null)))
        }
        other => Err(format!("{} not a string or array", type_name(other))),
    }
}

/// `test(re; flags)`.
pub(crate) fn test(input: &Val, re: &Val, flags: &Val) -> ReResult<Val> {
    let call = Call::new(input, re, flags)?;
    call.regex
        .is_match(call.text.as_str())
        .map(Val::Bool)
        .map_err(|err| format!("regex search failed: {err}"))
}

/// `[match(re; flags)]`.
pub(crate) fn matches(input: &Val, re: &Val, flags: &Val) -> ReResult<Val> {
    let call = Call::new(input, re, flags)?;
    let names = call.names();
    Ok(call
        .matches(false)?
        .iter()
        .map(|groups| call.match_object(groups, &names))
        .collect())
}

/// `[capture(re; flags)]`.
pub(crate) fn captures(input: &Val, re: &Val, flags: &Val) -> ReResult<Val> {
    let call = Call::new(input, re, flags)?;
    let names = call.names();
    Ok(call
        .matches(false)?
        .iter()
        .map(|groups| call.capture_object(groups, &names))
        .collect())
}

/// `[scan(re; flags)]`: always global; the whole match, or the list of its groups' strings
/// when the pattern has groups.
pub(crate) fn scan(input: &Val, re: &Val, flags: &Val) -> ReResult<Val> {
    let call = Call::new(input, re, flags)?;
    Ok(call
        .matches(true)?
        .iter()
        .map(|groups| {
            if groups.len() > 1 {
                groups[1..]
                    .iter()
                    .map(|g| g.map_or(Val::Null, |(s, e)| call.piece(s, e)))
                    .collect()
            } else {
                let (s, e) = groups.first().copied().flatten().unwrap_or((0, 0));
                call.piece(s, e)
            }
        })
        .collect())
}

/// `[splits(re; flags)]`: always global; the pieces between the matches.
pub(crate) fn splits(input: &Val, re: &Val, flags: &Val) -> ReResult<Val> {
    let call = Call::new(input, re, flags)?;
    let mut pieces = Vec::new();
    let mut last = 0;
    for groups in call.matches(true)? {
        let (s, e) = groups.first().copied().flatten().unwrap_or((last, last));
        pieces.push(call.piece(last, s.max(last)));
        last = e.max(last);
    }
    pieces.push(call.piece(last, call.text.len()));
    Ok(pieces.into_iter().collect())
}

/// What `sub` needs: `[[gap, capture object], ..., tail]`, where each gap is the text before a
/// match (after the previous one) and the tail is the text after the last match.
pub(crate) fn sub_parts(input: &Val, re: &Val, flags: &Val) -> ReResult<Val> {
    let call = Call::new(input, re, flags)?;
    let names = call.names();
    let mut parts = Vec::new();
    let mut last = 0;
    for groups in call.matches(false)? {
        let (s, e) = groups.first().copied().flatten().unwrap_or((last, last));
        let gap = call.piece(last, s.max(last));
        parts.push(
            [gap, call.capture_object(&groups, &names)]
                .into_iter()
                .collect(),
        );
        last = e.max(last);
    }
    parts.push(call.piece(last, call.text.len()));
    Ok(parts.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::jq::value::{from_val, to_val};
    use serde_json::{Value, json};

    fn s(x: &str) -> Val {
        Val::from(x.to_owned())
    }

    fn j(v: Val) -> Value {
        from_val(&v).unwrap()
    }

    #[test]
    fn look_around_backreferences_and_unicode_classes_compile() {
        assert_eq!(
            j(test(&s("foobar"), &s("foo(?=bar)"), &Val::Null).unwrap()),
            json!(true)
        );
        assert_eq!(
            j(test(&s("xaay"), &s(r"(a)\1"), &Val::Null).unwrap()),
            json!(true)
        );
        assert_eq!(
            j(test(&s("Élan"), &s(r"^\p{Lu}"), &Val::Null).unwrap()),
            json!(true)
        );
    }

    #[test]
    fn unmatched_groups_are_reported_with_offset_minus_one() {
        let out = matches(&s("b"), &s("(a)|(b)"), &Val::Null).unwrap();
        assert_eq!(
            serde_json::to_string(&j(out)).unwrap(),
            r#"[{"offset":0,"length":1,"string":"b","captures":[{"offset":-1,"string":null,"length":0,"name":null},{"offset":0,"length":1,"string":"b","name":null}]}]"#
        );
    }

    #[test]
    fn global_search_reports_empty_matches_after_non_empty_ones() {
        let out = matches(&s("axxb"), &s("x*"), &s("g")).unwrap();
        let spans: Vec<(i64, i64)> = j(out)
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["offset"].as_i64().unwrap(), m["length"].as_i64().unwrap()))
            .collect();
        assert_eq!(spans, vec![(0, 0), (1, 2), (3, 0), (4, 0)]);
    }

    #[test]
    fn offsets_count_code_points() {
        let out = matches(&s("aé b"), &s("b"), &Val::Null).unwrap();
        assert_eq!(j(out)[0]["offset"], json!(3));
    }

    #[test]
    fn bad_modifiers_and_patterns_are_errors() {
        assert!(test(&s("a"), &s("a"), &s("q")).is_err());
        assert!(test(&s("a"), &s("("), &Val::Null).is_err());
        assert!(test(&to_val(&json!(1)), &s("1"), &Val::Null).is_err());
    }

    #[test]
    fn splits_and_sub_parts_cover_the_whole_input() {
        assert_eq!(
            j(splits(&s("a, b,c"), &s(", *"), &Val::Null).unwrap()),
            json!(["a", "b", "c"])
        );
        assert_eq!(
            j(sub_parts(&s("aba"), &s("(?<x>a)"), &s("g")).unwrap()),
            json!([["", {"x": "a"}], ["b", {"x": "a"}], ""])
        );
    }
}
