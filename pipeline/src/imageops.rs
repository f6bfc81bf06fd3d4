//! CPU image operations shared by stages (resizing for models, format edges).

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbaImage;

use crate::error::{Error, Result};

/// Resampling filter for [`resize_rgba`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    Nearest,
    Bilinear,
    Bicubic,
    Lanczos3,
}

impl Filter {
    pub const NAMES: [&'static str; 4] = ["nearest", "bilinear", "bicubic", "lanczos3"];

    /// Parses one of [`Filter::NAMES`].
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "nearest" => Some(Self::Nearest),
            "bilinear" => Some(Self::Bilinear),
            "bicubic" => Some(Self::Bicubic),
            "lanczos3" => Some(Self::Lanczos3),
            _ => None,
        }
    }

    fn alg(self) -> ResizeAlg {
        match self {
            Self::Nearest => ResizeAlg::Nearest,
            Self::Bilinear => ResizeAlg::Convolution(FilterType::Bilinear),
            Self::Bicubic => ResizeAlg::Convolution(FilterType::CatmullRom),
            Self::Lanczos3 => ResizeAlg::Convolution(FilterType::Lanczos3),
        }
    }
}

/// Resizes `src` to `width` x `height` with `filter`, reusing `resizer`'s scratch buffers.
///
/// # Errors
/// A zero target size, or a buffer that does not match its size, gives [`Error::Spec`] naming both
/// sizes.
pub fn resize_rgba(
    resizer: &mut Resizer,
    src: &RgbaImage,
    width: u32,
    height: u32,
    filter: Filter,
) -> Result<RgbaImage> {
    if width == 0 || height == 0 {
        return Err(Error::Spec(format!(
            "cannot resize {}x{} to {width}x{height}: sizes must be at least 1",
            src.width(),
            src.height()
        )));
    }
    if src.dimensions() == (width, height) {
        return Ok(src.clone());
    }
    let view =
        ImageRef::new(src.width(), src.height(), src.as_raw(), PixelType::U8x4).map_err(|e| {
            Error::Spec(format!(
                "source image {}x{}: {e}",
                src.width(),
                src.height()
            ))
        })?;
    let buf = crate::bufpool::take(width as usize * height as usize * 4);
    let mut dst = Image::from_vec_u8(width, height, buf, PixelType::U8x4)
        .map_err(|e| Error::Spec(format!("resize target {width}x{height}: {e}")))?;
    let options = ResizeOptions::new().resize_alg(filter.alg());
    resizer.resize(&view, &mut dst, &options).map_err(|e| {
        Error::Spec(format!(
            "resize {}x{} -> {width}x{height}: {e}",
            src.width(),
            src.height()
        ))
    })?;
    RgbaImage::from_raw(width, height, dst.into_vec()).ok_or_else(|| {
        Error::Spec(format!(
            "resize produced a buffer that is not {width}x{height}"
        ))
    })
}

/// Bilinear enlargement of a small image, one output row at a time: what a linear texture sampler
/// gives (pixel centres aligned, edges clamped), in 8-bit fixed point. Built for one source and
/// output size; the source is filtered across once, so each output row costs one blend of two
/// prepared rows (a blurred 160x90 backdrop becomes 1280x720 rows as they are written out).
pub struct Upscaler {
    width: u32,
    height: u32,
    /// The source's rows widened to `width`, RGBA as u16 (weights sum to 256).
    rows: Vec<u16>,
    src_height: u32,
}

/// Where output position `i` of `out` samples a source of `src` texels: the two neighbours and
/// the second one's weight out of 256.
fn taps(i: u32, src: u32, out: u32) -> (usize, usize, u32) {
    let s = ((i as f32 + 0.5) * src as f32 / out as f32 - 0.5).max(0.0);
    let i0 = (s.floor() as u32).min(src - 1);
    let i1 = (i0 + 1).min(src - 1);
    let w = ((s - i0 as f32) * 256.0).round().clamp(0.0, 256.0) as u32;
    (i0 as usize, i1 as usize, w)
}

impl Upscaler {
    /// Prepares `src` (at least 1x1) for `width` x `height` output rows.
    pub fn new(src: &RgbaImage, width: u32, height: u32) -> Self {
        let (sw, sh) = (src.width().max(1), src.height().max(1));
        let xs: Vec<(usize, usize, u32)> = (0..width).map(|x| taps(x, sw, width)).collect();
        let mut rows = Vec::with_capacity(sh as usize * width as usize * 4);
        for row in src.as_raw().chunks_exact(4 * sw as usize) {
            for &(a, b, w) in &xs {
                for c in 0..4 {
                    let (pa, pb) = (u32::from(row[4 * a + c]), u32::from(row[4 * b + c]));
                    rows.push((pa * (256 - w) + pb * w) as u16);
                }
            }
        }
        Self {
            width,
            height,
            rows,
            src_height: sh,
        }
    }

    /// Writes output row `y` (`4 * width` bytes) into `dst`.
    pub fn row(&self, y: u32, dst: &mut [u8]) {
        let n = 4 * self.width as usize;
        let (a, b, w) = taps(y, self.src_height, self.height);
        let (ra, rb) = (
            &self.rows[a * n..(a + 1) * n],
            &self.rows[b * n..(b + 1) * n],
        );
        for ((d, &pa), &pb) in dst[..n].iter_mut().zip(ra).zip(rb) {
            *d = ((u32::from(pa) * (256 - w) + u32::from(pb) * w + 32768) >> 16) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole enlarged image, row by row.
    fn enlarge(src: &RgbaImage, w: u32, h: u32) -> RgbaImage {
        let up = Upscaler::new(src, w, h);
        let mut out = RgbaImage::new(w, h);
        for (y, row) in out.chunks_exact_mut(4 * w as usize).enumerate() {
            up.row(y as u32, row);
        }
        out
    }

    /// The upscaler agrees with a plain floating-point bilinear sampler (the GPU's) within one
    /// step, and keeps flat areas exact.
    #[test]
    fn upscaler_matches_bilinear_sampling() {
        let src = RgbaImage::from_fn(7, 5, |x, y| {
            image::Rgba([(x * 37) as u8, (y * 51) as u8, ((x * y) * 9) as u8, 255])
        });
        let (w, h) = (53, 31);
        let up = enlarge(&src, w, h);
        let texel = |x: i64, y: i64, c: usize| -> f32 {
            f32::from(src.get_pixel(x.clamp(0, 6) as u32, y.clamp(0, 4) as u32)[c])
        };
        for y in 0..h {
            for x in 0..w {
                let sx = ((x as f32 + 0.5) * 7.0 / w as f32 - 0.5).max(0.0);
                let sy = ((y as f32 + 0.5) * 5.0 / h as f32 - 0.5).max(0.0);
                let (x0, y0) = (sx.floor() as i64, sy.floor() as i64);
                let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
                for c in 0..4 {
                    let top = texel(x0, y0, c) * (1.0 - fx) + texel(x0 + 1, y0, c) * fx;
                    let bottom = texel(x0, y0 + 1, c) * (1.0 - fx) + texel(x0 + 1, y0 + 1, c) * fx;
                    let want = top * (1.0 - fy) + bottom * fy;
                    let got = f32::from(up.get_pixel(x, y)[c]);
                    assert!((got - want).abs() <= 1.0, "({x},{y}) c{c}: {got} vs {want}");
                }
            }
        }
        let flat = RgbaImage::from_pixel(3, 2, image::Rgba([10, 200, 77, 255]));
        let up = enlarge(&flat, 17, 9);
        assert!(up.pixels().all(|p| p.0 == [10, 200, 77, 255]));
    }
}
