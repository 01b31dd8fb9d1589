//! Expansion snapshots: what the macros generate for a few representative
//! inputs, checked in under `snapshots/`. Regenerate with
//! `UPDATE_SNAPSHOTS=1 cargo test -p telemetry-macros` and review the diff.

use proc_macro2::TokenStream;
use quote::quote;

fn check(name: &str, expanded: TokenStream) {
    let file: syn::File = syn::parse2(expanded).expect("expansion parses as a file");
    let pretty = prettyplease::unparse(&file);
    let path = format!("{}/snapshots/{name}.rs", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &pretty).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing snapshot {path}; run with UPDATE_SNAPSHOTS=1"));
    assert_eq!(
        pretty, expected,
        "expansion of {name} changed; run with UPDATE_SNAPSHOTS=1 and review"
    );
}

#[test]
fn metered_sync_result() {
    check(
        "metered_sync_result",
        crate::metered::metered(
            quote!(),
            quote! {
                fn parse(s: &str) -> Result<u32, std::num::ParseIntError> {
                    let n = s.parse()?;
                    Ok(n)
                }
            },
        ),
    );
}

#[test]
fn metered_async_with_options() {
    check(
        "metered_async_with_options",
        crate::metered::metered(
            quote!(name = "checkout", labels(tier = "gold"), without(in_flight)),
            quote! {
                async fn checkout(&self, qty: u32) -> Result<u32, String> {
                    Ok(qty)
                }
            },
        ),
    );
}

#[test]
fn metered_track_caller() {
    check(
        "metered_track_caller",
        crate::metered::metered(
            quote!(),
            quote! {
                #[track_caller]
                fn first(v: &[u8]) -> Option<u8> {
                    if v.is_empty() {
                        return None;
                    }
                    let x = v.first()?;
                    Some(*x)
                }
            },
        ),
    );
}

#[test]
fn declare_histogram() {
    let input = quote!(::telemetry_runtime; Histogram; pub LAT, "rpc_latency_seconds", unit = "s", buckets = [0.1, 1.0]);
    let d: crate::declare::Declaration = syn::parse2(input).unwrap();
    check("declare_histogram", crate::declare::expand(d).unwrap());
}
