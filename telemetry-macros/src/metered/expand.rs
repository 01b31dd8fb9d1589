//! Wrapping a function body with its call site.
//!
//! The body runs unchanged inside a wrapper that gives the macro its
//! result, so that `return` and `?` keep their meaning:
//! - sync functions: a `move` closure called at once;
//! - `#[track_caller]` functions: a labelled block where `return` and `?`
//!   are rewritten to `break` (a closure would hide the caller's location);
//! - `async fn`: an inner `async move` block, awaited, so the duration
//!   covers the whole future from its first poll;
//! - `#[async_trait]` output (`Box::pin(async move { .. })`): the inner
//!   async block, for the same reason;
//! - `-> impl Future` functions: the body runs as usual, and the returned
//!   future is wrapped, so the duration runs from the call to completion.

use super::attr::Options;
use crate::declare::{metadata_tokens, metadata_with_keys, register_tokens, Shape};
use crate::names::Kind;
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Attribute, Block, Expr, ReturnType, Signature, Stmt, Type};

/// Rewrites `block` (the body of the function `sig`) to meter it.
pub(crate) fn meter_fn(
    attrs: &[Attribute],
    sig: &Signature,
    block: &mut Block,
    opts: &Options,
    function: &str,
) -> syn::Result<()> {
    if let Some(c) = &sig.constness {
        return Err(syn::Error::new(
            c.span(),
            "#[metered] cannot meter a `const fn`: it reads the clock and records at run time; \
             remove `const` or the attribute",
        ));
    }
    let krate = match &opts.krate {
        Some(p) => p.to_token_stream(),
        None => quote!(::telemetry_runtime),
    };
    let site = site_tokens(&krate, opts, function);
    let m = Span::mixed_site();
    let guard = syn::Ident::new("__telemetry_guard", m);
    let result = syn::Ident::new("__telemetry_result", m);
    let is_error = quote_spanned! {m=>
        {
            #[allow(unused_imports)]
            use #krate::__private::{ProbeOther as _, ProbeResult as _};
            (&#krate::__private::Probe(&#result)).__telemetry_is_error()
        }
    };
    let enter = quote_spanned! {m=>
        let #guard = #krate::__private::CallSite::enter(&__TELEMETRY_SITE);
    };
    let finish = quote_spanned! {m=> #guard.finish(#is_error); };
    let annot = return_annotation(&sig.output);
    let body = block.clone();
    let track_caller = attrs.iter().any(|a| a.path().is_ident("track_caller"));

    let new_body: TokenStream = if sig.asyncness.is_some() {
        // A fake return edge pins the inner block's output to the declared
        // type, so a type error in the body is reported at the user's code.
        let fake = fake_return(&sig.output);
        let stmts = &body.stmts;
        let inner = quote_spanned!(body.span()=> async move { #fake #(#stmts)* });
        quote_spanned! {m=>
            #site
            #enter
            let #result #annot = #inner.await;
            #finish
            #result
        }
    } else if let Some((stmts, inner)) = async_trait_shape(block) {
        let pin_call = rebuild_pin(&block.stmts[block.stmts.len() - 1], |async_block| {
            quote_spanned! {m=>
                async move {
                    #enter
                    let #result = #async_block.await;
                    #finish
                    #result
                }
            }
        });
        let _ = inner;
        quote_spanned! {m=>
            #site
            #(#stmts)*
            #pin_call
        }
    } else if returns_wrappable_future(&sig.output) {
        let fut = syn::Ident::new("__telemetry_future", m);
        quote_spanned! {m=>
            #site
            #enter
            #[allow(clippy::redundant_closure_call)]
            let #fut = (move || #body)();
            async move {
                let #result = #fut.await;
                #finish
                #result
            }
        }
    } else if track_caller {
        let label = syn::Lifetime::new("'__telemetry_body", m);
        let mut rewritten = body.clone();
        ReturnToBreak {
            label: label.clone(),
            krate: krate.clone(),
        }
        .visit_block_mut(&mut rewritten);
        let stmts = &rewritten.stmts;
        quote_spanned! {m=>
            #site
            #enter
            #[allow(unused_parens)]
            let #result #annot = #label: { #(#stmts)* };
            #finish
            #result
        }
    } else {
        let closure_ret = match &sig.output {
            ReturnType::Default => quote!(-> ()),
            ReturnType::Type(_, ty) if annot.is_some() => quote!(-> #ty),
            ReturnType::Type(..) => quote!(),
        };
        quote_spanned! {m=>
            #site
            #enter
            #[allow(clippy::redundant_closure_call)]
            let #result = (move || #closure_ret #body)();
            #finish
            #result
        }
    };
    *block = syn::parse2(quote!({ #new_body }))?;
    Ok(())
}

/// An unreachable `return` of the declared type (when it can be named).
fn fake_return(out: &ReturnType) -> TokenStream {
    let ty = match out {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) if nameable(ty) => quote!(#ty),
        ReturnType::Type(..) => return quote!(),
    };
    let m = Span::mixed_site();
    quote_spanned! {m=>
        #[allow(unreachable_code, clippy::diverging_sub_expression)]
        if false {
            let __telemetry_fake_return: #ty = loop {};
            return __telemetry_fake_return;
        }
    }
}

/// `: Ret` when the return type can be written in a `let` (no `impl
/// Trait`, no elided lifetime), else nothing.
fn return_annotation(out: &ReturnType) -> Option<TokenStream> {
    match out {
        ReturnType::Default => Some(quote!(: ())),
        ReturnType::Type(_, ty) if nameable(ty) => Some(quote!(: #ty)),
        ReturnType::Type(..) => None,
    }
}

fn nameable(ty: &Type) -> bool {
    struct Check(bool);
    impl<'a> syn::visit::Visit<'a> for Check {
        fn visit_type_impl_trait(&mut self, _: &'a syn::TypeImplTrait) {
            self.0 = false;
        }
        fn visit_type_reference(&mut self, r: &'a syn::TypeReference) {
            if r.lifetime.is_none() {
                self.0 = false;
            }
            syn::visit::visit_type_reference(self, r);
        }
        fn visit_lifetime(&mut self, l: &'a syn::Lifetime) {
            if l.ident == "_" {
                self.0 = false;
            }
        }
        fn visit_type_infer(&mut self, _: &'a syn::TypeInfer) {
            self.0 = false;
        }
    }
    let mut c = Check(true);
    syn::visit::Visit::visit_type(&mut c, ty);
    c.0
}

/// `-> impl Future<..>` without an `Unpin` bound (an `async` block is not
/// `Unpin`): such futures are wrapped.
fn returns_wrappable_future(out: &ReturnType) -> bool {
    let ReturnType::Type(_, ty) = out else {
        return false;
    };
    let Type::ImplTrait(it) = &**ty else {
        return false;
    };
    let names: Vec<String> = it
        .bounds
        .iter()
        .filter_map(|b| match b {
            syn::TypeParamBound::Trait(t) => t.path.segments.last().map(|s| s.ident.to_string()),
            _ => None,
        })
        .collect();
    names.iter().any(|n| n == "Future") && !names.iter().any(|n| n == "Unpin")
}

/// The body shape `#[async_trait]` produces: statements, then
/// `Box::pin(async move { .. })` as the tail.
fn async_trait_shape(block: &Block) -> Option<(Vec<Stmt>, &syn::ExprAsync)> {
    let Some(Stmt::Expr(Expr::Call(call), None)) = block.stmts.last() else {
        return None;
    };
    let Expr::Path(f) = &*call.func else {
        return None;
    };
    if f.path.segments.last()?.ident != "pin" || call.args.len() != 1 {
        return None;
    }
    let Expr::Async(inner) = &call.args[0] else {
        return None;
    };
    Some((block.stmts[..block.stmts.len() - 1].to_vec(), inner))
}

fn rebuild_pin(tail: &Stmt, wrap: impl Fn(&syn::ExprAsync) -> TokenStream) -> TokenStream {
    let Stmt::Expr(Expr::Call(call), None) = tail else {
        unreachable!()
    };
    let Expr::Async(inner) = &call.args[0] else {
        unreachable!()
    };
    let func = &call.func;
    let wrapped = wrap(inner);
    quote!(#func(#wrapped))
}

/// Rewrites `return e` into `break 'label e` and `e?` into an explicit
/// branch that breaks with the residual, without entering closures, async
/// blocks or nested items (their `return` is their own).
struct ReturnToBreak {
    label: syn::Lifetime,
    krate: TokenStream,
}

impl VisitMut for ReturnToBreak {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        match e {
            Expr::Closure(_) | Expr::Async(_) | Expr::Const(_) => {}
            Expr::Return(r) => {
                if let Some(inner) = &mut r.expr {
                    self.visit_expr_mut(inner);
                }
                let label = &self.label;
                let value = r.expr.as_ref().map_or(quote!(()), |v| quote!(#v));
                *e = syn::parse_quote_spanned!(r.span()=> break #label (#value));
            }
            Expr::Try(t) => {
                self.visit_expr_mut(&mut t.expr);
                let (label, krate, inner) = (&self.label, &self.krate, &t.expr);
                *e = syn::parse_quote_spanned! {t.span()=>
                    match #krate::__private::Branch::__telemetry_branch(#inner) {
                        ::core::ops::ControlFlow::Continue(v) => v,
                        ::core::ops::ControlFlow::Break(r) => {
                            break #label (#krate::__private::FromResidual::__telemetry_from_residual(r))
                        }
                    }
                };
            }
            _ => syn::visit_mut::visit_expr_mut(self, e),
        }
    }

    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}

/// The call site static and its registrations.
fn site_tokens(krate: &TokenStream, opts: &Options, function: &str) -> TokenStream {
    let function = opts
        .name
        .as_ref()
        .map_or(function.to_owned(), |n| n.value());
    let label_pairs = opts.labels.iter().map(|(k, v)| quote!((#k, #v)));
    let consts = quote! {
        &[("function", #function), ("module", ::core::module_path!()) #(, #label_pairs)*]
    };
    let results = quote!(#krate::__private::RESULT_ZERO_SERIES);
    let result_keys = (
        quote!(&["result"]),
        quote!(&[#krate::__private::RESULT_VALUES]),
    );
    let span = Span::call_site();
    let histogram_name = opts
        .histogram
        .as_ref()
        .map_or("function_call_duration_seconds".to_owned(), |h| h.value());
    let buckets = match &opts.buckets {
        Some(b) => quote!(&[#(#b),*]),
        None => quote!(#krate::DEFAULT_DURATION_BUCKETS),
    };
    let shape = |description: &str| Shape {
        unit: String::new(),
        description: Some(description.to_owned()),
        buckets: None,
        cardinality_limit: Some(8),
    };
    let mut duration_shape = shape("Duration of metered function calls, by result.");
    duration_shape.unit = "s".into();
    let objectives = opts.objectives.iter().map(|(k, v)| quote!((#k, #v)));
    let objectives = quote!(&[#(#objectives),*]);
    let duration = with_field(
        metadata_with_keys(
            krate,
            Kind::Histogram,
            &histogram_name,
            &duration_shape,
            consts.clone(),
            results.clone(),
            result_keys.clone(),
            span,
        ),
        "buckets",
        &buckets,
    );
    let duration = with_field(duration, "objectives", &objectives);
    let calls = metadata_with_keys(
        krate,
        Kind::Counter,
        &"function_calls_total",
        &shape("Calls of metered functions, by result (ok, error, panic, cancelled)."),
        consts.clone(),
        results,
        result_keys,
        span,
    );
    let in_flight = metadata_tokens(
        krate,
        Kind::UpDownCounter,
        &"function_calls_in_flight",
        &shape("Calls of metered functions in progress."),
        consts.clone(),
        quote!(&[&[]]),
        span,
    );
    let entered = metadata_tokens(
        krate,
        Kind::Counter,
        &"function_calls_entered_total",
        &shape("Entries into a metered function (internal)."),
        consts,
        quote!(&[&[]]),
        span,
    );
    let mut registrations = Vec::new();
    if !opts.without_duration {
        registrations.push(register_tokens(
            krate,
            quote!(__TELEMETRY_SITE.duration_instrument()),
        ));
    }
    if !opts.without_calls {
        registrations.push(register_tokens(
            krate,
            quote!(__TELEMETRY_SITE.calls_instrument()),
        ));
    }
    if !opts.without_in_flight {
        registrations.push(register_tokens(
            krate,
            quote!(__TELEMETRY_SITE.in_flight_instrument()),
        ));
    }
    quote! {
        static __TELEMETRY_SITE: #krate::__private::CallSite = #krate::__private::CallSite::new(
            &__TELEMETRY_SITE,
            #duration,
            #calls,
            #in_flight,
            #entered,
        );
        #(#registrations)*
    }
}

/// Replaces the field `name` of a metadata expression.
fn with_field(meta: TokenStream, name: &str, value: &TokenStream) -> TokenStream {
    let mut e: syn::ExprStruct = syn::parse2(meta).expect("metadata is a struct expression");
    for f in e.fields.iter_mut() {
        if matches!(&f.member, syn::Member::Named(i) if i == name) {
            f.expr = syn::parse2(value.clone()).expect("field expression");
        }
    }
    e.to_token_stream()
}
