//! Bilinear resize of RGBA8 images: a WGSL compute kernel ([`GpuUpsample`], `shaders/upsample.wgsl`)
//! and the CPU reference [`resize_bilinear`] doing the same arithmetic in the same order. The
//! `stylize` stage uses it to bring the working-resolution result back to frame size.
//!
//! Math: pixel centres at +0.5; output x samples the source at `(x + 0.5) * scale - 0.5` clamped to
//! the image (`scale` = source side / output side, as f32), the four neighbours are mixed along x
//! then y in 0..255 units, rounded half to even and clamped.
//!
//! Tolerance: the GPU may fuse multiply-adds (WGSL allows it), so a value within about 1e-4 of a
//! rounding boundary may round the other way: GPU and CPU agree within ±1 per channel.

use std::borrow::Cow;
use std::sync::Arc;

use image::RgbaImage;

use crate::error::{Error, Result};
use crate::gpu::kernel::{compute_pipeline, entry, storage_texture, texture, uniform};
use crate::gpu::{GpuContext, Readback};

/// The WGSL source, embedded so that the binary stands alone.
pub const SHADER: &str = doppel_shaders::UPSAMPLE;

/// Workgroup side in `upsample.wgsl`.
const WORKGROUP: u32 = 8;

/// Source pixels per output pixel along one axis, as both paths use it.
fn scale(src: u32, dst: u32) -> f32 {
    src as f32 / dst as f32
}

/// (left neighbour, right neighbour, fraction) for output index `i`, as `axis` in the shader.
#[inline]
fn axis(i: u32, scale: f32, size: u32) -> (usize, usize, f32) {
    let last = (size - 1) as f32;
    let s = ((i as f32 + 0.5) * scale - 0.5).clamp(0.0, last);
    let lo = s.floor();
    (lo as usize, (lo + 1.0).min(last) as usize, s - lo)
}

fn check(src: &RgbaImage, dst: &RgbaImage) -> Result<()> {
    if src.width() == 0 || src.height() == 0 || dst.width() == 0 || dst.height() == 0 {
        return Err(Error::Spec(format!(
            "upsample: cannot resize {}x{} to {}x{}; sides must be at least 1",
            src.width(),
            src.height(),
            dst.width(),
            dst.height()
        )));
    }
    Ok(())
}

/// Resizes `src` into `dst` (its size is the target) on the CPU: the reference for [`GpuUpsample`].
///
/// # Errors
/// [`Error::Spec`] when either image is empty.
///
/// # Example
/// ```
/// use doppel_pipeline::style::upsample::resize_bilinear;
/// let src = image::RgbaImage::from_pixel(2, 2, image::Rgba([10, 20, 30, 255]));
/// let mut dst = image::RgbaImage::new(5, 3);
/// resize_bilinear(&src, &mut dst)?;
/// assert!(dst.pixels().all(|p| p.0 == [10, 20, 30, 255]));
/// # Ok::<(), doppel_pipeline::Error>(())
/// ```
pub fn resize_bilinear(src: &RgbaImage, dst: &mut RgbaImage) -> Result<()> {
    check(src, dst)?;
    let (sw, sh) = src.dimensions();
    let (dw, dh) = dst.dimensions();
    let (kx, ky) = (scale(sw, dw), scale(sh, dh));
    let xs: Vec<(usize, usize, f32)> = (0..dw).map(|x| axis(x, kx, sw)).collect();
    let raw = src.as_raw();
    let at = |x: usize, y: usize, c: usize| f32::from(raw[(y * sw as usize + x) * 4 + c]);
    for (y, row) in dst.chunks_exact_mut(4 * dw as usize).enumerate() {
        let (y0, y1, fy) = axis(y as u32, ky, sh);
        for (p, &(x0, x1, fx)) in row.chunks_exact_mut(4).zip(&xs) {
            for (c, out) in p.iter_mut().enumerate() {
                let (p00, p10, p01, p11) =
                    (at(x0, y0, c), at(x1, y0, c), at(x0, y1, c), at(x1, y1, c));
                let top = p00 + fx * (p10 - p00);
                let bottom = p01 + fx * (p11 - p01);
                let v = top + fy * (bottom - top);
                *out = v.clamp(0.0, 255.0).round_ties_even() as u8;
            }
        }
    }
    Ok(())
}

/// Textures and bind group for one (source, output) size pair.
struct Targets {
    src_size: (u32, u32),
    dst_size: (u32, u32),
    src: wgpu::Texture,
    dst: wgpu::Texture,
    readback: Readback,
    bind: wgpu::BindGroup,
}

/// The resize kernel on the GPU. Build once per stream; it keeps its textures while sizes stay.
pub struct GpuUpsample {
    ctx: Arc<GpuContext>,
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    params: wgpu::Buffer,
    targets: Option<Targets>,
}

impl GpuUpsample {
    /// Compiles the shader on `ctx`'s device.
    ///
    /// # Errors
    /// [`Error::Gpu`] when the device rejects the shader or pipeline.
    pub fn new(ctx: Arc<GpuContext>) -> Result<Self> {
        let device = &ctx.device;
        let (pipeline, layout) = ctx.checked("building the upsample kernel", || {
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some("upsample.wgsl"),
                source: wgpu::ShaderSource::Wgsl(Cow::Borrowed(SHADER)),
            });
            let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some("upsample"),
                entries: &[
                    entry(0, uniform(32)),
                    entry(1, texture()),
                    entry(2, storage_texture(wgpu::TextureFormat::Rgba8Unorm)),
                ],
            });
            let pipeline = compute_pipeline(device, &layout, &module, "main", Default::default());
            (pipeline, layout)
        })?;
        let params = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("upsample params"),
            size: 32,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Ok(Self {
            ctx,
            pipeline,
            layout,
            params,
            targets: None,
        })
    }

    /// Resizes `src` into `dst` (its size is the target) on the GPU: upload, one dispatch, readback.
    ///
    /// # Errors
    /// [`Error::Spec`] for an empty image; [`Error::Gpu`] when a size does not fit the device or a
    /// transfer fails.
    pub fn run(&mut self, src: &RgbaImage, dst: &mut RgbaImage) -> Result<()> {
        check(src, dst)?;
        let (sw, sh) = src.dimensions();
        let (dw, dh) = dst.dimensions();
        self.ctx.check_size(sw, sh)?;
        self.ctx.check_size(dw, dh)?;
        if self
            .targets
            .as_ref()
            .is_none_or(|t| t.src_size != (sw, sh) || t.dst_size != (dw, dh))
        {
            self.targets = None;
            let targets = self.ctx.checked("allocating upsample textures", || {
                self.targets(sw, sh, dw, dh)
            })?;
            let (kx, ky) = (scale(sw, dw), scale(sh, dh));
            let mut bytes = [0u8; 32];
            bytes[0..16].copy_from_slice(bytemuck::cast_slice(&[sw, sh, dw, dh]));
            bytes[16..24].copy_from_slice(bytemuck::cast_slice(&[kx, ky]));
            self.ctx.queue.write_buffer(&self.params, 0, &bytes);
            self.targets = Some(targets);
        }
        let Some(targets) = self.targets.as_ref() else {
            return Err(Error::Gpu("upsample textures missing".to_string()));
        };
        let ctx = &self.ctx;
        let submission = ctx.checked("running the upsample kernel", || -> Result<_> {
            ctx.upload_rgba(&targets.src, src)?;
            let mut encoder = ctx
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("upsample"),
                });
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("upsample"),
                    timestamp_writes: None,
                });
                pass.set_pipeline(&self.pipeline);
                pass.set_bind_group(0, &targets.bind, &[]);
                pass.dispatch_workgroups(dw.div_ceil(WORKGROUP), dh.div_ceil(WORKGROUP), 1);
            }
            targets.readback.encode_copy(&mut encoder, &targets.dst);
            Ok(ctx.queue.submit([encoder.finish()]))
        })??;
        targets.readback.read_into(ctx, submission, dst)
    }

    fn targets(&self, sw: u32, sh: u32, dw: u32, dh: u32) -> Targets {
        use wgpu::TextureUsages as U;
        let ctx = &self.ctx;
        let src = ctx.create_texture(
            "upsample src",
            sw,
            sh,
            wgpu::TextureFormat::Rgba8Unorm,
            U::TEXTURE_BINDING | U::COPY_DST,
        );
        let dst = ctx.create_texture(
            "upsample dst",
            dw,
            dh,
            wgpu::TextureFormat::Rgba8Unorm,
            U::STORAGE_BINDING | U::COPY_SRC,
        );
        let view = |t: &wgpu::Texture| t.create_view(&wgpu::TextureViewDescriptor::default());
        let (src_view, dst_view) = (view(&src), view(&dst));
        let bind = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("upsample"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: self.params.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(&src_view),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: wgpu::BindingResource::TextureView(&dst_view),
                },
            ],
        });
        Targets {
            src_size: (sw, sh),
            dst_size: (dw, dh),
            src,
            dst,
            readback: Readback::new(ctx, dw, dh),
            bind,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_resize_interpolates_between_neighbours() {
        let src = RgbaImage::from_fn(2, 1, |x, _| image::Rgba([x as u8 * 200, 0, 0, 255]));
        let mut dst = RgbaImage::new(4, 1);
        resize_bilinear(&src, &mut dst).unwrap();
        let reds: Vec<u8> = dst.pixels().map(|p| p[0]).collect();
        // Centres at 0.25, 0.75 of a source pixel: -0.25 -> clamp 0, 0.25, 0.75, 1.25 -> clamp 1.
        assert_eq!(reds, vec![0, 50, 150, 200]);
        let mut same = RgbaImage::new(2, 1);
        resize_bilinear(&src, &mut same).unwrap();
        assert_eq!(same, src);
        assert!(resize_bilinear(&RgbaImage::new(0, 1), &mut dst).is_err());
    }
}
