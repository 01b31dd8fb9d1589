//! Validation of metric names, units and buckets, shared by every macro.
//!
//! By default a name is an OpenTelemetry instrument name (`mailbox.posts`,
//! `http.server.request.duration`), sent as declared: the backend's
//! translation strategy decides what it stores. *Strict* names (the
//! `strict` option, or the `strict-names` feature) are also Prometheus
//! names that no strategy changes: snake_case, the unit's word inside the
//! name, `_total` at the end of counters.

/// Instrument kinds, as the runtime names them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Counter,
    UpDownCounter,
    Gauge,
    Histogram,
    /// `declare_static_timer!`: a histogram of durations.
    Timer,
    /// `declare_observable_gauge!`: a gauge read by a callback at export.
    ObservableGauge,
}

impl Kind {
    pub(crate) fn from_ident(s: &str) -> Option<Kind> {
        Some(match s {
            "Counter" => Kind::Counter,
            "UpDownCounter" => Kind::UpDownCounter,
            "Gauge" => Kind::Gauge,
            "Histogram" => Kind::Histogram,
            "Timer" => Kind::Timer,
            "ObservableGauge" => Kind::ObservableGauge,
            _ => return None,
        })
    }

    pub(crate) fn ident(self) -> &'static str {
        match self {
            Kind::Counter => "Counter",
            Kind::UpDownCounter => "UpDownCounter",
            Kind::Gauge => "Gauge",
            Kind::Histogram => "Histogram",
            Kind::Timer => "Timer",
            Kind::ObservableGauge => "ObservableGauge",
        }
    }

    /// The runtime's `InstrumentKind` variant this kind is registered as.
    pub(crate) fn instrument_kind(self) -> &'static str {
        match self {
            Kind::Timer => "Histogram",
            Kind::ObservableGauge => "Gauge",
            k => k.ident(),
        }
    }
}

/// Whether declarations are strict when they don't say: the
/// `strict-names` feature, for the crates cargo builds as primary packages
/// (the workspace's own). Cargo unifies features, so a dependency such as
/// a library with dotted names is left alone.
pub(crate) fn strict_by_default() -> bool {
    strict_default(
        cfg!(feature = "strict-names"),
        std::env::var_os("CARGO_PRIMARY_PACKAGE").is_some(),
    )
}

/// [`strict_by_default`] for a given feature and package.
pub(crate) fn strict_default(feature: bool, primary_package: bool) -> bool {
    feature && primary_package
}

/// The longest OpenTelemetry instrument name.
pub(crate) const MAX_NAME_LEN: usize = 255;

/// Checks an OpenTelemetry instrument name: an ASCII letter, then ASCII
/// letters, digits, `_`, `.`, `-` and `/`, at most 255 in all.
pub(crate) fn check_otel_name(name: &str) -> Result<(), String> {
    const RULE: &str = "an OpenTelemetry instrument name is an ASCII letter, then ASCII letters, \
                        digits, `_`, `.`, `-` and `/`, at most 255 characters, such as \
                        \"mailbox.posts\"";
    let Some(first) = name.chars().next() else {
        return Err(format!("the metric name is empty: {RULE}"));
    };
    if !first.is_ascii_alphabetic() {
        return Err(format!(
            "invalid metric name {name:?}: it starts with {first:?}; {RULE}"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/')))
    {
        return Err(format!(
            "invalid metric name {name:?}: {c:?} is not allowed; {RULE}"
        ));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "invalid metric name: {} characters, more than {MAX_NAME_LEN}; {RULE}",
            name.len()
        ));
    }
    Ok(())
}

/// Checks an OpenTelemetry unit: printable ASCII, at most 63 characters.
pub(crate) fn check_otel_unit(unit: &str) -> Result<(), String> {
    if unit.len() > 63 || !unit.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(format!(
            "invalid unit {unit:?}: an OpenTelemetry unit is printable ASCII, at most 63 \
             characters (UCUM, such as \"s\", \"By\" or \"{{request}}\")"
        ));
    }
    Ok(())
}

/// Checks an attribute (label) key given in a macro: not empty, no control
/// characters, not starting with `__` (Prometheus reserves those names).
pub(crate) fn check_attribute_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.chars().any(char::is_control) {
        return Err(format!(
            "invalid label key {key:?}: a key is a non-empty string without control characters, \
             such as \"method\" or \"http.request.method\""
        ));
    }
    if key.starts_with("__") {
        return Err(format!(
            "invalid label key {key:?}: keys starting with `__` are reserved by Prometheus"
        ));
    }
    Ok(())
}

/// Checks a declared name: an OpenTelemetry name, and with `strict` also a
/// Prometheus name that every translation strategy stores unchanged.
pub(crate) fn check_declared(
    name: &str,
    kind: Kind,
    unit: &str,
    strict: bool,
) -> Result<(), String> {
    if strict {
        check_otel_name(name)?;
        check_name_for(name, kind, unit)
    } else {
        check_otel_name(name)?;
        check_otel_unit(unit)
    }
}

/// The Prometheus word(s) for a UCUM unit, as Prometheus's OTLP translator
/// appends them. `None`: a unit Prometheus would append verbatim.
fn unit_words(unit: &str, kind: Kind) -> Option<Option<String>> {
    if unit.is_empty() || (unit.starts_with('{') && unit.ends_with('}')) {
        return Some(None);
    }
    if unit == "1" {
        return Some((kind == Kind::Gauge).then(|| "ratio".to_owned()));
    }
    if let Some((num, den)) = unit.split_once('/') {
        let n = single_unit(num)?;
        let d = per_unit(den)?;
        return Some(Some(format!("{n}_per_{d}")));
    }
    Some(Some(single_unit(unit)?.to_owned()))
}

fn single_unit(u: &str) -> Option<&'static str> {
    // `1` is handled before; here it is no word.
    telemetry_units::main_word(u).filter(|w| !w.is_empty())
}

fn per_unit(u: &str) -> Option<&'static str> {
    telemetry_units::per_word(u)
}

pub(crate) const KNOWN_UNITS: &str = "s, ms, us, ns, min, h, d, By, KiBy, MiBy, GiBy, TiBy, KBy, MBy, GBy, TBy, m, V, A, J, W, g, Cel, Hz, %, 1, X/s, or an annotation such as {request}";

/// Checks a strict (Prometheus-style) metric name on its own: `Err` holds
/// the message.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let ok_start = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let ok_rest = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok_start || !ok_rest {
        return Err(format!(
            "invalid strict metric name {name:?}: use snake_case ASCII (lower-case letters, digits \
             and `_`, not starting with a digit), such as \"http_requests_total\""
        ));
    }
    if name.starts_with("__") {
        return Err(format!(
            "invalid metric name {name:?}: names starting with `__` are reserved by Prometheus"
        ));
    }
    Ok(())
}

/// Checks a strict name against the kind and unit.
pub(crate) fn check_name_for(name: &str, kind: Kind, unit: &str) -> Result<(), String> {
    check_name(name)?;
    let tokens: Vec<&str> = name.split('_').collect();
    if kind == Kind::Counter && !name.ends_with("_total") {
        return Err(format!(
            "counter name {name:?} must end in `_total` (Prometheus adds it otherwise, and the \
             stored name would differ from the declared one): write \"{}_total\"",
            name.trim_end_matches('_')
        ));
    }
    if kind != Kind::Counter && name.ends_with("_total") {
        return Err(format!("only counters end in `_total`: rename {name:?}"));
    }
    match unit_words(unit, kind) {
        None => Err(format!("unknown unit {unit:?}: use one of {KNOWN_UNITS}")),
        Some(None) => Ok(()),
        Some(Some(words)) => {
            let w: Vec<&str> = words.split('_').collect();
            let contained = tokens.windows(w.len()).any(|win| win == w.as_slice());
            if contained {
                Ok(())
            } else {
                Err(format!(
                    "metric name {name:?} must contain `_{words}` because its unit is {unit:?} \
                     (Prometheus appends it otherwise), such as \"{}\"",
                    suggest(name, &words, kind)
                ))
            }
        }
    }
}

fn suggest(name: &str, words: &str, kind: Kind) -> String {
    match name.strip_suffix("_total") {
        Some(base) if kind == Kind::Counter => format!("{base}_{words}_total"),
        _ => format!("{name}_{words}"),
    }
}

/// Checks histogram bounds: finite and strictly increasing.
pub(crate) fn check_buckets(b: &[f64]) -> Result<(), (usize, String)> {
    if b.is_empty() {
        return Err((0, "buckets must not be empty".into()));
    }
    for (i, v) in b.iter().enumerate() {
        if !v.is_finite() {
            return Err((
                i,
                format!("bucket bound {v} is not finite; `+Inf` is implicit"),
            ));
        }
        if i > 0 && *v <= b[i - 1] {
            return Err((
                i,
                format!(
                    "bucket bounds must increase strictly: {v} follows {}",
                    b[i - 1]
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name_for("http_requests_total", Kind::Counter, "").is_ok());
        assert!(check_name_for("rpc_latency_seconds", Kind::Histogram, "s").is_ok());
        assert!(check_name_for("cpu_seconds_total", Kind::Counter, "s").is_ok());
        assert!(check_name_for("sent_bytes_per_second", Kind::Gauge, "By/s").is_ok());
        assert!(check_name_for("load_ratio", Kind::Gauge, "1").is_ok());
        assert!(check_name_for("items", Kind::UpDownCounter, "{item}").is_ok());
        assert!(check_name_for("http_requests", Kind::Counter, "")
            .unwrap_err()
            .contains("\"http_requests_total\""));
        assert!(check_name_for("latency", Kind::Histogram, "s")
            .unwrap_err()
            .contains("\"latency_seconds\""));
        assert!(check_name_for("x", Kind::Gauge, "furlongs")
            .unwrap_err()
            .contains("unknown unit"));
        assert!(check_name("Http").is_err());
        assert!(check_name("9x").is_err());
        assert!(check_name("a-b").is_err());
        assert!(check_name("").is_err());
        assert!(check_name("__x").is_err());
    }

    #[test]
    fn otel_names() {
        for ok in [
            "mailbox.posts",
            "channel.latency.us",
            "endpoint_call_error",
            "a-b/c_D.9",
            "x",
        ] {
            assert_eq!(check_otel_name(ok), Ok(()), "{ok}");
        }
        assert!(check_otel_name(&"a".repeat(255)).is_ok());
        assert!(check_otel_name(&"a".repeat(256))
            .unwrap_err()
            .contains("more than 255"));
        assert!(check_otel_name("").unwrap_err().contains("empty"));
        assert!(check_otel_name("9lives")
            .unwrap_err()
            .contains("starts with '9'"));
        assert!(check_otel_name("_x")
            .unwrap_err()
            .contains("starts with '_'"));
        assert!(check_otel_name("a b")
            .unwrap_err()
            .contains("' ' is not allowed"));
        assert!(check_otel_name("naïve")
            .unwrap_err()
            .contains("'ï' is not allowed"));
        // Strict mode is the Prometheus-style check; the default is not.
        assert!(check_declared("mailbox.posts", Kind::Counter, "", false).is_ok());
        assert!(check_declared("mailbox.posts", Kind::Counter, "", true).is_err());
        assert!(check_declared("latency", Kind::Histogram, "furlongs", false).is_ok());
        assert!(check_declared("latency", Kind::Histogram, "µs", false).is_err());
        assert!(check_attribute_key("http.request.method").is_ok());
        assert!(check_attribute_key("__name__").is_err());
        assert!(check_attribute_key("").is_err());
    }

    #[test]
    fn buckets() {
        assert!(check_buckets(&[0.1, 1.0]).is_ok());
        assert_eq!(check_buckets(&[1.0, 1.0]).unwrap_err().0, 1);
        assert_eq!(check_buckets(&[f64::INFINITY]).unwrap_err().0, 0);
        assert!(check_buckets(&[]).is_err());
    }
}
