//! MediaPipe's 52 ARKit blendshapes: 51 scores from `face_blendshapes.onnx` on 146 points of the v2
//! mesh, plus `tongueOut` from the v2 mesh model itself; then per-person calibration and per-channel
//! smoothing.
//!
//! Model: `face_blendshapes.onnx` (MediaPipe FaceLandmarker's `face_blendshapes.tflite`), input
//! `points` [1,146,2]: x, y of the mesh points [`LANDMARK_SUBSET`] in pixels of the frame (the model
//! normalises them itself; x and y must share one unit: image-normalised coordinates of a non-square
//! frame moved scores by up to 0.51); output `blendshapes` [52] in 0..1, in [`MODEL_NAMES`] order.
//! The pre-processing follows MediaPipe 0.10.21's `face_blendshapes_graph.cc`, as checked end to end
//! in `../shared/models/README-blendshapes-hands.md` (scores within 0.009 of MediaPipe's).
//!
//! Scores are kept in [`ARKIT_NAMES`] order ([`Scores`]): the model's order without `_neutral`,
//! then `tongueOut`.

use std::path::Path;

use super::filter::{OneEuro, OneEuroParams, FALLBACK_DT};
use super::mesh::POINTS_V2;
use crate::error::{Error, Result};
use crate::infer::{Model, SessionConfig, TensorView};
pub use crate::rig::expressions::ARKIT_NAMES;

/// Default blendshape model, relative to the working directory.
pub const DEFAULT_BLENDSHAPES: &str = "models/face_blendshapes.onnx";

/// The 146 of the 478 v2 mesh points the model reads (MediaPipe `face_blendshapes_graph.cc`,
/// `kLandmarksSubsetIdxs`).
pub const LANDMARK_SUBSET: [usize; 146] = [
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63, 65,
    66, 67, 70, 78, 80, 81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133, 136,
    144, 145, 146, 148, 149, 150, 152, 153, 154, 155, 157, 158, 159, 160, 161, 162, 163, 168, 172,
    173, 176, 178, 181, 185, 191, 195, 197, 234, 246, 249, 251, 263, 267, 269, 270, 276, 282, 283,
    284, 285, 288, 291, 293, 295, 296, 297, 300, 308, 310, 311, 312, 314, 317, 318, 321, 323, 324,
    332, 334, 336, 338, 356, 361, 362, 365, 373, 374, 375, 377, 378, 379, 380, 381, 382, 384, 385,
    386, 387, 388, 389, 390, 397, 398, 400, 402, 405, 409, 415, 454, 466, 468, 469, 470, 471, 472,
    473, 474, 475, 476, 477,
];

/// The model's 52 outputs in order: `_neutral`, then [`ARKIT_NAMES`] up to `tongueOut`.
pub const MODEL_OUTPUTS: usize = 52;

/// Index of `tongueOut` in [`ARKIT_NAMES`] (the last; it comes from the mesh model).
pub const TONGUE_OUT: usize = 51;

/// The 52 values in [`ARKIT_NAMES`] order, each 0..1.
pub type Scores = [f32; 52];

/// The blendshape model: one ONNX Runtime session.
pub struct BlendshapeModel {
    model: Model,
    input_name: String,
    output: usize,
    input: Vec<f32>,
    runs: u64,
}

impl BlendshapeModel {
    /// Loads `face_blendshapes.onnx` (or a model with the same input and output).
    ///
    /// # Errors
    /// [`Error::Model`] naming the file when it is missing, not ONNX, or shaped differently.
    pub fn load(path: impl AsRef<Path>, config: &SessionConfig) -> Result<Self> {
        let path = path.as_ref();
        let model = Model::load(path, config)?;
        let input = model.single_input(
            &[Some(1), Some(LANDMARK_SUBSET.len()), Some(2)],
            "the face blendshape model",
        )?;
        let count = |o: &crate::infer::TensorInfo| -> Option<usize> {
            o.dims.iter().try_fold(1usize, |acc, d| d.map(|d| acc * d))
        };
        let Some(output) = model
            .outputs()
            .iter()
            .position(|o| count(o) == Some(MODEL_OUTPUTS))
        else {
            let shapes: Vec<String> = model.outputs().iter().map(ToString::to_string).collect();
            return Err(Error::model(
                path,
                format!(
                    "not the face blendshape model: expected an output of {MODEL_OUTPUTS} scores, found {}",
                    shapes.join(", ")
                ),
            ));
        };
        Ok(Self {
            model,
            input_name: input,
            output,
            input: vec![0.0; LANDMARK_SUBSET.len() * 2],
            runs: 0,
        })
    }

    /// Runs the model once on zeros (see [`Model::warm_up`]).
    ///
    /// # Errors
    /// [`Error::Model`] when inference fails.
    pub fn warm_up(&mut self) -> Result<()> {
        self.model.warm_up()
    }

    /// How many times the model has run.
    pub fn runs(&self) -> u64 {
        self.runs
    }

    /// The scores of a 478-point v2 `mesh` (frame pixels) with `tongue_out` (the mesh model's
    /// probability) as the last; `None` when the mesh has fewer points (a v1 mesh).
    ///
    /// # Errors
    /// [`Error::Model`] when inference fails.
    pub fn run(&mut self, mesh: &[[f32; 3]], tongue_out: f32) -> Result<Option<Scores>> {
        if mesh.len() < POINTS_V2 {
            return Ok(None);
        }
        for (dst, &i) in self.input.chunks_exact_mut(2).zip(LANDMARK_SUBSET.iter()) {
            dst[0] = mesh[i][0];
            dst[1] = mesh[i][1];
        }
        let outputs = self.model.run(&[TensorView {
            name: &self.input_name,
            shape: &[1, LANDMARK_SUBSET.len(), 2],
            data: &self.input,
        }])?;
        self.runs += 1;
        let Some(raw) = outputs.get(self.output) else {
            return Err(Error::model(
                self.model.path(),
                "ONNX Runtime returned fewer outputs than the model declares",
            ));
        };
        let mut scores = [0.0f32; 52];
        // Output 0 is `_neutral`; 1..52 are ARKIT_NAMES[0..51].
        for (dst, v) in scores.iter_mut().zip(raw.data.iter().skip(1)) {
            *dst = clean(*v);
        }
        scores[TONGUE_OUT] = clean(tongue_out);
        Ok(Some(scores))
    }
}

fn clean(v: f32) -> f32 {
    if v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// Whether channel `i` of [`ARKIT_NAMES`] is an eye channel (blink, gaze, squint, wide): these are
/// smoothed with the fast parameters.
pub fn is_eye_channel(i: usize) -> bool {
    ARKIT_NAMES.get(i).is_some_and(|n| n.starts_with("eye"))
}

/// One Euro parameters of the value filter: eye channels fast (a blink lasts ~100-150 ms), the rest
/// (mouth, jaw, brows, cheeks, nose, tongue) medium.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ValueSmoothing {
    pub eyes: OneEuroParams,
    pub mouth: OneEuroParams,
}

impl Default for ValueSmoothing {
    /// Mild: the points are already smoothed (see `track::filter`), and a second filter adds lag.
    /// Values are in 0..1 per second, so `beta` 5 lets a blink (0 -> 1 in ~0.1 s: 10/s) through at
    /// a ~50 Hz cutoff while a still face's flicker of +-0.02 is cut near `min_cutoff`. Chosen on
    /// the WolfgangLanger clip against MediaPipe's unsmoothed values (`pipeline/tests/blendshapes.rs`).
    fn default() -> Self {
        Self {
            eyes: OneEuroParams {
                min_cutoff: 4.0,
                beta: 5.0,
                d_cutoff: 1.0,
            },
            mouth: OneEuroParams {
                min_cutoff: 2.0,
                beta: 5.0,
                d_cutoff: 1.0,
            },
        }
    }
}

/// A One Euro filter per channel of [`Scores`].
#[derive(Clone, Debug, Default)]
pub struct ScoreFilter {
    filters: Vec<OneEuro>,
    last_t: Option<f64>,
}

impl ScoreFilter {
    /// Filters `scores` in place at time `t` (seconds).
    pub fn filter(&mut self, scores: &mut Scores, t: f64, params: &ValueSmoothing) {
        if self.filters.len() != scores.len() {
            self.filters = vec![OneEuro::default(); scores.len()];
        }
        let dt = match self.last_t {
            Some(prev) if t > prev => t - prev,
            _ => FALLBACK_DT,
        } as f32;
        self.last_t = Some(t);
        for (i, (v, f)) in scores.iter_mut().zip(&mut self.filters).enumerate() {
            let p = if is_eye_channel(i) {
                &params.eyes
            } else {
                &params.mouth
            };
            *v = f.filter(*v, dt, p).clamp(0.0, 1.0);
        }
    }
}

/// Per-person calibration of one channel: the neutral face's score `neutral` becomes 0 and the
/// remaining range is stretched back to 0..1, `(v - n) / (1 - n)`, clamped. A channel whose neutral
/// is already near 1 (no range left) reads 0.
pub fn calibrated(v: f32, neutral: f32) -> f32 {
    let span = 1.0 - neutral;
    if span <= 1e-3 {
        return 0.0;
    }
    ((v - neutral) / span).clamp(0.0, 1.0)
}

/// The mean of `samples` per channel; `None` for no samples.
pub fn mean(samples: &[Scores]) -> Option<Scores> {
    if samples.is_empty() {
        return None;
    }
    let n = samples.len() as f32;
    let mut out = [0.0f32; 52];
    for s in samples {
        for (o, v) in out.iter_mut().zip(s) {
            *o += v / n;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_subset_match_the_model() {
        assert_eq!(ARKIT_NAMES[TONGUE_OUT], "tongueOut");
        assert_eq!(ARKIT_NAMES[0], "browDownLeft");
        assert_eq!(ARKIT_NAMES[50], "noseSneerRight");
        assert!(LANDMARK_SUBSET.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(LANDMARK_SUBSET[145], POINTS_V2 - 1);
        let eyes = (0..52).filter(|&i| is_eye_channel(i)).count();
        // Blink, 8 gaze, squint, wide: 14.
        assert_eq!(eyes, 14);
    }

    #[test]
    fn calibration_moves_the_neutral_to_zero() {
        assert_eq!(calibrated(0.3, 0.3), 0.0);
        assert_eq!(calibrated(0.1, 0.3), 0.0);
        assert!((calibrated(0.65, 0.3) - 0.5).abs() < 1e-6);
        assert_eq!(calibrated(1.0, 0.3), 1.0);
        assert_eq!(calibrated(0.9, 1.0), 0.0);
        let m = mean(&[[0.2; 52], [0.4; 52]]).unwrap();
        assert!((m[7] - 0.3).abs() < 1e-6);
        assert!(mean(&[]).is_none());
    }

    #[test]
    fn eyes_follow_faster_than_the_mouth() {
        let p = ValueSmoothing::default();
        let mut f = ScoreFilter::default();
        let mut s = [0.0f32; 52];
        f.filter(&mut s, 0.0, &p);
        // A step to 1 on every channel: after one frame the eye channels are further along.
        let mut s = [1.0f32; 52];
        f.filter(&mut s, 1.0 / 30.0, &p);
        let blink = ARKIT_NAMES
            .iter()
            .position(|n| *n == "eyeBlinkLeft")
            .unwrap();
        let jaw = ARKIT_NAMES.iter().position(|n| *n == "jawOpen").unwrap();
        assert!(s[blink] > s[jaw], "{} vs {}", s[blink], s[jaw]);
        assert!(s.iter().all(|v| (0.0..=1.0).contains(v)));
    }
}
