//! `#[metered]`: parse the options and the item, validate, expand.

mod attr;
mod expand;

use attr::Options;
use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::spanned::Spanned;

/// Expands `#[metered(attr)] item`. On error, the item is returned
/// unchanged beside the error, so the user sees one message and the rest
/// of their code still type-checks.
pub(crate) fn metered(attr: TokenStream, item: TokenStream) -> TokenStream {
    match try_metered(attr, item.clone()) {
        Ok(ts) => ts,
        Err(e) => {
            let err = e.to_compile_error();
            quote!(#err #item)
        }
    }
}

fn try_metered(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let opts: Options = syn::parse2(attr)?;
    if let Some(span) = opts.skip {
        return Err(syn::Error::new(
            span,
            "`skip` opts a method out of a metered impl block; on its own, remove the attribute",
        ));
    }
    // Anything that does not parse is left for rustc to report at the
    // user's own tokens.
    let Ok(parsed) = syn::parse2::<syn::Item>(item.clone()) else {
        return Ok(item);
    };
    match parsed {
        syn::Item::Fn(mut f) => {
            let name = f.sig.ident.to_string();
            expand::meter_fn(&f.attrs, &f.sig, &mut f.block, &opts, &name)?;
            Ok(f.into_token_stream())
        }
        syn::Item::Impl(mut imp) => {
            let ty = type_name(&imp.self_ty);
            let mut errors: Option<syn::Error> = None;
            for it in &mut imp.items {
                let syn::ImplItem::Fn(f) = it else { continue };
                match method_options(&mut f.attrs) {
                    Err(e) => push(&mut errors, e),
                    Ok(Some(m)) if m.skip.is_some() => {}
                    Ok(m) => {
                        let o = m.map_or_else(|| opts.clone(), |m| m.over(&opts));
                        let name = format!("{ty}::{}", f.sig.ident);
                        if let Err(e) = expand::meter_fn(&f.attrs, &f.sig, &mut f.block, &o, &name)
                        {
                            push(&mut errors, e);
                        }
                    }
                }
            }
            match errors {
                Some(e) => Err(e),
                None => Ok(imp.into_token_stream()),
            }
        }
        other => Err(syn::Error::new(
            match &other {
                syn::Item::Const(c) => c.const_token.span(),
                _ => other.span(),
            },
            "#[metered] goes on a function, a method or an impl block",
        )),
    }
}

fn push(acc: &mut Option<syn::Error>, e: syn::Error) {
    match acc {
        Some(a) => a.combine(e),
        None => *acc = Some(e),
    }
}

/// Takes the `#[metered(..)]` attributes off a method of a metered impl.
fn method_options(attrs: &mut Vec<syn::Attribute>) -> syn::Result<Option<Options>> {
    let mut found = None;
    let mut err = None;
    attrs.retain(|a| {
        let is_ours = a
            .path()
            .segments
            .last()
            .is_some_and(|s| s.ident == "metered");
        if !is_ours {
            return true;
        }
        let parsed = match &a.meta {
            syn::Meta::Path(_) => Ok(Options::default()),
            syn::Meta::List(l) => l.parse_args::<Options>(),
            syn::Meta::NameValue(nv) => Err(syn::Error::new(nv.span(), "write #[metered(..)]")),
        };
        match parsed {
            Ok(o) => found = Some(o),
            Err(e) => err = Some(e),
        }
        false
    });
    match err {
        Some(e) => Err(e),
        None => Ok(found),
    }
}

fn type_name(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(p) => p
            .path
            .segments
            .last()
            .map_or_else(|| quote!(#p).to_string(), |s| s.ident.to_string()),
        other => quote!(#other).to_string().replace(' ', ""),
    }
}
