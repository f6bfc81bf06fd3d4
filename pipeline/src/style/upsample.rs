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

use std::sync::Arc;

use image::RgbaImage;

use crate::error::{Error, Result};
use crate::gpu::image::FRAME_FORMAT;
use crate::gpu::kernel::{
    groups_2d, into_new_frame, storage_texture, texture, uniform, view, Entry, HostBuffer, Kernel,
    KernelDesc,
};
use crate::gpu::{GpuContext, GpuImage};

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

const ENTRIES: [Entry<'static>; 1] = [Entry {
    name: "main",
    bindings: &[
        (0, uniform(32)),
        (1, texture()),
        (2, storage_texture(FRAME_FORMAT)),
    ],
}];

/// The resize kernel on the GPU: frame texture in, frame texture out.
pub struct GpuUpsample {
    kernel: Kernel,
    params: HostBuffer,
}

impl GpuUpsample {
    /// Compiles the shader on `ctx`'s device.
    ///
    /// # Errors
    /// [`Error::Gpu`] when the device rejects the shader or pipeline.
    pub fn new(ctx: Arc<GpuContext>) -> Result<Self> {
        let kernel = Kernel::new(
            &ctx,
            &KernelDesc {
                label: "upsample",
                shader: SHADER,
                entries: &ENTRIES,
                constants: &[],
            },
        )?;
        Ok(Self {
            params: HostBuffer::uniform(&ctx, "upsample params", 32),
            kernel,
        })
    }

    pub fn context(&self) -> &Arc<GpuContext> {
        self.kernel.context()
    }

    /// Resizes `src` into a new frame texture of `size`, one submission (not waited for).
    ///
    /// # Errors
    /// [`Error::Spec`] for an empty size; [`Error::Gpu`] when a size does not fit the device.
    pub fn apply(&mut self, src: &GpuImage, size: (u32, u32)) -> Result<GpuImage> {
        let (sw, sh) = src.size();
        let (dw, dh) = size;
        if sw == 0 || sh == 0 || dw == 0 || dh == 0 {
            return Err(Error::Spec(format!(
                "upsample: cannot resize {sw}x{sh} to {dw}x{dh}; sides must be at least 1"
            )));
        }
        let ctx = self.context().clone();
        let (kx, ky) = (scale(sw, dw), scale(sh, dh));
        let mut bytes = [0u8; 32];
        bytes[0..16].copy_from_slice(bytemuck::cast_slice(&[sw, sh, dw, dh]));
        bytes[16..24].copy_from_slice(bytemuck::cast_slice(&[kx, ky]));
        self.params.set(&ctx, &bytes);
        into_new_frame(&ctx, size, "running the upsample kernel", |encoder, dst| {
            let group = self.kernel.bind(
                0,
                &[(0, self.params.binding()), (1, view(src)), (2, view(dst))],
            );
            let mut pass = self.kernel.pass(encoder);
            self.kernel
                .dispatch(&mut pass, 0, &group, groups_2d(dw, dh, WORKGROUP));
            Ok(())
        })
    }

    /// Resizes `src` into `dst` (its size is the target) through the GPU: upload, the kernel,
    /// readback. For tests and CPU callers; the stage keeps its result on the GPU.
    ///
    /// # Errors
    /// As [`GpuUpsample::apply`]; transfer errors.
    pub fn run(&mut self, src: &RgbaImage, dst: &mut RgbaImage) -> Result<()> {
        check(src, dst)?;
        let ctx = self.context().clone();
        let out = self.apply(&GpuImage::upload(&ctx, src)?, dst.dimensions())?;
        crate::bufpool::replace_image(dst, out.read()?);
        Ok(())
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
