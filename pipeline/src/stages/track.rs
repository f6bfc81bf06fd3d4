//! `track` — finds faces and their 468-point mesh and writes them into the frame's meta; pixels pass
//! through unchanged.
//!
//! Inputs: any RGBA frame (any size and aspect; the detector sees it letterboxed, the mesh a rotated
//! crop at full resolution).
//! Outputs: the same pixels; `meta.faces` holds up to `max_faces` faces, each with its box, face-present
//! score, 468 mesh points (x, y in frame pixels, z in the same scale), the detector's six keypoints
//! (eyes, nose tip, mouth centre, ear tragions), on frames where the detector ran its detection, the
//! head pose (yaw, pitch, roll in degrees, translation) and expression values (ARKit names, 0..1:
//! eyeBlinkLeft/Right, jawOpen, mouthSmileLeft/Right, mouthStretchLeft/Right, browInnerUp,
//! browOuterUpLeft/Right, and with `iris=true` eyeLookIn/Out/Up/Down Left/Right).
//! No face = an empty list, not an error.
//! Behaviour: the detector (`face_detection_short_range.onnx`) runs when fewer than `max_faces` faces
//! are tracked, and every `detect_every` frames; otherwise each face's crop comes from its mesh on the
//! previous frame (`face_landmark.onnx`), and a face whose face-present score drops below `min_score`
//! is lost (the detector looks again on the next frame). Mesh points (and so pose and expressions)
//! are smoothed by a One Euro filter timed by the frame timestamps; a lost face's filter is dropped.
//! Options:
//! - `max_faces` (1): most faces per frame, 1..=16.
//! - `detect_every` (0): also run the detector every N frames while tracking (finds new faces); 0 =
//!   only when a face is missing.
//! - `min_score` (0.5): minimum detector score and face-present probability, 0..1.
//! - `threads` (1): intra-op threads of each model. One is the default: the mesh model is small, and
//!   on a 2-core machine a tracked 640x480 frame took 7.9 ms with 1 thread vs 15.1 ms with 2
//!   (criterion, loaded machine); the other core stays free for the stages after it.
//! - `range` = short | full (short): the face detector, `face_detection_short_range.onnx` (faces
//!   within ~2 m of the camera) or `face_detection_full_range_sparse.onnx` (within ~5 m: small faces
//!   in a wide shot; slower, and it only runs when a face is missing).
//! - `detector`, `mesh`: model files (defaults: the file `range` names, `models/face_landmark.onnx`,
//!   relative to the working directory).
//! - `smooth` (true): One Euro filter on; `min_cutoff` (1.0 Hz), `beta` (10, per face width per
//!   second), `d_cutoff` (1.0 Hz) are its parameters (see `track::filter`).
//! - `iris` (false): run `iris_model` (default `models/iris_landmark.onnx`) for the gaze values.
//! - `calibrate` (0): average the first N frames with a face into the person's neutral face (relaxed,
//!   eyes open, mouth closed, looking at the camera); values and angles are then measured from it.
//!
//! Example: `doppel process talk.mp4 -o out.mp4 --stages track:max_faces=2:threads=2:calibrate=30`

use super::{BuildContext, StageEntry};
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::infer::SessionConfig;
use crate::options::StageOptions;
use crate::stage::{OptionDoc, Stage, StageDoc};
use crate::track::detector::Range;
use crate::track::{FaceTracker, OneEuroParams, TrackerConfig, DEFAULT_IRIS, DEFAULT_MESH};

pub const DOC: StageDoc = StageDoc {
    name: "track",
    summary: "finds faces and their 468-point mesh (MediaPipe models) and writes them into the frame meta",
    options: &[
        OptionDoc {
            name: "max_faces",
            default: "1",
            help: "most faces per frame, 1..=16",
        },
        OptionDoc {
            name: "detect_every",
            default: "0",
            help: "run the detector every N frames even while tracking; 0 = only when a face is missing",
        },
        OptionDoc {
            name: "min_score",
            default: "0.5",
            help: "minimum detector score and face-present probability, 0..1",
        },
        OptionDoc {
            name: "threads",
            default: "1",
            help: "intra-op threads per model, 1..=256 (1 is fastest for these small models)",
        },
        OptionDoc {
            name: "range",
            default: "short",
            help: "short (faces within ~2 m) | full (within ~5 m, small faces) face detector",
        },
        OptionDoc {
            name: "detector",
            default: "models/face_detection_<range>_range*.onnx",
            help: "face detector model file (overrides range=)",
        },
        OptionDoc {
            name: "mesh",
            default: DEFAULT_MESH,
            help: "face mesh model file",
        },
        OptionDoc {
            name: "smooth",
            default: "true",
            help: "One Euro filter on the mesh, pose and expressions",
        },
        OptionDoc {
            name: "min_cutoff",
            default: "1.0",
            help: "One Euro cutoff (Hz) of a still face: lower = less jitter, more lag, 0.001..=100",
        },
        OptionDoc {
            name: "beta",
            default: "10",
            help: "One Euro speed coefficient (per face width per second): higher = less lag in motion, 0..=10000",
        },
        OptionDoc {
            name: "d_cutoff",
            default: "1.0",
            help: "One Euro cutoff (Hz) of the speed estimate, 0.001..=100",
        },
        OptionDoc {
            name: "iris",
            default: "false",
            help: "run the iris model for gaze values (eyeLook*)",
        },
        OptionDoc {
            name: "iris_model",
            default: DEFAULT_IRIS,
            help: "iris model file",
        },
        OptionDoc {
            name: "calibrate",
            default: "0",
            help: "frames with a face averaged into the person's neutral face (0 = typical values)",
        },
    ],
    example: "track:max_faces=2:threads=2:calibrate=30",
};

pub const ENTRY: StageEntry = StageEntry {
    doc: &DOC,
    build: |options: &StageOptions, _: &BuildContext| Ok(Box::new(Track::from_options(options)?)),
};

/// The track stage.
pub struct Track {
    tracker: FaceTracker,
}

impl Track {
    /// Reads the options and loads both models. Fails before any frame.
    ///
    /// # Errors
    /// [`Error::Option`] for a bad value; [`Error::Model`] for a missing or wrong model file;
    /// [`Error::Runtime`] when ONNX Runtime is unavailable.
    pub fn from_options(options: &StageOptions) -> Result<Self> {
        let path = |name: &str, default: &str| options.path_or(name, default);
        let defaults = OneEuroParams::default();
        let smoothing = OneEuroParams {
            min_cutoff: options.f32_in("min_cutoff", defaults.min_cutoff, 0.001, 100.0)?,
            beta: options.f32_in("beta", defaults.beta, 0.0, 10_000.0)?,
            d_cutoff: options.f32_in("d_cutoff", defaults.d_cutoff, 0.001, 100.0)?,
        };
        let config = TrackerConfig {
            detector_model: path(
                "detector",
                match options.choice("range", &Range::NAMES, "short")? {
                    "full" => Range::Full,
                    _ => Range::Short,
                }
                .default_path(),
            ),
            mesh_model: path("mesh", DEFAULT_MESH),
            max_faces: options.u32_in("max_faces", 1, 1, 16)? as usize,
            detect_every: options.u32_in("detect_every", 0, 0, 1_000_000)?,
            min_score: options.f32_in("min_score", 0.5, 0.0, 1.0)?,
            session: SessionConfig {
                threads: Some(options.u32_in("threads", 1, 1, 256)? as usize),
                ..SessionConfig::default()
            },
            smoothing: options.bool("smooth", true)?.then_some(smoothing),
            iris_model: options
                .bool("iris", false)?
                .then(|| path("iris_model", DEFAULT_IRIS)),
            calibrate_frames: options.u32_in("calibrate", 0, 0, 100_000)?,
        };
        Ok(Self {
            tracker: FaceTracker::load(&config)?,
        })
    }

    /// A stage around an existing tracker.
    pub fn new(tracker: FaceTracker) -> Self {
        Self { tracker }
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

    fn process(&mut self, mut frame: Frame) -> Result<Frame> {
        frame.meta.faces = self
            .tracker
            .process_at(frame.pixels.image()?, frame.pts.seconds())
            .map_err(Error::in_stage(DOC.name, frame.seq))?;
        Ok(frame)
    }

    fn warm_up(&mut self, _width: u32, _height: u32) -> Result<()> {
        self.tracker.warm_up().map_err(Error::in_stage(DOC.name, 0))
    }
}
