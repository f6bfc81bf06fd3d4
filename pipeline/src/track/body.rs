//! Body tracking with BlazePose: a person detector, 33 body keypoints from a rotated crop around the
//! body, and tracking that takes the next frame's crop from this frame's keypoints so the detector runs
//! only when the person is lost (MediaPipe's pose pipeline, one person).
//!
//! ```text
//!  frame ─▶ pose detector (only when no body is tracked) ─▶ box + 4 keypoints (hip centre, full-body
//!            │                                              circle point, shoulder centre, upper-body point)
//!            ▼                                              │ crop: centre = hips, side = 2.5 x radius,
//!          crop from the previous frame's 2 auxiliary ──────┤       rotated so the body stands upright
//!          keypoints (hips, circle point)                   ▼
//!                                                  landmark model ─▶ 33 keypoints + visibility, presence
//! ```
//!
//! Models (see `models/README.md`): `pose_detection.onnx` ([1,224,224,3] RGB -1..1, letterboxed ->
//! [1,2254,12] box + 4 keypoints per anchor, [1,2254,1] score logits) and `pose_landmark_lite.onnx` or
//! `pose_landmark_full.onnx` ([1,256,256,3] RGB 0..1 crop -> [1,195] 39 x 5 values: x, y, z in crop
//! pixels, visibility and presence logits; [1,1] person-present probability; [1,64,64,39] heatmap logits,
//! with which each landmark is refined as MediaPipe's `RefineLandmarksFromHeatmapCalculator` does; the
//! mask and world outputs are not used).
//!
//! # Example
//! ```no_run
//! use doppel_pipeline::track::body::{BodyConfig, BodyTracker};
//! let mut tracker = BodyTracker::load(&BodyConfig::default())?;
//! let photo = image::open("person.jpg").unwrap().to_rgba8();
//! if let Some(body) = tracker.process(&photo)? {
//!     let nose = body.keypoints[0];
//!     println!("person {:.2}, nose at {:.0},{:.0}", body.score, nose.x, nose.y);
//! }
//! # Ok::<(), doppel_pipeline::Error>(())
//! ```

use std::path::{Path, PathBuf};

use fast_image_resize::Resizer;
use image::RgbaImage;

use super::detector::letterbox_tensor;
use super::filter::{OneEuroParams, VectorFilter, FALLBACK_DT};
use super::mesh::{supersampling, warp_to_tensor_with, Border, Sampling};
use super::ssd::{ssd_anchors, SsdDetection, SsdModel};
use super::types::{Body, BodyKeypoint, Point, Rect, Roi, BODY_KEYPOINT_NAMES};
use crate::error::{Error, Result};
use crate::infer::{Model, SessionConfig, TensorInfo};
use crate::locate::Locator;

/// Default person detector, relative to the working directory.
pub const DEFAULT_DETECTOR: &str = "models/pose_detection.onnx";
/// Default (lite) landmark model, relative to the working directory.
pub const DEFAULT_LANDMARKS: &str = "models/pose_landmark_lite.onnx";
/// The full (larger, more accurate) landmark model, relative to the working directory.
pub const FULL_LANDMARKS: &str = "models/pose_landmark_full.onnx";

/// Input side of the person detector.
pub const DETECTOR_INPUT: u32 = 224;
/// Input side of the landmark models.
pub const LANDMARK_INPUT: u32 = 256;
/// Keypoints of the detector: hip centre, full-body circle point, shoulder centre, upper-body point.
pub const DETECTOR_KEYPOINTS: usize = 4;
/// Landmarks the model outputs: 33 body keypoints, 2 auxiliary ones for the next crop, 4 unused.
const LANDMARKS: usize = 39;
/// Values per landmark: x, y, z, visibility logit, presence logit.
const LANDMARK_VALUES: usize = 5;
/// Body keypoints reported.
pub const KEYPOINTS: usize = BODY_KEYPOINT_NAMES.len();
/// IoU above which two person detections are merged (MediaPipe's pose detection graph).
const NMS_IOU: f32 = 0.3;
/// How much larger than the body circle's diameter the crop is (MediaPipe's `scale_x`/`scale_y`).
pub const CROP_SCALE: f32 = 1.25;
/// Side of the heatmap output (64x64 cells over the 256 crop, one channel per landmark).
const HEATMAP_SIDE: usize = 64;
/// Heatmap window MediaPipe's pose graph refines each landmark in (`kernel_size` 7) and the heatmap
/// confidence a window must reach to refine (`min_confidence_to_refine` 0.5).
const REFINE_KERNEL: usize = 7;
const REFINE_MIN_CONFIDENCE: f32 = 0.5;

/// Anchor centres of the pose detector, as MediaPipe's `SsdAnchorsCalculator` makes them for it: 5
/// layers with strides 8, 16, 32, 32, 32 on a 224 input, 2 anchors per layer and cell, fixed anchor
/// size: 28x28x2 + 14x14x2 + 7x7x6 = 2254.
pub fn pose_anchors() -> Vec<Point> {
    ssd_anchors(DETECTOR_INPUT, &[8, 16, 32, 32, 32], 2)
}

/// The crop around a body given its centre (hips) and a point on the circle around it (MediaPipe's
/// `AlignmentPointsRectsCalculator` with a target angle of 90°, then `RectTransformationCalculator`
/// scaled by [`CROP_SCALE`], square): side 2 x radius x 1.25, rotated so that the centre-to-circle
/// direction points up in the crop. `None` when the points coincide or are not finite.
pub fn roi_from_alignment(center: Point, on_circle: Point) -> Option<Roi> {
    let (dx, dy) = (on_circle.x - center.x, on_circle.y - center.y);
    let size = 2.0 * dx.hypot(dy) * CROP_SCALE;
    if !(size.is_finite() && size > 0.0) {
        return None;
    }
    // Crop x axis in frame = direction rotated a quarter turn clockwise (y down) from "up the body".
    let angle = std::f32::consts::FRAC_PI_2 + dy.atan2(dx);
    let angle =
        (angle + std::f32::consts::PI).rem_euclid(std::f32::consts::TAU) - std::f32::consts::PI;
    Some(Roi {
        center,
        size,
        angle,
    })
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x.clamp(-100.0, 100.0)).exp())
}

/// Moves landmark `index` at (`x`, `y`) (crop pixels, 0..`crop`) to the confidence-weighted mean of
/// the heatmap cells in a 7x7 window around it, when the window's best cell is confident enough (the
/// procedure of MediaPipe's `RefineLandmarksFromHeatmapCalculator`, whose cell positions are the cells'
/// top-left corners). `heatmap` is [64, 64, `channels`] logits.
pub fn refine_from_heatmap(
    heatmap: &[f32],
    channels: usize,
    index: usize,
    x: f32,
    y: f32,
    crop: f32,
) -> (f32, f32) {
    let side = HEATMAP_SIDE;
    if heatmap.len() != side * side * channels || index >= channels {
        return (x, y);
    }
    let (col, row) = (x / crop * side as f32, y / crop * side as f32);
    if !(col >= 0.0 && row >= 0.0 && col < side as f32 && row < side as f32) {
        return (x, y);
    }
    let (col, row) = (col as usize, row as usize);
    let half = REFINE_KERNEL / 2;
    let (mut sum, mut best, mut wc, mut wr) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
    for r in row.saturating_sub(half)..(row + half + 1).min(side) {
        for c in col.saturating_sub(half)..(col + half + 1).min(side) {
            let confidence = sigmoid(heatmap[(r * side + c) * channels + index]);
            sum += confidence;
            best = best.max(confidence);
            wc += c as f32 * confidence;
            wr += r as f32 * confidence;
        }
    }
    if best < REFINE_MIN_CONFIDENCE || sum <= 0.0 {
        return (x, y);
    }
    let cell = crop / side as f32;
    (wc / sum * cell, wr / sum * cell)
}

fn shapes(list: &[TensorInfo]) -> String {
    list.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The person detector: one ONNX Runtime session and its anchors, built once.
pub struct PoseDetector {
    ssd: SsdModel<DETECTOR_KEYPOINTS>,
    resizer: Resizer,
}

impl PoseDetector {
    /// Loads `pose_detection.onnx` (or a model with the same inputs and outputs).
    ///
    /// # Errors
    /// [`Error::Model`] naming the file when it is missing, not ONNX, or shaped differently;
    /// [`Error::Runtime`] when ONNX Runtime cannot be loaded.
    pub fn load(path: impl AsRef<Path>, config: &SessionConfig) -> Result<Self> {
        let model = Model::load(path.as_ref(), config)?;
        let ssd = SsdModel::new(
            model,
            DETECTOR_INPUT,
            pose_anchors(),
            NMS_IOU,
            "the pose detector",
        )?;
        Ok(Self {
            ssd,
            resizer: Resizer::new(),
        })
    }

    /// How many times the model has run.
    pub fn runs(&self) -> u64 {
        self.ssd.runs()
    }

    /// People scoring at least `min_score` in `image`, best first; boxes and keypoints in frame pixels.
    ///
    /// # Errors
    /// [`Error::Model`] when inference fails.
    pub fn detect(
        &mut self,
        image: &RgbaImage,
        min_score: f32,
    ) -> Result<Vec<SsdDetection<DETECTOR_KEYPOINTS>>> {
        if image.width() == 0 || image.height() == 0 {
            return Ok(Vec::new());
        }
        let fit = letterbox_tensor(
            &mut self.resizer,
            image,
            DETECTOR_INPUT,
            self.ssd.tensor_mut(),
        )?;
        self.ssd.detect(min_score, &fit.to_frame_map())
    }
}

/// The crop for a fresh detection: centred on the hips, sized by the full-body circle.
pub fn roi_from_detection(d: &SsdDetection<DETECTOR_KEYPOINTS>) -> Option<Roi> {
    roi_from_alignment(d.keypoints[0], d.keypoints[1])
}

/// What the landmark model found in one crop.
#[derive(Clone, Debug, PartialEq)]
pub struct PoseResult {
    /// 33 keypoints in frame pixels, visibility 0..1.
    pub keypoints: Vec<BodyKeypoint>,
    /// The two auxiliary keypoints (hip centre, full-body circle point) the next crop is made from.
    pub auxiliary: [Point; 2],
    /// Person-present probability, 0..1.
    pub presence: f32,
}

/// A landmark model (lite or full): one ONNX Runtime session, built once.
pub struct PoseLandmarker {
    model: Model,
    input_name: String,
    landmarks: usize,
    presence: usize,
    heatmap: Option<usize>,
    refine: bool,
    tensor: Vec<f32>,
    runs: u64,
}

impl PoseLandmarker {
    /// Loads `pose_landmark_lite.onnx` or `pose_landmark_full.onnx` (or a model with the same inputs
    /// and outputs).
    ///
    /// # Errors
    /// [`Error::Model`] naming the file when it is missing, not ONNX, or shaped differently;
    /// [`Error::Runtime`] when ONNX Runtime cannot be loaded.
    pub fn load(path: impl AsRef<Path>, config: &SessionConfig) -> Result<Self> {
        let path = path.as_ref();
        let model = Model::load(path, config)?;
        let n = LANDMARK_INPUT as usize;
        let input = model.single_input(
            &[Some(1), Some(n), Some(n), Some(3)],
            "the pose landmark model",
        )?;
        let find = |dims: &[Option<usize>]| model.outputs().iter().position(|o| o.dims == dims);
        let (Some(landmarks), Some(presence)) = (
            find(&[Some(1), Some(LANDMARKS * LANDMARK_VALUES)]),
            find(&[Some(1), Some(1)]),
        ) else {
            return Err(Error::model(
                path,
                format!(
                    "not a pose landmark model: expected outputs [1,{}] (39 x, y, z, visibility, \
                     presence) and [1,1] (person present), found {}",
                    LANDMARKS * LANDMARK_VALUES,
                    shapes(model.outputs())
                ),
            ));
        };
        let heatmap = find(&[
            Some(1),
            Some(HEATMAP_SIDE),
            Some(HEATMAP_SIDE),
            Some(LANDMARKS),
        ]);
        Ok(Self {
            model,
            input_name: input,
            landmarks,
            presence,
            heatmap,
            refine: true,
            tensor: vec![0.0; n * n * 3],
            runs: 0,
        })
    }

    /// How many times the model has run.
    pub fn runs(&self) -> u64 {
        self.runs
    }

    /// Whether landmarks are refined from the heatmap (as MediaPipe does; on by default, a no-op for a
    /// model without the heatmap output).
    pub fn set_refine(&mut self, refine: bool) {
        self.refine = refine;
    }

    /// Runs the model on the crop `roi` of `image` (outside the frame: the nearest edge pixel, as
    /// MediaPipe's default border).
    ///
    /// # Errors
    /// [`Error::Model`] when inference fails.
    pub fn run(&mut self, image: &RgbaImage, roi: &Roi) -> Result<PoseResult> {
        let map = roi.to_frame(LANDMARK_INPUT);
        warp_to_tensor_with(
            image,
            &map,
            LANDMARK_INPUT,
            1.0,
            0.0,
            Sampling {
                k: supersampling(map.scale()),
                border: Border::Replicate,
            },
            &mut self.tensor,
        )?;
        let outputs = self
            .model
            .run_square(&self.input_name, LANDMARK_INPUT, &self.tensor)?;
        self.runs += 1;
        let (Some(raw), Some(flag)) = (outputs.get(self.landmarks), outputs.get(self.presence))
        else {
            return Err(Error::model(
                self.model.path(),
                "ONNX Runtime returned fewer outputs than the model declares",
            ));
        };
        if raw.data.len() != LANDMARKS * LANDMARK_VALUES {
            return Err(Error::model(
                self.model.path(),
                format!(
                    "landmark output has {} values, expected {}",
                    raw.data.len(),
                    LANDMARKS * LANDMARK_VALUES
                ),
            ));
        }
        let z_scale = map.scale();
        let heatmap = self
            .heatmap
            .filter(|_| self.refine)
            .and_then(|i| outputs.get(i));
        let point = |i: usize| {
            let q = &raw.data[i * LANDMARK_VALUES..(i + 1) * LANDMARK_VALUES];
            let (x, y) = match heatmap {
                Some(h) => {
                    refine_from_heatmap(&h.data, LANDMARKS, i, q[0], q[1], LANDMARK_INPUT as f32)
                }
                None => (q[0], q[1]),
            };
            let p = map.apply(x, y);
            BodyKeypoint {
                x: p.x,
                y: p.y,
                z: q[2] * z_scale,
                visibility: sigmoid(q[3]),
            }
        };
        let aux = |i: usize| {
            let k = point(i);
            Point::new(k.x, k.y)
        };
        Ok(PoseResult {
            keypoints: (0..KEYPOINTS).map(point).collect(),
            auxiliary: [aux(KEYPOINTS), aux(KEYPOINTS + 1)],
            // This output is already a probability (the model ends in a sigmoid).
            presence: flag.data.first().copied().unwrap_or(0.0).clamp(0.0, 1.0),
        })
    }
}

/// Which landmark model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoseModel {
    Lite,
    Full,
}

impl PoseModel {
    pub const NAMES: [&'static str; 2] = ["lite", "full"];

    /// The model file under `models/`.
    pub fn default_path(self) -> &'static str {
        match self {
            Self::Lite => DEFAULT_LANDMARKS,
            Self::Full => FULL_LANDMARKS,
        }
    }
}

/// How the body tracker is built and behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct BodyConfig {
    pub detector_model: PathBuf,
    pub landmark_model: PathBuf,
    /// Minimum detector score for a new person (MediaPipe's `min_detection_confidence`).
    pub min_detection: f32,
    /// Minimum person-present probability to report and keep tracking a body (MediaPipe's
    /// `min_tracking_confidence`).
    pub min_presence: f32,
    /// Refine keypoints from the model's heatmap, as MediaPipe does.
    pub refine: bool,
    pub session: SessionConfig,
    /// One Euro filter on the keypoints, in crop-size units (MediaPipe's pose graph smooths its
    /// landmarks too); `None` = raw model output. [`BODY_SMOOTHING`] is the default.
    pub smoothing: Option<OneEuroParams>,
}

/// Default keypoint smoothing. The unit is the tracked crop's side (about 2.5 body heights of the
/// torso), so a still body's keypoint noise is a smaller fraction of it than a face mesh's is of the
/// face, and motion in these units is slower: a lower cutoff and a higher speed coefficient than the
/// face's. Chosen on the still-photo and moving-person tests in `pipeline/tests/body.rs`.
pub const BODY_SMOOTHING: OneEuroParams = OneEuroParams {
    min_cutoff: 0.5,
    beta: 20.0,
    d_cutoff: 1.0,
};

impl Default for BodyConfig {
    fn default() -> Self {
        Self {
            // Default models from the data folder, wherever the program runs.
            detector_model: Locator::from_env().find_or_keep(DEFAULT_DETECTOR),
            landmark_model: Locator::from_env().find_or_keep(DEFAULT_LANDMARKS),
            min_detection: 0.5,
            min_presence: 0.5,
            refine: true,
            session: SessionConfig::default(),
            smoothing: Some(BODY_SMOOTHING),
        }
    }
}

/// Detects and tracks one person frame after frame. Long-lived: owns both sessions and the crop
/// carried from one frame to the next.
pub struct BodyTracker {
    config: BodyConfig,
    detector: PoseDetector,
    landmarks: PoseLandmarker,
    tracked: Option<Roi>,
    /// Keypoint smoothing of the tracked body; dropped with it.
    filter: VectorFilter,
    /// Time of the next [`BodyTracker::process`] call (frames without timestamps: 30 fps).
    clock: f64,
}

impl BodyTracker {
    /// Loads both models.
    ///
    /// # Errors
    /// [`Error::Model`] naming a file that is missing or not the expected model;
    /// [`Error::Runtime`] when ONNX Runtime cannot be loaded.
    pub fn load(config: &BodyConfig) -> Result<Self> {
        let mut landmarks = PoseLandmarker::load(&config.landmark_model, &config.session)?;
        landmarks.set_refine(config.refine);
        Ok(Self {
            detector: PoseDetector::load(&config.detector_model, &config.session)?,
            landmarks,
            config: config.clone(),
            tracked: None,
            filter: VectorFilter::new(),
            clock: 0.0,
        })
    }

    pub fn config(&self) -> &BodyConfig {
        &self.config
    }

    /// How many times the detector has run.
    pub fn detector_runs(&self) -> u64 {
        self.detector.runs()
    }

    /// How many times the landmark model has run.
    pub fn landmark_runs(&self) -> u64 {
        self.landmarks.runs()
    }

    /// The crop the next frame will use, if a body is tracked.
    pub fn tracked(&self) -> Option<&Roi> {
        self.tracked.as_ref()
    }

    /// Forgets the tracked body and its smoothing: the next frame starts with the detector.
    pub fn reset(&mut self) {
        self.lose();
    }

    fn lose(&mut self) {
        self.tracked = None;
        self.filter.reset();
    }

    /// The body in `image`, if any, timed as the next frame of a 30 fps stream (for the filter).
    /// See [`BodyTracker::process_at`].
    ///
    /// # Errors
    /// [`Error::Model`] when inference fails.
    pub fn process(&mut self, image: &RgbaImage) -> Result<Option<Body>> {
        let t = self.clock;
        self.process_at(image, t)
    }

    /// The body in `image` shown at `time` seconds (the frame's timestamp, used by the filter), if
    /// any. A body tracked on the previous frame is followed through its auxiliary keypoints;
    /// otherwise the detector looks for the best-scoring person.
    ///
    /// # Errors
    /// [`Error::Model`] when inference fails.
    pub fn process_at(&mut self, image: &RgbaImage, time: f64) -> Result<Option<Body>> {
        self.clock = time + FALLBACK_DT;
        if image.width() == 0 || image.height() == 0 {
            self.lose();
            return Ok(None);
        }
        let roi = match self.tracked.take() {
            Some(roi) => roi,
            None => {
                let people = self.detector.detect(image, self.config.min_detection)?;
                match people.first().and_then(roi_from_detection) {
                    Some(roi) => roi,
                    None => return Ok(None),
                }
            }
        };
        let mut result = self.landmarks.run(image, &roi)?;
        if result.presence < self.config.min_presence {
            self.lose();
            return Ok(None);
        }
        // The next crop follows the raw auxiliary keypoints, as MediaPipe's does: smoothing must not
        // make the crop lag behind a moving person.
        let next = roi_from_alignment(result.auxiliary[0], result.auxiliary[1]);
        if let Some(params) = &self.config.smoothing {
            let mut values: Vec<f32> = result
                .keypoints
                .iter()
                .flat_map(|k| [k.x, k.y, k.z])
                .collect();
            self.filter.filter(&mut values, time, roi.size, params);
            for (k, v) in result.keypoints.iter_mut().zip(values.chunks_exact(3)) {
                (k.x, k.y, k.z) = (v[0], v[1], v[2]);
            }
        }
        let Some(rect) = Rect::bounding(result.keypoints.iter().map(|k| Point::new(k.x, k.y)))
        else {
            self.lose();
            return Ok(None);
        };
        self.tracked = next;
        if self.tracked.is_none() {
            self.filter.reset();
        }
        Ok(Some(Body {
            rect,
            score: result.presence,
            keypoints: result.keypoints,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_match_mediapipe_pose_detection() {
        let a = pose_anchors();
        assert_eq!(a.len(), 2254);
        assert_eq!(a[0], Point::new(0.5 / 28.0, 0.5 / 28.0));
        assert_eq!(a[1], a[0]);
        assert_eq!(a[2], Point::new(1.5 / 28.0, 0.5 / 28.0));
        assert_eq!(a[1568], Point::new(0.5 / 14.0, 0.5 / 14.0));
        assert_eq!(a[1960], Point::new(0.5 / 7.0, 0.5 / 7.0));
        assert_eq!(a[1965], a[1960]);
        assert_eq!(a[1966], Point::new(1.5 / 7.0, 0.5 / 7.0));
        assert_eq!(a[2253], Point::new(6.5 / 7.0, 6.5 / 7.0));
    }

    #[test]
    fn heatmap_refinement_takes_the_weighted_mean() {
        let side = HEATMAP_SIDE;
        let mut heatmap = vec![-20.0f32; side * side * 2];
        // Channel 1: two confident cells at (col 10, row 20) and (col 12, row 20).
        heatmap[(20 * side + 10) * 2 + 1] = 20.0;
        heatmap[(20 * side + 12) * 2 + 1] = 20.0;
        let (x, y) = refine_from_heatmap(&heatmap, 2, 1, 11.0 * 4.0, 20.0 * 4.0 + 1.0, 256.0);
        assert!(
            (x - 44.0).abs() < 1e-3 && (y - 80.0).abs() < 1e-3,
            "{x} {y}"
        );
        // Channel 0 is nowhere confident: unchanged.
        assert_eq!(
            refine_from_heatmap(&heatmap, 2, 0, 30.0, 31.0, 256.0),
            (30.0, 31.0)
        );
        // Outside the crop: unchanged.
        assert_eq!(
            refine_from_heatmap(&heatmap, 2, 1, -3.0, 80.0, 256.0),
            (-3.0, 80.0)
        );
    }

    #[test]
    fn upright_body_gives_an_unrotated_crop() {
        let roi = roi_from_alignment(Point::new(100.0, 200.0), Point::new(100.0, 120.0)).unwrap();
        assert!(roi.angle.abs() < 1e-6, "{roi:?}");
        assert!((roi.size - 200.0).abs() < 1e-4, "{roi:?}");
        // Lying with the head to the right: the crop turns a quarter turn clockwise on screen.
        let roi = roi_from_alignment(Point::new(100.0, 200.0), Point::new(180.0, 200.0)).unwrap();
        assert!(
            (roi.angle - std::f32::consts::FRAC_PI_2).abs() < 1e-6,
            "{roi:?}"
        );
        // The crop's "up" (-v) must point from the hips to the head in the frame.
        let m = roi.to_frame(LANDMARK_INPUT);
        let top = m.apply(128.0, 0.0);
        assert!(
            top.x > 100.0 + 50.0 && (top.y - 200.0).abs() < 1e-3,
            "{top:?}"
        );
        assert!(roi_from_alignment(Point::new(1.0, 1.0), Point::new(1.0, 1.0)).is_none());
    }
}
