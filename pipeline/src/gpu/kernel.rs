//! The one way a compute kernel is built here: a [`Kernel`] is a WGSL source, its bindings (one bind
//! group, described with the few binding kinds below) and its entry points; what a kernel module
//! adds is its encode step. Per-size resources (intermediate textures, buffers) live in a
//! [`BySize`] cache, and small parameter blocks in a [`HostBuffer`] that is written only when it
//! changes. Kernels take and give [`GpuImage`]s and record into the caller's encoder, so that
//! kernels compose on the GPU: a chain of them is one submission, with no transfer in between.

use std::borrow::Cow;
use std::sync::Arc;

use super::{GpuContext, GpuImage};
use crate::error::Result;

/// One entry point of a kernel and the bindings it uses (its bind group).
#[derive(Clone, Copy)]
pub struct Entry<'a> {
    pub name: &'a str,
    /// `(binding, kind)`; entry points with equal bindings share one layout, so one bind group
    /// serves them all.
    pub bindings: &'a [(u32, wgpu::BindingType)],
}

/// What a kernel is made of.
pub struct KernelDesc<'a> {
    /// Names the kernel in GPU errors and debuggers, e.g. `blur`.
    pub label: &'a str,
    /// The WGSL source (from the `doppel-shaders` crate).
    pub shader: &'a str,
    /// Compute entry points, in the order [`Kernel::dispatch`] numbers them.
    pub entries: &'a [Entry<'a>],
    /// Pipeline-overridable constants (`override` in WGSL), e.g. a tile size.
    pub constants: &'a [(&'a str, f64)],
}

/// A compiled compute kernel: one shader module, a pipeline per entry point over one bind group.
pub struct Kernel {
    ctx: Arc<GpuContext>,
    label: String,
    layouts: Vec<wgpu::BindGroupLayout>,
    /// Per entry point: its pipeline and the index of its layout.
    pipelines: Vec<(wgpu::ComputePipeline, usize)>,
}

impl Kernel {
    /// Compiles `desc` on `ctx`'s device.
    ///
    /// # Errors
    /// [`crate::Error::Gpu`] naming the kernel when the device rejects the shader or a pipeline.
    pub fn new(ctx: &Arc<GpuContext>, desc: &KernelDesc) -> Result<Self> {
        let device = &ctx.device;
        let what = format!("building the {} kernel", desc.label);
        let (layouts, pipelines) = ctx.checked(&what, || {
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(desc.label),
                source: wgpu::ShaderSource::Wgsl(Cow::Borrowed(desc.shader)),
            });
            let options = wgpu::PipelineCompilationOptions {
                constants: desc.constants,
                ..Default::default()
            };
            let mut layouts: Vec<(&[(u32, wgpu::BindingType)], wgpu::BindGroupLayout)> = Vec::new();
            let mut pipelines = Vec::new();
            for e in desc.entries {
                let at = match layouts.iter().position(|(b, _)| *b == e.bindings) {
                    Some(at) => at,
                    None => {
                        let entries: Vec<_> = e
                            .bindings
                            .iter()
                            .map(|&(binding, ty)| entry(binding, ty))
                            .collect();
                        let layout =
                            device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                                label: Some(desc.label),
                                entries: &entries,
                            });
                        layouts.push((e.bindings, layout));
                        layouts.len() - 1
                    }
                };
                let pipeline =
                    compute_pipeline(device, &layouts[at].1, &module, e.name, options.clone());
                pipelines.push((pipeline, at));
            }
            (layouts.into_iter().map(|(_, l)| l).collect(), pipelines)
        })?;
        Ok(Self {
            ctx: ctx.clone(),
            label: desc.label.to_string(),
            layouts,
            pipelines,
        })
    }

    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    /// A bind group for entry point `entry` over `resources` (`(binding, resource)`, matching its
    /// bindings).
    pub fn bind(
        &self,
        entry: usize,
        resources: &[(u32, wgpu::BindingResource)],
    ) -> wgpu::BindGroup {
        let layout_at = self.pipelines.get(entry).map_or(0, |(_, at)| *at);
        let entries: Vec<_> = resources
            .iter()
            .map(|(binding, resource)| wgpu::BindGroupEntry {
                binding: *binding,
                resource: resource.clone(),
            })
            .collect();
        self.ctx
            .device
            .create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(&self.label),
                // Entries are a kernel's own constants, so `entry` is always one of them.
                layout: &self.layouts[layout_at],
                entries: &entries,
            })
    }

    /// Records entry point `entry` (its index in [`KernelDesc::entries`]) over `groups`
    /// workgroups into `pass`.
    pub fn dispatch(
        &self,
        pass: &mut wgpu::ComputePass,
        entry: usize,
        bind_group: &wgpu::BindGroup,
        groups: (u32, u32, u32),
    ) {
        if let Some((pipeline, _)) = self.pipelines.get(entry) {
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, bind_group, &[]);
            pass.dispatch_workgroups(groups.0, groups.1, groups.2);
        }
    }

    /// A compute pass named after the kernel.
    pub fn pass<'e>(&self, encoder: &'e mut wgpu::CommandEncoder) -> wgpu::ComputePass<'e> {
        encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(&self.label),
            timestamp_writes: None,
        })
    }
}

/// `image`'s view as a binding resource.
pub fn view(image: &GpuImage) -> wgpu::BindingResource<'_> {
    wgpu::BindingResource::TextureView(image.view())
}

/// Workgroups of `side` x `side` that cover `width` x `height`.
pub fn groups_2d(width: u32, height: u32, side: u32) -> (u32, u32, u32) {
    (width.div_ceil(side), height.div_ceil(side), 1)
}

/// Records work on `ctx` with one encoder and submits it (no wait: a later readback or map waits).
///
/// # Errors
/// [`crate::Error::Gpu`] naming `what` when the device reports a validation or memory error.
pub fn submit(
    ctx: &GpuContext,
    what: &str,
    record: impl FnOnce(&mut wgpu::CommandEncoder) -> Result<()>,
) -> Result<wgpu::SubmissionIndex> {
    ctx.checked(what, || -> Result<_> {
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(what) });
        record(&mut encoder)?;
        Ok(ctx.queue.submit([encoder.finish()]))
    })?
}

/// Records `encode` into a new frame texture of `size` on `ctx` and submits it (not waited for):
/// the `apply` step of kernels that make a frame from a frame.
///
/// # Errors
/// [`crate::Error::Gpu`] when the texture cannot be allocated or the device reports an error;
/// what `encode` returns.
pub fn into_new_frame(
    ctx: &Arc<GpuContext>,
    size: (u32, u32),
    what: &str,
    encode: impl FnOnce(&mut wgpu::CommandEncoder, &GpuImage) -> Result<()>,
) -> Result<GpuImage> {
    let dst = GpuImage::new(ctx, size.0, size.1)?;
    submit(ctx, what, |encoder| encode(encoder, &dst))?;
    Ok(dst)
}

/// CPU pixels through a GPU step and back: uploads `src`, runs `apply` on it and reads the result
/// into `dst`, which must have `src`'s size. For tests, benchmarks and CPU callers; stages keep
/// frames on the GPU.
///
/// # Errors
/// [`crate::Error::Size`] naming `what` when the sizes differ; what the transfers or `apply` return.
pub fn through_gpu(
    ctx: &Arc<GpuContext>,
    what: &str,
    src: &image::RgbaImage,
    dst: &mut image::RgbaImage,
    apply: impl FnOnce(&GpuImage) -> Result<GpuImage>,
) -> Result<()> {
    if dst.dimensions() != src.dimensions() {
        return Err(crate::Error::size(what, src.dimensions(), dst.dimensions()));
    }
    let out = apply(&GpuImage::upload(ctx, src)?)?;
    crate::bufpool::replace_image(dst, out.read()?);
    Ok(())
}

/// A value made for a key (a frame size, say) and kept while the key stays the same.
pub struct BySize<K, T> {
    slot: Option<(K, T)>,
}

impl<K, T> Default for BySize<K, T> {
    fn default() -> Self {
        Self { slot: None }
    }
}

impl<K: PartialEq + Copy, T> BySize<K, T> {
    /// The value for `key`, made by `make` when there is none or it was made for another key.
    ///
    /// # Errors
    /// What `make` returns.
    pub fn get(&mut self, key: K, make: impl FnOnce(K) -> Result<T>) -> Result<&mut T> {
        if self.slot.as_ref().is_none_or(|(k, _)| *k != key) {
            self.slot = None;
            self.slot = Some((key, make(key)?));
        }
        match self.slot.as_mut() {
            Some((_, value)) => Ok(value),
            None => Err(crate::Error::Internal("BySize lost its value".to_string())),
        }
    }

    /// The value if one is kept.
    pub fn current(&self) -> Option<&T> {
        self.slot.as_ref().map(|(_, v)| v)
    }
}

/// A small buffer the CPU fills (parameters, weights, curve maps), written to the GPU only when
/// its contents change.
pub struct HostBuffer {
    buffer: wgpu::Buffer,
    now: Vec<u8>,
}

impl HostBuffer {
    /// A uniform buffer of `bytes` (a multiple of 16 as WGSL lays structs out).
    pub fn uniform(ctx: &GpuContext, label: &str, bytes: u64) -> Self {
        Self::with_usage(ctx, label, bytes, wgpu::BufferUsages::UNIFORM)
    }

    /// A storage buffer of `bytes` that kernels read.
    pub fn storage(ctx: &GpuContext, label: &str, bytes: u64) -> Self {
        Self::with_usage(ctx, label, bytes, wgpu::BufferUsages::STORAGE)
    }

    fn with_usage(ctx: &GpuContext, label: &str, bytes: u64, usage: wgpu::BufferUsages) -> Self {
        Self {
            buffer: ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: bytes,
                usage: usage | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            now: Vec::new(),
        }
    }

    /// The buffer's size in bytes.
    pub fn size(&self) -> u64 {
        self.buffer.size()
    }

    /// Queues `data` for the buffer unless it already holds it.
    pub fn set(&mut self, ctx: &GpuContext, data: &[u8]) {
        if self.now != data {
            ctx.queue.write_buffer(&self.buffer, 0, data);
            self.now = data.to_vec();
        }
    }

    pub fn binding(&self) -> wgpu::BindingResource<'_> {
        self.buffer.as_entire_binding()
    }
}

/// A compute-stage layout entry.
pub const fn entry(binding: u32, ty: wgpu::BindingType) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty,
        count: None,
    }
}

/// A uniform buffer of at least `bytes` (0: no minimum declared).
pub const fn uniform(bytes: u64) -> wgpu::BindingType {
    wgpu::BindingType::Buffer {
        ty: wgpu::BufferBindingType::Uniform,
        has_dynamic_offset: false,
        min_binding_size: wgpu::BufferSize::new(bytes),
    }
}

/// A storage buffer.
pub const fn storage(read_only: bool) -> wgpu::BindingType {
    wgpu::BindingType::Buffer {
        ty: wgpu::BufferBindingType::Storage { read_only },
        has_dynamic_offset: false,
        min_binding_size: None,
    }
}

/// A 2D float texture read with `textureLoad` (no sampler).
pub const fn texture() -> wgpu::BindingType {
    wgpu::BindingType::Texture {
        sample_type: wgpu::TextureSampleType::Float { filterable: false },
        view_dimension: wgpu::TextureViewDimension::D2,
        multisampled: false,
    }
}

/// A write-only 2D storage texture of `format`.
pub const fn storage_texture(format: wgpu::TextureFormat) -> wgpu::BindingType {
    wgpu::BindingType::StorageTexture {
        access: wgpu::StorageTextureAccess::WriteOnly,
        format,
        view_dimension: wgpu::TextureViewDimension::D2,
    }
}

/// The compute pipeline of `entry_point` in `module`, over the single bind group `layout`.
pub fn compute_pipeline(
    device: &wgpu::Device,
    layout: &wgpu::BindGroupLayout,
    module: &wgpu::ShaderModule,
    entry_point: &str,
    options: wgpu::PipelineCompilationOptions<'_>,
) -> wgpu::ComputePipeline {
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(entry_point),
        bind_group_layouts: &[Some(layout)],
        immediate_size: 0,
    });
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(entry_point),
        layout: Some(&pipeline_layout),
        module,
        entry_point: Some(entry_point),
        compilation_options: options,
        cache: None,
    })
}
