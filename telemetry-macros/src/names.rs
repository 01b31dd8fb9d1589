//! Validation of metric names, units and buckets, shared by every macro.
//!
//! Names are checked so that what the program sends is what Prometheus
//! stores, whichever OTLP translation strategy it runs: snake_case, the
//! unit's word inside the name, `_total` at the end of counters.

/// Instrument kinds, as the runtime names them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Counter,
    UpDownCounter,
    Gauge,
    Histogram,
}

impl Kind {
    pub(crate) fn from_ident(s: &str) -> Option<Kind> {
        Some(match s {
            "Counter" => Kind::Counter,
            "UpDownCounter" => Kind::UpDownCounter,
            "Gauge" => Kind::Gauge,
            "Histogram" => Kind::Histogram,
            _ => return None,
        })
    }

    pub(crate) fn ident(self) -> &'static str {
        match self {
            Kind::Counter => "Counter",
            Kind::UpDownCounter => "UpDownCounter",
            Kind::Gauge => "Gauge",
            Kind::Histogram => "Histogram",
        }
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
    Some(match u {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tebibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "%" => "percent",
        _ => return None,
    })
}

fn per_unit(u: &str) -> Option<&'static str> {
    Some(match u {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        _ => return None,
    })
}

pub(crate) const KNOWN_UNITS: &str = "s, ms, us, ns, min, h, d, By, KiBy, MiBy, GiBy, TiBy, KBy, MBy, GBy, TBy, m, V, A, J, W, g, Cel, Hz, %, 1, X/s, or an annotation such as {request}";

/// Checks a metric name on its own: `Err` holds the message.
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
            "invalid metric name {name:?}: use snake_case ASCII (lower-case letters, digits and `_`, \
             not starting with a digit), such as \"http_requests_total\""
        ));
    }
    if name.starts_with("__") {
        return Err(format!(
            "invalid metric name {name:?}: names starting with `__` are reserved by Prometheus"
        ));
    }
    Ok(())
}

/// Checks the name against the kind and unit.
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
    fn buckets() {
        assert!(check_buckets(&[0.1, 1.0]).is_ok());
        assert_eq!(check_buckets(&[1.0, 1.0]).unwrap_err().0, 1);
        assert_eq!(check_buckets(&[f64::INFINITY]).unwrap_err().0, 0);
        assert!(check_buckets(&[]).is_err());
    }
}
