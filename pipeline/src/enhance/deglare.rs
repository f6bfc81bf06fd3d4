//! Glare suppression: the shader method's parameters and CPU reference ([`deglare_cpu`]), and the
//! learned model ([`GlareModel`], `models/deglare.onnx`).
//!
//! # The shader method (`deglare:backend=gpu`, reference `backend=cpu`)
//! Glare adds light: bloom and veiling glare are the bright sources spread by the lens's point-spread
//! function (PSF). The method estimates that added layer on a small copy and subtracts it in linear
//! light. With `f = ceil(max(W, H) / 160)` and a small grid of `ceil(W/f)` x `ceil(H/f)` cells:
//! 1. **Highlights** (`reduce`): per pixel, linear RGB `c` and `h = clamp((max(c) - t) / (1 - t), 0, 1)`
//!    with `t` the linear `threshold`; per cell, the mean of `c` (`mean`) and of `c * h` (the light
//!    sources, `src`).
//! 2. **Lower envelope** (`min_h`, `min_v`): the per-channel minimum of `mean` over a
//!    `(2 r + 1)²` window (`r = MIN_RADIUS`). Glare is light added on top of the scene, so it can
//!    never exceed the darkest nearby value.
//! 3. **Glare PSF** (`blur_h`, `blur_v`): `src` convolved with a separable PSF whose profile is a
//!    mixture of a narrow and a wide Gaussian ([`Psf`]), scaled by `gain`: the glare the lights could
//!    cause. The envelope is smoothed by the narrow Gaussian.
//! 4. **Estimate**: `G = min(gain * P, cap(E))` per channel, `E` the smoothed envelope and
//!    `cap(E) = bound * E * knee / (knee + E)` ([`glare_cap`]): glare only near lights, never more
//!    than a fraction of the local floor, and on bright backgrounds (sky around the sun) at most
//!    `bound * knee`, so that a bright sky is compressed a little rather than cut into.
//! 5. **Subtract** (`apply`, full size): `out = encode(c - min(strength * G(x, y) * (1 - h),
//!    max_darken * c))`, `G` sampled bilinearly; light cores (`h` = 1) are kept, and no pixel loses
//!    more than `max_darken` ([`MAX_DARKEN`], 25%) of its light: with `G <= bound * knee` this
//!    bounds the change of any pixel outside the cores ([`max_change`]: 9 levels of 255 for the
//!    defaults), whatever the estimate, so no dark structure can appear.
//!
//! A frame with no pixel above `threshold` gets `G = 0` and comes back unchanged.
//! Parity: the GPU kernel and [`deglare_cpu`] agree within ±1 per channel (the GPU's `pow` and
//! unorm rounding differ in the last bits; `pipeline/tests/deglare.rs` checks it).
//!
//! # The learned model (`deglare:backend=onnx`)
//! `models/deglare.onnx` (trained by `scripts/train_deglare.py` on synthetic glare pairs) takes the
//! frame at a working size (long side `size`, sides multiples of 8) and gives a non-negative glare
//! layer in sRGB units. The layer is multiplied by a glare mask ([`glare_mask`]): the frame's
//! highlights spread by the shader method's PSF and mirrored through the centre (flare ghosts), so
//! that the model acts only where lights can have caused glare. On real photos the model alone
//! took bright textured objects for glare (issue 18: a dark smear across a lit paper lantern, 87
//! levels into a white cup), so its layer is constrained ([`constrain_layer`]): converted to linear
//! light, low-passed, and capped like the shader method's estimate (a fraction of the local lower
//! envelope, levelling off on bright backgrounds); then step 5 above subtracts it at full size,
//! with the same `max_darken` and the same bound.

use std::path::Path;

use fast_image_resize::Resizer;
use image::RgbaImage;

use super::{bilinear_taps, linear_to_srgb, srgb_to_linear, unit_to_byte, working_size};
use crate::error::{Error, Result};
use crate::imageops::{resize_rgba, Filter};
use crate::infer::{rgba_to_tensor, Layout, Model, SessionConfig, TensorView, ValueRange};

/// The small grid's target long side (cells).
/// 160 cells (8 px at 1280x720): glare is smooth, and the separable PSF passes cost cells x taps,
/// so halving the grid (and the PSF's radius in cells) makes them 8x cheaper than at 320.
pub const GRID_LONG_SIDE: u32 = 160;
/// Radius of the lower-envelope minimum filter, in cells.
pub const MIN_RADIUS: u32 = 2;
/// The largest fraction of a pixel's linear light either method removes: a pixel keeps at least
/// 75% of its light, so no method can turn a dark detail black next to a light (before this
/// bound the shader method changed dark pixels beside bright skies by up to 37 levels on photos
/// without glare, and the learned one painted up to 87-level dark smears into a white cup; see
/// [`max_change`] for the bound in sRGB levels).
pub const MAX_DARKEN: f32 = 0.25;
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
    /// Linear level of the envelope at which the cap is halved again ([`glare_cap`]): on a
    /// background much brighter than this, at most `bound * knee` is removed.
    pub knee: f32,
    /// 0 = unchanged, 1 = subtract the whole estimate.
    pub strength: f32,
    /// The largest fraction of a pixel's linear light that may be removed ([`MAX_DARKEN`]).
    pub max_darken: f32,
    /// The PSF's profile.
    pub psf: Psf,
}

impl Default for GlareParams {
    fn default() -> Self {
        Self {
            threshold: 0.95,
            gain: 20.0,
            bound: 0.5,
            knee: 0.03,
            strength: 1.0,
            max_darken: MAX_DARKEN,
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
            narrow_sigma: 1.0,
            wide_sigma: 6.0,
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

/// The most glare that may be removed over a smoothed envelope `e` (linear): `bound * e * knee /
/// (knee + e)`. On a dark background (`e` << `knee`) it is `bound * e`, the lower-envelope bound;
/// on a bright one it levels off at `bound * knee`. Glare on a bright sky is a small part of it,
/// and the PSF estimate (which scales with the light's area, e.g. the sun's) is then far too large:
/// uncapped, it cut a dark disc into the sky around a setting sun. As `cap` in the shader.
#[inline]
pub fn glare_cap(e: f32, bound: f32, knee: f32) -> f32 {
    bound * e * knee / (knee + e)
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
    mean: Vec<[f32; 3]>,
    src: Vec<[f32; 3]>,
    tmp_a: Vec<[f32; 3]>,
    tmp_b: Vec<[f32; 3]>,
    envelope: Vec<[f32; 3]>,
    /// The glare estimate `G` on the small grid (linear light), after a run.
    pub glare: Vec<[f32; 3]>,
    /// The cap of step 4 alone (`glare_cap` of the smoothed envelope), per cell, after a run.
    pub cap: Vec<[f32; 3]>,
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
    let (sw, sh) = estimate_glare(src, params, scratch)?;
    // 5. subtract at full size
    subtract_glare(src, dst, &scratch.glare, sw, sh, params)
}

/// Steps 1-4 of the module docs: the glare estimate `G` of `src` into `scratch.glare`; returns the
/// small grid's size.
///
/// # Errors
/// [`Error::Spec`] for an empty frame.
pub fn estimate_glare(
    src: &RgbaImage,
    params: &GlareParams,
    scratch: &mut GlareScratch,
) -> Result<(u32, u32)> {
    let (w, h) = src.dimensions();
    super::check_frame("deglare", w, h)?;
    let (f, sw, sh) = grid(w, h);
    let (wu, fu, swu, shu) = (w as usize, f as usize, sw as usize, sh as usize);
    let t = linear_threshold(params.threshold);
    let lut = super::Decoder::get();
    let px = src.as_raw();

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
                    let c = [
                        lut.linear(px[i]),
                        lut.linear(px[i + 1]),
                        lut.linear(px[i + 2]),
                    ];
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
    scratch.cap.resize(n, [0.0; 3]);
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
            let cap = e.map(|e| glare_cap(e, params.bound, params.knee));
            scratch.glare[y * swu + x] = [0, 1, 2].map(|c| (params.gain * p[c]).min(cap[c]));
            scratch.cap[y * swu + x] = cap;
        }
    }

    Ok((sw, sh))
}

/// Step 5 of the module docs, shared by both methods: subtracts the linear glare layer `glare`
/// (`gw` x `gh`, bilinearly upsampled along y then x) from `src` into `dst`, per pixel at most
/// `max_darken` of its light and none from light cores (`h` of `params.threshold`). Rows run on
/// every core ([`super::par_rows`]); pixels whose four glare taps are all 0 (far from any light)
/// are copied.
fn subtract_glare(
    src: &RgbaImage,
    dst: &mut RgbaImage,
    glare: &[[f32; 3]],
    gw: u32,
    gh: u32,
    params: &GlareParams,
) -> Result<()> {
    let t = linear_threshold(params.threshold);
    let encode = super::Encoder::get();
    let lut = super::Decoder::get();
    let (w, h) = src.dimensions();
    let gwu = gw as usize;
    let stride = 4 * w as usize;
    let px = src.as_raw();
    super::par_rows(dst, w, |y, out| {
        let here = &px[y as usize * stride..(y as usize + 1) * stride];
        let (y0, y1, fy) = bilinear_taps(y, h, gh);
        for x in 0..w {
            let (x0, x1, fx) = bilinear_taps(x, w, gw);
            let (a, b, c, d) = (
                glare[y0 * gwu + x0],
                glare[y0 * gwu + x1],
                glare[y1 * gwu + x0],
                glare[y1 * gwu + x1],
            );
            let i = 4 * x as usize;
            if a == [0.0; 3] && b == [0.0; 3] && c == [0.0; 3] && d == [0.0; 3] {
                out[i..i + 4].copy_from_slice(&here[i..i + 4]);
                continue;
            }
            let lin_px = [
                lut.linear(here[i]),
                lut.linear(here[i + 1]),
                lut.linear(here[i + 2]),
            ];
            let keep = 1.0 - highlight(lin_px, t);
            for k in 0..3 {
                // along y, then x, as the shader (which interpolates along y once per run)
                let left = a[k] + (c[k] - a[k]) * fy;
                let right = b[k] + (d[k] - b[k]) * fy;
                let gk = left + (right - left) * fx;
                let r = (params.strength * gk * keep).min(params.max_darken * lin_px[k]);
                // nothing removed: the byte as it was (decoding and encoding give it back)
                out[i + k] = if r > 0.0 {
                    unit_to_byte(encode.srgb((lin_px[k] - r).max(0.0)))
                } else {
                    here[i + k]
                };
            }
            out[i + 3] = here[i + 3];
        }
    });
    Ok(())
}

/// The largest change in 8-bit sRGB levels that removing at most `min(max_darken * v, bound *
/// knee)` of a linear value `v` can make (a light core excluded): the do-no-harm bound of both
/// methods, whatever the estimate (9 levels for the defaults, at `v` = 0.06, sRGB 69).
pub fn max_change(params: &GlareParams) -> u8 {
    let max_darken = params.max_darken;
    let cap = params.bound * params.knee;
    (0..=255u8)
        .map(|b| {
            let v = srgb_to_linear(f32::from(b) / 255.0);
            let out = v - (max_darken * v).min(cap);
            b.saturating_sub(unit_to_byte(linear_to_srgb(out)))
        })
        .max()
        .unwrap_or(0)
}

fn check_same(src: &RgbaImage, dst: &RgbaImage) -> Result<()> {
    if src.dimensions() != dst.dimensions() {
        return Err(Error::size(
            "deglare output (must match the source)",
            src.dimensions(),
            dst.dimensions(),
        ));
    }
    Ok(())
}

/// sRGB level above which a pixel is a light source for [`glare_mask`] (as in training).
pub const MASK_THRESHOLD: f32 = 0.95;
/// The PSF of [`glare_mask`], in pixels of the 320 px working size: 8 px and 48 px at 1280 px, the
/// shader method's default PSF.
pub const MASK_PSF: Psf = Psf {
    narrow_sigma: 2.0,
    wide_sigma: 12.0,
    narrow_weight: 0.5,
};
/// Scale of the PSF-spread highlights in [`glare_mask`]: the mask reaches 1 where 1/200 of the
/// PSF-weighted neighbourhood is light, e.g. about 20 px from a 12-pixel lamp at 320 px.
pub const MASK_GAIN: f32 = 200.0;

/// Where the learned model may remove glare, for an sRGB image at the working size: per pixel,
/// `min(1, MASK_GAIN * (PSF * h))` with `h` the highlight level of [`MASK_THRESHOLD`] (as the shader
/// method's) and PSF [`MASK_PSF`] (replicated borders), then the maximum of that and its
/// 180-degree rotation (flare ghosts sit mirrored through the centre). Row-major, `w * h` values
/// in 0..=1; all 0 for a frame without pixels above the threshold. `scripts/train_deglare.py`
/// (`glare_mask`) computes the same for training.
pub fn glare_mask(image: &RgbaImage) -> Vec<f32> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let t = linear_threshold(MASK_THRESHOLD);
    let lut = super::Decoder::get();
    let lights: Vec<f32> = image
        .pixels()
        .map(|p| highlight([lut.linear(p[0]), lut.linear(p[1]), lut.linear(p[2])], t))
        .collect();
    if w == 0 || h == 0 || lights.iter().all(|&v| v == 0.0) {
        return vec![0.0; w * h];
    }
    let (psf, _) = MASK_PSF.taps();
    let r = (psf.len() / 2) as i64;
    // Lights are few: rows without any are 0 after the pass along x and add nothing along y, so
    // both passes skip them (the sums are the same, term for term).
    let lit: Vec<bool> = lights
        .chunks_exact(w)
        .map(|row| row.iter().any(|&v| v > 0.0))
        .collect();
    let mut along_x = vec![0.0f32; w * h];
    for y in (0..h).filter(|&y| lit[y]) {
        let row = &lights[y * w..(y + 1) * w];
        for x in 0..w {
            along_x[y * w + x] = psf
                .iter()
                .enumerate()
                .map(|(k, &wt)| wt * row[(x as i64 + k as i64 - r).clamp(0, w as i64 - 1) as usize])
                .sum();
        }
    }
    let mut mask = vec![0.0f32; w * h];
    for y in 0..h {
        let out = &mut mask[y * w..(y + 1) * w];
        for (k, &wt) in psf.iter().enumerate() {
            let sy = (y as i64 + k as i64 - r).clamp(0, h as i64 - 1) as usize;
            if lit[sy] {
                for (o, &a) in out.iter_mut().zip(&along_x[sy * w..(sy + 1) * w]) {
                    *o += wt * a;
                }
            }
        }
        for o in out.iter_mut() {
            *o = (MASK_GAIN * *o).min(1.0);
        }
    }
    let n = w * h;
    for i in 0..n / 2 {
        let m = mask[i].max(mask[n - 1 - i]);
        mask[i] = m;
        mask[n - 1 - i] = m;
    }
    mask
}

/// The learned glare model: frame in, glare layer out, at the working size.
pub struct GlareModel {
    model: Model,
    input: String,
    long_side: u32,
    resizer: Resizer,
    tensor: Vec<f32>,
    /// The shader method's buffers, for its estimate on the working-size copy.
    shader: GlareScratch,
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
            shader: GlareScratch::default(),
        })
    }

    /// The working size for a `width` x `height` frame.
    pub fn working_size(&self, width: u32, height: u32) -> (u32, u32) {
        working_size(width, height, self.long_side, 8)
    }

    /// The glare layer of `image` at the working size, `(layer, w, h)`: linear light per pixel,
    /// the model's output times [`glare_mask`] made safe by [`constrain_layer`].
    ///
    /// # Errors
    /// Inference failures, naming the model file.
    pub fn estimate(
        &mut self,
        image: &RgbaImage,
        params: &GlareParams,
    ) -> Result<(Vec<[f32; 3]>, u32, u32)> {
        let (w, h) = image.dimensions();
        super::check_frame("deglare", w, h)?;
        let (iw, ih) = self.working_size(w, h);
        let small = resize_rgba(&mut self.resizer, image, iw, ih, Filter::Bilinear)?;
        let mask = glare_mask(&small);
        if mask.iter().all(|&m| m == 0.0) {
            // no light, no glare: skip the model
            crate::bufpool::recycle(small.into_raw());
            return Ok((vec![[0.0; 3]; mask.len()], iw, ih));
        }
        let shape = [1, 3, ih as usize, iw as usize];
        self.tensor.resize(3 * (iw * ih) as usize, 0.0);
        rgba_to_tensor(&small, Layout::Nchw, ValueRange::Unit, &mut self.tensor)?;
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
        // the shader method's estimate on the same copy: the ceiling of the learned layer
        let (sw, sh) = estimate_glare(&small, params, &mut self.shader)?;
        let shader = &mut self.shader;
        shader.tmp_a.clear();
        shader.tmp_a.extend(
            shader
                .glare
                .iter()
                .zip(&shader.cap)
                .map(|(g, cap)| [0, 1, 2].map(|c| (LEARNED_REACH * g[c]).min(cap[c]))),
        );
        let layer = constrain_layer(&small, &out.data, &mask, (&shader.tmp_a, sw, sh));
        crate::bufpool::recycle(small.into_raw());
        Ok((layer, iw, ih))
    }

    /// Estimates the glare of `src` and subtracts it into `dst` (same size; alpha copied), as the
    /// shader method's step 5 does with its own estimate.
    ///
    /// # Errors
    /// [`Error::Size`] when the sizes differ; inference failures.
    pub fn deglare(
        &mut self,
        src: &RgbaImage,
        dst: &mut RgbaImage,
        params: &GlareParams,
    ) -> Result<()> {
        check_same(src, dst)?;
        let (layer, gw, gh) = self.estimate(src, params)?;
        subtract_glare(src, dst, &layer, gw, gh, params)
    }
}

fn srgb_lut() -> Vec<f32> {
    (0..=255u8)
        .map(|b| srgb_to_linear(f32::from(b) / 255.0))
        .collect()
}

/// How far the learned layer may go past the shader method's estimate `G`: its ceiling is
/// `min(LEARNED_REACH * G, cap)`, `cap` the envelope bound of step 4 alone (the same bound on any
/// pixel's change, [`max_change`], whatever the reach).
pub const LEARNED_REACH: f32 = 1.0;

/// Smoothing of the learned glare layer, in pixels of the working size (8 px at 1280): glare is
/// low-frequency, so what the model puts into finer structure (texture of a lit object) is not.
pub const LAYER_SIGMA: f32 = 2.0;

/// Makes the learned layer safe (issue 18: uncapped, it painted a dark smear into a lit paper
/// lantern and up to 87 levels into a white cup): `raw` is the model's planar sRGB-unit output at
/// the size of `small`, `mask` its glare mask, `ceiling` the shader method's estimate `G` on the
/// same copy (its small grid, `gw` x `gh`).
/// 1. The layer in linear light: what subtracting `raw * mask` in sRGB would remove from `small`.
/// 2. Low-pass: a Gaussian of [`LAYER_SIGMA`] along x and y (replicated borders).
/// 3. At most `G` (bilinear): the model decides where, within what the lights can have caused
///    and the local lower envelope allows (`glare_cap`: a bright textured object, whose dark parts
///    are near its bright ones, gets little; a bright surface at most `bound * knee`).
///
/// [`GlareModel::deglare`] then subtracts it with step 5 of the shader method, so both share the
/// bound of [`max_change`]. Looser ceilings were tried (the envelope fraction 0.9 instead of 0.5,
/// 1.5 G, `max_darken` 0.5): they kept more of the model's gain on the synthetic pairs (+1.1 dB
/// instead of +0.6) but changed real photos without glare down to 35..38.5 dB.
pub fn constrain_layer(
    small: &RgbaImage,
    raw: &[f32],
    mask: &[f32],
    ceiling: (&[[f32; 3]], u32, u32),
) -> Vec<[f32; 3]> {
    let (w, h) = (small.width() as usize, small.height() as usize);
    let n = w * h;
    let lut = srgb_lut();
    let px = small.as_raw();
    let mut layer: Vec<[f32; 3]> = (0..n)
        .map(|i| {
            let mut g = [0.0f32; 3];
            for (k, gk) in g.iter_mut().enumerate() {
                let x = f32::from(px[4 * i + k]) / 255.0;
                let s = raw.get(k * n + i).copied().unwrap_or(0.0).max(0.0) * mask[i];
                *gk = (lut[usize::from(px[4 * i + k])] - srgb_to_linear((x - s).max(0.0))).max(0.0);
            }
            g
        })
        .collect();
    convolve(&mut layer, w, h, &gauss_taps(LAYER_SIGMA));
    let (g, gw, gh) = ceiling;
    let gwu = gw as usize;
    for y in 0..h {
        let (y0, y1, fy) = bilinear_taps(y as u32, h as u32, gh);
        for x in 0..w {
            let (x0, x1, fx) = bilinear_taps(x as u32, w as u32, gw);
            let l = &mut layer[y * w + x];
            for k in 0..3 {
                let left = g[y0 * gwu + x0][k] + (g[y1 * gwu + x0][k] - g[y0 * gwu + x0][k]) * fy;
                let right = g[y0 * gwu + x1][k] + (g[y1 * gwu + x1][k] - g[y0 * gwu + x1][k]) * fy;
                l[k] = l[k].min(left + (right - left) * fx);
            }
        }
    }
    layer
}

/// Normalised Gaussian taps of `sigma`, radius `ceil(3 sigma)`.
fn gauss_taps(sigma: f32) -> Vec<f32> {
    let r = (3.0 * sigma).ceil() as i32;
    let v: Vec<f32> = (-r..=r)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f32 = v.iter().sum();
    v.into_iter().map(|x| x / total).collect()
}

/// Separable convolution of a `w` x `h` RGB plane with symmetric `taps`, replicated borders.
fn convolve(data: &mut [[f32; 3]], w: usize, h: usize, taps: &[f32]) {
    let r = (taps.len() / 2) as i64;
    let mut tmp = vec![[0.0f32; 3]; data.len()];
    for y in 0..h {
        for x in 0..w {
            let mut acc = [0.0f32; 3];
            for (k, t) in taps.iter().enumerate() {
                let xx = (x as i64 + k as i64 - r).clamp(0, w as i64 - 1) as usize;
                let v = data[y * w + xx];
                for c in 0..3 {
                    acc[c] += t * v[c];
                }
            }
            tmp[y * w + x] = acc;
        }
    }
    for y in 0..h {
        for x in 0..w {
            let mut acc = [0.0f32; 3];
            for (k, t) in taps.iter().enumerate() {
                let yy = (y as i64 + k as i64 - r).clamp(0, h as i64 - 1) as usize;
                let v = tmp[yy * w + x];
                for c in 0..3 {
                    acc[c] += t * v[c];
                }
            }
            data[y * w + x] = acc;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    #[test]
    fn psf_taps_sum_to_one() {
        let (psf, narrow) = Psf::default().taps();
        assert_eq!(psf.len(), 2 * 18 + 1);
        assert_eq!(narrow.len(), 2 * 3 + 1);
        assert!((psf.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!((narrow.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }

    #[test]
    fn grid_covers_the_frame() {
        assert_eq!(grid(1280, 720), (8, 160, 90));
        assert_eq!(grid(1281, 9), (9, 143, 1));
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
        // 87 is 0.095 linear: the cap (`glare_cap` of a ~0.07 envelope, knee 0.03) lets about
        // 0.01 go, 5 levels
        assert!(after + 4 <= before, "halo {before} -> {after}");
        assert!(dst.get_pixel(2, 2)[0] <= 20, "background not brightened");
    }

    #[test]
    fn glare_mask_is_zero_without_lights_and_covers_halo_and_mirror() {
        let dark = RgbaImage::from_pixel(64, 40, Rgba([200, 120, 90, 255]));
        assert!(glare_mask(&dark).iter().all(|&m| m == 0.0));
        let mut lamp = dark.clone();
        for y in 8..12 {
            for x in 8..12 {
                lamp.put_pixel(x, y, Rgba([255, 255, 255, 255]));
            }
        }
        let m = glare_mask(&lamp);
        let at = |x: usize, y: usize| m[y * 64 + x];
        assert_eq!(at(10, 10), 1.0, "on the lamp");
        assert!(at(20, 10) > 0.5, "halo 10 px away: {}", at(20, 10));
        assert_eq!(
            at(63 - 10, 39 - 10),
            at(10, 10),
            "mirrored through the centre"
        );
        assert!(
            at(32, 20) < 0.5,
            "falls off away from the lamp: {}",
            at(32, 20)
        );
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
    }
}
