//! `deglare` — suppresses night glare (bloom, veiling glare and halos around bright lights).
//!
//! Inputs: any RGBA frame, any size. Outputs: the frame with the estimated glare subtracted, same
//! size; light cores, alpha and meta unchanged; a frame without bright lights comes back unchanged
//! (shader method) or nearly so (learned model, which acts only within a mask around bright lights).
//! Options:
//! - `backend` = gpu | cpu | onnx (default gpu): `gpu` runs the shader method (highlight detection,
//!   PSF spread bounded by the local lower envelope, subtraction in linear light;
//!   `shaders/deglare.wgsl`), `cpu` its CPU reference (same output within ±1), `onnx` the learned
//!   model `models/deglare.onnx` at a working size, its glare layer smoothed, capped like the
//!   shader method's and subtracted at full size. Every backend removes at most 25% of a pixel's
//!   light and keeps light cores, so a photo without glare changes by at most 9 levels of 255
//!   outside its lights.
//! - `strength` 0..=1 (default 1): fraction of the estimated glare removed.
//! - `threshold` (gpu/cpu; default 0.95): sRGB level above which a pixel is a light source.
//! - `gain` (gpu/cpu; default 20): how much glare the PSF lets each light cause.
//! - `knee` (default 0.03): linear background level above which the removal levels off
//!   (at most `0.5 * knee` is taken from a bright sky: compressed, not cut into).
//! - `model`, `size`, `threads` (onnx): model file, working long side (default 320), intra-op
//!   threads.
//!
//! See [`crate::enhance::deglare`] for the method.
//! Example: `doppel process night.mp4 -o clear.mp4 --stages deglare,lowlight`

use super::{BuildContext, StageEntry};
use crate::enhance::deglare::{deglare_cpu, GlareModel, GlareParams, GlareScratch, DEFAULT_MODEL};
use crate::enhance::deglare_gpu::GpuDeglare;
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::options::StageOptions;
use crate::options::{OptKind, OptSpec};
use crate::stage::{Contract, Stage, StageDoc};

const BACKEND: OptSpec = OptSpec {
    name: "backend",
    kind: OptKind::Choice {
        choices: &["gpu", "cpu", "onnx"],
        default: "gpu",
    },
    help: "gpu (shader method, WGSL), cpu (its reference) or onnx (learned model)",
};
const STRENGTH: OptSpec = OptSpec {
    name: "strength",
    kind: OptKind::F32 {
        default: 1.0,
        min: 0.0,
        max: 1.0,
    },
    help: "fraction of the estimated glare removed",
};
const THRESHOLD: OptSpec = OptSpec {
    name: "threshold",
    kind: OptKind::F32 {
        default: 0.95,
        min: 0.5,
        max: 0.99,
    },
    help: "gpu/cpu: sRGB level above which a pixel is a light",
};
const GAIN: OptSpec = OptSpec {
    name: "gain",
    kind: OptKind::F32 {
        default: 20.0,
        min: 0.0,
        max: 1000.0,
    },
    help: "gpu/cpu: glare each light may cause (PSF scale)",
};
const KNEE: OptSpec = OptSpec {
    name: "knee",
    kind: OptKind::F32 {
        default: 0.03,
        min: 0.001,
        max: 1.0,
    },
    help: "linear background level above which removal levels off",
};
const MODEL: OptSpec = OptSpec {
    name: "model",
    kind: OptKind::Path {
        default: Some(DEFAULT_MODEL),
    },
    help: "onnx: the glare model file",
};
const SIZE: OptSpec = OptSpec {
    name: "size",
    kind: OptKind::U32 {
        default: 320,
        min: 64,
        max: 1280,
    },
    help: "onnx: long side of the frame copy the model sees",
};
use crate::options::MODEL_PROVIDER as PROVIDER;
use crate::options::MODEL_THREADS as THREADS;

pub const DOC: StageDoc = StageDoc {
    name: "deglare",
    summary: "suppresses glare, bloom and halos around bright lights (night shots)",
    options: &[
        BACKEND, STRENGTH, THRESHOLD, GAIN, KNEE, MODEL, SIZE, THREADS, PROVIDER,
    ],
    example: "deglare:backend=gpu,lowlight:strength=0.6",
    contract: |_| Ok(Contract::NONE),
};

pub const ENTRY: StageEntry = StageEntry {
    doc: &DOC,
    build: |options: &StageOptions, ctx: &BuildContext| {
        Ok(Box::new(Deglare::from_options(options, ctx)?))
    },
};

enum Backend {
    Gpu(Box<GpuDeglare>),
    Cpu(Box<GlareScratch>),
    Onnx(Box<GlareModel>),
}

/// The deglare stage.
pub struct Deglare {
    params: GlareParams,
    backend: Backend,
}

impl Deglare {
    /// Builds the stage: opens the GPU device or loads the model, so problems surface here.
    ///
    /// # Errors
    /// [`Error::Option`] for bad values; [`Error::Gpu`] without a usable adapter;
    /// [`Error::Model`]/[`Error::Runtime`] for the onnx backend's model or ONNX Runtime.
    pub fn from_options(options: &StageOptions, ctx: &BuildContext) -> Result<Self> {
        let params = GlareParams {
            strength: options.f32(&STRENGTH)?,
            threshold: options.f32(&THRESHOLD)?,
            gain: options.f32(&GAIN)?,
            knee: options.f32(&KNEE)?,
            ..GlareParams::default()
        };
        let size = options.u32(&SIZE)?;
        let threads = options.opt_u32(&THREADS)?;
        let backend = match options.choice(&BACKEND)? {
            "cpu" => Backend::Cpu(Box::default()),
            "onnx" => {
                let session =
                    ctx.session_before_frame_work(options, threads.map(|t| t as usize))?;
                let path = options.path(&MODEL, ctx.locator())?;
                Backend::Onnx(Box::new(GlareModel::load(path, &session, size)?))
            }
            _ => {
                let gpu = ctx.gpu().and_then(GpuDeglare::new).map_err(Error::gpu_or(
                    "deglare",
                    "deglare:backend=cpu or deglare:backend=onnx",
                ))?;
                Backend::Gpu(Box::new(gpu))
            }
        };
        Ok(Self { params, backend })
    }

    /// `gpu`, `cpu` or `onnx`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Gpu(_) => "gpu",
            Backend::Cpu(_) => "cpu",
            Backend::Onnx(_) => "onnx",
        }
    }

    /// Deglares one image into a new one.
    ///
    /// # Errors
    /// As the backend's run.
    pub fn apply(&mut self, image: &image::RgbaImage) -> Result<image::RgbaImage> {
        let mut out = crate::bufpool::image(image.width(), image.height());
        match &mut self.backend {
            Backend::Gpu(gpu) => gpu.run(image, &mut out, &self.params)?,
            Backend::Cpu(scratch) => deglare_cpu(image, &mut out, &self.params, scratch)?,
            Backend::Onnx(model) => model.deglare(image, &mut out, &self.params)?,
        }
        Ok(out)
    }
}

impl Stage for Deglare {
    fn name(&self) -> &str {
        DOC.name
    }

    /// The GPU backend leaves the frame on the GPU for the next stage (no readback here).
    fn process(&mut self, mut frame: Frame) -> Result<Frame> {
        if let Backend::Gpu(gpu) = &mut self.backend {
            let src = frame.pixels.texture(gpu.context())?;
            frame.pixels.set_texture(gpu.apply(&src, &self.params)?);
            return Ok(frame);
        }
        let out = self.apply(frame.pixels.image()?)?;
        frame.pixels.set_image(out);
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(pairs: &[(&str, &str)]) -> Result<Deglare> {
        Deglare::from_options(
            &StageOptions::from_pairs("deglare", pairs),
            &BuildContext::new(crate::Mode::Offline),
        )
    }

    #[test]
    fn rejects_bad_options() {
        let err = stage(&[("strength", "2"), ("backend", "cpu")])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("strength") && err.contains("0 to 1"), "{err}");
        let err = stage(&[("backend", "tpu")]).err().unwrap().to_string();
        assert!(err.contains("gpu, cpu, onnx"), "{err}");
        let err = stage(&[("backend", "onnx"), ("model", "no/such.onnx")])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("no/such.onnx"), "{err}");
    }
}
