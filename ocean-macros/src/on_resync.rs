//! `#[on_resync]` / `#[on_resync(kind = "...")]`: parse the arguments, check the function into
//! a model, expand to the function as written plus a registered wrapper.

use crate::attr::{ArgSpec, Args};
use crate::output::{both, expansion_or_item};
use crate::signature::{cfg_attributes, check_callback};
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{ItemFn, LitStr, ReturnType, Type};

const MACRO: &str = "#[on_resync]";

static SPEC: ArgSpec = ArgSpec {
    macro_name: MACRO,
    keys: &[("kind", "\"person\"")],
};

const ONE_BATCH: &str =
    "async fn persons(ctx: ocean::Context) -> ocean::Result<Vec<ocean::RawItem>>";
const MANY_BATCHES: &str = "fn persons(ctx: ocean::Context) -> impl Stream<Item = ocean::Result<Vec<ocean::RawItem>>> + Send + 'static";

/// The arguments as written.
struct ResyncArgs {
    kind: Option<LitStr>,
}

impl ResyncArgs {
    fn parse(attr: TokenStream) -> syn::Result<Self> {
        let mut args =
            (|input: syn::parse::ParseStream<'_>| Args::parse(input, &SPEC)).parse2(attr)?;
        Ok(Self {
            kind: args.take_str("kind")?,
        })
    }

    /// The kind, validated: `None` for a catch-all handler.
    fn kind(&self) -> syn::Result<Option<String>> {
        let Some(lit) = &self.kind else {
            return Ok(None);
        };
        let kind = lit.value();
        if kind.is_empty() {
            return Err(syn::Error::new(
                lit.span(),
                "`kind` must not be empty; leave `kind` out for a catch-all handler called for every kind",
            ));
        }
        if kind.trim() != kind {
            return Err(syn::Error::new(
                lit.span(),
                format!(
                    "`kind` has leading or trailing whitespace, so it would never match the mapping's kind; write `kind = \"{}\"`",
                    kind.trim()
                ),
            ));
        }
        Ok(Some(kind))
    }
}

/// How the handler delivers its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `async fn` returning one batch.
    OneBatch,
    /// Plain `fn` returning a stream of batches.
    Stream,
}

/// Everything the expansion needs, already validated.
struct ResyncModel {
    kind: Option<String>,
    shape: Shape,
    function: syn::Ident,
    /// Where a wrong return type is reported.
    return_span: Span,
    /// Where a wrong context type is reported.
    context_span: Span,
    cfgs: Vec<syn::Attribute>,
}

fn last_segment_is(ty: &Type, names: &[&str]) -> bool {
    match ty {
        Type::Path(p) => p
            .path
            .segments
            .last()
            .is_some_and(|s| names.iter().any(|n| s.ident == n)),
        Type::Paren(p) => last_segment_is(&p.elem, names),
        Type::Group(g) => last_segment_is(&g.elem, names),
        _ => false,
    }
}

fn is_impl_stream(ty: &Type) -> bool {
    match ty {
        Type::ImplTrait(i) => i.bounds.iter().any(|b| match b {
            syn::TypeParamBound::Trait(t) => t
                .path
                .segments
                .last()
                .is_some_and(|s| s.ident == "Stream" || s.ident == "TryStream"),
            _ => false,
        }),
        Type::Paren(p) => is_impl_stream(&p.elem),
        _ => false,
    }
}

fn check_return(item: &ItemFn) -> syn::Result<(Shape, Span)> {
    let sig = &item.sig;
    let shape = if sig.asyncness.is_some() {
        Shape::OneBatch
    } else {
        Shape::Stream
    };
    let ty = match &sig.output {
        ReturnType::Type(_, ty) => ty,
        ReturnType::Default => {
            let span = sig.paren_token.span.close();
            let msg = match shape {
                Shape::OneBatch => {
                    format!("`{MACRO}` handler must return its batch: `{ONE_BATCH}`")
                }
                Shape::Stream => format!(
                    "`{MACRO}` handler must return its batches: `{MANY_BATCHES}`, or be an `async fn` returning one batch"
                ),
            };
            return Err(syn::Error::new(span, msg));
        }
    };
    match shape {
        Shape::OneBatch if is_impl_stream(ty) => Err(syn::Error::new_spanned(
            ty,
            format!(
                "an `async fn` handler returns one batch, `ocean::Result<Vec<ocean::RawItem>>`; to return a stream of batches remove `async`: `{MANY_BATCHES}`"
            ),
        )),
        Shape::Stream if last_segment_is(ty, &["Vec", "Result"]) => Err(syn::Error::new_spanned(
            ty,
            format!(
                "a handler that is not `async` must return a stream of batches: `{MANY_BATCHES}`; to return one batch make it an `async fn`"
            ),
        )),
        _ => Ok((shape, ty.span())),
    }
}

fn model(args: syn::Result<ResyncArgs>, item: &ItemFn) -> syn::Result<ResyncModel> {
    let example = if item.sig.asyncness.is_some() {
        ONE_BATCH
    } else {
        MANY_BATCHES
    };
    let kind = args.and_then(|a| a.kind());
    let callback = check_callback(item, MACRO, example);
    let output = check_return(item);
    let ((kind, callback), (shape, return_span)) = both(both(kind, callback), output)?;
    Ok(ResyncModel {
        kind,
        shape,
        function: item.sig.ident.clone(),
        return_span,
        context_span: callback.context_span,
        cfgs: cfg_attributes(item).into_iter().cloned().collect(),
    })
}

fn expand(item: &ItemFn, model: &ResyncModel) -> TokenStream {
    let function = &model.function;
    let name = function.unraw().to_string();
    let kind = match &model.kind {
        Some(kind) => quote!(::core::option::Option::Some(#kind)),
        None => quote!(::core::option::Option::None),
    };
    let ctx = quote_spanned!(model.context_span=> ctx);
    let adapter = match model.shape {
        Shape::OneBatch => quote_spanned!(model.return_span=> one_batch),
        Shape::Stream => quote_spanned!(model.return_span=> batch_stream),
    };
    // Spanned on the return type, so a wrong batch type or a stream that is not `Send` is
    // reported there rather than on the attribute.
    let output = quote_spanned!(model.return_span=> output);
    let call = quote_spanned! {model.return_span=>
        ::ocean::__private::#adapter(#output)
    };
    let cfgs = &model.cfgs;
    quote! {
        #item

        #(#cfgs)*
        const _: () = {
            fn __ocean_resync_handler(ctx: ::ocean::__private::Context) -> ::ocean::__private::ResyncStream {
                let #output = #function(#ctx);
                #call
            }
            ::ocean::__private::inventory::submit! {
                ::ocean::__private::ResyncHandler {
                    kind: #kind,
                    name: #name,
                    file: ::core::file!(),
                    line: ::core::line!(),
                    handler: __ocean_resync_handler,
                }
            }
        };
    }
}

/// The whole macro: never fails, errors become `compile_error!` next to the original item.
pub(crate) fn on_resync(attr: TokenStream, item: TokenStream) -> TokenStream {
    let result = syn::parse2::<ItemFn>(item.clone())
        .map_err(|e| {
            syn::Error::new(
                e.span(),
                format!("`{MACRO}` goes on a function: `{ONE_BATCH}` or `{MANY_BATCHES}`"),
            )
        })
        .and_then(|func| {
            let model = model(ResyncArgs::parse(attr), &func)?;
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
        match model(ResyncArgs::parse(attr), &item) {
            Ok(_) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn accepts_both_shapes_and_the_catch_all() {
        let one = quote!(
            async fn a(ctx: ocean::Context) -> ocean::Result<Vec<ocean::RawItem>> {}
        );
        assert!(errors(quote!(kind = "person"), one.clone()).is_empty());
        assert!(errors(quote!(), one).is_empty());
        let many = quote!(
            fn b(ctx: ocean::Context) -> impl Stream<Item = X> + Send + 'static {}
        );
        assert!(errors(quote!(kind = "person"), many).is_empty());
    }

    #[test]
    fn reports_argument_and_signature_errors_together() {
        let messages = errors(
            quote!(kind = ""),
            quote!(
                async fn a() -> ocean::Result<Vec<ocean::RawItem>> {}
            ),
        );
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[0].starts_with("`kind` must not be empty"));
        assert!(messages[1].contains("take the context as their only parameter"));
    }

    #[test]
    fn rejects_a_stream_from_an_async_fn_and_a_batch_from_a_plain_fn() {
        let messages = errors(
            quote!(),
            quote!(
                async fn a(ctx: Context) -> impl Stream<Item = X> {}
            ),
        );
        assert!(messages[0].starts_with("an `async fn` handler returns one batch"));
        let messages = errors(
            quote!(),
            quote!(
                fn a(ctx: Context) -> Result<Vec<RawItem>> {}
            ),
        );
        assert!(messages[0].starts_with("a handler that is not `async` must return a stream"));
    }

    #[test]
    fn rejects_blank_padded_kinds() {
        let messages = errors(
            quote!(kind = " person"),
            quote!(
                async fn a(ctx: Context) -> R {}
            ),
        );
        assert!(
            messages[0].contains("write `kind = \"person\"`"),
            "{messages:?}"
        );
    }

    #[test]
    fn registers_the_unraw_function_name_and_the_kind() {
        let item: ItemFn = syn::parse_quote!(
            async fn r#type(ctx: Context) -> R {
                todo()
            }
        );
        let model = match model(ResyncArgs::parse(quote!(kind = "team")), &item) {
            Ok(model) => model,
            Err(e) => return assert_eq!(e.to_string(), "", "the model should build"),
        };
        let out = expand(&item, &model).to_string();
        assert!(out.contains("name : \"type\""), "{out}");
        assert!(out.contains("Some (\"team\")"), "{out}");
        assert!(
            out.contains("let output = r#type (ctx) ; :: ocean :: __private :: one_batch (output)"),
            "{out}"
        );
    }

    #[test]
    fn keeps_the_item_and_adds_the_error_when_the_input_is_wrong() {
        let out = on_resync(
            quote!(kind = 1),
            quote!(
                async fn a(ctx: Context) -> R {}
            ),
        )
        .to_string();
        assert!(out.starts_with("async fn a"), "{out}");
        assert!(out.contains("compile_error"), "{out}");
        assert!(!out.contains("submit"), "{out}");
    }
}
