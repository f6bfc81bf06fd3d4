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
use super::ssd::{ssd_anchors, SsdDetection, SsdModel};
use super::types::{Affine, Detection, Point};
use crate::error::{Error, Result};
use crate::imageops::{resize_rgba, Filter};
use crate::infer::{Model, SessionConfig};

/// Input side of the short-range detector.
pub const INPUT_SIZE: u32 = 128;
/// Input side of the full-range detector.
pub const FULL_RANGE_INPUT_SIZE: u32 = 192;
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

impl From<SsdDetection<6>> for Detection {
    fn from(d: SsdDetection<6>) -> Self {
        Detection {
            rect: d.rect,
            score: d.score,
            keypoints: d.keypoints,
        }
    }
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
    ssd: SsdModel<6>,
    range: Range,
}

impl FaceDetector {
    /// Loads `face_detection_short_range.onnx` or `face_detection_full_range_sparse.onnx` (or a
    /// model with the same inputs and outputs); which one follows from the input size.
    ///
    /// # Errors
    /// [`Error::Model`] naming the file when it is missing, not ONNX, or shaped differently;
    /// [`Error::Runtime`] when ONNX Runtime cannot be loaded.
    pub fn load(path: impl AsRef<Path>, config: &SessionConfig) -> Result<Self> {
        let model = Model::load(path.as_ref(), config)?;
        let side = |n: u32| Some(n as usize);
        let range = match model.inputs().first().map(|i| i.dims.as_slice()) {
            Some([_, h, w, _]) if *h == side(FULL_RANGE_INPUT_SIZE) && *w == *h => Range::Full,
            _ => Range::Short,
        };
        let ssd = SsdModel::new(
            model,
            range.input(),
            range.anchors(),
            NMS_IOU,
            "a BlazeFace face detector (short range 128x128 or full range 192x192)",
        )?;
        Ok(Self { ssd, range })
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
        self.ssd.warm_up()
    }

    /// How many times the model has run.
    pub fn runs(&self) -> u64 {
        self.ssd.runs()
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
        // Plain bilinear sampling through the letterbox map, as MediaPipe's ImageToTensorCalculator
        // does (an antialiased resize gives a different input, and borderline faces then score
        // differently); padding is black (-1). MediaPipe's map puts input pixel u (not its centre
        // u + 0.5) at frame position `u / scale - pad` in its coordinates, whose pixel centres are
        // integers (doppel's: + 0.5): the same samples here, and the same map back for the boxes, so
        // that the face crops that follow match MediaPipe's (the mesh v2 and blendshape fixtures).
        let to_frame = Letterbox::fit(w, h, input).to_frame_map();
        let mediapipe = Affine {
            c: to_frame.c + 0.5,
            f: to_frame.f + 0.5,
            ..to_frame
        };
        warp_to_tensor_with(
            image,
            &mediapipe.half_pixel_back(),
            input,
            2.0,
            -1.0,
            Sampling {
                k: 1,
                border: Border::Zero,
            },
            self.ssd.tensor_mut(),
        )?;
        let faces = self.ssd.detect(min_score, &mediapipe)?;
        Ok(faces.into_iter().map(Detection::from).collect())
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
    fn letterbox_round_trips() {
        let fit = Letterbox::fit(640, 480, 128);
        assert_eq!((fit.width, fit.height), (128, 96));
        assert_eq!((fit.pad_x, fit.pad_y), (0.0, 16.0));
        let p = fit.to_frame(Point::new(64.0, 64.0));
        assert!((p.x - 320.0).abs() < 1e-3 && (p.y - 240.0).abs() < 1e-3);
    }
}
