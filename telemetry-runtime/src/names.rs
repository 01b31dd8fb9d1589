//! Names checked and built at compile time, for names the macros cannot
//! read themselves (a `const`, or any constant expression): the
//! expansion evaluates these `const fn`s, so a bad name is still a
//! compile error.

/// Panics (at compile time, in a `const`) unless `name` is an
/// OpenTelemetry instrument name: an ASCII letter, then ASCII letters,
/// digits, `_`, `.`, `-` and `/`, at most 255 characters.
#[doc(hidden)]
pub const fn check_name(name: &str) {
    let b = name.as_bytes();
    if b.is_empty() {
        panic!("the metric name is empty: an OpenTelemetry instrument name is an ASCII letter, then ASCII letters, digits, `_`, `.`, `-` and `/`");
    }
    if b.len() > 255 {
        panic!("the metric name is longer than 255 characters, the most OpenTelemetry allows");
    }
    if !b[0].is_ascii_alphabetic() {
        panic!("the metric name does not start with an ASCII letter, as an OpenTelemetry instrument name must");
    }
    let mut i = 1;
    while i < b.len() {
        let c = b[i];
        if !(c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-' || c == b'/') {
            panic!("the metric name has a character OpenTelemetry does not allow: an instrument name has ASCII letters, digits, `_`, `.`, `-` and `/` only");
        }
        i += 1;
    }
}

/// A name joined at compile time (a timer's `{name}.{unit}` when the name
/// is not a literal), held in a `static` of its own.
#[doc(hidden)]
pub struct NameBuf {
    bytes: [u8; NameBuf::CAPACITY],
    len: usize,
}

impl NameBuf {
    const CAPACITY: usize = 260;

    /// `{name}.{unit}`, after checking `name`.
    pub const fn timer(name: &str, unit: &str) -> NameBuf {
        check_name(name);
        let mut bytes = [0u8; Self::CAPACITY];
        let (n, u) = (name.as_bytes(), unit.as_bytes());
        if n.len() + 1 + u.len() > Self::CAPACITY {
            panic!("the timer's name and unit are longer than 255 characters together");
        }
        let mut i = 0;
        while i < n.len() {
            bytes[i] = n[i];
            i += 1;
        }
        bytes[i] = b'.';
        let mut j = 0;
        while j < u.len() {
            bytes[i + 1 + j] = u[j];
            j += 1;
        }
        let len = n.len() + 1 + u.len();
        let full = NameBuf { bytes, len };
        check_name(full.as_str());
        full
    }

    /// The joined name.
    pub const fn as_str(&self) -> &str {
        let (head, _) = self.bytes.split_at(self.len);
        match std::str::from_utf8(head) {
            Ok(s) => s,
            // Only ASCII is ever written (checked above).
            Err(_) => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_names_join() {
        const FULL: NameBuf = NameBuf::timer("actor.handler", "ns");
        assert_eq!(FULL.as_str(), "actor.handler.ns");
    }
}
