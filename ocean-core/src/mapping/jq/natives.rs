//! Native filters behind the compat prelude: jq 1.8 text formats and the recursion guard.

use super::stack;
use super::value::{to_jq_string, type_name, write_json};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use jaq_core::box_iter::box_once;
use jaq_core::native::{Filter, Fun, run, unary, v};
use jaq_core::{Error, RunPtr, ValR, data};
use jaq_json::Val;

/// The data type our filters run with.
pub(crate) type Data = data::JustLut<Val>;

/// Lenient base64: jq 1.8 decodes unpadded input.
const BASE64_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

const BASE32_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

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

fn base32(v: &Val) -> ValR<Val> {
    let s = str_of(v).unwrap_or_default();
    let mut out = String::with_capacity(s.len().div_ceil(5) * 8);
    for chunk in s.as_bytes().chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = buf.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let symbols = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < symbols {
                let idx = ((bits >> (35 - i * 5)) & 31) as usize;
                out.push(char::from(BASE32_ALPHABET[idx]));
            } else {
                out.push('=');
            }
        }
    }
    Ok(Val::from(out))
}

fn base32d(v: &Val) -> ValR<Val> {
    let s = str_of(v).unwrap_or_default();
    let mut bytes = Vec::with_capacity(s.len() * 5 / 8);
    let (mut acc, mut nbits) = (0u64, 0u32);
    for c in s.bytes().filter(|c| *c != b'=') {
        let Some(idx) = BASE32_ALPHABET.iter().position(|a| *a == c) else {
            return Err(Error::str(format!(
                "{} is not valid base32 data",
                json_of(v)
            )));
        };
        acc = (acc << 5) | idx as u64;
        nbits += 5;
        if nbits >= 8 {
            nbits -= 8;
            bytes.push(((acc >> nbits) & 0xff) as u8);
        }
    }
    Ok(Val::from(String::from_utf8_lossy(&bytes).into_owned()))
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

/// The native filters the compat prelude relies on.
pub(crate) fn funs() -> impl Iterator<Item = Fun<Data>> {
    let list: [Filter<RunPtr<Data>>; 13] = [
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
        ("__ocean_base32", v(0), |cv| {
            box_once(base32(&cv.1).map_err(Into::into))
        }),
        ("__ocean_base32d", v(0), |cv| {
            box_once(base32d(&cv.1).map_err(Into::into))
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
        ("__ocean_stack_ok", v(0), |_| {
            ok(Val::Bool(stack::within_budget()))
        }),
        ("__ocean_recursion_error", v(0), |_| {
            err(format!(
                "recursion deeper than the mapping stack budget ({} KiB) allows",
                stack::budget() / 1024
            ))
        }),
    ];
    list.into_iter().map(run::<Data>)
}
