//! Face tracking: BlazeFace detection, the face mesh (v2: 478 points with irises), MediaPipe's 52
//! ARKit blendshapes, and tracking that follows each face from one frame's mesh to the next frame's
//! crop so the detector runs only when needed.
//!
//! ```text
//!  frame ─▶ detector (when a face is missing, or every N frames)  ─▶ boxes + 6 keypoints
//!            │                                                       │ crop: box x1.5, eyes level
//!            ▼                                                       ▼
//!          tracked crops from the previous frame's mesh ─────▶ mesh model ─▶ 478 points + presence
//!                                                                    │       + tongue-out
//!                                                                    │ presence >= min_score:
//!                                                                    ▼ keep, crop for the next frame
//! ```
//!
//! Each kept face then gets, in this order:
//! - smoothing ([`filter`]): a One Euro filter per mesh coordinate (and iris point), in face-size
//!   units, timed by the frame's timestamp; a face that is lost starts a fresh filter when found again;
//! - head pose ([`headpose`]): yaw, pitch, roll and position from the smoothed mesh;
//! - expression values, ARKit-named, 0..1, into [`Face::expressions`]:
//!   - v2 mesh (default): all 52 of [`blendshapes::ARKIT_NAMES`]: 51 from the blendshape model
//!     ([`blendshapes`]) on the smoothed points, `tongueOut` from the mesh model; then a One Euro
//!     filter per channel (eyes fast, the rest medium) and the person's calibration, if any;
//!   - v1 mesh (`face_landmark.onnx`, faster): the values [`expression`] measures from the mesh
//!     geometry (blink, jaw, smile, stretch, brows; gaze with the iris model, [`iris`]).
//!
//! Calibration ([`FaceTracker::calibrate`]) averages a relaxed face over N frames: the 52 scores are
//! then measured from it (`(v - n) / (1 - n)`), as are the geometric values and head angles.
//!
//! All coordinates are frame pixels (see [`types`]). The models are `models/face_detection_short_range.onnx`
//! (or `face_detection_full_range_sparse.onnx` for far faces), `models/face_landmarks_detector.onnx`
//! and `models/face_blendshapes.onnx` (or `models/face_landmark.onnx`, optionally with
//! `models/iris_landmark.onnx`); see `models/README.md`.
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

pub mod blendshapes;
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
pub mod ssd;
/// The plain data the tracker writes into frames lives in [`crate::meta`] (so that the frame type
/// does not depend on tracking); this keeps the old `track::types` paths working.
pub use crate::meta as types;

use std::path::PathBuf;

use image::RgbaImage;

pub use self::blendshapes::{BlendshapeModel, Scores, ValueSmoothing, DEFAULT_BLENDSHAPES};
pub use self::detector::FaceDetector;
pub use self::expression::{Features, Neutral};
pub use self::filter::{OneEuroParams, VectorFilter};
pub use self::iris::{IrisModel, IrisPoints, DEFAULT_IRIS};
pub use self::mesh::{FaceMesh, MeshResult, MeshVersion};
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
/// Default mesh model (v2: 478 points, feeds the blendshape model), relative to the working directory.
pub const DEFAULT_MESH: &str = "models/face_landmarks_detector.onnx";
/// The v1 mesh model (468 points, ~5x faster per tracked frame, geometric expression values only).
pub const V1_MESH: &str = "models/face_landmark.onnx";

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
    /// The blendshape model, run on v2 meshes (ignored with a v1 mesh); `None` = no blendshapes (v2
    /// faces then carry only `tongueOut`).
    pub blendshape_model: Option<PathBuf>,
    /// One Euro filter per blendshape channel (v2); `None` = the model's values as they come.
    pub value_smoothing: Option<ValueSmoothing>,
    /// The iris model, for gaze values with a v1 mesh (v2 has irises); `None` = no iris (no
    /// `eyeLook*` values with v1).
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
            blendshape_model: Some(Locator::from_env().find_or_keep(DEFAULT_BLENDSHAPES)),
            value_smoothing: Some(ValueSmoothing::default()),
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
    score_filter: blendshapes::ScoreFilter,
}

impl Tracked {
    fn new(roi: Roi) -> Self {
        Self {
            roi,
            mesh_filter: VectorFilter::new(),
            iris_filter: VectorFilter::new(),
            score_filter: blendshapes::ScoreFilter::default(),
        }
    }
}

/// Neutral-face samples being collected.
#[derive(Default)]
struct Calibration {
    remaining: u32,
    features: Vec<Features>,
    angles: Vec<[f32; 3]>,
    scores: Vec<Scores>,
}

/// Detects and tracks faces frame after frame. Long-lived: owns the sessions, the crops and filters
/// carried from one frame to the next, and the person's neutral face.
pub struct FaceTracker {
    config: TrackerConfig,
    detector: FaceDetector,
    mesh: FaceMesh,
    blendshapes: Option<BlendshapeModel>,
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
        let mesh = FaceMesh::load(&config.mesh_model, &config.session)?;
        // v2 brings its own irises and feeds the blendshape model; v1 may use the iris model.
        let (iris, blendshapes) = match mesh.version() {
            MeshVersion::V1 => (config.iris_model.as_ref(), None),
            MeshVersion::V2 => (None, config.blendshape_model.as_ref()),
        };
        let iris = match iris {
            Some(path) => Some(IrisModel::load(path, &config.session)?),
            None => None,
        };
        let blendshapes = match blendshapes {
            Some(path) => Some(BlendshapeModel::load(path, &config.session)?),
            None => None,
        };
        let mut tracker = Self {
            detector: FaceDetector::load(&config.detector_model, &config.session)?,
            mesh,
            blendshapes,
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
        if let Some(model) = &mut self.blendshapes {
            model.warm_up()?;
        }
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

    /// Which mesh model runs.
    pub fn mesh_version(&self) -> MeshVersion {
        self.mesh.version()
    }

    /// How many times the blendshape model has run (0 with a v1 mesh).
    pub fn blendshape_runs(&self) -> u64 {
        self.blendshapes.as_ref().map_or(0, BlendshapeModel::runs)
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
            let MeshResult {
                points,
                presence,
                tongue_out,
            } = self.mesh.run(image, &roi)?;
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
            let next = match self.mesh.version() {
                MeshVersion::V1 => mesh::roi_from_mesh(&points),
                MeshVersion::V2 => mesh::roi_from_mesh_v2(&points),
            };
            let Some(next) = next else {
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
            // v2: the irises are the mesh's last points (already smoothed with it).
            if iris.is_none() {
                iris = iris_from_mesh(&points);
            }
            // The blendshape model reads the smoothed points, as MediaPipe's VIDEO mode does.
            let mut scores = match (&mut self.blendshapes, tongue_out) {
                (Some(model), Some(tongue)) => model.run(&points, tongue)?,
                _ => None,
            };
            if let (Some(s), Some(params)) = (&mut scores, &self.config.value_smoothing) {
                track.score_filter.filter(s, time, params);
            }
            let (pose, mut expressions) = self.describe(
                &points,
                iris.as_ref(),
                scores.as_ref(),
                image.width(),
                faces.is_empty(),
            );
            // A v2 mesh without the blendshape model still has its tongue.
            if let (None, Some(t)) = (&scores, tongue_out) {
                expressions.insert("tongueOut".to_string(), t);
            }
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
    /// `scores` = the 52 blendshape values (v2), which then are the expressions (calibrated);
    /// without them (v1) the expressions are measured from the mesh geometry.
    fn describe(
        &mut self,
        points: &[[f32; 3]],
        iris: Option<&IrisPoints>,
        scores: Option<&Scores>,
        width: u32,
        first: bool,
    ) -> (Option<HeadPose>, std::collections::BTreeMap<String, f32>) {
        let Some(head) = headpose::head_frame(points) else {
            return (None, self.score_map(scores));
        };
        let mut pose = headpose::head_pose(points, width);
        let centres = iris.map(|i| [i[0][0], i[1][0]]);
        let Some(features) = expression::features(points, &head, centres) else {
            return (pose, self.score_map(scores));
        };
        let angles = headpose::angles(&head);
        if first {
            if let Some(cal) = &mut self.calibration {
                cal.features.push(features);
                cal.angles.push([angles.0, angles.1, angles.2]);
                if let Some(s) = scores {
                    cal.scores.push(*s);
                }
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
                        blendshapes: blendshapes::mean(&cal.scores).map(|s| s.to_vec()),
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
        if scores.is_some() {
            return (pose, self.score_map(scores));
        }
        let values = expression::expressions(&features, self.neutral.as_ref().map(|n| &n.features));
        (pose, values)
    }

    /// The 52 scores by ARKit name, measured from the person's neutral scores when calibrated;
    /// empty without scores.
    fn score_map(&self, scores: Option<&Scores>) -> std::collections::BTreeMap<String, f32> {
        let Some(scores) = scores else {
            return Default::default();
        };
        let neutral = self.neutral.as_ref().and_then(|n| n.blendshapes.as_ref());
        blendshapes::ARKIT_NAMES
            .iter()
            .enumerate()
            .map(|(i, name)| {
                // A neutral of another length (set by hand) leaves the channels it lacks alone.
                let v = match neutral.and_then(|n| n.get(i)) {
                    Some(n) => blendshapes::calibrated(scores[i], *n),
                    None => scores[i],
                };
                ((*name).to_string(), v)
            })
            .collect()
    }
}

/// The iris points of a v2 mesh (points 468..478: the person's right iris, then the left, centre
/// first); `None` for a v1 mesh.
fn iris_from_mesh(points: &[[f32; 3]]) -> Option<IrisPoints> {
    let tail = points.get(mesh::POINTS..mesh::POINTS_V2)?;
    let mut out = [[[0.0f32; 3]; iris::IRIS_POINTS]; 2];
    for (dst, src) in out.as_flattened_mut().iter_mut().zip(tail) {
        *dst = *src;
    }
    Some(out)
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
