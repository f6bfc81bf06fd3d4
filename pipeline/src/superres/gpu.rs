//! The GPU twin of doppel's super-resolution net: the same layers as the ONNX graph, as WGSL compute
//! kernels (`shaders/superres_conv.wgsl`, `shaders/superres_io.wgsl`) with the weights read from the
//! ONNX file ([`FastNet`]).
//!
//! Per frame: upload the RGBA8 pixels, unpack to planar f32, conv1..conv3 (ReLU), the skip conv into
//! the output channels, conv4 added onto them, pixel shuffle + rounding to RGBA8, readback. All
//! arithmetic is f32 as in ONNX Runtime; only the summation order differs, so outputs agree with the
//! ONNX backend within 1/255 (a value within ~1e-5 of a rounding boundary may round the other way).
//! Buffers are kept while the frame size stays the same.

use std::borrow::Cow;
use std::sync::Arc;

use image::RgbaImage;

use super::net::{Conv, FastNet};
use crate::error::{Error, Result};
use crate::gpu::GpuContext;

const CONV_SHADER: &str = include_str!("../../../shaders/superres_conv.wgsl");
const IO_SHADER: &str = include_str!("../../../shaders/superres_io.wgsl");
const WORKGROUP: u32 = 8;
const RELU: u32 = 1;
const ACCUMULATE: u32 = 2;

/// Buffers and bind groups for one low-resolution size.
struct Targets {
    width: u32,
    height: u32,
    pixels_in: wgpu::Buffer,
    pixels_out: wgpu::Buffer,
    readback: wgpu::Buffer,
    unpack: wgpu::BindGroup,
    pack: wgpu::BindGroup,
    /// (bind group, output channels) per conv dispatch, in order.
    convs: Vec<(wgpu::BindGroup, u32)>,
    /// Uniform buffers the bind groups use (kept alive with them).
    _uniforms: Vec<wgpu::Buffer>,
}

/// The net on the GPU. Build once per stream.
pub struct GpuSuperRes {
    ctx: Arc<GpuContext>,
    net: FastNet,
    conv_pipeline: wgpu::ComputePipeline,
    unpack_pipeline: wgpu::ComputePipeline,
    pack_pipeline: wgpu::ComputePipeline,
    conv_layout: wgpu::BindGroupLayout,
    io_layout: wgpu::BindGroupLayout,
    weights: wgpu::Buffer,
    biases: wgpu::Buffer,
    /// (weight offset, bias offset) in vec4s per layer: conv1..conv4, then skip.
    offsets: Vec<(u32, u32)>,
    /// Buffers for the last few sizes, most recent last: tiled frames alternate between a few tile
    /// sizes, which must not reallocate every tile.
    targets: Vec<Targets>,
}

/// Sizes whose buffers are kept.
const KEPT_SIZES: usize = 4;

fn storage_entry(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

fn uniform_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

fn entry(binding: u32, buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: buffer.as_entire_binding(),
    }
}

/// Repacks `[cout][cin][k][k]` weights into vec4 groups of four output channels, as the shader reads
/// them, and the biases into vec4s.
fn repack(conv: &Conv, weights: &mut Vec<f32>, biases: &mut Vec<f32>) {
    let kk = conv.k * conv.k;
    for group in 0..conv.cout / 4 {
        for ci in 0..conv.cin {
            for tap in 0..kk {
                for lane in 0..4 {
                    let oc = group * 4 + lane;
                    weights.push(conv.weight[(oc * conv.cin + ci) * kk + tap]);
                }
            }
        }
    }
    biases.extend_from_slice(&conv.bias);
}

impl GpuSuperRes {
    /// Uploads `net`'s weights and builds the pipelines on `ctx`'s device.
    ///
    /// # Errors
    /// [`Error::Gpu`] when a layer's output channels are not a multiple of 4 (the kernel computes four
    /// at once) or the device rejects a shader or buffer.
    pub fn new(ctx: Arc<GpuContext>, net: FastNet) -> Result<Self> {
        let mut weights = Vec::new();
        let mut biases = Vec::new();
        let mut offsets = Vec::new();
        for conv in net.body.iter().chain([&net.skip]) {
            if conv.cout % 4 != 0 {
                return Err(Error::Gpu(format!(
                    "superres: a layer with {} outputs; the GPU kernel needs a multiple of 4",
                    conv.cout
                )));
            }
            offsets.push(((weights.len() / 4) as u32, (biases.len() / 4) as u32));
            repack(conv, &mut weights, &mut biases);
        }
        let device = &ctx.device;
        let built = ctx.checked("building the superres kernels", || {
            let module = |label, source| {
                device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(label),
                    source: wgpu::ShaderSource::Wgsl(Cow::Borrowed(source)),
                })
            };
            let conv_module = module("superres_conv.wgsl", CONV_SHADER);
            let io_module = module("superres_io.wgsl", IO_SHADER);
            let conv_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some("superres conv"),
                entries: &[
                    uniform_entry(0),
                    storage_entry(1, true),
                    storage_entry(2, true),
                    storage_entry(3, true),
                    storage_entry(4, false),
                ],
            });
            let io_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some("superres io"),
                entries: &[
                    uniform_entry(0),
                    storage_entry(1, false),
                    storage_entry(2, false),
                ],
            });
            let pipeline = |layout: &wgpu::BindGroupLayout, module: &wgpu::ShaderModule, entry| {
                let pipeline_layout =
                    device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                        label: Some(entry),
                        bind_group_layouts: &[Some(layout)],
                        immediate_size: 0,
                    });
                device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(entry),
                    layout: Some(&pipeline_layout),
                    module,
                    entry_point: Some(entry),
                    compilation_options: Default::default(),
                    cache: None,
                })
            };
            let buffer = |label, data: &[f32]| {
                let buffer = device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(label),
                    size: (data.len() * 4) as u64,
                    usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                ctx.queue
                    .write_buffer(&buffer, 0, bytemuck::cast_slice(data));
                buffer
            };
            (
                pipeline(&conv_layout, &conv_module, "conv"),
                pipeline(&io_layout, &io_module, "unpack"),
                pipeline(&io_layout, &io_module, "pack"),
                conv_layout,
                io_layout,
                buffer("superres weights", &weights),
                buffer("superres biases", &biases),
            )
        })?;
        let (conv_pipeline, unpack_pipeline, pack_pipeline, conv_layout, io_layout, w, b) = built;
        Ok(Self {
            ctx,
            net,
            conv_pipeline,
            unpack_pipeline,
            pack_pipeline,
            conv_layout,
            io_layout,
            weights: w,
            biases: b,
            offsets,
            targets: Vec::new(),
        })
    }

    pub fn net(&self) -> &FastNet {
        &self.net
    }

    /// The largest number of low-resolution pixels one run may take on this device: the widest
    /// feature map must fit one storage buffer binding. Larger frames are tiled by the caller.
    pub fn max_pixels(&self) -> u64 {
        let limits = self.ctx.device.limits();
        let binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        let widest = self
            .net
            .body
            .iter()
            .map(|c| c.cout.max(c.cin))
            .max()
            .unwrap_or(3) as u64;
        let out_pixels = u64::from(self.net.scale * self.net.scale);
        binding / (4 * widest.max(out_pixels))
    }

    /// Upscales `src` by the net's scale.
    ///
    /// # Errors
    /// [`Error::Gpu`] when the frame is larger than [`GpuSuperRes::max_pixels`] or the device
    /// fails.
    pub fn run(&mut self, src: &RgbaImage) -> Result<RgbaImage> {
        let (w, h) = src.dimensions();
        let pixels = u64::from(w) * u64::from(h);
        if pixels == 0 || pixels > self.max_pixels() {
            return Err(Error::Gpu(format!(
                "superres: a {w}x{h} frame does not fit this device in one run (at most {} pixels); \
                 tile it",
                self.max_pixels()
            )));
        }
        match self
            .targets
            .iter()
            .position(|t| (t.width, t.height) == (w, h))
        {
            Some(i) => {
                let t = self.targets.remove(i);
                self.targets.push(t);
            }
            None => {
                if self.targets.len() >= KEPT_SIZES {
                    self.targets.remove(0);
                }
                let t = self
                    .ctx
                    .checked("allocating superres buffers", || self.create_targets(w, h))?;
                self.targets.push(t);
            }
        }
        let Some(t) = self.targets.last() else {
            return Err(Error::Gpu("superres buffers missing".to_string()));
        };
        let ctx = &self.ctx;
        let s = self.net.scale;
        let submission = ctx.checked("running the superres kernels", || {
            ctx.queue.write_buffer(&t.pixels_in, 0, src.as_raw());
            let mut encoder = ctx
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("superres"),
                });
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("superres"),
                    timestamp_writes: None,
                });
                let (gx, gy) = (w.div_ceil(WORKGROUP), h.div_ceil(WORKGROUP));
                pass.set_pipeline(&self.unpack_pipeline);
                pass.set_bind_group(0, &t.unpack, &[]);
                pass.dispatch_workgroups(gx, gy, 1);
                pass.set_pipeline(&self.conv_pipeline);
                for (group, cout) in &t.convs {
                    pass.set_bind_group(0, group, &[]);
                    pass.dispatch_workgroups(gx, gy, cout / 4);
                }
                pass.set_pipeline(&self.pack_pipeline);
                pass.set_bind_group(0, &t.pack, &[]);
                pass.dispatch_workgroups(
                    (w * s).div_ceil(WORKGROUP),
                    (h * s).div_ceil(WORKGROUP),
                    1,
                );
            }
            encoder.copy_buffer_to_buffer(&t.pixels_out, 0, &t.readback, 0, t.readback.size());
            ctx.queue.submit([encoder.finish()])
        })?;
        let mut out = crate::bufpool::image(w * s, h * s);
        crate::gpu::read_buffer(
            ctx,
            &t.readback,
            submission,
            "superres readback",
            |mapped| {
                let len = out.len();
                out.copy_from_slice(&mapped[..len]);
            },
        )?;
        Ok(out)
    }

    fn create_targets(&self, width: u32, height: u32) -> Targets {
        use wgpu::BufferUsages as U;
        let device = &self.ctx.device;
        let s = self.net.scale;
        let plane = u64::from(width) * u64::from(height);
        let buffer = |label, size: u64, usage| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: size.max(16),
                usage,
                mapped_at_creation: false,
            })
        };
        let channels = self.net.body[0].cout as u64;
        let out_channels = u64::from(3 * s * s);
        let pixels_in = buffer("superres pixels in", 4 * plane, U::STORAGE | U::COPY_DST);
        let planes_in = buffer("superres planes in", 4 * 3 * plane, U::STORAGE);
        let feat_a = buffer("superres features a", 4 * channels * plane, U::STORAGE);
        let feat_b = buffer("superres features b", 4 * channels * plane, U::STORAGE);
        let planes_out = buffer("superres planes out", 4 * out_channels * plane, U::STORAGE);
        let out_len = 4 * plane * u64::from(s * s);
        let pixels_out = buffer("superres pixels out", out_len, U::STORAGE | U::COPY_SRC);
        let readback = buffer("superres readback", out_len, U::COPY_DST | U::MAP_READ);

        let mut uniforms = Vec::new();
        let mut uniform = |values: [u32; 8]| {
            let b = buffer("superres params", 32, U::UNIFORM | U::COPY_DST);
            self.ctx
                .queue
                .write_buffer(&b, 0, bytemuck::cast_slice(&values));
            uniforms.push(b);
            uniforms.len() - 1
        };
        // (layer index, source, destination, flags) in dispatch order: the skip conv first writes the
        // output channels, conv4 then adds onto them.
        let steps: [(usize, &wgpu::Buffer, &wgpu::Buffer, u32); 5] = [
            (0, &planes_in, &feat_a, RELU),
            (1, &feat_a, &feat_b, RELU),
            (2, &feat_b, &feat_a, RELU),
            (4, &planes_in, &planes_out, 0),
            (3, &feat_a, &planes_out, ACCUMULATE),
        ];
        let mut conv_params = Vec::new();
        for (layer, _, _, flags) in &steps {
            let conv = self.layer(*layer);
            let (wo, bo) = self.offsets[*layer];
            conv_params.push(uniform([
                width,
                height,
                conv.cin as u32,
                conv.cout as u32,
                conv.k as u32,
                *flags,
                wo,
                bo,
            ]));
        }
        let io_params = uniform([width, height, s, 0, 0, 0, 0, 0]);
        let convs = steps
            .iter()
            .zip(&conv_params)
            .map(|((layer, src, dst, _), &params)| {
                let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("superres conv"),
                    layout: &self.conv_layout,
                    entries: &[
                        entry(0, &uniforms[params]),
                        entry(1, &self.weights),
                        entry(2, &self.biases),
                        entry(3, src),
                        entry(4, dst),
                    ],
                });
                (group, self.layer(*layer).cout as u32)
            })
            .collect();
        let io_group = |pixels: &wgpu::Buffer, planes: &wgpu::Buffer| {
            device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("superres io"),
                layout: &self.io_layout,
                entries: &[
                    entry(0, &uniforms[io_params]),
                    entry(1, pixels),
                    entry(2, planes),
                ],
            })
        };
        let unpack = io_group(&pixels_in, &planes_in);
        let pack = io_group(&pixels_out, &planes_out);
        Targets {
            width,
            height,
            pixels_in,
            pixels_out,
            readback,
            unpack,
            pack,
            convs,
            _uniforms: uniforms,
        }
    }

    /// conv1..conv4 are layers 0..3, skip is 4.
    fn layer(&self, index: usize) -> &Conv {
        self.net.body.get(index).unwrap_or(&self.net.skip)
    }
}
