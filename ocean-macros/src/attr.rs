//! `key = value` arguments of Ocean's macros: `kind = "person"`, `kinds = ["a", "b"]`,
//! `timeout = 1.5`, `config = MyConfig`, `crates = [my_handlers]`.
//!
//! Parsing knows which keys a macro accepts (so an unknown or repeated key is reported at once,
//! on its own span) but not their types: each macro asks for the type it expects with the
//! `take_*` methods, which say what was expected and what came.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::parse::ParseStream;
use syn::punctuated::Punctuated;
use syn::{Ident, LitBool, LitStr, Token, Type, bracketed};

/// The keys a macro accepts, with an example value for each (used in messages).
pub(crate) struct ArgSpec {
    /// How the macro is written in messages, e.g. "#[on_resync]".
    pub(crate) macro_name: &'static str,
    /// `(key, example value)` pairs.
    pub(crate) keys: &'static [(&'static str, &'static str)],
}

impl ArgSpec {
    fn example(&self, key: &str) -> Option<&'static str> {
        self.keys.iter().find(|(k, _)| *k == key).map(|(_, e)| *e)
    }

    fn unknown_key(&self, key: &Ident) -> syn::Error {
        let names: Vec<String> = self.keys.iter().map(|(k, _)| format!("`{k}`")).collect();
        let msg = match names.as_slice() {
            [] => format!(
                "unknown argument `{key}`: `{}` takes no arguments",
                self.macro_name
            ),
            [one] => format!("unknown argument `{key}`, expected {one}"),
            many => format!(
                "unknown argument `{key}`, expected one of {}",
                many.join(", ")
            ),
        };
        syn::Error::new(key.span(), msg)
    }
}

/// A value as written, before the macro says which type it wants.
pub(crate) enum Value {
    /// `"text"`
    Str(LitStr),
    /// `1`, `-2`: an integer literal and the span of its tokens.
    Integer(i128, Span),
    /// `1.5`, `-2.0`, `1e3`: a decimal literal and the span of its tokens.
    Number(f64, Span),
    /// `true` / `false`
    Bool(LitBool),
    /// `[v, v, ...]`
    List(Vec<Value>, Span),
    /// A type or path: `MyConfig`, `my_crate::Config<T>`, `my_handlers`.
    Type(Box<Type>),
}

impl Value {
    fn describe(&self) -> &'static str {
        match self {
            Value::Str(_) => "a string literal",
            Value::Integer(..) => "a number",
            Value::Number(..) => "a decimal number",
            Value::Bool(_) => "a boolean",
            Value::List(..) => "a list",
            Value::Type(_) => "a type or path",
        }
    }

    /// An error covering the whole value as written.
    fn error(&self, message: String) -> syn::Error {
        match self {
            Value::Str(s) => syn::Error::new(s.span(), message),
            Value::Integer(_, span) | Value::Number(_, span) | Value::List(_, span) => {
                syn::Error::new(*span, message)
            }
            Value::Bool(b) => syn::Error::new(b.span, message),
            Value::Type(t) => syn::Error::new_spanned(t, message),
        }
    }

    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let lookahead = input.lookahead1();
        if lookahead.peek(LitStr) {
            return Ok(Value::Str(input.parse()?));
        }
        if lookahead.peek(LitBool) {
            return Ok(Value::Bool(input.parse()?));
        }
        if lookahead.peek(Token![-]) || lookahead.peek(syn::LitInt) || lookahead.peek(syn::LitFloat)
        {
            return parse_number(input);
        }
        if lookahead.peek(syn::token::Bracket) {
            let content;
            let brackets = bracketed!(content in input);
            let items =
                Punctuated::<Value, Token![,]>::parse_terminated_with(&content, Value::parse)?;
            return Ok(Value::List(
                items.into_iter().collect(),
                brackets.span.join(),
            ));
        }
        if lookahead.peek(syn::Lit) {
            let lit: syn::Lit = input.parse()?;
            return Err(syn::Error::new(
                lit.span(),
                "expected a string, a number, a boolean, a list or a type",
            ));
        }
        input
            .parse::<Type>()
            .map(|t| Value::Type(Box::new(t)))
            .map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected a string, a number, a boolean, a list or a type",
                )
            })
    }
}

fn parse_number(input: ParseStream<'_>) -> syn::Result<Value> {
    let minus: Option<Token![-]> = input.parse()?;
    let join = |span: Span| {
        minus
            .map(|m| m.span.join(span).unwrap_or(span))
            .unwrap_or(span)
    };
    if input.peek(syn::LitInt) {
        let lit: syn::LitInt = input.parse()?;
        let digits = lit.base10_digits();
        let value: i128 = digits.parse().map_err(|_| {
            syn::Error::new(
                lit.span(),
                format!("expected an integer that fits in 128 bits, found `{digits}`"),
            )
        })?;
        let value = if minus.is_some() { -value } else { value };
        return Ok(Value::Integer(value, join(lit.span())));
    }
    let lit: syn::LitFloat = input.parse()?;
    let digits = lit.base10_digits();
    let value: f64 = digits
        .parse()
        .map_err(|_| syn::Error::new(lit.span(), format!("expected a number, found `{digits}`")))?;
    let value = if minus.is_some() { -value } else { value };
    Ok(Value::Number(value, join(lit.span())))
}

/// One `key = value` argument.
pub(crate) struct Arg {
    /// The key as written.
    pub(crate) key: Ident,
    /// The value as written.
    pub(crate) value: Value,
}

/// The arguments of one macro invocation: known keys, each at most once.
pub(crate) struct Args {
    spec: &'static ArgSpec,
    args: Vec<Arg>,
}

impl Args {
    /// Parses `key = value, ...` (trailing comma allowed) against `spec`.
    pub(crate) fn parse(input: ParseStream<'_>, spec: &'static ArgSpec) -> syn::Result<Self> {
        let mut args: Vec<Arg> = Vec::new();
        while !input.is_empty() {
            let key = parse_key(input)?;
            let key_name = key.to_string();
            let Some(example) = spec.example(&key_name) else {
                return Err(spec.unknown_key(&key));
            };
            if args.iter().any(|a| a.key == key) {
                return Err(syn::Error::new(
                    key.span(),
                    format!("`{key_name}` set multiple times"),
                ));
            }
            if !input.peek(Token![=]) {
                return Err(syn::Error::new(
                    key.span(),
                    format!("`{key_name}` needs a value: `{key_name} = {example}`"),
                ));
            }
            input.parse::<Token![=]>()?;
            if input.is_empty() || input.peek(Token![,]) {
                return Err(syn::Error::new(
                    key.span(),
                    format!("`{key_name}` needs a value: `{key_name} = {example}`"),
                ));
            }
            let value = Value::parse(input)?;
            args.push(Arg { key, value });
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(Self { spec, args })
    }

    fn take(&mut self, key: &str) -> Option<Arg> {
        let at = self.args.iter().position(|a| a.key == key)?;
        Some(self.args.remove(at))
    }

    fn mismatch(&self, arg: &Arg, expected: &str) -> syn::Error {
        let key = arg.key.to_string();
        let example = self.spec.example(&key).unwrap_or("...");
        arg.value.error(format!(
            "expected {expected} for `{key}`, found {}: `{key} = {example}`",
            arg.value.describe()
        ))
    }

    /// `key = "text"`.
    pub(crate) fn take_str(&mut self, key: &str) -> syn::Result<Option<LitStr>> {
        match self.take(key) {
            None => Ok(None),
            Some(Arg {
                value: Value::Str(s),
                ..
            }) => Ok(Some(s)),
            Some(arg) => Err(self.mismatch(&arg, "a string literal")),
        }
    }

    /// `key = ["a", "b"]`: the strings and the span of the list.
    pub(crate) fn take_str_list(&mut self, key: &str) -> syn::Result<Option<(Vec<LitStr>, Span)>> {
        let Some(arg) = self.take(key) else {
            return Ok(None);
        };
        let Value::List(items, span) = arg.value else {
            return Err(self.mismatch(&arg, "a list of string literals"));
        };
        let mut strings = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Value::Str(s) => strings.push(s),
                other => {
                    return Err(other.error(format!(
                        "expected a string literal in `{}`, found {}",
                        arg.key,
                        other.describe()
                    )));
                }
            }
        }
        Ok(Some((strings, span)))
    }

    /// `key = 1.5` or `key = 2`: the number (integers converted) and its span.
    pub(crate) fn take_number(&mut self, key: &str) -> syn::Result<Option<(f64, Span)>> {
        match self.take(key) {
            None => Ok(None),
            Some(Arg {
                value: Value::Number(n, span),
                ..
            }) => Ok(Some((n, span))),
            // Integers beyond 2^53 lose precision here; no knob accepts anything near that.
            Some(Arg {
                value: Value::Integer(n, span),
                ..
            }) => Ok(Some((n as f64, span))),
            Some(arg) => Err(self.mismatch(&arg, "a number")),
        }
    }

    /// `key = 3`: an integer literal (a decimal such as `3.0` is refused) and its span.
    pub(crate) fn take_integer(&mut self, key: &str) -> syn::Result<Option<(i128, Span)>> {
        match self.take(key) {
            None => Ok(None),
            Some(Arg {
                value: Value::Integer(n, span),
                ..
            }) => Ok(Some((n, span))),
            Some(arg) => Err(self.mismatch(&arg, "an integer")),
        }
    }

    /// `key = true`.
    #[allow(
        dead_code,
        reason = "no macro takes a boolean yet; kept so every value shape has its reader"
    )]
    pub(crate) fn take_bool(&mut self, key: &str) -> syn::Result<Option<LitBool>> {
        match self.take(key) {
            None => Ok(None),
            Some(Arg {
                value: Value::Bool(b),
                ..
            }) => Ok(Some(b)),
            Some(arg) => Err(self.mismatch(&arg, "`true` or `false`")),
        }
    }

    /// `key = some::Type`.
    pub(crate) fn take_type(&mut self, key: &str) -> syn::Result<Option<Type>> {
        match self.take(key) {
            None => Ok(None),
            Some(Arg {
                value: Value::Type(t),
                ..
            }) => Ok(Some(*t)),
            Some(arg) => Err(self.mismatch(&arg, "a type")),
        }
    }

    /// `key = [name, name]`: plain identifiers, such as crate names.
    pub(crate) fn take_ident_list(&mut self, key: &str) -> syn::Result<Option<Vec<Ident>>> {
        let Some(arg) = self.take(key) else {
            return Ok(None);
        };
        let Value::List(items, _) = arg.value else {
            return Err(self.mismatch(&arg, "a list of names"));
        };
        let mut idents = Vec::with_capacity(items.len());
        for item in items {
            let ident = match &item {
                Value::Type(ty) => match &**ty {
                    Type::Path(p) if p.qself.is_none() => p.path.get_ident().cloned(),
                    _ => None,
                },
                _ => None,
            };
            match ident {
                Some(ident) => idents.push(ident),
                None => {
                    let found = match &item {
                        Value::Type(_) => "a path",
                        other => other.describe(),
                    };
                    return Err(
                        item.error(format!("expected a name in `{}`, found {found}", arg.key))
                    );
                }
            }
        }
        Ok(Some(idents))
    }
}

/// Keys may be Rust keywords (`crate = "..."`), so any identifier is accepted here.
fn parse_key(input: ParseStream<'_>) -> syn::Result<Ident> {
    if input.peek(Ident::peek_any) {
        Ident::parse_any(input)
    } else {
        Err(input.error("expected an argument name, like `kind = \"...\"`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse::Parser;

    static SPEC: ArgSpec = ArgSpec {
        macro_name: "#[test_macro]",
        keys: &[
            ("kind", "\"person\""),
            ("kinds", "[\"a\", \"b\"]"),
            ("factor", "1.5"),
            ("count", "3"),
            ("enabled", "true"),
            ("config", "MyConfig"),
            ("crates", "[my_handlers]"),
        ],
    };

    static NO_ARGS: ArgSpec = ArgSpec {
        macro_name: "#[no_args]",
        keys: &[],
    };

    fn parse(spec: &'static ArgSpec, src: &str) -> syn::Result<Args> {
        let tokens: proc_macro2::TokenStream = src.parse().map_err(|e| {
            syn::Error::new(Span::call_site(), format!("test input does not lex: {e}"))
        })?;
        (|input: ParseStream<'_>| Args::parse(input, spec)).parse2(tokens)
    }

    fn error(spec: &'static ArgSpec, src: &str) -> String {
        match parse(spec, src) {
            Ok(_) => String::from("<parsed>"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn parses_every_value_shape() -> syn::Result<()> {
        let mut args = parse(
            &SPEC,
            r#"kind = "person", kinds = ["a", "b"], factor = -1.5, count = -3, enabled = true,
               config = super::my::Config<u8, u16>, crates = [one, two],"#,
        )?;
        assert_eq!(
            args.take_str("kind")?.map(|s| s.value()),
            Some("person".into())
        );
        let kinds = args
            .take_str_list("kinds")?
            .map(|(l, _)| l.iter().map(LitStr::value).collect::<Vec<_>>());
        assert_eq!(kinds, Some(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(args.take_number("factor")?.map(|(n, _)| n), Some(-1.5));
        assert_eq!(args.take_integer("count")?.map(|(n, _)| n), Some(-3));
        assert_eq!(args.take_bool("enabled")?.map(|b| b.value), Some(true));
        let config = args
            .take_type("config")?
            .map(|t| quote::quote!(#t).to_string());
        assert_eq!(
            config.as_deref(),
            Some("super :: my :: Config < u8 , u16 >")
        );
        let crates = args
            .take_ident_list("crates")?
            .map(|l| l.iter().map(ToString::to_string).collect::<Vec<_>>());
        assert_eq!(crates, Some(vec!["one".to_owned(), "two".to_owned()]));
        Ok(())
    }

    #[test]
    fn absent_keys_are_none() -> syn::Result<()> {
        let mut args = parse(&SPEC, "")?;
        assert!(args.take_str("kind")?.is_none());
        assert!(args.take_number("factor")?.is_none());
        Ok(())
    }

    #[test]
    fn reports_duplicate_keys() {
        assert_eq!(
            error(&SPEC, r#"kind = "a", kind = "b""#),
            "`kind` set multiple times"
        );
    }

    #[test]
    fn reports_unknown_keys_with_the_expected_ones() {
        assert_eq!(
            error(&SPEC, "foo = 1"),
            "unknown argument `foo`, expected one of `kind`, `kinds`, `factor`, `count`, `enabled`, `config`, `crates`"
        );
        assert_eq!(
            error(&NO_ARGS, "foo = 1"),
            "unknown argument `foo`: `#[no_args]` takes no arguments"
        );
    }

    #[test]
    fn reports_missing_values_with_an_example() {
        assert_eq!(
            error(&SPEC, "kind"),
            "`kind` needs a value: `kind = \"person\"`"
        );
        assert_eq!(
            error(&SPEC, "kind = , factor = 1"),
            "`kind` needs a value: `kind = \"person\"`"
        );
    }

    #[test]
    fn reports_wrong_value_types() -> syn::Result<()> {
        let mut args = parse(&SPEC, "kind = 1, crates = my_crate, kinds = [\"a\", 2]")?;
        let err = args.take_str("kind").err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("expected a string literal for `kind`, found a number: `kind = \"person\"`")
        );
        let err = args.take_ident_list("crates").err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "expected a list of names for `crates`, found a type or path: `crates = [my_handlers]`"
            )
        );
        let err = args.take_str_list("kinds").err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("expected a string literal in `kinds`, found a number")
        );
        Ok(())
    }

    #[test]
    fn integers_are_numbers_but_decimals_are_not_integers() -> syn::Result<()> {
        let mut args = parse(&SPEC, "factor = 2, count = 3.0")?;
        assert_eq!(args.take_number("factor")?.map(|(n, _)| n), Some(2.0));
        let err = args.take_integer("count").err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("expected an integer for `count`, found a decimal number: `count = 3`")
        );
        Ok(())
    }

    #[test]
    fn rejects_paths_in_name_lists() -> syn::Result<()> {
        let mut args = parse(&SPEC, "crates = [a::b]")?;
        let err = args.take_ident_list("crates").err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("expected a name in `crates`, found a path")
        );
        Ok(())
    }

    #[test]
    fn rejects_other_literals() {
        assert_eq!(
            error(&SPEC, "kind = 'c'"),
            "expected a string, a number, a boolean, a list or a type"
        );
    }
}
