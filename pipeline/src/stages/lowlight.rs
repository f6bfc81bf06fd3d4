//! `lowlight` — brightens dark frames with Zero-DCE curves.
//!
//! Inputs: any RGBA frame, any size. Outputs: the frame brightened, same size; alpha and meta
//! unchanged. The curve model (`models/zero_dce_curves_neuro.onnx`) runs on a small copy (long side
//! `size`); its 24 curve maps are upsampled and applied at full size on the GPU
//! (`shaders/lowlight.wgsl`) or by the CPU reference (same output within ±1), then blended with the
//! input by `strength` so that the darkest, noisiest parts are not over-amplified and colours do
//! not oversaturate. Black and white stay fixed, so nothing clips that was not clipped.
//! Options:
//! - `backend` = gpu | cpu (default gpu): where the curves are applied.
//! - `strength` 0..=1 (default 0.7): 0 = unchanged, 1 = the full Zero-DCE result.
//! - `size` 16..=640 (default 160): long side of the copy the curves are estimated on.
//! - `model`, `threads`: the curve model and its intra-op threads.
//!
//! See [`crate::enhance::lowlight`] for the math.
//! Example: `doppel process night.mp4 -o bright.mp4 --stages lowlight:strength=0.6,deglare`

use super::{BuildContext, StageEntry};
use crate::enhance::lowlight::{apply_curves_cpu, CurveModel, DEFAULT_MODEL};
use crate::enhance::lowlight_gpu::GpuCurves;
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::options::StageOptions;
use crate::options::{OptKind, OptSpec};
use crate::stage::{Contract, Stage, StageDoc};

const BACKEND: OptSpec = OptSpec {
    name: "backend",
    kind: OptKind::Choice {
        choices: &["gpu", "cpu"],
        default: "gpu",
    },
    help: "where the curves are applied: gpu (WGSL) or cpu (reference)",
};
const STRENGTH: OptSpec = OptSpec {
    name: "strength",
    kind: OptKind::F32 {
        default: 0.7,
        min: 0.0,
        max: 1.0,
    },
    help: "blend with the input (1 = full Zero-DCE)",
};
const SIZE: OptSpec = OptSpec {
    name: "size",
    kind: OptKind::U32 {
        default: 160,
        min: 16,
        max: 640,
    },
    help: "long side of the copy the curves are estimated on",
};
const MODEL: OptSpec = OptSpec {
    name: "model",
    kind: OptKind::Path {
        default: Some(DEFAULT_MODEL),
    },
    help: "the Zero-DCE curve model file",
};
use crate::options::MODEL_PROVIDER as PROVIDER;
use crate::options::MODEL_THREADS as THREADS;

pub const DOC: StageDoc = StageDoc {
    name: "lowlight",
    summary: "brightens dark frames (Zero-DCE curves estimated small, applied at full size)",
    options: &[BACKEND, STRENGTH, SIZE, MODEL, THREADS, PROVIDER],
    example: "lowlight:strength=0.6,deglare",
    contract: |_| Ok(Contract::NONE),
};

pub const ENTRY: StageEntry = StageEntry {
    doc: &DOC,
    build: |options: &StageOptions, ctx: &BuildContext| {
        Ok(Box::new(Lowlight::from_options(options, ctx)?))
    },
};

/// The lowlight stage.
pub struct Lowlight {
    model: CurveModel,
    strength: f32,
    gpu: Option<Box<GpuCurves>>,
}

impl Lowlight {
    /// Builds the stage: loads the model and, for `backend=gpu`, opens the GPU device.
    ///
    /// # Errors
    /// [`Error::Option`] for bad values; [`Error::Model`]/[`Error::Runtime`] for the model or ONNX
    /// Runtime; [`Error::Gpu`] without a usable adapter.
    pub fn from_options(options: &StageOptions, ctx: &BuildContext) -> Result<Self> {
        let strength = options.f32(&STRENGTH)?;
        let size = options.u32(&SIZE)?;
        let session = ctx.session(options, options.opt_u32(&THREADS)?.map(|t| t as usize))?;
        let model = CurveModel::load(options.path(&MODEL, ctx.locator())?, &session, size)?;
        let gpu = match options.choice(&BACKEND)? {
            "cpu" => None,
            _ => {
                Some(Box::new(ctx.gpu().and_then(GpuCurves::new).map_err(
                    Error::gpu_or("lowlight", "lowlight:backend=cpu"),
                )?))
            }
        };
        Ok(Self {
            model,
            strength,
            gpu,
        })
    }

    /// `gpu` or `cpu`.
    pub fn backend_name(&self) -> &'static str {
        if self.gpu.is_some() {
            "gpu"
        } else {
            "cpu"
        }
    }

    /// Brightens one image into a new one.
    ///
    /// # Errors
    /// Inference or GPU failures.
    pub fn apply(&mut self, image: &image::RgbaImage) -> Result<image::RgbaImage> {
        let curves = self.model.estimate(image)?;
        let mut out = crate::bufpool::image(image.width(), image.height());
        match &mut self.gpu {
            Some(gpu) => gpu.run(image, &mut out, &curves, self.strength)?,
            None => apply_curves_cpu(image, &mut out, &curves, self.strength)?,
        }
        Ok(out)
    }
}

impl Stage for Lowlight {
    fn name(&self) -> &str {
        DOC.name
    }

    /// The curve model reads a small copy of the frame on the CPU (a GPU frame is read back for
    /// it); the GPU backend applies the curves on the GPU and leaves the frame there.
    fn process(&mut self, mut frame: Frame) -> Result<Frame> {
        if let Some(gpu) = &mut self.gpu {
            let curves = self.model.estimate(frame.pixels.image()?)?;
            let src = frame.pixels.texture(gpu.context())?;
            frame
                .pixels
                .set_texture(gpu.apply(&src, &curves, self.strength)?);
            return Ok(frame);
        }
        let out = self.apply(frame.pixels.image()?)?;
        frame.pixels.set_image(out);
        Ok(frame)
    }
}
