//! Base-2 exponential buckets (Prometheus native histograms), used for
//! histograms when `OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION=base2_exponential_bucket_histogram`.
//!
//! The layout is fixed: scale 3 (8 buckets per power of two, so a bucket
//! spans about 9%), covering 2^-30 (about 1e-9) to 2^34 (about 1.7e10) for
//! each sign. Values outside land in the first or last bucket. A fixed
//! layout means recording never rescales: the bucket comes from the float's
//! exponent and 8 comparisons on its mantissa.

use super::table::Series;

/// The OTLP scale.
pub(crate) const SCALE: i32 = 3;
const PER_OCTAVE: i32 = 1 << SCALE;
const MIN_EXP: i32 = -30;
const MAX_EXP: i32 = 34;
/// Buckets per sign.
pub(crate) const BUCKETS: usize = ((MAX_EXP - MIN_EXP) * PER_OCTAVE) as usize;
/// OTLP index of the first bucket.
pub(crate) const MIN_INDEX: i32 = MIN_EXP * PER_OCTAVE;
/// Words per stripe: zero count, positive buckets, negative buckets, sum.
pub(crate) const WORDS: usize = 2 * BUCKETS + 2;
/// Word of the zero count.
pub(crate) const ZERO: usize = 0;
/// First word of the positive buckets.
pub(crate) const POSITIVE: usize = 1;
/// First word of the negative buckets.
pub(crate) const NEGATIVE: usize = 1 + BUCKETS;
/// Word of the sum.
pub(crate) const SUM: usize = 1 + 2 * BUCKETS;

/// Mantissa bits of 2^(k/8) for k in 0..8: bucket boundaries inside one octave.
const THRESHOLDS: [u64; 8] = [
    0,
    407_610_591_105_403,
    852_113_092_622_101,
    1_336_846_507_715_111,
    1_865_452_045_155_277,
    2_441_900_471_263_451,
    3_070_521_937_417_133,
    3_756_038_507_177_095,
];

/// The bucket of `abs` (> 0): OTLP index minus [`MIN_INDEX`], clamped.
#[inline(always)]
pub(crate) fn slot(abs: f64) -> usize {
    let bits = abs.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    if exp == 0 {
        return 0;
    }
    let frac = bits & ((1u64 << 52) - 1);
    let sub = THRESHOLDS.iter().filter(|t| **t < frac).count() as i32;
    // Bucket i holds (2^(i/8), 2^((i+1)/8)].
    let index = (exp - 1023) * PER_OCTAVE + sub - 1;
    (index - MIN_INDEX).clamp(0, BUCKETS as i32 - 1) as usize
}

/// The bucket word of `v` (not NaN).
#[inline(always)]
pub(crate) fn word(v: f64) -> usize {
    if v > 0.0 {
        POSITIVE + slot(v)
    } else if v < 0.0 {
        NEGATIVE + slot(-v)
    } else {
        ZERO
    }
}

/// Records `v` (not NaN). Out of line: the explicit buckets' inline path
/// keeps fewer registers without it.
#[inline(never)]
pub(crate) fn record(series: &Series, v: f64) {
    let (block, stripe) = series.cells.local_block();
    if let (Some(bucket), Some(sum)) = (block.get(word(v)), block.get(SUM)) {
        stripe.add(bucket, 1);
        stripe.add_f64(sum, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(v: f64) -> i32 {
        slot(v) as i32 + MIN_INDEX
    }

    #[test]
    fn boundaries_are_upper_inclusive() {
        // 1.0 = 2^0 is the upper bound of bucket -1.
        assert_eq!(index(1.0), -1);
        assert_eq!(index(1.0000001), 0);
        assert_eq!(index(2.0), 7);
        assert_eq!(index(2.1), 8);
        assert_eq!(index(0.5), -9);
    }

    #[test]
    fn indexes_match_the_logarithm() {
        for v in [0.001f64, 0.0123, 0.3, 1.5, 3.0, 7.77, 100.0, 12345.6] {
            let expected = (v.log2() * 8.0).ceil() as i32 - 1;
            assert_eq!(index(v), expected, "{v}");
        }
    }

    #[test]
    fn out_of_range_values_clamp() {
        assert_eq!(slot(1e-300), 0);
        assert_eq!(slot(f64::MIN_POSITIVE / 4.0), 0);
        assert_eq!(slot(1e300), BUCKETS - 1);
        assert_eq!(slot(f64::INFINITY), BUCKETS - 1);
    }
}
