//! The iris model: five iris points per eye (centre first, then four on the rim) for gaze.
//!
//! Model: `iris_landmark.onnx`, input [1,64,64,3] NHWC RGB in 0..1: a square crop around one eye,
//! centred between its corners, 2.3 times the corner distance, rotated so the corners are level (as
//! MediaPipe's iris graph crops it). The model is made for one eye side: the person's right eye is
//! mirrored before it and its points mirrored back. Outputs: [1,213] (71 eye contour and brow points
//! x, y, z in crop pixels) and [1,15] (5 iris points x, y, z).

use std::path::Path;

use image::RgbaImage;

use super::mesh::warp_to_tensor;
use super::types::{Affine, Point, Roi};
use crate::error::{Error, Result};
use crate::infer::{Model, SessionConfig, TensorView};

/// Default iris model, relative to the working directory.
pub const DEFAULT_IRIS: &str = "models/iris_landmark.onnx";
/// Input side of the iris model.
pub const INPUT_SIZE: u32 = 64;
/// Crop side over the eye-corner distance (MediaPipe's iris ROI scale).
pub const CROP_SCALE: f32 = 2.3;
/// Iris points per eye.
pub const IRIS_POINTS: usize = 5;
/// Eye corners (outer, inner) of the person's right and left eye in the face mesh.
const EYES: [(usize, usize); 2] = [(33, 133), (263, 362)];

/// The iris points of both eyes (person's right, then left), 5 each, x and y in frame pixels, z in
/// the same scale (relative).
pub type IrisPoints = [[[f32; 3]; IRIS_POINTS]; 2];

/// The crop around one eye from its two corners (in the order they should appear left to right in
/// the crop).
pub fn eye_roi(a: Point, b: Point) -> Roi {
    Roi {
        center: a.midpoint(b),
        size: a.distance(b) * CROP_SCALE,
        angle: (b.y - a.y).atan2(b.x - a.x),
    }
}

/// `map` with the crop's x axis mirrored: crop x `u` reads what `n - u` read.
fn mirrored(map: &Affine, n: u32) -> Affine {
    let n = n as f32;
    Affine {
        a: -map.a,
        b: map.b,
        c: map.c + map.a * n,
        d: -map.d,
        e: map.e,
        f: map.f + map.d * n,
    }
}

/// The iris model: one ONNX Runtime session.
pub struct IrisModel {
    model: Model,
    input_name: String,
    iris: usize,
    tensor: Vec<f32>,
}

impl IrisModel {
    /// Loads `iris_landmark.onnx` (or a model with the same input and an output of 15 values).
    ///
    /// # Errors
    /// [`Error::Model`] naming the file when it is missing, not ONNX, or shaped differently.
    pub fn load(path: impl AsRef<Path>, config: &SessionConfig) -> Result<Self> {
        let path = path.as_ref();
        let model = Model::load(path, config)?;
        let n = INPUT_SIZE as usize;
        let input = model.single_input(&[Some(1), Some(n), Some(n), Some(3)], "the iris model")?;
        let count = |o: &crate::infer::TensorInfo| -> Option<usize> {
            o.dims.iter().try_fold(1usize, |acc, d| d.map(|d| acc * d))
        };
        let Some(iris) = model
            .outputs()
            .iter()
            .position(|o| count(o) == Some(IRIS_POINTS * 3))
        else {
            let shapes: Vec<String> = model.outputs().iter().map(ToString::to_string).collect();
            return Err(Error::model(
                path,
                format!(
                    "not the iris model: expected an output of {} values (5 iris points x, y, z), found {}",
                    IRIS_POINTS * 3,
                    shapes.join(", ")
                ),
            ));
        };
        Ok(Self {
            model,
            input_name: input,
            iris,
            tensor: vec![0.0; n * n * 3],
        })
    }

    /// Runs the model once on zeros (see [`Model::warm_up`]).
    ///
    /// # Errors
    /// [`Error::Model`] when inference fails.
    pub fn warm_up(&mut self) -> Result<()> {
        self.model.warm_up()
    }

    /// The iris points of both eyes of a 468-point `mesh` in `image`; `None` when the mesh is short.
    ///
    /// # Errors
    /// [`Error::Model`] when inference fails.
    pub fn run(&mut self, image: &RgbaImage, mesh: &[[f32; 3]]) -> Result<Option<IrisPoints>> {
        let mut out = [[[0.0f32; 3]; IRIS_POINTS]; 2];
        for (side, (outer, inner)) in EYES.into_iter().enumerate() {
            let (Some(o), Some(i)) = (mesh.get(outer), mesh.get(inner)) else {
                return Ok(None);
            };
            let (o, i) = (Point::new(o[0], o[1]), Point::new(i[0], i[1]));
            // Left to right in the image for an upright face: the right eye outer-inner, the left
            // eye inner-outer.
            let roi = if side == 0 {
                eye_roi(o, i)
            } else {
                eye_roi(i, o)
            };
            let mut map = roi.to_frame(INPUT_SIZE);
            if side == 0 {
                map = mirrored(&map, INPUT_SIZE);
            }
            warp_to_tensor(image, &map, INPUT_SIZE, 1.0, 0.0, &mut self.tensor)?;
            let n = INPUT_SIZE as usize;
            let outputs = self.model.run(&[TensorView {
                name: &self.input_name,
                shape: &[1, n, n, 3],
                data: &self.tensor,
            }])?;
            let Some(points) = outputs.get(self.iris) else {
                return Err(Error::model(
                    self.model.path(),
                    "ONNX Runtime returned fewer outputs than the model declares",
                ));
            };
            let z_scale = map.scale();
            for (dst, q) in out[side].iter_mut().zip(points.data.chunks_exact(3)) {
                let p = map.apply(q[0], q[1]);
                *dst = [p.x, p.y, q[2] * z_scale];
            }
        }
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrored_map_swaps_crop_sides() {
        let roi = eye_roi(Point::new(10.0, 20.0), Point::new(30.0, 20.0));
        let map = roi.to_frame(INPUT_SIZE);
        let m = mirrored(&map, INPUT_SIZE);
        let (a, b) = (map.apply(0.0, 32.0), m.apply(64.0, 32.0));
        assert!(a.distance(b) < 1e-4);
        assert!((roi.size - 46.0).abs() < 1e-4 && roi.angle.abs() < 1e-6);
    }
}
