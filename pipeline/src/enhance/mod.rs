//! Night-photo enhancement: glare suppression ([`deglare`]) and low-light gain ([`lowlight`]).
//!
//! Both follow one pattern: estimate something smooth on a small copy of the frame (a glare layer, or
//! a gain map), then apply it at full size, where the per-pixel work is a bilinear lookup and a few
//! arithmetic operations: a WGSL compute kernel on the GPU, or its CPU reference, which does the
//! same arithmetic in the same order. Frames of any size work: the small copy's size follows the
//! frame's aspect. Both are bounded so that they do no harm on real photos (issue 18).
//!
//! ```text
//!  deglare  backend=gpu|cpu   highlights -> glare PSF spread, bounded by the local minimum and a
//!                             bright-background knee -> subtract (linear light)
//!                             (at most 25% of a pixel's light)
//!           backend=onnx      models/deglare.onnx at 320 px -> glare layer x glare mask, low-passed,
//!                             <= the shader estimate -> subtract as above
//!  lowlight backend=gpu|cpu   160 px copy -> exposure gain (1 if exposed) -> Zero-DCE shape -> gain
//!                             map (smoothed over time) -> 3x3 denoise + one gain for R, G, B
//! ```

pub mod deglare;
pub mod deglare_gpu;
pub mod lowlight;
pub mod lowlight_gpu;

use crate::error::{Error, Result};

/// sRGB-encoded value (0..1) to linear light: the piecewise sRGB curve, as `decode` in the shaders.
#[inline]
pub fn srgb_to_linear(v: f32) -> f32 {
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

/// Linear light (clamped to 0..1) to sRGB-encoded 0..1, as `encode` in the shaders.
#[inline]
pub fn linear_to_srgb(v: f32) -> f32 {
    let v = v.clamp(0.0, 1.0);
    if v <= 0.003_130_8 {
        v * 12.92
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    }
}

/// A 0..1 value to a byte: clamped, rounded to nearest (the GPU's unorm8 store may round a tie the
/// other way, hence the ±1 tolerance of the parity tests).
#[inline]
pub fn unit_to_byte(v: f32) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0).round() as u8
}

/// sRGB encoding from a table (no `powf` per channel: the CPU paths that encode every pixel of a
/// frame spent most of their time there): 4097 samples over `sqrt(v)`, interpolated, within 0.01
/// levels of [`linear_to_srgb`] in 8-bit units.
pub struct Encoder {
    table: Vec<f32>,
}

impl Encoder {
    const SAMPLES: usize = 4096;

    /// The table, built on first use.
    pub fn get() -> &'static Encoder {
        static TABLE: std::sync::OnceLock<Encoder> = std::sync::OnceLock::new();
        TABLE.get_or_init(|| Encoder {
            table: (0..=Self::SAMPLES)
                .map(|j| {
                    let t = j as f32 / Self::SAMPLES as f32;
                    linear_to_srgb(t * t)
                })
                .collect(),
        })
    }

    /// The `SAMPLES + 1` samples of `linear_to_srgb(t * t)` (the GPU kernels that encode read
    /// the same table).
    pub fn table(&self) -> &[f32] {
        &self.table
    }

    /// `linear_to_srgb(v)`, from the table.
    #[inline]
    pub fn srgb(&self, v: f32) -> f32 {
        let t = v.clamp(0.0, 1.0).sqrt() * Self::SAMPLES as f32;
        let i = (t as usize).min(Self::SAMPLES - 1);
        self.table[i] + (self.table[i + 1] - self.table[i]) * (t - i as f32)
    }
}

/// sRGB decoding from a table of the 256 codes, built once (the CPU paths built it per frame).
pub struct Decoder {
    table: [f32; 256],
}

impl Decoder {
    /// The table, built on first use.
    pub fn get() -> &'static Decoder {
        static TABLE: std::sync::OnceLock<Decoder> = std::sync::OnceLock::new();
        TABLE.get_or_init(|| Decoder {
            table: std::array::from_fn(|b| srgb_to_linear(b as f32 / 255.0)),
        })
    }

    /// `srgb_to_linear(b / 255)`.
    #[inline]
    pub fn linear(&self, b: u8) -> f32 {
        self.table[usize::from(b)]
    }

    /// The 256 values.
    pub fn table(&self) -> &[f32; 256] {
        &self.table
    }
}

/// Runs `row(y, bytes)` for every row of an RGBA frame `width` pixels wide held in `out`, the rows
/// split into one band per core (at most 4; the pixel loops of the CPU backends are independent
/// per row, and a 1280x720 frame is worth the thread start of a few microseconds).
pub fn par_rows<F>(out: &mut [u8], width: u32, row: F)
where
    F: Fn(u32, &mut [u8]) + Sync,
{
    let stride = 4 * width as usize;
    if stride == 0 {
        return;
    }
    let rows = out.len() / stride;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get().min(4))
        .min(rows.max(1));
    let band = rows.div_ceil(threads).max(1) * stride;
    let each = |first: usize, chunk: &mut [u8]| {
        for (i, bytes) in chunk.chunks_exact_mut(stride).enumerate() {
            row((first + i) as u32, bytes);
        }
    };
    if threads <= 1 {
        each(0, out);
        return;
    }
    std::thread::scope(|scope| {
        let mut chunks = out.chunks_mut(band).enumerate();
        let first = chunks.next();
        for (i, chunk) in chunks {
            let each = &each;
            scope.spawn(move || each(i * band / stride, chunk));
        }
        // the calling thread takes the first band
        if let Some((_, chunk)) = first {
            each(0, chunk);
        }
    });
}

/// The size of the small copy for a `width` x `height` frame: the long side becomes `long_side`
/// (never larger than the frame), the other keeps the aspect, both rounded to a multiple of
/// `multiple` (at least `multiple`).
pub fn working_size(width: u32, height: u32, long_side: u32, multiple: u32) -> (u32, u32) {
    let long = width.max(height).max(1);
    let scale = (f64::from(long_side) / f64::from(long)).min(1.0);
    let m = f64::from(multiple.max(1));
    let side = |v: u32| (((f64::from(v) * scale) / m).round() * m).max(m) as u32;
    (side(width), side(height))
}

/// Bilinear lookup position for full-size pixel `x` in a map of `small` samples stretched over
/// `full` pixels (pixel centres aligned, like `align_corners=false`): the two sample indices and the
/// weight of the second. Shared by every kernel that applies a small map at full size.
#[inline]
pub fn bilinear_taps(x: u32, full: u32, small: u32) -> (usize, usize, f32) {
    let u = (x as f32 + 0.5) * (small as f32 / full as f32) - 0.5;
    let u = u.max(0.0);
    let i0 = (u.floor() as u32).min(small - 1);
    let i1 = (i0 + 1).min(small - 1);
    (i0 as usize, i1 as usize, u - u.floor())
}

/// Checks that a frame is not empty, naming the stage.
pub(crate) fn check_frame(stage: &str, width: u32, height: u32) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::Spec(format!(
            "{stage}: a {width}x{height} frame is empty; frames need at least 1x1 pixels"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srgb_round_trip_keeps_every_byte() {
        for b in 0..=255u8 {
            let v = f32::from(b) / 255.0;
            assert_eq!(unit_to_byte(linear_to_srgb(srgb_to_linear(v))), b);
        }
    }

    #[test]
    fn working_size_keeps_aspect_and_multiple() {
        assert_eq!(working_size(1280, 720, 320, 8), (320, 184));
        assert_eq!(working_size(720, 1280, 320, 8), (184, 320));
        assert_eq!(working_size(100, 50, 320, 8), (104, 48));
        assert_eq!(working_size(3, 1, 160, 1), (3, 1));
        assert_eq!(working_size(1920, 1080, 160, 1), (160, 90));
    }

    #[test]
    fn bilinear_taps_align_centres() {
        // 4 full pixels over 2 samples: pixel centres 0.5, 1.5, 2.5, 3.5 map to -0.25, 0.25, 0.75, 1.25.
        assert_eq!(bilinear_taps(0, 4, 2), (0, 1, 0.0));
        assert_eq!(bilinear_taps(1, 4, 2), (0, 1, 0.25));
        assert_eq!(bilinear_taps(2, 4, 2), (0, 1, 0.75));
        assert_eq!(bilinear_taps(3, 4, 2), (1, 1, 0.25));
    }
}
