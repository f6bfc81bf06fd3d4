//! Person mattes for background effects (`background` stage): a segmentation network's
//! low-resolution probability refined to a full-resolution matte that follows the frame's edges,
//! held steady over time, and composited over a new background without a rim of the old one.
//!
//! ```text
//!  model::Segmenter      frame -> person probability at the network's size (256x144 / 256x256)
//!  refine::Refiner       -> working grid (256-511 wide): stabilised, guided-filter coefficients,
//!                           foreground colour, blurred alpha, background estimate
//!  composite             -> full resolution: alpha = a*luma + b, decontaminate, composite, wrap
//!                           (GpuComposite on `gpu::kernel` + shaders/matte.wgsl; composite_cpu)
//! ```

pub mod composite;
pub mod grid;
pub mod model;
pub mod refine;

pub use composite::{composite_cpu, CompositeParams, GpuComposite};
pub use grid::Plane;
pub use model::{MatteModel, Segmenter};
pub use refine::{grid_size, MatteGrid, RefineConfig, Refiner};
