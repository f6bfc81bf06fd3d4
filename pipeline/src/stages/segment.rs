//! `segment` — a person mask from MediaPipe's selfie segmentation, written into the frame's meta at
//! frame size (255 = person); pixels pass through unchanged.
//!
//! Inputs: any RGBA frame. The frame is stretched to the model's input (as MediaPipe does): 256x256
//! for the square model, 256x144 for the landscape one.
//! Outputs: the same pixels; `meta.mask` = a grey image of the frame's size, person probability x 255
//! (soft) or 0/255 (with `threshold`). Overlays, compositors and background effects read it.
//! Options:
//! - `model` = auto | square | landscape (auto): auto takes the landscape model for frames wider than
//!   4:3 (16:9 video), the square one otherwise.
//! - `threshold` (0): 0 = a soft mask; above 0, 255 where the probability is at least this, else 0.
//! - `smooth` (0): weight of the previous frame's probabilities, 0..0.99 (steadier edges on video,
//!   slower to follow motion).
//! - `threads` (cores): intra-op threads. `square`, `landscape`: model files (defaults
//!   `models/selfie_segmentation.onnx`, `models/selfie_segmentation_landscape.onnx`).
//!
//! Example: `doppel process talk.mp4 -o out.mp4 --stages segment:threshold=0.5:smooth=0.3,overlay`

use std::sync::Arc;

use super::{BuildContext, StageEntry};
use crate::error::Result;
use crate::frame::Frame;
use crate::matte::MatteModel;
use crate::options::StageOptions;
use crate::options::{OptKind, OptSpec};
use crate::stage::{Contract, MetaSet, Stage, StageDoc};
use crate::track::segment::{PersonSegmenter, SegmentConfig, SegmentModel};

const MODEL: OptSpec = OptSpec {
    name: "model",
    kind: OptKind::Choice {
        choices: &SegmentModel::NAMES,
        default: "auto",
    },
    help: "auto: landscape for frames wider than 4:3",
};
const THRESHOLD: OptSpec = OptSpec {
    name: "threshold",
    kind: OptKind::F32 {
        default: 0.0,
        min: 0.0,
        max: 1.0,
    },
    help: "0 = soft mask; else 255 where the person probability >= this",
};
const SMOOTH: OptSpec = OptSpec {
    name: "smooth",
    kind: OptKind::F32 {
        default: 0.0,
        min: 0.0,
        max: 0.99,
    },
    help: "weight of the previous frame's mask",
};
use crate::options::MODEL_PROVIDER as PROVIDER;
use crate::options::MODEL_THREADS as THREADS;
const SQUARE: OptSpec = OptSpec {
    name: "square",
    kind: OptKind::Path {
        default: Some(MatteModel::Selfie.default_path()),
    },
    help: "square model file",
};
const LANDSCAPE: OptSpec = OptSpec {
    name: "landscape",
    kind: OptKind::Path {
        default: Some(MatteModel::Landscape.default_path()),
    },
    help: "landscape model file",
};

pub const DOC: StageDoc = StageDoc {
    name: "segment",
    summary: "person mask (MediaPipe selfie segmentation) into the frame meta, at frame size",
    options: &[
        MODEL, THRESHOLD, SMOOTH, THREADS, PROVIDER, SQUARE, LANDSCAPE,
    ],
    example: "segment:threshold=0.5:smooth=0.3",
    contract: |_| Ok(Contract::provides(MetaSet::MASK)),
};

pub const ENTRY: StageEntry = StageEntry {
    doc: &DOC,
    build: |options: &StageOptions, ctx: &BuildContext| {
        Ok(Box::new(Segment::from_options(options, ctx)?))
    },
};

/// The segment stage.
pub struct Segment {
    segmenter: PersonSegmenter,
}

impl Segment {
    /// Reads the options and loads the model(s). Fails before any frame.
    ///
    /// # Errors
    /// [`Error::Option`] for a bad value; [`Error::Model`] for a missing or wrong model file;
    /// [`Error::Runtime`] when ONNX Runtime is unavailable.
    pub fn from_options(options: &StageOptions, ctx: &BuildContext) -> Result<Self> {
        let model = SegmentModel::from_name(options.choice(&MODEL)?).unwrap_or(SegmentModel::Auto);
        let threshold = options.f32(&THRESHOLD)?;
        // Only the model(s) the `model` choice can use must exist.
        let locator = ctx.locator();
        let wanted = |spec: &OptSpec, used: bool| -> Result<std::path::PathBuf> {
            if used {
                options.path(spec, locator)
            } else {
                Ok(options.opt_path(spec)?.unwrap_or_default())
            }
        };
        let config = SegmentConfig {
            square_model: wanted(&SQUARE, model != SegmentModel::Landscape)?,
            landscape_model: wanted(&LANDSCAPE, model != SegmentModel::Square)?,
            model,
            threshold: (threshold > 0.0).then_some(threshold),
            smoothing: options.f32(&SMOOTH)?,
            session: ctx.session(options, options.opt_u32(&THREADS)?.map(|t| t as usize))?,
        };
        Ok(Self::new(PersonSegmenter::load(&config)?))
    }

    /// A stage around an existing segmenter.
    pub fn new(segmenter: PersonSegmenter) -> Self {
        Self { segmenter }
    }

    pub fn segmenter(&self) -> &PersonSegmenter {
        &self.segmenter
    }
}

impl Stage for Segment {
    fn name(&self) -> &str {
        DOC.name
    }

    fn analysis(&self) -> Option<MetaSet> {
        Some(MetaSet::MASK)
    }

    fn process(&mut self, mut frame: Frame) -> Result<Frame> {
        let mask = self.segmenter.process(frame.pixels.image()?)?;
        frame.meta.mask = Some(Arc::new(mask));
        Ok(frame)
    }
}
