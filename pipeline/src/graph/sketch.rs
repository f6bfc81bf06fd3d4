//! Streaming percentiles in fixed memory: a log-scale histogram (the DDSketch idea).
//!
//! Per-frame statistics used to keep every sample, so a live run that never ends grew without bound
//! (about 112 bytes a frame over its nodes). A [`Sketch`] keeps a count per bucket instead: bucket `i`
//! holds the values in `(LOW * G^(i-1), LOW * G^i]`, and a percentile is reported as the middle of its
//! bucket, so it is within [`RELATIVE_ACCURACY`] of the exact nearest-rank value. Count, mean, minimum
//! and maximum are exact. Memory: one `u64` per bucket, [`BUCKETS`] of them (about 24 KiB), allocated
//! on the first sample.

use super::stats::Summary;

/// The largest relative error of a reported percentile (0.4%).
pub const RELATIVE_ACCURACY: f64 = 0.004;
/// Values at or below this (milliseconds: 100 ns) share the lowest bucket.
const LOW: f64 = 1e-4;
/// Values above this (milliseconds: about 2.8 hours) share the highest bucket.
const HIGH: f64 = 1e7;
/// Bucket growth factor `G = (1 + a) / (1 - a)`: a bucket's middle is within `a` of all its values.
const GAMMA: f64 = (1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY);
/// Buckets needed to cover `LOW..=HIGH` (ln(1e11) / ln(G), rounded up, plus the lowest one).
pub const BUCKETS: usize = 3168;

/// Percentiles of a stream of non-negative samples (milliseconds) in fixed memory.
#[derive(Clone, Debug, Default)]
pub struct Sketch {
    counts: Vec<u64>,
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
}

fn bucket_of(value: f64) -> usize {
    if value.is_nan() || value <= LOW {
        return 0;
    }
    if value >= HIGH {
        return BUCKETS - 1;
    }
    let i = ((value / LOW).ln() / GAMMA.ln()).ceil();
    // `i` is finite and >= 1 here; values past HIGH share the last bucket.
    (i as usize).min(BUCKETS - 1)
}

/// The middle of bucket `i` (relative error at most `RELATIVE_ACCURACY` for its values).
fn middle_of(i: usize) -> f64 {
    if i == 0 {
        return LOW;
    }
    LOW * GAMMA.powi(i as i32) * 2.0 / (GAMMA + 1.0)
}

impl Sketch {
    /// Adds one sample. NaN counts as 0.
    pub fn record(&mut self, value: f64) {
        let value = if value.is_nan() { 0.0 } else { value };
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS];
            self.min = value;
            self.max = value;
        }
        self.counts[bucket_of(value)] += 1;
        self.count += 1;
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    /// Samples recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The nearest-rank percentile `q` (0..=1), as [`Summary::of`] picks it from sorted samples:
    /// the sample at index `round((n - 1) * q)`. 0 with no samples.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let rank = ((self.count - 1) as f64 * q.clamp(0.0, 1.0)).round() as u64;
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen > rank {
                return middle_of(i).clamp(self.min, self.max);
            }
        }
        self.max
    }

    /// Count, exact mean, and p50/p99 within [`RELATIVE_ACCURACY`].
    pub fn summary(&self) -> Summary {
        if self.count == 0 {
            return Summary::default();
        }
        Summary {
            count: self.count,
            mean: self.sum / self.count as f64,
            p50: self.quantile(0.50),
            p99: self.quantile(0.99),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_the_range() {
        assert!(LOW * GAMMA.powi(BUCKETS as i32 - 1) >= HIGH);
        assert!(LOW * GAMMA.powi(BUCKETS as i32 - 2) < HIGH);
    }

    #[test]
    fn edge_values() {
        let mut s = Sketch::default();
        assert_eq!(s.summary(), Summary::default());
        s.record(0.0);
        s.record(f64::NAN);
        assert_eq!(s.summary().p99, 0.0);
        let mut big = Sketch::default();
        big.record(1e12);
        assert_eq!(
            big.quantile(0.5),
            1e12,
            "a lone value is its own min and max"
        );
    }
}
