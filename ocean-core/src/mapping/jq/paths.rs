//! jq 1.8 path primitives: `getpath`, `setpath` and `delpaths`, on which `del`, `=`, `|=` and
//! the arithmetic updates are built in the prelude.
//!
//! jaq updates values in place and refuses to create structure under `null` (`null | .a = 1`
//! fails) or to pad arrays (`[] | .[3] = 1` fails), and deletes several array indices one after
//! the other (so `del(.[0, 2])` removes the wrong element). jq sets paths one by one, creating
//! objects and arrays under `null`, and deletes from the last path to the first.

use super::value::{num_f64, type_name, write_json};
use jaq_json::{Num, Rc, Val};

/// A jq error message.
pub(crate) type PathResult<T> = Result<T, String>;

/// Longest path `setpath` and `delpaths` follow (they recurse per element, and a deeper value
/// could not be returned anyway).
const MAX_PATH_LEN: usize = super::value::MAX_OUTPUT_DEPTH;

/// Largest array position an assignment may create (jq pads with nulls up to it).
const MAX_ARRAY_INDEX: usize = 10_000_000;

fn describe(v: &Val) -> String {
    let mut s = String::new();
    write_json(&mut s, v, 0);
    format!("{} ({s})", type_name(v))
}

fn is_str(v: &Val) -> bool {
    matches!(v, Val::TStr(_) | Val::BStr(_))
}

/// An array position as jq computes it: truncated toward zero, counted from the end when
/// negative; `None` for NaN.
fn position(n: &Num, len: usize) -> Option<isize> {
    let d = num_f64(n);
    if d.is_nan() {
        return None;
    }
    let i = d.trunc().clamp(isize::MIN as f64, isize::MAX as f64) as isize;
    Some(if i < 0 {
        i.saturating_add(len as isize)
    } else {
        i
    })
}

/// The half-open range `[start, end)` of a slice `{"start": a, "end": b}` over `len` items:
/// negative bounds count from the end, the start rounds down and the end up.
fn slice_bounds(spec: &Val, len: usize) -> PathResult<(usize, usize)> {
    let Val::Obj(map) = spec else {
        return Err("slice bounds must be an object".to_owned());
    };
    let bound = |key: &str, default: f64| -> PathResult<f64> {
        match map.get(&Val::from(key.to_owned())) {
            None | Some(Val::Null) => Ok(default),
            Some(Val::Num(n)) => Ok(num_f64(n)),
            Some(_) => Err("Start and end indices of an array slice must be numbers".to_owned()),
        }
    };
    let len_f = len as f64;
    let clamp = |d: f64| {
        let d = if d < 0.0 { d + len_f } else { d };
        d.clamp(0.0, len_f)
    };
    let start = clamp(bound("start", 0.0)?);
    let end = clamp(bound("end", len_f)?).max(start);
    Ok((start.floor() as usize, (end.ceil() as usize).min(len)))
}

/// `t[k]` with jq 1.8 semantics.
pub(crate) fn index(t: &Val, k: &Val) -> PathResult<Val> {
    match (t, k) {
        (Val::Obj(map), k) if is_str(k) => Ok(map.get(k).cloned().unwrap_or(Val::Null)),
        (Val::Arr(items), Val::Num(n)) => Ok(position(n, items.len())
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| items.get(i).cloned())
            .unwrap_or(Val::Null)),
        (Val::Arr(items), Val::Obj(_)) => {
            let (start, end) = slice_bounds(k, items.len())?;
            Ok(Val::Arr(Rc::new(items[start..end].to_vec())))
        }
        (Val::TStr(_) | Val::BStr(_), Val::Obj(_)) => {
            let s = str_of(t);
            let chars: Vec<char> = s.chars().collect();
            let (start, end) = slice_bounds(k, chars.len())?;
            Ok(Val::from(chars[start..end].iter().collect::<String>()))
        }
        (Val::Arr(items), Val::Arr(needle)) => Ok(indices(items, needle)),
        (Val::Null, Val::Num(_) | Val::Obj(_)) => Ok(Val::Null),
        (Val::Null, k) if is_str(k) => Ok(Val::Null),
        _ => Err(format!(
            "Cannot index {} with {}",
            type_name(t),
            describe(k)
        )),
    }
}

fn str_of(v: &Val) -> String {
    match v {
        Val::TStr(b) | Val::BStr(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

/// The positions where `needle` occurs in `items` (none for an empty needle, as in jq).
fn indices(items: &[Val], needle: &[Val]) -> Val {
    if needle.is_empty() {
        return Val::Arr(Rc::new(Vec::new()));
    }
    items
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| Val::from(i as isize))
        .collect()
}

fn path_items(path: &Val) -> PathResult<&[Val]> {
    match path {
        Val::Arr(items) if items.len() > MAX_PATH_LEN => Err(format!(
            "path of {} elements is longer than the {MAX_PATH_LEN} accepted",
            items.len()
        )),
        Val::Arr(items) => Ok(items.as_slice()),
        _ => Err("Path must be specified as an array".to_owned()),
    }
}

/// `getpath(path)`: `null` past a missing key, an error on a value of the wrong type.
pub(crate) fn getpath(t: &Val, path: &Val) -> PathResult<Val> {
    let mut cur = t.clone();
    for k in path_items(path)? {
        cur = index(&cur, k)?;
    }
    Ok(cur)
}

/// `t[k] = v`, creating an object or array in place of `null`.
fn set(t: Val, k: &Val, v: Val) -> PathResult<Val> {
    match (t, k) {
        (Val::Obj(mut map), k) if is_str(k) => {
            Rc::make_mut(&mut map).insert(k.clone(), v);
            Ok(Val::Obj(map))
        }
        (Val::Null, k) if is_str(k) => {
            let mut map = jaq_json::Map::default();
            map.insert(k.clone(), v);
            Ok(Val::obj(map))
        }
        (t @ (Val::Arr(_) | Val::Null), Val::Num(n)) => {
            let mut items = match t {
                Val::Arr(items) => items,
                _ => Rc::new(Vec::new()),
            };
            let i = position(n, items.len()).unwrap_or(0);
            let i =
                usize::try_from(i).map_err(|_| "Out of bounds negative array index".to_owned())?;
            if i > MAX_ARRAY_INDEX {
                return Err(format!("Array index {i} too large"));
            }
            let vec = Rc::make_mut(&mut items);
            if i >= vec.len() {
                vec.resize(i + 1, Val::Null);
            }
            vec[i] = v;
            Ok(Val::Arr(items))
        }
        (t @ (Val::Arr(_) | Val::Null), Val::Obj(_)) => {
            let mut items = match t {
                Val::Arr(items) => items,
                _ => Rc::new(Vec::new()),
            };
            let Val::Arr(new) = v else {
                return Err("A slice of an array can only be assigned another array".to_owned());
            };
            let (start, end) = slice_bounds(k, items.len())?;
            Rc::make_mut(&mut items).splice(start..end, new.iter().cloned());
            Ok(Val::Arr(items))
        }
        (t, k) => Err(format!(
            "Cannot update field at {} of {}",
            describe(k),
            type_name(&t)
        )),
    }
}

/// `setpath(path; v)`.
pub(crate) fn setpath(t: Val, path: &Val, v: Val) -> PathResult<Val> {
    set_in(t, path_items(path)?, v)
}

fn set_in(t: Val, path: &[Val], v: Val) -> PathResult<Val> {
    let Some((k, rest)) = path.split_first() else {
        return Ok(v);
    };
    let sub = index(&t, k)?;
    let sub = set_in(sub, rest, v)?;
    set(t, k, sub)
}

/// Deletes `t[k]`; deleting from `null` gives `null`.
fn delete(t: Val, k: &Val) -> PathResult<Val> {
    match (t, k) {
        (Val::Null, _) => Ok(Val::Null),
        (Val::Obj(mut map), k) if is_str(k) => {
            if map.contains_key(k) {
                Rc::make_mut(&mut map).shift_remove(k);
            }
            Ok(Val::Obj(map))
        }
        (Val::Arr(mut items), Val::Num(n)) => {
            let len = items.len();
            match position(n, len).and_then(|i| usize::try_from(i).ok()) {
                Some(i) if i < len => {
                    Rc::make_mut(&mut items).remove(i);
                }
                _ if num_f64(n) < -(len as f64) => {
                    return Err("Out of bounds negative array index".to_owned());
                }
                _ => {}
            }
            Ok(Val::Arr(items))
        }
        (Val::Arr(mut items), Val::Obj(_)) => {
            let (start, end) = slice_bounds(k, items.len())?;
            if start < end {
                Rc::make_mut(&mut items).drain(start..end);
            }
            Ok(Val::Arr(items))
        }
        (t, k) => Err(format!(
            "Cannot delete field at {} of {}",
            describe(k),
            type_name(&t)
        )),
    }
}

fn delete_in(t: Val, path: &[Val]) -> PathResult<Val> {
    match path {
        [] => Ok(Val::Null),
        [k] => delete(t, k),
        [k, rest @ ..] => {
            let sub = index(&t, k)?;
            if matches!(sub, Val::Null) {
                return Ok(t);
            }
            let sub = delete_in(sub, rest)?;
            set(t, k, sub)
        }
    }
}

/// `delpaths(paths)`: deletes from the greatest path to the least, so that deleting an array
/// element does not shift the positions of the others still to delete.
pub(crate) fn delpaths(t: Val, paths: &Val) -> PathResult<Val> {
    let Val::Arr(paths) = paths else {
        return Err(format!(
            "Paths must be specified as an array, not {}",
            describe(paths)
        ));
    };
    let mut sorted: Vec<&Val> = paths.iter().collect();
    sorted.sort();
    let mut t = t;
    for path in sorted.into_iter().rev() {
        t = delete_in(t, path_items(path)?)?;
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::jq::value::{from_val, to_val};
    use serde_json::{Value, json};

    fn v(j: Value) -> Val {
        to_val(&j)
    }

    fn j(v: Val) -> Value {
        from_val(&v).unwrap()
    }

    #[test]
    fn setpath_creates_objects_and_pads_arrays_under_null() {
        let out = setpath(Val::Null, &v(json!(["a", 2, "b"])), v(json!(1))).unwrap();
        assert_eq!(j(out), json!({"a": [null, null, {"b": 1}]}));
    }

    #[test]
    fn setpath_refuses_a_negative_index_past_the_start() {
        assert!(setpath(v(json!([])), &v(json!([-1])), v(json!(1))).is_err());
        let out = setpath(v(json!([1, 2])), &v(json!([-1])), v(json!(9))).unwrap();
        assert_eq!(j(out), json!([1, 9]));
    }

    #[test]
    fn overlong_paths_and_huge_positions_are_errors() {
        let long: Vec<Value> = (0..10_000).map(|_| json!("a")).collect();
        assert!(setpath(Val::Null, &v(Value::Array(long)), Val::Null).is_err());
        assert!(setpath(Val::Null, &v(json!([1e12])), Val::Null).is_err());
    }

    #[test]
    fn delpaths_deletes_later_indices_first() {
        let out = delpaths(v(json!(["a", "b", "c", "d"])), &v(json!([[0], [2]]))).unwrap();
        assert_eq!(j(out), json!(["b", "d"]));
    }

    #[test]
    fn delpaths_on_null_and_missing_parents_is_a_no_op() {
        assert_eq!(
            j(delpaths(Val::Null, &v(json!([["a"]]))).unwrap()),
            json!(null)
        );
        let out = delpaths(v(json!({"a": null})), &v(json!([["a", "b"]]))).unwrap();
        assert_eq!(j(out), json!({"a": null}));
    }

    #[test]
    fn index_truncates_fractional_positions_and_rejects_null_keys() {
        assert_eq!(
            j(index(&v(json!([10, 20, 30])), &v(json!(1.7))).unwrap()),
            json!(20)
        );
        assert_eq!(
            j(index(&v(json!([10, 20, 30])), &v(json!(-1.2))).unwrap()),
            json!(30)
        );
        assert!(index(&v(json!({"a": 1})), &Val::Null).is_err());
        assert!(index(&v(json!({"a": 1})), &v(json!(0))).is_err());
        assert!(getpath(&v(json!({"a": 1})), &v(json!([null]))).is_err());
        assert_eq!(
            j(getpath(&Val::Null, &v(json!(["a", 0]))).unwrap()),
            json!(null)
        );
    }
}
