//! An observable gauge whose callback panics, beside one that works: two
//! exports (snapshots) read both. Prints what each export held; its
//! standard error is the runtime's messages.

use telemetry_runtime::declare_observable_gauge;

declare_observable_gauge!(BROKEN, "dropin.broken", |observer| {
    observer.observe(1.0, &[]);
    panic!("boom");
});
declare_observable_gauge!(FINE, "dropin.fine", |observer| {
    observer.observe(7.0, &[]);
});

fn main() {
    for _ in 0..2 {
        let s = telemetry_runtime::snapshot();
        println!(
            "broken={:?} fine={:?}",
            s.value("dropin.broken", &[]),
            s.value("dropin.fine", &[])
        );
    }
    let _ = (&*BROKEN, &*FINE);
}
