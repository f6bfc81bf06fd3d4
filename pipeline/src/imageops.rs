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
