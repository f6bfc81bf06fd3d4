//! Conversions between RGBA8 images and the f32 tensors image models take and give.
//!
//! Input: RGB channels of an [`RgbaImage`] (alpha dropped) into a `[1,3,H,W]` (NCHW) or `[1,H,W,3]` (NHWC)
//! tensor, in one of the value ranges models are trained on. Output: a `[1,C,H,W]` or `[1,H,W,C]` tensor
//! with C = 1 (grey), 3 (RGB) or 4 (RGBA) back into RGBA8, clamped and rounded.
//!
//! These are pure functions (no ONNX Runtime), so they are cheap to test.

use image::RgbaImage;

use crate::error::{Error, Result};

/// Where the channel axis sits in a 4-D image tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// `[N, C, H, W]`: PyTorch exports, most super-resolution and enhancement models.
    Nchw,
    /// `[N, H, W, C]`: TensorFlow / TFLite conversions (MediaPipe models).
    Nhwc,
}

impl Layout {
    pub const NAMES: [&'static str; 2] = ["nchw", "nhwc"];

    /// Parses one of [`Layout::NAMES`] (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "nchw" => Some(Self::Nchw),
            "nhwc" => Some(Self::Nhwc),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Nchw => "nchw",
            Self::Nhwc => "nhwc",
        }
    }

    /// Index of the (channel, height, width) axes in a 4-D shape.
    pub fn axes(self) -> (usize, usize, usize) {
        match self {
            Self::Nchw => (1, 2, 3),
            Self::Nhwc => (3, 1, 2),
        }
    }

    /// The 4-D shape of a batch-1 tensor with `channels` channels of `width` x `height`.
    pub fn shape(self, channels: usize, width: u32, height: u32) -> [usize; 4] {
        let (w, h) = (width as usize, height as usize);
        match self {
            Self::Nchw => [1, channels, h, w],
            Self::Nhwc => [1, h, w, channels],
        }
    }
}

/// The value range a model expects for 8-bit pixel values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum ValueRange {
    /// `v / 255`: 0 -> 0.0, 255 -> 1.0.
    Unit,
    /// `v / 127.5 - 1`: 0 -> -1.0, 255 -> 1.0 (MediaPipe detectors, GAN generators).
    Signed,
    /// `v` as is: 0 -> 0.0, 255 -> 255.0.
    Byte,
}

impl ValueRange {
    pub const NAMES: [&'static str; 3] = ["0..1", "-1..1", "0..255"];

    /// Parses one of [`ValueRange::NAMES`].
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim() {
            "0..1" => Some(Self::Unit),
            "-1..1" => Some(Self::Signed),
            "0..255" => Some(Self::Byte),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Unit => "0..1",
            Self::Signed => "-1..1",
            Self::Byte => "0..255",
        }
    }

    /// The model value of an 8-bit pixel value.
    #[inline]
    pub fn encode(self, v: u8) -> f32 {
        let v = f32::from(v);
        match self {
            Self::Unit => v / 255.0,
            Self::Signed => v / 127.5 - 1.0,
            Self::Byte => v,
        }
    }

    /// The 8-bit pixel value of a model value: scaled, rounded, clamped to 0..=255 (NaN gives 0).
    #[inline]
    pub fn decode(self, x: f32) -> u8 {
        let v = match self {
            Self::Unit => x * 255.0,
            Self::Signed => (x + 1.0) * 127.5,
            Self::Byte => x,
        };
        // `as` saturates and maps NaN to 0.
        v.round().clamp(0.0, 255.0) as u8
    }

    fn table(self) -> [f32; 256] {
        let mut table = [0.0; 256];
        for (v, slot) in table.iter_mut().enumerate() {
            *slot = self.encode(v as u8);
        }
        table
    }
}

/// Writes the RGB channels of `src` into `dst` as a batch-1 tensor in `layout` and `range`.
///
/// # Arguments
/// * `dst` - exactly `3 * width * height` values; its shape is `layout.shape(3, width, height)`.
///
/// # Errors
/// [`Error::Spec`] naming both lengths when `dst` does not fit the image.
///
/// # Example
/// ```
/// use doppel_pipeline::infer::{rgba_to_tensor, Layout, ValueRange};
/// let image = image::RgbaImage::from_pixel(2, 1, image::Rgba([255, 0, 51, 7]));
/// let mut t = vec![0.0; 6];
/// rgba_to_tensor(&image, Layout::Nchw, ValueRange::Unit, &mut t).unwrap();
/// assert_eq!(t, [1.0, 1.0, 0.0, 0.0, 0.2, 0.2]);
/// ```
pub fn rgba_to_tensor(
    src: &RgbaImage,
    layout: Layout,
    range: ValueRange,
    dst: &mut [f32],
) -> Result<()> {
    let plane = src.width() as usize * src.height() as usize;
    if dst.len() != 3 * plane {
        return Err(Error::Spec(format!(
            "tensor of {} values cannot hold a {}x{} RGB image ({} values)",
            dst.len(),
            src.width(),
            src.height(),
            3 * plane
        )));
    }
    let table = range.table();
    let pixels = src.as_raw().chunks_exact(4);
    match layout {
        Layout::Nchw => {
            let (r, rest) = dst.split_at_mut(plane);
            let (g, b) = rest.split_at_mut(plane);
            for (i, p) in pixels.enumerate() {
                r[i] = table[usize::from(p[0])];
                g[i] = table[usize::from(p[1])];
                b[i] = table[usize::from(p[2])];
            }
        }
        Layout::Nhwc => {
            for (out, p) in dst.chunks_exact_mut(3).zip(pixels) {
                out[0] = table[usize::from(p[0])];
                out[1] = table[usize::from(p[1])];
                out[2] = table[usize::from(p[2])];
            }
        }
    }
    Ok(())
}

/// Channels, width and height of a batch-1 image tensor of `shape` in `layout`, if it is one
/// (rank 4, batch 1, 1/3/4 channels, non-empty).
pub fn image_dims(shape: &[usize], layout: Layout) -> Option<(usize, u32, u32)> {
    if shape.len() != 4 || shape[0] != 1 {
        return None;
    }
    let (c, h, w) = layout.axes();
    let (channels, height, width) = (shape[c], shape[h], shape[w]);
    let fits = |v: usize| v > 0 && u32::try_from(v).is_ok();
    (matches!(channels, 1 | 3 | 4) && fits(width) && fits(height)).then(|| {
        (
            channels,
            u32::try_from(width).unwrap_or(u32::MAX),
            u32::try_from(height).unwrap_or(u32::MAX),
        )
    })
}

/// Turns a batch-1 image tensor into RGBA8.
///
/// 3 channels give RGB, 1 channel gives grey (the value in R, G and B), 4 give RGBA. For 1 and 3 channels
/// alpha is copied from `alpha` when it is given and has the output's size, else it is 255.
///
/// # Errors
/// [`Error::Spec`] naming the shape when it is not a batch-1 image tensor in `layout`, or when `data` does
/// not hold as many values as the shape says.
pub fn tensor_to_rgba(
    data: &[f32],
    shape: &[usize],
    layout: Layout,
    range: ValueRange,
    alpha: Option<&RgbaImage>,
) -> Result<RgbaImage> {
    let Some((channels, width, height)) = image_dims(shape, layout) else {
        return Err(Error::Spec(format!(
            "tensor {shape:?} is not a batch-1 image in {} layout with 1, 3 or 4 channels",
            layout.name().to_uppercase()
        )));
    };
    let plane = width as usize * height as usize;
    if data.len() != channels * plane {
        return Err(Error::Spec(format!(
            "tensor {shape:?} should hold {} values, has {}",
            channels * plane,
            data.len()
        )));
    }
    let alpha = alpha.filter(|a| a.dimensions() == (width, height));
    let mut out = RgbaImage::new(width, height);
    let value = |c: usize, i: usize| -> u8 {
        let x = match layout {
            Layout::Nchw => data[c * plane + i],
            Layout::Nhwc => data[i * channels + c],
        };
        range.decode(x)
    };
    for (i, px) in out.as_mut().chunks_exact_mut(4).enumerate() {
        let a = alpha.map_or(255, |a| a.as_raw()[i * 4 + 3]);
        match channels {
            1 => {
                let v = value(0, i);
                px.copy_from_slice(&[v, v, v, a]);
            }
            3 => px.copy_from_slice(&[value(0, i), value(1, i), value(2, i), a]),
            _ => px.copy_from_slice(&[value(0, i), value(1, i), value(2, i), value(3, i)]),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    fn sample() -> RgbaImage {
        RgbaImage::from_fn(3, 2, |x, y| {
            Rgba([x as u8 * 100, y as u8 * 200, 7, 9 + x as u8])
        })
    }

    #[test]
    fn ranges_round_trip_every_value() {
        for range in [ValueRange::Unit, ValueRange::Signed, ValueRange::Byte] {
            for v in 0..=255u8 {
                assert_eq!(range.decode(range.encode(v)), v, "{range:?} {v}");
            }
            assert_eq!(ValueRange::from_name(range.name()), Some(range));
        }
        assert_eq!(ValueRange::Signed.encode(0), -1.0);
        assert_eq!(ValueRange::Signed.encode(255), 1.0);
        assert_eq!(ValueRange::Unit.decode(-3.0), 0);
        assert_eq!(ValueRange::Unit.decode(7.0), 255);
        assert_eq!(ValueRange::Unit.decode(f32::NAN), 0);
    }

    #[test]
    fn layouts_round_trip_and_keep_alpha() {
        let image = sample();
        for layout in [Layout::Nchw, Layout::Nhwc] {
            let mut t = vec![0.0; 18];
            rgba_to_tensor(&image, layout, ValueRange::Byte, &mut t).unwrap();
            let shape = layout.shape(3, 3, 2);
            let back = tensor_to_rgba(&t, &shape, layout, ValueRange::Byte, Some(&image)).unwrap();
            assert_eq!(back, image, "{layout:?}");
            let opaque = tensor_to_rgba(&t, &shape, layout, ValueRange::Byte, None).unwrap();
            assert!(opaque.pixels().all(|p| p[3] == 255));
        }
        // NCHW puts whole planes one after the other; NHWC interleaves.
        let mut t = vec![0.0; 18];
        rgba_to_tensor(&image, Layout::Nchw, ValueRange::Byte, &mut t).unwrap();
        assert_eq!(&t[..6], &[0.0, 100.0, 200.0, 0.0, 100.0, 200.0]);
        rgba_to_tensor(&image, Layout::Nhwc, ValueRange::Byte, &mut t).unwrap();
        assert_eq!(&t[..6], &[0.0, 0.0, 7.0, 100.0, 0.0, 7.0]);
    }

    #[test]
    fn grey_and_rgba_outputs() {
        let grey = [0.0, 0.5, 1.0, 2.0];
        let out =
            tensor_to_rgba(&grey, &[1, 2, 2, 1], Layout::Nhwc, ValueRange::Unit, None).unwrap();
        let values: Vec<[u8; 4]> = out.pixels().map(|p| p.0).collect();
        assert_eq!(
            values,
            [
                [0, 0, 0, 255],
                [128, 128, 128, 255],
                [255, 255, 255, 255],
                [255, 255, 255, 255]
            ]
        );
        let rgba = [0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0];
        let out =
            tensor_to_rgba(&rgba, &[1, 4, 1, 2], Layout::Nchw, ValueRange::Unit, None).unwrap();
        assert_eq!(out.get_pixel(0, 0).0, [0, 0, 0, 255]);
        assert_eq!(out.get_pixel(1, 0).0, [255, 255, 0, 255]);
    }

    #[test]
    fn rejects_shapes_that_are_not_images() {
        let err = tensor_to_rgba(
            &[0.0; 16],
            &[1, 896, 16],
            Layout::Nchw,
            ValueRange::Unit,
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("[1, 896, 16]"), "{err}");
        assert!(tensor_to_rgba(
            &[0.0; 4],
            &[1, 2, 2, 2],
            Layout::Nchw,
            ValueRange::Unit,
            None
        )
        .is_err());
        assert!(tensor_to_rgba(
            &[0.0; 3],
            &[1, 3, 2, 2],
            Layout::Nchw,
            ValueRange::Unit,
            None
        )
        .is_err());
        assert!(rgba_to_tensor(&sample(), Layout::Nchw, ValueRange::Unit, &mut [0.0; 5]).is_err());
        assert_eq!(image_dims(&[1, 3, 4, 5], Layout::Nchw), Some((3, 5, 4)));
        assert_eq!(image_dims(&[1, 4, 5, 1], Layout::Nhwc), Some((1, 5, 4)));
        assert_eq!(image_dims(&[2, 3, 4, 5], Layout::Nchw), None);
    }
}
