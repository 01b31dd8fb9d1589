//! `#[metered]` and the declaration macros in a crate that shadows the
//! names an expansion could lean on, and through a re-export.
#![allow(dead_code, non_camel_case_types, clippy::disallowed_names)]

mod std {}
mod core {}
mod telemetry_runtime {}
type Result = ();
type Option = ();
struct Ok;
struct Err;
struct Some;
struct None;
struct Box;

mod reexport {
    pub use ::telemetry_runtime as tr;
}

#[::telemetry_runtime::metered]
fn shadowed(x: u32) -> u32 {
    x
}

#[::telemetry_runtime::metered]
fn shadowed_result(fail: bool) -> ::core::result::Result<u8, &'static str> {
    if fail {
        ::core::result::Result::Err("no")
    } else {
        ::core::result::Result::Ok(1)
    }
}

#[::telemetry_runtime::metered]
#[track_caller]
fn shadowed_tracked(v: ::core::option::Option<u8>) -> ::core::option::Option<u8> {
    let x = v?;
    ::core::option::Option::Some(x)
}

#[reexport::tr::metered(crate = reexport::tr, name = "via_reexport")]
fn through_reexport() {}

::telemetry_runtime::declare_static_counter!(SHADOWED_TOTAL, "hygiene_events_total");

#[test]
fn expansions_do_not_depend_on_shadowed_names() {
    ::std::env::set_var("HYPERACTOR_OTEL_BACKEND", "none");
    assert_eq!(shadowed(3), 3);
    assert!(shadowed_result(true).is_err());
    assert_eq!(
        shadowed_tracked(::core::option::Option::None),
        ::core::option::Option::None
    );
    through_reexport();
    SHADOWED_TOTAL.add(1, &[]);
    let s = ::telemetry_runtime::snapshot();
    let calls =
        |f: &str, r: &str| s.value("function_calls_total", &[("function", f), ("result", r)]);
    assert_eq!(calls("shadowed", "ok"), ::core::option::Option::Some(1.0));
    assert_eq!(
        calls("shadowed_result", "error"),
        ::core::option::Option::Some(1.0)
    );
    assert_eq!(
        calls("shadowed_tracked", "ok"),
        ::core::option::Option::Some(1.0)
    );
    assert_eq!(
        calls("via_reexport", "ok"),
        ::core::option::Option::Some(1.0)
    );
    assert_eq!(
        s.value("hygiene_events_total", &[]),
        ::core::option::Option::Some(1.0)
    );
}
