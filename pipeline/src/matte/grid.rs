//! Small float planes at the matte's working resolution (a few hundred pixels wide) and the few
//! operations the refinement needs on them: box filters, bilinear resizing and sampling.
//!
//! Everything the full-resolution composite reads from a plane goes through [`bilinear_index`], the
//! same arithmetic as `shaders/matte.wgsl`, so the CPU reference and the GPU kernel sample alike.

/// A single-channel f32 image, rows packed.
#[derive(Clone, Debug, PartialEq)]
pub struct Plane {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

impl Plane {
    /// A plane of `width` x `height` filled with `value`.
    pub fn filled(width: usize, height: usize, value: f32) -> Self {
        Self {
            width,
            height,
            data: vec![value; width * height],
        }
    }

    /// The plane with `f` applied to every value.
    pub fn map(&self, f: impl Fn(f32) -> f32) -> Self {
        Self {
            width: self.width,
            height: self.height,
            data: self.data.iter().map(|&v| f(v)).collect(),
        }
    }

    /// `f(self, other)` value by value; `other` must have the same size (planes made here do).
    pub fn zip(&self, other: &Plane, f: impl Fn(f32, f32) -> f32) -> Self {
        Self {
            width: self.width,
            height: self.height,
            data: self
                .data
                .iter()
                .zip(&other.data)
                .map(|(&a, &b)| f(a, b))
                .collect(),
        }
    }

    /// The mean of a box of radius `r` around each value (2r+1 wide), over the part of the box
    /// inside the plane, so edges are not darkened. Separable running sums in f64 (long lines of
    /// values near 1 would lose precision in f32): O(1) per value; the vertical pass runs along
    /// whole rows, so it reads memory in order and vectorises.
    pub fn box_mean(&self, r: usize) -> Self {
        if r == 0 || self.data.is_empty() {
            return self.clone();
        }
        let (w, h) = (self.width, self.height);
        let mut rows = vec![0.0f32; w * h];
        for (src, dst) in self.data.chunks_exact(w).zip(rows.chunks_exact_mut(w)) {
            box_line(src, r, dst);
        }
        let mut out = vec![0.0f32; w * h];
        // The running column sums of rows lo..hi.
        let mut sums = vec![0.0f64; w];
        let (mut lo, mut hi) = (0usize, 0usize);
        for y in 0..h {
            let (want_lo, want_hi) = (y.saturating_sub(r), (y + r + 1).min(h));
            while hi < want_hi {
                for (s, &v) in sums.iter_mut().zip(&rows[hi * w..(hi + 1) * w]) {
                    *s += f64::from(v);
                }
                hi += 1;
            }
            while lo < want_lo {
                for (s, &v) in sums.iter_mut().zip(&rows[lo * w..(lo + 1) * w]) {
                    *s -= f64::from(v);
                }
                lo += 1;
            }
            let count = (hi - lo) as f64;
            for (o, &s) in out[y * w..(y + 1) * w].iter_mut().zip(&sums) {
                *o = (s / count) as f32;
            }
        }
        Self {
            width: w,
            height: h,
            data: out,
        }
    }

    /// The plane resized to `width` x `height` by bilinear interpolation with pixel centres aligned
    /// (enlarging; for shrinking by more than 2 average first).
    pub fn resized(&self, width: usize, height: usize) -> Self {
        if (width, height) == (self.width, self.height) {
            return self.clone();
        }
        let mut data = Vec::with_capacity(width * height);
        for y in 0..height {
            let (y0, y1, fy) = bilinear_index(y, height, self.height);
            for x in 0..width {
                let (x0, x1, fx) = bilinear_index(x, width, self.width);
                let at = |xx: usize, yy: usize| self.data[yy * self.width + xx];
                let top = at(x0, y0) + (at(x1, y0) - at(x0, y0)) * fx;
                let bottom = at(x0, y1) + (at(x1, y1) - at(x0, y1)) * fx;
                data.push(top + (bottom - top) * fy);
            }
        }
        Self {
            width,
            height,
            data,
        }
    }
}

/// One line of box means with window radius `r`, over the part of the window inside the line.
fn box_line(src: &[f32], r: usize, dst: &mut [f32]) {
    let n = src.len();
    let mut sum = 0.0f64;
    let (mut lo, mut hi) = (0usize, 0usize);
    for (i, out) in dst.iter_mut().enumerate().take(n) {
        let (want_lo, want_hi) = (i.saturating_sub(r), (i + r + 1).min(n));
        while hi < want_hi {
            sum += f64::from(src[hi]);
            hi += 1;
        }
        while lo < want_lo {
            sum -= f64::from(src[lo]);
            lo += 1;
        }
        *out = (sum / (hi - lo) as f64) as f32;
    }
}

/// Where output sample `i` of `out_len` falls in a source of `src_len` samples, pixel centres
/// aligned and edges clamped: the two source indices and the weight of the second. The WGSL twin
/// is `grid_index` in `shaders/matte.wgsl`.
pub fn bilinear_index(i: usize, out_len: usize, src_len: usize) -> (usize, usize, f32) {
    let last = src_len.saturating_sub(1);
    let pos = ((i as f32 + 0.5) * src_len as f32 / out_len as f32 - 0.5).clamp(0.0, last as f32);
    let i0 = (pos.floor() as usize).min(last);
    let i1 = (i0 + 1).min(last);
    (i0, i1, pos - i0 as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_mean_of_a_constant_is_the_constant_and_edges_are_not_darkened() {
        let p = Plane::filled(7, 5, 0.25);
        let m = p.box_mean(3);
        assert!(m.data.iter().all(|v| (v - 0.25).abs() < 1e-6));
    }

    #[test]
    fn box_mean_averages_its_window() {
        let p = Plane {
            width: 5,
            height: 1,
            data: vec![0.0, 0.0, 1.0, 0.0, 0.0],
        };
        let m = p.box_mean(1);
        let want = [0.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0, 0.0];
        for (got, want) in m.data.iter().zip(want) {
            assert!((got - want).abs() < 1e-6, "{:?}", m.data);
        }
    }

    #[test]
    fn resizing_keeps_constants_and_ramps() {
        let ramp = Plane {
            width: 4,
            height: 1,
            data: vec![0.0, 1.0, 2.0, 3.0],
        };
        let up = ramp.resized(8, 2);
        // Pixel centres aligned: the ends clamp, the middle interpolates.
        assert_eq!(up.data[0], 0.0);
        assert_eq!(up.data[7], 3.0);
        assert!((up.data[3] - 1.25).abs() < 1e-6, "{:?}", up.data);
        assert_eq!(&up.data[..8], &up.data[8..]);
    }
}
