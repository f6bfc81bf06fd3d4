//! `track` — finds faces, their mesh and MediaPipe's 52 ARKit blendshapes and writes them into the
//! frame's meta; pixels pass through unchanged.
//!
//! Inputs: any RGBA frame (any size and aspect; the detector sees it letterboxed, the mesh a rotated
//! crop at full resolution).
//! Outputs: the same pixels; `meta.faces` holds up to `max_faces` faces, each with its box, face-present
//! score, mesh points (x, y in frame pixels, z in the same scale: 478 with the default v2 mesh, the
//! 468 of the face mesh then 10 iris points; 468 with `mesh=models/face_landmark.onnx`), the
//! detector's six keypoints (eyes, nose tip, mouth centre, ear tragions), on frames where the
//! detector ran its detection, the head pose (yaw, pitch, roll in degrees, translation) and
//! `expressions`, the one source of ARKit-named values for every consumer (avatar, VMC, JSONL):
//! - v2 mesh (default): all 52 ARKit names (`doppel_pipeline::rig::ARKIT_NAMES`), 0..1: 51 from
//!   `face_blendshapes.onnx` on 146 mesh points, `tongueOut` from the mesh model; per channel
//!   smoothed and, after `calibrate`, measured from the person's neutral face;
//! - v1 mesh: the names measured from the mesh geometry: eyeBlinkLeft/Right, jawOpen,
//!   mouthSmileLeft/Right, mouthStretchLeft/Right, browInnerUp, browOuterUpLeft/Right, and with
//!   `iris=true` eyeLook{In,Out,Up,Down}{Left,Right}.
//!
//! No face = an empty list, not an error.
//! Behaviour: the detector (`face_detection_short_range.onnx`) runs when fewer than `max_faces` faces
//! are tracked, and every `detect_every` frames; otherwise each face's crop comes from its mesh on the
//! previous frame, and a face whose face-present score drops below `min_score` is lost (the detector
//! looks again on the next frame). Mesh points (and so pose and the blendshape model's input) are
//! smoothed by a One Euro filter timed by the frame timestamps; a lost face's filters are dropped.
//! Options:
//! - `max_faces` (1): most faces per frame, 1..=16.
//! - `detect_every` (0): also run the detector every N frames while tracking (finds new faces); 0 =
//!   only when a face is missing.
//! - `min_score` (0.5): minimum detector score and face-present probability, 0..1.
//! - `threads` (1): intra-op threads of each model. One is the default: the models are small, and
//!   on a 2-core machine a tracked 640x480 frame took 7.9 ms with 1 thread vs 15.1 ms with 2
//!   (v1 mesh, criterion, loaded machine); the other core stays free for the stages after it.
//! - `range` = short | full (short): the face detector, `face_detection_short_range.onnx` (faces
//!   within ~2 m of the camera) or `face_detection_full_range_sparse.onnx` (within ~5 m: small faces
//!   in a wide shot; slower, and it only runs when a face is missing).
//! - `detector`, `mesh`, `blendshapes`: model files (defaults: the file `range` names,
//!   `models/face_landmarks_detector.onnx`, `models/face_blendshapes.onnx`, found in the data
//!   folder: see `crate::locate`). `mesh=models/face_landmark.onnx` runs the v1 mesh: ~5x faster,
//!   fewer names.
//! - `smooth` (true): One Euro filters on; `min_cutoff` (1.0 Hz), `beta` (10, per face width per
//!   second), `d_cutoff` (1.0 Hz) are the points' (see `track::filter`); `eye_min_cutoff` (4 Hz),
//!   `eye_beta` (5) those of the eye blendshape channels (blink, gaze, squint, wide: fast),
//!   `mouth_min_cutoff` (2 Hz), `mouth_beta` (5) those of the others (mouth, jaw, brows, cheeks,
//!   nose, tongue: medium); values are 0..1, so beta is per unit per second.
//! - `iris` (false): with the v1 mesh, run `iris_model` (default `models/iris_landmark.onnx`) for
//!   the gaze values (the v2 mesh has irises and the blendshape model gives gaze).
//! - `calibrate` (0): average the first N frames with a face into the person's neutral face (relaxed,
//!   eyes open, mouth closed, looking at the camera); values and angles are then measured from it
//!   (the 52 blendshapes as `(v - neutral) / (1 - neutral)`, clamped to 0..1).
//!
//! Example: `doppel process talk.mp4 -o out.mp4 --stages track:max_faces=2:threads=2:calibrate=30`

use super::{BuildContext, StageEntry};
use crate::error::Result;
use crate::frame::Frame;
use crate::graph::Inbox;
use crate::meta::Calibration;
use crate::options::StageOptions;
use crate::options::{OptKind, OptSpec};
use crate::stage::{Contract, MetaSet, Stage, StageCommand, StageDoc};
use crate::track::detector::Range;
use crate::track::{
    FaceTracker, OneEuroParams, TrackerConfig, ValueSmoothing, DEFAULT_BLENDSHAPES, DEFAULT_IRIS,
    DEFAULT_MESH,
};

const MAX_FACES: OptSpec = OptSpec {
    name: "max_faces",
    kind: OptKind::U32 {
        default: 1,
        min: 1,
        max: 16,
    },
    help: "most faces per frame",
};
const DETECT_EVERY: OptSpec = OptSpec {
    name: "detect_every",
    kind: OptKind::U32 {
        default: 0,
        min: 0,
        max: 1_000_000,
    },
    help: "run the detector every N frames even while tracking; 0 = only when a face is missing",
};
const MIN_SCORE: OptSpec = OptSpec {
    name: "min_score",
    kind: OptKind::F32 {
        default: 0.5,
        min: 0.0,
        max: 1.0,
    },
    help: "minimum detector score and face-present probability",
};
use crate::options::MODEL_PROVIDER as PROVIDER;
use crate::options::SMALL_MODEL_THREADS as THREADS;
const RANGE: OptSpec = OptSpec {
    name: "range",
    kind: OptKind::Choice {
        choices: &Range::NAMES,
        default: "short",
    },
    help: "face detector: short (faces within ~2 m) or full (within ~5 m, small faces)",
};
const DETECTOR: OptSpec = OptSpec {
    name: "detector",
    kind: OptKind::Path { default: None },
    help: "face detector model file (default: the one range= names)",
};
const MESH: OptSpec = OptSpec {
    name: "mesh",
    kind: OptKind::Path {
        default: Some(DEFAULT_MESH),
    },
    help: "face mesh model file (face_landmark.onnx = the v1 mesh: faster, fewer expressions)",
};
const BLENDSHAPES: OptSpec = OptSpec {
    name: "blendshapes",
    kind: OptKind::Path {
        default: Some(DEFAULT_BLENDSHAPES),
    },
    help: "blendshape model file (52 ARKit values from the v2 mesh)",
};
const EYE_MIN_CUTOFF: OptSpec = OptSpec {
    name: "eye_min_cutoff",
    kind: OptKind::F32 {
        default: 4.0,
        min: 0.001,
        max: 100.0,
    },
    help: "One Euro cutoff (Hz) of the still eye blendshapes (blink, gaze, squint, wide)",
};
const EYE_BETA: OptSpec = OptSpec {
    name: "eye_beta",
    kind: OptKind::F32 {
        default: 5.0,
        min: 0.0,
        max: 10_000.0,
    },
    help: "One Euro speed coefficient of the eye blendshapes (per unit per second)",
};
const MOUTH_MIN_CUTOFF: OptSpec = OptSpec {
    name: "mouth_min_cutoff",
    kind: OptKind::F32 {
        default: 2.0,
        min: 0.001,
        max: 100.0,
    },
    help: "One Euro cutoff (Hz) of the other still blendshapes (mouth, jaw, brows, cheeks, nose)",
};
const MOUTH_BETA: OptSpec = OptSpec {
    name: "mouth_beta",
    kind: OptKind::F32 {
        default: 5.0,
        min: 0.0,
        max: 10_000.0,
    },
    help: "One Euro speed coefficient of the other blendshapes (per unit per second)",
};
const SMOOTH: OptSpec = OptSpec {
    name: "smooth",
    kind: OptKind::Bool(true),
    help: "One Euro filters on the mesh (so pose and expressions) and on each blendshape",
};
const MIN_CUTOFF: OptSpec = OptSpec {
    name: "min_cutoff",
    kind: OptKind::F32 {
        default: 1.0,
        min: 0.001,
        max: 100.0,
    },
    help: "One Euro cutoff (Hz) of a still face: lower = less jitter, more lag",
};
const BETA: OptSpec = OptSpec {
    name: "beta",
    kind: OptKind::F32 {
        default: 10.0,
        min: 0.0,
        max: 10_000.0,
    },
    help: "One Euro speed coefficient (per face width per second): higher = less lag in motion",
};
const D_CUTOFF: OptSpec = OptSpec {
    name: "d_cutoff",
    kind: OptKind::F32 {
        default: 1.0,
        min: 0.001,
        max: 100.0,
    },
    help: "One Euro cutoff (Hz) of the speed estimate",
};
const IRIS: OptSpec = OptSpec {
    name: "iris",
    kind: OptKind::Bool(false),
    help: "v1 mesh: run the iris model for gaze values (eyeLook*; v2 has them)",
};
const IRIS_MODEL: OptSpec = OptSpec {
    name: "iris_model",
    kind: OptKind::Path {
        default: Some(DEFAULT_IRIS),
    },
    help: "iris model file",
};
const CALIBRATE: OptSpec = OptSpec {
    name: "calibrate",
    kind: OptKind::U32 {
        default: 0,
        min: 0,
        max: 100_000,
    },
    help: "frames with a face averaged into the person's neutral face (0 = typical values)",
};

pub const DOC: StageDoc = StageDoc {
    name: "track",
    summary: "finds faces, their 478-point mesh and 52 ARKit blendshapes (MediaPipe models) and writes them into the frame meta",
    options: &[
        MAX_FACES,
        DETECT_EVERY,
        MIN_SCORE,
        THREADS, PROVIDER,
        RANGE,
        DETECTOR,
        MESH,
        BLENDSHAPES,
        SMOOTH,
        MIN_CUTOFF,
        BETA,
        D_CUTOFF,
        EYE_MIN_CUTOFF,
        EYE_BETA,
        MOUTH_MIN_CUTOFF,
        MOUTH_BETA,
        IRIS,
        IRIS_MODEL,
        CALIBRATE,
    ],
    example: "track:max_faces=2:threads=2:calibrate=30",
    contract: |_| Ok(Contract::provides(MetaSet::FACES)),
};

pub const ENTRY: StageEntry = StageEntry {
    doc: &DOC,
    build: |options: &StageOptions, ctx: &BuildContext| {
        Ok(Box::new(Track::from_options(options, ctx)?))
    },
};

/// The track stage.
pub struct Track {
    tracker: FaceTracker,
    /// Live commands (Calibrate, key C in `doppel live`), when built for a live run.
    inbox: Option<Inbox>,
}

/// Frames a calibration asked for live averages (about a second at 30 fps).
const LIVE_CALIBRATION_FRAMES: u32 = 30;

impl Track {
    /// Reads the options and loads both models. Fails before any frame.
    ///
    /// # Errors
    /// [`Error::Option`] for a bad value; [`Error::Model`] for a missing or wrong model file;
    /// [`Error::Runtime`] when ONNX Runtime is unavailable.
    pub fn from_options(options: &StageOptions, ctx: &BuildContext) -> Result<Self> {
        let locator = ctx.locator();
        let smoothing = OneEuroParams {
            min_cutoff: options.f32(&MIN_CUTOFF)?,
            beta: options.f32(&BETA)?,
            d_cutoff: options.f32(&D_CUTOFF)?,
        };
        let d_cutoff = smoothing.d_cutoff;
        let values = ValueSmoothing {
            eyes: OneEuroParams {
                min_cutoff: options.f32(&EYE_MIN_CUTOFF)?,
                beta: options.f32(&EYE_BETA)?,
                d_cutoff,
            },
            mouth: OneEuroParams {
                min_cutoff: options.f32(&MOUTH_MIN_CUTOFF)?,
                beta: options.f32(&MOUTH_BETA)?,
                d_cutoff,
            },
        };
        let smooth = options.bool(&SMOOTH)?;
        let range = match options.choice(&RANGE)? {
            "full" => Range::Full,
            _ => Range::Short,
        };
        let config = TrackerConfig {
            detector_model: options.path_or(&DETECTOR, range.default_path(), locator)?,
            mesh_model: options.path(&MESH, locator)?,
            max_faces: options.u32(&MAX_FACES)? as usize,
            detect_every: options.u32(&DETECT_EVERY)?,
            min_score: options.f32(&MIN_SCORE)?,
            session: ctx.session(options, Some(options.u32(&THREADS)? as usize))?,
            smoothing: smooth.then_some(smoothing),
            blendshape_model: Some(options.path(&BLENDSHAPES, locator)?),
            value_smoothing: smooth.then_some(values),
            iris_model: match options.bool(&IRIS)? {
                true => Some(options.path(&IRIS_MODEL, locator)?),
                false => None,
            },
            calibrate_frames: options.u32(&CALIBRATE)?,
        };
        Ok(Self {
            tracker: FaceTracker::load(&config)?,
            inbox: ctx.inbox(DOC.name, &[StageCommand::Calibrate]),
        })
    }

    /// A stage around an existing tracker.
    pub fn new(tracker: FaceTracker) -> Self {
        Self {
            tracker,
            inbox: None,
        }
    }

    pub fn tracker(&self) -> &FaceTracker {
        &self.tracker
    }

    pub fn tracker_mut(&mut self) -> &mut FaceTracker {
        &mut self.tracker
    }
}

impl Stage for Track {
    fn name(&self) -> &str {
        DOC.name
    }

    fn analysis(&self) -> Option<MetaSet> {
        Some(MetaSet::FACES)
    }

    fn process(&mut self, mut frame: Frame) -> Result<Frame> {
        if let Some(inbox) = &self.inbox {
            let tracker = &mut self.tracker;
            inbox.handle(|_calibrate| {
                tracker.calibrate(LIVE_CALIBRATION_FRAMES);
                format!(
                    "calibrating: look at the camera with a relaxed face, eyes open, mouth closed \
                     ({LIVE_CALIBRATION_FRAMES} frames)"
                )
            });
        }
        frame.meta.faces = self
            .tracker
            .process_at(frame.pixels.image()?, frame.pts.seconds())?;
        frame.meta.calibration = Some(if self.tracker.is_calibrating() {
            Calibration::Calibrating
        } else if self.tracker.neutral().is_some() {
            Calibration::Personal
        } else {
            Calibration::Typical
        });
        Ok(frame)
    }

    fn warm_up(&mut self, _width: u32, _height: u32) -> Result<()> {
        self.tracker.warm_up()
    }
}
