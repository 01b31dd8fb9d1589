//! `#[derive(Metrics)]`: a struct of instruments with one global,
//! statically registered instance.

use super::{crate_path, named_fields, Attrs};
use crate::declare::{doc_string, metadata_with_keys, parse_buckets, Shape};
use crate::names::{check_declared, check_otel_name, strict_by_default, Kind};
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{DeriveInput, Expr, ExprLit, GenericArgument, Lit, PathArguments, Type};

const FIELD_ATTRS: &[&str] = &[
    "name",
    "unit",
    "description",
    "buckets",
    "cardinality_limit",
    "flatten",
];

/// An instrument field's type: its kind and label set, if any.
fn instrument_type(ty: &Type) -> Option<(Kind, Option<&Type>)> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    let kind = match Kind::from_ident(&last.ident.to_string())? {
        Kind::Timer | Kind::ObservableGauge => return None,
        k => k,
    };
    let labels = match &last.arguments {
        PathArguments::None => None,
        PathArguments::AngleBracketed(a) if a.args.len() == 1 => match &a.args[0] {
            GenericArgument::Type(t) => Some(t),
            _ => return None,
        },
        _ => return None,
    };
    Some((kind, labels))
}

pub(crate) fn metrics(input: DeriveInput) -> syn::Result<TokenStream> {
    let ident = input.ident.clone();
    match expand(input) {
        Ok(ts) => Ok(ts),
        // Keep `global()` resolvable so the user sees this error only.
        Err(e) => {
            let err = e.to_compile_error();
            Ok(quote! {
                #err
                impl #ident {
                    #[doc(hidden)]
                    pub fn global() -> &'static Self { ::core::unreachable!() }
                }
            })
        }
    }
}

fn expand(input: DeriveInput) -> syn::Result<TokenStream> {
    let container = Attrs::parse(&input.attrs, "metrics", &["prefix", "crate"])?;
    let krate = crate_path(&container)?;
    let prefix = container.get_str("prefix")?;
    if let Some(p) = &prefix {
        let v = p.value();
        if check_otel_name(&v).is_err() || v.ends_with('_') {
            return Err(syn::Error::new(
                p.span(),
                "the prefix is the start of an OpenTelemetry name (an ASCII letter, then letters, \
                 digits, `_`, `.`, `-`, `/`) without a trailing `_`: it is joined to field names \
                 with one",
            ));
        }
    }
    let fields = named_fields(
        &input,
        "#[derive(Metrics)] is for structs whose named fields are instruments",
        "a Metrics struct has named fields",
        "a Metrics struct cannot be generic: it has one global instance",
    )?;
    let ident = &input.ident;
    let mut inits = Vec::new();
    let mut pushes = Vec::new();
    let mut names: Vec<(String, Span)> = Vec::new();
    for f in &fields.named {
        let fi = f.ident.as_ref().expect("named field");
        let attrs = Attrs::parse(&f.attrs, "metric", FIELD_ATTRS)?;
        let ty = &f.ty;
        if attrs.flag("flatten")? {
            if let Some((k, _)) = attrs.items_except(&["flatten"]).first() {
                return Err(syn::Error::new(
                    attrs.span_of(k).unwrap_or(fi.span()),
                    "a flattened field takes no other #[metric(..)] attribute",
                ));
            }
            inits
                .push(quote_spanned! {ty.span()=> #fi: <#ty as #krate::Metrics>::__TELEMETRY_NEW });
            pushes.push(quote!(<#ty as #krate::Metrics>::__telemetry_instruments(&self.#fi, out);));
            continue;
        }
        let Some((kind, labels)) = instrument_type(ty) else {
            return Err(syn::Error::new(
                ty.span(),
                "a Metrics field is a Counter, UpDownCounter, Gauge or Histogram, optionally with a \
                 label set (`Counter<MyLabels>`), or a nested metrics struct marked #[metric(flatten)]",
            ));
        };
        let name_lit = attrs.get_str("name")?;
        let field_name = fi.to_string().trim_start_matches("r#").to_owned();
        let (name, name_span) = match (&name_lit, &prefix) {
            (Some(n), _) => (n.value(), n.span()),
            (None, Some(p)) => (format!("{}_{field_name}", p.value()), fi.span()),
            (None, None) => (field_name, fi.span()),
        };
        let unit = attrs
            .get_str("unit")?
            .map(|u| u.value())
            .unwrap_or_default();
        if let Err(msg) = check_declared(&name, kind, &unit, strict_by_default()) {
            let span = if msg.starts_with("unknown unit") || msg.starts_with("invalid unit") {
                attrs.span_of("unit").unwrap_or(name_span)
            } else {
                name_span
            };
            return Err(syn::Error::new(span, msg));
        }
        if let Some((_, first)) = names.iter().find(|(n, _)| *n == name) {
            let mut e = syn::Error::new(
                name_span,
                format!("metric name `{name}` is used twice in this struct"),
            );
            e.combine(syn::Error::new(*first, "first used here"));
            return Err(e);
        }
        names.push((name.clone(), name_span));
        let buckets = match attrs.value("buckets")? {
            None => None,
            Some(e) if kind == Kind::Histogram => Some(parse_buckets(e)?),
            Some(e) => {
                return Err(syn::Error::new(
                    e.span(),
                    "`buckets` is only for Histogram fields",
                ));
            }
        };
        let cardinality_limit = match attrs.value("cardinality_limit")? {
            None => None,
            Some(Expr::Lit(ExprLit {
                lit: Lit::Int(i), ..
            })) => {
                let n: usize = i.base10_parse()?;
                if n == 0 {
                    return Err(syn::Error::new(
                        i.span(),
                        "`cardinality_limit` must be at least 1",
                    ));
                }
                Some(n)
            }
            Some(e) => {
                return Err(syn::Error::new(
                    e.span(),
                    "`cardinality_limit` takes an integer literal",
                ))
            }
        };
        let description = match attrs.get_str("description")? {
            Some(d) => Some(d.value()),
            None => doc_string(&f.attrs),
        };
        let shape = Shape {
            unit,
            description,
            buckets,
            cardinality_limit,
        };
        let keys = match labels {
            Some(l) => (
                quote_spanned!(l.span()=> <#l as #krate::LabelSet>::KEYS),
                quote_spanned!(l.span()=> <#l as #krate::LabelSet>::VALUES),
            ),
            None => (quote!(&[]), quote!(&[])),
        };
        let meta = metadata_with_keys(
            &krate,
            kind,
            &name,
            &shape,
            quote!(&[]),
            quote!(&[&[]]),
            keys,
            fi.span(),
        );
        inits.push(quote_spanned! {ty.span()=> #fi: <#ty>::__new(#meta) });
        pushes.push(quote!(out.push(self.#fi.__instrument());));
    }
    Ok(quote! {
        const _: () = {
            #[automatically_derived]
            impl #krate::Metrics for #ident {
                #[allow(clippy::declare_interior_mutable_const)]
                const __TELEMETRY_NEW: Self = #ident { #(#inits),* };

                fn __telemetry_instruments(
                    &'static self,
                    out: &mut ::std::vec::Vec<&'static #krate::__private::Instrument>,
                ) {
                    #(#pushes)*
                }
            }

            #[automatically_derived]
            impl #ident {
                /// The process-wide instance of these metrics, registered at
                /// link time and exported from the first export on.
                #[inline]
                pub fn global() -> &'static Self {
                    #[allow(clippy::declare_interior_mutable_const, clippy::borrow_interior_mutable_const)]
                    static GLOBAL: #ident = <#ident as #krate::Metrics>::__TELEMETRY_NEW;
                    #[#krate::__private::linkme::distributed_slice(#krate::__private::TELEMETRY_RUNTIME_METRIC_GROUPS)]
                    #[linkme(crate = #krate::__private::linkme)]
                    static ENTRY: &'static dyn #krate::__private::MetricsGroup = &GLOBAL;
                    &GLOBAL
                }
            }
        };
    })
}
