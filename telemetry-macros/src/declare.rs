//! `declare_static_*!`: parse, validate, expand.
//!
//! Input (from the runtime's `macro_rules!` wrappers):
//! `$crate; Kind; #[attrs] vis NAME, "name", key = value, ...`

use crate::names::{check_buckets, check_name_for, Kind};
use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, ExprLit, Ident, Lit, LitStr, Token, Visibility};

pub(crate) struct Declaration {
    krate: TokenStream,
    kind: Kind,
    attrs: Vec<Attribute>,
    vis: Visibility,
    ident: Ident,
    name: LitStr,
    options: Vec<Opt>,
}

struct Opt {
    key: Ident,
    value: Expr,
}

impl Parse for Opt {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key: Ident = input.parse()?;
        input.parse::<Token![=]>()?;
        Ok(Opt {
            key,
            value: input.parse()?,
        })
    }
}

impl Parse for Declaration {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut krate = TokenStream::new();
        while !input.peek(Token![;]) {
            krate.extend([input.parse::<TokenTree>()?]);
        }
        input.parse::<Token![;]>()?;
        let kind_ident: Ident = input.parse()?;
        let kind = Kind::from_ident(&kind_ident.to_string())
            .ok_or_else(|| syn::Error::new(kind_ident.span(), "unknown instrument kind"))?;
        input.parse::<Token![;]>()?;
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let ident: Ident = input.parse().map_err(|e| {
            syn::Error::new(e.span(), "expected the static's name first, as in `declare_static_counter!(REQUESTS, \"requests_total\")`")
        })?;
        input.parse::<Token![,]>()?;
        let name: LitStr = match input.parse::<Lit>() {
            Ok(Lit::Str(s)) => s,
            Ok(other) => {
                return Err(syn::Error::new(
                    other.span(),
                    "the metric name must be a string literal, such as \"requests_total\"",
                ))
            }
            Err(_) => {
                return Err(syn::Error::new(
                    input.span(),
                    "the metric name must be a string literal, such as \"requests_total\"",
                ))
            }
        };
        let mut options = Vec::new();
        if input.parse::<Option<Token![,]>>()?.is_some() {
            let rest: Punctuated<Opt, Token![,]> = Punctuated::parse_terminated(input)?;
            options.extend(rest);
        }
        Ok(Declaration {
            krate,
            kind,
            attrs,
            vis,
            ident,
            name,
            options,
        })
    }
}

/// What the options say, validated.
pub(crate) struct Shape {
    pub(crate) unit: String,
    pub(crate) description: Option<String>,
    pub(crate) buckets: Option<Vec<f64>>,
    pub(crate) cardinality_limit: Option<usize>,
}

fn lit_str(e: &Expr, what: &str) -> syn::Result<String> {
    match e {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s.value()),
        _ => Err(syn::Error::new(
            e.span(),
            format!("`{what}` takes a string literal"),
        )),
    }
}

/// Parses `[0.1, 1, 2.5]` into numbers, with errors on the offending element.
pub(crate) fn parse_buckets(e: &Expr) -> syn::Result<Vec<f64>> {
    let Expr::Array(arr) = e else {
        return Err(syn::Error::new(
            e.span(),
            "`buckets` takes an array of number literals, such as [0.001, 0.01, 0.1, 1.0]",
        ));
    };
    let mut out = Vec::new();
    for el in &arr.elems {
        let (neg, inner) = match el {
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => (true, &*u.expr),
            other => (false, other),
        };
        let v = match inner {
            Expr::Lit(ExprLit {
                lit: Lit::Float(f), ..
            }) => f.base10_parse::<f64>()?,
            Expr::Lit(ExprLit {
                lit: Lit::Int(i), ..
            }) => i.base10_parse::<f64>()?,
            _ => {
                return Err(syn::Error::new(
                    el.span(),
                    "bucket bounds must be number literals, such as 0.25 or 10",
                ))
            }
        };
        out.push(if neg { -v } else { v });
    }
    if let Err((i, msg)) = check_buckets(&out) {
        let span = arr.elems.iter().nth(i).map_or(arr.span(), |e| e.span());
        return Err(syn::Error::new(span, msg));
    }
    Ok(out)
}

impl Declaration {
    fn shape(&self) -> syn::Result<Shape> {
        let mut shape = Shape {
            unit: String::new(),
            description: None,
            buckets: None,
            cardinality_limit: None,
        };
        let mut seen: Vec<String> = Vec::new();
        let mut unit_span = self.name.span();
        for opt in &self.options {
            let key = opt.key.to_string();
            if seen.contains(&key) {
                return Err(syn::Error::new(
                    opt.key.span(),
                    format!("`{key}` is given twice"),
                ));
            }
            seen.push(key.clone());
            match key.as_str() {
                "description" => shape.description = Some(lit_str(&opt.value, "description")?),
                "unit" => {
                    shape.unit = lit_str(&opt.value, "unit")?;
                    unit_span = opt.value.span();
                }
                "buckets" if self.kind == Kind::Histogram => {
                    shape.buckets = Some(parse_buckets(&opt.value)?)
                }
                "cardinality_limit" => match &opt.value {
                    Expr::Lit(ExprLit {
                        lit: Lit::Int(i), ..
                    }) => {
                        let n: usize = i.base10_parse()?;
                        if n == 0 {
                            return Err(syn::Error::new(
                                i.span(),
                                "`cardinality_limit` must be at least 1",
                            ));
                        }
                        shape.cardinality_limit = Some(n);
                    }
                    other => {
                        return Err(syn::Error::new(
                            other.span(),
                            "`cardinality_limit` takes an integer literal",
                        ))
                    }
                },
                _ => {
                    let allowed = if self.kind == Kind::Histogram {
                        "description, unit, buckets, cardinality_limit"
                    } else {
                        "description, unit, cardinality_limit"
                    };
                    return Err(syn::Error::new(
                        opt.key.span(),
                        format!(
                            "unknown option `{key}` for a {}; allowed: {allowed}",
                            self.kind.ident()
                        ),
                    ));
                }
            }
        }
        if let Err(msg) = check_name_for(&self.name.value(), self.kind, &shape.unit) {
            let span = if msg.starts_with("unknown unit") {
                unit_span
            } else {
                self.name.span()
            };
            return Err(syn::Error::new(span, msg));
        }
        if shape.description.is_none() {
            shape.description = doc_string(&self.attrs);
        }
        Ok(shape)
    }
}

/// The `///` comment of an item, joined into one line.
pub(crate) fn doc_string(attrs: &[Attribute]) -> Option<String> {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => Some(s.value().trim().to_owned()),
                _ => None,
            },
            _ => None,
        })
        .filter(|l| !l.is_empty())
        .collect();
    (!lines.is_empty()).then(|| lines.join(" "))
}

/// The bucket expression of a histogram: given, or the runtime default for
/// its unit.
pub(crate) fn buckets_tokens(
    krate: &TokenStream,
    kind: Kind,
    unit: &str,
    buckets: &Option<Vec<f64>>,
) -> TokenStream {
    match (kind, buckets) {
        (Kind::Histogram, Some(b)) => quote!(&[#(#b),*]),
        (Kind::Histogram, None) => match unit {
            "s" => quote!(#krate::DEFAULT_SECONDS_BUCKETS),
            "ms" => quote!(#krate::DEFAULT_MILLISECONDS_BUCKETS),
            _ => quote!(#krate::DEFAULT_BUCKETS),
        },
        _ => quote!(&[]),
    }
}

/// The `Metadata { .. }` expression.
pub(crate) fn metadata_tokens(
    krate: &TokenStream,
    kind: Kind,
    name: &str,
    shape: &Shape,
    const_attrs: TokenStream,
    zero_series: TokenStream,
    span: Span,
) -> TokenStream {
    metadata_with_keys(
        krate,
        kind,
        name,
        shape,
        const_attrs,
        zero_series,
        (quote!(&[]), quote!(&[])),
        span,
    )
}

/// [`metadata_tokens`] with typed label keys.
#[allow(clippy::too_many_arguments)]
pub(crate) fn metadata_with_keys(
    krate: &TokenStream,
    kind: Kind,
    name: &str,
    shape: &Shape,
    const_attrs: TokenStream,
    zero_series: TokenStream,
    (label_keys, label_values): (TokenStream, TokenStream),
    span: Span,
) -> TokenStream {
    let kind_ident = Ident::new(kind.ident(), Span::call_site());
    let unit = &shape.unit;
    let description = shape.description.clone().unwrap_or_default();
    let buckets = buckets_tokens(krate, kind, unit, &shape.buckets);
    let limit = match shape.cardinality_limit {
        Some(n) => quote!(#n),
        None => quote!(#krate::DEFAULT_CARDINALITY_LIMIT),
    };
    quote_spanned! {span=>
        #krate::__private::Metadata {
            name: #name,
            kind: #krate::__private::InstrumentKind::#kind_ident,
            unit: #unit,
            description: #description,
            buckets: #buckets,
            location: #krate::__private::Location {
                file: ::core::file!(),
                line: ::core::line!(),
                column: ::core::column!(),
                module_path: ::core::module_path!(),
            },
            cardinality_limit: #limit,
            const_attributes: #const_attrs,
            zero_series: #zero_series,
            label_keys: #label_keys,
            label_values: #label_values,
            objectives: &[],
        }
    }
}

/// The linkme element that registers `target` (an expression of type
/// `&'static Instrument`).
pub(crate) fn register_tokens(krate: &TokenStream, target: TokenStream) -> TokenStream {
    quote! {
        const _: () = {
            #[#krate::__private::linkme::distributed_slice(#krate::__private::TELEMETRY_RUNTIME_INSTRUMENTS)]
            #[linkme(crate = #krate::__private::linkme)]
            static __TELEMETRY_RUNTIME_ENTRY: &'static #krate::__private::Instrument = #target;
        };
    }
}

pub(crate) fn expand(d: Declaration) -> syn::Result<TokenStream> {
    let shape = d.shape()?;
    let krate = &d.krate;
    let kind_ident = Ident::new(d.kind.ident(), Span::call_site());
    let meta = metadata_tokens(
        krate,
        d.kind,
        &d.name.value(),
        &shape,
        quote!(&[]),
        quote!(&[&[]]),
        d.ident.span(),
    );
    let Declaration {
        attrs, vis, ident, ..
    } = &d;
    let register = register_tokens(krate, quote!(#ident.__instrument()));
    Ok(quote! {
        #(#attrs)*
        #vis static #ident: #krate::#kind_ident = #krate::#kind_ident::__new(#meta);
        #register
    })
}
