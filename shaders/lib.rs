//! doppel's WGSL shaders. Each kernel or render pass owns one source here and names it from its
//! Rust module (e.g. `gpu::blur` uses [`BLUR`]); the sources are embedded so binaries stand alone,
//! and living in a crate of their own lets every crate (and `cargo package`) reach them without
//! paths into another crate's folder.

/// Separable Gaussian blur, premultiplied alpha (`gpu::blur`).
pub const BLUR: &str = include_str!("blur.wgsl");
/// Per-pixel blends of two frames (`gpu::blend`: the unsharp mask of `sharpen`).
pub const BLEND: &str = include_str!("blend.wgsl");
/// Low-light gain (exposure decided small, Zero-DCE-shaped), denoise and application at full size
/// (`enhance::lowlight_gpu`).
pub const LOWLIGHT: &str = include_str!("lowlight.wgsl");
/// Glare estimation and removal (`enhance::deglare_gpu`).
pub const DEGLARE: &str = include_str!("deglare.wgsl");
/// Bilinear resampling of a source rectangle: resize, crop and zoom, mirror (`gpu::resample`).
pub const RESAMPLE: &str = include_str!("resample.wgsl");
/// The convolution helpers every generated super-resolution layer kernel shares (`superres::kernel`).
pub const SUPERRES_CONV: &str = include_str!("superres_conv.wgsl");
/// The built-in avatar's passes (`avatar::render`).
pub const AVATAR_BUILTIN: &str = include_str!("avatar_builtin.wgsl");
/// glTF/VRM meshes (`avatar::render`): the mesh pass with the MToon toon shading and outline
/// appended (one module, so both share its camera and material blocks).
pub const AVATAR_MESH: &str = concat!(
    include_str!("avatar_mesh.wgsl"),
    include_str!("avatar_mtoon.wgsl")
);
/// The avatar's backdrop (`avatar::render`).
pub const AVATAR_BACKGROUND: &str = include_str!("avatar_background.wgsl");
/// The live window's letterboxing and on-screen display (`app::live::present`).
pub const PRESENT: &str = include_str!("present.wgsl");
/// The background composite: guided-filter matte, decontamination, light wrap (`matte::composite`).
pub const MATTE: &str = include_str!("matte.wgsl");
