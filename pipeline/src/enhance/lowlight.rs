//! Low-light enhancement from Zero-DCE curves: the curve model ([`CurveModel`],
//! `models/zero_dce_curves_neuro.onnx`) runs on a small copy of the frame; the curves are applied at
//! full size on the GPU ([`super::lowlight_gpu::GpuCurves`]) or by the CPU reference
//! ([`apply_curves_cpu`]).
//!
//! The model gives 24 maps (`[1,24,h,w]`, values in -1..0 from its final tanh): for step `i` in 0..8
//! and channel `c`, map `3 i + c`. Per pixel and channel, with `x` the sRGB value in 0..1 and `a` the
//! bilinearly upsampled map value (along y, then x), eight steps `x <- x - a x (1 - x)` (the sign the model was
//! exported with: its full Zero-DCE++ twin, `models/zero_dce_pp_neuro.onnx`, gives the same image
//! within 2e-7, checked in `pipeline/tests/deglare.rs`). Since `a <= 0`, each step brightens,
//! most in the mid-tones, and 0 and 1 stay fixed, so nothing clips by construction.
//! The result is blended with the input: `out = in + strength (enhanced - in)`. Curves estimated on
//! a small frame are smooth, so the gain follows regions rather than single pixels; with
//! `strength` below 1 the gain in the darkest, noisiest pixels stays moderate and colours do not
//! oversaturate.
//!
//! Parity: GPU and CPU agree within ±1 per channel (`pipeline/tests/deglare.rs`).

use std::path::Path;

use fast_image_resize::Resizer;
use image::RgbaImage;

use super::{bilinear_taps, unit_to_byte, working_size};
use crate::error::{Error, Result};
use crate::imageops::{resize_rgba, Filter};
use crate::infer::{rgba_to_tensor, Layout, Model, SessionConfig, TensorView, ValueRange};

/// Curve steps of Zero-DCE.
pub const STEPS: usize = 8;
/// Curve maps: one per step and channel.
pub const MAPS: usize = 3 * STEPS;
/// The default model file, relative to the working directory.
pub const DEFAULT_MODEL: &str = "models/zero_dce_curves_neuro.onnx";

/// Curve maps at a small size: `MAPS` planes of `width` x `height`.
#[derive(Clone, Debug, PartialEq)]
pub struct Curves {
    pub width: u32,
    pub height: u32,
    /// Planar, `MAPS * width * height` values.
    pub data: Vec<f32>,
}

/// The Zero-DCE curve-map model.
pub struct CurveModel {
    model: Model,
    input: String,
    long_side: u32,
    resizer: Resizer,
    tensor: Vec<f32>,
}

impl CurveModel {
    /// Loads a model shaped like `models/zero_dce_curves_neuro.onnx` (`[1,3,h,w]` in, `[1,24,h,w]`
    /// out) that will run at `long_side` pixels on the long side.
    ///
    /// # Errors
    /// [`Error::Model`] naming the file when it is missing or shaped differently;
    /// [`Error::Runtime`] when ONNX Runtime cannot be loaded.
    pub fn load(path: impl AsRef<Path>, session: &SessionConfig, long_side: u32) -> Result<Self> {
        let path = path.as_ref();
        let model = Model::load(path, session)?;
        let input =
            model.single_input(&[Some(1), Some(3), None, None], "a Zero-DCE curve model")?;
        if !model
            .outputs()
            .iter()
            .any(|o| o.dims.len() == 4 && o.dims[1] == Some(MAPS) && o.is_f32())
        {
            let shapes: Vec<String> = model.outputs().iter().map(ToString::to_string).collect();
            return Err(Error::model(
                path,
                format!(
                    "not a Zero-DCE curve model: expected an f32 output [1,{MAPS},h,w], found {}",
                    shapes.join(", ")
                ),
            ));
        }
        Ok(Self {
            model,
            input,
            long_side,
            resizer: Resizer::new(),
            tensor: Vec::new(),
        })
    }

    /// The size the curves are estimated at for a `width` x `height` frame.
    pub fn curve_size(&self, width: u32, height: u32) -> (u32, u32) {
        working_size(width, height, self.long_side, 1)
    }

    /// Estimates the curve maps of `image` on a copy of [`CurveModel::curve_size`].
    ///
    /// # Errors
    /// Inference failures, naming the model file.
    pub fn estimate(&mut self, image: &RgbaImage) -> Result<Curves> {
        let (w, h) = image.dimensions();
        super::check_frame("lowlight", w, h)?;
        let (cw, ch) = self.curve_size(w, h);
        let small = resize_rgba(&mut self.resizer, image, cw, ch, Filter::Bilinear)?;
        self.tensor.resize(3 * (cw * ch) as usize, 0.0);
        rgba_to_tensor(&small, Layout::Nchw, ValueRange::Unit, &mut self.tensor)?;
        crate::bufpool::recycle(small.into_raw());
        let shape = [1, 3, ch as usize, cw as usize];
        let outputs = self.model.run(&[TensorView {
            name: &self.input,
            shape: &shape,
            data: &self.tensor,
        }])?;
        let want = [1, MAPS, ch as usize, cw as usize];
        let out = outputs
            .into_iter()
            .find(|t| t.shape == want)
            .ok_or_else(|| {
                Error::model(
                    self.model.path(),
                    format!("no output of shape {want:?} for input {shape:?}"),
                )
            })?;
        Ok(Curves {
            width: cw,
            height: ch,
            data: out.data,
        })
    }
}

/// Checks that `curves` holds `MAPS` planes of its size.
pub fn check_curves(curves: &Curves) -> Result<()> {
    let plane = curves.width as usize * curves.height as usize;
    if plane == 0 || curves.data.len() != MAPS * plane {
        return Err(Error::Spec(format!(
            "lowlight: {} curve values do not make {MAPS} maps of {}x{}",
            curves.data.len(),
            curves.width,
            curves.height
        )));
    }
    Ok(())
}

/// Applies `curves` to `src` at full size and blends with `strength`, into `dst` (same size;
/// alpha copied): the CPU reference of the GPU kernel.
///
/// # Errors
/// [`Error::Spec`] when the sizes do not fit.
pub fn apply_curves_cpu(
    src: &RgbaImage,
    dst: &mut RgbaImage,
    curves: &Curves,
    strength: f32,
) -> Result<()> {
    if src.dimensions() != dst.dimensions() {
        return Err(Error::size(
            "lowlight output (must match the source)",
            src.dimensions(),
            dst.dimensions(),
        ));
    }
    check_curves(curves)?;
    let (w, h) = src.dimensions();
    let (cw, ch) = (curves.width, curves.height);
    let plane = (cw * ch) as usize;
    let px = src.as_raw();
    let out: &mut [u8] = dst;
    for y in 0..h {
        let (y0, y1, fy) = bilinear_taps(y, h, ch);
        for x in 0..w {
            let (x0, x1, fx) = bilinear_taps(x, w, cw);
            let (i00, i01, i10, i11) = (
                y0 * cw as usize + x0,
                y0 * cw as usize + x1,
                y1 * cw as usize + x0,
                y1 * cw as usize + x1,
            );
            let i = 4 * (y as usize * w as usize + x as usize);
            for c in 0..3 {
                let input = f32::from(px[i + c]) / 255.0;
                let mut v = input;
                for step in 0..STEPS {
                    let m = &curves.data[(3 * step + c) * plane..(3 * step + c + 1) * plane];
                    // along y, then x: the order of the shader, which interpolates along y once
                    // per run of pixels
                    let left = m[i00] + (m[i10] - m[i00]) * fy;
                    let right = m[i01] + (m[i11] - m[i01]) * fy;
                    let a = left + (right - left) * fx;
                    v -= a * v * (1.0 - v);
                }
                out[i + c] = unit_to_byte(input + strength * (v - input));
            }
            out[i + 3] = px[i + 3];
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    fn flat(a: f32, w: u32, h: u32) -> Curves {
        Curves {
            width: w,
            height: h,
            data: vec![a; MAPS * (w * h) as usize],
        }
    }

    #[test]
    fn negative_curves_brighten_and_keep_black_and_white() {
        let src = RgbaImage::from_fn(4, 1, |x, _| Rgba([[0, 40, 128, 255][x as usize]; 4]));
        let mut dst = RgbaImage::new(4, 1);
        apply_curves_cpu(&src, &mut dst, &flat(-0.5, 2, 2), 1.0).unwrap();
        assert_eq!(dst.get_pixel(0, 0)[0], 0);
        assert!(dst.get_pixel(1, 0)[0] > 80, "{:?}", dst.get_pixel(1, 0));
        assert_eq!(dst.get_pixel(3, 0)[0], 255);
        // strength 0: the input
        apply_curves_cpu(&src, &mut dst, &flat(-0.5, 2, 2), 0.0).unwrap();
        assert_eq!(src, dst);
    }

    #[test]
    fn wrong_curve_count_is_named() {
        let src = RgbaImage::new(4, 4);
        let mut dst = RgbaImage::new(4, 4);
        let bad = Curves {
            width: 2,
            height: 2,
            data: vec![0.0; 5],
        };
        let err = apply_curves_cpu(&src, &mut dst, &bad, 1.0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("24 maps of 2x2"), "{err}");
    }
}
