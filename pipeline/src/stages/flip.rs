//! `flip` — mirrors each frame left-right (the selfie view people expect of their own picture),
//! on the GPU (`gpu::resample` with a mirrored rectangle) or on the CPU.
//!
//! Inputs: any RGBA frame. Outputs: the frame mirrored, same size. Meta is mirrored with it: face,
//! body and hand points move to their mirrored place, so an `overlay` or `avatar` after `flip`
//! still lines up; sides are not renamed (a person's left hand stays their left hand).
//! Options: `backend` = gpu | cpu (default gpu). Both give the same bytes: a mirror samples whole
//! pixels, so no rounding differs.
//! Note: the virtual camera is not mirrored unless the pipeline has `flip`: call apps mirror the
//! self-view themselves and send the unmirrored picture to the others.
//! Example: `doppel live --stages flip,track,avatar`

use super::{BuildContext, StageEntry};
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::gpu::resample::{GpuResample, Rect};
use crate::options::{StageOptions, GPU_OR_CPU as BACKEND};
use crate::stage::{Contract, Stage, StageDoc};

pub const DOC: StageDoc = StageDoc {
    name: "flip",
    summary: "mirrors frames left-right (selfie view), points in the meta with them",
    options: &[BACKEND],
    example: "flip,track,avatar",
    contract: |_| Ok(Contract::NONE),
};

pub const ENTRY: StageEntry = StageEntry {
    doc: &DOC,
    build: |options: &StageOptions, ctx: &BuildContext| {
        Ok(Box::new(Flip::from_options(options, ctx)?))
    },
};

/// The flip stage.
pub struct Flip {
    gpu: Option<Box<GpuResample>>,
}

impl Flip {
    /// Builds the stage; with `backend=gpu` this opens the shared device and compiles the kernel.
    ///
    /// # Errors
    /// [`Error::Option`] for a bad backend; [`Error::Gpu`] naming the CPU alternative.
    pub fn from_options(options: &StageOptions, ctx: &BuildContext) -> Result<Self> {
        let gpu = match options.choice(&BACKEND)? {
            "cpu" => None,
            _ => Some(Box::new(
                ctx.gpu()
                    .and_then(GpuResample::new)
                    .map_err(Error::gpu_or("flip", "flip:backend=cpu"))?,
            )),
        };
        Ok(Self { gpu })
    }
}

impl Stage for Flip {
    fn name(&self) -> &str {
        DOC.name
    }

    /// The GPU backend leaves the frame on the GPU for the next stage.
    fn process(&mut self, mut frame: Frame) -> Result<Frame> {
        let (w, h) = frame.pixels.dimensions();
        match &mut self.gpu {
            Some(gpu) => {
                let src = frame.pixels.texture(gpu.context())?;
                let out = gpu.apply_rect(&src, Rect::mirrored(w, h), (w, h))?;
                frame.pixels.set_texture(out);
            }
            None => image::imageops::flip_horizontal_in_place(frame.pixels.image_mut()?),
        }
        // x' = w - x: every point to its mirrored place.
        frame.meta.map_points([-1.0, w as f32], [1.0, 0.0]);
        if let Some(mask) = &mut frame.meta.mask {
            image::imageops::flip_horizontal_in_place(std::sync::Arc::make_mut(mask));
        }
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Rational, Timestamp};
    use crate::stage::Mode;
    use image::{Rgba, RgbaImage};

    #[test]
    fn gpu_and_cpu_mirror_the_same_bytes_and_the_meta_follows() {
        let src = RgbaImage::from_fn(37, 21, |x, y| {
            Rgba([
                (x * 7) as u8,
                (y * 11) as u8,
                (x * y) as u8,
                200 + (x % 50) as u8,
            ])
        });
        let ctx = BuildContext::new(Mode::Offline);
        let run = |backend: &str| {
            let options = StageOptions::from_pairs("flip", &[("backend", backend)]);
            let mut stage = Flip::from_options(&options, &ctx).expect("flip");
            let mut frame = Frame::new(0, Timestamp::new(0, Rational::new(1, 30)), src.clone());
            frame.meta.bodies.push(crate::meta::Body {
                rect: crate::meta::Rect::new(1.0, 2.0, 11.0, 12.0),
                score: 0.9,
                keypoints: vec![crate::meta::BodyKeypoint {
                    x: 3.0,
                    y: 4.0,
                    z: 0.0,
                    visibility: 1.0,
                }],
            });
            let out = stage.process(frame).expect("process");
            let body = out.meta.bodies[0].clone();
            (out.into_image().expect("pixels"), body)
        };
        let (gpu, body) = run("gpu");
        let (cpu, _) = run("cpu");
        let mut expected = src.clone();
        image::imageops::flip_horizontal_in_place(&mut expected);
        assert_eq!(cpu, expected);
        assert_eq!(
            gpu, expected,
            "the GPU mirror must equal the CPU one exactly"
        );
        assert_eq!(body.rect, crate::meta::Rect::new(26.0, 2.0, 36.0, 12.0));
        assert_eq!(body.keypoints[0].x, 34.0);
    }
}
