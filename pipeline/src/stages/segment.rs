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
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::infer::SessionConfig;
use crate::options::StageOptions;
use crate::stage::{OptionDoc, Stage, StageDoc};
use crate::track::segment::{
    PersonSegmenter, SegmentConfig, SegmentModel, DEFAULT_LANDSCAPE, DEFAULT_SQUARE,
};

pub const DOC: StageDoc = StageDoc {
    name: "segment",
    summary: "person mask (MediaPipe selfie segmentation) into the frame meta, at frame size",
    options: &[
        OptionDoc {
            name: "model",
            default: "auto",
            help: "auto | square | landscape (auto: landscape for frames wider than 4:3)",
        },
        OptionDoc {
            name: "threshold",
            default: "0",
            help: "0 = soft mask; else 255 where the person probability >= this, 0..1",
        },
        OptionDoc {
            name: "smooth",
            default: "0",
            help: "weight of the previous frame's mask, 0..0.99",
        },
        OptionDoc {
            name: "threads",
            default: "cores",
            help: "intra-op threads, 1..=256",
        },
        OptionDoc {
            name: "square",
            default: DEFAULT_SQUARE,
            help: "square model file",
        },
        OptionDoc {
            name: "landscape",
            default: DEFAULT_LANDSCAPE,
            help: "landscape model file",
        },
    ],
    example: "segment:threshold=0.5:smooth=0.3",
};

pub const ENTRY: StageEntry = StageEntry {
    doc: &DOC,
    build: |options: &StageOptions, _: &BuildContext| Ok(Box::new(Segment::from_options(options)?)),
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
    pub fn from_options(options: &StageOptions) -> Result<Self> {
        let model =
            SegmentModel::from_name(options.choice("model", &SegmentModel::NAMES, "auto")?)
                .unwrap_or(SegmentModel::Auto);
        let path = |name: &str, default: &str| options.path_or(name, default);
        let threshold = options.f32_in("threshold", 0.0, 0.0, 1.0)?;
        let config = SegmentConfig {
            square_model: path("square", DEFAULT_SQUARE),
            landscape_model: path("landscape", DEFAULT_LANDSCAPE),
            model,
            threshold: (threshold > 0.0).then_some(threshold),
            smoothing: options.f32_in("smooth", 0.0, 0.0, 0.99)?,
            session: SessionConfig {
                threads: options.opt_u32_in("threads", 1, 256)?.map(|t| t as usize),
                ..SessionConfig::default()
            },
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

    fn process(&mut self, mut frame: Frame) -> Result<Frame> {
        let mask = self
            .segmenter
            .process(frame.pixels.image()?)
            .map_err(Error::in_stage(DOC.name, frame.seq))?;
        frame.meta.mask = Some(Arc::new(mask));
        Ok(frame)
    }
}
