//! Face tracking: BlazeFace detection, the 468-point face mesh, and tracking that follows each face
//! from one frame's mesh to the next frame's crop so the detector runs only when needed.
//!
//! ```text
//!  frame ─▶ detector (when a face is missing, or every N frames)  ─▶ boxes + 6 keypoints
//!            │                                                       │ crop: box x1.5, eyes level
//!            ▼                                                       ▼
//!          tracked crops from the previous frame's mesh ─────▶ mesh model ─▶ 468 points + presence
//!                                                                    │ presence >= min_score:
//!                                                                    ▼ keep, crop for the next frame
//! ```
//!
//! All coordinates are frame pixels (see [`types`]). The models are `models/face_detection_short_range.onnx`
//! and `models/face_landmark.onnx` (see `models/README.md`).
//!
//! # Example
//! ```no_run
//! use doppel_pipeline::track::{FaceTracker, TrackerConfig};
//! let mut tracker = FaceTracker::load(&TrackerConfig::default())?;
//! let photo = image::open("face.jpg").unwrap().to_rgba8();
//! for face in tracker.process(&photo)? {
//!     println!("face {:.2} at {:?}, nose tip {:?}", face.score, face.rect, face.point(1));
//! }
//! # Ok::<(), doppel_pipeline::Error>(())
//! ```

pub mod body;
pub mod detector;
pub mod draw;
pub mod mesh;
pub mod segment;
pub mod types;

use std::path::PathBuf;

use image::RgbaImage;

pub use self::detector::FaceDetector;
pub use self::mesh::{FaceMesh, MeshResult};
pub use self::types::{
    Affine, Body, BodyKeypoint, Detection, Face, HeadPose, Point, Rect, Roi, BODY_KEYPOINT_NAMES,
    KEYPOINT_NAMES,
};

use crate::error::Result;
use crate::infer::SessionConfig;

/// Default detector model, relative to the working directory.
pub const DEFAULT_DETECTOR: &str = "models/face_detection_short_range.onnx";
/// Default mesh model, relative to the working directory.
pub const DEFAULT_MESH: &str = "models/face_landmark.onnx";

/// IoU above which a detection is the same face as a tracked one.
const SAME_FACE_IOU: f32 = 0.5;

/// How the tracker is built and behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackerConfig {
    pub detector_model: PathBuf,
    pub mesh_model: PathBuf,
    /// Most faces reported per frame.
    pub max_faces: usize,
    /// Run the detector at least every this many frames even while all faces are tracked (finds new
    /// faces); 0 = only when a face is missing.
    pub detect_every: u32,
    /// Minimum detector score for a new face and minimum face-present probability to keep tracking.
    pub min_score: f32,
    pub session: SessionConfig,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            detector_model: PathBuf::from(DEFAULT_DETECTOR),
            mesh_model: PathBuf::from(DEFAULT_MESH),
            max_faces: 1,
            detect_every: 0,
            min_score: 0.5,
            session: SessionConfig::default(),
        }
    }
}

/// Detects and tracks faces frame after frame. Long-lived: owns both sessions and the crops carried
/// from one frame to the next.
pub struct FaceTracker {
    config: TrackerConfig,
    detector: FaceDetector,
    mesh: FaceMesh,
    tracked: Vec<Roi>,
    since_detect: u32,
}

impl FaceTracker {
    /// Loads both models.
    ///
    /// # Errors
    /// [`crate::Error::Model`] naming a file that is missing or not the expected model;
    /// [`crate::Error::Runtime`] when ONNX Runtime cannot be loaded.
    pub fn load(config: &TrackerConfig) -> Result<Self> {
        Ok(Self {
            detector: FaceDetector::load(&config.detector_model, &config.session)?,
            mesh: FaceMesh::load(&config.mesh_model, &config.session)?,
            config: config.clone(),
            tracked: Vec::new(),
            since_detect: 0,
        })
    }

    pub fn config(&self) -> &TrackerConfig {
        &self.config
    }

    /// How many times the detector has run.
    pub fn detector_runs(&self) -> u64 {
        self.detector.runs()
    }

    /// How many times the mesh model has run.
    pub fn mesh_runs(&self) -> u64 {
        self.mesh.runs()
    }

    /// Forgets tracked faces: the next frame starts with the detector (use between unrelated images).
    pub fn reset(&mut self) {
        self.tracked.clear();
        self.since_detect = 0;
    }

    /// The faces in `image`, best-tracked first. Faces tracked on the previous frame are followed
    /// through their mesh; the detector runs when fewer than `max_faces` are tracked or
    /// `detect_every` frames have passed.
    ///
    /// # Errors
    /// [`crate::Error::Model`] when inference fails.
    pub fn process(&mut self, image: &RgbaImage) -> Result<Vec<Face>> {
        if image.width() == 0 || image.height() == 0 || self.config.max_faces == 0 {
            self.tracked.clear();
            return Ok(Vec::new());
        }
        let min_score = self.config.min_score;
        let mut candidates: Vec<(Roi, Option<Detection>)> =
            self.tracked.drain(..).map(|r| (r, None)).collect();
        self.since_detect = self.since_detect.saturating_add(1);
        let periodic =
            self.config.detect_every > 0 && self.since_detect >= self.config.detect_every;
        if candidates.len() < self.config.max_faces || periodic {
            self.since_detect = 0;
            for d in self.detector.detect(image, min_score)? {
                if candidates.len() >= self.config.max_faces {
                    break;
                }
                let known = candidates
                    .iter()
                    .any(|(roi, _)| roi_box_iou(roi, &d.rect) > SAME_FACE_IOU);
                if !known {
                    candidates.push((mesh::roi_from_detection(&d), Some(d)));
                }
            }
        }
        let mut faces: Vec<Face> = Vec::with_capacity(candidates.len());
        for (roi, detection) in candidates {
            let MeshResult { points, presence } = self.mesh.run(image, &roi)?;
            if presence < min_score {
                continue;
            }
            let Some(rect) = Rect::bounding(points.iter().map(|p| Point::new(p[0], p[1]))) else {
                continue;
            };
            // Two crops that converged on one face: keep the first.
            if faces.iter().any(|f| f.rect.iou(&rect) > SAME_FACE_IOU) {
                continue;
            }
            let keypoints = match &detection {
                Some(d) => d.keypoints,
                None => mesh::keypoints_from_mesh(&points).unwrap_or_default(),
            };
            if let Some(next) = mesh::roi_from_mesh(&points) {
                self.tracked.push(next);
            }
            faces.push(Face {
                rect,
                score: presence,
                mesh: points,
                keypoints,
                detection,
                roi,
                pose: None,
                expressions: Default::default(),
            });
        }
        Ok(faces)
    }
}

/// How much a detection box overlaps the face a tracked crop holds (the crop's inner face box: the
/// crop is `CROP_SCALE` times the face).
fn roi_box_iou(roi: &Roi, rect: &Rect) -> f32 {
    let half = roi.size / mesh::CROP_SCALE * 0.5;
    let inner = Rect::new(
        roi.center.x - half,
        roi.center.y - half,
        roi.center.x + half,
        roi.center.y + half,
    );
    inner.iou(rect)
}
