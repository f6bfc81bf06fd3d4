//! `superres` — super-resolution x2 or x4: doppel's own small nets (ONNX Runtime or their WGSL twin)
//! or Real-ESRGAN x4 for offline quality, tiled so large frames fit in memory.
//!
//! Inputs: any RGBA frame. Outputs: the frame `scale` times wider and taller; colour from the net,
//! alpha 255 (or the input's alpha upscaled bicubic when it has any below 255); meta unchanged
//! (face points are not rescaled: run `track` after `superres` if a later stage needs them).
//! Options:
//! - `scale` = 2 | 4 (default 2; for `model=realesrgan` or a model file, the model's own scale). Any
//!   other value, or one the model does not do, is an error naming both.
//! - `model` = fast | realesrgan | PATH.onnx (default fast): `fast` is `models/superres_x{scale}.onnx`
//!   (trained by `scripts/train_superres.py`, RGB in and out, ~14k multiply-adds per input pixel);
//!   `realesrgan` is `models/realesr-animevideov3-x4.onnx` (Real-ESRGAN compact x4, about 40x
//!   heavier: offline use); a path runs any image ONNX model whose output is a whole multiple of its
//!   input (e.g. `realesrgan-x4plus.onnx` from `scripts/fetch-realesrgan-x4plus.sh`).
//! - `backend` = onnx | gpu (default onnx): ONNX Runtime, the CPU reference; or the WGSL twin
//!   (`shaders/superres_conv.wgsl`) reading the same ONNX file's weights, equal within 1/255. The GPU
//!   twin runs doppel's nets only.
//! - `tile` (input pixels per tile side, default 1024 for doppel's nets, 256 for others; smaller on a
//!   GPU whose storage bindings are smaller) and `overlap` (context pixels per side, default the
//!   net's receptive radius, 20 for other models): frames larger than one tile are processed tile by
//!   tile with seamless joins, so a 4K output never needs a 4K-sized activation buffer.
//! - `threads`: ONNX Runtime intra-op threads (default: the number of cores).
//!
//! Example: `doppel process in.mp4 -o big.mp4 --stages superres:scale=2`

use super::{BuildContext, StageEntry};
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::options::StageOptions;
use crate::options::{OptKind, OptSpec};
use crate::stage::{Contract, Stage, StageDoc};
use crate::superres::{BackendKind, ModelChoice, SuperRes, SuperResConfig};

const SCALE: OptSpec = OptSpec {
    name: "scale",
    kind: OptKind::OptChoice {
        choices: &["2", "4"],
        absent: "2; the model's own for realesrgan or a file",
    },
    help: "output size over input size",
};
const MODEL: OptSpec = OptSpec {
    name: "model",
    kind: OptKind::Text { default: "fast" },
    help: "fast (models/superres_x{scale}.onnx) | realesrgan (x4, offline) | PATH.onnx",
};
const BACKEND: OptSpec = OptSpec {
    name: "backend",
    kind: OptKind::Choice {
        choices: &["onnx", "gpu"],
        default: "onnx",
    },
    help: "onnx (ONNX Runtime, the reference) or gpu (WGSL twin, fast model only)",
};
const TILE: OptSpec = OptSpec {
    name: "tile",
    kind: OptKind::OptU32 {
        min: 16,
        max: 8192,
        absent: "1024 fast, 256 others",
    },
    help: "input pixels per tile side",
};
const OVERLAP: OptSpec = OptSpec {
    name: "overlap",
    kind: OptKind::OptU32 {
        min: 0,
        max: 256,
        absent: "the net's receptive radius; 20 others",
    },
    help: "context pixels around tiles",
};
use crate::options::MODEL_PROVIDER as PROVIDER;
use crate::options::MODEL_THREADS as THREADS;

pub const DOC: StageDoc = StageDoc {
    name: "superres",
    summary:
        "super-resolution x2/x4 (doppel's fast nets on ONNX Runtime or GPU, or Real-ESRGAN), tiled",
    options: &[SCALE, MODEL, BACKEND, TILE, OVERLAP, THREADS, PROVIDER],
    example: "resize:width=640,superres:scale=2",
    contract: |_| Ok(Contract::NONE),
};

pub const ENTRY: StageEntry = StageEntry {
    doc: &DOC,
    build: |options: &StageOptions, ctx: &BuildContext| {
        Ok(Box::new(SuperResStage::from_options(options, ctx)?))
    },
};

/// The superres stage.
pub struct SuperResStage {
    inner: SuperRes,
}

impl SuperResStage {
    /// Builds the stage: resolves and loads the model and opens the backend, so every problem
    /// surfaces before the first frame.
    ///
    /// # Errors
    /// Option errors name `superres` and the option (scale not 2 or 4, a scale the model does not
    /// do, an unknown backend); model and device errors name the file or adapter.
    pub fn from_options(options: &StageOptions, ctx: &BuildContext) -> Result<Self> {
        let scale = match options.opt_choice(&SCALE)? {
            Some("4") => Some(4),
            Some(_) => Some(2),
            None => None,
        };
        let model = match options.text(&MODEL)? {
            "fast" => ModelChoice::Fast,
            "realesrgan" => ModelChoice::RealEsrgan,
            path if path.ends_with(".onnx") => ModelChoice::File(path.into()),
            other => {
                return Err(options.error(
                    MODEL.name,
                    format!(
                    "'{other}' is not valid; expected fast, realesrgan or a path to an .onnx file"
                ),
                ))
            }
        };
        let backend = match options.choice(&BACKEND)? {
            "gpu" => BackendKind::Gpu,
            _ => BackendKind::Onnx,
        };
        let config = SuperResConfig {
            model,
            scale,
            backend,
            tile: options.opt_u32(&TILE)?,
            overlap: options.opt_u32(&OVERLAP)?,
            session: ctx.session(options, options.opt_u32(&THREADS)?.map(|t| t as usize))?,
            locator: ctx.locator().clone(),
        };
        // Scale mismatches are option errors: the user fixes them on the command line.
        let inner = SuperRes::new(&config).map_err(|e| match e {
            Error::Spec(message) => options.error(
                "scale",
                message.trim_start_matches("superres: ").to_string(),
            ),
            Error::Gpu(message) => Error::Gpu(format!(
                "stage 'superres': {message} (or run it on the CPU: superres:backend=onnx)"
            )),
            other => other,
        })?;
        Ok(Self { inner })
    }

    pub fn superres(&self) -> &SuperRes {
        &self.inner
    }
}

impl Stage for SuperResStage {
    fn name(&self) -> &str {
        DOC.name
    }

    fn process(&mut self, mut frame: Frame) -> Result<Frame> {
        let out = self.inner.upscale(frame.pixels.image()?)?;
        frame.pixels.set_image(out);
        Ok(frame)
    }
}
