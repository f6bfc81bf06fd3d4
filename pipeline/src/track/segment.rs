//! Person segmentation with MediaPipe's selfie segmentation models: a mask at frame size, 255 where
//! a person is.
//!
//! ```text
//!  frame ─▶ matte::Segmenter (the one loader and runner of these networks: stretched, as MediaPipe,
//!           to 256x256 for the square model or 256x144 for the landscape one; person probability 0..1)
//!        ─▶ temporal smoothing at model size (optional) ─▶ resize to frame size ─▶ soft or threshold
//! ```
//!
//! Models (see `models/README.md`): `selfie_segmentation.onnx` ([1,256,256,3] -> [1,256,256,1]) and
//! `selfie_segmentation_landscape.onnx` ([1,144,256,3] -> [1,144,256,1]); their default paths are
//! [`MatteModel::default_path`].

use std::path::PathBuf;

use fast_image_resize::Resizer;
use image::{GrayImage, RgbaImage};

use crate::error::{Error, Result};
use crate::imageops::{resize_rgba, Filter};
use crate::infer::{SessionConfig, ValueRange};
use crate::locate::Locator;
use crate::matte::{MatteModel, Plane, Segmenter};

/// Which model segments a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentModel {
    /// Landscape for frames wider than 4:3 (nearer 16:9 than 1:1), square otherwise.
    Auto,
    Square,
    Landscape,
}

impl SegmentModel {
    pub const NAMES: [&'static str; 3] = ["auto", "square", "landscape"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "auto" => Some(Self::Auto),
            "square" => Some(Self::Square),
            "landscape" => Some(Self::Landscape),
            _ => None,
        }
    }
}

/// How the segmenter is built and behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct SegmentConfig {
    pub square_model: PathBuf,
    pub landscape_model: PathBuf,
    pub model: SegmentModel,
    /// `None`: a soft mask (probability x 255); `Some(t)`: 255 where the probability is at least `t`,
    /// else 0.
    pub threshold: Option<f32>,
    /// Weight of the previous frame's probabilities, 0 (none) ..< 1: steadier edges, slower to follow.
    pub smoothing: f32,
    pub session: SessionConfig,
}

impl Default for SegmentConfig {
    fn default() -> Self {
        Self {
            // Default models from the data folder, wherever the program runs.
            square_model: Locator::from_env().find_or_keep(MatteModel::Selfie.default_path()),
            landscape_model: Locator::from_env().find_or_keep(MatteModel::Landscape.default_path()),
            model: SegmentModel::Auto,
            threshold: None,
            smoothing: 0.0,
            session: SessionConfig::default(),
        }
    }
}

/// Segments people frame after frame. Long-lived: owns the sessions and the previous probabilities.
pub struct PersonSegmenter {
    config: SegmentConfig,
    square: Option<Segmenter>,
    landscape: Option<Segmenter>,
    resizer: Resizer,
    /// The previous frame's smoothed probabilities at model size, for temporal smoothing.
    previous: Option<Plane>,
}

impl PersonSegmenter {
    /// Loads the model(s) the configuration needs (both for `Auto`).
    ///
    /// # Errors
    /// [`Error::Model`] naming a file that is missing or not shaped as the selfie model it stands
    /// for (see [`Segmenter::load`]); [`Error::Spec`] for a threshold or smoothing out of range;
    /// [`Error::Runtime`] when ONNX Runtime cannot be loaded.
    pub fn load(config: &SegmentConfig) -> Result<Self> {
        if let Some(t) = config.threshold {
            if !(0.0..=1.0).contains(&t) {
                return Err(Error::Spec(format!(
                    "segmentation threshold {t} is outside 0..1"
                )));
            }
        }
        if !(0.0..1.0).contains(&config.smoothing) {
            return Err(Error::Spec(format!(
                "segmentation smoothing {} is outside 0..1 (1 would freeze the mask)",
                config.smoothing
            )));
        }
        let needs = |m: SegmentModel| config.model == m || config.model == SegmentModel::Auto;
        let square = needs(SegmentModel::Square)
            .then(|| Segmenter::load(MatteModel::Selfie, &config.square_model, &config.session))
            .transpose()?;
        let landscape = needs(SegmentModel::Landscape)
            .then(|| {
                Segmenter::load(
                    MatteModel::Landscape,
                    &config.landscape_model,
                    &config.session,
                )
            })
            .transpose()?;
        Ok(Self {
            config: config.clone(),
            square,
            landscape,
            resizer: Resizer::new(),
            previous: None,
        })
    }

    pub fn config(&self) -> &SegmentConfig {
        &self.config
    }

    /// How many times a model has run.
    pub fn runs(&self) -> u64 {
        [&self.square, &self.landscape]
            .into_iter()
            .flatten()
            .map(Segmenter::runs)
            .sum()
    }

    /// Forgets the previous frame (no smoothing across unrelated images).
    pub fn reset(&mut self) {
        self.previous = None;
    }

    /// Which model a `width` x `height` frame goes through.
    pub fn model_for(&self, width: u32, height: u32) -> SegmentModel {
        match self.config.model {
            SegmentModel::Auto if u64::from(width) * 3 > u64::from(height) * 4 => {
                SegmentModel::Landscape
            }
            SegmentModel::Auto => SegmentModel::Square,
            chosen => chosen,
        }
    }

    /// The person mask of `image` at its size: 255 = person.
    ///
    /// # Errors
    /// [`Error::Model`] when inference fails; [`Error::Spec`] for an empty image.
    pub fn process(&mut self, image: &RgbaImage) -> Result<GrayImage> {
        let (w, h) = image.dimensions();
        if w == 0 || h == 0 {
            return Err(Error::Spec(format!(
                "cannot segment an empty {w}x{h} frame"
            )));
        }
        let segmenter = match self.model_for(w, h) {
            SegmentModel::Landscape => self.landscape.as_mut(),
            _ => self.square.as_mut(),
        };
        let Some(segmenter) = segmenter else {
            return Err(Error::Spec(
                "segmentation model for this frame shape was not loaded".to_string(),
            ));
        };
        let mut probability = segmenter.probability(image)?;
        let s = self.config.smoothing;
        // In f32, not 8 bits: rounding each frame's blend to a byte would hold a fading mask at
        // the last value v where v * (1 - s) < 0.5 (below 50 of 255 at s = 0.99) for ever.
        if let Some(prev) = self
            .previous
            .as_ref()
            .filter(|p| s > 0.0 && (p.width, p.height) == (probability.width, probability.height))
        {
            for (now, before) in probability.data.iter_mut().zip(&prev.data) {
                *now = before * s + *now * (1.0 - s);
            }
        }
        // The mask is 8-bit: quantised at model size, then stretched by the SIMD resizer (a 4K
        // frame is 8M values).
        let (mw, mh) = (probability.width as u32, probability.height as u32);
        let small: Vec<u8> = probability
            .data
            .iter()
            .flat_map(|&v| {
                let g = ValueRange::Unit.decode(v);
                [g, g, g, 255]
            })
            .collect();
        let small = RgbaImage::from_raw(mw, mh, small).ok_or_else(|| {
            Error::Spec(format!("probability buffer does not hold {mw}x{mh} values"))
        })?;
        let full = resize_rgba(&mut self.resizer, &small, w, h, Filter::Bilinear)?;
        if s > 0.0 {
            self.previous = Some(probability);
        }
        let cut = self.config.threshold.map(|t| (t * 255.0).round() as u8);
        let raw = full
            .as_raw()
            .chunks_exact(4)
            .map(|p| match cut {
                Some(t) if p[0] >= t => 255,
                Some(_) => 0,
                None => p[0],
            })
            .collect();
        crate::bufpool::recycle(full.into_raw());
        GrayImage::from_raw(w, h, raw)
            .ok_or_else(|| Error::Spec(format!("mask buffer does not hold {w}x{h} pixels")))
    }
}
