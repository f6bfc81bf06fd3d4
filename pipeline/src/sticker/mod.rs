//! Personal animated stickers from one photo: find the face, crop it square, stylize it, and animate
//! it in a short loop driven by the face mesh (nod, wink, bounce, zoom), then write a looping GIF,
//! APNG or animated WebP.
//!
//! ```text
//!  photo ─▶ FaceTracker (mesh) ─▶ square crop around the face ─▶ Stylizer (optional)
//!        ─▶ animate: mesh-guided warps, N frames ─▶ encode (GIF | APNG | WebP), loops forever
//! ```

pub mod anim;
pub mod cutout;
pub mod encode;
pub mod meshwarp;

use std::path::Path;

use image::RgbaImage;

pub use self::anim::{animate, Animation};
pub use self::encode::{encode_animation, loop_count, write_animation, Format};

use crate::error::{Error, Result};
use crate::track::{FaceTracker, Point, Rect};

/// Largest sticker side.
pub const MAX_SIZE: u32 = 512;

/// The face crop a sticker is made from: the square picture and the mesh in its pixels.
#[derive(Clone, Debug)]
pub struct FaceCrop {
    pub image: RgbaImage,
    /// The mesh points (468 or 478 with irises; x, y in crop pixels, z scaled alike).
    pub mesh: Vec<[f32; 3]>,
    /// The face box in crop pixels.
    pub face: Rect,
    /// The square the crop shows, in photo pixels (always inside the photo).
    pub source: Rect,
}

/// Finds the largest face in `photo` and crops a `size` x `size` square around it: the face box
/// grown 1.9x, a little more above for hair, then shrunk to the photo's shorter side and shifted
/// inside the photo, so the crop never samples outside it (repeated edge pixels read as streaks).
///
/// # Errors
/// [`Error::Input`] naming `source` (the photo's file) when no face is found; [`Error::Option`] for a
/// size outside 32..=512; model errors from the tracker.
pub fn crop_face(
    photo: &RgbaImage,
    source: &Path,
    tracker: &mut FaceTracker,
    size: u32,
) -> Result<FaceCrop> {
    if !(32..=MAX_SIZE).contains(&size) {
        return Err(Error::Option {
            stage: "sticker".to_string(),
            option: "size".to_string(),
            message: format!("{size} is out of range; expected 32 to {MAX_SIZE}"),
        });
    }
    tracker.reset();
    let faces = tracker.process(photo)?;
    let Some(face) = faces
        .iter()
        .max_by(|a, b| a.rect.area().total_cmp(&b.rect.area()))
    else {
        return Err(Error::input(
            source,
            "no face found in the photo; use a photo with a face seen from the front, at least \
             about 40 pixels wide",
        ));
    };
    let r = face.rect;
    let (pw, ph) = (photo.width() as f32, photo.height() as f32);
    let side = (1.9 * r.width().max(r.height())).min(pw.min(ph));
    let centre = Point::new(r.center().x, r.center().y - 0.08 * r.height());
    let x0 = (centre.x - side / 2.0).clamp(0.0, pw - side);
    let y0 = (centre.y - side / 2.0).clamp(0.0, ph - side);
    let k = side / size as f32;
    let image = anim::warp(photo, size, size, |x, y| (x0 + x * k, y0 + y * k));
    let to_crop = |x: f32, y: f32| ((x - x0) / k, (y - y0) / k);
    let mesh: Vec<[f32; 3]> = face
        .mesh
        .iter()
        .map(|p| {
            let (x, y) = to_crop(p[0], p[1]);
            [x, y, p[2] / k]
        })
        .collect();
    let (fx0, fy0) = to_crop(r.x0, r.y0);
    let (fx1, fy1) = to_crop(r.x1, r.y1);
    Ok(FaceCrop {
        image,
        mesh,
        face: Rect::new(fx0, fy0, fx1, fy1),
        source: Rect::new(x0, y0, x0 + side, y0 + side),
    })
}
