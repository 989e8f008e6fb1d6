//! `#[on_start]`: a hook run once when the integration starts.

use crate::attr::{ArgSpec, Args};
use crate::output::{both, expansion_or_item};
use crate::signature::{cfg_attributes, check_callback};
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{ItemFn, ReturnType};

const MACRO: &str = "#[on_start]";

static SPEC: ArgSpec = ArgSpec {
    macro_name: MACRO,
    keys: &[],
};

const EXAMPLE: &str = "async fn init(ctx: ocean::Context) -> ocean::Result<()>";

/// Everything the expansion needs, already validated.
struct StartModel {
    function: syn::Ident,
    return_span: Span,
    context_span: Span,
    cfgs: Vec<syn::Attribute>,
}

fn check_async_and_return(item: &ItemFn) -> syn::Result<Span> {
    let sig = &item.sig;
    let mut errors = Vec::new();
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new(
            sig.fn_token.span,
            format!("`{MACRO}` hooks must be `async fn`: `{EXAMPLE}`"),
        ));
    }
    let span = match &sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => {
            errors.push(syn::Error::new(
                sig.paren_token.span.close(),
                format!("`{MACRO}` hooks must return `ocean::Result<()>`: `{EXAMPLE}`"),
            ));
            sig.ident.span()
        }
    };
    crate::output::combine(errors)?;
    Ok(span)
}

fn model(args: syn::Result<()>, item: &ItemFn) -> syn::Result<StartModel> {
    let checks = both(
        check_callback(item, MACRO, EXAMPLE),
        check_async_and_return(item),
    );
    let ((), (callback, return_span)) = both(args, checks)?;
    Ok(StartModel {
        function: item.sig.ident.clone(),
        return_span,
        context_span: callback.context_span,
        cfgs: cfg_attributes(item).into_iter().cloned().collect(),
    })
}

fn parse_args(attr: TokenStream) -> syn::Result<()> {
    (|input: syn::parse::ParseStream<'_>| Args::parse(input, &SPEC)).parse2(attr)?;
    Ok(())
}

fn expand(item: &ItemFn, model: &StartModel) -> TokenStream {
    let function = &model.function;
    let name = function.unraw().to_string();
    let ctx = quote_spanned!(model.context_span=> ctx);
    // Spanned on the return type, where a wrong one is reported.
    let output = quote_spanned!(model.return_span=> output);
    let call = quote_spanned! {model.return_span=>
        ::ocean::__private::start_hook(#output)
    };
    let cfgs = &model.cfgs;
    quote! {
        #item

        #(#cfgs)*
        const _: () = {
            fn __ocean_start_hook(
                ctx: ::ocean::__private::Context,
            ) -> ::ocean::__private::futures::future::BoxFuture<'static, ::ocean::__private::Result<()>> {
                let #output = #function(#ctx);
                #call
            }
            ::ocean::__private::inventory::submit! {
                ::ocean::__private::StartHook {
                    name: #name,
                    file: ::core::file!(),
                    line: ::core::line!(),
                    hook: __ocean_start_hook,
                }
            }
        };
    }
}

/// The whole macro: never fails, errors become `compile_error!` next to the original item.
pub(crate) fn on_start(attr: TokenStream, item: TokenStream) -> TokenStream {
    let result = syn::parse2::<ItemFn>(item.clone())
        .map_err(|e| {
            syn::Error::new(
                e.span(),
                format!("`{MACRO}` goes on a function: `{EXAMPLE}`"),
            )
        })
        .and_then(|func| {
            let model = model(parse_args(attr), &func)?;
            Ok(expand(&func, &model))
        });
    expansion_or_item(MACRO, item, result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(attr: TokenStream, item: TokenStream) -> Vec<String> {
        let item: ItemFn = match syn::parse2(item) {
            Ok(item) => item,
            Err(e) => return vec![format!("test item does not parse: {e}")],
        };
        match model(parse_args(attr), &item) {
            Ok(_) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn accepts_an_async_hook_taking_the_context() {
        assert!(
            errors(
                quote!(),
                quote!(
                    async fn init(ctx: Context) -> ocean::Result<()> {}
                )
            )
            .is_empty()
        );
    }

    #[test]
    fn rejects_arguments_plain_fns_and_missing_return_types_together() {
        let messages = errors(
            quote!(kind = "x"),
            quote!(
                fn init(ctx: Context) {}
            ),
        );
        assert_eq!(
            messages,
            [
                "unknown argument `kind`: `#[on_start]` takes no arguments",
                "`#[on_start]` hooks must be `async fn`: `async fn init(ctx: ocean::Context) -> ocean::Result<()>`",
                "`#[on_start]` hooks must return `ocean::Result<()>`: `async fn init(ctx: ocean::Context) -> ocean::Result<()>`",
            ]
        );
    }

    #[test]
    fn expands_to_the_item_and_a_registered_hook() {
        let out = on_start(
            quote!(),
            quote!(
                async fn init(ctx: Context) -> R {
                    x
                }
            ),
        );
        let out = out.to_string();
        assert!(out.starts_with("async fn init"), "{out}");
        assert!(out.contains("StartHook { name : \"init\""), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }
}
