//! `#[webhook_processor(path = "/webhook", kinds = ["issue"], ...)]` on a struct: parse the
//! arguments, check them and the struct into a model, expand to the struct as written plus a
//! registration (path, kinds, retry policy, factory) and assertions that the struct implements
//! `WebhookProcessor` and `FromContext` (every `Default` type does), reported on the struct's
//! name. The runtime builds the processor from the context once the configuration is loaded.

use crate::attr::{ArgSpec, Args};
use crate::output::{both, combine, expansion_or_item};
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use std::time::Duration;
use syn::ext::IdentExt;
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{Ident, Item, ItemStruct, LitStr};

const MACRO: &str = "#[webhook_processor]";

const EXAMPLE: &str = "#[webhook_processor(path = \"/webhook\", kinds = [\"issue\"])] #[derive(Default)] struct IssueProcessor;";

static SPEC: ArgSpec = ArgSpec {
    macro_name: MACRO,
    keys: &[
        ("path", "\"/webhook\""),
        ("kinds", "[\"issue\", \"project\"]"),
        ("max_retries", "3"),
        ("initial_retry_delay_seconds", "1.0"),
        ("max_retry_delay_seconds", "30.0"),
        ("exponential_base_seconds", "2.0"),
    ],
};

/// The retry knobs left out of the attribute take the runtime's defaults
/// (`ProcessorRetryPolicy::default()`); they are repeated here because the registration is
/// built in a `const` context, where `Default::default()` cannot be called.
const DEFAULT_MAX_RETRIES: u32 = 3;
const DEFAULT_INITIAL_DELAY_SECONDS: f64 = 1.0;
const DEFAULT_MAX_DELAY_SECONDS: f64 = 30.0;
const DEFAULT_EXPONENTIAL_BASE: f64 = 2.0;

/// A value as written: the value and where it was written.
type Written<T> = (T, Span);

/// The arguments as written (each one may be absent).
struct ProcessorArgs {
    path: Option<LitStr>,
    kinds: Option<Written<Vec<LitStr>>>,
    max_retries: Option<Written<i128>>,
    initial_retry_delay: Option<Written<f64>>,
    max_retry_delay: Option<Written<f64>>,
    exponential_base: Option<Written<f64>>,
}

impl ProcessorArgs {
    /// Parses the arguments; every type mismatch is reported, not only the first.
    fn parse(attr: TokenStream) -> syn::Result<Self> {
        let mut args =
            (|input: syn::parse::ParseStream<'_>| Args::parse(input, &SPEC)).parse2(attr)?;
        let mut errors = Vec::new();
        let path = keep(&mut errors, args.take_str("path"));
        let kinds = keep(&mut errors, args.take_str_list("kinds"));
        let max_retries = keep(&mut errors, args.take_integer("max_retries"));
        let initial_retry_delay =
            keep(&mut errors, args.take_number("initial_retry_delay_seconds"));
        let max_retry_delay = keep(&mut errors, args.take_number("max_retry_delay_seconds"));
        let exponential_base = keep(&mut errors, args.take_number("exponential_base_seconds"));
        combine(errors)?;
        Ok(Self {
            path,
            kinds,
            max_retries,
            initial_retry_delay,
            max_retry_delay,
            exponential_base,
        })
    }
}

/// The value, or `None` with the error set aside so that every argument gets checked.
fn keep<T>(errors: &mut Vec<syn::Error>, result: syn::Result<Option<T>>) -> Option<T> {
    result.unwrap_or_else(|e| {
        errors.push(e);
        None
    })
}

/// Why a path cannot be served as written, if it cannot.
fn path_problem(path: &str) -> Option<String> {
    if path.is_empty() {
        return Some(String::from(
            "`path` must not be empty; webhooks are served under `/integration`, e.g. `path = \"/webhook\"`",
        ));
    }
    if !path.starts_with('/') {
        return Some(format!("`path` must start with `/`: `path = \"/{path}\"`"));
    }
    if path.chars().any(char::is_whitespace) {
        return Some(format!(
            "`path` must not contain whitespace, found `{path:?}`"
        ));
    }
    if path.contains(['{', '}']) {
        return Some(String::from(
            "`path` templates such as `/webhook/{id}` are not supported: register a fixed path and read the rest from the payload or headers",
        ));
    }
    if path.contains(['?', '#']) {
        return Some(String::from(
            "`path` must be a path only, without a query (`?`) or fragment (`#`)",
        ));
    }
    if path.contains("//") {
        return Some(format!(
            "`path` must not contain an empty segment (`//`), found `{path}`"
        ));
    }
    if let Some(bad) = path
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "/-._~!$&'()*+,;=:@%".contains(*c)))
    {
        return Some(format!(
            "`path` may only contain URL path characters (letters, digits, `-._~!$&'()*+,;=:@%` and `/`), found `{bad}`"
        ));
    }
    None
}

fn check_path(path: Option<&LitStr>) -> syn::Result<String> {
    let Some(lit) = path else {
        return Err(syn::Error::new(
            Span::call_site(),
            format!(
                "`{MACRO}` needs the path its webhooks arrive on: `path = \"/webhook\"` (served at `/integration/webhook`)"
            ),
        ));
    };
    let path = lit.value();
    match path_problem(&path) {
        Some(problem) => Err(syn::Error::new(lit.span(), problem)),
        None => Ok(path),
    }
}

fn check_kinds(kinds: Option<&Written<Vec<LitStr>>>) -> syn::Result<Vec<String>> {
    let Some((list, list_span)) = kinds else {
        return Err(syn::Error::new(
            Span::call_site(),
            format!("`{MACRO}` needs the kinds its events update: `kinds = [\"issue\"]`"),
        ));
    };
    if list.is_empty() {
        return Err(syn::Error::new(
            *list_span,
            "`kinds` must name at least one kind of the mapping: `kinds = [\"issue\"]`",
        ));
    }
    let mut errors = Vec::new();
    let mut kinds: Vec<String> = Vec::with_capacity(list.len());
    for lit in list {
        let kind = lit.value();
        if kind.is_empty() {
            errors.push(syn::Error::new(
                lit.span(),
                "a kind in `kinds` must not be empty",
            ));
        } else if kind.trim() != kind {
            errors.push(syn::Error::new(
                lit.span(),
                format!(
                    "a kind in `kinds` has leading or trailing whitespace, so it would never match the mapping's kind; write `\"{}\"`",
                    kind.trim()
                ),
            ));
        } else if kinds.contains(&kind) {
            errors.push(syn::Error::new(
                lit.span(),
                format!("kind `{kind}` is listed twice in `kinds`"),
            ));
        } else {
            kinds.push(kind);
        }
    }
    combine(errors)?;
    Ok(kinds)
}

/// The retry policy, as the expansion writes it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct RetryModel {
    max_retries: u32,
    initial_retry_delay: Duration,
    max_retry_delay: Duration,
    exponential_base: f64,
}

fn check_max_retries(value: Option<Written<i128>>) -> syn::Result<u32> {
    let Some((n, span)) = value else {
        return Ok(DEFAULT_MAX_RETRIES);
    };
    if n < 0 {
        return Err(syn::Error::new(
            span,
            format!(
                "`max_retries` must not be negative, found {n}; use `max_retries = 0` to never retry"
            ),
        ));
    }
    u32::try_from(n).map_err(|_| {
        syn::Error::new(
            span,
            format!("`max_retries` must be at most {}, found {n}", u32::MAX),
        )
    })
}

fn check_delay(key: &str, value: Option<Written<f64>>, default: f64) -> syn::Result<Duration> {
    let Some((seconds, span)) = value else {
        return Ok(Duration::from_secs_f64(default));
    };
    if seconds < 0.0 {
        return Err(syn::Error::new(
            span,
            format!("`{key}` must not be negative, found {seconds}"),
        ));
    }
    // Also refuses literals too large for an `f64`, which arrive here as infinity.
    Duration::try_from_secs_f64(seconds).map_err(|_| {
        syn::Error::new(
            span,
            format!("`{key}` is too large to be a delay in seconds"),
        )
    })
}

fn check_base(value: Option<Written<f64>>) -> syn::Result<f64> {
    let Some((base, span)) = value else {
        return Ok(DEFAULT_EXPONENTIAL_BASE);
    };
    if !base.is_finite() || base < 1.0 {
        return Err(syn::Error::new(
            span,
            format!(
                "`exponential_base_seconds` is the growth factor between retries and must be a finite number of at least 1 (1 keeps the delay constant), found {base}"
            ),
        ));
    }
    Ok(base)
}

fn check_retry(args: &ProcessorArgs) -> syn::Result<RetryModel> {
    let max_retries = check_max_retries(args.max_retries);
    let initial = check_delay(
        "initial_retry_delay_seconds",
        args.initial_retry_delay,
        DEFAULT_INITIAL_DELAY_SECONDS,
    );
    let max = check_delay(
        "max_retry_delay_seconds",
        args.max_retry_delay,
        DEFAULT_MAX_DELAY_SECONDS,
    );
    let base = check_base(args.exponential_base);
    let ((max_retries, base), (initial, max)) = both(both(max_retries, base), both(initial, max))?;
    if initial > max {
        let message = format!(
            "the initial retry delay ({} s) is longer than the maximum retry delay ({} s); raise `max_retry_delay_seconds` or lower `initial_retry_delay_seconds`",
            initial.as_secs_f64(),
            max.as_secs_f64()
        );
        // On whichever of the two the author wrote (the initial delay if both).
        let span = args
            .initial_retry_delay
            .or(args.max_retry_delay)
            .map_or_else(Span::call_site, |(_, span)| span);
        return Err(syn::Error::new(span, message));
    }
    Ok(RetryModel {
        max_retries,
        initial_retry_delay: initial,
        max_retry_delay: max,
        exponential_base: base,
    })
}

/// What the item is, in messages about items that are not structs.
fn describe_item(item: &Item) -> (&'static str, Span) {
    match item {
        Item::Enum(e) => ("an enum", e.ident.span()),
        Item::Fn(f) => ("a function", f.sig.ident.span()),
        Item::Union(u) => ("a union", u.ident.span()),
        Item::Trait(t) => ("a trait", t.ident.span()),
        Item::Impl(i) => ("an impl block", i.impl_token.span),
        Item::Type(t) => ("a type alias", t.ident.span()),
        Item::Mod(m) => ("a module", m.ident.span()),
        other => ("this item", other.span()),
    }
}

fn check_item(item: TokenStream) -> syn::Result<ItemStruct> {
    let item: Item = syn::parse2(item).map_err(|e| {
        syn::Error::new(e.span(), format!("`{MACRO}` goes on a struct: `{EXAMPLE}`"))
    })?;
    let item = match item {
        Item::Struct(item) => item,
        other => {
            let (what, span) = describe_item(&other);
            return Err(syn::Error::new(
                span,
                format!(
                    "`{MACRO}` goes on a struct that implements `WebhookProcessor` (and `Default`, or `FromContext` to read its configuration), not on {what}: `{EXAMPLE}`"
                ),
            ));
        }
    };
    let generics = &item.generics;
    if !generics.params.is_empty() || generics.where_clause.is_some() {
        let message = format!(
            "`{MACRO}` structs cannot be generic: the runtime builds the processor with `FromContext::from_context` and no type or lifetime arguments; register a concrete struct"
        );
        return Err(match &generics.where_clause {
            Some(w) if generics.params.is_empty() => syn::Error::new_spanned(w, message),
            _ => syn::Error::new_spanned(generics, message),
        });
    }
    Ok(item)
}

/// Everything the expansion needs, already validated.
struct ProcessorModel {
    ident: Ident,
    path: String,
    kinds: Vec<String>,
    retry: RetryModel,
    cfgs: Vec<syn::Attribute>,
}

fn model(args: &ProcessorArgs, item: &ItemStruct) -> syn::Result<ProcessorModel> {
    let path = check_path(args.path.as_ref());
    let kinds = check_kinds(args.kinds.as_ref());
    let retry = check_retry(args);
    let ((path, kinds), retry) = both(both(path, kinds), retry)?;
    Ok(ProcessorModel {
        ident: item.ident.clone(),
        path,
        kinds,
        retry,
        cfgs: item
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("cfg"))
            .cloned()
            .collect(),
    })
}

fn duration_tokens(duration: Duration) -> TokenStream {
    let secs = duration.as_secs();
    let nanos = duration.subsec_nanos();
    quote!(::core::time::Duration::new(#secs, #nanos))
}

fn expand(item: &ItemStruct, model: &ProcessorModel) -> TokenStream {
    let ident = &model.ident;
    let name = ident.unraw().to_string();
    let path = &model.path;
    let kinds = &model.kinds;
    let max_retries = model.retry.max_retries;
    let initial = duration_tokens(model.retry.initial_retry_delay);
    let max = duration_tokens(model.retry.max_retry_delay);
    let base = model.retry.exponential_base;
    // The factory is also the check that the struct implements both traits: instantiated
    // once, with its bounds spanned on the struct's name, so each missing implementation is
    // reported once, where it is fixed (`FromContext` says how: derive `Default`, or implement
    // it to read the configuration).
    let factory = quote_spanned! {ident.span()=>
        fn processor_factory<T>(
            ctx: &::ocean::__private::Context,
        ) -> ::ocean::__private::Result<::std::sync::Arc<dyn ::ocean::__private::DynWebhookProcessor>>
        where
            T: ::ocean::__private::WebhookProcessor + ::ocean::__private::FromContext,
        {
            ::core::result::Result::Ok(::std::sync::Arc::new(
                <T as ::ocean::__private::FromContext>::from_context(ctx)?,
            ))
        }
    };
    let factory_for_type = quote_spanned!(ident.span()=> processor_factory::<#ident>);
    let cfgs = &model.cfgs;
    quote! {
        #item

        #(#cfgs)*
        const _: () = {
            #factory

            ::ocean::__private::inventory::submit! {
                ::ocean::__private::WebhookProcessorRegistration {
                    path: #path,
                    name: #name,
                    kinds: &[#(#kinds),*],
                    retry: ::ocean::__private::ProcessorRetryPolicy {
                        max_retries: #max_retries,
                        initial_retry_delay: #initial,
                        max_retry_delay: #max,
                        exponential_base: #base,
                        jitter_ratio: ::ocean::live_events::ProcessorRetryPolicy::DEFAULT_JITTER_RATIO,
                    },
                    file: ::core::file!(),
                    line: ::core::line!(),
                    factory: #factory_for_type,
                }
            }
        };
    }
}

/// The whole macro: never fails, errors become `compile_error!` next to the original item.
pub(crate) fn webhook_processor(attr: TokenStream, item: TokenStream) -> TokenStream {
    let result =
        both(ProcessorArgs::parse(attr), check_item(item.clone())).and_then(|(args, item)| {
            let model = model(&args, &item)?;
            Ok(expand(&item, &model))
        });
    expansion_or_item(MACRO, item, result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(attr: TokenStream, item: TokenStream) -> Vec<String> {
        let result = both(ProcessorArgs::parse(attr), check_item(item))
            .and_then(|(args, item)| model(&args, &item));
        match result {
            Ok(_) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    fn model_of(attr: TokenStream) -> syn::Result<ProcessorModel> {
        let item: ItemStruct = syn::parse_quote!(
            struct P;
        );
        model(&ProcessorArgs::parse(attr)?, &item)
    }

    #[test]
    fn accepts_plain_paths_and_refuses_the_rest() {
        for ok in [
            "/",
            "/webhook",
            "/webhook/jira-cloud_v2.events",
            "/a/b~c/%20/:x@y",
        ] {
            assert_eq!(path_problem(ok), None, "{ok}");
        }
        for (bad, starts) in [
            ("", "`path` must not be empty"),
            ("webhook", "`path` must start with `/`"),
            ("/a b", "`path` must not contain whitespace"),
            ("/a\tb", "`path` must not contain whitespace"),
            ("/a<b>", "`path` may only contain URL path characters"),
            ("/hooks/{id}", "`path` templates"),
            ("/hooks?x=1", "`path` must be a path only"),
            ("/hooks#top", "`path` must be a path only"),
            ("/hooks//x", "`path` must not contain an empty segment"),
            ("/café", "`path` may only contain URL path characters"),
        ] {
            let problem = path_problem(bad).unwrap_or_default();
            assert!(problem.starts_with(starts), "{bad}: {problem}");
        }
    }

    #[test]
    fn knobs_left_out_take_the_runtime_defaults() -> syn::Result<()> {
        let model = model_of(quote!(path = "/webhook", kinds = ["issue"]))?;
        assert_eq!(
            model.retry,
            RetryModel {
                max_retries: 3,
                initial_retry_delay: Duration::from_secs(1),
                max_retry_delay: Duration::from_secs(30),
                exponential_base: 2.0,
            }
        );
        Ok(())
    }

    #[test]
    fn reads_every_knob() -> syn::Result<()> {
        let model = model_of(quote!(
            path = "/webhook",
            kinds = ["issue", "project"],
            max_retries = 0,
            initial_retry_delay_seconds = 0.25,
            max_retry_delay_seconds = 0.25,
            exponential_base_seconds = 1
        ))?;
        assert_eq!(model.path, "/webhook");
        assert_eq!(model.kinds, ["issue", "project"]);
        assert_eq!(
            model.retry,
            RetryModel {
                max_retries: 0,
                initial_retry_delay: Duration::from_millis(250),
                max_retry_delay: Duration::from_millis(250),
                exponential_base: 1.0,
            }
        );
        Ok(())
    }

    #[test]
    fn reports_argument_and_item_errors_together() {
        let messages = errors(
            quote!(path = "x", kinds = 1),
            quote!(
                struct P<T>(T);
            ),
        );
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[0].starts_with("expected a list of string literals for `kinds`"));
        assert!(messages[1].contains("cannot be generic"));
    }

    #[test]
    fn reports_every_invalid_value_at_once() {
        let messages = errors(
            quote!(
                path = "x",
                kinds = ["a", "a", ""],
                max_retries = -1,
                initial_retry_delay_seconds = -1,
                exponential_base_seconds = 0.9
            ),
            quote!(
                struct P;
            ),
        );
        assert_eq!(
            messages,
            [
                "`path` must start with `/`: `path = \"/x\"`",
                "kind `a` is listed twice in `kinds`",
                "a kind in `kinds` must not be empty",
                "`max_retries` must not be negative, found -1; use `max_retries = 0` to never retry",
                "`exponential_base_seconds` is the growth factor between retries and must be a finite number of at least 1 (1 keeps the delay constant), found 0.9",
                "`initial_retry_delay_seconds` must not be negative, found -1",
            ]
        );
    }

    #[test]
    fn refuses_an_initial_delay_above_the_maximum_even_when_one_is_the_default() {
        let messages = errors(
            quote!(path = "/w", kinds = ["a"], initial_retry_delay_seconds = 45),
            quote!(
                struct P;
            ),
        );
        assert_eq!(
            messages,
            [
                "the initial retry delay (45 s) is longer than the maximum retry delay (30 s); raise `max_retry_delay_seconds` or lower `initial_retry_delay_seconds`"
            ]
        );
    }

    #[test]
    fn refuses_items_that_are_not_structs() {
        let messages = errors(
            quote!(path = "/w", kinds = ["a"]),
            quote!(
                union U {
                    a: u8,
                }
            ),
        );
        assert!(messages[0].contains("not on a union"), "{messages:?}");
    }

    #[test]
    fn expands_to_the_struct_and_a_registration() {
        let out = webhook_processor(
            quote!(
                path = "/webhook",
                kinds = ["issue"],
                initial_retry_delay_seconds = 1.5
            ),
            quote!(
                #[cfg(feature = "jira")]
                #[derive(Default)]
                struct r#Issue;
            ),
        )
        .to_string();
        assert!(
            out.starts_with("# [cfg (feature = \"jira\")] # [derive (Default)] struct r#Issue ;"),
            "{out}"
        );
        assert!(out.contains("path : \"/webhook\""), "{out}");
        assert!(out.contains("name : \"Issue\""), "{out}");
        assert!(out.contains("kinds : & [\"issue\"]"), "{out}");
        assert!(
            out.contains(
                "initial_retry_delay : :: core :: time :: Duration :: new (1u64 , 500000000u32)"
            ),
            "{out}"
        );
        assert!(
            out.contains("factory : processor_factory :: < r#Issue >"),
            "{out}"
        );
        // The registration is compiled out together with the struct.
        assert_eq!(
            out.matches("# [cfg (feature = \"jira\")]").count(),
            2,
            "{out}"
        );
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn keeps_the_item_and_adds_the_error_when_the_input_is_wrong() {
        let out = webhook_processor(
            quote!(path = "webhook", kinds = ["issue"]),
            quote!(
                struct P;
            ),
        )
        .to_string();
        assert!(out.starts_with("struct P ;"), "{out}");
        assert!(out.contains("compile_error"), "{out}");
        assert!(!out.contains("submit"), "{out}");
    }
}
