//! Generative stylization: one base model, many styles ("skills"), switched per frame without a new
//! session.
//!
//! ```text
//!  Style::Weights(26)  ─▶ multistyle26.onnx          image [1,3,H,W] + style_weights [26]
//!  Style::Vector(100)  ─▶ arbitrary_transform_dyn    image [1,H,W,3] + vector [1,1,1,100]
//!        ▲ style picture ─▶ arbitrary_predict.onnx (256x256) ─▶ vector, cached by content hash
//!  Style::Adapter      ─▶ any image model with adapter inputs + an ONNX Runtime adapter file
//!  Style::Model        ─▶ such a base model as it is (no adapter): e.g. models/portrait_toon.onnx
//! ```
//!
//! [`Stylizer`] builds each session the first time a style needs it and keeps it; switching between
//! styles of a loaded model only swaps the small per-run input (weights, vector) or the active
//! adapter, which [`Stylizer::session_builds`] lets tests check. [`skill`] saves styles under names;
//! [`colors`] keeps the frame's own colours under a style's strokes when asked;
//! [`temporal`] measures and reduces flicker on video; `gpu::resample` brings the
//! working-resolution result back to frame size on the GPU (with a CPU reference).

pub mod cache;
pub mod colors;
pub mod engine;
pub mod pool;
pub mod portrait;
pub mod skill;
pub mod temporal;
pub mod weights;

use std::path::PathBuf;

pub use self::colors::Colors;
pub use self::engine::{Stylizer, StylizerConfig};
pub use self::skill::{Skill, SkillKind, SkillLibrary, SkillListing, SkippedSkill};
pub use self::temporal::{FlickerMeter, Stabilizer};
pub use self::weights::{StyleWeights, NUM_STYLES};

use crate::infer::Adapter;

/// Values in an arbitrary-style vector (`arbitrary_predict.onnx`'s output).
pub const VECTOR_LEN: usize = 100;

/// Default model files, relative to the working directory.
pub const DEFAULT_MULTISTYLE: &str = "models/multistyle26.onnx";
pub const DEFAULT_PREDICT: &str = "models/arbitrary_predict.onnx";
pub const DEFAULT_TRANSFORM: &str = "models/arbitrary_transform_dyn.onnx";
/// The portrait base model (`stylize:model=portrait`): a small net distilled from CartoonGAN
/// Shinkai (`scripts/train_portrait.py`), with LoRA adapter inputs for its skills.
pub const DEFAULT_PORTRAIT_BASE: &str = "models/portrait_toon.onnx";

/// Side of the style encoder's square input.
pub const PREDICT_SIDE: u32 = 256;

/// Both style networks downsample twice: their inputs must be multiples of this.
pub const SIDE_MULTIPLE: u32 = 4;

/// One style to draw frames in.
#[derive(Clone, Debug)]
pub enum Style {
    /// A blend of the 26 built-in styles.
    Weights(StyleWeights),
    /// An arbitrary-style vector.
    Vector(Vec<f32>),
    /// Adapter weights over a base image model that exposes them as inputs.
    Adapter { model: PathBuf, adapter: Adapter },
    /// An image model run as it is: an adapter base with no adapter active (its adapter inputs
    /// keep their defaults), e.g. the portrait model's own look.
    Model(PathBuf),
}

impl Style {
    /// Short text for logs and errors.
    pub fn describe(&self) -> String {
        match self {
            Self::Weights(w) => format!("styles {}", w.describe()),
            Self::Vector(_) => "style vector".to_string(),
            Self::Adapter { model, adapter } => format!(
                "adapter {} on {}",
                adapter.source().display(),
                model.display()
            ),
            Self::Model(model) => format!("model {}", model.display()),
        }
    }
}
