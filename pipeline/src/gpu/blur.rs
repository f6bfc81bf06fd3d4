//! Separable Gaussian blur: a WGSL compute kernel ([`GpuBlur`], `shaders/blur.wgsl`) and a CPU
//! reference ([`gaussian_blur`]) that performs the same arithmetic in the same order.
//!
//! The math, shared by both:
//! - Weights: `exp(-i² / 2σ²)` for `i` in `-radius..=radius`, computed in f64, normalised to sum 1,
//!   taps below 1e-6 of the total dropped (shrinking the radius), then stored as f32. `σ` defaults
//!   to `radius / 2`. Radius 0 is one tap of weight 1: the identity.
//! - Alpha: the blur is premultiplied (alpha-weighted). Each pixel becomes `(r·α, g·α, b·α, α)` with
//!   `α = a / 255`; the sums are divided by the blurred `α` at the end. Fully transparent pixels
//!   therefore lend no colour to their neighbours (no dark fringes around stickers or cut-outs), and
//!   opaque frames, the common case, blur exactly as a plain per-channel blur. Where every pixel
//!   under the kernel is fully transparent, the pixel keeps its own colour (alpha stays 0).
//! - Edges clamp (the border pixel repeats). Horizontal pass first, into an f32 intermediate, then
//!   vertical; results round half to even and clamp to 0..=255.
//!
//! Tolerance: the GPU may fuse multiply-adds and divides less exactly (WGSL allows 2.5 ulp), so a
//! value that lands within about 1e-4 of a rounding boundary may round the other way. GPU and CPU
//! outputs agree within ±1 per channel; in practice almost all pixels are bit-equal.

use std::sync::Arc;

use image::RgbaImage;

use super::image::{same_size, FRAME_FORMAT};
use super::kernel::{
    groups_2d, into_new_frame, storage_texture, texture, through_gpu, uniform, view, BySize, Entry,
    HostBuffer, Kernel, KernelDesc,
};
use super::{GpuContext, GpuImage};
use crate::error::{Error, Result};

/// The WGSL source, embedded so that the binary stands alone.
pub const SHADER: &str = doppel_shaders::BLUR;

/// The largest radius the kernel accepts.
pub const MAX_RADIUS: u32 = 32;

/// Taps below this fraction of the total weight are dropped.
const MIN_TAP: f64 = 1e-6;

/// Workgroup side in `blur.wgsl` (`@workgroup_size(8, 8, 1)`).
const WORKGROUP: u32 = 8;

/// Pixels one invocation blurs along its pass (`RUN` in `blur.wgsl`).
const RUN: u32 = 4;

/// Window rows of the taps uniform (`rows` in `blur.wgsl`): `RUN + 2 * MAX_RADIUS`.
const ROWS: usize = RUN as usize + 2 * MAX_RADIUS as usize;

/// Bytes of the taps uniform: `array<vec4<f32>, 68>`, one vec4 per window row.
const TAPS_BYTES: u64 = ROWS as u64 * 16;

/// Normalised Gaussian weights for a blur radius: `2 * radius + 1` taps, symmetric, summing to 1.
#[derive(Clone, Debug, PartialEq)]
pub struct GaussianWeights {
    sigma: f32,
    taps: Vec<f32>,
}

impl GaussianWeights {
    /// Weights for `radius` (0..=[`MAX_RADIUS`]) and `sigma` (> 0; default `radius / 2`).
    ///
    /// # Errors
    /// [`Error::Option`] (stage `blur`) for a radius above [`MAX_RADIUS`] or a sigma that is not a
    /// positive finite number.
    pub fn new(radius: u32, sigma: Option<f32>) -> Result<Self> {
        let option_error = |option: &str, message: String| Error::Option {
            stage: "blur".to_string(),
            option: option.to_string(),
            message,
        };
        if radius > MAX_RADIUS {
            return Err(option_error(
                "radius",
                format!("{radius} is out of range; expected 0 to {MAX_RADIUS}"),
            ));
        }
        let sigma = sigma.unwrap_or(radius as f32 / 2.0);
        if radius == 0 {
            return Ok(Self {
                sigma,
                taps: vec![1.0],
            });
        }
        if !(sigma.is_finite() && sigma > 0.0) {
            return Err(option_error(
                "sigma",
                format!("{sigma} is not valid; expected a number above 0"),
            ));
        }
        let s = f64::from(sigma);
        let half: Vec<f64> = (0..=radius)
            .map(|i| (-f64::from(i * i) / (2.0 * s * s)).exp())
            .collect();
        let total = half[0] + 2.0 * half[1..].iter().sum::<f64>();
        // Weights fall with distance, so the kept taps are a prefix.
        let kept = half.iter().take_while(|&&w| w / total >= MIN_TAP).count();
        let half = &half[..kept.max(1)];
        let total = half[0] + 2.0 * half[1..].iter().sum::<f64>();
        let taps = half
            .iter()
            .rev()
            .chain(half[1..].iter())
            .map(|&w| (w / total) as f32)
            .collect();
        Ok(Self { sigma, taps })
    }

    /// Taps on each side of the centre (after dropping negligible ones).
    pub fn radius(&self) -> u32 {
        (self.taps.len() / 2) as u32
    }

    pub fn sigma(&self) -> f32 {
        self.sigma
    }

    /// The `2 * radius + 1` weights, from `-radius` to `+radius`.
    pub fn taps(&self) -> &[f32] {
        &self.taps
    }
}

const INV_255: f32 = 1.0 / 255.0;

/// Reusable buffers for [`gaussian_blur_with`]; keep one per stream to avoid per-frame allocation.
#[derive(Debug, Default)]
pub struct BlurScratch {
    /// Horizontal pass result, premultiplied, one entry per pixel.
    mid: Vec<[f32; 4]>,
    /// One source row, premultiplied, with `radius` clamped pixels on each side; later the
    /// vertical accumulator.
    row: Vec<[f32; 4]>,
}

/// Blurs `src` into `dst` on the CPU: the reference for [`GpuBlur`] (see the module docs for the
/// math).
///
/// # Arguments
/// * `src` - the image to blur.
/// * `dst` - the output, allocated by the caller with the size of `src`.
/// * `weights` - from [`GaussianWeights::new`].
///
/// # Errors
/// [`Error::Size`] naming both sizes when `dst` is not the size of `src`.
///
/// # Example
/// ```
/// use doppel_pipeline::gpu::blur::{gaussian_blur, GaussianWeights};
/// let src = image::RgbaImage::from_pixel(8, 8, image::Rgba([9, 99, 199, 255]));
/// let mut dst = image::RgbaImage::new(8, 8);
/// gaussian_blur(&src, &mut dst, &GaussianWeights::new(2, None)?)?;
/// assert_eq!(src, dst);
/// # Ok::<(), doppel_pipeline::Error>(())
/// ```
pub fn gaussian_blur(
    src: &RgbaImage,
    dst: &mut RgbaImage,
    weights: &GaussianWeights,
) -> Result<()> {
    gaussian_blur_with(src, dst, weights, &mut BlurScratch::default())
}

/// [`gaussian_blur`] with caller-owned scratch buffers, for per-frame use.
pub fn gaussian_blur_with(
    src: &RgbaImage,
    dst: &mut RgbaImage,
    weights: &GaussianWeights,
    scratch: &mut BlurScratch,
) -> Result<()> {
    check_sizes(src, dst)?;
    let (w, h) = (src.width() as usize, src.height() as usize);
    if w == 0 || h == 0 {
        return Ok(());
    }
    let taps = weights.taps();
    let r = taps.len() / 2;
    let pixels = src.as_raw();

    // Horizontal pass: premultiply one row with clamped borders, then convolve along x.
    scratch.mid.resize(w * h, [0.0; 4]);
    scratch.row.resize(w + 2 * r, [0.0; 4]);
    for y in 0..h {
        let src_row = &pixels[y * w * 4..(y + 1) * w * 4];
        for (j, p) in scratch.row.iter_mut().enumerate() {
            let x = j.saturating_sub(r).min(w - 1);
            *p = premultiplied(&src_row[x * 4..x * 4 + 4]);
        }
        let out = &mut scratch.mid[y * w..(y + 1) * w];
        for (x, o) in out.iter_mut().enumerate() {
            let mut sum = [0.0f32; 4];
            for (&t, p) in taps.iter().zip(&scratch.row[x..x + taps.len()]) {
                for c in 0..4 {
                    sum[c] += t * p[c];
                }
            }
            *o = sum;
        }
    }

    // Vertical pass: accumulate whole rows (cache-friendly), tap by tap in the kernel's order.
    let acc = &mut scratch.row[..w];
    let out_pixels: &mut [u8] = dst;
    for y in 0..h {
        acc.fill([0.0; 4]);
        for (k, &t) in taps.iter().enumerate() {
            let sy = (y + k).saturating_sub(r).min(h - 1);
            for (a, m) in acc.iter_mut().zip(&scratch.mid[sy * w..(sy + 1) * w]) {
                for c in 0..4 {
                    a[c] += t * m[c];
                }
            }
        }
        let src_row = &pixels[y * w * 4..(y + 1) * w * 4];
        let out_row = &mut out_pixels[y * w * 4..(y + 1) * w * 4];
        for ((s, own), out) in acc
            .iter()
            .zip(src_row.chunks_exact(4))
            .zip(out_row.chunks_exact_mut(4))
        {
            let rgb = if s[3] > 0.0 {
                [s[0] / s[3], s[1] / s[3], s[2] / s[3]]
            } else {
                [f32::from(own[0]), f32::from(own[1]), f32::from(own[2])]
            };
            out[0] = to_byte(rgb[0]);
            out[1] = to_byte(rgb[1]);
            out[2] = to_byte(rgb[2]);
            out[3] = to_byte(s[3] * 255.0);
        }
    }
    Ok(())
}

/// `(r·α, g·α, b·α, α)` with colour in 0..255 and `α = a / 255`, as `premultiplied` in the shader.
#[inline]
fn premultiplied(p: &[u8]) -> [f32; 4] {
    let a = f32::from(p[3]) * INV_255;
    [
        f32::from(p[0]) * a,
        f32::from(p[1]) * a,
        f32::from(p[2]) * a,
        a,
    ]
}

/// Clamps to 0..=255 and rounds half to even, as WGSL's `round`.
#[inline]
fn to_byte(v: f32) -> u8 {
    v.clamp(0.0, 255.0).round_ties_even() as u8
}

fn check_sizes(src: &RgbaImage, dst: &RgbaImage) -> Result<()> {
    if src.dimensions() != dst.dimensions() {
        return Err(Error::size(
            "blur output",
            src.dimensions(),
            dst.dimensions(),
        ));
    }
    Ok(())
}

/// The taps laid out for the shader's sliding runs: row `j` holds the weight of the window's texel
/// `j` for each of a run's outputs, `taps[j - k]` for output `k` (0 outside the kernel).
fn run_rows(taps: &[f32]) -> [[f32; RUN as usize]; ROWS] {
    let mut rows = [[0.0; RUN as usize]; ROWS];
    for (j, row) in rows
        .iter_mut()
        .enumerate()
        .take(taps.len() + RUN as usize - 1)
    {
        for (k, w) in row.iter_mut().enumerate() {
            if let Some(&t) = j.checked_sub(k).and_then(|i| taps.get(i)) {
                *w = t;
            }
        }
    }
    rows
}

/// `blur.wgsl`'s entry points and their bindings: params, taps, the source, then the horizontal
/// pass writes the f32 intermediate that the vertical pass reads into the output.
const ENTRIES: [Entry<'static>; 2] = [
    Entry {
        name: "horizontal",
        bindings: &[
            (0, uniform(16)),
            (1, uniform(TAPS_BYTES)),
            (2, texture()),
            (3, storage_texture(wgpu::TextureFormat::Rgba32Float)),
        ],
    },
    Entry {
        name: "vertical",
        bindings: &[
            (0, uniform(16)),
            (1, uniform(TAPS_BYTES)),
            (2, texture()),
            (4, texture()),
            (5, storage_texture(FRAME_FORMAT)),
        ],
    },
];

/// The blur kernel on the GPU. Build once per stream: it owns its pipelines, and keeps its
/// intermediate texture while the frame size stays the same.
pub struct GpuBlur {
    kernel: Kernel,
    /// `Params` of the shader: width, height, radius, padding.
    params: HostBuffer,
    /// The weights in window rows (see `run_rows`).
    taps: HostBuffer,
    /// The horizontal pass's premultiplied f32 result.
    mid: BySize<(u32, u32), wgpu::TextureView>,
}

impl GpuBlur {
    /// Compiles the shader and builds the pipelines on `ctx`'s device.
    ///
    /// # Errors
    /// [`Error::Gpu`] when the shader or a pipeline is rejected by the device.
    pub fn new(ctx: Arc<GpuContext>) -> Result<Self> {
        let kernel = Kernel::new(
            &ctx,
            &KernelDesc {
                label: "blur",
                shader: SHADER,
                entries: &ENTRIES,
                constants: &[],
            },
        )?;
        Ok(Self {
            params: HostBuffer::uniform(&ctx, "blur params", 16),
            taps: HostBuffer::uniform(&ctx, "blur taps", TAPS_BYTES),
            kernel,
            mid: BySize::default(),
        })
    }

    pub fn context(&self) -> &Arc<GpuContext> {
        self.kernel.context()
    }

    /// Records the blur of `src` into `dst` (same size) into `encoder`. The weights are queued
    /// for the next submission, so encode one blur per kernel per submission.
    ///
    /// # Errors
    /// [`Error::Size`] when the sizes differ; [`Error::Gpu`] when the intermediate texture cannot
    /// be allocated.
    pub fn encode(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        src: &GpuImage,
        dst: &GpuImage,
        weights: &GaussianWeights,
    ) -> Result<()> {
        same_size("blur output", src, dst)?;
        let (w, h) = src.size();
        let ctx = self.kernel.context().clone();
        let mid = self.mid.get((w, h), |(w, h)| {
            ctx.checked("allocating the blur intermediate", || {
                ctx.create_texture(
                    "blur mid",
                    w,
                    h,
                    wgpu::TextureFormat::Rgba32Float,
                    wgpu::TextureUsages::STORAGE_BINDING | wgpu::TextureUsages::TEXTURE_BINDING,
                )
                .create_view(&wgpu::TextureViewDescriptor::default())
            })
        })?;
        self.params
            .set(&ctx, bytemuck::cast_slice(&[w, h, weights.radius(), 0]));
        self.taps
            .set(&ctx, bytemuck::cast_slice(&run_rows(weights.taps())));
        let horizontal = self.kernel.bind(
            0,
            &[
                (0, self.params.binding()),
                (1, self.taps.binding()),
                (2, view(src)),
                (3, wgpu::BindingResource::TextureView(mid)),
            ],
        );
        let vertical = self.kernel.bind(
            1,
            &[
                (0, self.params.binding()),
                (1, self.taps.binding()),
                (2, view(src)),
                (4, wgpu::BindingResource::TextureView(mid)),
                (5, view(dst)),
            ],
        );
        let mut pass = self.kernel.pass(encoder);
        let (gx, gy, _) = groups_2d(w, h, WORKGROUP);
        self.kernel.dispatch(
            &mut pass,
            0,
            &horizontal,
            (w.div_ceil(WORKGROUP * RUN), gy, 1),
        );
        self.kernel.dispatch(
            &mut pass,
            1,
            &vertical,
            (gx, h.div_ceil(WORKGROUP * RUN), 1),
        );
        Ok(())
    }

    /// Blurs `src` into a new frame texture (submitted, not waited for).
    ///
    /// # Errors
    /// As [`GpuBlur::encode`].
    pub fn apply(&mut self, src: &GpuImage, weights: &GaussianWeights) -> Result<GpuImage> {
        let ctx = self.kernel.context().clone();
        into_new_frame(
            &ctx,
            src.size(),
            "running the blur kernel",
            |encoder, dst| self.encode(encoder, src, dst, weights),
        )
    }

    /// Blurs `src` into `dst` (same size) through the GPU: upload, two dispatches, readback. For
    /// tests and benchmarks; stages keep frames on the GPU with [`GpuBlur::apply`].
    ///
    /// # Errors
    /// [`Error::Size`] when the sizes differ; [`Error::Gpu`] when the frame does not fit the device
    /// or a transfer fails.
    pub fn run(
        &mut self,
        src: &RgbaImage,
        dst: &mut RgbaImage,
        weights: &GaussianWeights,
    ) -> Result<()> {
        let ctx = self.kernel.context().clone();
        through_gpu(&ctx, "blur output", src, dst, |src| {
            self.apply(src, weights)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    #[test]
    fn weights_are_symmetric_and_normalised() {
        for radius in [1, 2, 5, 16, 32] {
            let w = GaussianWeights::new(radius, None).unwrap();
            assert_eq!(w.radius(), radius, "default sigma keeps every tap");
            let taps = w.taps();
            let sum: f32 = taps.iter().sum();
            assert!((sum - 1.0).abs() < 1e-5, "radius {radius}: sum {sum}");
            for i in 0..taps.len() / 2 {
                assert_eq!(taps[i], taps[taps.len() - 1 - i]);
                assert!(taps[i] < taps[i + 1], "weights rise towards the centre");
            }
        }
        assert_eq!(GaussianWeights::new(0, None).unwrap().taps(), &[1.0]);
    }

    #[test]
    fn tiny_sigma_drops_negligible_taps() {
        let w = GaussianWeights::new(16, Some(0.5)).unwrap();
        assert!(w.radius() < 4, "radius {}", w.radius());
        assert!(GaussianWeights::new(33, None).is_err());
        let err = GaussianWeights::new(3, Some(0.0)).unwrap_err().to_string();
        assert!(err.contains("sigma"), "{err}");
    }

    #[test]
    fn cpu_blur_spreads_a_dot_symmetrically() {
        let mut src = RgbaImage::from_pixel(9, 9, Rgba([0, 0, 0, 255]));
        src.put_pixel(4, 4, Rgba([255, 255, 255, 255]));
        let mut dst = RgbaImage::new(9, 9);
        gaussian_blur(&src, &mut dst, &GaussianWeights::new(2, None).unwrap()).unwrap();
        let centre = dst.get_pixel(4, 4)[0];
        assert!(centre < 255 && centre > dst.get_pixel(5, 4)[0]);
        assert_eq!(dst.get_pixel(3, 4), dst.get_pixel(5, 4));
        assert_eq!(dst.get_pixel(4, 3), dst.get_pixel(4, 5));
        assert_eq!(dst.get_pixel(3, 3), dst.get_pixel(5, 5));
        assert!(dst.pixels().all(|p| p[3] == 255));
    }

    #[test]
    fn transparent_pixels_lend_no_colour() {
        // Left half opaque red, right half transparent green: blurring must not mix green in.
        let src = RgbaImage::from_fn(8, 4, |x, _| {
            if x < 4 {
                Rgba([255, 0, 0, 255])
            } else {
                Rgba([0, 255, 0, 0])
            }
        });
        let mut dst = RgbaImage::new(8, 4);
        gaussian_blur(&src, &mut dst, &GaussianWeights::new(3, None).unwrap()).unwrap();
        for p in dst.pixels().filter(|p| p[3] > 0) {
            assert_eq!(&p.0[..3], &[255, 0, 0], "{p:?}");
        }
        assert!(dst.get_pixel(4, 0)[3] > 0 && dst.get_pixel(4, 0)[3] < 255);
        // Far from any opaque pixel, the own colour stays.
        let wide = RgbaImage::from_fn(40, 1, |x, _| {
            if x < 2 {
                Rgba([255, 0, 0, 255])
            } else {
                Rgba([0, 255, 0, 0])
            }
        });
        let mut out = RgbaImage::new(40, 1);
        gaussian_blur(&wide, &mut out, &GaussianWeights::new(2, None).unwrap()).unwrap();
        assert_eq!(out.get_pixel(39, 0), &Rgba([0, 255, 0, 0]));
    }

    #[test]
    fn cpu_blur_rejects_mismatched_sizes() {
        let src = RgbaImage::new(4, 4);
        let mut dst = RgbaImage::new(4, 5);
        let err = gaussian_blur(&src, &mut dst, &GaussianWeights::new(1, None).unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("4x4") && err.contains("4x5"), "{err}");
    }
}
