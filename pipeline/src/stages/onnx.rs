//! `onnx` — runs any image-to-image ONNX model on each frame (enhancement, super-resolution, style,
//! segmentation masks) through ONNX Runtime.
//!
//! Inputs: any RGBA frame; the RGB channels feed the model (alpha is dropped). The frame is resized to
//! the model's input size where the model fixes it (or to `width`/`height`), else fed at its own size.
//! Outputs: the model's image at frame size × the model's own scale factor (output size / input size):
//! a same-size model (enhancement, a 256x256 mask model) gives frames of the input size, a x4
//! super-resolution model 4x frames. 3 channels give RGB with the frame's alpha (when the output has the
//! frame's size, else opaque), 1 channel a grey image, 4 channels RGBA. Meta unchanged.
//! Options:
//! - `model` (required): path of the `.onnx` file.
//! - `layout` = auto | nchw | nhwc: auto reads the input shape (3 at dim 1 = NCHW, 3 at dim 3 = NHWC).
//! - `range` = 0..1 | -1..1 | 0..255: the value range the model expects and gives for 8-bit pixels.
//! - `width`, `height`: model input size for dynamic dimensions (must equal fixed ones if given).
//!   Without them a dynamic side takes the frame's (aspect kept if the other side is set), rounded to
//!   `multiple` (e.g. 4 for a network that downsamples twice).
//! - `threads`: intra-op threads (default: the number of cores). `provider`: the execution provider,
//!   shared by every model stage (`crate::options::MODEL_PROVIDER`; opt-in, fails loudly instead of
//!   running on the CPU).
//! - `output`: which output to use, by name (default: the first shaped like an image).
//! - `adapter`: an ONNX Runtime adapter file (`.onnx_adapter`) whose weights replace the model's for
//!   every run: one base model, several skills.
//! - `filter`: resampling used to fit the model and to scale back (nearest | bilinear | bicubic |
//!   lanczos3).
//!
//! Example: `doppel process dark.mp4 -o bright.mp4 --stages onnx:model=models/zero_dce_pp_neuro.onnx:threads=2`

use fast_image_resize::Resizer;
use image::RgbaImage;

use super::{BuildContext, StageEntry};
use crate::error::Result;
use crate::frame::Frame;
use crate::imageops::{resize_rgba, Filter};
use crate::infer::{Adapter, ImageModel, ImageSpec, Layout, RunConfig, ValueRange};
use crate::options::StageOptions;
use crate::options::{OptKind, OptSpec};
use crate::stage::{Contract, Stage, StageDoc};

const MODEL: OptSpec = OptSpec {
    name: "model",
    kind: OptKind::Path { default: None },
    help: "path of the .onnx model (required; see models/README.md)",
};
const LAYOUT: OptSpec = OptSpec {
    name: "layout",
    kind: OptKind::Choice {
        choices: &["auto", "nchw", "nhwc"],
        default: "auto",
    },
    help: "tensor layout (auto: from the input shape)",
};
const RANGE: OptSpec = OptSpec {
    name: "range",
    kind: OptKind::Choice {
        choices: &ValueRange::NAMES,
        default: "0..1",
    },
    help: "model values for pixel values 0..255",
};
const WIDTH: OptSpec = OptSpec {
    name: "width",
    kind: OptKind::OptU32 {
        min: 1,
        max: MAX_SIDE,
        absent: "the frame's",
    },
    help: "model input width for a dynamic width",
};
const HEIGHT: OptSpec = OptSpec {
    name: "height",
    kind: OptKind::OptU32 {
        min: 1,
        max: MAX_SIDE,
        absent: "the frame's",
    },
    help: "model input height for a dynamic height",
};
const MULTIPLE: OptSpec = OptSpec {
    name: "multiple",
    kind: OptKind::U32 {
        default: 1,
        min: 1,
        max: 256,
    },
    help: "round dynamic sides taken from the frame to a multiple of this",
};
use crate::options::MODEL_PROVIDER as PROVIDER;
use crate::options::MODEL_THREADS as THREADS;
const OUTPUT: OptSpec = OptSpec {
    name: "output",
    kind: OptKind::Text { default: "" },
    help: "output name to use (default: the first output shaped like an image)",
};
const ADAPTER: OptSpec = OptSpec {
    name: "adapter",
    kind: OptKind::Path { default: None },
    help: "ONNX Runtime adapter file (.onnx_adapter) applied to every run",
};
const FILTER: OptSpec = OptSpec {
    name: "filter",
    kind: OptKind::Choice {
        choices: &Filter::NAMES,
        default: "bilinear",
    },
    help: "resampling to fit the model and back",
};

pub const DOC: StageDoc = StageDoc {
    name: "onnx",
    summary:
        "runs an image-to-image ONNX model (enhance, super-resolve, stylise, mask) on each frame",
    options: &[
        MODEL, LAYOUT, RANGE, WIDTH, HEIGHT, MULTIPLE, THREADS, PROVIDER, OUTPUT, ADAPTER, FILTER,
    ],
    example: "onnx:model=models/zero_dce_pp_neuro.onnx:threads=2",
    contract: |_| Ok(Contract::NONE),
};

pub const ENTRY: StageEntry = StageEntry {
    doc: &DOC,
    build: |options: &StageOptions, ctx: &BuildContext| {
        Ok(Box::new(Onnx::from_options(options, ctx)?))
    },
};

/// Largest model input side the stage derives or accepts.
const MAX_SIDE: u32 = 16384;

/// The onnx stage.
pub struct Onnx {
    model: ImageModel,
    run: Option<RunConfig>,
    width: Option<u32>,
    height: Option<u32>,
    multiple: u32,
    filter: Filter,
    resizer: Resizer,
}

impl Onnx {
    /// Loads the model and checks the options against it. Fails before any frame.
    ///
    /// # Errors
    /// [`Error::Option`] for a bad value or a `width`/`height` that contradicts the model's fixed size
    /// (naming the model file and both shapes); [`Error::Model`] for a missing, corrupt or not
    /// image-to-image model; [`Error::Runtime`] when ONNX Runtime or the provider is unavailable.
    pub fn from_options(options: &StageOptions, ctx: &BuildContext) -> Result<Self> {
        let path = options.path(&MODEL, ctx.locator())?;
        let layout = match options.choice(&LAYOUT)? {
            "auto" => None,
            name => Layout::from_name(name),
        };
        let range = ValueRange::from_name(options.choice(&RANGE)?).unwrap_or(ValueRange::Unit);
        let width = options.opt_u32(&WIDTH)?;
        let height = options.opt_u32(&HEIGHT)?;
        let multiple = options.u32(&MULTIPLE)?;
        let threads = options.opt_u32(&THREADS)?;
        let filter = Filter::from_name(options.choice(&FILTER)?).unwrap_or(Filter::Bilinear);
        let output = Some(options.text(&OUTPUT)?)
            .filter(|s| !s.is_empty())
            .map(String::from);

        let session = ctx.session(options, threads.map(|t| t as usize))?;
        let spec = ImageSpec {
            layout,
            range,
            output,
        };
        let model = ImageModel::load(&path, &session, &spec)?;

        let (fixed_w, fixed_h) = model.fixed_size();
        for (name, given, fixed) in [("width", width, fixed_w), ("height", height, fixed_h)] {
            if let (Some(given), Some(fixed)) = (given, fixed) {
                if given != fixed {
                    return Err(options.error(
                        name,
                        format!(
                            "{name}={given} does not fit model {}: its input {} ({}) has a fixed {name} of \
                             {fixed}; leave {name} out (frames are resized to the model) or give {name}={fixed}",
                            path.display(),
                            model.input(),
                            model.layout().name().to_uppercase()
                        ),
                    ));
                }
            }
        }

        let run = match options.opt_path(&ADAPTER)? {
            None => None,
            Some(file) => Some(RunConfig::new()?.with_adapter(&Adapter::from_file(file)?)?),
        };

        Ok(Self {
            model,
            run,
            width: fixed_w.or(width),
            height: fixed_h.or(height),
            multiple,
            filter,
            resizer: Resizer::new(),
        })
    }

    /// The loaded model.
    pub fn model(&self) -> &ImageModel {
        &self.model
    }

    /// The model input size for a `w` x `h` frame.
    pub fn input_size(&self, w: u32, h: u32) -> (u32, u32) {
        let round = |v: f64| -> u32 {
            let m = f64::from(self.multiple);
            let r = ((v / m).round() * m).max(m);
            r.min(f64::from(MAX_SIDE)) as u32
        };
        let (w64, h64) = (f64::from(w.max(1)), f64::from(h.max(1)));
        match (self.width, self.height) {
            (Some(mw), Some(mh)) => (mw, mh),
            (Some(mw), None) => (mw, round(f64::from(mw) * h64 / w64)),
            (None, Some(mh)) => (round(f64::from(mh) * w64 / h64), mh),
            (None, None) => (round(w64), round(h64)),
        }
    }

    /// Runs the model on one image: fit to the model, run, scale back by the model's factor.
    ///
    /// # Errors
    /// As [`ImageModel::run`], and resize failures.
    pub fn apply(&mut self, image: &RgbaImage) -> Result<RgbaImage> {
        let (fw, fh) = image.dimensions();
        let (iw, ih) = self.input_size(fw, fh);
        let fitted;
        let input = if (iw, ih) == (fw, fh) {
            image
        } else {
            fitted = resize_rgba(&mut self.resizer, image, iw, ih, self.filter)?;
            &fitted
        };
        let (out, channels) = self.model.run(input, self.run.as_ref())?;
        let (ow, oh) = out.dimensions();
        let scale = |frame: u32, model_out: u32, model_in: u32| -> u32 {
            let v = (u64::from(frame) * u64::from(model_out) + u64::from(model_in) / 2)
                / u64::from(model_in.max(1));
            v.clamp(1, u64::from(MAX_SIDE)) as u32
        };
        let (tw, th) = (scale(fw, ow, iw), scale(fh, oh, ih));
        let mut result = if (ow, oh) == (tw, th) {
            out
        } else {
            resize_rgba(&mut self.resizer, &out, tw, th, self.filter)?
        };
        if channels != 4 && result.dimensions() == (fw, fh) && input.dimensions() != (fw, fh) {
            // The model saw a resized copy: give back the frame's own alpha, exactly.
            for (dst, src) in result.pixels_mut().zip(image.pixels()) {
                dst[3] = src[3];
            }
        }
        Ok(result)
    }
}

impl Stage for Onnx {
    fn name(&self) -> &str {
        DOC.name
    }

    fn process(&mut self, mut frame: Frame) -> Result<Frame> {
        let out = self.apply(frame.pixels.image()?)?;
        frame.pixels.set_image(out);
        Ok(frame)
    }
}
