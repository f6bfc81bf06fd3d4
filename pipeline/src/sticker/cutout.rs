//! The person cut out of a sticker's crop: ONE function from picture to alpha ([`Cutout::alpha`]).
//! Then the sticker look built on that alpha: a transparent background or a colour, and an
//! outline (a band of colour around the person, as printed die-cut stickers have).
//!
//! ```text
//!  crop ─▶ MediaPipe selfie segmentation (square model, 256x256) ─▶ probability
//!       ─▶ the background stage's refiner (crate::matte: guided filter with the crop as guide,
//!          so hair and shoulders follow the photo's own edges; held from frame to frame in clips)
//!       ─▶ alpha at the crop's size
//!       ─▶ contrast curve 0.25..0.75 (firmer edges: a soft 0.5 fringe reads as a halo on a chat
//!          background) ─▶ alpha
//!  frame + alpha ─▶ background (transparent | colour) ─▶ outline (distance from the person)
//! ```

use image::{GrayImage, Rgba, RgbaImage};

use crate::error::Result;
use crate::matte::{composite_cpu, CompositeParams, MatteModel, RefineConfig, Refiner, Segmenter};
use crate::track::segment::SegmentConfig;

/// Probabilities below this are background, above [`EDGE_HIGH`] person; between, a smooth ramp.
const EDGE_LOW: f32 = 0.25;
const EDGE_HIGH: f32 = 0.75;

/// Cuts the person out of sticker frames. Long-lived: owns the segmentation session, and for clips
/// holds the matte steady from frame to frame.
pub struct Cutout {
    segmenter: Segmenter,
    refiner: Refiner,
    /// A photo: every call is a new picture (no hold from the previous one).
    photo: bool,
}

impl Cutout {
    /// Loads the square selfie-segmentation model (`config`'s; stickers are square crops).
    /// `smoothing` (0..1) steadies the edges across the frames of a clip (the refiner's hold on
    /// still regions); 0 for a photo.
    ///
    /// # Errors
    /// Model errors naming the file (see [`Segmenter::load`]).
    pub fn load(config: &SegmentConfig, smoothing: f32) -> Result<Self> {
        let segmenter = Segmenter::load(MatteModel::Selfie, &config.square_model, &config.session)?;
        let refiner = Refiner::new(RefineConfig {
            hold: smoothing.clamp(0.0, 0.95),
            ..RefineConfig::default()
        });
        Ok(Self {
            segmenter,
            refiner,
            photo: smoothing <= 0.0,
        })
    }

    /// The person's alpha for `image` (255 = person, 0 = background), at its size.
    ///
    /// # Errors
    /// Inference errors (see [`Segmenter::probability`]).
    pub fn alpha(&mut self, image: &RgbaImage) -> Result<GrayImage> {
        if self.photo {
            self.refiner.reset();
        }
        let probability = self.segmenter.probability(image)?;
        let grid = self.refiner.refine(image, &probability)?;
        // The composite's transparent mode writes the refined matte as alpha at full size.
        let mut person = RgbaImage::new(image.width(), image.height());
        let nothing = RgbaImage::from_pixel(1, 1, Rgba([0, 0, 0, 0]));
        let params = CompositeParams {
            wrap: 0.0,
            transparent: true,
        };
        composite_cpu(image, &grid, &nothing, params, &mut person)?;
        let mask = GrayImage::from_fn(image.width(), image.height(), |x, y| {
            let p = f32::from(person.get_pixel(x, y)[3]) / 255.0;
            let t = ((p - EDGE_LOW) / (EDGE_HIGH - EDGE_LOW)).clamp(0.0, 1.0);
            image::Luma([(255.0 * t * t * (3.0 - 2.0 * t)).round() as u8])
        });
        crate::bufpool::recycle(person.into_raw());
        Ok(mask)
    }
}

/// `image` with `alpha` as its alpha channel (multiplied with the alpha it has).
pub fn apply_alpha(image: &mut RgbaImage, alpha: &GrayImage) {
    for (p, a) in image.pixels_mut().zip(alpha.iter()) {
        p[3] = ((u16::from(p[3]) * u16::from(*a) + 127) / 255) as u8;
    }
}

/// What goes behind the person.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Look {
    /// `None`: transparent; else an opaque colour behind the person.
    pub background: Option<[u8; 3]>,
    /// `Some((colour, width in pixels))`: an outline around the person.
    pub outline: Option<([u8; 3], f32)>,
}

impl Look {
    /// Transparent, no outline.
    pub const PLAIN: Look = Look {
        background: None,
        outline: None,
    };
}

/// Parses a colour: `white`, `black`, `transparent`/`none` (gives `None`), or `#rrggbb` / `rrggbb`.
pub fn parse_color(text: &str) -> std::result::Result<Option<[u8; 3]>, String> {
    let t = text.trim().to_ascii_lowercase();
    let named = match t.as_str() {
        "transparent" | "none" => return Ok(None),
        "white" => Some([255, 255, 255]),
        "black" => Some([0, 0, 0]),
        "red" => Some([230, 40, 40]),
        "green" => Some([40, 180, 70]),
        "blue" => Some([40, 90, 230]),
        "yellow" => Some([250, 215, 40]),
        _ => None,
    };
    if let Some(c) = named {
        return Ok(Some(c));
    }
    let hex = t.strip_prefix('#').unwrap_or(&t);
    let byte = |i: usize| {
        hex.get(i..i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
    };
    match (hex.len(), byte(0), byte(2), byte(4)) {
        (6, Some(r), Some(g), Some(b)) => Ok(Some([r, g, b])),
        _ => Err(format!(
            "'{text}' is not a colour; expected transparent, white, black, red, green, blue, \
             yellow or #rrggbb"
        )),
    }
}

/// Distance (pixels, chamfer 3-4 approximation of Euclidean) from each pixel to the nearest pixel
/// whose alpha is at least half; 0 inside.
fn distance_outside(image: &RgbaImage) -> Vec<f32> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let far = f32::MAX / 4.0;
    let mut d: Vec<f32> = image
        .pixels()
        .map(|p| if p[3] >= 128 { 0.0 } else { far })
        .collect();
    let (a, b) = (1.0, std::f32::consts::SQRT_2);
    // Forward pass: neighbours above and to the left; backward: below and to the right.
    for y in 0..h {
        for x in 0..w {
            let mut v = d[y * w + x];
            if x > 0 {
                v = v.min(d[y * w + x - 1] + a);
            }
            if y > 0 {
                v = v.min(d[(y - 1) * w + x] + a);
                if x > 0 {
                    v = v.min(d[(y - 1) * w + x - 1] + b);
                }
                if x + 1 < w {
                    v = v.min(d[(y - 1) * w + x + 1] + b);
                }
            }
            d[y * w + x] = v;
        }
    }
    for y in (0..h).rev() {
        for x in (0..w).rev() {
            let mut v = d[y * w + x];
            if x + 1 < w {
                v = v.min(d[y * w + x + 1] + a);
            }
            if y + 1 < h {
                v = v.min(d[(y + 1) * w + x] + a);
                if x + 1 < w {
                    v = v.min(d[(y + 1) * w + x + 1] + b);
                }
                if x > 0 {
                    v = v.min(d[(y + 1) * w + x - 1] + b);
                }
            }
            d[y * w + x] = v;
        }
    }
    d
}

/// Puts the person (`image`'s alpha) on the `look`'s outline and background.
pub fn compose(image: &RgbaImage, look: &Look) -> RgbaImage {
    let mut out = image.clone();
    if let Some((colour, width)) = look.outline {
        let dist = distance_outside(image);
        for (p, d) in out.pixels_mut().zip(dist) {
            // Full outline up to `width`, a one-pixel soft edge after it.
            let band = (width + 0.5 - d).clamp(0.0, 1.0);
            let ring = Rgba([
                colour[0],
                colour[1],
                colour[2],
                (band * 255.0).round() as u8,
            ]);
            *p = over(*p, ring);
        }
    }
    if let Some(colour) = look.background {
        let bg = Rgba([colour[0], colour[1], colour[2], 255]);
        for p in out.pixels_mut() {
            *p = over(*p, bg);
        }
    }
    out
}

/// Porter-Duff "over" of straight-alpha pixels.
fn over(top: Rgba<u8>, under: Rgba<u8>) -> Rgba<u8> {
    let ta = f32::from(top[3]) / 255.0;
    let ua = f32::from(under[3]) / 255.0;
    let a = ta + ua * (1.0 - ta);
    if a <= 0.0 {
        return Rgba([0, 0, 0, 0]);
    }
    let mut p = [0u8; 4];
    for (c, v) in p.iter_mut().take(3).enumerate() {
        let m = (f32::from(top[c]) * ta + f32::from(under[c]) * ua * (1.0 - ta)) / a;
        *v = m.round().clamp(0.0, 255.0) as u8;
    }
    p[3] = (a * 255.0).round() as u8;
    Rgba(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_parse_and_bad_ones_say_what_is_expected() {
        assert_eq!(parse_color("white"), Ok(Some([255, 255, 255])));
        assert_eq!(parse_color("#FF8000"), Ok(Some([255, 128, 0])));
        assert_eq!(parse_color("transparent"), Ok(None));
        let err = parse_color("#12").unwrap_err();
        assert!(err.contains("#rrggbb"), "{err}");
    }

    #[test]
    fn outline_surrounds_the_person_and_leaves_the_rest_clear() {
        // A disc of person (alpha 255) in a transparent square.
        let img = RgbaImage::from_fn(64, 64, |x, y| {
            let d = (x as f32 - 32.0).hypot(y as f32 - 32.0);
            Rgba([200, 100, 50, if d < 12.0 { 255 } else { 0 }])
        });
        let look = Look {
            background: None,
            outline: Some(([255, 255, 255], 4.0)),
        };
        let out = compose(&img, &look);
        assert_eq!(*out.get_pixel(32, 32), Rgba([200, 100, 50, 255]));
        // Two pixels outside the disc: outline, opaque white.
        assert_eq!(*out.get_pixel(32 + 14, 32), Rgba([255, 255, 255, 255]));
        // Well outside: still transparent.
        assert_eq!(out.get_pixel(32 + 20, 32)[3], 0);
        assert_eq!(out.get_pixel(0, 0)[3], 0);
        let on_black = compose(
            &img,
            &Look {
                background: Some([0, 0, 0]),
                outline: None,
            },
        );
        assert_eq!(*on_black.get_pixel(0, 0), Rgba([0, 0, 0, 255]));
    }
}
