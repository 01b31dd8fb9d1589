//! The Prometheus words of OpenTelemetry (UCUM) units, as Prometheus's OTLP
//! translator appends them to names (`s` → `seconds`, `By/s` →
//! `bytes_per_second`). One table for the two crates that need it: the
//! macros (strict names must contain the word) and the runtime (the name
//! the backend stores).
#![deny(missing_docs)]

/// The word of a unit's main part (before `/`): `Some("")` for `1`, `None`
/// for a unit Prometheus writes as itself.
///
/// ```
/// assert_eq!(telemetry_units::main_word("By"), Some("bytes"));
/// assert_eq!(telemetry_units::main_word("TiBy"), Some("tibibytes"));
/// assert_eq!(telemetry_units::main_word("furlongs"), None);
/// ```
pub fn main_word(unit: &str) -> Option<&'static str> {
    Some(match unit {
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
        // Prometheus's spelling.
        "TiBy" => "tibibytes",
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
        "1" => "",
        "%" => "percent",
        _ => return None,
    })
}

/// The word of a unit's part after `/` (`s` → `second`), `None` for one
/// Prometheus writes as itself.
///
/// ```
/// assert_eq!(telemetry_units::per_word("s"), Some("second"));
/// assert_eq!(telemetry_units::per_word("fortnight"), None);
/// ```
pub fn per_word(unit: &str) -> Option<&'static str> {
    Some(match unit {
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
