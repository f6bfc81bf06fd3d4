//! ONNX Runtime for doppel: the library loaded once per process, sessions built once per stage,
//! execution providers that report instead of silently falling back, tensor I/O for images, and
//! adapters ("one base model, N skills").
//!
//! ```text
//!  runtime_info()            library path, version, execution providers (doppel doctor)
//!  Model::load(path, cfg)    one session; inputs()/outputs()/parameters() with dynamic dims as None
//!   └─ ImageModel            checked image-to-image; run(&RgbaImage) -> RgbaImage
//!  Adapter + RunConfig       LoRA-style weight sets swapped per run over one base session
//!  rgba_to_tensor / tensor_to_rgba   NCHW | NHWC, 0..1 | -1..1 | 0..255
//! ```
//!
//! Everything here that touches ONNX Runtime loads it first through one guarded path, so a missing
//! library is an [`crate::Error::Runtime`] that says which paths were tried and how to fix it
//! (`scripts/fetch-onnxruntime.sh`), never a panic. Use this module, not `ort` directly, for the same
//! reason (and because a process may only have one ONNX Runtime environment).
//!
//! # Example
//! ```no_run
//! use doppel_pipeline::infer::{ImageModel, ImageSpec, SessionConfig};
//! let mut model = ImageModel::load(
//!     "models/zero_dce_pp_neuro.onnx",
//!     &SessionConfig { threads: Some(2), ..Default::default() },
//!     &ImageSpec::default(),
//! )?;
//! let dark = image::RgbaImage::from_pixel(64, 48, image::Rgba([20, 20, 30, 255]));
//! let (bright, _channels) = model.run(&dark, None)?;
//! # Ok::<(), doppel_pipeline::Error>(())
//! ```

mod image_model;
mod model;
mod provider;
mod runtime;
mod tensor;

pub use self::image_model::{ImageModel, ImageSpec};
pub use self::model::{
    Adapter, Model, Optimization, RunConfig, SessionConfig, Tensor, TensorInfo, TensorView,
};
pub use self::provider::{
    plugin_candidates, plugin_file_name, take_notices, ExecutionProvider, ProviderKind,
};
pub use self::runtime::{
    candidates as library_candidates, library_file_name, runtime_info, RuntimeInfo, FETCH_COMMAND,
};
pub use self::tensor::{image_dims, rgba_to_tensor, tensor_to_rgba, Layout, ValueRange};
