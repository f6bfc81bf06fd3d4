//! The palm detector: MediaPipe's BlazePalm SSD on the whole frame, and the hand crop a palm gives.
//!
//! Models: `palm_detection_lite.onnx` / `palm_detection_full.onnx`, input [1,192,192,3] NHWC RGB in
//! 0..1 (the frame letterboxed, black border), outputs `regressors` [1,2016,18] (per anchor box centre
//! x, y, width, height, then 7 keypoints x, y, input pixels relative to the anchor centre) and `scores`
//! [1,2016,1] logits. Keypoint 0 is the wrist centre, 2 the middle-finger MCP. Decoding, suppression and
//! the session are [`crate::track::ssd`]'s, with the palm's anchors.

use std::path::Path;

use image::RgbaImage;

use crate::error::Result;
use crate::infer::{Model, SessionConfig};
use crate::track::mesh::{warp_to_tensor_with, Border, Sampling};
use crate::track::ssd::{ssd_anchors, SsdDetection, SsdModel};
use crate::track::types::{Affine, Point, Roi};

/// Input side of the palm detector.
pub const INPUT_SIZE: u32 = 192;
/// Keypoints per palm: wrist centre, index MCP, middle MCP, ring MCP, pinky MCP, thumb CMC, thumb MCP.
pub const KEYPOINTS: usize = 7;
/// Index of the wrist centre and of the middle-finger MCP among [`KEYPOINTS`].
pub const WRIST: usize = 0;
pub const MIDDLE_MCP: usize = 2;
/// IoU above which two palm detections are merged (MediaPipe's `palm_detection_cpu.pbtxt`).
const NMS_IOU: f32 = 0.3;
/// The hand crop from a palm: shifted half a palm box towards the fingers, square on the long side,
/// 2.6 times it (MediaPipe's `palm_detection_detection_to_roi.pbtxt`).
const PALM_SHIFT_Y: f32 = -0.5;
const PALM_CROP_SCALE: f32 = 2.6;

/// The letterbox as MediaPipe's `ImageToTensorCalculator` makes it, from the detector's input
/// coordinates (0..192) to doppel's frame pixels: the frame padded to a square on its long side,
/// scaled onto the input. MediaPipe puts pixel centres at whole numbers and doppel at +0.5, hence the
/// half-pixel term; [`crate::track::detector::Letterbox`] maps pixel centres to pixel centres instead,
/// which moved palms by up to 4 frame pixels and their angle by 2 degrees against MediaPipe's.
pub fn letterbox_map(width: u32, height: u32) -> Affine {
    let side = width.max(height).max(1) as f32;
    let s = side / INPUT_SIZE as f32;
    Affine {
        a: s,
        b: 0.0,
        c: (width as f32 - side) * 0.5 + 0.5,
        d: 0.0,
        e: s,
        f: (height as f32 - side) * 0.5 + 0.5,
    }
}

/// A palm found by the detector, box and keypoints in frame pixels.
pub type Palm = SsdDetection<KEYPOINTS>;

/// Anchor centres of the palm detector (MediaPipe's `SsdAnchorsCalculator` options in
/// `palm_detection_cpu.pbtxt`): 4 layers with strides 8, 16, 16, 16 on a 192 input, 2 anchors per layer
/// and cell, fixed size: 24x24x2 + 12x12x6 = 2016.
pub fn palm_anchors() -> Vec<Point> {
    ssd_anchors(INPUT_SIZE, &[8, 16, 16, 16], 2)
}

/// `angle` wrapped into -pi..pi.
pub(crate) fn wrap_angle(angle: f32) -> f32 {
    use std::f32::consts::{PI, TAU};
    (angle + PI).rem_euclid(TAU) - PI
}

/// The angle that turns a crop so that the direction `from` -> `to` points up in it (MediaPipe's
/// rotation with a target angle of 90 degrees, in frame pixels, y down).
pub(crate) fn upright_angle(from: Point, to: Point) -> f32 {
    wrap_angle(std::f32::consts::FRAC_PI_2 + (to.y - from.y).atan2(to.x - from.x))
}

/// MediaPipe's `RectTransformationCalculator` on a rotated box (centre, `w` x `h` frame pixels,
/// `angle`): move the centre by `shift_y` box heights along the box's own y axis, make it square on
/// its long side, scale by `scale`. `None` when the result is empty or not finite.
pub(crate) fn transform_rect(
    center: Point,
    w: f32,
    h: f32,
    angle: f32,
    shift_y: f32,
    scale: f32,
) -> Option<Roi> {
    let (s, c) = angle.sin_cos();
    let center = Point::new(center.x - s * shift_y * h, center.y + c * shift_y * h);
    let size = w.max(h) * scale;
    (size.is_finite() && size > 0.0 && center.x.is_finite() && center.y.is_finite()).then_some(
        Roi {
            center,
            size,
            angle,
        },
    )
}

/// The hand crop for a palm: its box centre moved half a box height towards the fingers, rotated so
/// the wrist-to-middle-finger direction points up, 2.6 times the box's long side.
pub fn roi_from_palm(palm: &Palm) -> Option<Roi> {
    let angle = upright_angle(palm.keypoints[WRIST], palm.keypoints[MIDDLE_MCP]);
    transform_rect(
        palm.rect.center(),
        palm.rect.width(),
        palm.rect.height(),
        angle,
        PALM_SHIFT_Y,
        PALM_CROP_SCALE,
    )
}

/// The palm detector: one ONNX Runtime session and its anchors, built once.
pub struct PalmDetector {
    ssd: SsdModel<KEYPOINTS>,
}

impl PalmDetector {
    /// Loads `palm_detection_lite.onnx` or `palm_detection_full.onnx` (or a model with the same
    /// inputs and outputs).
    ///
    /// # Errors
    /// [`Error::Model`] naming the file when it is missing, not ONNX, or shaped differently;
    /// [`Error::Runtime`] when ONNX Runtime cannot be loaded.
    pub fn load(path: impl AsRef<Path>, config: &SessionConfig) -> Result<Self> {
        let model = Model::load(path.as_ref(), config)?;
        let ssd = SsdModel::new(
            model,
            INPUT_SIZE,
            palm_anchors(),
            NMS_IOU,
            "the palm detector",
        )?;
        Ok(Self { ssd })
    }

    /// How many times the model has run.
    pub fn runs(&self) -> u64 {
        self.ssd.runs()
    }

    /// Runs the model once on zeros, not counted in [`Self::runs`].
    ///
    /// # Errors
    /// [`Error::Model`] when inference fails.
    pub fn warm_up(&mut self) -> Result<()> {
        self.ssd.warm_up()
    }

    /// Palms scoring at least `min_score` in `image`, best first; boxes and keypoints in frame pixels.
    ///
    /// # Errors
    /// [`Error::Model`] when inference fails.
    pub fn detect(&mut self, image: &RgbaImage, min_score: f32) -> Result<Vec<Palm>> {
        let (w, h) = image.dimensions();
        if w == 0 || h == 0 {
            return Ok(Vec::new());
        }
        let to_frame = letterbox_map(w, h);
        // Tensor pixel u samples the frame where the map sends u + 0.5 (doppel's crop pixel centre),
        // so that the crop is MediaPipe's (see `letterbox_map`).
        warp_to_tensor_with(
            image,
            &to_frame.half_pixel_back(),
            INPUT_SIZE,
            1.0,
            0.0,
            Sampling {
                k: 1,
                border: Border::Zero,
            },
            self.ssd.tensor_mut(),
        )?;
        self.ssd.detect(min_score, &to_frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::types::Rect;

    #[test]
    fn anchors_match_mediapipe_palm_detection() {
        let a = palm_anchors();
        assert_eq!(a.len(), 2016);
        assert_eq!(a[0], Point::new(0.5 / 24.0, 0.5 / 24.0));
        assert_eq!(a[1], a[0]);
        assert_eq!(a[2], Point::new(1.5 / 24.0, 0.5 / 24.0));
        assert_eq!(a[1152], Point::new(0.5 / 12.0, 0.5 / 12.0));
        assert_eq!(a[1157], a[1152]);
        assert_eq!(a[1158], Point::new(1.5 / 12.0, 0.5 / 12.0));
        assert_eq!(a[2015], Point::new(11.5 / 12.0, 11.5 / 12.0));
    }

    #[test]
    fn palm_roi_points_the_fingers_up_and_grows() {
        // An upright palm: wrist below the middle MCP. The crop is not rotated, its centre moves up
        // half a box height, and it is 2.6 times the box.
        let mut kps = [Point::default(); KEYPOINTS];
        kps[WRIST] = Point::new(100.0, 140.0);
        kps[MIDDLE_MCP] = Point::new(100.0, 80.0);
        let palm = Palm {
            rect: Rect::new(70.0, 80.0, 130.0, 140.0),
            score: 0.9,
            keypoints: kps,
        };
        let roi = roi_from_palm(&palm).unwrap();
        assert!(roi.angle.abs() < 1e-6, "{roi:?}");
        assert!((roi.center.x - 100.0).abs() < 1e-4 && (roi.center.y - 80.0).abs() < 1e-4);
        assert!((roi.size - 156.0).abs() < 1e-3, "{roi:?}");
        // Fingers pointing to the frame's right: a quarter turn, shifted towards +x.
        kps[MIDDLE_MCP] = Point::new(160.0, 140.0);
        let palm = Palm {
            keypoints: kps,
            ..palm
        };
        let roi = roi_from_palm(&palm).unwrap();
        assert!(
            (roi.angle - std::f32::consts::FRAC_PI_2).abs() < 1e-6,
            "{roi:?}"
        );
        assert!((roi.center.x - 130.0).abs() < 1e-3 && (roi.center.y - 110.0).abs() < 1e-3);
    }
}
