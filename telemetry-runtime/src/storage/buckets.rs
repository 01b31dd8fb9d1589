//! Finding a value's explicit bucket in one table load and a step or two:
//! for each sign and binary exponent of an `f64`, the index of the first
//! bound at or above the smallest value with that sign and exponent. A
//! scan from there meets the right bucket after as many bounds as share
//! the value's octave (one or two for the usual 1-2.5-5 layouts), instead
//! of a binary search of dependent loads.

/// Per-histogram lookup table over the 4096 sign-and-exponent fields of an
/// `f64` (its top 12 bits).
pub(crate) struct BucketIndex {
    start: Box<[u8; 4096]>,
}

impl BucketIndex {
    /// `None` when there are too many bounds for a `u8` index (the caller
    /// then searches).
    pub(crate) fn new(bounds: &[f64]) -> Option<BucketIndex> {
        if bounds.len() >= u8::MAX as usize {
            return None;
        }
        let mut start = Box::new([0u8; 4096]);
        for (top, first) in start.iter_mut().enumerate() {
            let e = top as u64 & 0x7ff;
            // Below every value with these top bits: for a positive sign
            // the smallest of them (0 for the subnormals), for a negative
            // one the next power of two down (minus infinity past the top).
            let lo = match (top < 2048, e) {
                (true, 0) => 0.0,
                (true, e) => f64::from_bits(e << 52),
                (false, 0x7ff) => f64::NEG_INFINITY,
                (false, e) => -f64::from_bits((e + 1) << 52),
            };
            *first = bounds.partition_point(|b| *b < lo) as u8;
        }
        Some(BucketIndex { start })
    }

    /// The bucket of `v` (not NaN): bucket i holds (bounds[i-1], bounds[i]].
    #[inline(always)]
    pub(crate) fn find(&self, bounds: &[f64], v: f64) -> usize {
        let mut i = self.start[(v.to_bits() >> 52) as usize] as usize;
        while i < bounds.len() && bounds[i] < v {
            i += 1;
        }
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_a_binary_search() {
        let layouts: [&[f64]; 4] = [
            crate::meta::DEFAULT_DURATION_BUCKETS,
            crate::meta::DEFAULT_BUCKETS,
            &[-5.0, -1.0, 0.0, 1e-300, 3.0, 1e300],
            &[0.5],
        ];
        let mut rng = crate::test_rng::Rng(0x2545_f491_4f6c_dd1d);
        for bounds in layouts {
            let idx = BucketIndex::new(bounds).unwrap();
            let mut values: Vec<f64> = bounds.to_vec();
            values.extend([
                0.0,
                -0.0,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::MIN_POSITIVE / 2.0,
                1e-320,
            ]);
            for _ in 0..20_000 {
                let x = rng.next();
                let v = f64::from_bits(x);
                if !v.is_nan() {
                    values.push(v);
                }
                values.push((x % 1_000_000) as f64 / 1000.0);
            }
            for v in values {
                assert_eq!(
                    idx.find(bounds, v),
                    bounds.partition_point(|b| *b < v),
                    "{v} in {bounds:?}"
                );
            }
        }
    }
}
