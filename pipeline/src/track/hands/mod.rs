//! Hand tracking with MediaPipe Hands: a palm detector, 21 landmarks per hand from a rotated crop,
//! and tracking that takes each hand's next crop from this frame's landmarks so the detector runs only
//! while fewer than `max_hands` hands are followed.
//!
//! ```text
//!  frame ─▶ palm detector (only when a hand is missing) ─▶ palms: box + 7 keypoints
//!            │                                              │ crop: box shifted to the fingers, x2.6,
//!            ▼                                              ▼       wrist-to-middle-finger up
//!          crops from the previous frame's landmarks ──▶ landmark model ─▶ 21 points, presence,
//!          (wrist and knuckles, x2.0)                                    handedness, world points
//!                                                           │ presence >= min_score: keep
//!                                                           ▼ (a second crop on the same hand: dropped)
//! ```
//!
//! Each hand keeps its own One Euro filter ([`crate::track::filter`]) on its landmarks and world
//! points, in units of its crop size; a hand that is lost forgets it. Handedness is the person's
//! ([`crate::meta::Handedness`]): the model's label assumes a mirrored selfie image, doppel's frames are not
//! mirrored, so it is swapped ([`landmark::person_handedness`]).
//!
//! The pre- and post-processing follows MediaPipe 0.10.21's `hand_landmark_tracking_cpu` graph; the
//! team's numpy port of it (`../shared/models/tools/mediapipe_v2/mp_pipeline.py`) reproduces
//! MediaPipe's landmarks to 0.16 px, and `pipeline/tests/hands.rs` checks doppel against MediaPipe
//! itself.
//!
//! # Example
//! ```no_run
//! use doppel_pipeline::track::hands::{HandTracker, HandsConfig};
//! let mut tracker = HandTracker::load(&HandsConfig::default())?;
//! let photo = image::open("hands.jpg").unwrap().to_rgba8();
//! for hand in tracker.process(&photo)? {
//!     let wrist = hand.landmarks[0];
//!     println!("{:?} hand {:.2}, wrist at {:.0},{:.0}", hand.handedness, hand.score, wrist[0], wrist[1]);
//! }
//! # Ok::<(), doppel_pipeline::Error>(())
//! ```

pub mod landmark;
pub mod palm;

use std::path::PathBuf;

use image::RgbaImage;

pub use self::landmark::{roi_from_landmarks, HandLandmarker, HandResult};
pub use self::palm::{roi_from_palm, Palm, PalmDetector};

use super::filter::{OneEuroParams, VectorFilter, FALLBACK_DT};
use crate::error::Result;
use crate::infer::SessionConfig;
use crate::locate::Locator;
use crate::meta::{Hand, Point, Rect, Roi};

/// Palm detector models, relative to the working directory.
pub const LITE_PALM: &str = "models/palm_detection_lite.onnx";
pub const FULL_PALM: &str = "models/palm_detection_full.onnx";
/// Landmark models, relative to the working directory.
pub const LITE_LANDMARKS: &str = "models/hand_landmark_lite.onnx";
pub const FULL_LANDMARKS: &str = "models/hand_landmark_full.onnx";

/// IoU above which a palm or a second crop is the same hand as one already tracked (MediaPipe's
/// `AssociationNormRectCalculator` threshold in the hand tracking graph).
const SAME_HAND_IOU: f32 = 0.5;

/// Which pair of models: MediaPipe's `model_complexity` 0 (lite) or 1 (full, its default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandModel {
    Lite,
    Full,
}

impl HandModel {
    pub const NAMES: [&'static str; 2] = ["lite", "full"];

    /// The palm detector file under `models/`.
    pub fn palm_path(self) -> &'static str {
        match self {
            Self::Lite => LITE_PALM,
            Self::Full => FULL_PALM,
        }
    }

    /// The landmark model file under `models/`.
    pub fn landmark_path(self) -> &'static str {
        match self {
            Self::Lite => LITE_LANDMARKS,
            Self::Full => FULL_LANDMARKS,
        }
    }
}

/// Default landmark smoothing, in units of the hand's crop (about twice the hand): the face's
/// defaults ([`OneEuroParams::default`]) with a lower cutoff, since a still hand's noise is a smaller
/// fraction of its crop than a face mesh's is of the face. Chosen on the smoothing test in
/// `pipeline/tests/hands.rs`.
pub const HAND_SMOOTHING: OneEuroParams = OneEuroParams {
    min_cutoff: 0.5,
    beta: 10.0,
    d_cutoff: 1.0,
};

/// How the hand tracker is built and behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct HandsConfig {
    pub palm_model: PathBuf,
    pub landmark_model: PathBuf,
    /// Most hands reported per frame.
    pub max_hands: usize,
    /// Minimum palm detector score for a new hand (MediaPipe's `min_detection_confidence`).
    pub min_detection: f32,
    /// Minimum hand-present probability to report and keep tracking a hand (MediaPipe's
    /// `min_tracking_confidence`).
    pub min_presence: f32,
    pub session: SessionConfig,
    /// One Euro filter on each hand's points; `None` = raw model output (as MediaPipe Hands gives).
    pub smoothing: Option<OneEuroParams>,
}

impl HandsConfig {
    /// The default settings with `model`'s files, found in the data folder.
    pub fn with_model(model: HandModel) -> Self {
        let locator = Locator::from_env();
        Self {
            palm_model: locator.find_or_keep(model.palm_path()),
            landmark_model: locator.find_or_keep(model.landmark_path()),
            max_hands: 2,
            min_detection: 0.5,
            min_presence: 0.5,
            session: SessionConfig::default(),
            smoothing: Some(HAND_SMOOTHING),
        }
    }
}

impl Default for HandsConfig {
    /// MediaPipe Hands' defaults: full models, two hands, 0.5 thresholds; with smoothing.
    fn default() -> Self {
        Self::with_model(HandModel::Full)
    }
}

/// A hand followed from one frame to the next: its next crop and its filters.
struct Tracked {
    roi: Roi,
    points: VectorFilter,
    world: VectorFilter,
}

impl Tracked {
    fn new(roi: Roi) -> Self {
        Self {
            roi,
            points: VectorFilter::new(),
            world: VectorFilter::new(),
        }
    }
}

/// Detects and tracks up to `max_hands` hands frame after frame. Long-lived: owns both sessions and
/// each hand's crop and filters.
pub struct HandTracker {
    config: HandsConfig,
    palm: PalmDetector,
    landmarks: HandLandmarker,
    tracked: Vec<Tracked>,
    /// Time of the next [`HandTracker::process`] call (frames without timestamps: 30 fps).
    clock: f64,
}

impl HandTracker {
    /// Loads both models.
    ///
    /// # Errors
    /// [`crate::Error::Model`] naming a file that is missing or not the expected model;
    /// [`crate::Error::Runtime`] when ONNX Runtime cannot be loaded.
    pub fn load(config: &HandsConfig) -> Result<Self> {
        Ok(Self {
            palm: PalmDetector::load(&config.palm_model, &config.session)?,
            landmarks: HandLandmarker::load(&config.landmark_model, &config.session)?,
            config: config.clone(),
            tracked: Vec::new(),
            clock: 0.0,
        })
    }

    pub fn config(&self) -> &HandsConfig {
        &self.config
    }

    /// Runs both models once on zeros (the first run of a session is slow), not counted in the run
    /// counts.
    ///
    /// # Errors
    /// [`crate::Error::Model`] when inference fails.
    pub fn warm_up(&mut self) -> Result<()> {
        self.palm.warm_up()?;
        self.landmarks.warm_up()
    }

    /// How many times the palm detector has run.
    pub fn detector_runs(&self) -> u64 {
        self.palm.runs()
    }

    /// How many times the landmark model has run.
    pub fn landmark_runs(&self) -> u64 {
        self.landmarks.runs()
    }

    /// The crops the next frame will use, one per tracked hand.
    pub fn tracked(&self) -> Vec<Roi> {
        self.tracked.iter().map(|t| t.roi).collect()
    }

    /// Forgets every hand and its smoothing: the next frame starts with the detector.
    pub fn reset(&mut self) {
        self.tracked.clear();
    }

    /// The hands in `image`, timed as the next frame of a 30 fps stream. See
    /// [`HandTracker::process_at`].
    ///
    /// # Errors
    /// [`crate::Error::Model`] when inference fails.
    pub fn process(&mut self, image: &RgbaImage) -> Result<Vec<Hand>> {
        let t = self.clock;
        self.process_at(image, t)
    }

    /// The hands in `image` shown at `time` seconds (the frame's timestamp, used by the filters), at
    /// most `max_hands`, tracked ones first. No hand = an empty list.
    ///
    /// # Errors
    /// [`crate::Error::Model`] when inference fails.
    pub fn process_at(&mut self, image: &RgbaImage, time: f64) -> Result<Vec<Hand>> {
        self.clock = time + FALLBACK_DT;
        let max = self.config.max_hands;
        if image.width() == 0 || image.height() == 0 || max == 0 {
            self.tracked.clear();
            return Ok(Vec::new());
        }
        let mut candidates = std::mem::take(&mut self.tracked);
        if candidates.len() < max {
            for palm in self.palm.detect(image, self.config.min_detection)? {
                if candidates.len() >= max {
                    break;
                }
                let Some(roi) = roi_from_palm(&palm) else {
                    continue;
                };
                // A palm on a hand already followed is that hand (MediaPipe keeps the tracked crop).
                let known = candidates
                    .iter()
                    .any(|t| t.roi.bounds().iou(&roi.bounds()) > SAME_HAND_IOU);
                if !known {
                    candidates.push(Tracked::new(roi));
                }
            }
        }
        let mut hands = Vec::with_capacity(candidates.len());
        for mut track in candidates {
            let roi = track.roi;
            let result = self.landmarks.run(image, &roi)?;
            // Each hand stands on its own presence: a weak second crop does not hide a good first
            // one (MediaPipe 0.10.21 can drop both).
            if result.presence < self.config.min_presence {
                continue;
            }
            let Some(raw_rect) = bounds(&result.landmarks) else {
                continue;
            };
            // Two crops that converged on one hand: keep the first (the longer tracked).
            if hands
                .iter()
                .any(|h: &Hand| h.rect.iou(&raw_rect) > SAME_HAND_IOU)
            {
                continue;
            }
            // The next crop follows the raw landmarks, as MediaPipe's does: smoothing must not make
            // the crop lag behind a moving hand.
            let Some(next) = roi_from_landmarks(&result.landmarks) else {
                continue;
            };
            let mut landmarks = result.landmarks;
            let mut world = result.world;
            if let Some(params) = &self.config.smoothing {
                smooth(&mut track.points, &mut landmarks, time, roi.size, params);
                // World points are metres; a hand is about 0.2 m.
                smooth(&mut track.world, &mut world, time, 0.2, params);
            }
            let rect = bounds(&landmarks).unwrap_or(raw_rect);
            hands.push(Hand {
                rect,
                score: result.presence,
                handedness: result.handedness,
                handedness_score: result.handedness_score,
                landmarks,
                world,
                roi,
            });
            track.roi = next;
            self.tracked.push(track);
        }
        Ok(hands)
    }
}

/// The box around `points`' x, y.
fn bounds(points: &[[f32; 3]]) -> Option<Rect> {
    Rect::bounding(points.iter().map(|p| Point::new(p[0], p[1])))
}

/// Filters 3D points in place through `filter`, in units of `scale`.
fn smooth(
    filter: &mut VectorFilter,
    points: &mut [[f32; 3]],
    time: f64,
    scale: f32,
    params: &OneEuroParams,
) {
    let mut values: Vec<f32> = points.iter().flatten().copied().collect();
    filter.filter(&mut values, time, scale, params);
    for (p, v) in points.iter_mut().zip(values.chunks_exact(3)) {
        p.copy_from_slice(v);
    }
}
