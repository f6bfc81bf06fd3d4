//! The avatar: its per-frame state from tracking ([`AvatarState`]), the built-in cartoon avatar
//! ([`builtin`]), glTF 2.0 / VRM avatars ([`model`], read by [`gltf`], [`material`] and [`vrm`]), composition over a backdrop ([`compose`]) and
//! the wgpu renderer that draws them ([`Renderer`]).
//!
//! ```no_run
//! use doppel_pipeline::avatar::{AvatarState, Composition, Renderer};
//! use doppel_pipeline::gpu::GpuContext;
//! let mut renderer = Renderer::new(GpuContext::shared()?, 1280, 720)?;
//! let state = AvatarState { jaw_open: 0.6, ..AvatarState::default() };
//! let frame = renderer.render_image(&state, &Composition::default(), None, None)?;
//! frame.save("avatar.png").ok();
//! # Ok::<(), doppel_pipeline::Error>(())
//! ```

pub mod builtin;
pub mod compose;
pub mod gltf;
pub mod material;
pub mod meshopt;
pub mod model;
pub mod render;
pub mod state;
pub mod vrm;

pub use builtin::Palette;
pub use compose::{Backdrop, Composition, Corner, Pip};
pub use model::GltfAvatar;
pub use render::{AvatarModel, Renderer};
pub use state::{AvatarState, BodyPose};
