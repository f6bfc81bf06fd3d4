//! `lowlight` — brightens under-exposed frames, and leaves exposed ones (night scenes included) as
//! they are.
//!
//! Inputs: any RGBA frame, any size. Outputs: the frame brightened, same size; alpha and meta
//! unchanged. On a small copy (long side `size`) it decides an exposure gain (1 for a frame that
//! is already exposed for its scene) and shapes it with Zero-DCE curves
//! (`models/zero_dce_curves_neuro.onnx`, run only when a gain is needed); at full size it brightens
//! luminance with one factor for R, G and B (chroma and greys kept), denoising the regions it
//! brightens, on the GPU (`shaders/lowlight.wgsl`) or by the CPU reference (same output within
//! ±1). On video the gain is smoothed over time (no flicker).
//! Options:
//! - `backend` = gpu | cpu (default gpu): where the gain is applied.
//! - `strength` 0..=1 (default 1): fraction of the decided correction applied; 0 = unchanged.
//! - `size` 16..=640 (default 160): long side of the copy the gain is decided on.
//! - `model`, `threads`: the curve model and its intra-op threads.
//!
//! See [`crate::enhance::lowlight`] for the method.
//! Example: `doppel process night.mp4 -o bright.mp4 --stages lowlight,deglare`

use super::{BuildContext, StageEntry};
use crate::enhance::lowlight::{apply_gain_cpu, CurveModel, GainMap, DEFAULT_MODEL};
use crate::enhance::lowlight_gpu::GpuLowlight;
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
    help: "where the gain is applied: gpu (WGSL) or cpu (reference)",
};
const STRENGTH: OptSpec = OptSpec {
    name: "strength",
    kind: OptKind::F32 {
        default: 1.0,
        min: 0.0,
        max: 1.0,
    },
    help: "fraction of the decided correction applied (0 = unchanged)",
};
const SIZE: OptSpec = OptSpec {
    name: "size",
    kind: OptKind::U32 {
        default: 160,
        min: 16,
        max: 640,
    },
    help: "long side of the copy the gain is decided on",
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
    summary: "brightens under-exposed frames (exposure-aware, colour-preserving, denoised)",
    options: &[BACKEND, STRENGTH, SIZE, MODEL, THREADS, PROVIDER],
    example: "lowlight,deglare",
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
    gpu: Option<Box<GpuLowlight>>,
    /// The gain map smoothed over the frames of a stream ([`Stage::process`]).
    smoothed: Option<GainMap>,
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
        let gpu = match options.choice(&BACKEND)? {
            "cpu" => None,
            _ => {
                Some(Box::new(ctx.gpu().and_then(GpuLowlight::new).map_err(
                    Error::gpu_or("lowlight", "lowlight:backend=cpu"),
                )?))
            }
        };
        let threads = options.opt_u32(&THREADS)?.map(|t| t as usize);
        let session = ctx.session_before_frame_work(options, threads)?;
        let model = CurveModel::load(options.path(&MODEL, ctx.locator())?, &session, size)?;
        Ok(Self {
            model,
            strength,
            gpu,
            smoothed: None,
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

    /// Brightens one still image into a new one (no smoothing over time).
    ///
    /// # Errors
    /// Inference or GPU failures.
    pub fn apply(&mut self, image: &image::RgbaImage) -> Result<image::RgbaImage> {
        let map = self.model.plan(image)?;
        self.apply_map(image, &map)
    }

    fn apply_map(&mut self, image: &image::RgbaImage, map: &GainMap) -> Result<image::RgbaImage> {
        if is_unity(map, self.strength) {
            // nothing to brighten: the frame as it is, bit for bit
            return Ok(image.clone());
        }
        let mut out = crate::bufpool::image(image.width(), image.height());
        match &mut self.gpu {
            Some(gpu) => gpu.run(image, &mut out, map, self.strength)?,
            None => apply_gain_cpu(image, &mut out, map, self.strength)?,
        }
        Ok(out)
    }
}

/// Whether `map` at `strength` leaves every pixel as it is.
fn is_unity(map: &GainMap, strength: f32) -> bool {
    strength == 0.0 || map.data.iter().all(|&g| g == 1.0)
}

impl Stage for Lowlight {
    fn name(&self) -> &str {
        DOC.name
    }

    /// The gain is decided on a small copy on the CPU (a GPU frame is read back for it) and
    /// smoothed over time; the GPU backend applies it on the GPU and leaves the frame there.
    fn process(&mut self, mut frame: Frame) -> Result<Frame> {
        let next = self.model.plan(frame.pixels.image()?)?;
        let map = match &mut self.smoothed {
            Some(s) => {
                s.follow(&next);
                s.clone()
            }
            None => self.smoothed.insert(next).clone(),
        };
        if is_unity(&map, self.strength) {
            return Ok(frame);
        }
        if let Some(gpu) = &mut self.gpu {
            let src = frame.pixels.texture(gpu.context())?;
            frame
                .pixels
                .set_texture(gpu.apply(&src, &map, self.strength)?);
            return Ok(frame);
        }
        let out = self.apply_map(frame.pixels.image()?, &map)?;
        frame.pixels.set_image(out);
        Ok(frame)
    }
}
