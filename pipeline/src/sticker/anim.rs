//! Sticker animations: smooth loops of warps driven by the face mesh. Each frame is the still
//! (stylized) face crop resampled through a displacement field; the loop starts and ends at rest so
//! it plays seamlessly.
//!
//! - `nod`: the face (an ellipse around the mesh, fading out at its border) dips down and comes
//!   back, slightly foreshortened as a head pitching forward.
//! - `wink`: the subject's left eye closes and opens: inside an ellipse around the eye (corners and
//!   lid points of the mesh), pixels are pulled from above and below towards the lid line, so the
//!   lids meet.
//! - `bounce`: the whole picture hops, then squashes on landing.
//! - `zoom`: a gentle push in on the face and back.

use image::RgbaImage;

use crate::track::Rect;

/// One animation of a sticker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Animation {
    Nod,
    Wink,
    Bounce,
    Zoom,
}

impl Animation {
    pub const ALL: [Animation; 4] = [Self::Nod, Self::Wink, Self::Bounce, Self::Zoom];
    pub const NAMES: [&'static str; 4] = ["nod", "wink", "bounce", "zoom"];

    pub fn from_name(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name.trim()))
            .map(|i| Self::ALL[i])
    }

    pub fn name(self) -> &'static str {
        Self::NAMES[Self::ALL.iter().position(|a| *a == self).unwrap_or(0)]
    }
}

/// MediaPipe face-mesh indices of the subject's left eye: outer and inner corners, upper and lower
/// lid centres.
const LEFT_EYE: [usize; 4] = [263, 362, 386, 374];

/// Samples `src` at `map(x, y)` (continuous source pixel coordinates of the output pixel's centre,
/// bilinear, edges repeat) for every pixel of a `w` x `h` output.
pub fn warp(src: &RgbaImage, w: u32, h: u32, map: impl Fn(f32, f32) -> (f32, f32)) -> RgbaImage {
    let (sw, sh) = (src.width() as f32, src.height() as f32);
    let raw = src.as_raw();
    let stride = src.width() as usize;
    RgbaImage::from_fn(w, h, |x, y| {
        let (sx, sy) = map(x as f32 + 0.5, y as f32 + 0.5);
        let fx = (sx - 0.5).clamp(0.0, sw - 1.0);
        let fy = (sy - 0.5).clamp(0.0, sh - 1.0);
        let (x0, y0) = (fx.floor() as usize, fy.floor() as usize);
        let (x1, y1) = (
            (x0 + 1).min(stride - 1),
            (y0 + 1).min(src.height() as usize - 1),
        );
        let (ax, ay) = (fx - x0 as f32, fy - y0 as f32);
        let at = |x: usize, y: usize, c: usize| f32::from(raw[(y * stride + x) * 4 + c]);
        let mut p = [0u8; 4];
        for (c, v) in p.iter_mut().enumerate() {
            let top = at(x0, y0, c) + ax * (at(x1, y0, c) - at(x0, y0, c));
            let bottom = at(x0, y1, c) + ax * (at(x1, y1, c) - at(x0, y1, c));
            *v = (top + ay * (bottom - top)).round().clamp(0.0, 255.0) as u8;
        }
        image::Rgba(p)
    })
}

fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// The frames of `animation` on `base` (a face crop with its `mesh` in crop pixels), `frames` long.
pub fn animate(
    base: &RgbaImage,
    mesh: &[[f32; 3]],
    animation: Animation,
    frames: u32,
) -> Vec<RgbaImage> {
    let (w, h) = base.dimensions();
    let face = Rect::bounding(mesh.iter().map(|p| crate::track::Point::new(p[0], p[1])))
        .unwrap_or(Rect::new(0.0, 0.0, w as f32, h as f32));
    let (cx, cy) = (face.center().x, face.center().y);
    let (fw, fh) = (face.width().max(8.0), face.height().max(8.0));
    (0..frames)
        .map(|i| {
            let t = i as f32 / frames.max(1) as f32;
            let phase = std::f32::consts::TAU * t;
            match animation {
                Animation::Nod => {
                    // Down and back: 0 at the loop's ends.
                    let a = 0.07 * fh * (0.5 - 0.5 * phase.cos());
                    warp(base, w, h, |x, y| {
                        let r = ((x - cx) / (0.8 * fw)).hypot((y - cy) / (0.85 * fh));
                        let k = 1.0 - smoothstep(0.8, 1.5, r);
                        let squash = 1.0 + 0.6 * a / fh * k;
                        (x, cy + (y - cy) * squash - a * k)
                    })
                }
                Animation::Wink => {
                    let closed = (1.8 * (std::f32::consts::PI * t).sin().powi(2)).min(1.0);
                    let eye = |i: usize| mesh.get(LEFT_EYE[i]).copied().unwrap_or([cx, cy, 0.0]);
                    let (outer, inner, upper, lower) = (eye(0), eye(1), eye(2), eye(3));
                    let ex = (outer[0] + inner[0]) * 0.5;
                    let ey = (upper[1] + lower[1]) * 0.5;
                    let half_w = 0.75 * (outer[0] - inner[0]).abs().max(4.0);
                    let gap = (lower[1] - upper[1]).abs().max(2.0);
                    let half_h = (1.6 * gap).max(0.45 * half_w);
                    warp(base, w, h, |x, y| {
                        let r = ((x - ex) / half_w).hypot((y - ey) / half_h);
                        let k = 1.0 - smoothstep(0.5, 1.0, r);
                        let pull = closed * k * 0.75 * gap;
                        (x, y + (y - ey).signum() * pull)
                    })
                }
                Animation::Bounce => {
                    // Up and down in the first 80% of the loop, then a squash on landing.
                    let (hop, squash) = if t < 0.8 {
                        ((std::f32::consts::PI * t / 0.8).sin(), 1.0)
                    } else {
                        (
                            0.0,
                            1.0 + 0.07 * (std::f32::consts::PI * (t - 0.8) / 0.2).sin(),
                        )
                    };
                    let lift = 0.08 * h as f32 * hop;
                    warp(base, w, h, |x, y| {
                        let sx = w as f32 / 2.0 + (x - w as f32 / 2.0) / squash;
                        let sy = h as f32 - (h as f32 - y) * squash;
                        (sx, sy + lift)
                    })
                }
                Animation::Zoom => {
                    let s = 1.0 + 0.15 * (0.5 - 0.5 * phase.cos());
                    warp(base, w, h, |x, y| (cx + (x - cx) / s, cy + (y - cy) / s))
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loops_start_at_rest_and_move_in_the_middle() {
        let base = RgbaImage::from_fn(64, 64, |x, y| {
            image::Rgba([(x * 4) as u8, (y * 4) as u8, 90, 255])
        });
        // A fake mesh: 468 points spread over the centre.
        let mesh: Vec<[f32; 3]> = (0..468)
            .map(|i| [16.0 + (i % 32) as f32, 14.0 + (i / 16) as f32, 0.0])
            .collect();
        for a in Animation::ALL {
            let frames = animate(&base, &mesh, a, 12);
            assert_eq!(frames.len(), 12);
            assert_eq!(frames[0], base, "{a:?} starts at rest");
            assert_ne!(frames[6], base, "{a:?} moves");
            assert_eq!(Animation::from_name(a.name()), Some(a));
        }
        assert_eq!(Animation::from_name("spin"), None);
    }
}
