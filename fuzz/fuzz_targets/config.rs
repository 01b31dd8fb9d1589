//! Fuzzes `Config::from_lookup` (every `OTEL_*` variable, percent-decoding,
//! header and resource lists, URLs, numbers): it never panics, every
//! message names a variable, the result is usable, and no header value is
//! ever printed.
//!
//! Input: lines `<index byte><value>`; the index picks the variable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;
use telemetry_runtime::Config;

const VARS: &[&str] = Config::VARIABLES;

/// A marker the header values carry, to check that none is printed.
const SECRET: &str = "Zz9SECRETzZ";

fuzz_target!(|data: &[u8]| {
    let mut vars: HashMap<&str, String> = HashMap::new();
    for line in data.split(|b| *b == b'\n') {
        let Some((&i, value)) = line.split_first() else {
            continue;
        };
        let var = VARS[i as usize % VARS.len()];
        // Environment values reach the parser through `to_string_lossy`.
        let mut value = String::from_utf8_lossy(value).into_owned();
        if var.ends_with("HEADERS") {
            value = format!("authorization=Bearer%20{SECRET},{value}");
        }
        vars.insert(var, value);
    }
    let (c, msgs) = Config::from_lookup(|k| vars.get(k).cloned());
    for m in &msgs {
        assert!(
            VARS.iter().any(|v| m.contains(v)),
            "{m:?} names no variable"
        );
        assert!(!m.contains(SECRET), "header value printed: {m:?}");
    }
    assert!(!format!("{c:?}").contains(SECRET));
    assert!(c.endpoint.starts_with("http://") || c.endpoint.starts_with("https://"));
    assert!(!c.interval.is_zero() && !c.export_timeout.is_zero() && !c.request_timeout.is_zero());
    assert!(!c.service_name.is_empty() && !c.service_instance_id.is_empty());
});
