//! The runtime's own messages: one line each on standard error, prefixed
//! `telemetry-runtime:`. Messages about a recurring cause are printed once.
//! Header values are never part of any message.

use std::collections::HashSet;
use std::fmt;
use std::sync::Mutex;

/// Distinct messages [`warn_once`] remembers. A backend whose error text
/// changes on every request (a request id, a timestamp) could otherwise
/// make the set grow for ever; past this many, one last line says so and
/// further new messages are not printed.
const MAX_DISTINCT: usize = 256;

/// Prints a warning. A message never spans lines: line breaks (which could
/// come from a backend's text) are shown as spaces, so that every line of
/// standard error the runtime writes starts with `telemetry-runtime:`.
pub(crate) fn warn(msg: fmt::Arguments<'_>) {
    let text = msg.to_string();
    if text.contains(['\n', '\r']) {
        eprintln!("telemetry-runtime: {}", text.replace(['\n', '\r'], " "));
    } else {
        eprintln!("telemetry-runtime: {text}");
    }
}

/// Prints `msg` unless the same text was printed before in this process.
pub(crate) fn warn_once(msg: &str) {
    static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let mut guard = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    let seen = guard.get_or_insert_with(HashSet::new);
    if seen.contains(msg) {
        return;
    }
    if seen.len() >= MAX_DISTINCT {
        if seen.len() == MAX_DISTINCT {
            seen.insert(String::new());
            warn(format_args!(
                "{MAX_DISTINCT} distinct messages printed; further new ones are not shown"
            ));
        }
        return;
    }
    seen.insert(msg.to_owned());
    warn(format_args!("{msg}"));
}
