//! The runtime's own messages: one line each on standard error, prefixed
//! `telemetry-runtime:`. Messages about a recurring cause are printed once.
//! Header values are never part of any message.

use std::collections::HashSet;
use std::fmt;
use std::sync::Mutex;

/// Prints a warning.
pub(crate) fn warn(msg: fmt::Arguments<'_>) {
    eprintln!("telemetry-runtime: {msg}");
}

/// Prints `msg` unless the same text was printed before in this process.
pub(crate) fn warn_once(msg: &str) {
    static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    if seen.get_or_insert_with(HashSet::new).insert(msg.to_owned()) {
        warn(format_args!("{msg}"));
    }
}
