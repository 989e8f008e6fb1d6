//! `itemsToParse`: fan one raw item out into one item per element of a list inside it.

use serde_json::Value;

/// One step of a simple path (`.a`, `."a b"`, `[0]`, `["k"]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathStep {
    /// An object key.
    Key(String),
    /// An array index (negative counts from the end).
    Index(i64),
}

/// The path an `itemsToParse` expression extracts, to delete it from the parent copies:
/// the first simple path of the first pipe segment that starts with one (`.file.content`,
/// `(. as $all | .file.content // {})` → `.file.content`); `None` when there is none (`.`,
/// `$items`), in which case the parent is kept whole.
pub(crate) fn delete_target(expr: &str) -> Option<Vec<PathStep>> {
    let mut inner = expr.trim();
    while inner.starts_with('(') && inner.ends_with(')') && inner.len() >= 2 {
        inner = inner[1..inner.len() - 1].trim();
    }
    for segment in inner.split('|') {
        let segment = segment.trim();
        if segment == "." || segment.starts_with('$') || segment.starts_with(". as $") {
            continue;
        }
        if let Some(path) = leading_path(segment)
            && !path.is_empty()
        {
            return Some(path);
        }
    }
    None
}

/// Parses the accessors at the start of `s`; `None` when `s` does not start with `.` or the
/// accessors are malformed.
fn leading_path(s: &str) -> Option<Vec<PathStep>> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut steps = Vec::new();
    if b.first() != Some(&b'.') {
        return None;
    }
    while i < b.len() {
        match b[i] {
            b'.' if b.get(i + 1) == Some(&b'[') => i += 1,
            b'.' if b.get(i + 1) == Some(&b'"') => {
                let end = s[i + 2..].find('"')? + i + 2;
                steps.push(PathStep::Key(s[i + 2..end].to_owned()));
                i = end + 1;
            }
            b'.' => {
                let start = i + 1;
                let mut end = start;
                while end < b.len() && (b[end].is_ascii_alphanumeric() || b[end] == b'_') {
                    end += 1;
                }
                if end == start || b[start].is_ascii_digit() {
                    return None;
                }
                steps.push(PathStep::Key(s[start..end].to_owned()));
                i = end;
            }
            b'[' => {
                let end = s[i..].find(']')? + i;
                let inside = s[i + 1..end].trim();
                if let Some(key) = inside.strip_prefix('"').and_then(|k| k.strip_suffix('"')) {
                    steps.push(PathStep::Key(key.to_owned()));
                } else {
                    steps.push(PathStep::Index(inside.parse().ok()?));
                }
                i = end + 1;
            }
            _ => break,
        }
    }
    Some(steps)
}

/// Removes the value at `path` from `value` (no-op when the path does not exist).
pub(crate) fn delete_path(value: &mut Value, path: &[PathStep]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = value;
    for step in parents {
        let next = match (step, current) {
            (PathStep::Key(k), Value::Object(map)) => map.get_mut(k),
            (PathStep::Index(i), Value::Array(items)) => {
                let idx = resolve_index(*i, items.len());
                idx.and_then(move |idx| items.get_mut(idx))
            }
            _ => None,
        };
        match next {
            Some(v) => current = v,
            None => return,
        }
    }
    match (last, current) {
        (PathStep::Key(k), Value::Object(map)) => {
            map.shift_remove(k);
        }
        (PathStep::Index(i), Value::Array(items)) => {
            if let Some(idx) = resolve_index(*i, items.len()) {
                items.remove(idx);
            }
        }
        _ => {}
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
mod tests {
    use super::*;
    use serde_json::json;

    fn key(k: &str) -> PathStep {
        PathStep::Key(k.into())
    }

    #[test]
    fn delete_target_follows_ocean_extraction_rules() {
        assert_eq!(
            delete_target(".file.content"),
            Some(vec![key("file"), key("content")])
        );
        assert_eq!(
            delete_target("(. as $all | .file.content // {})"),
            Some(vec![key("file"), key("content")])
        );
        assert_eq!(
            delete_target(".[0].key"),
            Some(vec![PathStep::Index(0), key("key")])
        );
        assert_eq!(delete_target(".a | .b"), Some(vec![key("a")]));
        assert_eq!(delete_target("$items"), None);
        assert_eq!(delete_target("."), None);
        assert_eq!(delete_target("(.x"), None);
        assert_eq!(
            delete_target(r#".fields."sub tasks""#),
            Some(vec![key("fields"), key("sub tasks")])
        );
    }

    #[test]
    fn delete_path_removes_only_the_target() {
        let mut v = json!({"file": {"content": [1, 2], "name": "a"}, "repo": "r"});
        delete_path(&mut v, &[key("file"), key("content")]);
        assert_eq!(v, json!({"file": {"name": "a"}, "repo": "r"}));
        delete_path(&mut v, &[key("missing"), key("x")]);
        assert_eq!(v, json!({"file": {"name": "a"}, "repo": "r"}));
    }
}
