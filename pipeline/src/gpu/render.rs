//! The one way a render pipeline is built here, the drawing counterpart of [`super::kernel`]: a
//! shader module from a WGSL source, bind group layouts from the few binding kinds below, and a
//! [`RenderDesc`] that names only what differs between doppel's pipelines (entry points, vertex
//! buffers, target format, blending, culling, depth). The avatar renderer and the live window's
//! presenter both draw through it.

use std::borrow::Cow;

/// A shader module from a WGSL source (from the `doppel-shaders` crate), named for errors.
pub fn module(device: &wgpu::Device, label: &str, source: &'static str) -> wgpu::ShaderModule {
    device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(Cow::Borrowed(source)),
    })
}

/// A uniform buffer binding seen by `visibility`.
pub fn uniform_entry(binding: u32, visibility: wgpu::ShaderStages) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

/// A filterable 2D float texture binding for the fragment stage.
pub fn texture_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::FRAGMENT,
        ty: wgpu::BindingType::Texture {
            sample_type: wgpu::TextureSampleType::Float { filterable: true },
            view_dimension: wgpu::TextureViewDimension::D2,
            multisampled: false,
        },
        count: None,
    }
}

/// A filtering sampler binding for the fragment stage.
pub fn sampler_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::FRAGMENT,
        ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
        count: None,
    }
}

/// A bind group layout of `entries`.
pub fn layout(
    device: &wgpu::Device,
    label: &str,
    entries: &[wgpu::BindGroupLayoutEntry],
) -> wgpu::BindGroupLayout {
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(label),
        entries,
    })
}

/// Blending for premultiplied-alpha colour (`src + dst * (1 - src.a)`), on colour and alpha.
pub fn premultiplied_blend() -> wgpu::BlendState {
    let c = wgpu::BlendComponent {
        src_factor: wgpu::BlendFactor::One,
        dst_factor: wgpu::BlendFactor::OneMinusSrcAlpha,
        operation: wgpu::BlendOperation::Add,
    };
    wgpu::BlendState { color: c, alpha: c }
}

/// Depth testing of a pipeline: `LessEqual` against a `format` attachment.
#[derive(Clone, Copy, Debug)]
pub struct Depth {
    pub format: wgpu::TextureFormat,
    pub write: bool,
}

/// What one render pipeline is made of. One colour target; no multisampling.
pub struct RenderDesc<'a> {
    pub label: &'a str,
    pub module: &'a wgpu::ShaderModule,
    /// Vertex and fragment entry points.
    pub vs: &'a str,
    pub fs: &'a str,
    /// Vertex buffers (none for full-screen triangles made in the vertex shader).
    pub buffers: &'a [Option<wgpu::VertexBufferLayout<'a>>],
    pub target: wgpu::TextureFormat,
    pub blend: Option<wgpu::BlendState>,
    /// Faces not drawn.
    pub cull: Option<wgpu::Face>,
    pub depth: Option<Depth>,
}

/// A pipeline layout over `layouts`, bind group `i` being `layouts[i]`.
pub fn pipeline_layout(
    device: &wgpu::Device,
    label: &str,
    layouts: &[&wgpu::BindGroupLayout],
) -> wgpu::PipelineLayout {
    let layouts: Vec<Option<&wgpu::BindGroupLayout>> = layouts.iter().copied().map(Some).collect();
    device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(label),
        bind_group_layouts: &layouts,
        immediate_size: 0,
    })
}

/// The render pipeline `desc` describes, over `layout`.
pub fn pipeline(
    device: &wgpu::Device,
    layout: &wgpu::PipelineLayout,
    desc: &RenderDesc,
) -> wgpu::RenderPipeline {
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(desc.label),
        layout: Some(layout),
        vertex: wgpu::VertexState {
            module: desc.module,
            entry_point: Some(desc.vs),
            compilation_options: Default::default(),
            buffers: desc.buffers,
        },
        primitive: wgpu::PrimitiveState {
            cull_mode: desc.cull,
            ..Default::default()
        },
        depth_stencil: desc.depth.map(|d| wgpu::DepthStencilState {
            format: d.format,
            depth_write_enabled: Some(d.write),
            depth_compare: Some(wgpu::CompareFunction::LessEqual),
            stencil: Default::default(),
            bias: Default::default(),
        }),
        multisample: wgpu::MultisampleState::default(),
        fragment: Some(wgpu::FragmentState {
            module: desc.module,
            entry_point: Some(desc.fs),
            compilation_options: Default::default(),
            targets: &[Some(wgpu::ColorTargetState {
                format: desc.target,
                blend: desc.blend,
                write_mask: wgpu::ColorWrites::ALL,
            })],
        }),
        multiview_mask: None,
        cache: None,
    })
}
