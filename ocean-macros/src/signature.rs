//! Checks on the functions the attribute macros are put on: the parts every Ocean callback
//! shares (a free, non-generic function taking the context by value).

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, Type};

/// What the checks learnt about an accepted function.
pub(crate) struct Callback {
    /// Span of the context parameter's type, where a wrong type is reported.
    pub(crate) context_span: Span,
}

/// Checks that `item` is a free, non-generic, safe Rust function taking exactly one context
/// parameter by value. `macro_name` and `example` (a correct signature) go into the messages.
/// All problems are reported together.
pub(crate) fn check_callback(
    item: &ItemFn,
    macro_name: &str,
    example: &str,
) -> syn::Result<Callback> {
    let sig = &item.sig;
    let mut errors = Vec::new();

    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        let message = format!(
            "`{macro_name}` functions cannot be generic: the runtime calls them with no type or lifetime arguments; expected `{example}`"
        );
        errors.push(match &sig.generics.where_clause {
            Some(w) if sig.generics.params.is_empty() => syn::Error::new_spanned(w, message),
            _ => syn::Error::new_spanned(&sig.generics, message),
        });
    }
    if let Some(c) = &sig.constness {
        errors.push(syn::Error::new(
            c.span,
            format!("`{macro_name}` functions cannot be `const`"),
        ));
    }
    if let Some(u) = &sig.unsafety {
        errors.push(syn::Error::new(
            u.span,
            format!("`{macro_name}` functions cannot be `unsafe`"),
        ));
    }
    if let Some(abi) = &sig.abi {
        errors.push(syn::Error::new_spanned(
            abi,
            format!("`{macro_name}` functions must use the Rust ABI; remove the `extern`"),
        ));
    }
    if let Some(v) = &sig.variadic {
        errors.push(syn::Error::new(
            v.span(),
            format!("`{macro_name}` functions cannot be variadic"),
        ));
    }

    let mut context_span = sig.ident.span();
    let mut inputs = sig.inputs.iter();
    match inputs.next() {
        None => errors.push(syn::Error::new(
            sig.paren_token.span.join(),
            format!(
                "`{macro_name}` functions take the context as their only parameter: `{example}`"
            ),
        )),
        Some(FnArg::Receiver(receiver)) => errors.push(syn::Error::new_spanned(
            receiver,
            format!(
                "`{macro_name}` cannot be used on methods: make it a free function, `{example}`"
            ),
        )),
        Some(FnArg::Typed(param)) => {
            context_span = param.ty.span();
            if let Type::Reference(reference) = &*param.ty {
                errors.push(syn::Error::new_spanned(
                    reference,
                    format!("take the context by value (it is cheap to clone): `{example}`"),
                ));
            }
        }
    }
    for extra in inputs {
        errors.push(syn::Error::new_spanned(
            extra,
            format!(
                "`{macro_name}` functions take exactly one parameter, the context; remove this one: `{example}`"
            ),
        ));
    }

    crate::output::combine(errors)?;
    Ok(Callback { context_span })
}

/// `#[cfg]` and `#[cfg_attr]` attributes of the function, copied onto the generated
/// registration so that a function compiled out does not leave a dangling registration.
pub(crate) fn cfg_attributes(item: &ItemFn) -> Vec<&syn::Attribute> {
    item.attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    const EXAMPLE: &str = "async fn f(ctx: ocean::Context)";

    fn messages(item: &ItemFn) -> Vec<String> {
        match check_callback(item, "#[m]", EXAMPLE) {
            Ok(_) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn accepts_a_free_function_taking_the_context() {
        let item: ItemFn = parse_quote!(
            async fn f(_ctx: ocean::Context) {}
        );
        assert!(messages(&item).is_empty());
    }

    #[test]
    fn reports_every_problem_at_once() {
        let item: ItemFn = parse_quote!(
            unsafe fn f<T>(ctx: &Context, extra: u8) {}
        );
        let messages = messages(&item);
        assert_eq!(messages.len(), 4, "{messages:?}");
        assert!(messages[0].starts_with("`#[m]` functions cannot be generic"));
        assert_eq!(messages[1], "`#[m]` functions cannot be `unsafe`");
        assert!(messages[2].starts_with("take the context by value"));
        assert!(messages[3].starts_with("`#[m]` functions take exactly one parameter"));
    }

    #[test]
    fn reports_a_missing_context_and_methods() {
        let item: ItemFn = parse_quote!(
            async fn f() {}
        );
        assert_eq!(
            messages(&item),
            [
                "`#[m]` functions take the context as their only parameter: `async fn f(ctx: ocean::Context)`"
            ]
        );
        let item: ItemFn = parse_quote!(
            async fn f(&self) {}
        );
        assert!(messages(&item)[0].starts_with("`#[m]` cannot be used on methods"));
    }

    #[test]
    fn keeps_only_cfg_attributes() {
        let item: ItemFn = parse_quote! {
            #[cfg(feature = "x")]
            #[inline]
            async fn f(ctx: ocean::Context) {}
        };
        assert_eq!(cfg_attributes(&item).len(), 1);
    }
}
