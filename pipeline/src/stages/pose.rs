//! `pose` — finds one person's body and its 33 keypoints (MediaPipe BlazePose) and writes them into the
//! frame's meta; pixels pass through unchanged.
//!
//! Inputs: any RGBA frame (any size and aspect; the detector sees it letterboxed, the landmark model a
//! rotated crop around the body at full resolution).
//! Outputs: the same pixels; `meta.bodies` holds zero or one body: its box, person-present score and 33
//! keypoints in MediaPipe's order (x, y in frame pixels, z depth in the same scale, visibility 0..1).
//! No person = an empty list, not an error.
//! Behaviour: the person detector (`pose_detection.onnx`) runs only when no body is tracked; otherwise
//! the crop comes from the previous frame's auxiliary keypoints (hip centre and body circle), as
//! MediaPipe does. A body whose person-present score drops below `min_score` is lost.
//! Options:
//! - `model` = lite | full (lite): `pose_landmark_lite.onnx` (faster) or `pose_landmark_full.onnx`.
//! - `min_detection` (0.5): minimum detector score for a new person, 0..1.
//! - `min_score` (0.5): minimum person-present probability to report and keep tracking, 0..1.
//! - `smooth` (true): One Euro filter on the keypoints (timed by the frame timestamps; the crop for
//!   the next frame follows the raw keypoints, so smoothing adds no tracking lag).
//! - `threads` (cores): intra-op threads of each model.
//! - `detector`, `landmarks`: model files (defaults `models/pose_detection.onnx` and the file `model`
//!   names, found in the data folder: see `crate::locate`).
//!
//! Example: `doppel process dance.mp4 -o out.mp4 --stages pose:model=full,overlay`

use super::{BuildContext, StageEntry};
use crate::error::Result;
use crate::frame::Frame;
use crate::options::StageOptions;
use crate::options::{OptKind, OptSpec};
use crate::stage::{Contract, MetaSet, Stage, StageDoc};
use crate::track::body::{BodyConfig, BodyTracker, PoseModel, BODY_SMOOTHING, DEFAULT_DETECTOR};

const MODEL: OptSpec = OptSpec {
    name: "model",
    kind: OptKind::Choice {
        choices: &PoseModel::NAMES,
        default: "lite",
    },
    help: "landmark model",
};
const MIN_DETECTION: OptSpec = OptSpec {
    name: "min_detection",
    kind: OptKind::F32 {
        default: 0.5,
        min: 0.0,
        max: 1.0,
    },
    help: "minimum detector score for a new person",
};
const MIN_SCORE: OptSpec = OptSpec {
    name: "min_score",
    kind: OptKind::F32 {
        default: 0.5,
        min: 0.0,
        max: 1.0,
    },
    help: "minimum person-present probability to report and keep tracking",
};
const SMOOTH: OptSpec = OptSpec {
    name: "smooth",
    kind: OptKind::Bool(true),
    help: "One Euro filter on the keypoints",
};
use crate::options::MODEL_PROVIDER as PROVIDER;
use crate::options::MODEL_THREADS as THREADS;
const DETECTOR: OptSpec = OptSpec {
    name: "detector",
    kind: OptKind::Path {
        default: Some(DEFAULT_DETECTOR),
    },
    help: "person detector model file",
};
const LANDMARKS: OptSpec = OptSpec {
    name: "landmarks",
    kind: OptKind::Path { default: None },
    help: "landmark model file (default: models/pose_landmark_<model>.onnx)",
};

pub const DOC: StageDoc = StageDoc {
    name: "pose",
    summary: "finds a person's 33 body keypoints with visibility (MediaPipe BlazePose) and writes them into the frame meta",
    options: &[MODEL, MIN_DETECTION, MIN_SCORE, SMOOTH, THREADS, PROVIDER, DETECTOR, LANDMARKS],
    example: "pose:model=full:threads=2",
    contract: |_| Ok(Contract::provides(MetaSet::BODIES)),
};

pub const ENTRY: StageEntry = StageEntry {
    doc: &DOC,
    build: |options: &StageOptions, ctx: &BuildContext| {
        Ok(Box::new(Pose::from_options(options, ctx)?))
    },
};

/// The pose stage.
pub struct Pose {
    tracker: BodyTracker,
}

impl Pose {
    /// Reads the options and loads both models. Fails before any frame.
    ///
    /// # Errors
    /// [`Error::Option`] for a bad value; [`Error::Model`] for a missing or wrong model file;
    /// [`Error::Runtime`] when ONNX Runtime is unavailable.
    pub fn from_options(options: &StageOptions, ctx: &BuildContext) -> Result<Self> {
        let model = match options.choice(&MODEL)? {
            "full" => PoseModel::Full,
            _ => PoseModel::Lite,
        };
        let locator = ctx.locator();
        let config = BodyConfig {
            detector_model: options.path(&DETECTOR, locator)?,
            landmark_model: options.path_or(&LANDMARKS, model.default_path(), locator)?,
            min_detection: options.f32(&MIN_DETECTION)?,
            min_presence: options.f32(&MIN_SCORE)?,
            refine: true,
            smoothing: options.bool(&SMOOTH)?.then_some(BODY_SMOOTHING),
            session: ctx.session(options, options.opt_u32(&THREADS)?.map(|t| t as usize))?,
        };
        Ok(Self::new(BodyTracker::load(&config)?))
    }

    /// A stage around an existing tracker.
    pub fn new(tracker: BodyTracker) -> Self {
        Self { tracker }
    }

    pub fn tracker(&self) -> &BodyTracker {
        &self.tracker
    }

    pub fn tracker_mut(&mut self) -> &mut BodyTracker {
        &mut self.tracker
    }
}

impl Stage for Pose {
    fn name(&self) -> &str {
        DOC.name
    }

    fn analysis(&self) -> Option<MetaSet> {
        Some(MetaSet::BODIES)
    }

    fn process(&mut self, mut frame: Frame) -> Result<Frame> {
        let body = self
            .tracker
            .process_at(frame.pixels.image()?, frame.pts.seconds())?;
        frame.meta.bodies = body.into_iter().collect();
        Ok(frame)
    }
}
