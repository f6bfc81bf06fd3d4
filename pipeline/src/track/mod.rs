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
//! Each kept face then gets, in this order:
//! - smoothing ([`filter`]): a One Euro filter per mesh coordinate (and iris point), in face-size
//!   units, timed by the frame's timestamp; a face that is lost starts a fresh filter when found again;
//! - iris points (optional, [`iris`]) from a crop around each eye of the mesh;
//! - head pose ([`headpose`]): yaw, pitch, roll and position from the smoothed mesh;
//! - expression values ([`expression`]): ARKit-named, 0..1, from the smoothed mesh, measured from a
//!   neutral face: typical values, or the person's own after [`FaceTracker::calibrate`].
//!
//! Pose and expressions are computed from the smoothed mesh, so they are as smooth as it is (one
//! filter, no second lag).
//!
//! All coordinates are frame pixels (see [`types`]). The models are `models/face_detection_short_range.onnx`
//! (or `face_detection_full_range_sparse.onnx` for far faces),
//! `models/face_landmark.onnx` and optionally `models/iris_landmark.onnx` (see `models/README.md`).
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
pub mod expression;
pub mod filter;
pub mod hands;
pub mod headpose;
pub mod iris;
pub mod mesh;
pub mod segment;
/// The plain data the tracker writes into frames lives in [`crate::meta`] (so that the frame type
/// does not depend on tracking); this keeps the old `track::types` paths working.
pub use crate::meta as types;

use std::path::PathBuf;

use image::RgbaImage;

pub use self::detector::FaceDetector;
pub use self::expression::{Features, Neutral};
pub use self::filter::{OneEuroParams, VectorFilter};
pub use self::iris::{IrisModel, IrisPoints, DEFAULT_IRIS};
pub use self::mesh::{FaceMesh, MeshResult};
pub use self::types::{
    Affine, Body, BodyKeypoint, Detection, Face, HeadPose, Point, Rect, Roi, BODY_KEYPOINT_NAMES,
    KEYPOINT_NAMES,
};

use crate::error::Result;
use crate::infer::SessionConfig;
use crate::locate::Locator;

/// Default detector model, relative to the working directory.
pub const DEFAULT_DETECTOR: &str = "models/face_detection_short_range.onnx";
/// The full-range (far faces) detector, relative to the working directory.
pub const FULL_RANGE_DETECTOR: &str = "models/face_detection_full_range_sparse.onnx";
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
    /// One Euro filter on the mesh (and so on pose and expressions); `None` = raw model output.
    pub smoothing: Option<OneEuroParams>,
    /// The iris model, for gaze values; `None` = no iris (no `eyeLook*` values).
    pub iris_model: Option<PathBuf>,
    /// Calibrate the neutral face on the first this many frames with a face (0 = no calibration:
    /// typical neutral values). See [`FaceTracker::calibrate`].
    pub calibrate_frames: u32,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            // Default models from the data folder, wherever the program runs.
            detector_model: Locator::from_env().find_or_keep(DEFAULT_DETECTOR),
            mesh_model: Locator::from_env().find_or_keep(DEFAULT_MESH),
            max_faces: 1,
            detect_every: 0,
            min_score: 0.5,
            session: SessionConfig::default(),
            smoothing: Some(OneEuroParams::default()),
            iris_model: None,
            calibrate_frames: 0,
        }
    }
}

/// A face followed from one frame to the next: its next crop and its filters.
struct Tracked {
    roi: Roi,
    mesh_filter: VectorFilter,
    iris_filter: VectorFilter,
}

impl Tracked {
    fn new(roi: Roi) -> Self {
        Self {
            roi,
            mesh_filter: VectorFilter::new(),
            iris_filter: VectorFilter::new(),
        }
    }
}

/// Neutral-face samples being collected.
#[derive(Default)]
struct Calibration {
    remaining: u32,
    features: Vec<Features>,
    angles: Vec<[f32; 3]>,
}

/// Detects and tracks faces frame after frame. Long-lived: owns the sessions, the crops and filters
/// carried from one frame to the next, and the person's neutral face.
pub struct FaceTracker {
    config: TrackerConfig,
    detector: FaceDetector,
    mesh: FaceMesh,
    iris: Option<IrisModel>,
    tracked: Vec<Tracked>,
    since_detect: u32,
    /// Time of the next [`FaceTracker::process`] call (frames without timestamps: 30 fps).
    clock: f64,
    neutral: Option<Neutral>,
    calibration: Option<Calibration>,
}

impl FaceTracker {
    /// Loads the models (the iris model only when configured).
    ///
    /// # Errors
    /// [`crate::Error::Model`] naming a file that is missing or not the expected model;
    /// [`crate::Error::Runtime`] when ONNX Runtime cannot be loaded.
    pub fn load(config: &TrackerConfig) -> Result<Self> {
        let iris = match &config.iris_model {
            Some(path) => Some(IrisModel::load(path, &config.session)?),
            None => None,
        };
        let mut tracker = Self {
            detector: FaceDetector::load(&config.detector_model, &config.session)?,
            mesh: FaceMesh::load(&config.mesh_model, &config.session)?,
            iris,
            config: config.clone(),
            tracked: Vec::new(),
            since_detect: 0,
            clock: 0.0,
            neutral: None,
            calibration: None,
        };
        if config.calibrate_frames > 0 {
            tracker.calibrate(config.calibrate_frames);
        }
        Ok(tracker)
    }

    pub fn config(&self) -> &TrackerConfig {
        &self.config
    }

    /// Runs every model once on zeros, leaving the tracking state and the run counts alone: the
    /// first frame then costs what the others do.
    ///
    /// # Errors
    /// [`Error::Model`] when inference fails.
    pub fn warm_up(&mut self) -> Result<()> {
        self.detector.warm_up()?;
        self.mesh.warm_up()?;
        if let Some(iris) = &mut self.iris {
            iris.warm_up()?;
        }
        Ok(())
    }

    /// How many times the detector has run.
    pub fn detector_runs(&self) -> u64 {
        self.detector.runs()
    }

    /// How many times the mesh model has run.
    pub fn mesh_runs(&self) -> u64 {
        self.mesh.runs()
    }

    /// Forgets tracked faces and their filters: the next frame starts with the detector (use between
    /// unrelated images). The neutral face is kept.
    pub fn reset(&mut self) {
        self.tracked.clear();
        self.since_detect = 0;
    }

    /// Starts a neutral-face calibration: the next `frames` frames on which a face is found (the
    /// first face: calibrate with one person in view) are averaged into the person's neutral face,
    /// which then replaces the typical one. Ask the person to look at the camera with a relaxed face,
    /// eyes open and mouth closed. Until it completes, values are measured from the previous neutral.
    /// Head angles are then reported relative to the calibration pose. `frames` = 0 cancels.
    pub fn calibrate(&mut self, frames: u32) {
        self.calibration = (frames > 0).then(|| Calibration {
            remaining: frames,
            ..Calibration::default()
        });
    }

    /// Whether a calibration is collecting frames.
    pub fn is_calibrating(&self) -> bool {
        self.calibration.is_some()
    }

    /// The person's neutral face, once calibrated (or set).
    pub fn neutral(&self) -> Option<&Neutral> {
        self.neutral.as_ref()
    }

    /// Sets (e.g. restores a saved) or clears the neutral face.
    pub fn set_neutral(&mut self, neutral: Option<Neutral>) {
        self.neutral = neutral;
    }

    /// The faces in `image`, best-tracked first, timed as the next frame of a 30 fps stream (for
    /// the filter). See [`FaceTracker::process_at`].
    ///
    /// # Errors
    /// [`crate::Error::Model`] when inference fails.
    pub fn process(&mut self, image: &RgbaImage) -> Result<Vec<Face>> {
        let t = self.clock;
        self.process_at(image, t)
    }

    /// The faces in `image` shown at `time` seconds (the frame's timestamp, used by the filter),
    /// best-tracked first. Faces tracked on the previous frame are followed through their mesh; the
    /// detector runs when fewer than `max_faces` are tracked or `detect_every` frames have passed.
    ///
    /// # Errors
    /// [`crate::Error::Model`] when inference fails.
    pub fn process_at(&mut self, image: &RgbaImage, time: f64) -> Result<Vec<Face>> {
        self.clock = time + filter::FALLBACK_DT;
        if image.width() == 0 || image.height() == 0 || self.config.max_faces == 0 {
            self.tracked.clear();
            return Ok(Vec::new());
        }
        let min_score = self.config.min_score;
        let mut candidates: Vec<(Tracked, Option<Detection>)> =
            self.tracked.drain(..).map(|t| (t, None)).collect();
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
                    .any(|(t, _)| roi_box_iou(&t.roi, &d.rect) > SAME_FACE_IOU);
                if !known {
                    candidates.push((Tracked::new(mesh::roi_from_detection(&d)), Some(d)));
                }
            }
        }
        let mut faces: Vec<Face> = Vec::with_capacity(candidates.len());
        for (mut track, detection) in candidates {
            let roi = track.roi;
            let MeshResult { points, presence } = self.mesh.run(image, &roi)?;
            // A face below the score is dropped with its filters: found again, it starts afresh.
            if presence < min_score {
                continue;
            }
            let Some(raw_rect) = Rect::bounding(points.iter().map(|p| Point::new(p[0], p[1])))
            else {
                continue;
            };
            // Two crops that converged on one face: keep the first.
            if faces.iter().any(|f| f.rect.iou(&raw_rect) > SAME_FACE_IOU) {
                continue;
            }
            // The next crop follows the raw mesh, as MediaPipe does: smoothing must not make the
            // crop lag behind a fast head.
            let Some(next) = mesh::roi_from_mesh(&points) else {
                continue;
            };
            let iris = match &mut self.iris {
                Some(model) => model.run(image, &points)?,
                None => None,
            };
            let mut points = points;
            let mut iris = iris;
            if let Some(params) = &self.config.smoothing {
                let face_size = roi.size / mesh::CROP_SCALE;
                track
                    .mesh_filter
                    .filter(points.as_flattened_mut(), time, face_size, params);
                if let Some(iris) = &mut iris {
                    track.iris_filter.filter(
                        iris.as_flattened_mut().as_flattened_mut(),
                        time,
                        face_size,
                        params,
                    );
                }
            }
            let rect =
                Rect::bounding(points.iter().map(|p| Point::new(p[0], p[1]))).unwrap_or(raw_rect);
            let keypoints = match &detection {
                Some(d) => d.keypoints,
                None => mesh::keypoints_from_mesh(&points).unwrap_or_default(),
            };
            let (pose, expressions) =
                self.describe(&points, iris.as_ref(), image.width(), faces.is_empty());
            track.roi = next;
            self.tracked.push(track);
            faces.push(Face {
                rect,
                score: presence,
                mesh: points,
                keypoints,
                detection,
                roi,
                pose,
                expressions,
            });
        }
        Ok(faces)
    }

    /// Head pose and expression values of one (smoothed) mesh; feeds a running calibration with the
    /// first face.
    fn describe(
        &mut self,
        points: &[[f32; 3]],
        iris: Option<&IrisPoints>,
        width: u32,
        first: bool,
    ) -> (Option<HeadPose>, std::collections::BTreeMap<String, f32>) {
        let Some(head) = headpose::head_frame(points) else {
            return (None, Default::default());
        };
        let mut pose = headpose::head_pose(points, width);
        let centres = iris.map(|i| [i[0][0], i[1][0]]);
        let Some(features) = expression::features(points, &head, centres) else {
            return (pose, Default::default());
        };
        let angles = headpose::angles(&head);
        if first {
            if let Some(cal) = &mut self.calibration {
                cal.features.push(features);
                cal.angles.push([angles.0, angles.1, angles.2]);
                cal.remaining -= 1;
                if cal.remaining == 0 {
                    let n = cal.angles.len() as f32;
                    let mut mean = [0.0f32; 3];
                    for a in &cal.angles {
                        for (m, v) in mean.iter_mut().zip(a) {
                            *m += v / n;
                        }
                    }
                    self.neutral = Features::mean(&cal.features).map(|features| Neutral {
                        features,
                        angles: mean,
                    });
                    self.calibration = None;
                }
            }
        }
        if let (Some(p), Some(n)) = (&mut pose, &self.neutral) {
            p.yaw -= n.angles[0];
            p.pitch -= n.angles[1];
            p.roll -= n.angles[2];
        }
        let values = expression::expressions(&features, self.neutral.as_ref().map(|n| &n.features));
        (pose, values)
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
