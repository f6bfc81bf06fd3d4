//! Zero-DCE curves applied at full size on the GPU (`shaders/lowlight.wgsl`): upload the frame and
//! the small curve maps (interleaved per cell, [`interleave`]), one dispatch (an invocation per
//! curve cell, each the block of pixels it is the top-left tap of: see the shader), padded readback. The CPU reference is
//! [`super::lowlight::apply_curves_cpu`].

use std::borrow::Cow;
use std::sync::Arc;

use image::RgbaImage;

use super::lowlight::{check_curves, Curves, STEPS};
use crate::error::{Error, Result};
use crate::gpu::kernel::{compute_pipeline, entry, storage, storage_texture, texture, uniform};
use crate::gpu::{GpuContext, Readback};

/// The WGSL source, embedded so that the binary stands alone.
pub const SHADER: &str = include_str!("../../../shaders/lowlight.wgsl");

const WORKGROUP: u32 = 8;
const PARAMS_BYTES: u64 = 32;

/// The curve maps as the shader reads them: per cell, 8 `[R, G, B, 0]` factors (one per step), so
/// that a pixel's lookups are vec4 loads. `out` is reused.
pub fn interleave(curves: &Curves, out: &mut Vec<f32>) {
    let plane = curves.width as usize * curves.height as usize;
    out.clear();
    out.resize(plane * STEPS * 4, 0.0);
    for (cell, slot) in out.chunks_exact_mut(STEPS * 4).enumerate() {
        for step in 0..STEPS {
            for c in 0..3 {
                slot[4 * step + c] = curves.data[(3 * step + c) * plane + cell];
            }
        }
    }
}

struct Targets {
    size: (u32, u32),
    curves_len: usize,
    frame: wgpu::Texture,
    out: wgpu::Texture,
    curves: wgpu::Buffer,
    readback: Readback,
    bind_group: wgpu::BindGroup,
}

/// The curve-application kernel.
pub struct GpuCurves {
    ctx: Arc<GpuContext>,
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    params: wgpu::Buffer,
    interleaved: Vec<f32>,
    targets: Option<Targets>,
}

impl GpuCurves {
    /// Compiles the shader and builds the pipeline on `ctx`'s device.
    ///
    /// # Errors
    /// [`Error::Gpu`] when the device rejects the shader or the pipeline.
    pub fn new(ctx: Arc<GpuContext>) -> Result<Self> {
        let device = &ctx.device;
        let (pipeline, layout) = ctx.checked("building the lowlight kernel", || {
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some("lowlight.wgsl"),
                source: wgpu::ShaderSource::Wgsl(Cow::Borrowed(SHADER)),
            });
            let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some("lowlight"),
                entries: &[
                    entry(0, uniform(PARAMS_BYTES)),
                    entry(1, storage(true)),
                    entry(2, texture()),
                    entry(3, storage_texture(wgpu::TextureFormat::Rgba8Unorm)),
                ],
            });
            let pipeline = compute_pipeline(device, &layout, &module, "main", Default::default());
            (pipeline, layout)
        })?;
        let params = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("lowlight params"),
            size: PARAMS_BYTES,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Ok(Self {
            ctx,
            pipeline,
            layout,
            params,
            interleaved: Vec::new(),
            targets: None,
        })
    }

    /// Applies `curves` to `src` into `dst` (same size), blended with `strength`.
    ///
    /// # Errors
    /// [`Error::Spec`] when the sizes do not fit; [`Error::Gpu`] when the frame does not fit the
    /// device or a transfer fails.
    pub fn run(
        &mut self,
        src: &RgbaImage,
        dst: &mut RgbaImage,
        curves: &Curves,
        strength: f32,
    ) -> Result<()> {
        let (w, h) = src.dimensions();
        if dst.dimensions() != (w, h) {
            return Err(Error::Spec(format!(
                "lowlight: the source is {w}x{h} but the output is {}x{}; they must match",
                dst.width(),
                dst.height()
            )));
        }
        super::check_frame("lowlight", w, h)?;
        check_curves(curves)?;
        self.ctx.check_size(w, h)?;
        if self
            .targets
            .as_ref()
            .is_none_or(|t| t.size != (w, h) || t.curves_len != curves.data.len())
        {
            self.targets = None;
            self.targets = Some(self.ctx.checked("allocating lowlight buffers", || {
                self.create_targets(w, h, curves.data.len())
            })?);
        }
        let ctx = &self.ctx;
        let words: [u32; 8] = [
            w,
            h,
            curves.width,
            curves.height,
            strength.to_bits(),
            0,
            0,
            0,
        ];
        ctx.queue
            .write_buffer(&self.params, 0, bytemuck::cast_slice(&words));
        let Some(targets) = self.targets.as_ref() else {
            return Err(Error::Gpu("lowlight buffers missing".to_string()));
        };
        interleave(curves, &mut self.interleaved);
        ctx.queue
            .write_buffer(&targets.curves, 0, bytemuck::cast_slice(&self.interleaved));
        let submission = ctx.checked("running the lowlight kernel", || -> Result<_> {
            ctx.upload_rgba(&targets.frame, src)?;
            let mut encoder = ctx
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("lowlight"),
                });
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("lowlight"),
                    timestamp_writes: None,
                });
                pass.set_pipeline(&self.pipeline);
                pass.set_bind_group(0, &targets.bind_group, &[]);
                // one invocation per curve cell: the block of pixels it is the top-left tap of
                let (cw, ch) = (curves.width, curves.height);
                pass.dispatch_workgroups(cw.div_ceil(WORKGROUP), ch.div_ceil(WORKGROUP), 1);
            }
            targets.readback.encode_copy(&mut encoder, &targets.out);
            Ok(ctx.queue.submit([encoder.finish()]))
        })??;
        targets.readback.read_into(ctx, submission, dst)
    }

    fn create_targets(&self, w: u32, h: u32, curves_len: usize) -> Targets {
        use wgpu::TextureUsages as U;
        let ctx = &self.ctx;
        let frame = ctx.create_texture(
            "lowlight frame",
            w,
            h,
            wgpu::TextureFormat::Rgba8Unorm,
            U::TEXTURE_BINDING | U::COPY_DST,
        );
        let out = ctx.create_texture(
            "lowlight out",
            w,
            h,
            wgpu::TextureFormat::Rgba8Unorm,
            U::STORAGE_BINDING | U::COPY_SRC,
        );
        let curves = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("lowlight curves"),
            // interleaved: 4 floats per step and cell where the planes hold 3
            size: (curves_len / 3 * 4 * 4) as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let frame_view = frame.create_view(&wgpu::TextureViewDescriptor::default());
        let out_view = out.create_view(&wgpu::TextureViewDescriptor::default());
        let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("lowlight"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: self.params.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: curves.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: wgpu::BindingResource::TextureView(&frame_view),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: wgpu::BindingResource::TextureView(&out_view),
                },
            ],
        });
        Targets {
            size: (w, h),
            curves_len,
            frame,
            out,
            curves,
            readback: Readback::new(ctx, w, h),
            bind_group,
        }
    }
}
