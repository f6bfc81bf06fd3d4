//! Mesh-guided warping: moves the picture so that chosen points land where asked, by moving least
//! squares (Schaefer, McPhail and Warren, "Image Deformation Using Moving Least Squares", SIGGRAPH
//! 2006, the affine variant) evaluated backwards: for each output pixel, where in the source to
//! sample. Control points are the face mesh (eyelids, lips, jaw move; the rest hold the face in
//! place) plus rings around the head and the picture's border that hold the background.
//!
//! ```text
//!  (from_i, to_i) control pairs ─▶ MLS at every GRID-th pixel inside the box the moving points
//!  need (identity outside, faded in over a margin) ─▶ bilinear displacement ─▶ bilinear sample
//! ```

use image::RgbaImage;

use super::anim::warp;

/// The displacement field is computed every this many pixels and interpolated in between.
const GRID: usize = 4;

/// Weight falloff exponent: w = 1 / d^(2 ALPHA). 1.5 keeps a moved eyelid's influence local while
/// the field stays smooth.
const ALPHA: f64 = 1.5;

/// A control point: content at `from` (source pixels) appears at `to` (output pixels).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Control {
    pub from: [f32; 2],
    pub to: [f32; 2],
}

impl Control {
    pub fn fixed(p: [f32; 2]) -> Self {
        Self { from: p, to: p }
    }

    fn moves(&self) -> bool {
        (self.to[0] - self.from[0]).hypot(self.to[1] - self.from[1]) > 0.25
    }
}

/// The source point that the affine MLS deformation maps output point `v` from.
fn mls_inverse(controls: &[Control], v: [f64; 2]) -> [f64; 2] {
    // Weighted moments in one pass: sums of w, w p, w q, w p p^T, w p q^T (p = output, q = source).
    let (mut sw, mut sp, mut sq) = (0.0f64, [0.0f64; 2], [0.0f64; 2]);
    let (mut spp, mut spq) = ([0.0f64; 3], [0.0f64; 4]);
    for c in controls {
        let p = [f64::from(c.to[0]), f64::from(c.to[1])];
        let q = [f64::from(c.from[0]), f64::from(c.from[1])];
        let d2 = (p[0] - v[0]).powi(2) + (p[1] - v[1]).powi(2);
        if d2 < 1e-8 {
            return q;
        }
        let w = 1.0 / d2.powf(ALPHA);
        sw += w;
        sp[0] += w * p[0];
        sp[1] += w * p[1];
        sq[0] += w * q[0];
        sq[1] += w * q[1];
        spp[0] += w * p[0] * p[0];
        spp[1] += w * p[0] * p[1];
        spp[2] += w * p[1] * p[1];
        spq[0] += w * p[0] * q[0];
        spq[1] += w * p[0] * q[1];
        spq[2] += w * p[1] * q[0];
        spq[3] += w * p[1] * q[1];
    }
    if sw <= 0.0 {
        return v;
    }
    let ps = [sp[0] / sw, sp[1] / sw];
    let qs = [sq[0] / sw, sq[1] / sw];
    // Centred moments: A = sum w p^ p^T, B = sum w p^ q^T.
    let a = [
        spp[0] - sw * ps[0] * ps[0],
        spp[1] - sw * ps[0] * ps[1],
        spp[2] - sw * ps[1] * ps[1],
    ];
    let b = [
        spq[0] - sw * ps[0] * qs[0],
        spq[1] - sw * ps[0] * qs[1],
        spq[2] - sw * ps[1] * qs[0],
        spq[3] - sw * ps[1] * qs[1],
    ];
    let det = a[0] * a[2] - a[1] * a[1];
    if det.abs() < 1e-12 {
        return [v[0] - ps[0] + qs[0], v[1] - ps[1] + qs[1]];
    }
    let inv = [a[2] / det, -a[1] / det, a[0] / det];
    let d = [v[0] - ps[0], v[1] - ps[1]];
    // Row vector d (1x2) times A^-1 (2x2) times B (2x2).
    let m = [d[0] * inv[0] + d[1] * inv[1], d[0] * inv[1] + d[1] * inv[2]];
    [
        m[0] * b[0] + m[1] * b[2] + qs[0],
        m[0] * b[1] + m[1] * b[3] + qs[1],
    ]
}

/// `src` warped so that each control's `from` content lands at its `to`. Pixels far from every
/// moving control stay exactly where they were.
pub fn warp_controls(src: &RgbaImage, controls: &[Control]) -> RgbaImage {
    let (w, h) = src.dimensions();
    let moving: Vec<&Control> = controls.iter().filter(|c| c.moves()).collect();
    if moving.is_empty() {
        return src.clone();
    }
    // The box the moving points need, grown by a margin in which the field fades to identity.
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for c in &moving {
        for p in [c.from, c.to] {
            x0 = x0.min(p[0]);
            y0 = y0.min(p[1]);
            x1 = x1.max(p[0]);
            y1 = y1.max(p[1]);
        }
    }
    let margin = 0.6 * (x1 - x0).max(y1 - y0) + 8.0;
    let fade = margin / 3.0;
    let bx0 = (x0 - margin).max(0.0);
    let by0 = (y0 - margin).max(0.0);
    let bx1 = (x1 + margin).min(w as f32);
    let by1 = (y1 + margin).min(h as f32);
    let gw = ((bx1 - bx0) as usize) / GRID + 2;
    let gh = ((by1 - by0) as usize) / GRID + 2;
    let mut field = vec![[0.0f32; 2]; gw * gh];
    for gy in 0..gh {
        for gx in 0..gw {
            let x = bx0 + (gx * GRID) as f32;
            let y = by0 + (gy * GRID) as f32;
            let s = mls_inverse(controls, [f64::from(x), f64::from(y)]);
            // Fade to no displacement at the box's inner edges (not where it meets the picture's).
            let edge = [
                if bx0 > 0.0 { x - bx0 } else { f32::MAX },
                if by0 > 0.0 { y - by0 } else { f32::MAX },
                if bx1 < w as f32 { bx1 - x } else { f32::MAX },
                if by1 < h as f32 { by1 - y } else { f32::MAX },
            ]
            .into_iter()
            .fold(f32::MAX, f32::min);
            let k = (edge / fade).clamp(0.0, 1.0);
            field[gy * gw + gx] = [(s[0] as f32 - x) * k, (s[1] as f32 - y) * k];
        }
    }
    let at = |x: f32, y: f32| -> [f32; 2] {
        if x < bx0 || y < by0 || x >= bx1 || y >= by1 {
            return [0.0, 0.0];
        }
        let fx = (x - bx0) / GRID as f32;
        let fy = (y - by0) / GRID as f32;
        let (ix, iy) = ((fx as usize).min(gw - 2), (fy as usize).min(gh - 2));
        let (ax, ay) = (fx - ix as f32, fy - iy as f32);
        let f = |i: usize, j: usize| field[j * gw + i];
        let mut d = [0.0; 2];
        for (c, v) in d.iter_mut().enumerate() {
            let top = f(ix, iy)[c] + ax * (f(ix + 1, iy)[c] - f(ix, iy)[c]);
            let bottom = f(ix, iy + 1)[c] + ax * (f(ix + 1, iy + 1)[c] - f(ix, iy + 1)[c]);
            *v = top + ay * (bottom - top);
        }
        d
    };
    warp(src, w, h, |x, y| {
        let d = at(x, y);
        (x + d[0], y + d[1])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_land_where_asked_and_far_pixels_stay() {
        // A vertical gradient; one point pulled down by 6 px between fixed ones.
        let src = RgbaImage::from_fn(96, 96, |x, y| image::Rgba([(y * 2) as u8, x as u8, 0, 255]));
        let mut controls: Vec<Control> = (0..=8)
            .flat_map(|i| (0..=8).map(move |j| Control::fixed([i as f32 * 12.0, j as f32 * 12.0])))
            .filter(|c| c.from != [48.0, 48.0])
            .collect();
        controls.push(Control {
            from: [48.0, 42.0],
            to: [48.0, 48.0],
        });
        let out = warp_controls(&src, &controls);
        // At the moved point's destination: the content from 6 px above (y*2 = 84 there, +-1 px).
        let v = i32::from(out.get_pixel(48, 48)[0]);
        assert!((v - 84).abs() <= 3, "{v}");
        // Far away: unchanged.
        assert_eq!(out.get_pixel(5, 90), src.get_pixel(5, 90));
        assert_eq!(out.get_pixel(90, 5), src.get_pixel(90, 5));
    }
}
