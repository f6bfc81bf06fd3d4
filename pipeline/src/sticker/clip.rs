//! A sticker from a short clip of the person (a file or a camera): the person's own expressions
//! instead of warps. The face is tracked through the clip, one square crop that holds it in every
//! frame is cut from each frame, and the loop is chosen where the first and last frames match best,
//! so it plays without a visible jump.
//!
//! ```text
//!  frames (subsampled to the sticker's rate) ─▶ FaceTracker per frame ─▶ one square around the
//!  faces (median centre, largest face) ─▶ crops ─▶ best loop: start s, end e (frames s..e, frame e
//!  close to frame s) by the mean difference of 48x48 thumbnails
//! ```

use std::path::Path;

use image::RgbaImage;

use super::{crop_square, square_around};
use crate::error::{Error, Result};
use crate::source::Source;
use crate::track::{FaceTracker, Rect};

/// Side of the thumbnails loop ends are compared on.
const THUMB: u32 = 48;

/// Frames read from a source, at (about) `fps`.
pub struct Clip {
    pub frames: Vec<RgbaImage>,
    /// Milliseconds per kept frame.
    pub delay_ms: u32,
}

/// Reads up to `seconds` of `source`, keeping about `fps` frames a second.
///
/// # Errors
/// What the source reports; [`Error::Input`] naming `name` when it gives no frame.
pub fn read_clip(source: &mut dyn Source, name: &Path, seconds: f32, fps: f32) -> Result<Clip> {
    let rate = source
        .info()
        .frame_rate
        .map(|r| r.num as f32 / r.den.max(1) as f32)
        .filter(|r| r.is_finite() && *r > 0.0)
        .unwrap_or(30.0);
    let step = (rate / fps).round().max(1.0) as usize;
    let total = (seconds * rate).ceil() as usize;
    let mut frames = Vec::new();
    let mut i = 0;
    while i < total {
        let Some(frame) = source.next_frame()? else {
            break;
        };
        if i % step == 0 {
            frames.push(frame.into_image()?);
        }
        i += 1;
    }
    if frames.is_empty() {
        return Err(Error::input(name, "the clip has no frames"));
    }
    Ok(Clip {
        frames,
        delay_ms: (1000.0 * step as f32 / rate).round() as u32,
    })
}

/// One square crop of every frame that holds the tracked face throughout, `size` pixels.
///
/// # Errors
/// [`Error::Input`] naming `name` when no frame has a face; tracker errors.
pub fn crop_clip(
    frames: &[RgbaImage],
    name: &Path,
    tracker: &mut FaceTracker,
    size: u32,
) -> Result<Vec<RgbaImage>> {
    tracker.reset();
    let mut boxes: Vec<Rect> = Vec::new();
    for f in frames {
        let faces = tracker.process(f)?;
        if let Some(face) = faces
            .iter()
            .max_by(|a, b| a.rect.area().total_cmp(&b.rect.area()))
        {
            boxes.push(face.rect);
        }
    }
    let Some(first) = frames.first() else {
        return Err(Error::input(name, "the clip has no frames"));
    };
    if boxes.is_empty() {
        return Err(Error::input(
            name,
            "no face found in the clip; film the face from the front, at least about 40 pixels wide",
        ));
    }
    let median = |mut v: Vec<f32>| {
        v.sort_by(f32::total_cmp);
        v[v.len() / 2]
    };
    let cx = median(boxes.iter().map(|b| b.center().x).collect());
    let cy = median(boxes.iter().map(|b| b.center().y).collect());
    let side = boxes
        .iter()
        .map(|b| b.width().max(b.height()))
        .fold(0.0, f32::max);
    let face = Rect::new(
        cx - side / 2.0,
        cy - side / 2.0,
        cx + side / 2.0,
        cy + side / 2.0,
    );
    let square = square_around(face, first.width(), first.height());
    Ok(frames
        .iter()
        .map(|f| crop_square(f, square, size))
        .collect())
}

/// A 48x48 thumbnail (RGB over mid-grey where transparent) as floats.
fn thumbnail(image: &RgbaImage) -> Vec<f32> {
    let small = image::imageops::resize(image, THUMB, THUMB, image::imageops::FilterType::Triangle);
    small
        .pixels()
        .flat_map(|p| {
            let a = f32::from(p[3]) / 255.0;
            (0..3).map(move |c| f32::from(p[c]) * a + 128.0 * (1.0 - a))
        })
        .collect()
}

/// Mean absolute difference of two thumbnails, 0..255.
fn difference(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len().max(1) as f32
}

/// The loop chosen in a clip.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Loop {
    /// First frame.
    pub start: usize,
    /// Frames in the loop (`start..start + len`).
    pub len: usize,
    /// Difference (mean absolute, 0..255, on thumbnails) between the loop's last frame and its
    /// first: what the eye sees at the wrap.
    pub seam: f32,
    /// The median difference between consecutive frames in the loop: a seam near it is invisible.
    pub step: f32,
    /// No forward loop wrapped within [`SEAM_RATIO`] of a step (the person moves on through the
    /// clip): the frames play forward then back ("boomerang"), whose wrap is one ordinary step.
    pub boomerang: bool,
}

/// A forward loop is kept when its wrap is at most this many median steps.
pub const SEAM_RATIO: f32 = 1.5;

impl Loop {
    /// The loop's frames out of `frames` (the clip's frames `best_loop` chose from).
    pub fn take<T: Clone>(&self, frames: &[T]) -> Vec<T> {
        let forward = &frames[self.start..self.start + self.len];
        if !self.boomerang {
            return forward.to_vec();
        }
        // There and back, without repeating the turning frames.
        let back = forward[1..forward.len().saturating_sub(1)].iter().rev();
        forward.iter().chain(back).cloned().collect()
    }
}

/// The loop of `min_len..=max_len` frames whose wrap is least visible: the frame just after the
/// loop matches its first frame best, so going from the last frame back to the first is like an
/// ordinary step of the clip (a last frame equal to the first would show it twice, a stutter).
/// Longer loops win ties. When even the best wrap is more than [`SEAM_RATIO`] median steps, the
/// loop plays forward and back instead.
///
/// # Errors
/// [`Error::Spec`] when the clip has fewer than `min_len + 1` frames.
pub fn best_loop(frames: &[RgbaImage], min_len: usize, max_len: usize) -> Result<Loop> {
    let min_len = min_len.max(2);
    if frames.len() < min_len + 1 {
        return Err(Error::Spec(format!(
            "a looping sticker needs at least {} frames of the clip, it has {}; use a longer clip",
            min_len + 1,
            frames.len()
        )));
    }
    let thumbs: Vec<Vec<f32>> = frames.iter().map(thumbnail).collect();
    let mut best: Option<(f32, usize, usize)> = None;
    for start in 0..thumbs.len() {
        for len in min_len..=max_len {
            let Some(after) = thumbs.get(start + len) else {
                break;
            };
            // A small bonus per frame: of two equally good wraps, the longer loop.
            let score = difference(&thumbs[start], after) - 0.01 * len as f32;
            if best.is_none_or(|(s, _, _)| score < s) {
                best = Some((score, start, len));
            }
        }
    }
    let (_, start, len) = best.ok_or_else(|| Error::Spec("no loop found".to_string()))?;
    let median_step = |start: usize, len: usize| {
        let mut steps: Vec<f32> = (start..start + len - 1)
            .map(|i| difference(&thumbs[i], &thumbs[i + 1]))
            .collect();
        steps.sort_by(f32::total_cmp);
        steps.get(steps.len() / 2).copied().unwrap_or(0.0)
    };
    let seam = difference(&thumbs[start + len - 1], &thumbs[start]);
    let step = median_step(start, len);
    if seam <= SEAM_RATIO * step.max(1.0) {
        return Ok(Loop {
            start,
            len,
            seam,
            step,
            boomerang: false,
        });
    }
    // Forward then back over half the longest loop. Its two turns show steps of the clip played
    // backwards; the start is chosen where those two steps are smallest.
    let half = (max_len / 2).max(min_len / 2).max(2).min(thumbs.len());
    let step_at = |i: usize| difference(&thumbs[i], &thumbs[i + 1]);
    let turns = |start: usize| step_at(start).max(step_at(start + half - 2));
    let start = (0..=thumbs.len() - half)
        .min_by(|&a, &b| turns(a).total_cmp(&turns(b)))
        .unwrap_or(0);
    Ok(Loop {
        start,
        len: half,
        seam: turns(start),
        step: median_step(start, half),
        boomerang: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bright square circling with a period of 10 frames, 40 frames long.
    fn circling(n: usize) -> Vec<RgbaImage> {
        (0..n)
            .map(|i| {
                let a = std::f32::consts::TAU * i as f32 / 10.0;
                let (cx, cy) = (32.0 + 16.0 * a.cos(), 32.0 + 16.0 * a.sin());
                RgbaImage::from_fn(64, 64, |x, y| {
                    let inside = (x as f32 - cx).abs() < 8.0 && (y as f32 - cy).abs() < 8.0;
                    image::Rgba(if inside {
                        [250, 200, 40, 255]
                    } else {
                        [20, 30, 60, 255]
                    })
                })
            })
            .collect()
    }

    #[test]
    fn a_periodic_clip_loops_forward_over_whole_periods() {
        let frames = circling(40);
        let chosen = best_loop(&frames, 6, 25).expect("loop");
        assert!(!chosen.boomerang, "{chosen:?}");
        assert_eq!(chosen.len % 10, 0, "{chosen:?}");
        // The wrap is one ordinary step, not a repeated frame.
        assert!(
            (chosen.seam - chosen.step).abs() <= 0.15 * chosen.step,
            "{chosen:?}"
        );
        assert_eq!(chosen.take(&frames).len(), chosen.len);
    }

    #[test]
    fn a_clip_that_never_returns_plays_forward_and_back() {
        // The square moves steadily right and never comes back.
        let frames: Vec<RgbaImage> = (0..30)
            .map(|i| {
                RgbaImage::from_fn(64, 64, |x, _| {
                    let inside = (x as i32 - 2 * i).abs() < 6;
                    image::Rgba(if inside {
                        [250, 250, 250, 255]
                    } else {
                        [0, 0, 0, 255]
                    })
                })
            })
            .collect();
        let chosen = best_loop(&frames, 6, 20).expect("loop");
        assert!(chosen.boomerang, "{chosen:?}");
        let looped = chosen.take(&frames);
        assert_eq!(looped.len(), 2 * chosen.len - 2);
        assert!(
            chosen.seam <= SEAM_RATIO * chosen.step.max(1.0),
            "{chosen:?}"
        );
        assert!(best_loop(&frames[..5], 6, 20).is_err());
    }
}
