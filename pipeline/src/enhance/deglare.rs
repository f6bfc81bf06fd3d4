//! Glare suppression: the shader method's parameters and CPU reference ([`deglare_cpu`]), and the
//! learned model ([`GlareModel`], `models/deglare.onnx`).
//!
//! # The shader method (`deglare:backend=gpu`, reference `backend=cpu`)
//! Glare adds light: bloom and veiling glare are the bright sources spread by the lens's point-spread
//! function (PSF). The method estimates that added layer on a small copy and subtracts it in linear
//! light. With `f = ceil(max(W, H) / 320)` and a small grid of `ceil(W/f)` x `ceil(H/f)` cells:
//! 1. **Highlights** (`reduce`): per pixel, linear RGB `c` and `h = clamp((max(c) - t) / (1 - t), 0, 1)`
//!    with `t` the linear `threshold`; per cell, the mean of `c` (`mean`) and of `c * h` (the light
//!    sources, `src`).
//! 2. **Lower envelope** (`min_h`, `min_v`): the per-channel minimum of `mean` over a
//!    `(2 r + 1)²` window (`r = MIN_RADIUS`). Glare is light added on top of the scene, so it can
//!    never exceed the darkest nearby value.
//! 3. **Glare PSF** (`blur_h`, `blur_v`): `src` convolved with a separable PSF whose profile is a
//!    mixture of a narrow and a wide Gaussian ([`Psf`]), scaled by `gain`: the glare the lights could
//!    cause. The envelope is smoothed by the narrow Gaussian.
//! 4. **Estimate**: `G = min(gain * P, bound * envelope)` per channel: glare only near lights, and
//!    never more than the local floor.
//! 5. **Subtract** (`apply`, full size): `out = encode(max(c - strength * G(x, y) * (1 - h), 0))`,
//!    `G` sampled bilinearly; light cores (`h` = 1) are kept.
//!
//! A frame with no pixel above `threshold` gets `G = 0` and comes back unchanged.
//! Parity: the GPU kernel and [`deglare_cpu`] agree within ±1 per channel (the GPU's `pow` and
//! unorm rounding differ in the last bits; `pipeline/tests/deglare.rs` checks it).
//!
//! # The learned model (`deglare:backend=onnx`)
//! `models/deglare.onnx` (trained by `scripts/train_deglare.py` on synthetic glare pairs) takes the
//! frame at a working size (long side `size`, sides multiples of 8) and gives a non-negative glare
//! layer in sRGB units; [`apply_glare_layer`] upsamples it bilinearly and subtracts it at full size.

use std::path::Path;

use fast_image_resize::Resizer;
use image::RgbaImage;

use super::{bilinear_taps, linear_to_srgb, srgb_to_linear, unit_to_byte, working_size};
use crate::error::{Error, Result};
use crate::imageops::{resize_rgba, Filter};
use crate::infer::{rgba_to_tensor, Layout, Model, SessionConfig, TensorView, ValueRange};

/// The small grid's target long side (cells).
pub const GRID_LONG_SIDE: u32 = 320;
/// Radius of the lower-envelope minimum filter, in cells.
pub const MIN_RADIUS: u32 = 3;
/// Largest PSF radius in cells (the shader's taps buffer is sized from it).
pub const MAX_PSF_RADIUS: u32 = 48;

/// Settings of the shader method.
#[derive(Clone, Debug, PartialEq)]
pub struct GlareParams {
    /// sRGB level (0..1) above which a pixel counts as a light source.
    pub threshold: f32,
    /// Scale of the PSF-spread light (how much glare the lights may cause).
    pub gain: f32,
    /// Fraction of the local lower envelope the estimate may reach.
    pub bound: f32,
    /// 0 = unchanged, 1 = subtract the whole estimate.
    pub strength: f32,
    /// The PSF's profile.
    pub psf: Psf,
}

impl Default for GlareParams {
    fn default() -> Self {
        Self {
            threshold: 0.95,
            gain: 20.0,
            bound: 0.5,
            strength: 1.0,
            psf: Psf::default(),
        }
    }
}

/// The glare point-spread function's profile, in cells of the small grid: `narrow_weight` of a
/// Gaussian of `narrow_sigma` plus the rest of one of `wide_sigma`, each normalised; applied along x
/// then y. The envelope is smoothed with the narrow Gaussian alone.
#[derive(Clone, Debug, PartialEq)]
pub struct Psf {
    pub narrow_sigma: f32,
    pub wide_sigma: f32,
    pub narrow_weight: f32,
}

impl Default for Psf {
    fn default() -> Self {
        Self {
            narrow_sigma: 2.0,
            wide_sigma: 12.0,
            narrow_weight: 0.5,
        }
    }
}

impl Psf {
    /// The PSF taps (`2 r + 1`, r = ceil(3 wide_sigma) capped at [`MAX_PSF_RADIUS`]) and the
    /// narrow smoothing taps (`r = ceil(3 narrow_sigma)`), both summing to 1.
    pub fn taps(&self) -> (Vec<f32>, Vec<f32>) {
        let gauss = |sigma: f32, r: u32| -> Vec<f64> {
            let s = f64::from(sigma.max(0.1));
            let v: Vec<f64> = (-(r as i64)..=r as i64)
                .map(|i| (-(i * i) as f64 / (2.0 * s * s)).exp())
                .collect();
            let total: f64 = v.iter().sum();
            v.into_iter().map(|x| x / total).collect()
        };
        let r_wide = ((3.0 * self.wide_sigma).ceil() as u32).clamp(1, MAX_PSF_RADIUS);
        let r_narrow = ((3.0 * self.narrow_sigma).ceil() as u32).clamp(1, r_wide);
        let narrow_full = gauss(self.narrow_sigma, r_wide);
        let wide = gauss(self.wide_sigma, r_wide);
        let nw = f64::from(self.narrow_weight.clamp(0.0, 1.0));
        let psf = narrow_full
            .iter()
            .zip(&wide)
            .map(|(n, w)| (nw * n + (1.0 - nw) * w) as f32)
            .collect();
        let narrow = gauss(self.narrow_sigma, r_narrow)
            .into_iter()
            .map(|x| x as f32)
            .collect();
        (psf, narrow)
    }
}

/// The small grid for a frame: box factor and size.
pub fn grid(width: u32, height: u32) -> (u32, u32, u32) {
    let f = width.max(height).div_ceil(GRID_LONG_SIDE).max(1);
    (f, width.div_ceil(f), height.div_ceil(f))
}

/// Linear threshold for an sRGB `threshold`.
pub fn linear_threshold(threshold: f32) -> f32 {
    srgb_to_linear(threshold.clamp(0.0, 0.999))
}

/// `h` of the module docs for a linear pixel.
#[inline]
fn highlight(c: [f32; 3], t: f32) -> f32 {
    let m = c[0].max(c[1]).max(c[2]);
    ((m - t) / (1.0 - t)).clamp(0.0, 1.0)
}

/// Reusable buffers for [`deglare_cpu`].
#[derive(Debug, Default)]
pub struct GlareScratch {
    lin: Vec<f32>,
    mean: Vec<[f32; 3]>,
    src: Vec<[f32; 3]>,
    tmp_a: Vec<[f32; 3]>,
    tmp_b: Vec<[f32; 3]>,
    envelope: Vec<[f32; 3]>,
    /// The glare estimate `G` on the small grid (linear light), after a run.
    pub glare: Vec<[f32; 3]>,
}

/// The shader method on the CPU: the reference for [`super::deglare_gpu::GpuDeglare`]. Writes the
/// result into `dst` (same size as `src`); alpha is copied.
///
/// # Errors
/// [`Error::Spec`] naming both sizes when `dst` is not the size of `src`, or for an empty frame.
pub fn deglare_cpu(
    src: &RgbaImage,
    dst: &mut RgbaImage,
    params: &GlareParams,
    scratch: &mut GlareScratch,
) -> Result<()> {
    check_same(src, dst)?;
    let (w, h) = src.dimensions();
    super::check_frame("deglare", w, h)?;
    let (f, sw, sh) = grid(w, h);
    let (wu, fu, swu, shu) = (w as usize, f as usize, sw as usize, sh as usize);
    let t = linear_threshold(params.threshold);
    let lut: Vec<f32> = (0..=255u8)
        .map(|b| srgb_to_linear(f32::from(b) / 255.0))
        .collect();
    let px = src.as_raw();
    scratch.lin.clear();
    scratch.lin.extend(px.iter().map(|&b| lut[usize::from(b)]));
    let lin = &scratch.lin;

    // 1. highlights and cell means
    let n = swu * shu;
    scratch.mean.resize(n, [0.0; 3]);
    scratch.src.resize(n, [0.0; 3]);
    for cy in 0..shu {
        for cx in 0..swu {
            let (mut m, mut s) = ([0.0f32; 3], [0.0f32; 3]);
            let mut count = 0u32;
            for y in cy * fu..((cy + 1) * fu).min(h as usize) {
                for x in cx * fu..((cx + 1) * fu).min(wu) {
                    let i = 4 * (y * wu + x);
                    let c = [lin[i], lin[i + 1], lin[i + 2]];
                    let hl = highlight(c, t);
                    for k in 0..3 {
                        m[k] += c[k];
                        s[k] += c[k] * hl;
                    }
                    count += 1;
                }
            }
            let inv = 1.0 / count as f32;
            scratch.mean[cy * swu + cx] = [m[0] * inv, m[1] * inv, m[2] * inv];
            scratch.src[cy * swu + cx] = [s[0] * inv, s[1] * inv, s[2] * inv];
        }
    }

    // 2. lower envelope
    let r = MIN_RADIUS as i64;
    let clamp_x = |x: i64| x.clamp(0, swu as i64 - 1) as usize;
    let clamp_y = |y: i64| y.clamp(0, shu as i64 - 1) as usize;
    scratch.tmp_a.resize(n, [0.0; 3]);
    scratch.envelope.resize(n, [0.0; 3]);
    for y in 0..shu {
        for x in 0..swu {
            let mut v = [f32::INFINITY; 3];
            for d in -r..=r {
                let p = scratch.mean[y * swu + clamp_x(x as i64 + d)];
                for k in 0..3 {
                    v[k] = v[k].min(p[k]);
                }
            }
            scratch.tmp_a[y * swu + x] = v;
        }
    }
    for y in 0..shu {
        for x in 0..swu {
            let mut v = [f32::INFINITY; 3];
            for d in -r..=r {
                let p = scratch.tmp_a[clamp_y(y as i64 + d) * swu + x];
                for k in 0..3 {
                    v[k] = v[k].min(p[k]);
                }
            }
            scratch.envelope[y * swu + x] = v;
        }
    }

    // 3. PSF spread of the sources (into tmp_a) and smoothed envelope (into tmp_b), along x
    let (psf, narrow) = params.psf.taps();
    let (rp, rn) = ((psf.len() / 2) as i64, (narrow.len() / 2) as i64);
    scratch.tmp_b.resize(n, [0.0; 3]);
    for y in 0..shu {
        for x in 0..swu {
            let mut p = [0.0f32; 3];
            for (k, &wt) in psf.iter().enumerate() {
                let s = scratch.src[y * swu + clamp_x(x as i64 + k as i64 - rp)];
                for c in 0..3 {
                    p[c] += wt * s[c];
                }
            }
            let mut e = [0.0f32; 3];
            for (k, &wt) in narrow.iter().enumerate() {
                let s = scratch.envelope[y * swu + clamp_x(x as i64 + k as i64 - rn)];
                for c in 0..3 {
                    e[c] += wt * s[c];
                }
            }
            scratch.tmp_a[y * swu + x] = p;
            scratch.tmp_b[y * swu + x] = e;
        }
    }
    // 4. along y, and the estimate
    scratch.glare.resize(n, [0.0; 3]);
    for y in 0..shu {
        for x in 0..swu {
            let mut p = [0.0f32; 3];
            for (k, &wt) in psf.iter().enumerate() {
                let s = scratch.tmp_a[clamp_y(y as i64 + k as i64 - rp) * swu + x];
                for c in 0..3 {
                    p[c] += wt * s[c];
                }
            }
            let mut e = [0.0f32; 3];
            for (k, &wt) in narrow.iter().enumerate() {
                let s = scratch.tmp_b[clamp_y(y as i64 + k as i64 - rn) * swu + x];
                for c in 0..3 {
                    e[c] += wt * s[c];
                }
            }
            let mut g = [0.0f32; 3];
            for c in 0..3 {
                g[c] = (params.gain * p[c]).min(params.bound * e[c]);
            }
            scratch.glare[y * swu + x] = g;
        }
    }

    // 5. subtract at full size
    let out: &mut [u8] = dst;
    for y in 0..h {
        let (y0, y1, fy) = bilinear_taps(y, h, sh);
        for x in 0..w {
            let (x0, x1, fx) = bilinear_taps(x, w, sw);
            let g = &scratch.glare;
            let (a, b, c, d) = (
                g[y0 * swu + x0],
                g[y0 * swu + x1],
                g[y1 * swu + x0],
                g[y1 * swu + x1],
            );
            let i = 4 * (y as usize * wu + x as usize);
            let lin_px = [lin[i], lin[i + 1], lin[i + 2]];
            let keep = 1.0 - highlight(lin_px, t);
            for k in 0..3 {
                let top = a[k] + (b[k] - a[k]) * fx;
                let bottom = c[k] + (d[k] - c[k]) * fx;
                let gk = top + (bottom - top) * fy;
                let v = (lin_px[k] - params.strength * gk * keep).max(0.0);
                out[i + k] = unit_to_byte(linear_to_srgb(v));
            }
            out[i + 3] = px[i + 3];
        }
    }
    Ok(())
}

fn check_same(src: &RgbaImage, dst: &RgbaImage) -> Result<()> {
    if src.dimensions() != dst.dimensions() {
        return Err(Error::Spec(format!(
            "deglare: the source is {}x{} but the output is {}x{}; they must match",
            src.width(),
            src.height(),
            dst.width(),
            dst.height()
        )));
    }
    Ok(())
}

/// The learned glare model: frame in, glare layer out, at the working size.
pub struct GlareModel {
    model: Model,
    input: String,
    long_side: u32,
    resizer: Resizer,
    tensor: Vec<f32>,
}

/// The default model file, relative to the working directory.
pub const DEFAULT_MODEL: &str = "models/deglare.onnx";

impl GlareModel {
    /// Loads a model shaped like `models/deglare.onnx` (input `[1,3,h,w]`, an output of the same
    /// shape) that runs at `long_side` pixels on the long side.
    ///
    /// # Errors
    /// [`Error::Model`] naming the file when it is missing or shaped differently;
    /// [`Error::Runtime`] when ONNX Runtime cannot be loaded.
    pub fn load(path: impl AsRef<Path>, session: &SessionConfig, long_side: u32) -> Result<Self> {
        let path = path.as_ref();
        let model = Model::load(path, session)?;
        let input = model.single_input(&[Some(1), Some(3), None, None], "a deglare model")?;
        let fits = model
            .outputs()
            .iter()
            .any(|o| o.dims.len() == 4 && o.dims[1] == Some(3) && o.is_f32());
        if !fits {
            let shapes: Vec<String> = model.outputs().iter().map(ToString::to_string).collect();
            return Err(Error::model(
                path,
                format!(
                    "not a deglare model: expected an f32 output [1,3,h,w], found {}",
                    shapes.join(", ")
                ),
            ));
        }
        Ok(Self {
            model,
            input,
            long_side,
            resizer: Resizer::new(),
            tensor: Vec::new(),
        })
    }

    /// The working size for a `width` x `height` frame.
    pub fn working_size(&self, width: u32, height: u32) -> (u32, u32) {
        working_size(width, height, self.long_side, 8)
    }

    /// The glare layer (sRGB units, planar RGB) of `image` at the working size: `(data, w, h)`.
    ///
    /// # Errors
    /// Inference failures, naming the model file.
    pub fn estimate(&mut self, image: &RgbaImage) -> Result<(Vec<f32>, u32, u32)> {
        let (w, h) = image.dimensions();
        super::check_frame("deglare", w, h)?;
        let (iw, ih) = self.working_size(w, h);
        let small = resize_rgba(&mut self.resizer, image, iw, ih, Filter::Bilinear)?;
        let shape = [1, 3, ih as usize, iw as usize];
        self.tensor.resize(3 * (iw * ih) as usize, 0.0);
        rgba_to_tensor(&small, Layout::Nchw, ValueRange::Unit, &mut self.tensor)?;
        crate::bufpool::recycle(small.into_raw());
        let outputs = self.model.run(&[TensorView {
            name: &self.input,
            shape: &shape,
            data: &self.tensor,
        }])?;
        let out = outputs
            .into_iter()
            .find(|t| t.shape == shape)
            .ok_or_else(|| {
                Error::model(
                    self.model.path(),
                    format!("no output of shape {shape:?} for input {shape:?}"),
                )
            })?;
        Ok((out.data, iw, ih))
    }
}

/// Subtracts a planar RGB glare layer (`gw` x `gh`, sRGB units) from `src` at full size, bilinearly
/// upsampled and scaled by `strength`, into `dst` (same size; alpha copied).
///
/// # Errors
/// [`Error::Spec`] when the sizes do not fit.
pub fn apply_glare_layer(
    src: &RgbaImage,
    dst: &mut RgbaImage,
    glare: &[f32],
    gw: u32,
    gh: u32,
    strength: f32,
) -> Result<()> {
    check_same(src, dst)?;
    let plane = (gw * gh) as usize;
    if glare.len() != 3 * plane || plane == 0 {
        return Err(Error::Spec(format!(
            "deglare: a glare layer of {} values does not fit {gw}x{gh}x3",
            glare.len()
        )));
    }
    let (w, h) = src.dimensions();
    let px = src.as_raw();
    let out: &mut [u8] = dst;
    let gwu = gw as usize;
    for y in 0..h {
        let (y0, y1, fy) = bilinear_taps(y, h, gh);
        for x in 0..w {
            let (x0, x1, fx) = bilinear_taps(x, w, gw);
            let i = 4 * (y as usize * w as usize + x as usize);
            for k in 0..3 {
                let p = &glare[k * plane..(k + 1) * plane];
                let top = p[y0 * gwu + x0] + (p[y0 * gwu + x1] - p[y0 * gwu + x0]) * fx;
                let bottom = p[y1 * gwu + x0] + (p[y1 * gwu + x1] - p[y1 * gwu + x0]) * fx;
                let g = (top + (bottom - top) * fy).max(0.0);
                out[i + k] = unit_to_byte(f32::from(px[i + k]) / 255.0 - strength * g);
            }
            out[i + 3] = px[i + 3];
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    #[test]
    fn psf_taps_sum_to_one() {
        let (psf, narrow) = Psf::default().taps();
        assert_eq!(psf.len(), 2 * 36 + 1);
        assert_eq!(narrow.len(), 2 * 6 + 1);
        assert!((psf.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!((narrow.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }

    #[test]
    fn grid_covers_the_frame() {
        assert_eq!(grid(1280, 720), (4, 320, 180));
        assert_eq!(grid(1281, 9), (5, 257, 2));
        assert_eq!(grid(5, 3), (1, 5, 3));
    }

    #[test]
    fn frame_without_lights_is_unchanged() {
        let src = RgbaImage::from_fn(64, 40, |x, y| Rgba([(x * 3) as u8, (y * 5) as u8, 90, 200]));
        let mut dst = RgbaImage::new(64, 40);
        deglare_cpu(
            &src,
            &mut dst,
            &GlareParams::default(),
            &mut GlareScratch::default(),
        )
        .unwrap();
        assert_eq!(src, dst);
    }

    #[test]
    fn halo_around_a_light_gets_darker_and_the_core_stays() {
        // A white lamp with a soft grey halo on a dark background.
        let src = RgbaImage::from_fn(96, 64, |x, y| {
            let d = ((x as f32 - 48.0).powi(2) + (y as f32 - 32.0).powi(2)).sqrt();
            let v = if d < 3.0 {
                255.0
            } else {
                20.0 + 150.0 * (-d / 10.0).exp()
            };
            Rgba([v as u8, v as u8, v as u8, 255])
        });
        let mut dst = RgbaImage::new(96, 64);
        deglare_cpu(
            &src,
            &mut dst,
            &GlareParams::default(),
            &mut GlareScratch::default(),
        )
        .unwrap();
        assert_eq!(dst.get_pixel(48, 32)[0], 255, "core kept");
        let (before, after) = (src.get_pixel(56, 32)[0], dst.get_pixel(56, 32)[0]);
        assert!(after + 10 < before, "halo {before} -> {after}");
        assert!(dst.get_pixel(2, 2)[0] <= 20, "background not brightened");
    }

    #[test]
    fn sizes_must_match() {
        let src = RgbaImage::new(8, 8);
        let mut dst = RgbaImage::new(8, 9);
        let err = deglare_cpu(
            &src,
            &mut dst,
            &GlareParams::default(),
            &mut GlareScratch::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("8x8") && err.contains("8x9"), "{err}");
        let err = apply_glare_layer(&src, &mut dst, &[0.0; 3], 1, 1, 1.0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("8x9"), "{err}");
    }
}
