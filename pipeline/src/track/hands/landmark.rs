//! The hand landmark model: 21 points, hand presence, handedness and metric 3D points from a rotated
//! square crop around one hand, and the crop that follows the hand into the next frame.
//!
//! Models: `hand_landmark_lite.onnx` / `hand_landmark_full.onnx`, input [1,224,224,3] NHWC RGB in
//! 0..1 (edge pixels repeated outside the frame), outputs `landmarks` [1,63] (21 x, y, z in crop
//! pixels), `presence` [1,1] (probability), `handedness` [1,1] (probability of MediaPipe's label
//! "Left", which assumes a mirrored image) and `world_landmarks` [1,63] (metres, origin near the hand's
//! centre, in the crop's axes).

use std::path::Path;

use image::RgbaImage;

use super::palm::{transform_rect, upright_angle};
use crate::error::{Error, Result};
use crate::infer::{Model, SessionConfig};
use crate::meta::{Handedness, HAND_LANDMARK_NAMES};
use crate::track::mesh::{supersampling, warp_to_tensor_with, Border, Sampling};
use crate::track::types::{Point, Roi};

/// Input side of the landmark models.
pub const INPUT_SIZE: u32 = 224;
/// Landmarks per hand.
pub const POINTS: usize = HAND_LANDMARK_NAMES.len();
/// The landmarks the next frame's crop is measured on: the wrist and the finger bases and middle
/// joints, not the fingertips (which move most) — MediaPipe's `hand_landmark_landmarks_to_roi.pbtxt`.
const ROI_POINTS: [usize; 12] = [0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18];
/// The crop from landmarks: shifted a tenth of the box towards the fingers, square, 2 times it.
const TRACK_SHIFT_Y: f32 = -0.1;
const TRACK_CROP_SCALE: f32 = 2.0;
/// MediaPipe divides the model's z by this before scaling it like x (`TensorsToLandmarksCalculator`
/// option `normalize_z: 0.4` in `hand_landmark_cpu.pbtxt`).
const Z_NORMALIZE: f32 = 0.4;

/// The crop that follows a hand into the next frame (MediaPipe's `HandLandmarksToRectCalculator`
/// and the transform after it): rotated so that the wrist-to-knuckles direction points up, around the
/// box of the wrist, finger bases and middle joints measured in that rotated frame, moved a tenth of
/// the box towards the fingers, twice its long side. `landmarks` in frame pixels.
pub fn roi_from_landmarks(landmarks: &[[f32; 3]]) -> Option<Roi> {
    let p = |i: usize| landmarks.get(i).map(|q| Point::new(q[0], q[1]));
    // Towards the knuckles: the middle of the index and ring MCPs, averaged with the middle MCP.
    let knuckles = p(5)?.midpoint(p(13)?).midpoint(p(9)?);
    let angle = upright_angle(p(0)?, knuckles);
    let (s, c) = angle.sin_cos();
    let (mut u0, mut v0, mut u1, mut v1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for &i in &ROI_POINTS {
        let q = p(i)?;
        // Into the crop's axes (rotate by -angle).
        let u = c * q.x + s * q.y;
        let v = -s * q.x + c * q.y;
        u0 = u0.min(u);
        u1 = u1.max(u);
        v0 = v0.min(v);
        v1 = v1.max(v);
    }
    let (uc, vc) = ((u0 + u1) * 0.5, (v0 + v1) * 0.5);
    transform_rect(
        Point::new(c * uc - s * vc, s * uc + c * vc),
        u1 - u0,
        v1 - v0,
        angle,
        TRACK_SHIFT_Y,
        TRACK_CROP_SCALE,
    )
}

/// The person's hand for the model's handedness output `h` (probability of MediaPipe's "Left" on a
/// mirrored image): on doppel's unmirrored frames MediaPipe's "Left" is the person's right hand.
/// Returns the hand and its probability (0.5..1).
pub fn person_handedness(h: f32) -> (Handedness, f32) {
    if h > 0.5 {
        (Handedness::Right, h)
    } else {
        (Handedness::Left, 1.0 - h)
    }
}

/// What the landmark model found in one crop.
#[derive(Clone, Debug, PartialEq)]
pub struct HandResult {
    /// 21 points: x, y in frame pixels, z in the same scale (relative to the wrist).
    pub landmarks: Vec<[f32; 3]>,
    /// 21 points in metres, rotated into the frame's axes.
    pub world: Vec<[f32; 3]>,
    /// Hand-present probability, 0..1.
    pub presence: f32,
    /// The person's hand and its probability.
    pub handedness: Handedness,
    pub handedness_score: f32,
}

/// A hand landmark model (lite or full): one ONNX Runtime session, built once.
pub struct HandLandmarker {
    model: Model,
    input_name: String,
    landmarks: usize,
    presence: usize,
    handedness: usize,
    world: usize,
    tensor: Vec<f32>,
    runs: u64,
}

impl HandLandmarker {
    /// Loads `hand_landmark_lite.onnx` or `hand_landmark_full.onnx` (or a model with the same inputs
    /// and outputs; the two [1,63] and the two [1,1] outputs are told apart by name).
    ///
    /// # Errors
    /// [`Error::Model`] naming the file when it is missing, not ONNX, or shaped differently;
    /// [`Error::Runtime`] when ONNX Runtime cannot be loaded.
    pub fn load(path: impl AsRef<Path>, config: &SessionConfig) -> Result<Self> {
        let path = path.as_ref();
        let model = Model::load(path, config)?;
        let n = INPUT_SIZE as usize;
        let input = model.single_input(
            &[Some(1), Some(n), Some(n), Some(3)],
            "the hand landmark model",
        )?;
        let find = |name: &str, len: usize| {
            model
                .outputs()
                .iter()
                .position(|o| o.name == name && o.dims == [Some(1), Some(len)])
        };
        let (Some(landmarks), Some(presence), Some(handedness), Some(world)) = (
            find("landmarks", POINTS * 3),
            find("presence", 1),
            find("handedness", 1),
            find("world_landmarks", POINTS * 3),
        ) else {
            let shapes: Vec<String> = model.outputs().iter().map(ToString::to_string).collect();
            return Err(Error::model(
                path,
                format!(
                    "not a hand landmark model: expected outputs 'landmarks' [1,63], 'presence' [1,1], \
                     'handedness' [1,1] and 'world_landmarks' [1,63], found {}",
                    shapes.join(", ")
                ),
            ));
        };
        Ok(Self {
            model,
            input_name: input,
            landmarks,
            presence,
            handedness,
            world,
            tensor: vec![0.0; n * n * 3],
            runs: 0,
        })
    }

    /// How many times the model has run.
    pub fn runs(&self) -> u64 {
        self.runs
    }

    /// Runs the model once on zeros, not counted in [`Self::runs`].
    ///
    /// # Errors
    /// [`Error::Model`] when inference fails.
    pub fn warm_up(&mut self) -> Result<()> {
        self.model.warm_up()
    }

    /// Runs the model on the crop `roi` of `image`.
    ///
    /// # Errors
    /// [`Error::Model`] when inference fails or an output is shorter than declared.
    pub fn run(&mut self, image: &RgbaImage, roi: &Roi) -> Result<HandResult> {
        // The model's crop coordinates put pixel centres at whole numbers (MediaPipe's convention,
        // `map` takes them to frame pixels); doppel's warp samples crop pixel u at u + 0.5, so it
        // gets the map moved by half a crop pixel, and the crop is MediaPipe's.
        let map = roi.to_frame(INPUT_SIZE);
        let sampling = map.half_pixel_back();
        warp_to_tensor_with(
            image,
            &sampling,
            INPUT_SIZE,
            1.0,
            0.0,
            Sampling {
                k: supersampling(map.scale()),
                // MediaPipe's legacy hand graph repeats the edge for crops past the frame.
                border: Border::Replicate,
            },
            &mut self.tensor,
        )?;
        let outputs = self
            .model
            .run_square(&self.input_name, INPUT_SIZE, &self.tensor)?;
        self.runs += 1;
        let get = |i: usize, len: usize| {
            outputs
                .get(i)
                .map(|t| t.data.as_slice())
                .filter(|d| d.len() == len)
        };
        let (Some(raw), Some(presence), Some(handedness), Some(world)) = (
            get(self.landmarks, POINTS * 3),
            get(self.presence, 1),
            get(self.handedness, 1),
            get(self.world, POINTS * 3),
        ) else {
            return Err(Error::model(
                self.model.path(),
                "ONNX Runtime returned outputs shorter than the model declares",
            ));
        };
        let z_scale = map.scale() / Z_NORMALIZE;
        let landmarks = raw
            .chunks_exact(3)
            .map(|q| {
                let p = map.apply(q[0], q[1]);
                [p.x, p.y, q[2] * z_scale]
            })
            .collect();
        let (s, c) = roi.angle.sin_cos();
        let world = world
            .chunks_exact(3)
            .map(|q| [c * q[0] - s * q[1], s * q[0] + c * q[1], q[2]])
            .collect();
        let (handedness, handedness_score) = person_handedness(handedness[0]);
        Ok(HandResult {
            landmarks,
            world,
            presence: presence[0].clamp(0.0, 1.0),
            handedness,
            handedness_score,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An upright open hand, 100 pixels from wrist to middle MCP, rotated by `angle` about (200, 200).
    fn hand(angle: f32) -> Vec<[f32; 3]> {
        let mut pts = vec![[0.0f32, 0.0, 0.0]; POINTS];
        // Wrist at the origin, fingers up (-y): MCPs at y = -100, spread in x.
        pts[0] = [0.0, 0.0, 0.0];
        for (finger, x) in [
            (1usize, -50.0f32),
            (5, -30.0),
            (9, 0.0),
            (13, 25.0),
            (17, 45.0),
        ] {
            for j in 0..4 {
                let y = if finger == 1 {
                    -30.0 - 25.0 * j as f32
                } else {
                    -100.0 - 30.0 * j as f32
                };
                pts[finger + j] = [x, y, 0.0];
            }
        }
        let (s, c) = angle.sin_cos();
        pts.iter()
            .map(|p| {
                [
                    200.0 + c * p[0] - s * p[1],
                    200.0 + s * p[0] + c * p[1],
                    0.0,
                ]
            })
            .collect()
    }

    #[test]
    fn landmark_roi_follows_the_hand_rotation() {
        for angle in [0.0f32, 0.4, -1.2, 2.8] {
            let roi = roi_from_landmarks(&hand(angle)).unwrap();
            assert!((wrap(roi.angle - angle)).abs() < 0.05, "{angle}: {roi:?}");
            // Box of the 12 points: x -50..45 (95), y -130..0 (130) -> 260 after x2.
            assert!((roi.size - 260.0).abs() < 3.0, "{roi:?}");
        }
        assert!(roi_from_landmarks(&[[0.0; 3]; 3]).is_none());
    }

    fn wrap(a: f32) -> f32 {
        super::super::palm::wrap_angle(a)
    }

    #[test]
    fn mediapipe_left_is_the_persons_right() {
        assert_eq!(person_handedness(0.97), (Handedness::Right, 0.97));
        let (hand, score) = person_handedness(0.1);
        assert_eq!(hand, Handedness::Left);
        assert!((score - 0.9).abs() < 1e-6);
    }
}
