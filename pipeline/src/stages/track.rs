//! `track` — finds faces and their 468-point mesh and writes them into the frame's meta; pixels pass
//! through unchanged.
//!
//! Inputs: any RGBA frame (any size and aspect; the detector sees it letterboxed, the mesh a rotated
//! crop at full resolution).
//! Outputs: the same pixels; `meta.faces` holds up to `max_faces` faces, each with its box, face-present
//! score, 468 mesh points (x, y in frame pixels, z in the same scale), the detector's six keypoints
//! (eyes, nose tip, mouth centre, ear tragions) and, on frames where the detector ran, its detection.
//! No face = an empty list, not an error.
//! Behaviour: the detector (`face_detection_short_range.onnx`) runs when fewer than `max_faces` faces
//! are tracked, and every `detect_every` frames; otherwise each face's crop comes from its mesh on the
//! previous frame (`face_landmark.onnx`), and a face whose face-present score drops below `min_score`
//! is lost (the detector looks again on the next frame).
//! Options:
//! - `max_faces` (1): most faces per frame, 1..=16.
//! - `detect_every` (0): also run the detector every N frames while tracking (finds new faces); 0 =
//!   only when a face is missing.
//! - `min_score` (0.5): minimum detector score and face-present probability, 0..1.
//! - `threads` (cores): intra-op threads of each model.
//! - `detector`, `mesh`: model files (defaults `models/face_detection_short_range.onnx`,
//!   `models/face_landmark.onnx`, relative to the working directory).
//!
//! Example: `doppel process talk.mp4 -o out.mp4 --stages track:max_faces=2:threads=2`

use super::{BuildContext, StageEntry};
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::infer::SessionConfig;
use crate::options::StageOptions;
use crate::stage::{OptionDoc, Stage, StageDoc};
use crate::track::{FaceTracker, TrackerConfig, DEFAULT_DETECTOR, DEFAULT_MESH};

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
            default: "cores",
            help: "intra-op threads per model, 1..=256",
        },
        OptionDoc {
            name: "detector",
            default: DEFAULT_DETECTOR,
            help: "face detector model file",
        },
        OptionDoc {
            name: "mesh",
            default: DEFAULT_MESH,
            help: "face mesh model file",
        },
    ],
    example: "track:max_faces=2:threads=2",
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
        let path = |name: &str, default: &str| {
            options
                .raw(name)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .unwrap_or(default)
                .into()
        };
        let config = TrackerConfig {
            detector_model: path("detector", DEFAULT_DETECTOR),
            mesh_model: path("mesh", DEFAULT_MESH),
            max_faces: options.u32_in("max_faces", 1, 1, 16)? as usize,
            detect_every: options.u32_in("detect_every", 0, 0, 1_000_000)?,
            min_score: options.f32_in("min_score", 0.5, 0.0, 1.0)?,
            session: SessionConfig {
                threads: options.opt_u32_in("threads", 1, 256)?.map(|t| t as usize),
                ..SessionConfig::default()
            },
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
            .process(&frame.image)
            .map_err(|e| Error::Stage {
                stage: DOC.name.to_string(),
                seq: frame.seq,
                message: e.to_string(),
            })?;
        Ok(frame)
    }
}
