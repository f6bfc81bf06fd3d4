//! From the network's low-resolution person probability to what the full-resolution composite
//! needs, all at a working grid 256 to 511 pixels across (a fifth of 720p):
//!
//! ```text
//!  frame ─▶ shrink to the grid ─▶ guide (luma) + colour planes
//!  probability (256x144) ─▶ bilinear to the grid ─▶ temporal stabiliser (motion-gated average)
//!        ─▶ guided filter coefficients a, b  (He et al., "Guided Image Filtering", 2010/2013;
//!           the "fast" form: coefficients at low resolution, applied at full resolution as
//!           alpha = a * luma + b, so the matte edge follows the frame's own edges)
//!        ─▶ alpha at the grid ─▶ foreground colour estimate (normalised convolution of colour x
//!           alpha: the colour of nearby person pixels, without the old background) and a blurred
//!           alpha (how far inside the person a pixel is, for the light wrap)
//!        ─▶ (mode=blur) background estimate: normalised convolution of colour x (1 - alpha), so
//!           the blurred background has no halo of the person's colour around them
//! ```
//!
//! The temporal stabiliser averages each grid cell with its previous value, weighted by how still
//! the frame is there: where the guide changed by less than the camera's noise, or the probability
//! moved by much less than `jump` (the network's jitter along an edge), the matte is held (no
//! shimmer on a still person); where the guide changed by `motion` or more and the probability
//! jumped, the new probability is taken at once (no ghost trail when the person moves).

use image::RgbaImage;

use super::grid::Plane;
use crate::error::{Error, Result};
use crate::imageops::{resize_rgba, Filter};

/// Rec. 601 luma weights, the guide's grey; `shaders/matte.wgsl` uses the same.
pub const LUMA: [f32; 3] = [0.299, 0.587, 0.114];

/// How the matte is refined.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RefineConfig {
    /// Guided filter window radius at the grid (cells).
    pub radius: usize,
    /// Guided filter regularisation: larger = smoother matte, fewer edges taken from the frame.
    pub eps: f32,
    /// Weight of the previous matte where the frame is still, 0 (off) ..< 1.
    pub hold: f32,
    /// Guide change (0..1 luma) at and above which a cell follows the new probability at once.
    pub motion: f32,
    /// Probability change (0..1) at and above which a cell follows at once even in a still frame:
    /// smaller changes are the network's jitter.
    pub jump: f32,
    /// Blur radius of the replaced background at the grid (cells, mode=blur); 0 = no estimate.
    pub background_radius: usize,
}

impl Default for RefineConfig {
    fn default() -> Self {
        Self {
            radius: 4,
            eps: 0.008,
            hold: 0.8,
            motion: 0.06,
            jump: 0.35,
            background_radius: 0,
        }
    }
}

/// The working grid's scale: frames are shrunk by a whole factor to a longer side of
/// `GRID_SIDE` up to twice that (1280x720 -> 256x144, the networks' own resolution; 640x360 ->
/// 320x180). The full-resolution detail comes from the frame itself (`alpha = a * luma + b`), so
/// a finer grid buys little and costs in every box filter.
pub const GRID_SIDE: u32 = 256;

/// The working grid for a `width` x `height` frame (see [`GRID_SIDE`]).
pub fn grid_size(width: u32, height: u32) -> (u32, u32) {
    let factor = (width.max(height) / GRID_SIDE).max(1);
    (
        width.div_ceil(factor).max(1),
        height.div_ceil(factor).max(1),
    )
}

/// Values per grid cell in [`MatteGrid::cells`]: a, b, blurred alpha, 0, foreground r, g, b, 0.
pub const CELL: usize = 8;

/// What the composite reads, at the grid.
#[derive(Clone, Debug, PartialEq)]
pub struct MatteGrid {
    pub width: usize,
    pub height: usize,
    /// [`CELL`] values per cell, rows packed (the GPU kernel's storage buffer as is).
    pub cells: Vec<f32>,
    /// The stabilised probability at the grid (before the guided filter), for measurements.
    pub probability: Plane,
    /// The refined alpha at the grid (`a * luma + b`), for measurements.
    pub alpha: Plane,
    /// The blurred background without the person (mode=blur), RGBA8 at the grid.
    pub background: Option<RgbaImage>,
}

/// Refines mattes frame after frame; long-lived, it keeps the previous frame for the stabiliser.
pub struct Refiner {
    config: RefineConfig,
    resizer: fast_image_resize::Resizer,
    previous: Option<Previous>,
}

impl Refiner {
    pub fn new(config: RefineConfig) -> Self {
        Self {
            config,
            resizer: fast_image_resize::Resizer::new(),
            previous: None,
        }
    }

    pub fn config(&self) -> &RefineConfig {
        &self.config
    }

    /// Forgets the previous frame (a cut, an unrelated image).
    pub fn reset(&mut self) {
        self.previous = None;
    }

    /// Refines `probability` (any size, 0..1) for `frame`.
    ///
    /// # Errors
    /// [`Error::Spec`] for an empty frame or probability map.
    pub fn refine(&mut self, frame: &RgbaImage, probability: &Plane) -> Result<MatteGrid> {
        let (fw, fh) = frame.dimensions();
        if fw == 0 || fh == 0 || probability.data.is_empty() {
            return Err(Error::Spec(format!(
                "cannot refine a matte for a {fw}x{fh} frame from a {}x{} probability map",
                probability.width, probability.height
            )));
        }
        let (gw, gh) = grid_size(fw, fh);
        let small = resize_rgba(&mut self.resizer, frame, gw, gh, Filter::Bilinear)?;
        let (w, h) = (gw as usize, gh as usize);
        let channel = |c: usize| Plane {
            width: w,
            height: h,
            data: small
                .as_raw()
                .chunks_exact(4)
                .map(|p| f32::from(p[c]) / 255.0)
                .collect(),
        };
        let rgb = [channel(0), channel(1), channel(2)];
        let guide = Plane {
            width: w,
            height: h,
            data: (0..w * h)
                .map(|i| {
                    LUMA[0] * rgb[0].data[i] + LUMA[1] * rgb[1].data[i] + LUMA[2] * rgb[2].data[i]
                })
                .collect(),
        };
        crate::bufpool::recycle(small.into_raw());
        let (p, a, b) = self.stabilise(probability.resized(w, h), &guide);
        let alpha = Plane {
            width: w,
            height: h,
            data: (0..w * h)
                .map(|i| (a.data[i] * guide.data[i] + b.data[i]).clamp(0.0, 1.0))
                .collect(),
        };
        // The decontamination and wrap windows scale with the guided filter's.
        let reach = self.config.radius.max(1);
        let foreground = normalised_colour(&rgb, &alpha, reach);
        let inner = alpha.box_mean(reach).box_mean(reach);
        let mut cells = vec![0.0f32; w * h * CELL];
        for (i, cell) in cells.chunks_exact_mut(CELL).enumerate() {
            cell[0] = a.data[i];
            cell[1] = b.data[i];
            cell[2] = inner.data[i];
            cell[4] = foreground[0].data[i];
            cell[5] = foreground[1].data[i];
            cell[6] = foreground[2].data[i];
        }
        let background = (self.config.background_radius > 0).then(|| {
            let weight = alpha.map(|v| 1.0 - v);
            let blurred = normalised_colour(&rgb, &weight, self.config.background_radius);
            let raw = (0..w * h)
                .flat_map(|i| {
                    let byte = |p: &Plane| (p.data[i] * 255.0).round().clamp(0.0, 255.0) as u8;
                    [byte(&blurred[0]), byte(&blurred[1]), byte(&blurred[2]), 255]
                })
                .collect();
            RgbaImage::from_raw(gw, gh, raw)
        });
        let background = match background {
            Some(Some(image)) => Some(image),
            Some(None) => {
                return Err(Error::Internal(format!(
                    "background estimate does not hold {gw}x{gh} pixels"
                )))
            }
            None => None,
        };
        Ok(MatteGrid {
            width: w,
            height: h,
            cells,
            probability: p,
            alpha,
            background,
        })
    }

    /// The motion-gated running average (see the module notes) of the probability, then of the
    /// guided filter's coefficients with the same weights (the guide's noise moves them too).
    /// Returns the probability and the coefficients a, b.
    fn stabilise(&mut self, now: Plane, guide: &Plane) -> (Plane, Plane, Plane) {
        let hold = self.config.hold;
        let mut p = now;
        let mut keep = None;
        if let Some(before) = self.previous.as_ref().filter(|b| {
            hold > 0.0 && b.probability.width == p.width && b.probability.height == p.height
        }) {
            // Per-cell change, averaged over its 3x3 neighbours so that sensor noise, which
            // does not agree between neighbours, reads as less change than real motion.
            let change = guide.zip(&before.guide, |a, b| (a - b).abs()).box_mean(1);
            let motion = self.config.motion.max(1e-6);
            let jump = self.config.jump.max(1e-6);
            let mut weights = Vec::with_capacity(p.data.len());
            for ((v, &b), &c) in p
                .data
                .iter_mut()
                .zip(&before.probability.data)
                .zip(&change.data)
            {
                // Held where the frame is still, or where the probability moved only a little
                // (the network's jitter at an edge); followed where both changed (motion).
                let still = (1.0 - c / motion).clamp(0.0, 1.0);
                let small = (1.0 - (*v - b).abs() / jump).clamp(0.0, 1.0);
                let k = hold * still.max(small);
                *v = b * k + *v * (1.0 - k);
                weights.push(k);
            }
            keep = Some(weights);
        }
        let (mut a, mut b) = guided_coefficients(guide, &p, self.config.radius, self.config.eps);
        if let (Some(keep), Some(before)) = (&keep, &self.previous) {
            for (((a, b), (&a0, &b0)), &k) in a
                .data
                .iter_mut()
                .zip(b.data.iter_mut())
                .zip(before.a.data.iter().zip(&before.b.data))
                .zip(keep)
            {
                *a = a0 * k + *a * (1.0 - k);
                *b = b0 * k + *b * (1.0 - k);
            }
        }
        if hold > 0.0 {
            self.previous = Some(Previous {
                probability: p.clone(),
                guide: guide.clone(),
                a: a.clone(),
                b: b.clone(),
            });
        }
        (p, a, b)
    }
}

/// What the stabiliser keeps of the previous frame, at the grid.
struct Previous {
    probability: Plane,
    guide: Plane,
    a: Plane,
    b: Plane,
}

/// The guided filter's averaged linear coefficients (mean a, mean b) of `p` under grey guide `guide`.
pub fn guided_coefficients(guide: &Plane, p: &Plane, r: usize, eps: f32) -> (Plane, Plane) {
    let mean_i = guide.box_mean(r);
    let mean_p = p.box_mean(r);
    let mean_ip = guide.zip(p, |i, p| i * p).box_mean(r);
    let mean_ii = guide.map(|i| i * i).box_mean(r);
    let n = guide.data.len();
    let mut a = Plane::filled(guide.width, guide.height, 0.0);
    let mut b = a.clone();
    for k in 0..n {
        let cov = mean_ip.data[k] - mean_i.data[k] * mean_p.data[k];
        let var = (mean_ii.data[k] - mean_i.data[k] * mean_i.data[k]).max(0.0);
        a.data[k] = cov / (var + eps);
        b.data[k] = mean_p.data[k] - a.data[k] * mean_i.data[k];
    }
    (a.box_mean(r), b.box_mean(r))
}

/// The colour of `rgb` weighted by `weight` and blurred (two box passes of radius `r`), divided by
/// the blurred weight: each cell gets the mean colour of the weighted pixels near it. Where no
/// weight is near, the cell's own colour is kept (there the estimate is never seen: the
/// foreground estimate far from the person is under alpha 0, the background's deep inside it
/// under alpha 1).
fn normalised_colour(rgb: &[Plane; 3], weight: &Plane, r: usize) -> [Plane; 3] {
    let blur = |p: &Plane| p.box_mean(r).box_mean(r);
    let total = blur(weight);
    let one = |c: &Plane| {
        let mut out = blur(&c.zip(weight, |v, w| v * w));
        for ((o, &t), &v) in out.data.iter_mut().zip(&total.data).zip(&c.data) {
            *o = if t > 1e-3 {
                (*o / t).clamp(0.0, 1.0)
            } else {
                v
            };
        }
        out
    };
    [one(&rgb[0]), one(&rgb[1]), one(&rgb[2])]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_sizes() {
        assert_eq!(grid_size(1280, 720), (256, 144));
        assert_eq!(grid_size(1920, 1080), (275, 155));
        assert_eq!(grid_size(640, 360), (320, 180));
        assert_eq!(grid_size(300, 200), (300, 200));
    }

    #[test]
    fn the_guided_filter_moves_a_soft_edge_onto_the_guide_edge() {
        // Guide: a sharp step at x = 10; probability: a soft ramp centred at x = 12.
        let (w, h) = (24, 8);
        let guide = Plane {
            width: w,
            height: h,
            data: (0..w * h)
                .map(|i| if i % w < 10 { 0.9 } else { 0.1 })
                .collect(),
        };
        let p = Plane {
            width: w,
            height: h,
            data: (0..w * h)
                .map(|i| (1.0 - ((i % w) as f32 - 8.0) / 8.0).clamp(0.0, 1.0))
                .collect(),
        };
        let (a, b) = guided_coefficients(&guide, &p, 3, 1e-3);
        let q = |x: usize| a.data[4 * w + x] * guide.data[4 * w + x] + b.data[4 * w + x];
        // Sharper than the input across the guide's edge.
        let step = p.data[4 * w + 9] - p.data[4 * w + 10];
        assert!(q(9) - q(10) > 2.0 * step, "{} {} vs {step}", q(9), q(10));
    }

    #[test]
    fn a_still_frame_holds_the_matte_and_a_changed_one_follows_at_once() {
        let frame = RgbaImage::from_pixel(64, 36, image::Rgba([120, 110, 100, 255]));
        let mut refiner = Refiner::new(RefineConfig::default());
        let p0 = Plane::filled(16, 9, 0.2);
        let p1 = Plane::filled(16, 9, 0.8);
        refiner.refine(&frame, &p0).unwrap();
        let held = refiner.refine(&frame, &p1).unwrap();
        let v = held.probability.data[0];
        assert!((v - (0.2 * 0.8 + 0.8 * 0.2)).abs() < 1e-4, "{v}");
        // The frame changed and the probability jumped: taken at once.
        let other = RgbaImage::from_pixel(64, 36, image::Rgba([20, 30, 40, 255]));
        let p2 = Plane::filled(16, 9, 0.95);
        let followed = refiner.refine(&other, &p2).unwrap();
        assert!((followed.probability.data[0] - 0.95).abs() < 1e-6);
    }
}
