//! The avatar renderer: long-lived, owns its wgpu pipelines, textures and readback buffer; each
//! frame only uploads the posed data (a uniform block for the built-in avatar, posed vertices for
//! glTF) and the backdrop pixels, renders offscreen and reads the RGBA8 frame back.

use std::sync::Arc;

use glam::{Mat4, Vec4};
use image::{GrayImage, RgbaImage};

use super::builtin::{self, HeadGeometry, Palette, Part, Placement};
use super::compose::{self, Backdrop, Composition, Prepared, BLUR_DOWNSCALE, BLUR_RADIUS};
use super::model::{AlphaMode, GltfAvatar, Material, MaterialFrame, OutlineWidth};
use super::state::AvatarState;
use crate::error::{Error, Result};
use crate::gpu::blur::{gaussian_blur, GaussianWeights};
use crate::gpu::render::{
    self, premultiplied_blend, sampler_entry, texture_entry, uniform_entry, Depth, RenderDesc,
};
use crate::gpu::{color_pass, GpuContext, GpuImage, Upload};
use crate::imageops::{resize_rgba, Filter, Upscaler};

const BUILTIN_SHADER: &str = doppel_shaders::AVATAR_BUILTIN;
const MESH_SHADER: &str = doppel_shaders::AVATAR_MESH;
const BACKGROUND_SHADER: &str = doppel_shaders::AVATAR_BACKGROUND;

/// The avatar renders straight into a frame texture.
const COLOR_FORMAT: wgpu::TextureFormat = crate::gpu::image::FRAME_FORMAT;
const DEPTH_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Depth32Float;
/// Bytes of the background uniform block (`Params` in `avatar_background.wgsl`).
const BG_UNIFORM: u64 = 48;
/// Floats of a mesh material's uniform block (`MaterialParams` in `avatar_mesh.wgsl`).
const MATERIAL_FLOATS: usize = 40;
/// Direction towards the mesh pass's light (world space, the avatar faces +Z).
pub const LIGHT: [f32; 3] = [-0.4, 0.6, 0.7];

/// The uniform block of material `m` with the values expressions gave it this frame (`f`); the
/// layout of `MaterialParams` in `avatar_mesh.wgsl`.
fn material_params(m: &Material, f: &MaterialFrame) -> [f32; MATERIAL_FLOATS] {
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    let toon = m.toon.unwrap_or_default();
    let (width, mode) = match toon.outline {
        OutlineWidth::None => (0.0, 0.0),
        OutlineWidth::World(w) => (w, 1.0),
        OutlineWidth::Screen(w) => (w, 2.0),
    };
    let cutoff = if let AlphaMode::Mask(c) = m.alpha {
        c.max(1e-3)
    } else {
        0.0
    };
    let [b0, b1, b2, b3] = f.base_color;
    [
        b0,
        b1,
        b2,
        b3,
        flag(m.unlit),
        cutoff,
        flag(m.texture.is_some()),
        flag(m.alpha == AlphaMode::Opaque),
        f.shade[0],
        f.shade[1],
        f.shade[2],
        flag(m.toon.is_some()),
        toon.step[0],
        toon.step[1],
        toon.rim_fresnel_power,
        toon.rim_lift,
        f.rim[0],
        f.rim[1],
        f.rim[2],
        flag(toon.shade_textured),
        f.emissive[0],
        f.emissive[1],
        f.emissive[2],
        0.0,
        f.outline[0],
        f.outline[1],
        f.outline[2],
        toon.outline_lighting_mix,
        width,
        mode,
        0.0,
        0.0,
        f.uv.offset[0],
        f.uv.offset[1],
        f.uv.scale[0],
        f.uv.scale[1],
        f.uv.rotation,
        0.0,
        0.0,
        0.0,
    ]
}

/// Which avatar is drawn.
pub enum AvatarModel {
    /// The shader-drawn cartoon avatar.
    Builtin(Palette),
    /// A glTF 2.0 / VRM model.
    Gltf(Box<GltfAvatar>),
}

impl AvatarModel {
    /// `builtin` or the model's file name.
    pub fn describe(&self) -> String {
        match self {
            AvatarModel::Builtin(_) => "builtin".to_string(),
            AvatarModel::Gltf(g) => g.path.display().to_string(),
        }
    }
}

/// A texture that is re-created only when its size changes.
struct Tex {
    texture: wgpu::Texture,
    view: wgpu::TextureView,
}

impl Tex {
    fn new(ctx: &GpuContext, label: &str, w: u32, h: u32, format: wgpu::TextureFormat) -> Self {
        let texture = ctx.create_texture(
            label,
            w,
            h,
            format,
            wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        );
        let view = texture.create_view(&Default::default());
        Self { texture, view }
    }

    fn size(&self) -> (u32, u32) {
        (self.texture.width(), self.texture.height())
    }
}

/// Uploads `bytes` (`bpp` bytes per pixel, rows packed) into `slot`, re-creating it on a size change.
fn upload(
    ctx: &GpuContext,
    slot: &mut Option<Tex>,
    label: &str,
    format: wgpu::TextureFormat,
    (w, h): (u32, u32),
    bpp: u32,
    bytes: &[u8],
) {
    if slot.as_ref().map(Tex::size) != Some((w, h)) {
        *slot = Some(Tex::new(ctx, label, w, h, format));
    }
    if let Some(t) = slot {
        ctx.queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                texture: &t.texture,
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            bytes,
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(bpp * w),
                rows_per_image: Some(h),
            },
            crate::gpu::extent(w, h),
        );
    }
}

/// GPU data of a glTF avatar.
struct MeshGpu {
    avatar: Box<GltfAvatar>,
    /// `[blended][textured][double sided]`: opaque or alpha-blended (no depth writes) materials,
    /// with or without a base colour texture (`fs_textured` / `fs_plain`), back faces culled
    /// unless the material is double-sided (glTF's `doubleSided`).
    pipelines: [[[wgpu::RenderPipeline; 2]; 2]; 2],
    /// The MToon outline: the inverted hull (front faces culled), `fs_outline`.
    outline: wgpu::RenderPipeline,
    camera: wgpu::Buffer,
    camera_group: wgpu::BindGroup,
    prims: Vec<PrimGpu>,
    materials: Vec<wgpu::BindGroup>,
    /// Each material's uniform block and the values last written to it (expressions change them).
    material_buffers: Vec<(wgpu::Buffer, [f32; MATERIAL_FLOATS])>,
}

struct PrimGpu {
    vertices: wgpu::Buffer,
    uvs: wgpu::Buffer,
    indices: wgpu::Buffer,
    count: u32,
    material: usize,
    blend: bool,
    textured: bool,
    double_sided: bool,
    /// A cut-out material of one colour whose alpha is below its cutoff: nothing to draw.
    hidden: bool,
    /// The material is MToon with an outline.
    outlined: bool,
    /// The posed vertices last written into `vertices` (parts that do not move are not sent again).
    uploaded: Vec<f32>,
}

/// Renders an avatar over a backdrop into RGBA8 frames. Build once; call [`Renderer::render`] per
/// frame.
pub struct Renderer {
    ctx: Arc<GpuContext>,
    width: u32,
    height: u32,
    depth_view: wgpu::TextureView,
    /// A full-frame backdrop (the camera frame, the enlarged blur) on its way into the target.
    backdrop: BackdropUpload,
    sampler: wgpu::Sampler,
    /// Background pipelines by mode: fill, texture, masked texture.
    bg_pipelines: [wgpu::RenderPipeline; 3],
    bg_layout: wgpu::BindGroupLayout,
    bg_uniforms: [wgpu::Buffer; 2],
    /// The built-in avatar in one pass (the reference) and its split passes ([`Part::ALL`]).
    builtin_pipeline: wgpu::RenderPipeline,
    part_pipelines: [wgpu::RenderPipeline; Part::ALL.len()],
    /// Draw the built-in avatar in one pass instead of the split passes (tests, benchmarks).
    single_pass: bool,
    builtin_uniform: wgpu::Buffer,
    builtin_group: wgpu::BindGroup,
    white: Tex,
    no_mask: Tex,
    camera_tex: Option<Tex>,
    mask_tex: Option<Tex>,
    image_tex: Option<Tex>,
    blur_tex: Option<Tex>,
    /// The image backdrop prepared for a placement size, keyed by the image's address.
    image_key: Option<(usize, u32, u32)>,
    /// The key of the picture now in `image_tex`.
    image_uploaded: Option<(usize, u32, u32)>,
    prepared: Prepared,
    resizer: fast_image_resize::Resizer,
    palette: Palette,
    mesh: Option<MeshGpu>,
}

fn uniform_buffer(ctx: &GpuContext, label: &str, size: u64) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size,
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

impl Renderer {
    /// A renderer for `width` x `height` frames on `ctx`'s device, drawing the built-in avatar
    /// until [`Renderer::set_model`] says otherwise.
    ///
    /// # Errors
    /// [`Error::Gpu`] when the size does not fit the device or a shader or pipeline is rejected.
    pub fn new(ctx: Arc<GpuContext>, width: u32, height: u32) -> Result<Self> {
        ctx.check_size(width, height)?;
        let device = &ctx.device;
        let built = ctx.checked("building the avatar renderer", || {
            let bg_module = render::module(device, "avatar_background.wgsl", BACKGROUND_SHADER);
            let builtin_module = render::module(device, "avatar_builtin.wgsl", BUILTIN_SHADER);
            let bg_layout = render::layout(
                device,
                "avatar background",
                &[
                    uniform_entry(0, wgpu::ShaderStages::FRAGMENT),
                    texture_entry(1),
                    texture_entry(2),
                    sampler_entry(3),
                ],
            );
            let builtin_layout = render::layout(
                device,
                "avatar builtin",
                &[uniform_entry(
                    0,
                    wgpu::ShaderStages::VERTEX | wgpu::ShaderStages::FRAGMENT,
                )],
            );
            let pipeline = |label: &str,
                            m: &wgpu::ShaderModule,
                            fs: &str,
                            layout: &wgpu::BindGroupLayout,
                            blend: Option<wgpu::BlendState>| {
                let pl = render::pipeline_layout(device, label, &[layout]);
                render::pipeline(
                    device,
                    &pl,
                    &RenderDesc {
                        label,
                        module: m,
                        vs: "vs_main",
                        fs,
                        buffers: &[],
                        target: COLOR_FORMAT,
                        blend,
                        cull: None,
                        depth: None,
                    },
                )
            };
            let bg_pipelines = ["fs_fill", "fs_texture", "fs_masked"]
                .map(|fs| pipeline("avatar background", &bg_module, fs, &bg_layout, None));
            let avatar = |fs: &str| {
                pipeline(
                    "avatar builtin",
                    &builtin_module,
                    fs,
                    &builtin_layout,
                    Some(premultiplied_blend()),
                )
            };
            let builtin_pipeline = avatar("fs_main");
            let part_pipelines = Part::ALL.map(|part| avatar(part.entry_point()));
            (
                bg_layout,
                builtin_layout,
                bg_pipelines,
                builtin_pipeline,
                part_pipelines,
            )
        })?;
        let (bg_layout, builtin_layout, bg_pipelines, builtin_pipeline, part_pipelines) = built;
        let builtin_uniform = uniform_buffer(
            &ctx,
            "avatar builtin uniform",
            std::mem::size_of::<builtin::BuiltinUniform>() as u64,
        );
        let builtin_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("avatar builtin"),
            layout: &builtin_layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: builtin_uniform.as_entire_binding(),
            }],
        });
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("avatar linear clamp"),
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            ..Default::default()
        });
        let white = Tex::new(
            &ctx,
            "avatar white",
            1,
            1,
            wgpu::TextureFormat::Rgba8UnormSrgb,
        );
        let mut slot = Some(white);
        upload(
            &ctx,
            &mut slot,
            "avatar white",
            wgpu::TextureFormat::Rgba8UnormSrgb,
            (1, 1),
            4,
            &[255; 4],
        );
        let mut mask_slot = None;
        upload(
            &ctx,
            &mut mask_slot,
            "avatar no mask",
            wgpu::TextureFormat::R8Unorm,
            (1, 1),
            1,
            &[0],
        );
        let depth_view = Self::depth(&ctx, width, height);
        let bg_uniforms = [
            uniform_buffer(&ctx, "avatar background 0", BG_UNIFORM),
            uniform_buffer(&ctx, "avatar background 1", BG_UNIFORM),
        ];
        match (slot, mask_slot) {
            (Some(white), Some(no_mask)) => Ok(Self {
                width,
                height,
                depth_view,
                backdrop: BackdropUpload::default(),
                sampler,
                bg_pipelines,
                bg_layout,
                bg_uniforms,
                builtin_pipeline,
                part_pipelines,
                single_pass: false,
                builtin_uniform,
                builtin_group,
                white,
                no_mask,
                camera_tex: None,
                mask_tex: None,
                image_tex: None,
                blur_tex: None,
                image_key: None,
                image_uploaded: None,
                prepared: Prepared::default(),
                resizer: fast_image_resize::Resizer::new(),
                palette: Palette::default(),
                mesh: None,
                ctx,
            }),
            _ => Err(Error::Gpu(
                "avatar renderer: cannot create its 1x1 textures".into(),
            )),
        }
    }

    /// The depth buffer of the mesh pass. The colour target is a new frame texture each frame
    /// ([`GpuImage`], pooled), which the frame carries on to the next stage or the window.
    fn depth(ctx: &GpuContext, w: u32, h: u32) -> wgpu::TextureView {
        let depth = ctx.create_texture(
            "avatar depth",
            w,
            h,
            DEPTH_FORMAT,
            wgpu::TextureUsages::RENDER_ATTACHMENT,
        );
        depth.create_view(&Default::default())
    }

    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// Changes the output size (re-creates the depth buffer).
    ///
    /// # Errors
    /// [`Error::Gpu`] when the size does not fit the device.
    pub fn resize(&mut self, width: u32, height: u32) -> Result<()> {
        if (width, height) == (self.width, self.height) {
            return Ok(());
        }
        self.ctx.check_size(width, height)?;
        self.depth_view = Self::depth(&self.ctx, width, height);
        self.width = width;
        self.height = height;
        self.image_key = None;
        Ok(())
    }

    /// Which avatar to draw from now on.
    ///
    /// # Errors
    /// [`Error::Gpu`] when the model's pipelines or buffers cannot be created.
    pub fn set_model(&mut self, model: AvatarModel) -> Result<()> {
        match model {
            AvatarModel::Builtin(palette) => {
                self.palette = palette;
                self.mesh = None;
            }
            AvatarModel::Gltf(avatar) => {
                self.mesh = Some(self.build_mesh(avatar)?);
            }
        }
        Ok(())
    }

    /// Draws the built-in avatar in one pass over its whole quad (the reference the split passes
    /// are tested against, and the baseline of `cargo bench --bench avatar`) instead of the split
    /// passes of [`Part::ALL`].
    pub fn set_single_pass(&mut self, on: bool) {
        self.single_pass = on;
    }

    /// The glTF avatar being drawn, if any.
    pub fn gltf(&self) -> Option<&GltfAvatar> {
        self.mesh.as_ref().map(|m| m.avatar.as_ref())
    }

    fn build_mesh(&self, avatar: Box<GltfAvatar>) -> Result<MeshGpu> {
        let ctx = &self.ctx;
        let device = &ctx.device;
        ctx.checked("building the glTF avatar", || {
            let module = render::module(device, "avatar_mesh.wgsl", MESH_SHADER);
            let camera_layout = render::layout(
                device,
                "avatar mesh camera",
                &[uniform_entry(
                    0,
                    wgpu::ShaderStages::VERTEX | wgpu::ShaderStages::FRAGMENT,
                )],
            );
            let material_layout = render::layout(
                device,
                "avatar mesh material",
                &[
                    // The vertex stage places the texture (uv transform) and the outline.
                    uniform_entry(0, wgpu::ShaderStages::VERTEX | wgpu::ShaderStages::FRAGMENT),
                    texture_entry(1),
                    sampler_entry(2),
                ],
            );
            let pl =
                render::pipeline_layout(device, "avatar mesh", &[&camera_layout, &material_layout]);
            let attrs_pn = wgpu::vertex_attr_array![0 => Float32x3, 1 => Float32x3];
            let attrs_uv = wgpu::vertex_attr_array![2 => Float32x2];
            let buffers = [
                Some(wgpu::VertexBufferLayout {
                    array_stride: 24,
                    step_mode: wgpu::VertexStepMode::Vertex,
                    attributes: &attrs_pn,
                }),
                Some(wgpu::VertexBufferLayout {
                    array_stride: 8,
                    step_mode: wgpu::VertexStepMode::Vertex,
                    attributes: &attrs_uv,
                }),
            ];
            // Single sheets (hair cards, lashes) are double-sided materials; closed shapes show
            // their front faces only (glTF 2.0, material.doubleSided), which also spares shading
            // their hidden back.
            let pipeline_with =
                |depth_write: bool, vs: &str, fs: &str, cull: Option<wgpu::Face>| {
                    render::pipeline(
                        device,
                        &pl,
                        &RenderDesc {
                            label: "avatar mesh",
                            module: &module,
                            vs,
                            fs,
                            buffers: &buffers,
                            target: COLOR_FORMAT,
                            blend: Some(premultiplied_blend()),
                            cull,
                            depth: Some(Depth {
                                format: DEPTH_FORMAT,
                                write: depth_write,
                            }),
                        },
                    )
                };
            let pipeline = |depth_write: bool, fs: &str, double_sided: bool| {
                pipeline_with(
                    depth_write,
                    "vs_main",
                    fs,
                    (!double_sided).then_some(wgpu::Face::Back),
                )
            };
            // The outline hull shows its back faces only: the front ones would cover the model.
            let outline = pipeline_with(true, "vs_outline", "fs_outline", Some(wgpu::Face::Front));
            let pipelines = [true, false].map(|depth_write| {
                ["fs_plain", "fs_textured"]
                    .map(|fs| [false, true].map(|two| pipeline(depth_write, fs, two)))
            });
            let camera = uniform_buffer(ctx, "avatar mesh camera", 80);
            let camera_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("avatar mesh camera"),
                layout: &camera_layout,
                entries: &[wgpu::BindGroupEntry {
                    binding: 0,
                    resource: camera.as_entire_binding(),
                }],
            });
            let repeat = device.create_sampler(&wgpu::SamplerDescriptor {
                label: Some("avatar mesh texture"),
                address_mode_u: wgpu::AddressMode::Repeat,
                address_mode_v: wgpu::AddressMode::Repeat,
                mag_filter: wgpu::FilterMode::Linear,
                min_filter: wgpu::FilterMode::Linear,
                ..Default::default()
            });
            let textures: Vec<Tex> = avatar
                .images
                .iter()
                .map(|img| {
                    let mut slot = None;
                    upload(
                        ctx,
                        &mut slot,
                        "avatar mesh texture",
                        wgpu::TextureFormat::Rgba8UnormSrgb,
                        img.dimensions(),
                        4,
                        img.as_raw(),
                    );
                    slot
                })
                .collect::<Option<Vec<_>>>()
                .unwrap_or_default();
            let frames = avatar.material_frames(&AvatarState::default());
            let mut material_buffers = Vec::new();
            let materials = avatar
                .materials
                .iter()
                .zip(&frames)
                .map(|(m, f)| {
                    let params = material_params(m, f);
                    let buffer = uniform_buffer(ctx, "avatar material", 4 * MATERIAL_FLOATS as u64);
                    ctx.queue
                        .write_buffer(&buffer, 0, bytemuck::cast_slice(&params));
                    let view = m
                        .texture
                        .and_then(|t| textures.get(t))
                        .map_or(&self.white.view, |t| &t.view);
                    let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                        label: Some("avatar material"),
                        layout: &material_layout,
                        entries: &[
                            wgpu::BindGroupEntry {
                                binding: 0,
                                resource: buffer.as_entire_binding(),
                            },
                            wgpu::BindGroupEntry {
                                binding: 1,
                                resource: wgpu::BindingResource::TextureView(view),
                            },
                            wgpu::BindGroupEntry {
                                binding: 2,
                                resource: wgpu::BindingResource::Sampler(&repeat),
                            },
                        ],
                    });
                    material_buffers.push((buffer, params));
                    group
                })
                .collect();
            let rest = avatar.pose(&AvatarState::default());
            let prims = rest
                .iter()
                .map(|p| {
                    let vertex_bytes = (p.positions.len() * 24) as u64;
                    let vertices = device.create_buffer(&wgpu::BufferDescriptor {
                        label: Some("avatar vertices"),
                        size: vertex_bytes.max(24),
                        usage: wgpu::BufferUsages::VERTEX | wgpu::BufferUsages::COPY_DST,
                        mapped_at_creation: false,
                    });
                    let uvs = buffer_init(
                        ctx,
                        "avatar uvs",
                        bytemuck::cast_slice(&p.primitive.uvs),
                        wgpu::BufferUsages::VERTEX,
                    );
                    let indices = buffer_init(
                        ctx,
                        "avatar indices",
                        bytemuck::cast_slice(&p.primitive.indices),
                        wgpu::BufferUsages::INDEX,
                    );
                    let material = p.primitive.material;
                    let m = avatar.materials.get(material);
                    PrimGpu {
                        vertices,
                        uvs,
                        indices,
                        count: p.primitive.indices.len() as u32,
                        material,
                        blend: m.is_some_and(|m| m.alpha == AlphaMode::Blend),
                        textured: m.is_some_and(|m| m.texture.is_some()),
                        double_sided: m.is_none_or(|m| m.double_sided),
                        hidden: m.is_some_and(|m| {
                            m.texture.is_none()
                                && matches!(m.alpha, AlphaMode::Mask(c) if m.base_color[3] < c)
                        }),
                        outlined: m.is_some_and(|m| {
                            m.toon.is_some_and(|t| t.outline != OutlineWidth::None)
                        }),
                        uploaded: Vec::new(),
                    }
                })
                .collect();
            MeshGpu {
                pipelines,
                outline,
                material_buffers,
                camera,
                camera_group,
                prims,
                materials,
                avatar,
            }
        })
    }

    /// Renders `state` composed as `composition` into `out` (the renderer's size). `camera` is the
    /// frame the avatar replaces (needed by camera, blur and mask backdrops and by
    /// picture-in-picture; same size as the output); `mask` the person mask (any size, stretched).
    ///
    /// # Errors
    /// [`Error::Gpu`] on size mismatches, a missing camera frame, or a failed transfer.
    pub fn render(
        &mut self,
        state: &AvatarState,
        composition: &Composition,
        camera: Option<&RgbaImage>,
        mask: Option<&GrayImage>,
        out: &mut RgbaImage,
    ) -> Result<()> {
        let target = self.render_gpu(state, composition, camera, mask)?;
        crate::bufpool::replace_image(out, target.read()?);
        if composition.backdrop == Backdrop::Transparent {
            unpremultiply(out);
        }
        Ok(())
    }

    /// Renders `state` composed as `composition` into a new frame texture, left on the GPU (for the
    /// next GPU stage or the window). With a transparent backdrop its colours are premultiplied
    /// by alpha ([`Renderer::render`] undoes that on the CPU).
    ///
    /// # Errors
    /// As [`Renderer::render`].
    pub fn render_gpu(
        &mut self,
        state: &AvatarState,
        composition: &Composition,
        camera: Option<&RgbaImage>,
        mask: Option<&GrayImage>,
    ) -> Result<GpuImage> {
        let target = GpuImage::new(&self.ctx, self.width, self.height)?;
        self.render_inner(state, composition, camera, mask, &target)?;
        Ok(target)
    }

    /// Like [`Renderer::render`] into a new image.
    pub fn render_image(
        &mut self,
        state: &AvatarState,
        composition: &Composition,
        camera: Option<&RgbaImage>,
        mask: Option<&GrayImage>,
    ) -> Result<RgbaImage> {
        let mut out = RgbaImage::new(self.width, self.height);
        self.render(state, composition, camera, mask, &mut out)?;
        Ok(out)
    }

    /// The avatar alone over transparency, premultiplied alpha, at the place `composition` gives
    /// it: what [`compose::reference`] puts over the backdrop on the CPU.
    pub fn render_layer(
        &mut self,
        state: &AvatarState,
        composition: &Composition,
    ) -> Result<RgbaImage> {
        let layer_only = Composition {
            backdrop: Backdrop::Transparent,
            pip: composition.pip,
        };
        let target = GpuImage::new(&self.ctx, self.width, self.height)?;
        // With picture-in-picture the first pass draws the camera; the layer must not include it.
        let clear = wgpu::LoadOp::Clear(wgpu::Color::TRANSPARENT);
        self.render_passes(state, &layer_only, &[], clear, &target)?;
        target.read()
    }

    /// The backdrop textures this frame needs, prepared on the CPU (shared with the CPU reference).
    ///
    /// # Errors
    /// [`Error::Gpu`] when a needed camera frame is missing or has the wrong size.
    pub fn prepare(
        &mut self,
        composition: &Composition,
        camera: Option<&RgbaImage>,
    ) -> Result<&Prepared> {
        let (w, h) = (self.width, self.height);
        if composition.needs_camera() {
            match camera {
                None => {
                    return Err(Error::Gpu(
                        "avatar: this backdrop or picture-in-picture needs the camera frame".into(),
                    ))
                }
                Some(c) if c.dimensions() != (w, h) => {
                    return Err(Error::size(
                        "avatar camera frame (the renderer's size)",
                        (w, h),
                        c.dimensions(),
                    ))
                }
                _ => {}
            }
        }
        let place = composition.placement(w, h);
        let (pw, ph) = (place.width as u32, place.height as u32);
        match &composition.backdrop {
            Backdrop::Image(img) => {
                let key = (Arc::as_ptr(img) as usize, pw, ph);
                if self.image_key != Some(key) {
                    self.prepared.image = Some(cover(&mut self.resizer, img, pw, ph)?);
                    self.image_key = Some(key);
                }
            }
            Backdrop::Blur => {
                if let Some(c) = camera {
                    self.prepared.blurred = Some(blurred_small(&mut self.resizer, c)?);
                }
            }
            _ => {}
        }
        Ok(&self.prepared)
    }

    fn render_inner(
        &mut self,
        state: &AvatarState,
        composition: &Composition,
        camera: Option<&RgbaImage>,
        mask: Option<&GrayImage>,
        target: &GpuImage,
    ) -> Result<()> {
        self.prepare(composition, camera)?;
        let ctx = self.ctx.clone();
        let mut kinds = Vec::new();
        {
            let passes = compose::plan(
                composition,
                self.width,
                self.height,
                camera,
                mask,
                &self.prepared,
            );
            for (place, pass) in &passes {
                // Which GPU texture holds the pass's pixels.
                let source = match pass.texture {
                    Some(t) if camera.is_some_and(|c| std::ptr::eq(c, t)) => 1,
                    Some(t)
                        if self
                            .prepared
                            .image
                            .as_ref()
                            .is_some_and(|i| std::ptr::eq(i, t)) =>
                    {
                        2
                    }
                    Some(_) => 3,
                    None => 0,
                };
                kinds.push((*place, pass.mode, pass.fill, source, pass.mask.is_some()));
            }
        }
        // A backdrop over the whole frame needs no shader: a solid colour is the target's clear
        // value, and an opaque camera frame or picture of the frame's size, or the blurred camera
        // upsampled, is written straight into the target. Only what is left is drawn.
        let full = Placement::full(self.width, self.height);
        let mut load = wgpu::LoadOp::Clear(wgpu::Color::TRANSPARENT);
        if let Some(&(_, mode, fill, source, _)) = kinds.first().filter(|k| k.0 == full) {
            let picture = match source {
                1 => camera,
                2 => self.prepared.image.as_ref(),
                _ => None,
            }
            .filter(|img| img.dimensions() == (self.width, self.height) && opaque(img));
            if mode == 0 {
                let [r, g, b] = fill.map(f64::from);
                load = wgpu::LoadOp::Clear(wgpu::Color { r, g, b, a: 1.0 });
                kinds.remove(0);
            } else if let (1, Some(img)) = (mode, picture) {
                let row = 4 * self.width as usize;
                let raw = img.as_raw();
                self.backdrop
                    .write(&ctx, self.width, self.height, |y, dst| {
                        dst.copy_from_slice(&raw[y * row..(y + 1) * row]);
                    })?;
                load = wgpu::LoadOp::Load;
                kinds.remove(0);
            } else if let (1, 3, Some(small)) = (mode, source, self.prepared.blurred.as_ref()) {
                // The blurred camera: the small copy enlarged on the CPU (bilinear, what the
                // sampler does) row by row straight into the upload buffer, rather than by a
                // full-frame shader pass.
                let up = Upscaler::new(small, self.width, self.height);
                self.backdrop
                    .write(&ctx, self.width, self.height, |y, dst| {
                        up.row(y as u32, dst)
                    })?;
                load = wgpu::LoadOp::Load;
                kinds.remove(0);
            }
        }
        if let Some(c) = camera.filter(|_| kinds.iter().any(|k| k.3 == 1)) {
            upload(
                &ctx,
                &mut self.camera_tex,
                "avatar camera",
                wgpu::TextureFormat::Rgba8Unorm,
                c.dimensions(),
                4,
                c.as_raw(),
            );
        }
        if let Some(img) = self
            .prepared
            .image
            .as_ref()
            .filter(|_| kinds.iter().any(|k| k.3 == 2))
        {
            // The picture changes only with the option or the size: upload it once per change.
            if self.image_uploaded != self.image_key {
                upload(
                    &ctx,
                    &mut self.image_tex,
                    "avatar image",
                    wgpu::TextureFormat::Rgba8Unorm,
                    img.dimensions(),
                    4,
                    img.as_raw(),
                );
                self.image_uploaded = self.image_key;
            }
        }
        if let Some(img) = self
            .prepared
            .blurred
            .as_ref()
            .filter(|_| kinds.iter().any(|k| k.3 == 3))
        {
            upload(
                &ctx,
                &mut self.blur_tex,
                "avatar blur",
                wgpu::TextureFormat::Rgba8Unorm,
                img.dimensions(),
                4,
                img.as_raw(),
            );
        }
        if let Some(m) = mask.filter(|_| kinds.iter().any(|k| k.4)) {
            upload(
                &ctx,
                &mut self.mask_tex,
                "avatar mask",
                wgpu::TextureFormat::R8Unorm,
                m.dimensions(),
                1,
                m.as_raw(),
            );
        }
        self.render_passes(state, composition, &kinds, load, target)
    }

    #[allow(clippy::type_complexity)]
    fn render_passes(
        &mut self,
        state: &AvatarState,
        composition: &Composition,
        kinds: &[(Placement, u32, [f32; 3], u32, bool)],
        load: wgpu::LoadOp<wgpu::Color>,
        target: &GpuImage,
    ) -> Result<()> {
        let ctx = self.ctx.clone();
        let (w, h) = (self.width, self.height);
        let place = composition.placement(w, h);
        let mut groups = Vec::new();
        for (i, (p, mode, fill, source, has_mask)) in kinds.iter().enumerate().take(2) {
            let mut params = [0u8; BG_UNIFORM as usize];
            let floats: [f32; 8] = [p.x, p.y, p.width, p.height, fill[0], fill[1], fill[2], 1.0];
            params[..32].copy_from_slice(bytemuck::cast_slice(&floats));
            params[32..36].copy_from_slice(&mode.to_le_bytes());
            ctx.queue.write_buffer(&self.bg_uniforms[i], 0, &params);
            let tex = match source {
                1 => self.camera_tex.as_ref(),
                2 => self.image_tex.as_ref(),
                3 => self.blur_tex.as_ref(),
                _ => None,
            }
            .map_or(&self.white.view, |t| &t.view);
            let mask_view = if *has_mask {
                self.mask_tex
                    .as_ref()
                    .map_or(&self.no_mask.view, |t| &t.view)
            } else {
                &self.no_mask.view
            };
            groups.push(ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("avatar background"),
                layout: &self.bg_layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: self.bg_uniforms[i].as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: wgpu::BindingResource::TextureView(tex),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: wgpu::BindingResource::TextureView(mask_view),
                    },
                    wgpu::BindGroupEntry {
                        binding: 3,
                        resource: wgpu::BindingResource::Sampler(&self.sampler),
                    },
                ],
            }));
        }
        // Per-frame avatar data.
        let mut draws = Vec::new();
        if let Some(mesh) = &mut self.mesh {
            let posed = mesh.avatar.pose(state);
            let cam = mesh_camera(&mesh.avatar, state, &place, w, h);
            let mut bytes = Vec::with_capacity(80);
            bytes.extend_from_slice(bytemuck::cast_slice(&cam.to_cols_array()));
            let aspect = h as f32 / w.max(1) as f32;
            bytes.extend_from_slice(bytemuck::cast_slice(&[
                LIGHT[0], LIGHT[1], LIGHT[2], aspect,
            ]));
            ctx.queue.write_buffer(&mesh.camera, 0, &bytes);
            let frames = mesh.avatar.material_frames(state);
            for ((buffer, uploaded), (m, f)) in mesh
                .material_buffers
                .iter_mut()
                .zip(mesh.avatar.materials.iter().zip(&frames))
            {
                let params = material_params(m, f);
                if params != *uploaded {
                    ctx.queue
                        .write_buffer(buffer, 0, bytemuck::cast_slice(&params));
                    *uploaded = params;
                }
            }
            for (gpu, p) in mesh.prims.iter_mut().zip(&posed) {
                let mut v = Vec::with_capacity(p.positions.len() * 6);
                for (pos, n) in p.positions.iter().zip(&p.normals) {
                    v.extend_from_slice(pos);
                    v.extend_from_slice(n);
                }
                if !v.is_empty() && v != gpu.uploaded {
                    ctx.queue
                        .write_buffer(&gpu.vertices, 0, bytemuck::cast_slice(&v));
                    gpu.uploaded = v;
                }
            }
        } else {
            let layout = builtin::layout(state, &place, &self.palette, w, h);
            draws = layout.draws;
            ctx.queue.write_buffer(
                &self.builtin_uniform,
                0,
                bytemuck::bytes_of(&layout.uniform),
            );
        }
        let scissor = |pass: &mut wgpu::RenderPass, p: &Placement| {
            let x = p.x.max(0.0) as u32;
            let y = p.y.max(0.0) as u32;
            let pw = (p.width as u32).min(w.saturating_sub(x)).max(1);
            let ph = (p.height as u32).min(h.saturating_sub(y)).max(1);
            pass.set_scissor_rect(x, y, pw, ph);
        };
        ctx.checked("rendering the avatar", || {
            let mut encoder = ctx
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("avatar"),
                });
            self.backdrop.encode(&mut encoder, target.texture());
            {
                let mut pass =
                    color_pass(&mut encoder, "avatar background", target.view(), load, None);
                for ((p, mode, ..), group) in kinds.iter().zip(&groups) {
                    pass.set_pipeline(&self.bg_pipelines[(*mode as usize).min(2)]);
                    pass.set_viewport(p.x, p.y, p.width, p.height, 0.0, 1.0);
                    scissor(&mut pass, p);
                    pass.set_bind_group(0, group, &[]);
                    pass.draw(0..3, 0..1);
                }
                if self.mesh.is_none() {
                    pass.set_viewport(0.0, 0.0, w as f32, h as f32, 0.0, 1.0);
                    scissor(&mut pass, &place);
                    pass.set_bind_group(0, &self.builtin_group, &[]);
                    if self.single_pass {
                        pass.set_pipeline(&self.builtin_pipeline);
                        pass.draw(0..6, 0..1);
                    } else {
                        // Instance k + 1 is drawn over parts[k] (see the shader's vs_main).
                        for d in &draws {
                            pass.set_pipeline(&self.part_pipelines[d.part.index()]);
                            pass.draw(0..6, d.first + 1..d.first + 1 + d.count);
                        }
                    }
                }
            }
            if let Some(mesh) = &self.mesh {
                let mut pass = color_pass(
                    &mut encoder,
                    "avatar mesh",
                    target.view(),
                    wgpu::LoadOp::Load,
                    Some(&self.depth_view),
                );
                scissor(&mut pass, &place);
                pass.set_bind_group(0, &mesh.camera_group, &[]);
                for blend in [false, true] {
                    for p in mesh
                        .prims
                        .iter()
                        .filter(|p| p.blend == blend && p.count > 0 && !p.hidden)
                    {
                        let Some(material) = mesh.materials.get(p.material) else {
                            continue;
                        };
                        pass.set_pipeline(
                            &mesh.pipelines[usize::from(blend)][usize::from(p.textured)]
                                [usize::from(p.double_sided)],
                        );
                        pass.set_bind_group(1, material, &[]);
                        pass.set_vertex_buffer(0, p.vertices.slice(..));
                        pass.set_vertex_buffer(1, p.uvs.slice(..));
                        pass.set_index_buffer(p.indices.slice(..), wgpu::IndexFormat::Uint32);
                        pass.draw_indexed(0..p.count, 0, 0..1);
                    }
                }
                pass.set_pipeline(&mesh.outline);
                for p in mesh
                    .prims
                    .iter()
                    .filter(|p| p.outlined && p.count > 0 && !p.hidden)
                {
                    let Some(material) = mesh.materials.get(p.material) else {
                        continue;
                    };
                    pass.set_bind_group(1, material, &[]);
                    pass.set_vertex_buffer(0, p.vertices.slice(..));
                    pass.set_vertex_buffer(1, p.uvs.slice(..));
                    pass.set_index_buffer(p.indices.slice(..), wgpu::IndexFormat::Uint32);
                    pass.draw_indexed(0..p.count, 0, 0..1);
                }
            }
            ctx.queue.submit([encoder.finish()]);
        })
    }
}

/// A full-frame backdrop written into a mapped buffer and copied into the target at the start of
/// the frame's passes (no staging copy, no allocation per frame).
#[derive(Default)]
struct BackdropUpload {
    upload: Option<Upload>,
    pending: bool,
}

impl BackdropUpload {
    /// Fills a `w` x `h` frame row by row (`fill(y, row)`).
    fn write(
        &mut self,
        ctx: &GpuContext,
        w: u32,
        h: u32,
        fill: impl FnMut(usize, &mut [u8]),
    ) -> Result<()> {
        Upload::sized(&mut self.upload, ctx, w, h).write(ctx, fill)?;
        self.pending = true;
        Ok(())
    }

    /// Records the copy of a frame written since the last call into `target`.
    fn encode(&mut self, encoder: &mut wgpu::CommandEncoder, target: &wgpu::Texture) {
        if std::mem::take(&mut self.pending) {
            if let Some(u) = &self.upload {
                u.encode_copy(encoder, target);
            }
        }
    }
}

fn buffer_init(
    ctx: &GpuContext,
    label: &str,
    bytes: &[u8],
    usage: wgpu::BufferUsages,
) -> wgpu::Buffer {
    // Buffers cannot be empty and writes must be 4-byte multiples.
    let size = (bytes.len() as u64).div_ceil(4).max(1) * 4;
    let buffer = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size,
        usage: usage | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut padded = bytes.to_vec();
    padded.resize(size as usize, 0);
    ctx.queue.write_buffer(&buffer, 0, &padded);
    buffer
}

/// World -> clip for a glTF avatar: orthographic, the rest-pose head centre on the tracked face
/// centre, the head scaled so that the face (about 78% of the head's height with hair) spans the
/// tracked face height.
pub fn mesh_camera(
    avatar: &GltfAvatar,
    state: &AvatarState,
    place: &Placement,
    w: u32,
    h: u32,
) -> Mat4 {
    let head = HeadGeometry::new(state, place);
    let (w, h) = (w as f32, h as f32);
    let s = state.scale * place.height / (0.78 * avatar.head_height);
    let c = avatar.head_center;
    let [cx, cy] = head.center;
    // Deep enough for the whole model however it turns (a model far larger than its head, seen
    // close up, would otherwise be cut by the near plane).
    let depth = (4.0 * h).max(2.5 * avatar.radius * s);
    Mat4::from_cols(
        Vec4::new(2.0 * s / w, 0.0, 0.0, 0.0),
        Vec4::new(0.0, 2.0 * s / h, 0.0, 0.0),
        Vec4::new(0.0, 0.0, -s / depth, 0.0),
        Vec4::new(
            2.0 * (cx - c.x * s) / w - 1.0,
            1.0 - 2.0 * (cy + c.y * s) / h,
            0.5 + c.z * s / depth,
            1.0,
        ),
    )
}

/// `img` scaled to cover `w` x `h` (aspect kept, centre cropped).
fn cover(
    resizer: &mut fast_image_resize::Resizer,
    img: &RgbaImage,
    w: u32,
    h: u32,
) -> Result<RgbaImage> {
    let (iw, ih) = (img.width().max(1) as f32, img.height().max(1) as f32);
    let k = (w as f32 / iw).max(h as f32 / ih);
    let (sw, sh) = (
        ((iw * k).ceil() as u32).max(w),
        ((ih * k).ceil() as u32).max(h),
    );
    let scaled = resize_rgba(resizer, img, sw, sh, Filter::Bilinear)?;
    let (x0, y0) = ((sw - w) / 2, (sh - h) / 2);
    Ok(image::imageops::crop_imm(&scaled, x0, y0, w, h).to_image())
}

/// The camera frame shrunk by [`BLUR_DOWNSCALE`] and blurred (the `blur` backdrop's texture).
pub fn blurred_small(
    resizer: &mut fast_image_resize::Resizer,
    camera: &RgbaImage,
) -> Result<RgbaImage> {
    let w = (camera.width() / BLUR_DOWNSCALE).max(1);
    let h = (camera.height() / BLUR_DOWNSCALE).max(1);
    let small = resize_rgba(resizer, camera, w, h, Filter::Bilinear)?;
    let mut out = RgbaImage::new(w, h);
    gaussian_blur(&small, &mut out, &GaussianWeights::new(BLUR_RADIUS, None)?)?;
    Ok(out)
}

/// Whether every pixel of `img` is fully opaque (then it can stand in for the backdrop shader's
/// output, which is always opaque).
fn opaque(img: &RgbaImage) -> bool {
    img.as_raw().chunks_exact(4).all(|p| p[3] == 255)
}

/// Premultiplied -> straight alpha, in place.
fn unpremultiply(img: &mut RgbaImage) {
    for p in img.pixels_mut() {
        let a = p[3];
        if a > 0 && a < 255 {
            for c in 0..3 {
                p[c] = ((u32::from(p[c]) * 255 + u32::from(a) / 2) / u32::from(a)).min(255) as u8;
            }
        }
    }
}
