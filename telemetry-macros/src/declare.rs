//! `declare_static_*!`: parse, validate, expand.
//!
//! Input (from the runtime's `macro_rules!` wrappers):
//! `$crate; Kind; #[attrs] vis NAME, name, [unit or callback,] key = value, ...`
//!
//! The name is any constant `&'static str` expression. A literal, or a
//! `concat!` of literals, is checked here with the error on its token;
//! anything else is checked by a constant the expansion evaluates, so an
//! invalid name is still a compile error (from const evaluation).

use crate::names::{check_buckets, check_declared, check_otel_name, strict_by_default, Kind};
use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, ExprLit, Ident, Lit, Token, Visibility};

pub(crate) struct Declaration {
    krate: TokenStream,
    kind: Kind,
    attrs: Vec<Attribute>,
    vis: Visibility,
    ident: Ident,
    name: Name,
    /// The timer's `TimeUnit`, or the observable gauge's callback.
    extra: Option<Expr>,
    options: Vec<Opt>,
}

/// A declared name: known here (a literal or a `concat!` of literals), or
/// an expression only the compiler can evaluate.
pub(crate) enum Name {
    Known(String, Span),
    Expr(Expr),
}

impl Name {
    fn parse(e: Expr) -> Name {
        match known_str(&e) {
            Some(s) => Name::Known(s, e.span()),
            None => Name::Expr(e),
        }
    }

    fn span(&self) -> Span {
        match self {
            Name::Known(_, s) => *s,
            Name::Expr(e) => e.span(),
        }
    }
}

/// The value of a string literal, or of `concat!` over literals.
fn known_str(e: &Expr) -> Option<String> {
    match e {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s.value()),
        Expr::Macro(m) if m.mac.path.segments.last()?.ident == "concat" => {
            let parts = m
                .mac
                .parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated)
                .ok()?;
            let mut out = String::new();
            for p in &parts {
                match p {
                    Expr::Lit(ExprLit { lit, .. }) => match lit {
                        Lit::Str(s) => out.push_str(&s.value()),
                        Lit::Char(c) => out.push(c.value()),
                        Lit::Int(i) if i.suffix().is_empty() => out.push_str(i.base10_digits()),
                        Lit::Bool(b) => out.push_str(if b.value { "true" } else { "false" }),
                        _ => return None,
                    },
                    _ => known_str(p).map(|s| out.push_str(&s))?,
                }
            }
            Some(out)
        }
        _ => None,
    }
}

struct Opt {
    key: Ident,
    /// `None` for a bare flag (`strict`).
    value: Option<Expr>,
}

impl Parse for Opt {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key: Ident = input.parse()?;
        if input.parse::<Option<Token![=]>>()?.is_none() {
            return Ok(Opt { key, value: None });
        }
        Ok(Opt {
            key,
            value: Some(input.parse()?),
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
            syn::Error::new(e.span(), "expected the static's name first, as in `declare_static_counter!(REQUESTS, \"mailbox.posts\")`")
        })?;
        input.parse::<Token![,]>()?;
        if input.is_empty() {
            return Err(syn::Error::new(
                input.span(),
                "expected the metric name after the static's, such as \"mailbox.posts\"",
            ));
        }
        let name_expr: Expr = input.parse()?;
        if let Expr::Lit(ExprLit { lit, .. }) = &name_expr {
            if !matches!(lit, Lit::Str(_)) {
                return Err(syn::Error::new(
                    lit.span(),
                    "the metric name is a string: a literal such as \"mailbox.posts\", a \
                     `concat!(..)` or a `const` &str",
                ));
            }
        }
        let name = Name::parse(name_expr);
        let extra = match kind {
            Kind::Timer | Kind::ObservableGauge => {
                let what = if kind == Kind::Timer {
                    "the time unit, such as `TimeUnit::Nanos`"
                } else {
                    "the callback, such as `|observer| observer.observe(1.0, &[])`"
                };
                if input.parse::<Option<Token![,]>>()?.is_none() || input.is_empty() {
                    return Err(syn::Error::new(
                        name.span(),
                        format!("expected {what} after the metric name"),
                    ));
                }
                Some(input.parse::<Expr>()?)
            }
            _ => None,
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
            extra,
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
        // The feature's default covers the names it can check: literal
        // ones, not timers (whose `.unit` ending is never strict).
        let mut strict =
            strict_by_default() && self.kind != Kind::Timer && matches!(self.name, Name::Known(..));
        let mut seen: Vec<String> = Vec::new();
        let mut unit_span = self.name.span();
        let allowed = match self.kind {
            Kind::Histogram => "description, unit, buckets, cardinality_limit, strict",
            Kind::Timer => "description, buckets, cardinality_limit, strict",
            Kind::ObservableGauge => "description, unit, strict",
            _ => "description, unit, cardinality_limit, strict",
        };
        for opt in &self.options {
            let key = opt.key.to_string();
            if seen.contains(&key) {
                return Err(syn::Error::new(
                    opt.key.span(),
                    format!("`{key}` is given twice"),
                ));
            }
            seen.push(key.clone());
            let allowed_here = allowed.split(", ").any(|a| a == key);
            let value = match (&opt.value, key.as_str()) {
                (_, _) if !allowed_here => None,
                (None, "strict") => None,
                (Some(v), _) => Some(v),
                (None, _) => {
                    return Err(syn::Error::new(
                        opt.key.span(),
                        format!("`{key}` takes a value: `{key} = ..`"),
                    ))
                }
            };
            match (key.as_str(), value) {
                _ if !allowed_here => {
                    return Err(syn::Error::new(
                        opt.key.span(),
                        format!(
                            "unknown option `{key}` for {} {}; allowed: {allowed}",
                            if self.kind == Kind::ObservableGauge {
                                "an"
                            } else {
                                "a"
                            },
                            self.kind.ident()
                        ),
                    ));
                }
                ("description", Some(v)) => shape.description = Some(lit_str(v, "description")?),
                ("unit", Some(v)) => {
                    shape.unit = lit_str(v, "unit")?;
                    unit_span = v.span();
                }
                ("buckets", Some(v)) => shape.buckets = Some(parse_buckets(v)?),
                ("strict", v) => {
                    strict = match v {
                        None => true,
                        Some(Expr::Lit(ExprLit {
                            lit: Lit::Bool(b), ..
                        })) => b.value,
                        Some(other) => {
                            return Err(syn::Error::new(
                                other.span(),
                                "`strict` takes `true` or `false` (or stands alone for `true`)",
                            ))
                        }
                    }
                }
                ("cardinality_limit", Some(v)) => match v {
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
                _ => unreachable!("every allowed option is matched"),
            }
        }
        if strict && self.kind == Kind::Timer {
            let at = self
                .options
                .iter()
                .find(|o| o.key == "strict")
                .map_or(self.name.span(), |o| o.key.span());
            return Err(syn::Error::new(
                at,
                "a timer's name is `{name}.{unit}` (Monarch's), which is never a strict name; \
                 for a strict name declare a histogram, such as \
                 `declare_static_histogram!(X, \"handler_duration_seconds\", unit = \"s\", strict)`",
            ));
        }
        let kind = match self.kind {
            Kind::ObservableGauge => Kind::Gauge,
            k => k,
        };
        match &self.name {
            Name::Known(name, span) => {
                if let Err(msg) = check_declared(name, kind, &shape.unit, strict) {
                    let span = if msg.starts_with("unknown unit") || msg.starts_with("invalid unit")
                    {
                        unit_span
                    } else {
                        *span
                    };
                    return Err(syn::Error::new(span, msg));
                }
            }
            Name::Expr(e) if strict => {
                return Err(syn::Error::new(
                    e.span(),
                    "a strict name must be a string literal (or a `concat!` of literals), so \
                     that it can be checked here",
                ));
            }
            Name::Expr(_) => {
                if let Err(msg) = crate::names::check_otel_unit(&shape.unit) {
                    return Err(syn::Error::new(unit_span, msg));
                }
            }
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
        (Kind::Histogram | Kind::Timer, Some(b)) => quote!(&[#(#b),*]),
        (Kind::Timer, None) => quote!(#krate::DEFAULT_BUCKETS),
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
    name: &dyn ToTokens,
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
    name: &dyn ToTokens,
    shape: &Shape,
    const_attrs: TokenStream,
    zero_series: TokenStream,
    (label_keys, label_values): (TokenStream, TokenStream),
    span: Span,
) -> TokenStream {
    let kind_ident = Ident::new(kind.instrument_kind(), Span::call_site());
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
    let Declaration {
        attrs,
        vis,
        ident,
        name,
        extra,
        ..
    } = &d;
    // Monarch's statics are `pub`; a written visibility wins.
    let vis = match vis {
        Visibility::Inherited => quote!(pub),
        v => v.to_token_stream(),
    };
    let mut items = TokenStream::new();
    // The name as the metadata holds it, and the unit of a timer.
    let (name_tokens, unit_tokens): (TokenStream, Option<TokenStream>) = match (d.kind, name, extra)
    {
        (Kind::Timer, name, Some(unit)) => {
            let unit_str = timer_unit(unit);
            let unit_tokens = match unit_str {
                Some(u) => quote!(#u),
                None => quote_spanned!(unit.span()=> #krate::TimeUnit::as_str(&#unit)),
            };
            // The unit must be a `TimeUnit`, whatever its path says.
            items.extend(quote_spanned! {unit.span()=>
                const _: #krate::TimeUnit = #unit;
            });
            let name_tokens = match (name, unit_str) {
                (Name::Known(n, span), Some(u)) => {
                    let full = format!("{n}.{u}");
                    if let Err(msg) = check_otel_name(&full) {
                        return Err(syn::Error::new(*span, msg));
                    }
                    quote!(#full)
                }
                (name, _) => {
                    // Joined at compile time into a static buffer of its own.
                    let buf = format_ident!("__{}_TELEMETRY_NAME", ident);
                    let base = match name {
                        Name::Known(n, _) => quote!(#n),
                        Name::Expr(e) => e.to_token_stream(),
                    };
                    items.extend(quote_spanned! {name.span()=>
                        #[doc(hidden)]
                        #[allow(non_upper_case_globals)]
                        static #buf: #krate::__private::NameBuf =
                            #krate::__private::NameBuf::timer(#base, #unit_tokens);
                    });
                    quote!(#buf.as_str())
                }
            };
            (name_tokens, Some(unit_tokens))
        }
        (_, Name::Known(n, _), _) => (quote!(#n), None),
        (_, Name::Expr(e), _) => {
            items.extend(quote_spanned! {e.span()=>
                const _: () = #krate::__private::check_name(#e);
            });
            (e.to_token_stream(), None)
        }
    };
    let mut meta = metadata_tokens(
        krate,
        d.kind,
        &name_tokens,
        &shape,
        quote!(&[]),
        quote!(&[&[]]),
        ident.span(),
    );
    if let Some(u) = &unit_tokens {
        meta = quote!(#krate::__private::Metadata { unit: #u, ..#meta });
    }
    let init = match (d.kind, extra) {
        (Kind::Timer, _) => quote!(#krate::Timer::__new(#meta)),
        (Kind::ObservableGauge, Some(cb)) => {
            let cb = quote_spanned!(cb.span()=> #cb);
            quote!(#krate::ObservableGauge::__new(#meta, #cb))
        }
        _ => quote!(#krate::#kind_ident::__new(#meta)),
    };
    let register = register_tokens(krate, quote!(#ident.__instrument()));
    Ok(quote! {
        #items
        #(#attrs)*
        #vis static #ident: #krate::#kind_ident = #init;
        #register
    })
}

/// The unit string of a `TimeUnit::Millis`/`Micros`/`Nanos` path.
fn timer_unit(e: &Expr) -> Option<&'static str> {
    let Expr::Path(p) = e else { return None };
    match p.path.segments.last()?.ident.to_string().as_str() {
        "Millis" => Some("ms"),
        "Micros" => Some("us"),
        "Nanos" => Some("ns"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declare(input: TokenStream) -> Result<TokenStream, String> {
        let d: Declaration = syn::parse2(input).map_err(|e| e.to_string())?;
        expand(d).map_err(|e| e.to_string())
    }

    /// Without the `strict-names` feature, OpenTelemetry names pass and
    /// `strict` turns the Prometheus rules on; with it, every literal name
    /// of the workspace's own crates is strict unless it says
    /// `strict = false`. `scripts/test.sh` runs this test both ways.
    #[test]
    fn strictness_follows_the_option_and_the_feature() {
        let dotted = quote!(::telemetry_runtime; Counter; X, "mailbox.posts");
        let opted_out = quote!(::telemetry_runtime; Counter; X, "mailbox.posts", strict = false);
        let opted_in = quote!(::telemetry_runtime; Counter; X, "mailbox.posts", strict);
        assert!(declare(opted_out).is_ok());
        assert!(declare(opted_in)
            .unwrap_err()
            .contains("invalid strict metric name"));
        // The test binary runs outside cargo's build: no primary package.
        assert!(declare(dotted).is_ok());
        let feature = cfg!(feature = "strict-names");
        assert_eq!(crate::names::strict_default(feature, true), feature);
        assert!(!crate::names::strict_default(feature, false));
        // Strict names are OpenTelemetry names too.
        let underscore = quote!(::telemetry_runtime; Counter; X, "_x_total", strict);
        assert!(declare(underscore).unwrap_err().contains("starts with '_'"));
        // A timer is never strict, and says why.
        let timer = quote!(::telemetry_runtime; Timer; X, "t", TimeUnit::Nanos, strict);
        assert!(declare(timer).unwrap_err().contains("never a strict name"));
        let timer = quote!(::telemetry_runtime; Timer; X, "t", TimeUnit::Nanos, strict = false);
        assert!(declare(timer).is_ok());
    }

    #[test]
    fn statics_are_pub_unless_a_visibility_is_written() {
        let public = declare(quote!(::telemetry_runtime; Counter; X, "a_total")).unwrap();
        assert!(public.to_string().contains("pub static X"), "{public}");
        let own = declare(quote!(::telemetry_runtime; Counter; pub(crate) X, "a_total")).unwrap();
        assert!(own.to_string().contains("pub (crate) static X"), "{own}");
    }
}
