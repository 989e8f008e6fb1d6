//! Native filters behind the compat prelude: jq 1.8 text formats, numbers, paths, regular
//! expressions and the recursion guard.

use super::value::{num_f64, to_jq_string, type_name, write_json};
use super::{paths, regex, stack};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use jaq_core::box_iter::box_once;
use jaq_core::native::{Filter, Fun, run, unary, v};
use jaq_core::{Error, RunPtr, ValR, data};
use jaq_json::{Num, Rc, Val};

/// The data type our filters run with.
pub(crate) type Data = data::JustLut<Val>;

/// Lenient base64: jq 1.8 decodes unpadded input.
const BASE64_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

fn ok<'a>(v: Val) -> jaq_core::ValXs<'a, Val> {
    box_once(Ok(v))
}

fn err<'a>(msg: String) -> jaq_core::ValXs<'a, Val> {
    box_once(Err(Error::str(msg).into()))
}

fn str_of(v: &Val) -> Option<String> {
    match v {
        Val::TStr(b) | Val::BStr(b) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    }
}

fn json_of(v: &Val) -> String {
    let mut s = String::new();
    write_json(&mut s, v, 0);
    s
}

fn base64d(v: &Val) -> ValR<Val> {
    let s = str_of(v)
        .ok_or_else(|| Error::str(format!("{} cannot be base64-decoded", type_name(v))))?;
    let trimmed = s.trim_end_matches('=');
    BASE64_LENIENT
        .decode(trimmed)
        .map(|bytes| Val::from(String::from_utf8_lossy(&bytes).into_owned()))
        .map_err(|_| Error::str(format!("{} is not valid base64 data", json_of(v))))
}

fn row_items(v: &Val, format: &str) -> Result<Vec<Val>, Error<Val>> {
    match v {
        Val::Arr(items) => Ok(items.as_ref().clone()),
        other => Err(Error::str(format!(
            "{} ({}) cannot be {format}-formatted, only an array can be",
            type_name(other),
            json_of(other)
        ))),
    }
}

fn csv(v: &Val) -> ValR<Val> {
    let mut cells = Vec::new();
    for item in row_items(v, "csv")? {
        cells.push(match &item {
            Val::TStr(_) | Val::BStr(_) => {
                format!(
                    "\"{}\"",
                    str_of(&item).unwrap_or_default().replace('"', "\"\"")
                )
            }
            Val::Num(_) | Val::Bool(_) => to_jq_string(&item),
            Val::Null => String::new(),
            other => {
                return Err(Error::str(format!(
                    "{} ({}) is not valid in a csv row",
                    type_name(other),
                    json_of(other)
                )));
            }
        });
    }
    Ok(Val::from(cells.join(",")))
}

fn tsv(v: &Val) -> ValR<Val> {
    let mut cells = Vec::new();
    for item in row_items(v, "tsv")? {
        cells.push(match &item {
            Val::TStr(_) | Val::BStr(_) => str_of(&item)
                .unwrap_or_default()
                .replace('\\', "\\\\")
                .replace('\t', "\\t")
                .replace('\n', "\\n")
                .replace('\r', "\\r"),
            Val::Num(_) | Val::Bool(_) => to_jq_string(&item),
            Val::Null => String::new(),
            other => {
                return Err(Error::str(format!(
                    "{} ({}) is not valid in a tsv row",
                    type_name(other),
                    json_of(other)
                )));
            }
        });
    }
    Ok(Val::from(cells.join("\t")))
}

fn sh(v: &Val) -> ValR<Val> {
    let items = match v {
        Val::Arr(items) => items.as_ref().clone(),
        other => vec![other.clone()],
    };
    let mut words = Vec::with_capacity(items.len());
    for item in &items {
        words.push(match item {
            Val::TStr(_) | Val::BStr(_) => {
                format!(
                    "'{}'",
                    str_of(item).unwrap_or_default().replace('\'', "'\\''")
                )
            }
            Val::Arr(_) | Val::Obj(_) => {
                return Err(Error::str(format!(
                    "{} ({}) can not be escaped for shell",
                    type_name(item),
                    json_of(item)
                )));
            }
            other => to_jq_string(other),
        });
    }
    Ok(Val::from(words.join(" ")))
}

/// jq 1.8 `join`: nulls join as empty strings, numbers and booleans as text, anything else fails.
fn join(input: &Val, sep: &Val) -> ValR<Val> {
    let items: Vec<Val> = match input {
        Val::Arr(items) => items.as_ref().clone(),
        Val::Obj(map) => map.values().cloned().collect(),
        other => {
            return Err(Error::str(format!(
                "Cannot iterate over {} ({})",
                type_name(other),
                json_of(other)
            )));
        }
    };
    if items.is_empty() {
        return Ok(Val::from(String::new()));
    }
    let sep = str_of(sep).ok_or_else(|| {
        Error::str(format!(
            "{} ({}) cannot be added to a string",
            type_name(sep),
            json_of(sep)
        ))
    })?;
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(&sep);
        }
        match item {
            Val::Null => {}
            Val::TStr(_) | Val::BStr(_) | Val::Num(_) | Val::Bool(_) => {
                out.push_str(&to_jq_string(item));
            }
            other => {
                return Err(Error::str(format!(
                    "string ({}) and {} ({}) cannot be added",
                    json_of(&Val::from(out)),
                    type_name(other),
                    json_of(other)
                )));
            }
        }
    }
    Ok(Val::from(out))
}

/// `split/1`: split a string by a literal separator.
fn split(input: &Val, sep: &Val) -> ValR<Val> {
    let (Some(s), Some(sep)) = (str_of(input), str_of(sep)) else {
        return Err(Error::str("split input and separator must be strings"));
    };
    if s.is_empty() {
        return Ok(Val::Arr(Default::default()));
    }
    let parts: Vec<Val> = if sep.is_empty() {
        s.chars().map(|c| Val::from(c.to_string())).collect()
    } else {
        s.split(sep.as_str())
            .map(|p| Val::from(p.to_owned()))
            .collect()
    };
    Ok(parts.into_iter().collect())
}

fn describe(v: &Val) -> String {
    format!("{} ({})", type_name(v), json_of(v))
}

/// jq 1.8 `tonumber`: numbers pass; a string must be a whole decimal literal (no blanks, no
/// hexadecimal), which keeps its text for `tostring` (`"1.50" | tonumber | tostring`).
fn tonumber(v: &Val) -> ValR<Val> {
    let fail = || Error::str(format!("{} cannot be parsed as a number", describe(v)));
    match v {
        Val::Num(_) => Ok(v.clone()),
        Val::TStr(_) | Val::BStr(_) => {
            let s = str_of(v).unwrap_or_default();
            parse_decimal(&s).ok_or_else(fail)
        }
        _ => Err(fail()),
    }
}

/// A decimal literal as decNumber reads it: `[+-](digits[.digits]|.digits)[e[+-]digits]`,
/// or `nan` / `infinity` in any case.
fn parse_decimal(s: &str) -> Option<Val> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let negative = s.starts_with('-');
    let lower = body.to_ascii_lowercase();
    if matches!(lower.as_str(), "nan" | "snan") {
        return Some(Val::Num(Num::Float(f64::NAN)));
    }
    if matches!(lower.as_str(), "inf" | "infinity") {
        let inf = if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
        return Some(Val::Num(Num::Float(inf)));
    }
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
        return None;
    }
    if let Some(exp) = exp {
        let e = exp.strip_prefix(['+', '-']).unwrap_or(exp);
        if e.is_empty() || !digits(e) {
            return None;
        }
    }
    let unsigned = s.strip_prefix('+').unwrap_or(s);
    if exp.is_none() && frac.is_empty() && !mantissa.ends_with('.') {
        let trimmed = int.trim_start_matches('0');
        let text = match (negative, trimmed.is_empty()) {
            (_, true) => "0".to_owned(),
            (true, false) => format!("-{trimmed}"),
            (false, false) => trimmed.to_owned(),
        };
        if let Ok(i) = text.parse::<isize>()
            && i.unsigned_abs() <= 1 << 53
        {
            return Some(Val::Num(Num::Int(i)));
        }
        return Some(Val::Num(Num::Dec(Rc::new(text))));
    }
    // Rust's float parser wants digits on both sides of the point.
    let normal = unsigned.replace(".e", ".0e").replace(".E", ".0E");
    let normal = if normal.ends_with('.') {
        format!("{normal}0")
    } else {
        normal
    };
    let normal = match normal.strip_prefix('-') {
        Some(rest) if rest.starts_with('.') => format!("-0{rest}"),
        _ if normal.starts_with('.') => format!("0{normal}"),
        _ => normal,
    };
    normal.parse::<f64>().ok()?;
    Some(Val::Num(Num::Dec(Rc::new(normal))))
}

/// True for the texts jq's JSON reader takes as NaN (`nan`, which then prints as `null`).
/// Deepest nesting `fromjson` parses. jaq's parser and its values recurse once per level, so
/// a deep text (`"[[[[..."`, which can arrive in any string field of a webhook) would overflow
/// the thread's stack and abort the process: 10000 levels (jq 1.8's limit) already overflow a
/// 2 MiB thread. A value deeper than this could not be output anyway (`MAX_OUTPUT_DEPTH`).
pub(crate) const MAX_PARSE_DEPTH: usize = super::value::MAX_OUTPUT_DEPTH;

/// Whether the JSON text in `v` opens no more than [`MAX_PARSE_DEPTH`] brackets at once
/// (brackets inside strings do not count; non-strings pass, `fromjson` reports them).
fn json_depth_ok(v: &Val) -> bool {
    let (Val::TStr(b) | Val::BStr(b)) = v else {
        return true;
    };
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &c in b.iter() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_PARSE_DEPTH {
                    return false;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

fn is_nan_text(v: &Val) -> bool {
    str_of(v).is_some_and(|s| matches!(s.trim(), "nan" | "NaN" | "-nan" | "-NaN"))
}

/// Longest string `*` may build: 16 MiB, far beyond what an entity can hold (Port refuses
/// requests over 1 MiB), so a runaway repeat in a mapping fails fast instead of filling memory
/// (jq itself refuses results that do not fit its string length).
const MAX_REPEAT_BYTES: usize = 16 * 1024 * 1024;

/// jq 1.8 multiplication where a string is repeated: a negative count gives `null`, a
/// fractional one is truncated (`"ab" * 0` is `""`).
fn repeat(s: &Val, n: &Num) -> ValR<Val> {
    let d = num_f64(n);
    if d < 0.0 || d.is_nan() {
        return Ok(Val::Null);
    }
    let text = str_of(s).unwrap_or_default();
    let count = d.min(MAX_REPEAT_BYTES as f64) as usize;
    if text.len().saturating_mul(count) > MAX_REPEAT_BYTES {
        return Err(Error::str("Repeat string result too long"));
    }
    Ok(Val::from(text.repeat(count)))
}

fn mul(l: Val, r: Val) -> ValR<Val> {
    match (&l, &r) {
        (Val::TStr(_) | Val::BStr(_), Val::Num(n)) => repeat(&l, n),
        (Val::Num(n), Val::TStr(_) | Val::BStr(_)) => repeat(&r, n),
        _ => l * r,
    }
}

/// Object keys must be strings in jq (`{(1): 2}` fails).
fn object_key(k: Val) -> ValR<Val> {
    match k {
        Val::TStr(_) | Val::BStr(_) => Ok(k),
        other => Err(Error::str(format!(
            "Cannot use {} as object key",
            describe(&other)
        ))),
    }
}

/// A math function of one double, computed with the platform's C library as jq does.
fn math1(v: &Val, f: fn(f64) -> f64, name: &str) -> ValR<Val> {
    match v {
        Val::Num(n) => Ok(Val::Num(Num::Float(f(num_f64(n))))),
        other => Err(Error::str(format!(
            "{} number required ({name})",
            describe(other)
        ))),
    }
}

/// An index as jq takes it: a fractional position truncates toward zero, `null` and booleans
/// index nothing (jaq would look them up as object keys).
fn index_key(k: Val) -> ValR<Val> {
    match &k {
        Val::Num(Num::Float(_) | Num::Dec(_)) => Ok(integral(&k, f64::trunc)),
        Val::Null | Val::Bool(_) => Err(Error::str(format!("Cannot index with {}", describe(&k)))),
        _ => Ok(k),
    }
}

/// A number rounded by `round` as an integer jaq can index with; other values unchanged.
fn integral(v: &Val, round: fn(f64) -> f64) -> Val {
    match v {
        Val::Num(n @ (Num::Float(_) | Num::Dec(_))) => {
            let d = round(num_f64(n));
            if d.is_finite() && d.abs() <= isize::MAX as f64 {
                Val::Num(Num::Int(d as isize))
            } else {
                v.clone()
            }
        }
        _ => v.clone(),
    }
}

fn path_err(e: String) -> Error<Val> {
    Error::str(e)
}

fn re_err(e: String) -> Error<Val> {
    Error::str(e)
}

macro_rules! math_natives {
    ($($name:literal => $f:expr),* $(,)?) => {
        [$(
            (concat!("__ocean_m_", $name), v(0),
                (|cv| box_once(math1(&cv.1, $f, $name).map_err(Into::into)))
                as RunPtr<Data>),
        )*]
    };
}

/// Natives with two variable arguments: `(name, |input, first, second| ...)`.
macro_rules! binary_natives {
    ($($name:literal => $f:expr),* $(,)?) => {
        [$(
            ($name, v(2), (|mut cv| {
                let second = cv.0.pop_var();
                let first = cv.0.pop_var();
                let f: fn(&Val, &Val, &Val) -> Result<Val, String> = $f;
                box_once(f(&cv.1, &first, &second).map_err(|e| Error::str(e).into()))
            }) as RunPtr<Data>),
        )*]
    };
}

/// The native filters the compat prelude relies on.
pub(crate) fn funs() -> impl Iterator<Item = Fun<Data>> {
    let list: [Filter<RunPtr<Data>>; 27] = [
        ("__ocean_join", v(1), |cv| {
            unary(cv, |x, sep| join(&x, &sep))
        }),
        ("__ocean_split", v(1), |cv| {
            unary(cv, |x, sep| split(&x, &sep))
        }),
        ("__ocean_type", v(0), |cv| {
            ok(Val::from(type_name(&cv.1).to_owned()))
        }),
        ("__ocean_tostring", v(0), |cv| {
            ok(Val::from(to_jq_string(&cv.1)))
        }),
        ("__ocean_tojson", v(0), |cv| ok(Val::from(json_of(&cv.1)))),
        ("__ocean_base64d", v(0), |cv| {
            box_once(base64d(&cv.1).map_err(Into::into))
        }),
        ("__ocean_csv", v(0), |cv| {
            box_once(csv(&cv.1).map_err(Into::into))
        }),
        ("__ocean_tsv", v(0), |cv| {
            box_once(tsv(&cv.1).map_err(Into::into))
        }),
        ("__ocean_sh", v(0), |cv| {
            box_once(sh(&cv.1).map_err(Into::into))
        }),
        ("__ocean_tonumber", v(0), |cv| {
            box_once(tonumber(&cv.1).map_err(Into::into))
        }),
        ("__ocean_nan_text", v(0), |cv| {
            ok(Val::Bool(is_nan_text(&cv.1)))
        }),
        ("__ocean_json_depth_ok", v(0), |cv| {
            ok(Val::Bool(json_depth_ok(&cv.1)))
        }),
        ("__ocean_mul", v(1), |cv| unary(cv, mul)),
        ("__ocean_objkey", v(0), |cv| {
            box_once(object_key(cv.1).map_err(Into::into))
        }),
        ("__ocean_key", v(0), |cv| {
            box_once(index_key(cv.1).map_err(Into::into))
        }),
        ("__ocean_slice_start", v(0), |cv| {
            ok(integral(&cv.1, f64::floor))
        }),
        ("__ocean_slice_end", v(0), |cv| {
            ok(integral(&cv.1, f64::ceil))
        }),
        ("__ocean_index", v(1), |cv| {
            unary(cv, |t, k| paths::index(&t, &k).map_err(path_err))
        }),
        ("__ocean_getpath", v(1), |cv| {
            unary(cv, |t, p| paths::getpath(&t, &p).map_err(path_err))
        }),
        ("__ocean_delpaths", v(1), |cv| {
            unary(cv, |t, p| paths::delpaths(t, &p).map_err(path_err))
        }),
        ("__ocean_test1", v(1), |cv| {
            unary(cv, |t, arg| {
                let (re, flags) = regex::split_arg(&arg).map_err(re_err)?;
                regex::test(&t, &re, &flags).map_err(re_err)
            })
        }),
        ("__ocean_match1", v(1), |cv| {
            unary(cv, |t, arg| {
                let (re, flags) = regex::split_arg(&arg).map_err(re_err)?;
                regex::matches(&t, &re, &flags).map_err(re_err)
            })
        }),
        ("__ocean_capture1", v(1), |cv| {
            unary(cv, |t, arg| {
                let (re, flags) = regex::split_arg(&arg).map_err(re_err)?;
                regex::captures(&t, &re, &flags).map_err(re_err)
            })
        }),
        ("__ocean_stack_ok", v(0), |_| {
            ok(Val::Bool(stack::within_budget()))
        }),
        ("__ocean_recursion_error", v(0), |_| {
            if stack::past_deadline() {
                return err(format!(
                    "evaluation ran longer than the mapping time limit ({} s)",
                    stack::TIME_LIMIT.as_secs()
                ));
            }
            err(format!(
                "recursion deeper than the mapping stack budget ({} KiB) allows",
                stack::budget() / 1024
            ))
        }),
        ("__ocean_setpath", v(2), |mut cv| {
            let value = cv.0.pop_var();
            let path = cv.0.pop_var();
            box_once(paths::setpath(cv.1, &path, value).map_err(|e| path_err(e).into()))
        }),
        ("__ocean_no_input", v(0), |_| {
            err("No more inputs".to_owned())
        }),
    ];
    let math = math_natives![
        "sqrt" => f64::sqrt, "exp" => f64::exp, "exp2" => f64::exp2, "exp10" => |x| 10f64.powf(x),
        "log" => f64::ln, "log2" => f64::log2, "log10" => f64::log10, "log1p" => f64::ln_1p,
        "expm1" => f64::exp_m1, "cbrt" => f64::cbrt, "sin" => f64::sin, "cos" => f64::cos,
        "tan" => f64::tan, "asin" => f64::asin, "acos" => f64::acos, "atan" => f64::atan,
        "sinh" => f64::sinh, "cosh" => f64::cosh, "tanh" => f64::tanh, "asinh" => f64::asinh,
        "acosh" => f64::acosh, "atanh" => f64::atanh,
    ];
    let regexes = binary_natives![
        "__ocean_test" => regex::test,
        "__ocean_match" => regex::matches,
        "__ocean_capture" => regex::captures,
        "__ocean_scan" => regex::scan,
        "__ocean_splits" => regex::splits,
        "__ocean_sub_parts" => regex::sub_parts,
    ];
    let pow: Filter<RunPtr<Data>> = ("__ocean_pow", v(2), |mut cv| {
        let y = cv.0.pop_var();
        let x = cv.0.pop_var();
        box_once(match (&x, &y) {
            (Val::Num(x), Val::Num(y)) => Ok(Val::Num(Num::Float(num_f64(x).powf(num_f64(y))))),
            _ => Err(Error::str(format!(
                "{} and {} cannot be raised to a power",
                describe(&x),
                describe(&y)
            ))
            .into()),
        })
    });
    list.into_iter()
        .chain(math)
        .chain(regexes)
        .chain(std::iter::once(pow))
        .map(run::<Data>)
}
