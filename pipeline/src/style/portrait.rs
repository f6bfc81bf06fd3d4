//! A cartoon look that keeps the person: CartoonGAN "light" (Shinkai style,
//! `models/cartoongan_light_shinkai.onnx`, Apache-2.0), run face-aware. The whole picture runs at a
//! working size; the face runs again in its own square at the same working size (so at a higher
//! resolution than in the whole picture) and is blended in with a soft ellipse. Faces keep their
//! features where a style-transfer net paints texture over them.
//!
//! ```text
//!  picture ─▶ auto-contrast ─▶ CartoonGAN at `size` (short side) ─▶ back to picture size ─┐
//!  face square (face box x1.5) ─▶ auto-contrast ─▶ CartoonGAN at `size` ─▶ ellipse blend ◀─┘
//! ```

use std::path::Path;

use fast_image_resize::Resizer;
use image::RgbaImage;

use crate::error::Result;
use crate::imageops::{resize_rgba, Filter};
use crate::infer::{ImageModel, ImageSpec, SessionConfig, ValueRange};
use crate::track::Rect;

/// Default portrait model, relative to the working directory.
pub const DEFAULT_PORTRAIT: &str = "models/cartoongan_light_shinkai.onnx";

/// The generator downsamples twice: sides are multiples of this.
const MULTIPLE: u32 = 4;

/// The face square is the face box grown this much (hair line, chin, ears).
const FACE_GROW: f32 = 1.5;

/// Runs the portrait generator on pictures, face-aware.
pub struct PortraitStylizer {
    model: ImageModel,
    resizer: Resizer,
    size: u32,
}

impl PortraitStylizer {
    /// Loads the generator; `size` is the working resolution (shorter side, 64..=1024).
    ///
    /// # Errors
    /// [`crate::Error::Model`] naming a missing file or one that is not an RGB image model;
    /// [`crate::Error::Spec`] for a size out of range.
    pub fn load(path: &Path, session: &SessionConfig, size: u32) -> Result<Self> {
        if !(64..=1024).contains(&size) {
            return Err(crate::Error::Spec(format!(
                "portrait working size {size} is out of range; expected 64 to 1024"
            )));
        }
        let model = ImageModel::load(
            path,
            session,
            &ImageSpec {
                range: ValueRange::Signed,
                ..ImageSpec::default()
            },
        )?;
        Ok(Self {
            model,
            resizer: Resizer::new(),
            size,
        })
    }

    /// `image` stylized at the working size and brought back to its size (alpha kept).
    ///
    /// # Errors
    /// Inference errors.
    pub fn run(&mut self, image: &RgbaImage) -> Result<RgbaImage> {
        let (w, h) = image.dimensions();
        let short = w.min(h).max(1) as f32;
        let k = self.size as f32 / short;
        let side = |v: u32| (((v as f32 * k) / MULTIPLE as f32).round() as u32).max(1) * MULTIPLE;
        let (sw, sh) = (side(w), side(h));
        let small = resize_rgba(&mut self.resizer, image, sw, sh, Filter::Bilinear)?;
        let (styled, _) = self.model.run(&auto_contrast(&small), None)?;
        let mut out = resize_rgba(&mut self.resizer, &styled, w, h, Filter::Bilinear)?;
        for (o, i) in out.pixels_mut().zip(image.pixels()) {
            o[3] = i[3];
        }
        Ok(out)
    }

    /// `image` stylized, with the face (`face`, a box in its pixels) stylized again in its own
    /// square at the working size and blended in. Without a face, as [`PortraitStylizer::run`].
    ///
    /// # Errors
    /// Inference errors.
    pub fn run_with_face(&mut self, image: &RgbaImage, face: Option<Rect>) -> Result<RgbaImage> {
        let mut out = self.run(image)?;
        let Some(face) = face else {
            return Ok(out);
        };
        let (w, h) = image.dimensions();
        let c = face.center();
        let half = 0.5 * FACE_GROW * face.width().max(face.height());
        let x0 = (c.x - half).floor().max(0.0) as u32;
        let y0 = (c.y - half).floor().max(0.0) as u32;
        let x1 = ((c.x + half).ceil() as u32).min(w);
        let y1 = ((c.y + half).ceil() as u32).min(h);
        if x1 <= x0 + 8 || y1 <= y0 + 8 {
            return Ok(out);
        }
        let square = image::imageops::crop_imm(image, x0, y0, x1 - x0, y1 - y0).to_image();
        let styled = self.run(&square)?;
        // A soft ellipse around the face: the face's own result inside, the whole picture's
        // outside, mixed over the outer quarter.
        let (rx, ry) = (0.5 * face.width() * 1.25, 0.5 * face.height() * 1.3);
        for y in y0..y1 {
            for x in x0..x1 {
                let r = ((x as f32 + 0.5 - c.x) / rx).hypot((y as f32 + 0.5 - c.y) / ry);
                let t = ((1.0 - r) / 0.25).clamp(0.0, 1.0);
                let k = t * t * (3.0 - 2.0 * t);
                if k <= 0.0 {
                    continue;
                }
                let s = styled.get_pixel(x - x0, y - y0);
                let o = out.get_pixel_mut(x, y);
                for ch in 0..3 {
                    o[ch] = (f32::from(o[ch]) * (1.0 - k) + f32::from(s[ch]) * k).round() as u8;
                }
            }
        }
        Ok(out)
    }
}

/// Stretches luminance so its 1st and 99th percentiles span 0..255 (the same gain and offset on
/// every channel, so hues stay): the generator was trained on bright, contrasty pictures and turns
/// a dim face nearly black.
pub fn auto_contrast(image: &RgbaImage) -> RgbaImage {
    let mut histogram = [0u32; 256];
    for p in image.pixels() {
        let l = (0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]))
            .round() as usize;
        histogram[l.min(255)] += 1;
    }
    let total: u32 = histogram.iter().sum();
    let at = |q: f32| {
        let target = (q * total as f32) as u32;
        let mut sum = 0;
        for (i, n) in histogram.iter().enumerate() {
            sum += n;
            if sum > target {
                return i as f32;
            }
        }
        255.0
    };
    let (lo, hi) = (at(0.01), at(0.99));
    if hi - lo < 16.0 {
        return image.clone();
    }
    let gain = 255.0 / (hi - lo);
    let mut out = image.clone();
    for p in out.pixels_mut() {
        for c in 0..3 {
            p[c] = ((f32::from(p[c]) - lo) * gain).round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_contrast_stretches_a_dim_picture_and_keeps_alpha() {
        let dim = RgbaImage::from_fn(32, 32, |x, _| image::Rgba([20 + x as u8 * 2, 30, 40, 77]));
        let out = auto_contrast(&dim);
        let max = out.pixels().map(|p| p[0]).max().unwrap_or(0);
        assert!(max >= 200, "{max}");
        assert!(out.pixels().all(|p| p[3] == 77));
    }
}
