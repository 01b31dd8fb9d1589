//! Procedural macros of `telemetry-runtime`. Use them through that crate,
//! which re-exports them and documents them.
//!
//! Each macro follows the same stages: parse the input into a small AST,
//! validate it with errors located on the user's tokens, then expand.

use proc_macro::TokenStream;

mod declare;
mod derive;
mod metered;
mod names;
#[cfg(test)]
mod snapshots;

/// Expands the `declare_static_*!` macros of `telemetry-runtime`.
#[doc(hidden)]
#[proc_macro]
pub fn declare_static(input: TokenStream) -> TokenStream {
    match syn::parse::<declare::Declaration>(input).and_then(declare::expand) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// Meters a function, a method or every method of an impl block. Use it
/// through `telemetry_runtime::metered`, which documents it.
#[proc_macro_attribute]
pub fn metered(attr: TokenStream, item: TokenStream) -> TokenStream {
    metered::metered(attr.into(), item.into()).into()
}

/// `#[derive(Metrics)]`; documented on `telemetry_runtime::Metrics`.
#[proc_macro_derive(Metrics, attributes(metrics, metric))]
pub fn derive_metrics(input: TokenStream) -> TokenStream {
    derive::run(input, derive::metrics::metrics)
}

/// `#[derive(LabelSet)]`; documented on `telemetry_runtime::LabelSet`.
#[proc_macro_derive(LabelSet, attributes(label))]
pub fn derive_label_set(input: TokenStream) -> TokenStream {
    derive::run(input, derive::labels::label_set)
}

/// `#[derive(LabelValue)]`; documented on `telemetry_runtime::LabelValue`.
#[proc_macro_derive(LabelValue, attributes(label))]
pub fn derive_label_value(input: TokenStream) -> TokenStream {
    derive::run(input, derive::labels::label_value)
}
