//! Conversion between `serde_json::Value` and jaq's `Val`, and jq 1.8 number and JSON text
//! formatting.
//!
//! jq 1.8 keeps the text of number literals it has not computed with (`1.50 | tostring` is
//! `"1.50"`), prints computed integral doubles as integers (`10 / 2` is `5`) and other doubles
//! with 17 significant digits at most. Input floats become decimal literals here so that they
//! print as jq prints the JSON text Ocean feeds it.

use jaq_json::{Num, Rc, Val};
use serde_json::{Map, Number, Value};
use std::fmt::Write as _;

/// Values nested deeper than this are refused when converting back to JSON, so that a runaway
/// program cannot overflow the stack of the converting thread.
pub(crate) const MAX_OUTPUT_DEPTH: usize = 512;

/// Largest integer a double holds exactly (2^53).
const EXACT_INT_LIMIT: f64 = 9_007_199_254_740_992.0;

/// Converts a JSON value into a jaq value.
pub(crate) fn to_val(value: &Value) -> Val {
    match value {
        Value::Null => Val::Null,
        Value::Bool(b) => Val::Bool(*b),
        Value::Number(n) => number_to_val(n),
        Value::String(s) => Val::from(s.clone()),
        Value::Array(items) => Val::Arr(Rc::new(items.iter().map(to_val).collect())),
        Value::Object(map) => {
            let mut out = jaq_json::Map::with_capacity_and_hasher(map.len(), Default::default());
            for (k, v) in map {
                out.insert(Val::from(k.clone()), to_val(v));
            }
            Val::obj(out)
        }
    }
}

fn number_to_val(n: &Number) -> Val {
    if let Some(i) = n.as_i64() {
        // jq holds numbers as doubles: an integer beyond 2^53 keeps its literal text (so that
        // it prints unchanged) but computes as the nearest double, as a decimal literal does.
        if i.unsigned_abs() > EXACT_INT_LIMIT as u64 {
            return Val::Num(Num::Dec(Rc::new(i.to_string())));
        }
        return match isize::try_from(i) {
            Ok(i) => Val::Num(Num::Int(i)),
            Err(_) => Val::Num(Num::Dec(Rc::new(i.to_string()))),
        };
    }
    if let Some(u) = n.as_u64() {
        return Val::Num(Num::Dec(Rc::new(u.to_string())));
    }
    // serde_json prints floats as Python does for the common cases (`2.0`, `2.5`), which is the
    // text jq sees in Ocean.
    Val::Num(Num::Dec(Rc::new(n.to_string())))
}

/// A copy of `value` with integral floats as integers, as a jq output would have them.
pub(crate) fn normalized_clone(value: &Value) -> Value {
    match value {
        Value::Number(n) if n.is_f64() => n.as_f64().map_or(Value::Null, float_to_json),
        Value::Array(items) => Value::Array(items.iter().map(normalized_clone).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), normalized_clone(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Why a jaq value could not be turned into JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TooDeep;

/// Converts a jaq value back into JSON, normalising integral numbers to integers.
pub(crate) fn from_val(val: &Val) -> Result<Value, TooDeep> {
    from_val_at(val, 0)
}

fn from_val_at(val: &Val, depth: usize) -> Result<Value, TooDeep> {
    if depth > MAX_OUTPUT_DEPTH {
        return Err(TooDeep);
    }
    Ok(match val {
        Val::Null => Value::Null,
        Val::Bool(b) => Value::Bool(*b),
        Val::Num(n) => num_to_json(n),
        Val::TStr(b) | Val::BStr(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
        Val::Arr(items) => Value::Array(
            items
                .iter()
                .map(|v| from_val_at(v, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Val::Obj(map) => {
            let mut out = Map::with_capacity(map.len());
            for (k, v) in map.iter() {
                out.insert(key_string(k), from_val_at(v, depth + 1)?);
            }
            Value::Object(out)
        }
    })
}

fn key_string(k: &Val) -> String {
    match k {
        Val::TStr(b) | Val::BStr(b) => String::from_utf8_lossy(b).into_owned(),
        other => {
            let mut s = String::new();
            write_json(&mut s, other, 0);
            s
        }
    }
}

fn num_to_json(n: &Num) -> Value {
    match n {
        Num::Int(i) => Value::Number(Number::from(*i as i64)),
        Num::BigInt(b) => exact_integer(&b.to_string())
            .unwrap_or_else(|| float_to_json(b.to_string().parse().unwrap_or(f64::NAN))),
        Num::Float(f) => float_to_json(*f),
        // An integer literal that fits comes back exactly (jq 1.8 keeps the literal).
        Num::Dec(text) => {
            exact_integer(text).unwrap_or_else(|| float_to_json(text.parse().unwrap_or(f64::NAN)))
        }
    }
}

/// The integer written in `text` (digits with an optional minus sign), if it fits i64 or u64.
fn exact_integer(text: &str) -> Option<Value> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if let Ok(i) = text.parse::<i64>() {
        return Some(Value::Number(i.into()));
    }
    text.parse::<u64>().ok().map(|u| Value::Number(u.into()))
}

/// jq prints NaN as `null` and infinities as the largest double; integral doubles come back as
/// integers where JSON numbers can hold them exactly (jq.py returns any integral double as an
/// integer).
pub(crate) fn float_to_json(f: f64) -> Value {
    if f.is_nan() {
        return Value::Null;
    }
    if f.is_infinite() {
        return Number::from_f64(f64::MAX.copysign(f)).map_or(Value::Null, Value::Number);
    }
    if f.fract() == 0.0 {
        // 2^63 and 2^64 are exact doubles, so these bounds are exact too.
        if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f) {
            return Value::Number(Number::from(f as i64));
        }
        if (0.0..18_446_744_073_709_551_616.0).contains(&f) {
            return Value::Number(Number::from(f as u64));
        }
    }
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// Formats a computed double as jq 1.8 does (David Gay's `g_fmt` on the shortest round-trip
/// digits): plain notation unless the decimal point lies more than 15 places past the last
/// significant digit or before `0.0001`, then `d.ddde+XX` with at least two exponent digits.
pub(crate) fn format_float(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("null");
        return;
    }
    let f = if f.is_infinite() {
        f64::MAX.copysign(f)
    } else {
        f
    };
    if f == 0.0 {
        out.push_str(if f.is_sign_negative() { "-0" } else { "0" });
        return;
    }
    // `{:e}` gives the shortest digits that round-trip: `d[.ddd]e[-]x`.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let decpt = exp.parse::<i32>().unwrap_or(0) + 1;
    let nd = digits.len() as i32;
    if f < 0.0 {
        out.push('-');
    }
    if decpt <= -4 || decpt > nd + 15 {
        out.push_str(&digits[..1]);
        if nd > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = decpt - 1;
        let _ = write!(
            out,
            "e{}{:02}",
            if e < 0 { '-' } else { '+' },
            e.unsigned_abs()
        );
    } else if decpt <= 0 {
        out.push_str("0.");
        for _ in decpt..0 {
            out.push('0');
        }
        out.push_str(&digits);
    } else if decpt >= nd {
        out.push_str(&digits);
        for _ in nd..decpt {
            out.push('0');
        }
    } else {
        let (int, frac) = digits.split_at(decpt as usize);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    }
}

/// Formats a number literal as jq 1.8 does (decNumber's to-scientific-string): the digits are
/// kept (`1.50`), but an exponent is normalised (`1e17` is `1E+17`, `0.0000001` is `1E-7`).
fn format_literal(out: &mut String, text: &str) {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], body[i + 1..].parse::<i64>().ok()),
        None => (body, Some(0)),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let well_formed = !(int.is_empty() && frac.is_empty())
        && int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit());
    let Some(exp) = exp.filter(|_| well_formed) else {
        // Not a decimal literal (cannot come from the parser): print it as it is.
        out.push_str(text);
        return;
    };
    let all_digits = format!("{int}{frac}");
    let coefficient = all_digits.trim_start_matches('0');
    let coefficient = if coefficient.is_empty() {
        "0"
    } else {
        coefficient
    };
    let nd = coefficient.len() as i64;
    let exponent = exp.saturating_sub(frac.len() as i64);
    let adjusted = exponent.saturating_add(nd - 1);
    if negative && coefficient != "0" {
        out.push('-');
    }
    if exponent <= 0 && adjusted >= -6 {
        if exponent == 0 {
            out.push_str(coefficient);
        } else if nd > -exponent {
            let (i, f) = coefficient.split_at((nd + exponent) as usize);
            out.push_str(i);
            out.push('.');
            out.push_str(f);
        } else {
            out.push_str("0.");
            for _ in 0..(-exponent - nd) {
                out.push('0');
            }
            out.push_str(coefficient);
        }
    } else {
        out.push_str(&coefficient[..1]);
        if nd > 1 {
            out.push('.');
            out.push_str(&coefficient[1..]);
        }
        let _ = write!(
            out,
            "E{}{}",
            if adjusted < 0 { '-' } else { '+' },
            adjusted.unsigned_abs()
        );
    }
}

fn format_num(out: &mut String, n: &Num) {
    match n {
        Num::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Num::BigInt(b) => {
            let _ = write!(out, "{b}");
        }
        Num::Float(f) => format_float(out, *f),
        Num::Dec(text) => format_literal(out, text),
    }
}

/// Writes a value as compact JSON text the way jq's `tojson` does.
pub(crate) fn write_json(out: &mut String, val: &Val, depth: usize) {
    match val {
        Val::Null => out.push_str("null"),
        Val::Bool(true) => out.push_str("true"),
        Val::Bool(false) => out.push_str("false"),
        Val::Num(n) => format_num(out, n),
        Val::TStr(b) | Val::BStr(b) => write_json_str(out, &String::from_utf8_lossy(b)),
        // Deeper values than this cannot come from a converted input; print a marker rather
        // than recursing without bound.
        _ if depth > MAX_OUTPUT_DEPTH => out.push_str("null"),
        Val::Arr(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, v, depth + 1);
            }
            out.push(']');
        }
        Val::Obj(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_str(out, &key_string(k));
                out.push(':');
                write_json(out, v, depth + 1);
            }
            out.push('}');
        }
    }
}

/// Writes `s` as a JSON string the way jq dumps it.
pub(crate) fn write_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `tostring`: strings as they are, anything else as JSON text.
pub(crate) fn to_jq_string(val: &Val) -> String {
    match val {
        Val::TStr(b) | Val::BStr(b) => String::from_utf8_lossy(b).into_owned(),
        other => {
            let mut s = String::new();
            write_json(&mut s, other, 0);
            s
        }
    }
}

/// A number as the double jq computes with.
pub(crate) fn num_f64(n: &Num) -> f64 {
    match n {
        Num::Int(i) => *i as f64,
        Num::Float(f) => *f,
        Num::BigInt(b) => b.to_string().parse().unwrap_or(f64::NAN),
        Num::Dec(text) => text.parse().unwrap_or(f64::NAN),
    }
}

/// The jq type name of a value.
pub(crate) fn type_name(val: &Val) -> &'static str {
    match val {
        Val::Null => "null",
        Val::Bool(_) => "boolean",
        Val::Num(_) => "number",
        Val::TStr(_) | Val::BStr(_) => "string",
        Val::Arr(_) => "array",
        Val::Obj(_) => "object",
    }
}

/// The jq type name of a JSON value.
pub(crate) fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fmt(f: f64) -> String {
        let mut s = String::new();
        format_float(&mut s, f);
        s
    }

    #[test]
    fn integral_floats_print_as_integers() {
        assert_eq!(fmt(5.0), "5");
        assert_eq!(fmt(-1.0), "-1");
        assert_eq!(fmt(1.5), "1.5");
        assert_eq!(fmt(1.0 / 3.0), "0.3333333333333333");
    }

    #[test]
    fn extreme_floats_use_jq_exponent_form() {
        assert_eq!(fmt(1e-7), "1e-07");
        assert_eq!(fmt(1.5e17), "1.5e+17");
        assert_eq!(fmt(f64::INFINITY), "1.7976931348623157e+308");
        assert_eq!(fmt(f64::NAN), "null");
    }

    fn lit(text: &str) -> String {
        let mut s = String::new();
        format_literal(&mut s, text);
        s
    }

    #[test]
    fn literals_print_in_decnumber_form() {
        assert_eq!(lit("1e17"), "1E+17");
        assert_eq!(lit("1.0e17"), "1.0E+17");
        assert_eq!(lit("1.50"), "1.50");
        assert_eq!(lit("12e-1"), "1.2");
        assert_eq!(lit("0.0000001"), "1E-7");
        assert_eq!(lit("-0.0"), "0.0");
        assert_eq!(lit("007"), "7");
        // An exponent at the edge of i64 saturates instead of overflowing.
        assert!(lit("1.5e-9223372036854775808").starts_with("1.5E-922337203685477580"));
    }

    #[test]
    fn computed_doubles_print_as_jq_g_fmt() {
        assert_eq!(fmt(1e15), "1000000000000000");
        assert_eq!(fmt(1e16), "1e+16");
        assert_eq!(fmt(12_345_678_901_234_567_890.0), "12345678901234567000");
        assert_eq!(fmt(0.0001), "0.0001");
        assert_eq!(fmt(1e100), "1e+100");
    }

    #[test]
    fn round_trip_keeps_key_order_and_normalises_numbers() {
        let v = json!({"z": 1, "a": [2.0, 2.5, "x", null, true], "m": {"k": 10000000000u64}});
        let back = from_val(&to_val(&v)).unwrap();
        assert_eq!(
            back,
            json!({"z": 1, "a": [2, 2.5, "x", null, true], "m": {"k": 10000000000u64}})
        );
        assert_eq!(
            back.as_object().unwrap().keys().collect::<Vec<_>>(),
            vec!["z", "a", "m"]
        );
    }

    #[test]
    fn input_floats_keep_their_text_for_tostring() {
        assert_eq!(to_jq_string(&to_val(&json!(2.0))), "2.0");
        assert_eq!(
            to_jq_string(&to_val(&json!({"a": "x\"y"}))),
            r#"{"a":"x\"y"}"#
        );
    }
}
