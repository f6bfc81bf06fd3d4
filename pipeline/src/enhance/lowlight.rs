//! Low-light enhancement that does no harm: an exposure gain decided per frame, shaped by Zero-DCE
//! curves, applied to luminance (colour kept), with the dark regions denoised as they are
//! brightened.
//!
//! # Deciding ([`CurveModel::plan`], on a small copy, long side `size`)
//! 1. **Exposure** ([`exposure_gain`]): with `Y` the linear luminance of the small copy, the index
//!    `e = sqrt(key * p99)`, `key` the log-average of `Y` (+0.001) and `p99` its 99th percentile;
//!    and the white point `white`, the 99.9th percentile of each pixel's brightest channel. Two
//!    estimates of the gain: `EXPOSURE_TARGET / e` (1 or less for a frame with `e >=
//!    EXPOSURE_TARGET`: a night scene may be dark on average if its lights and sky use the range,
//!    or have no lights if its average is not too low), and the white gain ([`white_gain`]: 1
//!    while `white >= WHITE_EXPOSED`, `WHITE_TARGET / white` below [`WHITE_UNDER`], faded in
//!    between). The frame gets the larger, at most [`MAX_GAIN`] and at most `HEADROOM / p99` (a
//!    frame whose lights already reach [`HEADROOM`], a lit lantern in a dark room, is exposed
//!    too); 1 if that is 1 or less: it is left as it is.
//!    Why two: the index alone cannot tell a bright scene made darker from a dark scene exposed
//!    right. summer_1am (a violet lake at night) 2 stops under has `e` = 0.10, darker than
//!    DarkestHour (a lake at dusk) as it is, 0.126, so the index gave it gain 1.2 of the 4 it
//!    lost. But an exposed photo's highlights reach up: the white point of the exposed test photos
//!    (`pipeline/tests/night.rs`) is 0.48..1.0, of the same photos 2 stops under 0.12..0.25; the
//!    index catches the under-exposed frames with no highlights at all (a fog at dusk, 2 stops
//!    under: white gain 3.5x too, index 3.7x).
//!    On the test photos the correctly exposed night scenes have `e` = 0.126..0.41; the same scenes
//!    2 stops darker 0.031..0.10.
//! 2. **Shape** ([`gain_map`]): where `G > 1`, the Zero-DCE curve model
//!    (`models/zero_dce_curves_neuro.onnx`, 24 maps: for step `i` in 0..8 and channel `c`, map
//!    `3 i + c`, values -1..0; eight steps `x <- x - a x (1 - x)` per sRGB channel) brightens the
//!    small copy; per cell, `r = Y(curves(x)) / Y(x)` (>= 1: the curves brighten dark cells most
//!    and keep white) and the cell's gain is `min(r, G)`, then smoothed by a 5-tap binomial filter
//!    along x and y. So dark regions get the exposure gain and bright ones less (no clipping), and a
//!    frame that needs none gets none, whatever the model says.
//!
//! # Applying (GPU [`super::lowlight_gpu::GpuLowlight`], CPU reference [`apply_gain_cpu`])
//! Per pixel, `k = 1 + strength (g - 1)` with `g` the gain map upsampled bilinearly (along y, then
//! x). Where `k = 1` (a tile the gain map leaves) the pixel is copied. Else, in linear light, with
//! `c` the pixel's RGB:
//! - **Denoise** where brightened: `b = clamp((k - 1) / DENOISE_FULL_GAIN, 0, 1)`; if `b >=`
//!   [`DENOISE_MIN_BLEND`], the 3x3 neighbours `n` (clamped at the edges) weighted by
//!   `max(0, DENOISE_RANGE - d)`, `d` the largest channel difference to the centre in 8-bit codes
//!   (a range filter: edges and texture above the noise get weight 0); the codes move by
//!   `b (weighted mean - centre)`, then are decoded to linear `c` (on the CPU from a table of the
//!   256 codes, interpolated, and encoded by [`super::Encoder`]'s table; the GPU computes the sRGB
//!   curve, which is cheaper there than reading a table: within ±1).
//! - **Brighten luminance, keep chroma**: `out = c k'`, `k' = min(k, 1 / max(c))`, the same factor
//!   on R, G and B, so chroma ratios and the hue of neutral greys stay, and nothing clips into a
//!   new hue.
//!
//! Parity: the GPU kernel and the CPU reference agree within ±1 per channel
//! (`pipeline/tests/deglare.rs`).
//!
//! Video: the stage smooths the gain map over time ([`GainMap::follow`]) so that the curve model's
//! frame-to-frame noise does not flicker.

use std::path::Path;

use fast_image_resize::Resizer;
use image::RgbaImage;

use super::{bilinear_taps, unit_to_byte, working_size};
use crate::error::{Error, Result};
use crate::imageops::{resize_rgba, Filter};
use crate::infer::{rgba_to_tensor, Layout, Model, SessionConfig, TensorView, ValueRange};

/// Mirrored pixels added on each side of the small copy before the curve model runs
/// ([`CurveModel::plan`]).
pub const EDGE_PAD: u32 = 4;
/// Curve steps of Zero-DCE.
pub const STEPS: usize = 8;
/// Curve maps: one per step and channel.
pub const MAPS: usize = 3 * STEPS;
/// The default model file, relative to the working directory.
pub const DEFAULT_MODEL: &str = "models/zero_dce_curves_neuro.onnx";
/// Exposure index (`sqrt(key * p99)`, linear) at and above which a frame is left as it is.
pub const EXPOSURE_TARGET: f32 = 0.12;
/// The 99th percentile of luminance (linear) the exposure gain may lift a frame to: a frame whose
/// lights or sky already reach it (a lit lantern in a dark room) is exposed, whatever its average.
pub const HEADROOM: f32 = 0.5;
/// The brightest channel's 99.9th percentile (linear) at and above which the white point asks for
/// no gain: a frame whose highlights reach it uses its range (the exposed test photos: 0.48..1).
pub const WHITE_EXPOSED: f32 = 0.45;
/// The white point at and below which the white gain is `WHITE_TARGET / white` in full (the test
/// photos 2 stops darker: 0.12..0.25).
pub const WHITE_UNDER: f32 = 0.3;
/// The level the white gain lifts the white point of an under-exposed frame to (linear).
pub const WHITE_TARGET: f32 = 0.7;
/// The most a frame is brightened (linear factor): 3 stops.
pub const MAX_GAIN: f32 = 8.0;
/// Gain at which the dark-region denoise reaches its full amount (`1 + DENOISE_FULL_GAIN`).
pub const DENOISE_FULL_GAIN: f32 = 2.0;
/// Difference in 8-bit sRGB codes at which a neighbour stops counting as the same surface: about
/// 3x the noise of a dark 8-bit frame, so noise is averaged and edges are not.
pub const DENOISE_RANGE_CODES: u8 = 12;
/// [`DENOISE_RANGE_CODES`] as the shader's parameter.
pub const DENOISE_RANGE: f32 = DENOISE_RANGE_CODES as f32;
/// The denoise's blend below which it is skipped: it moves a code by less than
/// `DENOISE_RANGE * DENOISE_MIN_BLEND` = 0.375 of a level there (the range filter's mean lies
/// within the range of the centre), too little to matter, so tiles that are brightened a little
/// (gain under 1.0625) cost no neighbour reads.
pub const DENOISE_MIN_BLEND: f32 = 1.0 / 32.0;
/// Weight of the newest frame's gain map in the stage's smoothing over time.
pub const FOLLOW: f32 = 0.25;

/// Per-cell luminance gain (>= 1, before `strength`) at a small size, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct GainMap {
    pub width: u32,
    pub height: u32,
    pub data: Vec<f32>,
}

impl GainMap {
    /// Gain 1 everywhere: the frame is left as it is.
    pub fn unity(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            data: vec![1.0; (width * height) as usize],
        }
    }

    /// Moves `self` towards `next` by [`FOLLOW`] in log gain (exposure stops), or takes `next`
    /// when the size changed: the smoothing over time of a video.
    pub fn follow(&mut self, next: &GainMap) {
        if (self.width, self.height) != (next.width, next.height) {
            *self = next.clone();
            return;
        }
        for (g, n) in self.data.iter_mut().zip(&next.data) {
            *g = (g.ln() + FOLLOW * (n.ln() - g.ln())).exp();
        }
    }
}

/// Curve maps at a small size: `MAPS` planes of `width` x `height`.
#[derive(Clone, Debug, PartialEq)]
pub struct Curves {
    pub width: u32,
    pub height: u32,
    /// Planar, `MAPS * width * height` values.
    pub data: Vec<f32>,
}

/// The Zero-DCE curve-map model.
pub struct CurveModel {
    model: Model,
    input: String,
    long_side: u32,
    resizer: Resizer,
    tensor: Vec<f32>,
}

impl CurveModel {
    /// Loads a model shaped like `models/zero_dce_curves_neuro.onnx` (`[1,3,h,w]` in, `[1,24,h,w]`
    /// out) that will run at `long_side` pixels on the long side.
    ///
    /// # Errors
    /// [`Error::Model`] naming the file when it is missing or shaped differently;
    /// [`Error::Runtime`] when ONNX Runtime cannot be loaded.
    pub fn load(path: impl AsRef<Path>, session: &SessionConfig, long_side: u32) -> Result<Self> {
        let path = path.as_ref();
        let model = Model::load(path, session)?;
        let input =
            model.single_input(&[Some(1), Some(3), None, None], "a Zero-DCE curve model")?;
        if !model
            .outputs()
            .iter()
            .any(|o| o.dims.len() == 4 && o.dims[1] == Some(MAPS) && o.is_f32())
        {
            let shapes: Vec<String> = model.outputs().iter().map(ToString::to_string).collect();
            return Err(Error::model(
                path,
                format!(
                    "not a Zero-DCE curve model: expected an f32 output [1,{MAPS},h,w], found {}",
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

    /// The size the curves are estimated at for a `width` x `height` frame.
    pub fn curve_size(&self, width: u32, height: u32) -> (u32, u32) {
        working_size(width, height, self.long_side, 1)
    }

    /// Estimates the curve maps of `image` on a copy of [`CurveModel::curve_size`].
    ///
    /// # Errors
    /// Inference failures, naming the model file.
    pub fn estimate(&mut self, image: &RgbaImage) -> Result<Curves> {
        let (w, h) = image.dimensions();
        super::check_frame("lowlight", w, h)?;
        let (cw, ch) = self.curve_size(w, h);
        let small = resize_rgba(&mut self.resizer, image, cw, ch, Filter::Bilinear)?;
        let curves = self.run(&small);
        crate::bufpool::recycle(small.into_raw());
        curves
    }

    /// The curve maps of `small` at its own size.
    fn run(&mut self, small: &RgbaImage) -> Result<Curves> {
        let (cw, ch) = small.dimensions();
        self.tensor.resize(3 * (cw * ch) as usize, 0.0);
        rgba_to_tensor(small, Layout::Nchw, ValueRange::Unit, &mut self.tensor)?;
        let shape = [1, 3, ch as usize, cw as usize];
        let outputs = self.model.run(&[TensorView {
            name: &self.input,
            shape: &shape,
            data: &self.tensor,
        }])?;
        let want = [1, MAPS, ch as usize, cw as usize];
        let out = outputs
            .into_iter()
            .find(|t| t.shape == want)
            .ok_or_else(|| {
                Error::model(
                    self.model.path(),
                    format!("no output of shape {want:?} for input {shape:?}"),
                )
            })?;
        Ok(Curves {
            width: cw,
            height: ch,
            data: out.data,
        })
    }

    /// The curve maps of `small`, estimated on a copy with [`EDGE_PAD`] mirrored pixels around it
    /// (then cropped). The network pads each convolution with zeros, which it reads as a black
    /// border: its curves weaken towards the frame's edges, and a brightened sky came out with
    /// a darker band along the top (DarkestHour 2 stops under, `pipeline/tests/night.rs`: the top
    /// 2% of the rows 96 -> 112 in green instead of flat).
    fn run_mirrored(&mut self, small: &RgbaImage) -> Result<Curves> {
        let (w, h) = small.dimensions();
        let pad = EDGE_PAD.min(w - 1).min(h - 1);
        let mirror = |i: i64, n: u32| -> u32 {
            let n = i64::from(n);
            let i = if i < 0 { -i } else { i };
            (if i >= n { 2 * (n - 1) - i } else { i }) as u32
        };
        let padded = RgbaImage::from_fn(w + 2 * pad, h + 2 * pad, |x, y| {
            *small.get_pixel(
                mirror(i64::from(x) - i64::from(pad), w),
                mirror(i64::from(y) - i64::from(pad), h),
            )
        });
        let curves = self.run(&padded)?;
        let (pw, ph) = (w + 2 * pad, h + 2 * pad);
        let mut data = Vec::with_capacity(MAPS * (w * h) as usize);
        for plane in curves.data.chunks_exact((pw * ph) as usize) {
            for row in plane
                .chunks_exact(pw as usize)
                .skip(pad as usize)
                .take(h as usize)
            {
                data.extend_from_slice(&row[pad as usize..(pad + w) as usize]);
            }
        }
        Ok(Curves {
            width: w,
            height: h,
            data,
        })
    }

    /// The gain map of `image` (module docs, "Deciding"): the exposure gain of a small copy and,
    /// where it is above 1, the curve model's shape. The model does not run for an exposed frame.
    ///
    /// # Errors
    /// Inference failures, naming the model file.
    pub fn plan(&mut self, image: &RgbaImage) -> Result<GainMap> {
        let (w, h) = image.dimensions();
        super::check_frame("lowlight", w, h)?;
        let (cw, ch) = self.curve_size(w, h);
        let small = resize_rgba(&mut self.resizer, image, cw, ch, Filter::Bilinear)?;
        let gain = exposure_gain(&small);
        let map = if gain <= 1.0 {
            GainMap::unity(cw, ch)
        } else {
            let curves = self.run_mirrored(&small)?;
            gain_map(&small, &curves, gain)?
        };
        crate::bufpool::recycle(small.into_raw());
        Ok(map)
    }
}

/// Linear luminance (Rec. 709) of linear RGB.
#[inline]
fn luminance(c: [f32; 3]) -> f32 {
    0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
}

/// The exposure gain of a small copy of a frame (module docs, step 1): 1 for an exposed frame,
/// else `min(max(EXPOSURE_TARGET / sqrt(key * p99), white gain), HEADROOM / p99, MAX_GAIN)`.
pub fn exposure_gain(small: &RgbaImage) -> f32 {
    let n = (small.width() * small.height()) as usize;
    if n == 0 {
        return 1.0;
    }
    let lut = super::Decoder::get();
    let (mut y, mut top): (Vec<f32>, Vec<f32>) = small
        .pixels()
        .map(|p| {
            let c = [lut.linear(p[0]), lut.linear(p[1]), lut.linear(p[2])];
            (luminance(c), c[0].max(c[1]).max(c[2]))
        })
        .unzip();
    let key = (y.iter().map(|v| f64::from(v + 0.001).ln()).sum::<f64>() / n as f64).exp() as f32;
    let k = (n * 99 / 100).min(n - 1);
    let (_, p99, _) = y.select_nth_unstable_by(k, f32::total_cmp);
    let p99 = *p99;
    let e = (key * p99).max(0.0).sqrt();
    let k = (n * 999 / 1000).min(n - 1);
    let (_, white, _) = top.select_nth_unstable_by(k, f32::total_cmp);
    let gain = (EXPOSURE_TARGET / e.max(1e-6))
        .max(white_gain(*white))
        .min(HEADROOM / p99.max(1e-6))
        .min(MAX_GAIN);
    if gain <= 1.0 {
        1.0
    } else {
        gain
    }
}

/// The gain the white point asks for (module docs, step 1): 1 while the brightest channel's
/// 99.9th percentile `white` (linear) is at or above [`WHITE_EXPOSED`]; `WHITE_TARGET / white`
/// at or below [`WHITE_UNDER`]; between them the log gain fades in along a smoothstep, so the
/// decision has no jump.
pub fn white_gain(white: f32) -> f32 {
    let white = white.max(1e-6);
    let t = ((WHITE_EXPOSED.ln() - white.ln()) / (WHITE_EXPOSED.ln() - WHITE_UNDER.ln()))
        .clamp(0.0, 1.0);
    let t = t * t * (3.0 - 2.0 * t);
    (WHITE_TARGET / white).max(1.0).powf(t)
}

/// The gain map of a small copy (module docs, step 2): per cell `min(r, gain)` with `r` the
/// luminance ratio the curves give (`curves` at the copy's size), smoothed by a 5-tap binomial
/// filter along x and y.
///
/// # Errors
/// [`Error::Spec`] when `curves` is not the size of `small`.
pub fn gain_map(small: &RgbaImage, curves: &Curves, gain: f32) -> Result<GainMap> {
    let (w, h) = small.dimensions();
    if (curves.width, curves.height) != (w, h) {
        return Err(Error::size(
            "lowlight curves (must match the small copy)",
            (w, h),
            (curves.width, curves.height),
        ));
    }
    let mut bright = RgbaImage::new(w, h);
    apply_curves_cpu(small, &mut bright, curves, 1.0)?;
    let lut = super::Decoder::get();
    let y = |p: &image::Rgba<u8>| luminance([lut.linear(p[0]), lut.linear(p[1]), lut.linear(p[2])]);
    let raw: Vec<f32> = small
        .pixels()
        .zip(bright.pixels())
        .map(|(a, b)| {
            let (ya, yb) = (y(a), y(b));
            let r = if ya > 0.0 { yb / ya } else { gain };
            r.clamp(1.0, gain)
        })
        .collect();
    let (wu, hu) = (w as usize, h as usize);
    const TAPS: [f32; 5] = [1.0 / 16.0, 4.0 / 16.0, 6.0 / 16.0, 4.0 / 16.0, 1.0 / 16.0];
    let mut along_x = vec![0.0f32; wu * hu];
    for yy in 0..hu {
        for x in 0..wu {
            along_x[yy * wu + x] = TAPS
                .iter()
                .enumerate()
                .map(|(k, t)| t * raw[yy * wu + (x + k).saturating_sub(2).min(wu - 1)])
                .sum();
        }
    }
    let mut data = vec![0.0f32; wu * hu];
    for yy in 0..hu {
        for x in 0..wu {
            data[yy * wu + x] = TAPS
                .iter()
                .enumerate()
                .map(|(k, t)| t * along_x[(yy + k).saturating_sub(2).min(hu - 1) * wu + x])
                .sum();
        }
    }
    Ok(GainMap {
        width: w,
        height: h,
        data,
    })
}

/// Checks that `map` holds one value per cell of its size.
pub fn check_gain(map: &GainMap) -> Result<()> {
    let plane = map.width as usize * map.height as usize;
    if plane == 0 || map.data.len() != plane {
        return Err(Error::Spec(format!(
            "lowlight: {} gain values do not fit {}x{}",
            map.data.len(),
            map.width,
            map.height
        )));
    }
    Ok(())
}

/// The denoise weight of a neighbour whose largest channel difference to the centre is `d` 8-bit
/// codes (module docs), in units of `1 / DENOISE_RANGE`: an integer, so the CPU reference sums
/// integers (the scale cancels in the weighted mean).
#[inline]
pub fn range_weight(d: u8) -> u32 {
    u32::from(DENOISE_RANGE_CODES.saturating_sub(d))
}

/// [`Error::Size`] unless `dst` has `src`'s size.
fn check_output(src: &RgbaImage, dst: &RgbaImage) -> Result<()> {
    if src.dimensions() != dst.dimensions() {
        return Err(Error::size(
            "lowlight output (must match the source)",
            src.dimensions(),
            dst.dimensions(),
        ));
    }
    Ok(())
}

/// Applies `map` to `src` with `strength` (module docs, "Applying") into `dst` (same size; alpha
/// copied): the CPU reference of the GPU kernel. Rows run on every core ([`super::par_rows`]);
/// nothing is allocated.
///
/// # Errors
/// [`Error::Size`] when the sizes differ; [`Error::Spec`] when the map does not fit.
pub fn apply_gain_cpu(
    src: &RgbaImage,
    dst: &mut RgbaImage,
    map: &GainMap,
    strength: f32,
) -> Result<()> {
    check_output(src, dst)?;
    check_gain(map)?;
    let (w, h) = src.dimensions();
    super::check_frame("lowlight", w, h)?;
    let (gw, gh) = (map.width, map.height);
    let gwu = gw as usize;
    let lut = super::Decoder::get().table();
    let encode = super::Encoder::get();
    let px = src.as_raw();
    let stride = 4 * w as usize;
    let g = &map.data;
    super::par_rows(dst, w, |y, out| {
        let (y0, y1, fy) = bilinear_taps(y, h, gh);
        // the neighbour rows, clamped at the edges as the shader's `codes`
        let row = |yy: u32| &px[yy as usize * stride..(yy as usize + 1) * stride];
        let rows = [row(y.saturating_sub(1)), row(y), row((y + 1).min(h - 1))];
        let here = rows[1];
        for x in 0..w as usize {
            let (x0, x1, fx) = bilinear_taps(x as u32, w, gw);
            let left = g[y0 * gwu + x0] + (g[y1 * gwu + x0] - g[y0 * gwu + x0]) * fy;
            let right = g[y0 * gwu + x1] + (g[y1 * gwu + x1] - g[y0 * gwu + x1]) * fy;
            let k = 1.0 + strength * (left + (right - left) * fx - 1.0);
            let i = 4 * x;
            if k <= 1.0 {
                // gain 1 (a bright tile, or the gain map's unity cells): the pixel as it is
                out[i..i + 4].copy_from_slice(&here[i..i + 4]);
                continue;
            }
            let centre = [here[i], here[i + 1], here[i + 2]];
            let b = ((k - 1.0) / DENOISE_FULL_GAIN).clamp(0.0, 1.0);
            let c = if b >= DENOISE_MIN_BLEND {
                // the denoise averages 8-bit codes (one decode per pixel, not nine)
                let (mut sum, mut total) = ([0u32; 3], 0u32);
                let cols = [4 * x.saturating_sub(1), i, 4 * (x + 1).min(w as usize - 1)];
                for r in rows {
                    for j in cols {
                        let n = [r[j], r[j + 1], r[j + 2]];
                        let d = n[0]
                            .abs_diff(centre[0])
                            .max(n[1].abs_diff(centre[1]))
                            .max(n[2].abs_diff(centre[2]));
                        let wt = range_weight(d);
                        for ch in 0..3 {
                            sum[ch] += wt * u32::from(n[ch]);
                        }
                        total += wt;
                    }
                }
                // the centre has weight DENOISE_RANGE_CODES, so total > 0
                let total = total as f32;
                [0, 1, 2].map(|ch| {
                    let q = f32::from(centre[ch]);
                    decode_code(lut, q + b * (sum[ch] as f32 / total - q))
                })
            } else {
                centre.map(|q| lut[usize::from(q)])
            };
            let m = c[0].max(c[1]).max(c[2]);
            let k = if m > 0.0 { k.min(1.0 / m) } else { k };
            for ch in 0..3 {
                out[i + ch] = unit_to_byte(encode.srgb(c[ch] * k));
            }
            out[i + 3] = here[i + 3];
        }
    });
    Ok(())
}

/// The linear value of a fractional 8-bit code `q` (0..=255): the table `lut` of the 256 codes,
/// interpolated (the sRGB curve is smooth at that scale: within 0.01 levels of the exact decode).
#[inline]
fn decode_code(lut: &[f32; 256], q: f32) -> f32 {
    let i = (q.max(0.0) as usize).min(254);
    lut[i] + (lut[i + 1] - lut[i]) * (q - i as f32)
}

/// Checks that `curves` holds `MAPS` planes of its size.
pub fn check_curves(curves: &Curves) -> Result<()> {
    let plane = curves.width as usize * curves.height as usize;
    if plane == 0 || curves.data.len() != MAPS * plane {
        return Err(Error::Spec(format!(
            "lowlight: {} curve values do not make {MAPS} maps of {}x{}",
            curves.data.len(),
            curves.width,
            curves.height
        )));
    }
    Ok(())
}

/// Applies `curves` to `src` at full size and blends with `strength`, into `dst` (same size;
/// alpha copied): the CPU reference of the GPU kernel.
///
/// # Errors
/// [`Error::Spec`] when the sizes do not fit.
pub fn apply_curves_cpu(
    src: &RgbaImage,
    dst: &mut RgbaImage,
    curves: &Curves,
    strength: f32,
) -> Result<()> {
    check_output(src, dst)?;
    check_curves(curves)?;
    let (w, h) = src.dimensions();
    let (cw, ch) = (curves.width, curves.height);
    let plane = (cw * ch) as usize;
    let px = src.as_raw();
    let out: &mut [u8] = dst;
    for y in 0..h {
        let (y0, y1, fy) = bilinear_taps(y, h, ch);
        for x in 0..w {
            let (x0, x1, fx) = bilinear_taps(x, w, cw);
            let (i00, i01, i10, i11) = (
                y0 * cw as usize + x0,
                y0 * cw as usize + x1,
                y1 * cw as usize + x0,
                y1 * cw as usize + x1,
            );
            let i = 4 * (y as usize * w as usize + x as usize);
            for c in 0..3 {
                let input = f32::from(px[i + c]) / 255.0;
                let mut v = input;
                for step in 0..STEPS {
                    let m = &curves.data[(3 * step + c) * plane..(3 * step + c + 1) * plane];
                    // along y, then x: the order of the shader, which interpolates along y once
                    // per run of pixels
                    let left = m[i00] + (m[i10] - m[i00]) * fy;
                    let right = m[i01] + (m[i11] - m[i01]) * fy;
                    let a = left + (right - left) * fx;
                    v -= a * v * (1.0 - v);
                }
                out[i + c] = unit_to_byte(input + strength * (v - input));
            }
            out[i + 3] = px[i + 3];
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enhance::srgb_to_linear;
    use image::Rgba;

    fn flat(a: f32, w: u32, h: u32) -> Curves {
        Curves {
            width: w,
            height: h,
            data: vec![a; MAPS * (w * h) as usize],
        }
    }

    #[test]
    fn negative_curves_brighten_and_keep_black_and_white() {
        let src = RgbaImage::from_fn(4, 1, |x, _| Rgba([[0, 40, 128, 255][x as usize]; 4]));
        let mut dst = RgbaImage::new(4, 1);
        apply_curves_cpu(&src, &mut dst, &flat(-0.5, 2, 2), 1.0).unwrap();
        assert_eq!(dst.get_pixel(0, 0)[0], 0);
        assert!(dst.get_pixel(1, 0)[0] > 80, "{:?}", dst.get_pixel(1, 0));
        assert_eq!(dst.get_pixel(3, 0)[0], 255);
        // strength 0: the input
        apply_curves_cpu(&src, &mut dst, &flat(-0.5, 2, 2), 0.0).unwrap();
        assert_eq!(src, dst);
    }

    #[test]
    fn exposure_gain_leaves_exposed_frames_and_lifts_dark_ones() {
        // a dark room with a lit lantern: most pixels dark, the lantern uses the range
        let lantern = RgbaImage::from_fn(40, 30, |x, y| {
            let v = if (15..25).contains(&x) && (8..22).contains(&y) {
                240
            } else {
                12
            };
            Rgba([v, v, v, 255])
        });
        assert_eq!(exposure_gain(&lantern), 1.0);
        // the same room without the lantern: under-exposed
        let dark = RgbaImage::from_pixel(40, 30, Rgba([30, 30, 30, 255]));
        let g = exposure_gain(&dark);
        assert!(g > 2.0 && g <= MAX_GAIN, "{g}");
        assert_eq!(exposure_gain(&RgbaImage::new(0, 0)), 1.0);
    }

    #[test]
    fn gain_keeps_grey_grey_and_unity_keeps_the_frame() {
        let src = RgbaImage::from_fn(16, 8, |x, _| {
            let v = 10 + 6 * x as u8;
            Rgba([v, v, v, 200])
        });
        let mut dst = RgbaImage::new(16, 8);
        apply_gain_cpu(&src, &mut dst, &GainMap::unity(4, 2), 1.0).unwrap();
        assert_eq!(src, dst);
        let map = GainMap {
            width: 4,
            height: 2,
            data: vec![3.0; 8],
        };
        apply_gain_cpu(&src, &mut dst, &map, 1.0).unwrap();
        for (p, q) in src.pixels().zip(dst.pixels()) {
            assert!(q[0] == q[1] && q[1] == q[2], "{q:?} not grey");
            assert!(q[0] > p[0] && q[3] == 200, "{p:?} -> {q:?}");
        }
        // a coloured pixel keeps its channel ratios (in linear light) and does not clip into a new hue
        let red = RgbaImage::from_pixel(4, 4, Rgba([200, 60, 30, 255]));
        let mut out = RgbaImage::new(4, 4);
        apply_gain_cpu(&red, &mut out, &map, 1.0).unwrap();
        let q = out.get_pixel(1, 1);
        assert_eq!(q[0], 255, "brightened to the top: {q:?}");
        let ratio = |p: &Rgba<u8>| {
            srgb_to_linear(f32::from(p[1]) / 255.0) / srgb_to_linear(f32::from(p[0]) / 255.0)
        };
        assert!(
            (ratio(q) - ratio(red.get_pixel(1, 1))).abs() < 0.01,
            "{q:?}"
        );
    }

    #[test]
    fn follow_moves_a_quarter_of_the_way_in_stops() {
        let mut a = GainMap::unity(2, 1);
        let b = GainMap {
            width: 2,
            height: 1,
            data: vec![16.0, 1.0],
        };
        a.follow(&b);
        assert!(
            (a.data[0] - 2.0).abs() < 1e-5 && a.data[1] == 1.0,
            "{:?}",
            a.data
        );
        let c = GainMap::unity(3, 1);
        a.follow(&c);
        assert_eq!(a, c, "a new size starts over");
    }

    #[test]
    fn wrong_curve_count_is_named() {
        let src = RgbaImage::new(4, 4);
        let mut dst = RgbaImage::new(4, 4);
        let bad = Curves {
            width: 2,
            height: 2,
            data: vec![0.0; 5],
        };
        let err = apply_curves_cpu(&src, &mut dst, &bad, 1.0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("24 maps of 2x2"), "{err}");
    }
}
