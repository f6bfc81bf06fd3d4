//! doppel's frame pipeline: sources, stages and sinks joined by bounded channels, each on its own
//! thread; ONNX Runtime for models and wgpu for shaders. No CLI and no window code lives here.
//!
//! ```text
//!  Source ──▶ Stage ──▶ Stage ──▶ … ──▶ Sink
//! ```

// Every failure is an `Error` that names what went wrong; tests may unwrap.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod avatar;
pub mod bufpool;
pub mod enhance;
pub mod error;
pub mod font;
pub mod frame;
pub mod gpu;
pub mod graph;
pub mod imageops;
pub mod infer;
pub mod live;
pub mod locate;
pub mod matte;
pub mod media;
pub mod meta;
pub mod onnx_weights;
pub mod options;
pub mod output;
pub mod rig;
pub mod sink;
pub mod source;
pub mod spec;
pub mod stage;
pub mod stages;
pub mod sticker;
pub mod style;
pub mod superres;
pub mod track;
pub mod vmc;

pub use error::{Error, Result};
pub use frame::{Frame, FrameMeta, Rational, Timestamp};
pub use stage::{Mode, Stage, StageCommand};
