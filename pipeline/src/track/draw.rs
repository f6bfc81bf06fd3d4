//! Small CPU drawing primitives for debugging views (the `overlay` stage, test images): dots, lines,
//! box outlines, bars and a mask tint on RGBA8 frames. Clipped to the image; nothing here fails.

use image::{GrayImage, RgbaImage};

use super::types::{Point, Rect};

/// An RGB colour.
pub type Colour = [u8; 3];

/// Blends `colour` over the pixel at (`x`, `y`) with `alpha` (0..1); outside the image: nothing.
pub fn blend(image: &mut RgbaImage, x: i64, y: i64, colour: Colour, alpha: f32) {
    if x < 0 || y < 0 || x >= i64::from(image.width()) || y >= i64::from(image.height()) {
        return;
    }
    let px = image.get_pixel_mut(x as u32, y as u32);
    let a = alpha.clamp(0.0, 1.0);
    for c in 0..3 {
        px[c] = (f32::from(px[c]) * (1.0 - a) + f32::from(colour[c]) * a).round() as u8;
    }
}

/// A filled disc of radius `r` pixels centred on `p`.
pub fn disc(image: &mut RgbaImage, p: Point, r: f32, colour: Colour) {
    if !(p.x.is_finite() && p.y.is_finite()) {
        return;
    }
    let r = r.max(0.5);
    let (x0, x1) = ((p.x - r).floor() as i64, (p.x + r).ceil() as i64);
    let (y0, y1) = ((p.y - r).floor() as i64, (p.y + r).ceil() as i64);
    for y in y0..=y1 {
        for x in x0..=x1 {
            // Pixel centres at +0.5.
            let (dx, dy) = (x as f32 + 0.5 - p.x, y as f32 + 0.5 - p.y);
            if dx * dx + dy * dy <= r * r {
                blend(image, x, y, colour, 1.0);
            }
        }
    }
}

/// A line from `a` to `b`, `width` pixels wide (opaque, round ends).
pub fn line(image: &mut RgbaImage, a: Point, b: Point, width: f32, colour: Colour) {
    if !(a.x.is_finite() && a.y.is_finite() && b.x.is_finite() && b.y.is_finite()) {
        return;
    }
    // Keep lines that run far outside the frame (untracked points) from costing much.
    let limit = 4.0 * (image.width().max(image.height()) as f32 + 1.0);
    if a.x.abs().max(a.y.abs()).max(b.x.abs()).max(b.y.abs()) > limit {
        return;
    }
    let steps = (a.distance(b) * 2.0).ceil().max(1.0) as usize;
    let r = (width * 0.5).max(0.5);
    for i in 0..=steps {
        let t = i as f32 / steps as f32;
        disc(
            image,
            Point::new(a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t),
            r,
            colour,
        );
    }
}

/// The outline of `rect`, `width` pixels wide.
pub fn outline(image: &mut RgbaImage, rect: &Rect, width: f32, colour: Colour) {
    let corners = [
        Point::new(rect.x0, rect.y0),
        Point::new(rect.x1, rect.y0),
        Point::new(rect.x1, rect.y1),
        Point::new(rect.x0, rect.y1),
    ];
    for i in 0..4 {
        line(image, corners[i], corners[(i + 1) % 4], width, colour);
    }
}

/// A horizontal bar at (`x`, `y`), `length` x `height` pixels, filled to `fraction` (0..1) with
/// `colour` and the rest dark: a score readable without text.
pub fn bar(
    image: &mut RgbaImage,
    x: f32,
    y: f32,
    length: f32,
    height: f32,
    fraction: f32,
    colour: Colour,
) {
    let filled = length * fraction.clamp(0.0, 1.0);
    let (x0, y0) = (x.round() as i64, y.round() as i64);
    for dy in 0..height.round().max(1.0) as i64 {
        for dx in 0..length.round().max(1.0) as i64 {
            let c = if (dx as f32) < filled {
                colour
            } else {
                [40, 40, 40]
            };
            blend(image, x0 + dx, y0 + dy, c, 1.0);
        }
    }
}

/// Tints `image` with `colour` where `mask` says (255 = full `opacity`); `mask` must have the image's
/// size, else nothing is drawn (returns false).
pub fn tint(image: &mut RgbaImage, mask: &GrayImage, colour: Colour, opacity: f32) -> bool {
    if mask.dimensions() != image.dimensions() {
        return false;
    }
    let o = opacity.clamp(0.0, 1.0) / 255.0;
    for (px, m) in image.pixels_mut().zip(mask.as_raw()) {
        let a = f32::from(*m) * o;
        if a <= 0.0 {
            continue;
        }
        for c in 0..3 {
            px[c] = (f32::from(px[c]) * (1.0 - a) + f32::from(colour[c]) * a).round() as u8;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives_stay_inside_the_image() {
        let mut img = RgbaImage::new(10, 8);
        line(
            &mut img,
            Point::new(-5.0, -5.0),
            Point::new(20.0, 20.0),
            3.0,
            [255, 0, 0],
        );
        disc(&mut img, Point::new(f32::NAN, 1.0), 2.0, [0, 255, 0]);
        outline(&mut img, &Rect::new(1.0, 1.0, 8.0, 6.0), 1.0, [0, 0, 255]);
        bar(&mut img, 8.0, 7.0, 20.0, 4.0, 0.5, [255, 255, 0]);
        assert_eq!(
            img.get_pixel(4, 4)[0],
            255,
            "the diagonal passes through (4, 4)"
        );
        assert_eq!(img.get_pixel(1, 3)[2], 255, "the box's left edge");
        let mask = GrayImage::from_pixel(10, 8, image::Luma([255]));
        assert!(tint(&mut img, &mask, [0, 0, 0], 1.0));
        assert!(img.pixels().all(|p| p[0] == 0 && p[1] == 0 && p[2] == 0));
        assert!(!tint(&mut img, &GrayImage::new(3, 3), [0, 0, 0], 1.0));
    }
}
