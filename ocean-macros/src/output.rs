//! What a macro hands back to the compiler, on success and on error.

use proc_macro2::TokenStream;

/// The expansion, or on error the original item followed by the errors: the rest of the
/// author's code still type-checks (and completion keeps working) while the error is shown.
pub(crate) fn expansion_or_item(
    macro_name: &str,
    item: TokenStream,
    result: syn::Result<TokenStream>,
) -> TokenStream {
    let output = match result {
        Ok(expansion) => expansion,
        Err(error) => {
            let mut output = item;
            output.extend(error.into_compile_error());
            output
        }
    };
    debug_print(macro_name, &output);
    output
}

/// With `OCEAN_MACROS_DEBUG` set (to anything but `0` or empty), prints every expansion to
/// stderr while compiling.
pub(crate) fn debug_print(macro_name: &str, output: &TokenStream) {
    let enabled = std::env::var_os("OCEAN_MACROS_DEBUG").is_some_and(|v| !v.is_empty() && v != "0");
    if enabled {
        eprintln!("// expansion of {macro_name}\n{output}\n");
    }
}

/// Folds several errors into one, so all of them are reported in one compile.
pub(crate) fn combine(errors: impl IntoIterator<Item = syn::Error>) -> syn::Result<()> {
    let mut errors = errors.into_iter();
    let Some(mut first) = errors.next() else {
        return Ok(());
    };
    for error in errors {
        first.combine(error);
    }
    Err(first)
}

/// Both results, or every error of the two.
pub(crate) fn both<A, B>(a: syn::Result<A>, b: syn::Result<B>) -> syn::Result<(A, B)> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(mut first), Err(second)) => {
            first.combine(second);
            Err(first)
        }
        (Err(e), Ok(_)) | (Ok(_), Err(e)) => Err(e),
    }
}
