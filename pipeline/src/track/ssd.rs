//! MediaPipe-style SSD detectors (BlazeFace, BlazePose's person detector, BlazePalm): anchors, box and
//! keypoint decoding, weighted non-maximum suppression, and [`SsdModel`], the session with its
//! anchors that all three run through. What differs between them (the input tensor's scale and the
//! letterbox convention, the anchors, the keypoint count) is given by the caller; the rest is here
//! once.

use super::types::{Affine, Point, Rect};
use crate::error::{Error, Result};
use crate::infer::Model;

/// SSD anchor centres for an `input` x `input` model with one layer per stride and `per_layer`
/// anchors per cell (consecutive layers of equal stride merged, as MediaPipe does).
pub fn ssd_anchors(input: u32, strides: &[u32], per_layer: usize) -> Vec<Point> {
    let mut anchors = Vec::new();
    let mut i = 0;
    while i < strides.len() {
        let stride = strides[i];
        let mut repeats = 0;
        while i < strides.len() && strides[i] == stride {
            repeats += 1;
            i += 1;
        }
        let cells = input.div_ceil(stride);
        for y in 0..cells {
            for x in 0..cells {
                let centre = Point::new(
                    (x as f32 + 0.5) / cells as f32,
                    (y as f32 + 0.5) / cells as f32,
                );
                anchors.extend(std::iter::repeat_n(centre, repeats * per_layer));
            }
        }
    }
    anchors
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x.clamp(-100.0, 100.0)).exp())
}

/// One SSD detection with `K` keypoints, before it becomes a face [`crate::meta::Detection`] (the pose detector
/// has 4 keypoints, the face detector 6).
#[derive(Clone, Debug, PartialEq)]
pub struct SsdDetection<const K: usize> {
    pub rect: Rect,
    /// Sigmoid of the score logit, 0..1.
    pub score: f32,
    pub keypoints: [Point; K],
}

/// Decodes raw SSD outputs with `K` keypoints per anchor (MediaPipe's `TensorsToDetectionsCalculator`
/// with `reverse_output_order`, a fixed anchor size and `x_scale` = `w_scale` = `input`): per anchor box
/// centre x, y, width, height, then `K` keypoints x, y, all in input pixels relative to the anchor
/// centre. Keeps scores above `min_score`, in model-input pixels (0..`input`); not yet suppressed.
///
/// # Errors
/// [`Error::Spec`] when the output lengths do not match the anchors.
pub fn decode_ssd<const K: usize>(
    regressors: &[f32],
    logits: &[f32],
    anchors: &[Point],
    input: u32,
    min_score: f32,
) -> Result<Vec<SsdDetection<K>>> {
    let values = 4 + 2 * K;
    if regressors.len() != anchors.len() * values || logits.len() != anchors.len() {
        return Err(Error::Spec(format!(
            "detector outputs do not fit {} anchors: {} regressor values (expected {}), {} scores",
            anchors.len(),
            regressors.len(),
            anchors.len() * values,
            logits.len()
        )));
    }
    let s = input as f32;
    let mut out = Vec::new();
    for (i, (anchor, &logit)) in anchors.iter().zip(logits).enumerate() {
        let score = sigmoid(logit);
        if score < min_score {
            continue;
        }
        let r = &regressors[i * values..(i + 1) * values];
        let cx = r[0] + anchor.x * s;
        let cy = r[1] + anchor.y * s;
        let (w, h) = (r[2], r[3]);
        let mut keypoints = [Point::default(); K];
        for (k, kp) in keypoints.iter_mut().enumerate() {
            *kp = Point::new(r[4 + 2 * k] + anchor.x * s, r[5 + 2 * k] + anchor.y * s);
        }
        out.push(SsdDetection {
            rect: Rect::new(cx - w * 0.5, cy - h * 0.5, cx + w * 0.5, cy + h * 0.5),
            score,
            keypoints,
        });
    }
    Ok(out)
}

/// Weighted non-maximum suppression (MediaPipe's `WEIGHTED` algorithm): detections overlapping the
/// best remaining one by more than `iou` are merged into it, box and keypoints averaged by score; the
/// merged detection keeps the best score. Result sorted by score, best first.
pub fn weighted_nms_ssd<const K: usize>(
    mut detections: Vec<SsdDetection<K>>,
    iou: f32,
) -> Vec<SsdDetection<K>> {
    detections.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    while let Some(top) = detections.first().cloned() {
        let (group, rest): (Vec<SsdDetection<K>>, Vec<SsdDetection<K>>) = detections
            .into_iter()
            .partition(|d| top.rect.iou(&d.rect) > iou);
        detections = rest;
        let total: f32 = group.iter().map(|d| d.score).sum();
        let mut merged = SsdDetection {
            rect: Rect::default(),
            score: top.score,
            keypoints: [Point::default(); K],
        };
        for d in &group {
            let w = d.score / total;
            merged.rect.x0 += d.rect.x0 * w;
            merged.rect.y0 += d.rect.y0 * w;
            merged.rect.x1 += d.rect.x1 * w;
            merged.rect.y1 += d.rect.y1 * w;
            for (m, k) in merged.keypoints.iter_mut().zip(&d.keypoints) {
                m.x += k.x * w;
                m.y += k.y * w;
            }
        }
        out.push(merged);
    }
    out
}

impl<const K: usize> SsdDetection<K> {
    /// The detection with its box corners and keypoints sent through `map` (e.g. model input to
    /// frame pixels).
    pub fn mapped(mut self, map: &Affine) -> Self {
        let a = map.apply(self.rect.x0, self.rect.y0);
        let b = map.apply(self.rect.x1, self.rect.y1);
        self.rect = Rect::new(a.x, a.y, b.x, b.y);
        for k in &mut self.keypoints {
            *k = map.apply(k.x, k.y);
        }
        self
    }
}

/// One SSD detector with `K` keypoints: its ONNX Runtime session, anchors and input tensor, built
/// once. The caller fills [`Self::tensor_mut`] (NHWC RGB, `input` x `input`) the way its model
/// expects, then calls [`Self::detect`] with the map from input to frame pixels.
pub struct SsdModel<const K: usize> {
    model: Model,
    input: u32,
    input_name: String,
    regressors: usize,
    logits: usize,
    anchors: Vec<Point>,
    nms_iou: f32,
    tensor: Vec<f32>,
    runs: u64,
}

impl<const K: usize> SsdModel<K> {
    /// Wraps a loaded `model` with one input [1,`input`,`input`,3] and the outputs [1,A,4+2K]
    /// (regressors) and [1,A,1] (score logits) for its A `anchors`; `what` names the detector in
    /// errors ("the palm detector"). Detections overlapping by more than `nms_iou` are merged.
    ///
    /// # Errors
    /// [`Error::Model`] naming the file when the inputs or outputs are shaped differently.
    pub fn new(
        model: Model,
        input: u32,
        anchors: Vec<Point>,
        nms_iou: f32,
        what: &str,
    ) -> Result<Self> {
        let n = input as usize;
        let input_name = model.single_input(&[Some(1), Some(n), Some(n), Some(3)], what)?;
        let values = 4 + 2 * K;
        let find = |last: usize| {
            model.outputs().iter().position(|o| {
                o.dims.len() == 3 && o.dims[1] == Some(anchors.len()) && o.dims[2] == Some(last)
            })
        };
        let (Some(regressors), Some(logits)) = (find(values), find(1)) else {
            let shapes: Vec<String> = model.outputs().iter().map(ToString::to_string).collect();
            return Err(Error::model(
                model.path(),
                format!(
                    "not {what}: expected outputs [1,{0},{values}] and [1,{0},1] for its {n}x{n} input, found {1}",
                    anchors.len(),
                    shapes.join(", ")
                ),
            ));
        };
        Ok(Self {
            model,
            input,
            input_name,
            regressors,
            logits,
            anchors,
            nms_iou,
            tensor: vec![0.0; n * n * 3],
            runs: 0,
        })
    }

    /// The input side in pixels.
    pub fn input(&self) -> u32 {
        self.input
    }

    /// The input tensor to fill before [`Self::detect`].
    pub fn tensor_mut(&mut self) -> &mut Vec<f32> {
        &mut self.tensor
    }

    /// How many times the model has run.
    pub fn runs(&self) -> u64 {
        self.runs
    }

    /// Runs the model once on zeros, not counted in [`Self::runs`] (see [`Model::warm_up`]).
    ///
    /// # Errors
    /// [`Error::Model`] when inference fails.
    pub fn warm_up(&mut self) -> Result<()> {
        self.model.warm_up()
    }

    /// Runs the model on the tensor as filled and returns the detections scoring at least
    /// `min_score`, merged by weighted NMS, best first, sent through `to_frame` (input pixels to
    /// frame pixels).
    ///
    /// # Errors
    /// [`Error::Model`] when inference fails.
    pub fn detect(&mut self, min_score: f32, to_frame: &Affine) -> Result<Vec<SsdDetection<K>>> {
        let outputs = self
            .model
            .run_square(&self.input_name, self.input, &self.tensor)?;
        self.runs += 1;
        let (Some(reg), Some(log)) = (outputs.get(self.regressors), outputs.get(self.logits))
        else {
            return Err(Error::model(
                self.model.path(),
                "ONNX Runtime returned fewer outputs than the model declares",
            ));
        };
        let raw = decode_ssd::<K>(&reg.data, &log.data, &self.anchors, self.input, min_score)?;
        Ok(weighted_nms_ssd(raw, self.nms_iou)
            .into_iter()
            .map(|d| d.mapped(to_frame))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_nms_merges_overlaps_by_score() {
        let det = |x: f32, score: f32| SsdDetection::<6> {
            rect: Rect::new(x, 0.0, x + 10.0, 10.0),
            score,
            keypoints: [Point::new(x, 0.0); 6],
        };
        let out = weighted_nms_ssd(vec![det(0.0, 0.6), det(2.0, 0.9), det(50.0, 0.7)], 0.3);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].score, 0.9);
        let x = (2.0 * 0.9 + 0.0 * 0.6) / 1.5;
        assert!((out[0].rect.x0 - x).abs() < 1e-5);
        assert!((out[0].keypoints[3].x - x).abs() < 1e-5);
        assert_eq!(out[1].rect.x0, 50.0);
    }
}
