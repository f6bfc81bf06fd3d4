//! The person segmentation networks a matte can start from, each giving a person probability at
//! its own (low) resolution, before any upsampling: the refinement wants the raw low-resolution
//! map, not a full-size mask already stretched by bilinear interpolation.
//!
//! | name | file | input | output |
//! |---|---|---|---|
//! | `selfie` | MediaPipe `selfie_segmentation.onnx` | [1,256,256,3] RGB 0..1 | [1,256,256,1] probability |
//! | `landscape` | MediaPipe `selfie_segmentation_landscape.onnx` | [1,144,256,3] RGB 0..1 | [1,144,256,1] |
//! | `pphumanseg` | PP-HumanSegV2-Lite portrait `pp_humansegv2_lite_portrait_256x144.onnx` | [1,3,144,256] RGB -1..1 | [1,2,144,256] softmax, channel 1 = person |
//!
//! Every model sees the whole frame stretched to its input (as MediaPipe and PaddleSeg do).
//!
//! This is the one loader and runner of these networks: the `background` stage and the sticker
//! cut-out refine its probability, and `track::segment` (the `segment` stage) smooths and stretches
//! it into a mask at frame size.

use std::path::{Path, PathBuf};

use fast_image_resize::Resizer;
use image::RgbaImage;

use super::grid::Plane;
use crate::error::{Error, Result};
use crate::imageops::{resize_rgba, Filter};
use crate::infer::{rgba_to_tensor, Layout, Model, SessionConfig, TensorView, ValueRange};

/// Which network segments the person.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatteModel {
    Selfie,
    Landscape,
    PpHumanSeg,
}

impl MatteModel {
    pub const NAMES: [&'static str; 3] = ["selfie", "landscape", "pphumanseg"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "selfie" => Some(Self::Selfie),
            "landscape" => Some(Self::Landscape),
            "pphumanseg" => Some(Self::PpHumanSeg),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Selfie => "selfie",
            Self::Landscape => "landscape",
            Self::PpHumanSeg => "pphumanseg",
        }
    }

    /// The model file shipped in `models/`, relative to the data folder (const: stage option
    /// defaults name it).
    pub const fn default_path(self) -> &'static str {
        match self {
            Self::Selfie => "models/selfie_segmentation.onnx",
            Self::Landscape => "models/selfie_segmentation_landscape.onnx",
            Self::PpHumanSeg => "models/pp_humansegv2_lite_portrait_256x144.onnx",
        }
    }

    /// Input tensor layout and value range, (width, height) and output channels.
    fn format(self) -> (Layout, ValueRange, (u32, u32), usize) {
        match self {
            Self::Selfie => (Layout::Nhwc, ValueRange::Unit, (256, 256), 1),
            Self::Landscape => (Layout::Nhwc, ValueRange::Unit, (256, 144), 1),
            Self::PpHumanSeg => (Layout::Nchw, ValueRange::Signed, (256, 144), 2),
        }
    }
}

/// A loaded segmentation network.
pub struct Segmenter {
    kind: MatteModel,
    model: Model,
    input: String,
    resizer: Resizer,
    buffer: Vec<f32>,
    runs: u64,
}

impl Segmenter {
    /// Loads `path` as a `kind` network and checks its input and output shapes, so that a wrong
    /// file fails here, before any frame.
    ///
    /// # Errors
    /// [`Error::Model`] naming the file when it is missing or not shaped as `kind` expects;
    /// [`Error::Runtime`] when ONNX Runtime cannot be loaded.
    pub fn load(kind: MatteModel, path: &Path, session: &SessionConfig) -> Result<Self> {
        let model = Model::load(path, session)?;
        let (layout, _, (w, h), channels) = kind.format();
        let what = format!("the {} model", kind.name());
        let dims = layout.shape(3, w, h).map(Some);
        let input = model.single_input(&dims, &what)?;
        // Dynamic output dimensions are taken on trust; `probability` checks the values it gets.
        let map = layout.shape(channels, w, h);
        let fits = |dims: &[Option<usize>]| {
            dims.len() == map.len()
                && dims
                    .iter()
                    .zip(&map)
                    .all(|(d, m)| d.is_none_or(|d| d == *m))
        };
        if !model.outputs().iter().any(|o| fits(&o.dims)) {
            let found: Vec<String> = model.outputs().iter().map(ToString::to_string).collect();
            let expected: Vec<String> = map.iter().map(ToString::to_string).collect();
            return Err(Error::model(
                path,
                format!(
                    "not {what}: expected an output [{}] (the person probability), found {}",
                    expected.join(","),
                    found.join(", ")
                ),
            ));
        }
        Ok(Self {
            kind,
            model,
            input,
            resizer: Resizer::new(),
            buffer: Vec::new(),
            runs: 0,
        })
    }

    pub fn kind(&self) -> MatteModel {
        self.kind
    }

    pub fn path(&self) -> PathBuf {
        self.model.path().to_path_buf()
    }

    /// How many times the network has run.
    pub fn runs(&self) -> u64 {
        self.runs
    }

    /// The person probability (0..1) of `frame` at the network's output size.
    ///
    /// # Errors
    /// [`Error::Model`] when inference fails or the output is not the expected shape.
    pub fn probability(&mut self, frame: &RgbaImage) -> Result<Plane> {
        let (layout, range, (w, h), channels) = self.kind.format();
        let small = resize_rgba(&mut self.resizer, frame, w, h, Filter::Bilinear)?;
        let shape = layout.shape(3, w, h);
        self.buffer.resize(shape.iter().product(), 0.0);
        rgba_to_tensor(&small, layout, range, &mut self.buffer)?;
        crate::bufpool::recycle(small.into_raw());
        let view = TensorView {
            name: &self.input,
            shape: &shape,
            data: &self.buffer,
        };
        let outputs = self.model.run(&[view])?;
        self.runs += 1;
        let (w, h) = (w as usize, h as usize);
        let plane = w * h;
        let Some(out) = outputs
            .into_iter()
            .find(|t| t.data.len() == plane * channels)
        else {
            return Err(Error::model(
                self.model.path(),
                format!(
                    "no output of {channels}x{h}x{w} values (a {} segmentation map)",
                    self.kind.name()
                ),
            ));
        };
        let data = match channels {
            // The export ends in a softmax: channel 1 is the person's probability.
            2 => out.data[plane..]
                .iter()
                .map(|v| v.clamp(0.0, 1.0))
                .collect(),
            _ => out.data.iter().map(|v| v.clamp(0.0, 1.0)).collect(),
        };
        Ok(Plane {
            width: w,
            height: h,
            data,
        })
    }
}
