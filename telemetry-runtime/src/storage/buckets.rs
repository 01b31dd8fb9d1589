//! Finding a value's explicit bucket in one table load and a step or two:
//! for each binary exponent of an `f64`, the index of the first bound at
//! or above that power of two. A scan from there meets the right bucket
//! after as many bounds as share the value's octave (one or two for the
//! usual 1-2.5-5 layouts), instead of a binary search of dependent loads.

/// Per-histogram lookup table over the 2048 exponents of an `f64`.
pub(crate) struct BucketIndex {
    start: Box<[u8]>,
}

impl BucketIndex {
    /// `None` when there are too many bounds for a `u8` index (the caller
    /// then searches).
    pub(crate) fn new(bounds: &[f64]) -> Option<BucketIndex> {
        if bounds.len() >= u8::MAX as usize {
            return None;
        }
        let start = (0..2048u64)
            .map(|e| {
                // The smallest positive value with this exponent field.
                let lo = if e == 0 { 0.0 } else { f64::from_bits(e << 52) };
                bounds.partition_point(|b| *b < lo) as u8
            })
            .collect();
        Some(BucketIndex { start })
    }

    /// The bucket of `v` (not NaN): bucket i holds (bounds[i-1], bounds[i]].
    #[inline(always)]
    pub(crate) fn find(&self, bounds: &[f64], v: f64) -> usize {
        if v <= 0.0 {
            return bounds.partition_point(|b| *b < v);
        }
        let e = (v.to_bits() >> 52) as usize & 0x7ff;
        let mut i = self.start.get(e).copied().unwrap_or(0) as usize;
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
            crate::DEFAULT_DURATION_BUCKETS,
            crate::DEFAULT_BUCKETS,
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
