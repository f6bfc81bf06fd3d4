//! The One Euro filter (Casiez, Roussel and Vogel, "1€ Filter: A Simple Speed-based Low-pass Filter
//! for Noisy Input in Interactive Systems", CHI 2012): a low-pass filter whose cutoff rises with the
//! signal's speed, so a still face does not jitter and a moving one does not lag.
//!
//! For each sample at time `t` (seconds): the speed `dx` is the difference to the previous output
//! over `dt`, itself low-passed at `d_cutoff` Hz; the cutoff is `min_cutoff + beta * |dx|`; the
//! output is `prev + alpha * (x - prev)` with `alpha = 1 / (1 + 1 / (2 pi cutoff dt))`.
//!
//! Values are filtered in units of a caller-given `scale` (the face size for mesh points), so the same
//! parameters behave alike for a face 100 or 1000 pixels wide: `beta` is per face-width per second.

/// The filter's parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OneEuroParams {
    /// Cutoff (Hz) when the value is still: lower = less jitter, more lag at slow speeds.
    pub min_cutoff: f32,
    /// How fast the cutoff rises with speed (per unit of speed): higher = less lag in fast motion.
    pub beta: f32,
    /// Cutoff (Hz) of the speed estimate.
    pub d_cutoff: f32,
}

impl Default for OneEuroParams {
    /// Chosen on the still-face jitter test and the tracked clips (see `pipeline/tests/track.rs`):
    /// jitter drops several times while a head turn is followed within a few frames.
    fn default() -> Self {
        Self {
            min_cutoff: 1.0,
            beta: 10.0,
            d_cutoff: 1.0,
        }
    }
}

/// Time step used when timestamps do not increase (repeated or missing pts): one frame at 30 fps.
pub const FALLBACK_DT: f64 = 1.0 / 30.0;

fn alpha(cutoff: f32, dt: f32) -> f32 {
    let tau = 1.0 / (2.0 * std::f32::consts::PI * cutoff.max(1e-6));
    1.0 / (1.0 + tau / dt)
}

/// One filtered scalar.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OneEuro {
    /// Last output and its filtered speed; `None` before the first sample.
    state: Option<(f32, f32)>,
}

impl OneEuro {
    /// Filters `x` (already in filter units) after a step of `dt` seconds (> 0).
    pub fn filter(&mut self, x: f32, dt: f32, p: &OneEuroParams) -> f32 {
        let Some((prev, dx_prev)) = self.state else {
            self.state = Some((x, 0.0));
            return x;
        };
        let dx = (x - prev) / dt;
        let dx_hat = dx_prev + alpha(p.d_cutoff, dt) * (dx - dx_prev);
        let cutoff = p.min_cutoff + p.beta * dx_hat.abs();
        let out = prev + alpha(cutoff, dt) * (x - prev);
        self.state = Some((out, dx_hat));
        out
    }

    /// Forgets the history: the next sample passes unchanged.
    pub fn reset(&mut self) {
        self.state = None;
    }
}

/// Filters a fixed-size set of values (mesh coordinates, iris points) sampled together.
#[derive(Clone, Debug, Default)]
pub struct VectorFilter {
    filters: Vec<OneEuro>,
    last_t: Option<f64>,
    /// The unit of the filtered values, fixed at the first sample: a unit that changed from frame to
    /// frame would move the output by (value x change) even for a still input.
    unit: Option<f32>,
}

impl VectorFilter {
    pub fn new() -> Self {
        Self::default()
    }

    /// The step since the previous sample; [`FALLBACK_DT`] when time did not advance.
    fn step(&mut self, t: f64) -> f32 {
        let dt = match self.last_t {
            Some(prev) if t > prev => t - prev,
            _ => FALLBACK_DT,
        };
        self.last_t = Some(t);
        dt as f32
    }

    /// Filters `values` in place at time `t` (seconds). Values are divided by `scale` before
    /// filtering (and multiplied back): give the face size for pixel coordinates. The scale of the
    /// first sample is kept until [`VectorFilter::reset`]. A change in the number of values restarts
    /// the filter.
    pub fn filter(&mut self, values: &mut [f32], t: f64, scale: f32, p: &OneEuroParams) {
        if self.filters.len() != values.len() {
            self.filters = vec![OneEuro::default(); values.len()];
            self.last_t = None;
            self.unit = None;
        }
        let dt = self.step(t);
        let given = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        let scale = *self.unit.get_or_insert(given);
        for (v, f) in values.iter_mut().zip(&mut self.filters) {
            *v = f.filter(*v / scale, dt, p) * scale;
        }
    }

    /// Forgets the history (a lost face).
    pub fn reset(&mut self) {
        self.filters.clear();
        self.last_t = None;
        self.unit = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_sample_passes_and_constant_stays() {
        let p = OneEuroParams::default();
        let mut f = OneEuro::default();
        assert_eq!(f.filter(3.0, 0.033, &p), 3.0);
        for _ in 0..10 {
            assert!((f.filter(3.0, 0.033, &p) - 3.0).abs() < 1e-6);
        }
    }

    #[test]
    fn smooths_noise_and_follows_a_step() {
        let p = OneEuroParams::default();
        let mut f = OneEuro::default();
        // Alternating noise of +-0.01 around 0: the output swings far less.
        let mut max_out = 0.0f32;
        for i in 0..60 {
            let x = if i % 2 == 0 { 0.01 } else { -0.01 };
            let y = f.filter(x, 1.0 / 30.0, &p);
            if i > 10 {
                max_out = max_out.max(y.abs());
            }
        }
        assert!(max_out < 0.005, "noise passed: {max_out}");
        // A jump of one unit (a face width) is mostly followed within 5 frames.
        let mut y = 0.0;
        for _ in 0..5 {
            y = f.filter(1.0, 1.0 / 30.0, &p);
        }
        assert!(y > 0.8, "step followed to {y}");
    }

    #[test]
    fn vector_filter_scales_and_resets() {
        let p = OneEuroParams::default();
        let mut f = VectorFilter::new();
        let mut v = [100.0f32, 200.0];
        f.filter(&mut v, 0.0, 50.0, &p);
        assert_eq!(v, [100.0, 200.0]);
        let mut w = [101.0f32, 199.0];
        f.filter(&mut w, 1.0 / 30.0, 50.0, &p);
        assert!(w[0] > 100.0 && w[0] < 101.0 && w[1] < 200.0 && w[1] > 199.0);
        // A still input stays still when the given scale wobbles (the first one is kept).
        let mut still = [300.0f32, 300.0];
        let mut g = VectorFilter::new();
        for (i, s) in [200.0f32, 203.0, 197.0, 201.0].into_iter().enumerate() {
            still = [300.0, 300.0];
            g.filter(&mut still, i as f64 / 30.0, s, &p);
        }
        assert!((still[0] - 300.0).abs() < 1e-3, "{still:?}");
        f.reset();
        let mut z = [0.0f32, 0.0];
        f.filter(&mut z, 0.1, 50.0, &p);
        assert_eq!(z, [0.0, 0.0]);
    }
}
