//! BlazeFace face detectors: SSD anchors, box and keypoint decoding, weighted non-maximum
//! suppression, and a letterboxed input so frames of any aspect keep their proportions.
//!
//! Models (both: NHWC RGB in -1..1, the frame letterboxed and sampled bilinearly as MediaPipe does;
//! outputs per anchor box centre x, y, width, height, then six keypoints x, y, all in input pixels
//! relative to the anchor centre, and a score logit):
//! - `face_detection_short_range.onnx`: [1,128,128,3] -> [1,896,16], [1,896,1]; faces within ~2 m.
//! - `face_detection_full_range_sparse.onnx`: [1,192,192,3] -> [1,2304,16], [1,2304,1]; faces
//!   within ~5 m (small in the frame), slower. Which one a file is follows from its input size.

use std::path::Path;

use fast_image_resize::Resizer;
use image::RgbaImage;

use super::mesh::{warp_to_tensor_with, Border, Sampling};
use super::types::{Affine, Detection, Point, Rect};
use crate::error::{Error, Result};
use crate::imageops::{resize_rgba, Filter};
use crate::infer::{Model, SessionConfig, TensorView};

/// Input side of the short-range detector.
pub const INPUT_SIZE: u32 = 128;
/// Input side of the full-range detector.
pub const FULL_RANGE_INPUT_SIZE: u32 = 192;
/// Values per anchor in the regressor output: 4 box values + 6 keypoints x 2.
const VALUES: usize = 16;
/// IoU above which two detections are merged.
const NMS_IOU: f32 = 0.3;

/// Anchor centres (in 0..1 of the input) as MediaPipe's `SsdAnchorsCalculator` makes them for the
/// short-range face detector: 4 layers with strides 8, 16, 16, 16, 2 anchors per layer, fixed anchor
/// size 1, offset 0.5. Layers of equal stride share the grid, so stride 8 gives 2 anchors per cell and
/// stride 16 gives 6: 16x16x2 + 8x8x6 = 896.
pub fn short_range_anchors() -> Vec<Point> {
    ssd_anchors(INPUT_SIZE, &[8, 16, 16, 16], 2)
}

/// Anchor centres of the full-range face detector (MediaPipe's `face_detection_full_range.pbtxt`):
/// one layer of stride 4, one anchor per cell, fixed size, offset 0.5: 48 x 48 = 2304.
pub fn full_range_anchors() -> Vec<Point> {
    ssd_anchors(FULL_RANGE_INPUT_SIZE, &[4], 1)
}

/// Which BlazeFace model a detector runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Range {
    /// Faces within ~2 m, 128x128 input (MediaPipe's default for face mesh).
    Short,
    /// Faces within ~5 m, 192x192 input.
    Full,
}

impl Range {
    pub const NAMES: [&'static str; 2] = ["short", "full"];

    /// The model file under `models/`.
    pub fn default_path(self) -> &'static str {
        match self {
            Self::Short => super::DEFAULT_DETECTOR,
            Self::Full => super::FULL_RANGE_DETECTOR,
        }
    }

    fn input(self) -> u32 {
        match self {
            Self::Short => INPUT_SIZE,
            Self::Full => FULL_RANGE_INPUT_SIZE,
        }
    }

    fn anchors(self) -> Vec<Point> {
        match self {
            Self::Short => short_range_anchors(),
            Self::Full => full_range_anchors(),
        }
    }
}

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

/// One SSD detection with `K` keypoints, before it becomes a face [`Detection`] (the pose detector
/// has 4 keypoints, the face detector 6).
#[derive(Clone, Debug, PartialEq)]
pub struct SsdDetection<const K: usize> {
    pub rect: Rect,
    /// Sigmoid of the score logit, 0..1.
    pub score: f32,
    pub keypoints: [Point; K],
}

impl From<SsdDetection<6>> for Detection {
    fn from(d: SsdDetection<6>) -> Self {
        Detection {
            rect: d.rect,
            score: d.score,
            keypoints: d.keypoints,
        }
    }
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

/// Decodes the face detector's raw outputs (box + 6 keypoints per anchor) into detections in
/// model-input pixels (0..`input`), keeping scores above `min_score`; not yet suppressed.
///
/// # Errors
/// [`Error::Spec`] when the output lengths do not match the anchors.
pub fn decode(
    regressors: &[f32],
    logits: &[f32],
    anchors: &[Point],
    input: u32,
    min_score: f32,
) -> Result<Vec<Detection>> {
    Ok(
        decode_ssd::<6>(regressors, logits, anchors, input, min_score)?
            .into_iter()
            .map(Detection::from)
            .collect(),
    )
}

/// [`weighted_nms_ssd`] for face detections.
pub fn weighted_nms(detections: Vec<Detection>, iou: f32) -> Vec<Detection> {
    let ssd = detections
        .into_iter()
        .map(|d| SsdDetection {
            rect: d.rect,
            score: d.score,
            keypoints: d.keypoints,
        })
        .collect();
    weighted_nms_ssd::<6>(ssd, iou)
        .into_iter()
        .map(Detection::from)
        .collect()
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

/// Where a frame sits inside the square model input: scaled by `sx`, `sy` and shifted by `pad_x`,
/// `pad_y` (input pixels).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Letterbox {
    pub sx: f32,
    pub sy: f32,
    pub pad_x: f32,
    pub pad_y: f32,
    /// Size of the frame inside the input.
    pub width: u32,
    pub height: u32,
}

impl Letterbox {
    /// Fits a `w` x `h` frame into `input` x `input`, aspect kept, centred (fractional padding, as
    /// MediaPipe's letterbox).
    pub fn fit(w: u32, h: u32, input: u32) -> Self {
        let scale = input as f32 / w.max(h).max(1) as f32;
        let (fw, fh) = (w.max(1) as f32 * scale, h.max(1) as f32 * scale);
        Self {
            sx: scale,
            sy: scale,
            pad_x: (input as f32 - fw) * 0.5,
            pad_y: (input as f32 - fh) * 0.5,
            width: (fw.round() as u32).clamp(1, input),
            height: (fh.round() as u32).clamp(1, input),
        }
    }

    /// The map from input pixels to frame pixels (continuous coordinates).
    pub fn to_frame_map(&self) -> Affine {
        Affine {
            a: 1.0 / self.sx,
            b: 0.0,
            c: -self.pad_x / self.sx,
            d: 0.0,
            e: 1.0 / self.sy,
            f: -self.pad_y / self.sy,
        }
    }

    /// A point in input pixels back to frame pixels.
    pub fn to_frame(&self, p: Point) -> Point {
        Point::new((p.x - self.pad_x) / self.sx, (p.y - self.pad_y) / self.sy)
    }
}

/// Writes `image` letterboxed into an `input` x `input` NHWC RGB tensor in -1..1 (aspect kept,
/// centred, padding black = -1, as MediaPipe's `ImageToTensorCalculator` with `keep_aspect_ratio` and a
/// zero border), bilinear; returns where the frame sits in it.
///
/// # Errors
/// [`Error::Spec`] when `tensor` does not hold `input * input * 3` values or the image is empty.
pub fn letterbox_tensor(
    resizer: &mut Resizer,
    image: &RgbaImage,
    input: u32,
    tensor: &mut [f32],
) -> Result<Letterbox> {
    let n = input as usize;
    if tensor.len() != n * n * 3 {
        return Err(Error::Spec(format!(
            "letterbox tensor holds {} values; a {n}x{n} RGB input needs {}",
            tensor.len(),
            n * n * 3
        )));
    }
    let fit = Letterbox::fit(image.width(), image.height(), input);
    let small = resize_rgba(resizer, image, fit.width, fit.height, Filter::Bilinear)?;
    tensor.fill(-1.0);
    let (px, py) = (fit.pad_x as usize, fit.pad_y as usize);
    for (y, row) in small
        .as_raw()
        .chunks_exact(fit.width as usize * 4)
        .enumerate()
    {
        let start = ((y + py) * n + px) * 3;
        let dst = &mut tensor[start..start + fit.width as usize * 3];
        for (d, s) in dst.chunks_exact_mut(3).zip(row.chunks_exact(4)) {
            for c in 0..3 {
                d[c] = f32::from(s[c]) / 127.5 - 1.0;
            }
        }
    }
    crate::bufpool::recycle(small.into_raw());
    Ok(fit)
}

/// The face detector: one ONNX Runtime session and its anchors, built once.
pub struct FaceDetector {
    model: Model,
    range: Range,
    input_name: String,
    regressors: usize,
    logits: usize,
    anchors: Vec<Point>,
    tensor: Vec<f32>,
    runs: u64,
}

impl FaceDetector {
    /// Loads `face_detection_short_range.onnx` or `face_detection_full_range_sparse.onnx` (or a
    /// model with the same inputs and outputs); which one follows from the input size.
    ///
    /// # Errors
    /// [`Error::Model`] naming the file when it is missing, not ONNX, or shaped differently;
    /// [`Error::Runtime`] when ONNX Runtime cannot be loaded.
    pub fn load(path: impl AsRef<Path>, config: &SessionConfig) -> Result<Self> {
        let path = path.as_ref();
        let model = Model::load(path, config)?;
        let side = |n: u32| Some(n as usize);
        let range = match model.inputs().first().map(|i| i.dims.as_slice()) {
            Some([_, h, w, _]) if *h == side(FULL_RANGE_INPUT_SIZE) && *w == *h => Range::Full,
            _ => Range::Short,
        };
        let anchors = range.anchors();
        let n = range.input() as usize;
        let input = model.single_input(
            &[Some(1), Some(n), Some(n), Some(3)],
            "a BlazeFace face detector (short range 128x128 or full range 192x192)",
        )?;
        let find = |last: usize| {
            model.outputs().iter().position(|o| {
                o.dims.len() == 3 && o.dims[1] == Some(anchors.len()) && o.dims[2] == Some(last)
            })
        };
        let (Some(regressors), Some(logits)) = (find(VALUES), find(1)) else {
            let shapes: Vec<String> = model.outputs().iter().map(ToString::to_string).collect();
            return Err(Error::model(
                path,
                format!(
                    "not a BlazeFace face detector: expected outputs [1,{0},{VALUES}] and [1,{0},1] for its {n}x{n} input, found {1}",
                    anchors.len(),
                    shapes.join(", ")
                ),
            ));
        };
        Ok(Self {
            model,
            range,
            input_name: input,
            regressors,
            logits,
            anchors,
            tensor: vec![0.0; n * n * 3],
            runs: 0,
        })
    }

    /// Which model this is.
    pub fn range(&self) -> Range {
        self.range
    }

    /// Runs the model once on zeros, not counted in [`Self::runs`] (see [`Model::warm_up`]).
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

    /// Finds faces scoring at least `min_score` in `image`; boxes and keypoints in frame pixels, best
    /// first. A frame too small to hold a face gives no detections, not an error.
    ///
    /// # Errors
    /// [`Error::Model`] when inference fails.
    pub fn detect(&mut self, image: &RgbaImage, min_score: f32) -> Result<Vec<Detection>> {
        let (w, h) = image.dimensions();
        if w == 0 || h == 0 {
            return Ok(Vec::new());
        }
        let input = self.range.input();
        let fit = Letterbox::fit(w, h, input);
        let n = input as usize;
        // Plain bilinear sampling through the letterbox map, as MediaPipe's ImageToTensorCalculator
        // does (an antialiased resize gives a different input, and borderline faces then score
        // differently); padding is black (-1). MediaPipe's map puts input pixel u (not its centre
        // u + 0.5) at frame position `u / scale - pad` in its coordinates, whose pixel centres are
        // integers (doppel's: + 0.5): the same samples here, and the same map back for the boxes, so
        // that the face crops that follow match MediaPipe's (the mesh v2 and blendshape fixtures).
        let to_frame = fit.to_frame_map();
        let mediapipe = Affine {
            c: to_frame.c + 0.5,
            f: to_frame.f + 0.5,
            ..to_frame
        };
        let sample = mediapipe.half_pixel_back();
        warp_to_tensor_with(
            image,
            &sample,
            input,
            2.0,
            -1.0,
            Sampling {
                k: 1,
                border: Border::Zero,
            },
            &mut self.tensor,
        )?;
        let shape = [1, n, n, 3];
        let outputs = self.model.run(&[TensorView {
            name: &self.input_name,
            shape: &shape,
            data: &self.tensor,
        }])?;
        self.runs += 1;
        let (Some(reg), Some(log)) = (outputs.get(self.regressors), outputs.get(self.logits))
        else {
            return Err(Error::model(
                self.model.path(),
                "ONNX Runtime returned fewer outputs than the model declares",
            ));
        };
        let raw = decode(&reg.data, &log.data, &self.anchors, input, min_score)?;
        let mut faces = weighted_nms(raw, NMS_IOU);
        for d in &mut faces {
            let a = mediapipe.apply(d.rect.x0, d.rect.y0);
            let b = mediapipe.apply(d.rect.x1, d.rect.y1);
            d.rect = Rect::new(a.x, a.y, b.x, b.y);
            for k in &mut d.keypoints {
                *k = mediapipe.apply(k.x, k.y);
            }
        }
        Ok(faces)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_match_mediapipe_short_range() {
        let a = short_range_anchors();
        assert_eq!(a.len(), 896);
        assert_eq!(a[0], Point::new(0.5 / 16.0, 0.5 / 16.0));
        assert_eq!(a[1], a[0]);
        assert_eq!(a[2], Point::new(1.5 / 16.0, 0.5 / 16.0));
        assert_eq!(a[512], Point::new(0.5 / 8.0, 0.5 / 8.0));
        assert_eq!(a[517], a[512]);
        assert_eq!(a[518], Point::new(1.5 / 8.0, 0.5 / 8.0));
        assert_eq!(a[895], Point::new(7.5 / 8.0, 7.5 / 8.0));
    }

    #[test]
    fn anchors_match_mediapipe_full_range() {
        let a = full_range_anchors();
        assert_eq!(a.len(), 2304);
        assert_eq!(a[0], Point::new(0.5 / 48.0, 0.5 / 48.0));
        assert_eq!(a[1], Point::new(1.5 / 48.0, 0.5 / 48.0));
        assert_eq!(a[48], Point::new(0.5 / 48.0, 1.5 / 48.0));
        assert_eq!(a[2303], Point::new(47.5 / 48.0, 47.5 / 48.0));
    }

    #[test]
    fn weighted_nms_merges_overlaps_by_score() {
        let det = |x: f32, score: f32| Detection {
            rect: Rect::new(x, 0.0, x + 10.0, 10.0),
            score,
            keypoints: [Point::new(x, 0.0); 6],
        };
        let out = weighted_nms(vec![det(0.0, 0.6), det(2.0, 0.9), det(50.0, 0.7)], 0.3);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].score, 0.9);
        let x = (2.0 * 0.9 + 0.0 * 0.6) / 1.5;
        assert!((out[0].rect.x0 - x).abs() < 1e-5);
        assert!((out[0].keypoints[3].x - x).abs() < 1e-5);
        assert_eq!(out[1].rect.x0, 50.0);
    }

    #[test]
    fn letterbox_round_trips() {
        let fit = Letterbox::fit(640, 480, 128);
        assert_eq!((fit.width, fit.height), (128, 96));
        assert_eq!((fit.pad_x, fit.pad_y), (0.0, 16.0));
        let p = fit.to_frame(Point::new(64.0, 64.0));
        assert!((p.x - 320.0).abs() < 1e-3 && (p.y - 240.0).abs() < 1e-3);
    }
}
