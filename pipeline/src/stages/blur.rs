//! `blur` — Gaussian blur, on the GPU (wgpu compute, `shaders/blur.wgsl`) or on the CPU.
//!
//! Inputs: any RGBA frame. Outputs: the frame blurred, same size, meta unchanged.
//! Options: `radius` 0..=32 (default 2; 0 leaves pixels unchanged), `sigma` (default radius/2),
//! `backend` = gpu | cpu (default gpu). Both backends compute the same premultiplied-alpha,
//! edge-clamped separable blur and agree within ±1 per channel (see [`crate::gpu::blur`]).
//! The GPU backend opens the shared device when the stage is built, so a machine without an adapter
//! fails before the first frame, with what to install.
//! Example: `doppel process in.mp4 -o soft.mp4 --stages resize:width=640,blur:radius=4`

use super::{BuildContext, StageEntry};
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::gpu::blur::{gaussian_blur_with, BlurScratch, GaussianWeights, GpuBlur, MAX_RADIUS};
use crate::options::StageOptions;
use crate::options::{OptKind, OptSpec};
use crate::stage::{Contract, Stage, StageDoc};

const RADIUS: OptSpec = OptSpec {
    name: "radius",
    kind: OptKind::U32 {
        default: 2,
        min: 0,
        max: MAX_RADIUS,
    },
    help: "taps on each side of the centre (0 = unchanged)",
};
const SIGMA: OptSpec = OptSpec {
    name: "sigma",
    kind: OptKind::OptF32 {
        min: 0.1,
        max: 100.0,
        absent: "radius/2",
    },
    help: "Gaussian standard deviation in pixels",
};
use crate::options::GPU_OR_CPU as BACKEND;

pub const DOC: StageDoc = StageDoc {
    name: "blur",
    summary: "Gaussian blur (premultiplied alpha, clamped edges) on the GPU or CPU",
    options: &[RADIUS, SIGMA, BACKEND],
    example: "resize:width=640,blur:radius=4",
    contract: |_| Ok(Contract::NONE),
};

pub const ENTRY: StageEntry = StageEntry {
    doc: &DOC,
    build: |options: &StageOptions, ctx: &BuildContext| {
        Ok(Box::new(Blur::from_options(options, ctx)?))
    },
};

/// Where the blur runs.
enum Backend {
    Gpu(Box<GpuBlur>),
    Cpu(BlurScratch),
}

/// The blur stage.
pub struct Blur {
    weights: GaussianWeights,
    backend: Backend,
}

impl Blur {
    /// Builds the stage; with `backend=gpu` this opens the shared GPU device and compiles the
    /// kernel, so GPU problems surface here.
    pub fn from_options(options: &StageOptions, ctx: &BuildContext) -> Result<Self> {
        let radius = options.u32(&RADIUS)?;
        let sigma = options.opt_f32(&SIGMA)?;
        let weights = GaussianWeights::new(radius, sigma)?;
        let backend = match options.choice(&BACKEND)? {
            "cpu" => Backend::Cpu(BlurScratch::default()),
            _ => {
                let gpu = ctx
                    .gpu()
                    .and_then(GpuBlur::new)
                    .map_err(Error::gpu_or("blur", "blur:backend=cpu"))?;
                Backend::Gpu(Box::new(gpu))
            }
        };
        Ok(Self { weights, backend })
    }

    /// `gpu` or `cpu`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Gpu(_) => "gpu",
            Backend::Cpu(_) => "cpu",
        }
    }
}

impl Stage for Blur {
    fn name(&self) -> &str {
        DOC.name
    }

    /// The GPU backend leaves the frame on the GPU for the next stage (no readback here).
    fn process(&mut self, mut frame: Frame) -> Result<Frame> {
        match &mut self.backend {
            Backend::Gpu(gpu) => {
                let src = frame.pixels.texture(gpu.context())?;
                let out = gpu.apply(&src, &self.weights)?;
                frame.pixels.set_texture(out);
            }
            Backend::Cpu(scratch) => {
                let mut out = crate::bufpool::image(frame.width(), frame.height());
                gaussian_blur_with(frame.pixels.image()?, &mut out, &self.weights, scratch)?;
                frame.pixels.set_image(out);
            }
        }
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Rational, Timestamp};
    use image::{Rgba, RgbaImage};

    fn stage(pairs: &[(&str, &str)]) -> Result<Blur> {
        Blur::from_options(
            &StageOptions::from_pairs("blur", pairs),
            &BuildContext::new(crate::Mode::Offline),
        )
    }

    #[test]
    fn rejects_bad_options() {
        let err = stage(&[("radius", "33"), ("backend", "cpu")])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("radius") && err.contains("0 to 32"), "{err}");
        let err = stage(&[("sigma", "0"), ("backend", "cpu")])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("sigma"), "{err}");
        let err = stage(&[("backend", "tpu")]).err().unwrap().to_string();
        assert!(err.contains("gpu, cpu"), "{err}");
    }

    #[test]
    fn cpu_backend_blurs_a_frame() {
        let mut s = stage(&[("radius", "3"), ("backend", "cpu")]).unwrap();
        assert_eq!(s.backend_name(), "cpu");
        let image = RgbaImage::from_fn(32, 16, |x, _| {
            if x < 16 {
                Rgba([0, 0, 0, 255])
            } else {
                Rgba([200, 100, 50, 255])
            }
        });
        let frame = Frame::new(7, Timestamp::new(0, Rational::new(1, 30)), image);
        let out = s.process(frame).unwrap();
        assert_eq!(out.seq, 7);
        let edge = out.pixels.cpu_image().unwrap().get_pixel(16, 8);
        assert!(edge[0] > 0 && edge[0] < 200, "{edge:?}");
        assert_eq!(
            out.pixels.cpu_image().unwrap().get_pixel(0, 0),
            &Rgba([0, 0, 0, 255])
        );
    }
}
