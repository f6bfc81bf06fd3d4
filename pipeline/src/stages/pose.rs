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
//!   names, relative to the working directory).
//!
//! Example: `doppel process dance.mp4 -o out.mp4 --stages pose:model=full,overlay`

use super::{BuildContext, StageEntry};
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::infer::SessionConfig;
use crate::options::StageOptions;
use crate::stage::{OptionDoc, Stage, StageDoc};
use crate::track::body::{BodyConfig, BodyTracker, PoseModel, BODY_SMOOTHING, DEFAULT_DETECTOR};

pub const DOC: StageDoc = StageDoc {
    name: "pose",
    summary: "finds a person's 33 body keypoints with visibility (MediaPipe BlazePose) and writes them into the frame meta",
    options: &[
        OptionDoc {
            name: "model",
            default: "lite",
            help: "lite | full landmark model",
        },
        OptionDoc {
            name: "min_detection",
            default: "0.5",
            help: "minimum detector score for a new person, 0..1",
        },
        OptionDoc {
            name: "min_score",
            default: "0.5",
            help: "minimum person-present probability to report and keep tracking, 0..1",
        },
        OptionDoc {
            name: "smooth",
            default: "true",
            help: "One Euro filter on the keypoints",
        },
        OptionDoc {
            name: "threads",
            default: "cores",
            help: "intra-op threads per model, 1..=256",
        },
        OptionDoc {
            name: "detector",
            default: DEFAULT_DETECTOR,
            help: "person detector model file",
        },
        OptionDoc {
            name: "landmarks",
            default: "models/pose_landmark_<model>.onnx",
            help: "landmark model file (overrides model=)",
        },
    ],
    example: "pose:model=full:threads=2",
};

pub const ENTRY: StageEntry = StageEntry {
    doc: &DOC,
    build: |options: &StageOptions, _: &BuildContext| Ok(Box::new(Pose::from_options(options)?)),
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
    pub fn from_options(options: &StageOptions) -> Result<Self> {
        let model = match options.choice("model", &PoseModel::NAMES, "lite")? {
            "full" => PoseModel::Full,
            _ => PoseModel::Lite,
        };
        let path = |name: &str, default: &str| options.path_or(name, default);
        let config = BodyConfig {
            detector_model: path("detector", DEFAULT_DETECTOR),
            landmark_model: path("landmarks", model.default_path()),
            min_detection: options.f32_in("min_detection", 0.5, 0.0, 1.0)?,
            min_presence: options.f32_in("min_score", 0.5, 0.0, 1.0)?,
            refine: true,
            smoothing: options.bool("smooth", true)?.then_some(BODY_SMOOTHING),
            session: SessionConfig {
                threads: options.opt_u32_in("threads", 1, 256)?.map(|t| t as usize),
                ..SessionConfig::default()
            },
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

    fn process(&mut self, mut frame: Frame) -> Result<Frame> {
        let body = self
            .tracker
            .process_at(frame.pixels.image()?, frame.pts.seconds())
            .map_err(Error::in_stage(DOC.name, frame.seq))?;
        frame.meta.bodies = body.into_iter().collect();
        Ok(frame)
    }
}
