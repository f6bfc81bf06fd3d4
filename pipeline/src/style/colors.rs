//! Whose colours a stylized frame shows: the style's palette, or the frame's own colours under the
//! style's strokes and shading (luminance-only transfer, as in Gatys et al., "Preserving Color in
//! Neural Artistic Style Transfer", 2016). Style pictures drawn in one dominant colour (the green
//! meadows of Big Buck Bunny) otherwise tint faces and skin that colour.

use image::RgbaImage;

use crate::error::{Error, Result};

/// Whose colours the stylized frame shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Colors {
    /// The style's palette (what the network draws).
    #[default]
    Style,
    /// The frame's colours: the network's luma with the frame's chroma.
    Keep,
}

impl Colors {
    pub const NAMES: [&'static str; 2] = ["style", "keep"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "style" => Some(Self::Style),
            "keep" => Some(Self::Keep),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Style => "style",
            Self::Keep => "keep",
        }
    }
}

/// BT.601 luma weights (the frame's chroma is measured against the same luma it is put back on).
const KR: f32 = 0.299;
const KB: f32 = 0.114;
const KG: f32 = 1.0 - KR - KB;

/// Replaces the colour of each `styled` pixel by `source`'s at the same place, keeping `styled`'s
/// luma (BT.601): `Y` from the style, `B - Y` and `R - Y` from the frame. Alpha is left as it is.
///
/// # Errors
/// [`Error::Spec`] when the two images differ in size.
pub fn keep_colors(source: &RgbaImage, styled: &mut RgbaImage) -> Result<()> {
    if source.dimensions() != styled.dimensions() {
        return Err(Error::Spec(format!(
            "colour transfer needs images of one size: frame {:?}, stylized {:?}",
            source.dimensions(),
            styled.dimensions()
        )));
    }
    let luma = |p: &[u8]| KR * f32::from(p[0]) + KG * f32::from(p[1]) + KB * f32::from(p[2]);
    for (out, src) in styled.pixels_mut().zip(source.pixels()) {
        let y = luma(&out.0);
        let src_y = luma(&src.0);
        let cr = f32::from(src[0]) - src_y;
        let cb = f32::from(src[2]) - src_y;
        let r = y + cr;
        let b = y + cb;
        let g = (y - KR * r - KB * b) / KG;
        out[0] = r.round().clamp(0.0, 255.0) as u8;
        out[1] = g.round().clamp(0.0, 255.0) as u8;
        out[2] = b.round().clamp(0.0, 255.0) as u8;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    #[test]
    fn luma_from_the_style_colour_from_the_frame() {
        // A saturated orange frame under a mid-grey and a green "style".
        let source = RgbaImage::from_pixel(2, 1, Rgba([220, 120, 40, 255]));
        let mut styled = RgbaImage::from_fn(2, 1, |x, _| {
            if x == 0 {
                Rgba([100, 100, 100, 7])
            } else {
                Rgba([40, 200, 30, 9])
            }
        });
        let luma_before: Vec<f32> = styled
            .pixels()
            .map(|p| KR * f32::from(p[0]) + KG * f32::from(p[1]) + KB * f32::from(p[2]))
            .collect();
        keep_colors(&source, &mut styled).unwrap();
        for (p, y) in styled.pixels().zip(luma_before) {
            let luma = KR * f32::from(p[0]) + KG * f32::from(p[1]) + KB * f32::from(p[2]);
            assert!((luma - y).abs() < 1.0, "luma {luma} vs {y}");
            // Orange: red above green above blue, as in the frame.
            assert!(p[0] > p[1] && p[1] > p[2], "{p:?}");
        }
        assert_eq!(styled.get_pixel(0, 0)[3], 7, "alpha kept");
        // Grey frame: the result is grey at the style's luma.
        let grey = RgbaImage::from_pixel(1, 1, Rgba([90, 90, 90, 255]));
        let mut green = RgbaImage::from_pixel(1, 1, Rgba([40, 200, 30, 255]));
        keep_colors(&grey, &mut green).unwrap();
        let p = green.get_pixel(0, 0);
        assert!(
            p[0].abs_diff(p[1]) <= 1 && p[1].abs_diff(p[2]) <= 1,
            "{p:?}"
        );
        assert!(keep_colors(&grey, &mut RgbaImage::new(2, 2)).is_err());
    }

    #[test]
    fn names_round_trip() {
        for name in Colors::NAMES {
            assert_eq!(Colors::from_name(name).map(Colors::name), Some(name));
        }
        assert_eq!(Colors::from_name("sepia"), None);
    }
}
