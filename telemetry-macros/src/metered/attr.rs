//! Parsing and validation of `#[metered(...)]` options.

use crate::declare::parse_buckets;
use crate::names::{check_attribute_key, check_declared, strict_by_default, Kind};
use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, LitStr, Meta, Token};

pub(crate) const ALLOWED: &str = "name = \"..\", labels(key = \"value\", ..), buckets = [..] with \
     histogram = \"..._seconds\", without(calls | duration | in_flight), \
     objective(latency = .., percentile = .., error_ratio = ..), crate = path, skip (on a method of a \
     metered impl block)";

/// The options of one `#[metered(...)]`.
#[derive(Clone, Default)]
pub(crate) struct Options {
    pub(crate) krate: Option<syn::Path>,
    pub(crate) name: Option<LitStr>,
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) buckets: Option<Vec<f64>>,
    pub(crate) histogram: Option<LitStr>,
    pub(crate) without_calls: bool,
    pub(crate) without_duration: bool,
    pub(crate) without_in_flight: bool,
    pub(crate) skip: Option<Span>,
    pub(crate) objectives: Vec<(String, f64)>,
}

impl Parse for Options {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let metas: Punctuated<Meta, Token![,]> = Punctuated::parse_terminated(input)?;
        let mut o = Options::default();
        let mut seen: Vec<String> = Vec::new();
        let mut buckets_span = None;
        for meta in metas {
            let key = meta
                .path()
                .get_ident()
                .map(|i| i.to_string())
                .or_else(|| meta.path().is_ident("crate").then(|| "crate".into()))
                .unwrap_or_else(|| {
                    let p = meta.path();
                    quote::quote!(#p).to_string().replace(' ', "")
                });
            if seen.contains(&key) {
                return Err(syn::Error::new(
                    meta.path().span(),
                    format!("`{key}` is given twice"),
                ));
            }
            seen.push(key.clone());
            match (key.as_str(), &meta) {
                ("name", Meta::NameValue(nv)) => {
                    let s = lit_str(&nv.value, "name")?;
                    if s.value().is_empty() {
                        return Err(syn::Error::new(s.span(), "`name` must not be empty"));
                    }
                    o.name = Some(s);
                }
                ("labels", Meta::List(list)) => {
                    let pairs: Punctuated<Meta, Token![,]> =
                        list.parse_args_with(Punctuated::parse_terminated)?;
                    for p in pairs {
                        let Meta::NameValue(nv) = &p else {
                            return Err(syn::Error::new(
                                p.span(),
                                "labels are written `labels(key = \"value\", ..)`",
                            ));
                        };
                        let k = nv.path.get_ident().map(|i| i.to_string()).ok_or_else(|| {
                            syn::Error::new(nv.path.span(), "a label key is one snake_case word")
                        })?;
                        if let Err(e) = check_attribute_key(&k) {
                            return Err(syn::Error::new(nv.path.span(), e));
                        }
                        if matches!(k.as_str(), "function" | "module" | "result") {
                            return Err(syn::Error::new(
                                nv.path.span(),
                                format!(
                                    "label `{k}` is set by #[metered] itself; choose another key"
                                ),
                            ));
                        }
                        if o.labels.iter().any(|(x, _)| *x == k) {
                            return Err(syn::Error::new(
                                nv.path.span(),
                                format!("label `{k}` is given twice"),
                            ));
                        }
                        o.labels
                            .push((k, lit_str(&nv.value, "a label value")?.value()));
                    }
                }
                ("buckets", Meta::NameValue(nv)) => {
                    o.buckets = Some(parse_buckets(&nv.value)?);
                    buckets_span = Some(nv.path.span());
                }
                ("histogram", Meta::NameValue(nv)) => {
                    let s = lit_str(&nv.value, "histogram")?;
                    if let Err(e) =
                        check_declared(&s.value(), Kind::Histogram, "s", strict_by_default())
                    {
                        return Err(syn::Error::new(s.span(), e));
                    }
                    o.histogram = Some(s);
                }
                ("without", Meta::List(list)) => {
                    let items: Punctuated<syn::Ident, Token![,]> =
                        list.parse_args_with(Punctuated::parse_terminated)?;
                    for i in items {
                        match i.to_string().as_str() {
                            "calls" => o.without_calls = true,
                            "duration" => o.without_duration = true,
                            "in_flight" => o.without_in_flight = true,
                            other => {
                                return Err(syn::Error::new(
                                    i.span(),
                                    format!("unknown instrument `{other}`: `without(..)` takes calls, duration, in_flight"),
                                ))
                            }
                        }
                    }
                }
                ("crate", Meta::NameValue(nv)) => {
                    o.krate = Some(match &nv.value {
                        Expr::Path(p) => p.path.clone(),
                        Expr::Lit(ExprLit {
                            lit: Lit::Str(s), ..
                        }) => s.parse()?,
                        other => {
                            return Err(syn::Error::new(
                                other.span(),
                                "`crate` takes a path, such as `crate = my_crate::telemetry`",
                            ))
                        }
                    });
                }
                ("skip", Meta::Path(p)) => o.skip = Some(p.span()),
                ("objective", Meta::List(list)) => {
                    let items: Punctuated<Meta, Token![,]> =
                        list.parse_args_with(Punctuated::parse_terminated)?;
                    for it in items {
                        let Meta::NameValue(nv) = &it else {
                            return Err(syn::Error::new(it.span(), OBJECTIVE_FORM));
                        };
                        let k = nv
                            .path
                            .get_ident()
                            .map(|i| i.to_string())
                            .unwrap_or_default();
                        let v = number(&nv.value)?;
                        let (key, ok) = match k.as_str() {
                            "latency" => ("latency_seconds", v > 0.0 && v.is_finite()),
                            "percentile" => ("percentile", v > 0.0 && v < 1.0),
                            "error_ratio" => ("error_ratio", v > 0.0 && v < 1.0),
                            _ => return Err(syn::Error::new(nv.path.span(), OBJECTIVE_FORM)),
                        };
                        if !ok {
                            return Err(syn::Error::new(
                                nv.value.span(),
                                "latency is a positive number of seconds; percentile and error_ratio are between 0 and 1",
                            ));
                        }
                        o.objectives.push((key.to_owned(), v));
                    }
                    if o.objectives.iter().any(|(k, _)| k == "percentile")
                        && !o.objectives.iter().any(|(k, _)| k == "latency_seconds")
                    {
                        return Err(syn::Error::new(
                            list.span(),
                            "`percentile` needs a `latency` objective",
                        ));
                    }
                }
                _ => {
                    return Err(syn::Error::new(
                        meta.path().span(),
                        format!("unknown or malformed option `{key}`; allowed: {ALLOWED}"),
                    ))
                }
            }
        }
        if let (Some(span), None) = (buckets_span, &o.histogram) {
            return Err(syn::Error::new(
                span,
                "a histogram name has one bucket layout: with `buckets`, give the histogram's own \
                 name too, as in `histogram = \"checkout_duration_seconds\"`",
            ));
        }
        Ok(o)
    }
}

const OBJECTIVE_FORM: &str =
    "objectives are written `objective(latency = 0.25, percentile = 0.99, error_ratio = 0.01)` (latency in seconds; each part optional)";

fn number(e: &Expr) -> syn::Result<f64> {
    match e {
        Expr::Lit(ExprLit {
            lit: Lit::Float(f), ..
        }) => f.base10_parse(),
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse(),
        _ => Err(syn::Error::new(
            e.span(),
            "an objective is a number literal",
        )),
    }
}

fn lit_str(e: &Expr, what: &str) -> syn::Result<LitStr> {
    match e {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s.clone()),
        _ => Err(syn::Error::new(
            e.span(),
            format!("{what} must be a string literal"),
        )),
    }
}

impl Options {
    /// Method options over impl-block options.
    pub(crate) fn over(&self, outer: &Options) -> Options {
        let mut o = self.clone();
        if o.krate.is_none() {
            o.krate = outer.krate.clone();
        }
        let mut labels = outer.labels.clone();
        for (k, v) in &self.labels {
            labels.retain(|(x, _)| x != k);
            labels.push((k.clone(), v.clone()));
        }
        o.labels = labels;
        if o.buckets.is_none() && o.histogram.is_none() {
            o.buckets = outer.buckets.clone();
            o.histogram = outer.histogram.clone();
        }
        o.without_calls |= outer.without_calls;
        o.without_duration |= outer.without_duration;
        o.without_in_flight |= outer.without_in_flight;
        if o.objectives.is_empty() {
            o.objectives = outer.objectives.clone();
        }
        o
    }
}
