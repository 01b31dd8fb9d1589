//! The derives: `Metrics`, `LabelSet`, `LabelValue`.

pub(crate) mod labels;
pub(crate) mod metrics;

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, ExprLit, Lit, LitStr, Meta, Token};

/// The `#[name(key = value, flag)]` attributes of one item, validated
/// against the keys allowed there.
pub(crate) struct Attrs {
    items: Vec<(String, Meta)>,
}

impl Attrs {
    pub(crate) fn parse(attrs: &[Attribute], name: &str, allowed: &[&str]) -> syn::Result<Attrs> {
        let mut items: Vec<(String, Meta)> = Vec::new();
        for a in attrs.iter().filter(|a| a.path().is_ident(name)) {
            let metas: Punctuated<Meta, Token![,]> =
                a.parse_args_with(Punctuated::parse_terminated)?;
            for m in metas {
                let key = if m.path().is_ident("crate") {
                    "crate".to_owned()
                } else {
                    m.path().to_token_stream().to_string().replace(' ', "")
                };
                if !allowed.contains(&key.as_str()) {
                    let list = allowed
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    return Err(syn::Error::new(
                        m.path().span(),
                        format!("unknown attribute `{key}` in #[{name}(..)] here; allowed: {list}"),
                    ));
                }
                if items.iter().any(|(k, _)| *k == key) {
                    return Err(syn::Error::new(
                        m.path().span(),
                        format!("`{key}` is given twice"),
                    ));
                }
                items.push((key, m));
            }
        }
        Ok(Attrs { items })
    }

    /// Keys given other than `except`.
    pub(crate) fn items_except(&self, except: &[&str]) -> Vec<(String, ())> {
        self.items
            .iter()
            .filter(|(k, _)| !except.contains(&k.as_str()))
            .map(|(k, _)| (k.clone(), ()))
            .collect()
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Meta> {
        self.items.iter().find(|(k, _)| k == key).map(|(_, m)| m)
    }

    pub(crate) fn span_of(&self, key: &str) -> Option<Span> {
        self.get(key).map(|m| m.span())
    }

    pub(crate) fn value(&self, key: &str) -> syn::Result<Option<&Expr>> {
        match self.get(key) {
            None => Ok(None),
            Some(Meta::NameValue(nv)) => Ok(Some(&nv.value)),
            Some(m) => Err(syn::Error::new(m.span(), format!("write `{key} = ..`"))),
        }
    }

    pub(crate) fn get_str(&self, key: &str) -> syn::Result<Option<LitStr>> {
        match self.value(key)? {
            None => Ok(None),
            Some(Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            })) => Ok(Some(s.clone())),
            Some(e) => Err(syn::Error::new(
                e.span(),
                format!("`{key}` takes a string literal"),
            )),
        }
    }

    pub(crate) fn flag(&self, key: &str) -> syn::Result<bool> {
        match self.get(key) {
            None => Ok(false),
            Some(Meta::Path(_)) => Ok(true),
            Some(m) => Err(syn::Error::new(m.span(), format!("`{key}` takes no value"))),
        }
    }
}

/// The named fields of a non-generic struct, or an error at the user's
/// token: `not_struct` at the type name, `not_named` at the fields,
/// `generic` at the generics.
pub(crate) fn named_fields<'a>(
    input: &'a syn::DeriveInput,
    not_struct: &str,
    not_named: &str,
    generic: &str,
) -> syn::Result<&'a syn::FieldsNamed> {
    let syn::Data::Struct(data) = &input.data else {
        return Err(syn::Error::new(input.ident.span(), not_struct));
    };
    let syn::Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new(data.fields.span(), not_named));
    };
    no_generics(input, generic)?;
    Ok(fields)
}

/// An error at the generics, if there are any.
pub(crate) fn no_generics(input: &syn::DeriveInput, message: &str) -> syn::Result<()> {
    if input.generics.params.is_empty() {
        Ok(())
    } else {
        Err(syn::Error::new(input.generics.span(), message))
    }
}

/// The runtime crate's path: `crate = path` or `::telemetry_runtime`.
pub(crate) fn crate_path(attrs: &Attrs) -> syn::Result<TokenStream> {
    Ok(match attrs.value("crate")? {
        None => quote!(::telemetry_runtime),
        Some(Expr::Path(p)) => p.to_token_stream(),
        Some(Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        })) => s.parse::<syn::Path>()?.to_token_stream(),
        Some(e) => return Err(syn::Error::new(e.span(), "`crate` takes a path")),
    })
}

/// Runs a derive; on error, emits the error (the item itself is untouched
/// by a derive, so the rest of the user's code still type-checks).
pub(crate) fn run(
    input: proc_macro::TokenStream,
    f: fn(syn::DeriveInput) -> syn::Result<TokenStream>,
) -> proc_macro::TokenStream {
    match syn::parse::<syn::DeriveInput>(input).and_then(f) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}
