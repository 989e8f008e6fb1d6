//! `ocean::run!()`: the integration's `main`.

use crate::attr::{ArgSpec, Args};
use crate::output::expansion_or_item;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{Ident, Type};

const MACRO: &str = "ocean::run!";

static SPEC: ArgSpec = ArgSpec {
    macro_name: MACRO,
    keys: &[("config", "MyConfig"), ("crates", "[my_handlers]")],
};

/// The arguments, validated.
struct RunModel {
    /// The integration's configuration type; `None` for an integration without one.
    config: Option<Type>,
    /// Library crates whose registrations must be linked into the binary.
    crates: Vec<Ident>,
}

fn model(input: TokenStream) -> syn::Result<RunModel> {
    let mut args =
        (|input: syn::parse::ParseStream<'_>| Args::parse(input, &SPEC)).parse2(input)?;
    let config = args.take_type("config")?;
    let crates = args.take_ident_list("crates")?.unwrap_or_default();
    for (i, name) in crates.iter().enumerate() {
        if crates[..i].contains(name) {
            return Err(syn::Error::new(
                name.span(),
                format!("crate `{name}` is listed twice in `crates`"),
            ));
        }
    }
    Ok(RunModel { config, crates })
}

fn expand(model: &RunModel) -> TokenStream {
    let config = match &model.config {
        Some(ty) => quote_spanned!(ty.span()=> #ty),
        None => quote!(::ocean::__private::NoConfig),
    };
    // A crate nothing refers to is not linked, and its `inventory` registrations vanish with
    // it; naming it keeps it. The binary's own registrations are always linked.
    let links = model.crates.iter().map(|name| {
        quote_spanned! {name.span()=>
            #[allow(unused_imports)]
            use ::#name as _;
        }
    });
    quote! {
        #(#links)*

        ::ocean::__private::global_allocator!();

        fn main() -> ::std::process::ExitCode {
            ::ocean::__private::run::<#config>(::ocean::__private::IntegrationInfo {
                name: ::core::env!("CARGO_PKG_NAME"),
                version: ::core::env!("CARGO_PKG_VERSION"),
                manifest_dir: ::core::env!("CARGO_MANIFEST_DIR"),
            })
        }
    }
}

/// The whole macro. On bad arguments it still defines `main` (with no configuration), so the
/// only error shown is the one about the arguments.
pub(crate) fn run(input: TokenStream) -> TokenStream {
    let fallback = expand(&RunModel {
        config: None,
        crates: Vec::new(),
    });
    let result = model(input).map(|model| expand(&model));
    expansion_or_item(MACRO, fallback, result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(input: TokenStream) -> String {
        match model(input) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn without_arguments_runs_with_no_config() {
        let out = run(quote!()).to_string();
        assert!(
            out.contains("run :: < :: ocean :: __private :: NoConfig >"),
            "{out}"
        );
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn links_the_listed_crates_and_uses_the_config_type() {
        let out = run(quote!(
            config = settings::Config,
            crates = [jira_handlers, shared],
        ))
        .to_string();
        assert!(out.contains("use :: jira_handlers as _ ;"), "{out}");
        assert!(out.contains("use :: shared as _ ;"), "{out}");
        assert!(out.contains("run :: < settings :: Config >"), "{out}");
    }

    #[test]
    fn rejects_bad_arguments_but_still_defines_main() {
        assert_eq!(
            error(quote!(config = "Settings")),
            "expected a type for `config`, found a string literal: `config = MyConfig`"
        );
        assert_eq!(
            error(quote!(crates = [a, a])),
            "crate `a` is listed twice in `crates`"
        );
        let out = run(quote!(port = 8000)).to_string();
        assert!(out.contains("fn main"), "{out}");
        assert!(out.contains("compile_error"), "{out}");
    }
}
