//! Personal animated stickers from one photo: find the face, crop it square, stylize it, and animate
//! it in a short loop driven by the face mesh (nod, wink, bounce, zoom), then write a looping GIF,
//! APNG or animated WebP.
//!
//! ```text
//!  photo ─▶ FaceTracker (mesh) ─▶ square crop around the face ─▶ Stylizer (optional)
//!        ─▶ animate: mesh-guided warps, N frames ─▶ encode (GIF | APNG | WebP), loops forever
//! ```

pub mod anim;
pub mod clip;
pub mod cutout;
pub mod encode;
pub mod ffenc;
pub mod meshwarp;

use std::path::Path;

use image::{GrayImage, RgbaImage};

pub use self::anim::{animate, Animation};
pub use self::cutout::{Cutout, Look};
pub use self::encode::{encode_animation, loop_count, write_animation, Format};
pub use self::ffenc::{encode_preset, Preset};

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
    let square = square_around(r, photo.width(), photo.height());
    let (x0, y0) = (square.x0, square.y0);
    let k = square.width() / size as f32;
    let image = crop_square(photo, square, size);
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
        source: square,
    })
}

/// The sticker's square around face box `face` in a `width` x `height` picture: the box grown 1.9x,
/// a little more above for hair, shrunk to the picture's shorter side and shifted inside it.
pub fn square_around(face: Rect, width: u32, height: u32) -> Rect {
    let (pw, ph) = (width as f32, height as f32);
    let side = (1.9 * face.width().max(face.height())).min(pw.min(ph));
    let centre = Point::new(face.center().x, face.center().y - 0.08 * face.height());
    let x0 = (centre.x - side / 2.0).clamp(0.0, pw - side);
    let y0 = (centre.y - side / 2.0).clamp(0.0, ph - side);
    Rect::new(x0, y0, x0 + side, y0 + side)
}

/// `square` of `picture` (inside it, see [`square_around`]) resampled to `size` x `size`.
pub fn crop_square(picture: &RgbaImage, square: Rect, size: u32) -> RgbaImage {
    let k = square.width() / size as f32;
    anim::warp(picture, size, size, |x, y| {
        (square.x0 + x * k, square.y0 + y * k)
    })
}

/// The frames of a sticker from a still: `base` (the crop, stylized or not) with the person's
/// `alpha` (`None`: keep the picture whole), animated by its `mesh`, then put on `look`.
pub fn photo_frames(
    base: &RgbaImage,
    alpha: Option<&GrayImage>,
    mesh: &[[f32; 3]],
    animation: Animation,
    frames: u32,
    look: &Look,
) -> Vec<RgbaImage> {
    let mut cut = base.clone();
    if let Some(alpha) = alpha {
        cutout::apply_alpha(&mut cut, alpha);
    }
    animate(&cut, mesh, animation, frames)
        .iter()
        .map(|f| cutout::compose(f, look))
        .collect()
}

/// The frames of a sticker from a clip's crops: each cut out by `cutout` (`None`: kept whole) and
/// put on `look`.
///
/// # Errors
/// Segmentation errors.
pub fn clip_frames(
    crops: &[RgbaImage],
    mut cutout: Option<&mut Cutout>,
    look: &Look,
) -> Result<Vec<RgbaImage>> {
    crops
        .iter()
        .map(|c| {
            let mut cut = c.clone();
            if let Some(cutout) = cutout.as_deref_mut() {
                cutout::apply_alpha(&mut cut, &cutout.alpha(c)?);
            }
            Ok(cutout::compose(&cut, look))
        })
        .collect()
}
