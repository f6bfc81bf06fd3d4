//! The shader method of [`super::deglare`] on the GPU (`shaders/deglare.wgsl`): six dispatches in
//! one submission (reduce, min_h, min_v, blur_h, blur_v on the small grid; apply at full size,
//! one invocation per grid column and frame row, each the run of pixels sharing its four glare
//! samples), then a padded readback. Build once per stream; textures and buffers are kept while the frame
//! size stays the same.

use std::borrow::Cow;
use std::sync::Arc;

use image::RgbaImage;

use super::deglare::{grid, linear_threshold, GlareParams, MAX_PSF_RADIUS, MIN_RADIUS};
use crate::error::{Error, Result};
use crate::gpu::kernel::{compute_pipeline, entry, storage, storage_texture, texture, uniform};
use crate::gpu::{GpuContext, Readback};

/// The WGSL source, embedded so that the binary stands alone.
pub const SHADER: &str = include_str!("../../../shaders/deglare.wgsl");

const WORKGROUP: u32 = 8;
const ENTRIES: [&str; 6] = ["reduce", "min_h", "min_v", "blur_h", "blur_v", "apply"];
/// Bytes of `Params` in the shader.
const PARAMS_BYTES: u64 = 64;
/// Room for the PSF taps and the narrow taps at their largest.
const TAPS_BYTES: u64 = 2 * (2 * MAX_PSF_RADIUS as u64 + 1) * 4;

struct Targets {
    size: (u32, u32),
    small: (u32, u32),
    frame: wgpu::Texture,
    out: wgpu::Texture,
    readback: Readback,
    bind_group: wgpu::BindGroup,
}

/// The deglare kernel on the GPU.
pub struct GpuDeglare {
    ctx: Arc<GpuContext>,
    pipelines: Vec<wgpu::ComputePipeline>,
    layout: wgpu::BindGroupLayout,
    params: wgpu::Buffer,
    taps: wgpu::Buffer,
    taps_now: Option<(Vec<f32>, Vec<f32>)>,
    targets: Option<Targets>,
}

impl GpuDeglare {
    /// Compiles the shader and builds the pipelines on `ctx`'s device.
    ///
    /// # Errors
    /// [`Error::Gpu`] when the device rejects the shader or a pipeline.
    pub fn new(ctx: Arc<GpuContext>) -> Result<Self> {
        let device = &ctx.device;
        let (pipelines, layout) = ctx.checked("building the deglare kernel", || {
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some("deglare.wgsl"),
                source: wgpu::ShaderSource::Wgsl(Cow::Borrowed(SHADER)),
            });
            let mut entries = vec![
                entry(0, uniform(PARAMS_BYTES)),
                entry(1, storage(true)),
                entry(2, texture()),
            ];
            entries.extend((3..=8).map(|b| entry(b, storage(false))));
            entries.push(entry(9, storage_texture(wgpu::TextureFormat::Rgba8Unorm)));
            let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some("deglare"),
                entries: &entries,
            });
            let pipelines = ENTRIES
                .iter()
                .map(|name| compute_pipeline(device, &layout, &module, name, Default::default()))
                .collect::<Vec<_>>();
            (pipelines, layout)
        })?;
        let buffer = |label, size, usage| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage,
                mapped_at_creation: false,
            })
        };
        use wgpu::BufferUsages as B;
        let params = buffer("deglare params", PARAMS_BYTES, B::UNIFORM | B::COPY_DST);
        let taps = buffer("deglare taps", TAPS_BYTES, B::STORAGE | B::COPY_DST);
        Ok(Self {
            ctx,
            pipelines,
            layout,
            params,
            taps,
            taps_now: None,
            targets: None,
        })
    }

    /// Runs the method on `src` into `dst` (same size).
    ///
    /// # Errors
    /// [`Error::Spec`] when the sizes differ or the frame is empty; [`Error::Gpu`] when the frame
    /// does not fit the device or a transfer fails.
    pub fn run(
        &mut self,
        src: &RgbaImage,
        dst: &mut RgbaImage,
        params: &GlareParams,
    ) -> Result<()> {
        let (w, h) = src.dimensions();
        if dst.dimensions() != (w, h) {
            return Err(Error::Spec(format!(
                "deglare: the source is {w}x{h} but the output is {}x{}; they must match",
                dst.width(),
                dst.height()
            )));
        }
        super::check_frame("deglare", w, h)?;
        self.ctx.check_size(w, h)?;
        let (factor, sw, sh) = grid(w, h);
        if self.targets.as_ref().is_none_or(|t| t.size != (w, h)) {
            self.targets = None;
            self.targets = Some(self.ctx.checked("allocating deglare buffers", || {
                self.create_targets(w, h, sw, sh)
            })?);
        }
        let (psf, narrow) = params.psf.taps();
        let ctx = &self.ctx;
        if self.taps_now.as_ref() != Some(&(psf.clone(), narrow.clone())) {
            let mut all = psf.clone();
            all.extend_from_slice(&narrow);
            ctx.queue
                .write_buffer(&self.taps, 0, bytemuck::cast_slice(&all));
            self.taps_now = Some((psf.clone(), narrow.clone()));
        }
        let words: [u32; 16] = [
            w,
            h,
            sw,
            sh,
            factor,
            (psf.len() / 2) as u32,
            (narrow.len() / 2) as u32,
            MIN_RADIUS,
            linear_threshold(params.threshold).to_bits(),
            params.gain.to_bits(),
            params.bound.to_bits(),
            params.strength.to_bits(),
            params.knee.to_bits(),
            0,
            0,
            0,
        ];
        ctx.queue
            .write_buffer(&self.params, 0, bytemuck::cast_slice(&words));
        let Some(targets) = self.targets.as_ref() else {
            return Err(Error::Gpu("deglare buffers missing".to_string()));
        };
        let submission = ctx.checked("running the deglare kernel", || -> Result<_> {
            ctx.upload_rgba(&targets.frame, src)?;
            let mut encoder = ctx
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("deglare"),
                });
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("deglare"),
                    timestamp_writes: None,
                });
                pass.set_bind_group(0, &targets.bind_group, &[]);
                let (small_x, small_y) = (sw.div_ceil(WORKGROUP), sh.div_ceil(WORKGROUP));
                for (i, pipeline) in self.pipelines.iter().enumerate() {
                    pass.set_pipeline(pipeline);
                    if i + 1 == self.pipelines.len() {
                        // apply: one invocation per grid column and row (a run of pixels)
                        pass.dispatch_workgroups(sw.div_ceil(WORKGROUP), h.div_ceil(WORKGROUP), 1);
                    } else {
                        pass.dispatch_workgroups(small_x, small_y, 1);
                    }
                }
            }
            targets.readback.encode_copy(&mut encoder, &targets.out);
            Ok(ctx.queue.submit([encoder.finish()]))
        })??;
        targets.readback.read_into(ctx, submission, dst)
    }

    fn create_targets(&self, w: u32, h: u32, sw: u32, sh: u32) -> Targets {
        use wgpu::TextureUsages as U;
        let ctx = &self.ctx;
        let frame = ctx.create_texture(
            "deglare frame",
            w,
            h,
            wgpu::TextureFormat::Rgba8Unorm,
            U::TEXTURE_BINDING | U::COPY_DST,
        );
        let out = ctx.create_texture(
            "deglare out",
            w,
            h,
            wgpu::TextureFormat::Rgba8Unorm,
            U::STORAGE_BINDING | U::COPY_SRC,
        );
        let small_bytes = u64::from(sw) * u64::from(sh) * 16;
        let smalls: Vec<wgpu::Buffer> = (0..6)
            .map(|_| {
                ctx.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("deglare grid"),
                    size: small_bytes,
                    usage: wgpu::BufferUsages::STORAGE,
                    mapped_at_creation: false,
                })
            })
            .collect();
        let frame_view = frame.create_view(&wgpu::TextureViewDescriptor::default());
        let out_view = out.create_view(&wgpu::TextureViewDescriptor::default());
        let mut entries = vec![
            wgpu::BindGroupEntry {
                binding: 0,
                resource: self.params.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: self.taps.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 2,
                resource: wgpu::BindingResource::TextureView(&frame_view),
            },
        ];
        for (i, b) in smalls.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: 3 + i as u32,
                resource: b.as_entire_binding(),
            });
        }
        entries.push(wgpu::BindGroupEntry {
            binding: 9,
            resource: wgpu::BindingResource::TextureView(&out_view),
        });
        let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("deglare"),
            layout: &self.layout,
            entries: &entries,
        });
        Targets {
            size: (w, h),
            small: (sw, sh),
            frame,
            out,
            readback: Readback::new(ctx, w, h),
            bind_group,
        }
    }

    /// The small grid of the current frame size, if a frame ran.
    pub fn grid_size(&self) -> Option<(u32, u32)> {
        self.targets.as_ref().map(|t| t.small)
    }
}
