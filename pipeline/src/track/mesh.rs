//! The face mesh: a rotated square crop of the frame (affine warp on the CPU, bilinear), the model,
//! and its points mapped back to frame pixels. Two models, told apart by their input size
//! ([`MeshVersion`]):
//!
//! - v2 (default), `face_landmarks_detector.onnx` (MediaPipe FaceLandmarker's mesh): input
//!   [1,256,256,3] NHWC RGB in 0..1; outputs `landmarks` [1,1,1,1434] (478 x, y, z in crop pixels:
//!   the 468 mesh points, then 10 iris points), `presence_logit` [1,1,1,1] and `tongue_out` [1,1]
//!   (a probability). Its points feed the blendshape model ([`super::blendshapes`]).
//! - v1, `face_landmark.onnx` (the legacy FaceMesh solution's): input [1,192,192,3]; outputs
//!   [1,1,1,1404] (468 x, y, z) and [1,1,1,1] face-present logit. About 5x faster per tracked
//!   frame, no iris, and its points are not what the blendshape model was trained on.
//!
//! Both see a crop around the face rotated so the eyes are level and 1.5x the face box.

use std::path::Path;

use image::RgbaImage;

use super::types::{Affine, Detection, Point, Rect, Roi, LEFT_EYE, RIGHT_EYE};
use crate::error::{Error, Result};
use crate::infer::{Model, SessionConfig};

/// Input side of the v1 mesh model.
pub const INPUT_SIZE: u32 = 192;
/// Input side of the v2 mesh model.
pub const INPUT_SIZE_V2: u32 = 256;
/// Points in the mesh topology (v1's whole output; v2 adds [`IRIS_POINTS_V2`] after them).
pub const POINTS: usize = 468;
/// Iris points the v2 model adds after the mesh: the person's right iris (centre, then 4 on the
/// rim) at 468..473, the left one at 473..478.
pub const IRIS_POINTS_V2: usize = 10;
/// Points the v2 model outputs.
pub const POINTS_V2: usize = POINTS + IRIS_POINTS_V2;

/// Which face mesh model a session runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeshVersion {
    /// `face_landmark.onnx`: 468 points from a 192-pixel crop.
    V1,
    /// `face_landmarks_detector.onnx`: 478 points (with irises) and tongue-out from a 256-pixel crop.
    V2,
}

impl MeshVersion {
    /// The side of the model's square input.
    pub fn input_size(self) -> u32 {
        match self {
            Self::V1 => INPUT_SIZE,
            Self::V2 => INPUT_SIZE_V2,
        }
    }

    /// The points the model outputs.
    pub fn points(self) -> usize {
        match self {
            Self::V1 => POINTS,
            Self::V2 => POINTS_V2,
        }
    }

    /// The crop-to-frame map the crop samples through, from the map points come back through.
    ///
    /// Both reproduce MediaPipe's crop, because the models (and the blendshape model downstream) are
    /// sensitive to it (a half-pixel offset or a black border moved blendshape scores by up to
    /// 0.14-0.5, see `../shared/models/README-blendshapes-hands.md`): MediaPipe reads crop pixel
    /// (u, v) at `map(u, v)` (no half-pixel shift) and replicates the frame's edge.
    fn sampling(self, map: &Affine) -> (Affine, Sampling) {
        // warp_to_tensor_with samples at (u + 0.5, v + 0.5): move the map back by half a crop pixel.
        (
            map.half_pixel_back(),
            Sampling {
                k: supersampling(map.scale()),
                border: Border::Replicate,
            },
        )
    }
}

/// How much larger than the face box the crop is (MediaPipe's `scale_x`/`scale_y` 1.5).
pub const CROP_SCALE: f32 = 1.5;

/// Mesh indices of the outer corners of the person's right and left eyes (MediaPipe uses them to
/// level the next frame's crop).
pub const RIGHT_EYE_OUTER: usize = 33;
pub const LEFT_EYE_OUTER: usize = 263;
/// Mesh indices of the inner corners of the right and left eyes.
pub const RIGHT_EYE_INNER: usize = 133;
pub const LEFT_EYE_INNER: usize = 362;
/// Mesh index of the nose tip.
pub const NOSE_TIP: usize = 1;
/// Mesh indices of the inner upper and lower lip.
pub const UPPER_LIP: usize = 13;
pub const LOWER_LIP: usize = 14;
/// Mesh indices at the right and left ear tragion (face outline at ear height).
pub const RIGHT_TRAGION: usize = 234;
pub const LEFT_TRAGION: usize = 454;

/// The crop for a fresh detection: centred on the box, `CROP_SCALE` times its longer side, rotated so
/// the detector's eyes are level.
pub fn roi_from_detection(d: &Detection) -> Roi {
    let (r, l) = (d.keypoints[RIGHT_EYE], d.keypoints[LEFT_EYE]);
    Roi {
        center: d.rect.center(),
        size: d.rect.width().max(d.rect.height()) * CROP_SCALE,
        angle: (l.y - r.y).atan2(l.x - r.x),
    }
}

/// The crop that follows a mesh into the next frame: rotated by the eye line (outer corners), around
/// the mesh's box measured in that rotated frame, `CROP_SCALE` times its longer side.
pub fn roi_from_mesh(mesh: &[[f32; 3]]) -> Option<Roi> {
    let r = mesh.get(RIGHT_EYE_OUTER)?;
    let l = mesh.get(LEFT_EYE_OUTER)?;
    let angle = (l[1] - r[1]).atan2(l[0] - r[0]);
    let (s, c) = angle.sin_cos();
    // Box of the points in the face's own axes (rotate by -angle), then its centre back.
    let (mut u0, mut v0, mut u1, mut v1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for p in mesh {
        let u = c * p[0] + s * p[1];
        let v = -s * p[0] + c * p[1];
        u0 = u0.min(u);
        u1 = u1.max(u);
        v0 = v0.min(v);
        v1 = v1.max(v);
    }
    let (uc, vc) = ((u0 + u1) * 0.5, (v0 + v1) * 0.5);
    let size = (u1 - u0).max(v1 - v0) * CROP_SCALE;
    if !(size.is_finite() && size > 0.0) {
        return None;
    }
    Some(Roi {
        center: Point::new(c * uc - s * vc, s * uc + c * vc),
        size,
        angle,
    })
}

/// The crop that follows a v2 mesh into the next frame, as MediaPipe FaceLandmarker computes it
/// (`face_landmarks_detector_graph.cc`: landmarks -> detection -> rect, rotation from point 33 to
/// 263, scale 1.5, square on the long side): centred on the points' upright (axis-aligned) box,
/// `CROP_SCALE` times its longer side. Upright rather than in the face's axes as
/// [`roi_from_mesh`]: the blendshape scores follow the crop, so v2 crops what MediaPipe crops.
pub fn roi_from_mesh_v2(mesh: &[[f32; 3]]) -> Option<Roi> {
    let r = mesh.get(RIGHT_EYE_OUTER)?;
    let l = mesh.get(LEFT_EYE_OUTER)?;
    let angle = (l[1] - r[1]).atan2(l[0] - r[0]);
    let rect = Rect::bounding(mesh.iter().map(|p| Point::new(p[0], p[1])))?;
    let size = rect.width().max(rect.height()) * CROP_SCALE;
    if !(size.is_finite() && size > 0.0) {
        return None;
    }
    Some(Roi {
        center: rect.center(),
        size,
        angle,
    })
}

/// The detector's six keypoints read off a mesh (eye centres between the eye corners, nose tip, mouth
/// centre between the lips, the face outline at ear height).
pub fn keypoints_from_mesh(mesh: &[[f32; 3]]) -> Option<[Point; 6]> {
    let p = |i: usize| mesh.get(i).map(|q| Point::new(q[0], q[1]));
    Some([
        p(RIGHT_EYE_OUTER)?.midpoint(p(RIGHT_EYE_INNER)?),
        p(LEFT_EYE_OUTER)?.midpoint(p(LEFT_EYE_INNER)?),
        p(NOSE_TIP)?,
        p(UPPER_LIP)?.midpoint(p(LOWER_LIP)?),
        p(RIGHT_TRAGION)?,
        p(LEFT_TRAGION)?,
    ])
}

/// What a crop shows where it reaches outside the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Border {
    /// Black.
    Zero,
    /// The nearest edge pixel (MediaPipe's `BORDER_REPLICATE`, used for body crops, which often reach
    /// past the frame edge).
    Replicate,
}

/// How [`warp_to_tensor_with`] samples: `k` x `k` bilinear samples per crop pixel (1 = plain
/// bilinear) and what lies outside the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sampling {
    pub k: usize,
    pub border: Border,
}

/// How many samples per axis a crop pixel averages when it covers `scale` frame pixels: 1 (plain
/// bilinear, as MediaPipe's `ImageToTensorCalculator` samples) up to 4 frame pixels per crop pixel —
/// a 768-pixel crop, a face filling a 720p frame — then enough that larger faces (4K frames) do not
/// alias, at most 4. Each step up costs k x k samples per crop pixel; MediaPipe samples plain bilinear at
/// every scale, so below the threshold doppel's crop is the reference's.
pub fn supersampling(scale: f32) -> usize {
    (scale / 4.0).ceil().clamp(1.0, 4.0) as usize
}

/// One bilinear RGB sample at continuous frame position `x`, `y` (pixel centres at +0.5); outside the
/// image is black. `raw` is RGBA8 rows of `w` pixels, `h` rows.
#[inline(always)]
fn bilinear(raw: &[u8], w: i64, h: i64, border: Border, x: f32, y: f32) -> [f32; 3] {
    let (x, y) = (x - 0.5, y - 0.5);
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (xi, yi) = (x0 as i64, y0 as i64);
    if xi >= 0 && yi >= 0 && xi + 1 < w && yi + 1 < h {
        // Interior: the four texels are two adjacent pairs in two rows.
        let i = ((yi * w + xi) * 4) as usize;
        let j = i + (w * 4) as usize;
        let (top, bottom) = (&raw[i..i + 8], &raw[j..j + 8]);
        let mut out = [0.0f32; 3];
        for c in 0..3 {
            let t = f32::from(top[c]) + (f32::from(top[c + 4]) - f32::from(top[c])) * fx;
            let b = f32::from(bottom[c]) + (f32::from(bottom[c + 4]) - f32::from(bottom[c])) * fx;
            out[c] = t + (b - t) * fy;
        }
        return out;
    }
    let texel = |x: i64, y: i64| -> [f32; 3] {
        let (x, y) = match border {
            Border::Replicate => (x.clamp(0, w - 1), y.clamp(0, h - 1)),
            Border::Zero => (x, y),
        };
        if x < 0 || y < 0 || x >= w || y >= h {
            return [0.0; 3];
        }
        let i = ((y * w + x) * 4) as usize;
        [
            f32::from(raw[i]),
            f32::from(raw[i + 1]),
            f32::from(raw[i + 2]),
        ]
    };
    let (t00, t10, t01, t11) = (
        texel(xi, yi),
        texel(xi + 1, yi),
        texel(xi, yi + 1),
        texel(xi + 1, yi + 1),
    );
    let mut out = [0.0f32; 3];
    for c in 0..3 {
        let top = t00[c] + (t10[c] - t00[c]) * fx;
        let bottom = t01[c] + (t11[c] - t01[c]) * fx;
        out[c] = top + (bottom - top) * fy;
    }
    out
}

/// Samples `image` through `map` (crop pixel -> frame pixel, continuous coordinates) into an `n` x `n`
/// RGB tensor, NHWC, each channel `value / 255 * scale + offset`; frame outside the image is black.
/// Bilinear at each crop pixel's centre; when one crop pixel covers more than 4 frame pixels, `k` x `k`
/// bilinear samples per crop pixel are averaged ([`supersampling`]) so that large faces do not alias.
///
/// The map is affine, so the sample position advances by a constant step along a row: one
/// multiply-add per coordinate per sample instead of a full transform.
///
/// # Errors
/// [`Error::Spec`] when `out` does not hold `n * n * 3` values.
pub fn warp_to_tensor(
    image: &RgbaImage,
    map: &Affine,
    n: u32,
    scale: f32,
    offset: f32,
    out: &mut [f32],
) -> Result<()> {
    warp_to_tensor_with(
        image,
        map,
        n,
        scale,
        offset,
        Sampling {
            k: supersampling(map.scale()),
            border: Border::Zero,
        },
        out,
    )
}

/// As [`warp_to_tensor`] with the sampling given.
///
/// # Errors
/// [`Error::Spec`] when `out` does not hold `n * n * 3` values.
pub fn warp_to_tensor_with(
    image: &RgbaImage,
    map: &Affine,
    n: u32,
    scale: f32,
    offset: f32,
    sampling: Sampling,
    out: &mut [f32],
) -> Result<()> {
    let n = n as usize;
    let k = sampling.k.max(1);
    if out.len() != n * n * 3 {
        return Err(Error::Spec(format!(
            "crop tensor holds {} values; a {n}x{n} RGB crop needs {}",
            out.len(),
            n * n * 3
        )));
    }
    let (w, h) = (i64::from(image.width()), i64::from(image.height()));
    let raw = image.as_raw().as_slice();
    if w == 0 || h == 0 {
        out.fill(offset);
        return Ok(());
    }
    let weight = scale / (255.0 * (k * k) as f32);
    let fixed_weight = weight / FIXED_ONE;
    let step = 1.0 / k as f32;
    // Where each of the k x k sample lines of crop row `v` starts in the frame.
    let line_start = |v: usize, sx: usize, sy: usize| {
        map.apply(
            (sx as f32 + 0.5) * step,
            v as f32 + (sy as f32 + 0.5) * step,
        )
    };
    let row_step = FixedPoint::from_frame(map.a, map.d);
    let mut acc = vec![0u32; n * 3];
    for (v, row) in out.chunks_exact_mut(n * 3).enumerate() {
        // Most rows of a face crop lie wholly inside the frame: those take the integer path (one
        // bounds test per row, not per sample), the rest the float path that knows the border.
        let mut starts = [FixedPoint { x: 0, y: 0 }; MAX_FIXED_LINES];
        let lines = k * k;
        let interior = lines <= MAX_FIXED_LINES
            && (0..lines).all(|s| {
                let p = line_start(v, s % k, s / k);
                FixedPoint::interior_line(p.x, p.y, row_step, n, w, h)
                    .map(|start| starts[s] = start)
                    .is_some()
            });
        if interior {
            acc.fill(0);
            for start in &starts[..lines] {
                accumulate_interior(raw, w as usize, *start, row_step, &mut acc);
            }
            for (c, a) in row.iter_mut().zip(&acc) {
                *c = *a as f32 * fixed_weight + offset;
            }
            continue;
        }
        for sy in 0..k {
            for sx in 0..k {
                let p = line_start(v, sx, sy);
                let (mut x, mut y) = (p.x, p.y);
                let initialise = sx == 0 && sy == 0;
                for px in row.chunks_exact_mut(3) {
                    let s = bilinear(raw, w, h, sampling.border, x, y);
                    if initialise {
                        px[0] = s[0];
                        px[1] = s[1];
                        px[2] = s[2];
                    } else {
                        px[0] += s[0];
                        px[1] += s[1];
                        px[2] += s[2];
                    }
                    x += map.a;
                    y += map.d;
                }
            }
        }
        for c in row.iter_mut() {
            *c = *c * weight + offset;
        }
    }
    Ok(())
}

/// Most sample lines per crop row the integer path sums (k = 4: 16 x 255 x 2^16 still fits a u32).
const MAX_FIXED_LINES: usize = 16;
/// Fractional bits of [`FixedPoint`] positions.
const FIXED_BITS: u32 = 16;
/// Bits of the bilinear weights: 1/256 steps, finer than OpenCV's `warpAffine` (1/32) that
/// MediaPipe's CPU crop uses.
const WEIGHT_BITS: u32 = 8;
/// What one texel of value 1 sums to through the two weight stages (256 x 256).
const FIXED_ONE: f32 = (1u32 << (2 * WEIGHT_BITS)) as f32;

/// A frame position in 16.16 fixed point, already shifted by the half-pixel so that the integer
/// part is the top-left texel of the bilinear footprint.
#[derive(Clone, Copy, Debug)]
struct FixedPoint {
    x: i64,
    y: i64,
}

impl FixedPoint {
    fn from_frame(x: f32, y: f32) -> Self {
        let one = f64::from(1u32 << FIXED_BITS);
        Self {
            x: (f64::from(x) * one).round() as i64,
            y: (f64::from(y) * one).round() as i64,
        }
    }

    /// The start of a line of `n` samples from frame position `x`, `y` stepping by `step`, when every
    /// sample's 2x2 footprint lies inside a `w` x `h` frame (the line is straight, so its two ends
    /// decide); `None` otherwise.
    fn interior_line(x: f32, y: f32, step: Self, n: usize, w: i64, h: i64) -> Option<Self> {
        let start = Self::from_frame(x - 0.5, y - 0.5);
        let last = n.saturating_sub(1) as i64;
        let end = Self {
            x: start.x + step.x * last,
            y: start.y + step.y * last,
        };
        let inside = |p: Self| {
            p.x >= 0 && p.y >= 0 && (p.x >> FIXED_BITS) + 1 < w && (p.y >> FIXED_BITS) + 1 < h
        };
        (inside(start) && inside(end)).then_some(start)
    }
}

/// Adds one line of bilinear RGB samples, integer weights, to `acc` (3 sums per crop pixel). Every
/// footprint is inside the frame ([`FixedPoint::interior_line`]). Sums stay below 2^32: a sample
/// adds at most 255 x 2^16, and at most 16 samples meet in one pixel.
fn accumulate_interior(raw: &[u8], w: usize, start: FixedPoint, step: FixedPoint, acc: &mut [u32]) {
    let (mut x, mut y) = (start.x, start.y);
    let frac_shift = FIXED_BITS - WEIGHT_BITS;
    let full = 1u32 << WEIGHT_BITS;
    let mask = i64::from(full - 1);
    for a in acc.chunks_exact_mut(3) {
        let (xi, yi) = ((x >> FIXED_BITS) as usize, (y >> FIXED_BITS) as usize);
        let fx = ((x >> frac_shift) & mask) as u32;
        let fy = ((y >> frac_shift) & mask) as u32;
        let i = (yi * w + xi) * 4;
        let j = i + w * 4;
        let (top, bottom) = (&raw[i..i + 8], &raw[j..j + 8]);
        for c in 0..3 {
            let t = u32::from(top[c]) * (full - fx) + u32::from(top[c + 4]) * fx;
            let b = u32::from(bottom[c]) * (full - fx) + u32::from(bottom[c + 4]) * fx;
            a[c] += t * (full - fy) + b * fy;
        }
        x += step.x;
        y += step.y;
    }
}

/// What the mesh model found in one crop.
#[derive(Clone, Debug, PartialEq)]
pub struct MeshResult {
    /// 468 (v1) or 478 (v2) points in frame pixels (z scaled like x and y).
    pub points: Vec<[f32; 3]>,
    /// Face-present probability, 0..1.
    pub presence: f32,
    /// Tongue-out probability, 0..1 (v2 only).
    pub tongue_out: Option<f32>,
}

/// The face mesh model: one ONNX Runtime session, built once.
pub struct FaceMesh {
    model: Model,
    version: MeshVersion,
    input_name: String,
    points: usize,
    presence: usize,
    tongue_out: Option<usize>,
    tensor: Vec<f32>,
    runs: u64,
}

/// Number of values of a fully known output shape.
fn value_count(o: &crate::infer::TensorInfo) -> Option<usize> {
    o.dims.iter().try_fold(1usize, |acc, d| d.map(|d| acc * d))
}

impl FaceMesh {
    /// Loads `face_landmarks_detector.onnx` (v2) or `face_landmark.onnx` (v1), or a model with the
    /// same inputs and outputs; the input size tells which.
    ///
    /// # Errors
    /// [`Error::Model`] naming the file when it is missing, not ONNX, or shaped differently;
    /// [`Error::Runtime`] when ONNX Runtime cannot be loaded.
    pub fn load(path: impl AsRef<Path>, config: &SessionConfig) -> Result<Self> {
        let path = path.as_ref();
        let model = Model::load(path, config)?;
        let version = match model.inputs() {
            [one] if one.dims.get(1) == Some(&Some(INPUT_SIZE_V2 as usize)) => MeshVersion::V2,
            _ => MeshVersion::V1,
        };
        let n = version.input_size() as usize;
        let input = model.single_input(
            &[Some(1), Some(n), Some(n), Some(3)],
            "a face mesh model (192 or 256 pixels)",
        )?;
        let outputs = model.outputs();
        let points = outputs
            .iter()
            .position(|o| value_count(o) == Some(version.points() * 3));
        // v2 has two single-value outputs: told apart by name (`presence_logit`, `tongue_out`, as
        // the shared conversion named them), else taken in model order (presence first).
        let singles: Vec<usize> = (0..outputs.len())
            .filter(|&i| value_count(&outputs[i]) == Some(1))
            .collect();
        let named = |name: &str| singles.iter().copied().find(|&i| outputs[i].name == name);
        let presence = named("presence_logit").or_else(|| singles.first().copied());
        let tongue_out = match version {
            MeshVersion::V1 => None,
            MeshVersion::V2 => named("tongue_out")
                .or_else(|| singles.iter().copied().find(|&i| Some(i) != presence)),
        };
        let (Some(points), Some(presence)) = (points, presence) else {
            let shapes: Vec<String> = outputs.iter().map(ToString::to_string).collect();
            return Err(Error::model(
                path,
                format!(
                    "not the face mesh model: expected outputs of {} values ({} x, y, z) and 1 value \
                     (face present), found {}",
                    version.points() * 3,
                    version.points(),
                    shapes.join(", ")
                ),
            ));
        };
        Ok(Self {
            model,
            version,
            input_name: input,
            points,
            presence,
            tongue_out,
            tensor: vec![0.0; n * n * 3],
            runs: 0,
        })
    }

    /// Which model this is.
    pub fn version(&self) -> MeshVersion {
        self.version
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

    /// The crop tensor of the last run ([1,n,n,3] RGB 0..1), for debugging and tests.
    pub fn last_crop(&self) -> &[f32] {
        &self.tensor
    }

    /// Runs the mesh on the crop `roi` of `image`.
    ///
    /// # Errors
    /// [`Error::Model`] when inference fails.
    pub fn run(&mut self, image: &RgbaImage, roi: &Roi) -> Result<MeshResult> {
        let size = self.version.input_size();
        let map = roi.to_frame(size);
        let (sample_map, sampling) = self.version.sampling(&map);
        warp_to_tensor_with(
            image,
            &sample_map,
            size,
            1.0,
            0.0,
            sampling,
            &mut self.tensor,
        )?;
        let outputs = self
            .model
            .run_square(&self.input_name, size, &self.tensor)?;
        self.runs += 1;
        let (Some(raw), Some(flag)) = (outputs.get(self.points), outputs.get(self.presence)) else {
            return Err(Error::model(
                self.model.path(),
                "ONNX Runtime returned fewer outputs than the model declares",
            ));
        };
        let z_scale = map.scale();
        let points = raw
            .data
            .chunks_exact(3)
            .map(|q| {
                let p = map.apply(q[0], q[1]);
                [p.x, p.y, q[2] * z_scale]
            })
            .collect();
        let logit = flag.data.first().copied().unwrap_or(f32::NEG_INFINITY);
        let tongue_out = self
            .tongue_out
            .and_then(|i| outputs.get(i))
            .and_then(|t| t.data.first().copied())
            .map(|p| {
                if p.is_finite() {
                    p.clamp(0.0, 1.0)
                } else {
                    0.0
                }
            });
        Ok(MeshResult {
            points,
            presence: 1.0 / (1.0 + (-logit.clamp(-100.0, 100.0)).exp()),
            tongue_out,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roi_maps_crop_centre_and_axes() {
        let roi = Roi {
            center: Point::new(100.0, 50.0),
            size: 96.0,
            angle: std::f32::consts::FRAC_PI_2,
        };
        let m = roi.to_frame(192);
        let c = m.apply(96.0, 96.0);
        assert!((c.x - 100.0).abs() < 1e-4 && (c.y - 50.0).abs() < 1e-4);
        // Crop x runs along frame +y when rotated by 90 degrees (y down).
        let p = m.apply(192.0, 96.0);
        assert!((p.x - 100.0).abs() < 1e-3 && (p.y - 98.0).abs() < 1e-3);
        assert!((m.scale() - 0.5).abs() < 1e-6);
    }

    #[test]
    fn warp_identity_reproduces_pixels() {
        let img = RgbaImage::from_fn(8, 8, |x, y| {
            image::Rgba([(x * 30) as u8, (y * 30) as u8, 7, 255])
        });
        let roi = Roi {
            center: Point::new(4.0, 4.0),
            size: 8.0,
            angle: 0.0,
        };
        let mut out = vec![0.0; 8 * 8 * 3];
        warp_to_tensor(&img, &roi.to_frame(8), 8, 255.0, 0.0, &mut out).unwrap();
        for (i, p) in img.pixels().enumerate() {
            for c in 0..3 {
                assert!((out[i * 3 + c] - f32::from(p[c])).abs() < 1e-3);
            }
        }
        assert!(warp_to_tensor(&img, &roi.to_frame(8), 8, 1.0, 0.0, &mut out[1..]).is_err());
    }

    #[test]
    fn roi_from_mesh_levels_a_rotated_square() {
        // Points of a square rotated by 0.3 rad; outer eye corners along the rotated x axis.
        let angle = 0.3f32;
        let (s, c) = angle.sin_cos();
        let mut mesh = vec![[0.0f32; 3]; POINTS];
        for (i, p) in mesh.iter_mut().enumerate() {
            let u = (i % 20) as f32 * 5.0 - 50.0;
            let v = (i / 20) as f32 * 4.0 - 46.0;
            *p = [200.0 + c * u - s * v, 100.0 + s * u + c * v, 0.0];
        }
        mesh[RIGHT_EYE_OUTER] = [200.0 - c * 30.0, 100.0 - s * 30.0, 0.0];
        mesh[LEFT_EYE_OUTER] = [200.0 + c * 30.0, 100.0 + s * 30.0, 0.0];
        let roi = roi_from_mesh(&mesh).unwrap();
        assert!((roi.angle - angle).abs() < 1e-4, "{roi:?}");
        assert!((roi.size - 95.0 * 1.5).abs() < 1e-2, "{roi:?}");
    }
}
