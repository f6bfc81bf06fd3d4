//! `hands` — finds up to two hands and their 21 landmarks each (MediaPipe Hands) and writes them into
//! the frame's meta; pixels pass through unchanged.
//!
//! Inputs: any RGBA frame (any size and aspect; the palm detector sees it letterboxed, the landmark
//! model a rotated crop around each hand at full resolution).
//! Outputs: the same pixels; `meta.hands` holds zero to `max_hands` hands: box, hand-present score,
//! the person's left or right hand with its probability (MediaPipe's label assumes a mirrored image;
//! doppel's frames are not mirrored, so it is swapped), 21 landmarks in MediaPipe's order (x, y in
//! frame pixels, z depth in the same scale) and the same points in metres (`world`). No hand = an empty
//! list, not an error.
//! Behaviour: the palm detector runs only while fewer than `max_hands` hands are tracked; each tracked
//! hand's crop comes from its previous frame's landmarks, as MediaPipe does. A hand whose
//! hand-present score drops below `min_score` is lost (each hand on its own); two crops that land on
//! one hand become one. Each hand has its own One Euro filter, timed by the frame timestamps and
//! forgotten when the hand is lost (the next crop follows the raw points, so smoothing adds no
//! tracking lag).
//! Options:
//! - `max_hands` (2): most hands reported, 1..4.
//! - `model` = lite | full (full, MediaPipe's default `model_complexity` 1): which palm detector and
//!   landmark model (`palm_detection_<model>.onnx`, `hand_landmark_<model>.onnx`).
//! - `min_detection` (0.5): minimum palm detector score for a new hand, 0..1.
//! - `min_score` (0.5): minimum hand-present probability to report and keep tracking, 0..1.
//! - `smooth` (true): One Euro filter on each hand's points; `min_cutoff` (0.5 Hz) and `beta` (10)
//!   its parameters (lower cutoff = steadier, higher beta = less lag in fast moves).
//! - `threads` (1): intra-op threads of each model (one is fastest for these small models: see
//!   [`crate::options::SMALL_MODEL_THREADS`]).
//! - `palm`, `landmarks`: model files (defaults from `model`, found in the data folder: see
//!   `crate::locate`).
//!
//! Example: `doppel process talk.mp4 -o hands.mp4 --stages hands:model=lite,overlay`

use super::{BuildContext, StageEntry};
use crate::error::Result;
use crate::frame::Frame;
use crate::options::StageOptions;
use crate::options::{OptKind, OptSpec};
use crate::stage::{Contract, MetaSet, Stage, StageDoc};
use crate::track::filter::OneEuroParams;
use crate::track::hands::{HandModel, HandTracker, HandsConfig, HAND_SMOOTHING};

const MAX_HANDS: OptSpec = OptSpec {
    name: "max_hands",
    kind: OptKind::U32 {
        default: 2,
        min: 1,
        max: 4,
    },
    help: "most hands reported",
};
const MODEL: OptSpec = OptSpec {
    name: "model",
    kind: OptKind::Choice {
        choices: &HandModel::NAMES,
        default: "full",
    },
    help: "palm detector and landmark model",
};
const MIN_DETECTION: OptSpec = OptSpec {
    name: "min_detection",
    kind: OptKind::F32 {
        default: 0.5,
        min: 0.0,
        max: 1.0,
    },
    help: "minimum palm detector score for a new hand",
};
const MIN_SCORE: OptSpec = OptSpec {
    name: "min_score",
    kind: OptKind::F32 {
        default: 0.5,
        min: 0.0,
        max: 1.0,
    },
    help: "minimum hand-present probability to report and keep tracking",
};
const SMOOTH: OptSpec = OptSpec {
    name: "smooth",
    kind: OptKind::Bool(true),
    help: "One Euro filter on each hand's points",
};
const MIN_CUTOFF: OptSpec = OptSpec {
    name: "min_cutoff",
    kind: OptKind::F32 {
        default: HAND_SMOOTHING.min_cutoff,
        min: 0.01,
        max: 100.0,
    },
    help: "smoothing cutoff (Hz) of a still hand: lower = steadier",
};
const BETA: OptSpec = OptSpec {
    name: "beta",
    kind: OptKind::F32 {
        default: HAND_SMOOTHING.beta,
        min: 0.0,
        max: 1000.0,
    },
    help: "how fast the smoothing cutoff rises with speed: higher = less lag",
};
use crate::options::MODEL_PROVIDER as PROVIDER;
use crate::options::SMALL_MODEL_THREADS as THREADS;
const PALM: OptSpec = OptSpec {
    name: "palm",
    kind: OptKind::Path { default: None },
    help: "palm detector model file (default: models/palm_detection_<model>.onnx)",
};
const LANDMARKS: OptSpec = OptSpec {
    name: "landmarks",
    kind: OptKind::Path { default: None },
    help: "landmark model file (default: models/hand_landmark_<model>.onnx)",
};

pub const DOC: StageDoc = StageDoc {
    name: "hands",
    summary: "finds up to two hands and their 21 landmarks, handedness and metric points (MediaPipe Hands) and writes them into the frame meta",
    options: &[
        MAX_HANDS,
        MODEL,
        MIN_DETECTION,
        MIN_SCORE,
        SMOOTH,
        MIN_CUTOFF,
        BETA,
        THREADS, PROVIDER,
        PALM,
        LANDMARKS,
    ],
    example: "hands:model=lite:max_hands=1",
    contract: |_| Ok(Contract::provides(MetaSet::HANDS)),
};

pub const ENTRY: StageEntry = StageEntry {
    doc: &DOC,
    build: |options: &StageOptions, ctx: &BuildContext| {
        Ok(Box::new(Hands::from_options(options, ctx)?))
    },
};

/// The hands stage.
pub struct Hands {
    tracker: HandTracker,
}

impl Hands {
    /// Reads the options and loads both models. Fails before any frame.
    ///
    /// # Errors
    /// [`crate::Error::Option`] for a bad value; [`crate::Error::Model`] for a missing or wrong
    /// model file; [`crate::Error::Runtime`] when ONNX Runtime is unavailable.
    pub fn from_options(options: &StageOptions, ctx: &BuildContext) -> Result<Self> {
        let model = match options.choice(&MODEL)? {
            "lite" => HandModel::Lite,
            _ => HandModel::Full,
        };
        let locator = ctx.locator();
        let config = HandsConfig {
            palm_model: options.path_or(&PALM, model.palm_path(), locator)?,
            landmark_model: options.path_or(&LANDMARKS, model.landmark_path(), locator)?,
            max_hands: options.u32(&MAX_HANDS)? as usize,
            min_detection: options.f32(&MIN_DETECTION)?,
            min_presence: options.f32(&MIN_SCORE)?,
            smoothing: options.bool(&SMOOTH)?.then_some(OneEuroParams {
                min_cutoff: options.f32(&MIN_CUTOFF)?,
                beta: options.f32(&BETA)?,
                ..HAND_SMOOTHING
            }),
            session: ctx.session(options, Some(options.u32(&THREADS)? as usize))?,
        };
        Ok(Self::new(HandTracker::load(&config)?))
    }

    /// A stage around an existing tracker.
    pub fn new(tracker: HandTracker) -> Self {
        Self { tracker }
    }

    pub fn tracker(&self) -> &HandTracker {
        &self.tracker
    }

    pub fn tracker_mut(&mut self) -> &mut HandTracker {
        &mut self.tracker
    }
}

impl Stage for Hands {
    fn name(&self) -> &str {
        DOC.name
    }

    fn analysis(&self) -> Option<MetaSet> {
        Some(MetaSet::HANDS)
    }

    fn process(&mut self, mut frame: Frame) -> Result<Frame> {
        frame.meta.hands = self
            .tracker
            .process_at(frame.pixels.image()?, frame.pts.seconds())?;
        Ok(frame)
    }
}
