//! Bilinear resampling of a source rectangle ([`Rect`]) into a whole RGBA8 image: a WGSL compute
//! kernel ([`GpuResample`], `shaders/resample.wgsl`) and the CPU reference [`resample_bilinear`]
//! doing the same arithmetic in the same order. One kernel serves three stages: `stylize` brings its
//! working-resolution result back to frame size, `autoframe` crops and zooms, `flip` mirrors (a
//! rectangle of negative width).
//!
//! Math: pixel centres at +0.5; output x samples the source at `(x + 0.5) * scale - 0.5 + offset`
//! clamped to the image (`scale` = rectangle side / output side and `offset` = the rectangle's
//! origin, as f32), the four neighbours are mixed along x then y in 0..255 units, rounded half to
//! even and clamped.
//!
//! Tolerance: the GPU may fuse multiply-adds (WGSL allows it), so a value within about 1e-4 of a
//! rounding boundary may round the other way: GPU and CPU agree within ±1 per channel (exactly
//! for a mirror, which samples whole pixels).

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
pub const SHADER: &str = doppel_shaders::RESAMPLE;

/// Workgroup side in `resample.wgsl`.
const WORKGROUP: u32 = 8;

/// The part of the source an output shows, in source pixels: origin `(x, y)` and size `(w, h)`;
/// a negative `w` mirrors left-right (origin then at the right edge), a negative `h` up-down.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rect {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl Rect {
    /// The whole of a `width` x `height` source.
    pub fn full(width: u32, height: u32) -> Self {
        Self {
            x: 0.0,
            y: 0.0,
            w: width as f32,
            h: height as f32,
        }
    }

    /// The whole source, mirrored left-right.
    pub fn mirrored(width: u32, height: u32) -> Self {
        Self {
            x: width as f32,
            y: 0.0,
            w: -(width as f32),
            h: height as f32,
        }
    }

    /// (scale, offset) per axis for an output of `dst`, as both paths use them.
    fn params(&self, dst: (u32, u32)) -> ([f32; 2], [f32; 2]) {
        (
            [self.w / dst.0 as f32, self.h / dst.1 as f32],
            [self.x, self.y],
        )
    }
}

/// (left neighbour, right neighbour, fraction) for output index `i`, as `axis` in the shader.
#[inline]
fn axis(i: u32, scale: f32, offset: f32, size: u32) -> (usize, usize, f32) {
    let last = (size - 1) as f32;
    let s = ((i as f32 + 0.5) * scale - 0.5 + offset).clamp(0.0, last);
    let lo = s.floor();
    (lo as usize, (lo + 1.0).min(last) as usize, s - lo)
}

fn check(src: (u32, u32), dst: (u32, u32)) -> Result<()> {
    if src.0 == 0 || src.1 == 0 || dst.0 == 0 || dst.1 == 0 {
        return Err(Error::Spec(format!(
            "resample: cannot resize {}x{} to {}x{}; sides must be at least 1",
            src.0, src.1, dst.0, dst.1
        )));
    }
    Ok(())
}

/// Resamples `rect` of `src` into all of `dst` on the CPU: the reference for [`GpuResample`].
///
/// # Errors
/// [`Error::Spec`] when either image is empty.
pub fn resample_bilinear(src: &RgbaImage, rect: Rect, dst: &mut RgbaImage) -> Result<()> {
    check(src.dimensions(), dst.dimensions())?;
    let (sw, sh) = src.dimensions();
    let (dw, dh) = dst.dimensions();
    let ([kx, ky], [ox, oy]) = rect.params((dw, dh));
    let xs: Vec<(usize, usize, f32)> = (0..dw).map(|x| axis(x, kx, ox, sw)).collect();
    let raw = src.as_raw();
    let at = |x: usize, y: usize, c: usize| f32::from(raw[(y * sw as usize + x) * 4 + c]);
    for (y, row) in dst.chunks_exact_mut(4 * dw as usize).enumerate() {
        let (y0, y1, fy) = axis(y as u32, ky, oy, sh);
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

/// Resizes all of `src` into `dst` (its size is the target) on the CPU: [`resample_bilinear`] of the
/// whole source.
///
/// # Errors
/// [`Error::Spec`] when either image is empty.
///
/// # Example
/// ```
/// use doppel_pipeline::gpu::resample::resize_bilinear;
/// let src = image::RgbaImage::from_pixel(2, 2, image::Rgba([10, 20, 30, 255]));
/// let mut dst = image::RgbaImage::new(5, 3);
/// resize_bilinear(&src, &mut dst)?;
/// assert!(dst.pixels().all(|p| p.0 == [10, 20, 30, 255]));
/// # Ok::<(), doppel_pipeline::Error>(())
/// ```
pub fn resize_bilinear(src: &RgbaImage, dst: &mut RgbaImage) -> Result<()> {
    resample_bilinear(src, Rect::full(src.width(), src.height()), dst)
}

const ENTRIES: [Entry<'static>; 1] = [Entry {
    name: "main",
    bindings: &[
        (0, uniform(32)),
        (1, texture()),
        (2, storage_texture(FRAME_FORMAT)),
    ],
}];

/// The resampling kernel on the GPU: frame texture in, frame texture out.
pub struct GpuResample {
    kernel: Kernel,
    params: HostBuffer,
}

impl GpuResample {
    /// Compiles the shader on `ctx`'s device.
    ///
    /// # Errors
    /// [`Error::Gpu`] when the device rejects the shader or pipeline.
    pub fn new(ctx: Arc<GpuContext>) -> Result<Self> {
        let kernel = Kernel::new(
            &ctx,
            &KernelDesc {
                label: "resample",
                shader: SHADER,
                entries: &ENTRIES,
                constants: &[],
            },
        )?;
        Ok(Self {
            params: HostBuffer::uniform(&ctx, "resample params", 32),
            kernel,
        })
    }

    pub fn context(&self) -> &Arc<GpuContext> {
        self.kernel.context()
    }

    /// Resizes all of `src` into a new frame texture of `size`, one submission (not waited for).
    ///
    /// # Errors
    /// As [`GpuResample::apply_rect`].
    pub fn apply(&mut self, src: &GpuImage, size: (u32, u32)) -> Result<GpuImage> {
        let (w, h) = src.size();
        self.apply_rect(src, Rect::full(w, h), size)
    }

    /// Resamples `rect` of `src` into a new frame texture of `size`, one submission (not waited
    /// for).
    ///
    /// # Errors
    /// [`Error::Spec`] for an empty size; [`Error::Gpu`] when a size does not fit the device.
    pub fn apply_rect(&mut self, src: &GpuImage, rect: Rect, size: (u32, u32)) -> Result<GpuImage> {
        check(src.size(), size)?;
        let (sw, sh) = src.size();
        let (dw, dh) = size;
        let ctx = self.context().clone();
        let ([kx, ky], [ox, oy]) = rect.params(size);
        let mut bytes = [0u8; 32];
        bytes[0..16].copy_from_slice(bytemuck::cast_slice(&[sw, sh, dw, dh]));
        bytes[16..32].copy_from_slice(bytemuck::cast_slice(&[kx, ky, ox, oy]));
        self.params.set(&ctx, &bytes);
        into_new_frame(&ctx, size, "running the resample kernel", |encoder, dst| {
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
    /// As [`GpuResample::apply`]; transfer errors.
    pub fn run(&mut self, src: &RgbaImage, dst: &mut RgbaImage) -> Result<()> {
        check(src.dimensions(), dst.dimensions())?;
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

    #[test]
    fn cpu_mirror_is_exact_and_a_crop_zooms() {
        let src = RgbaImage::from_fn(5, 3, |x, y| {
            image::Rgba([x as u8 * 50, y as u8 * 100, 7, 255])
        });
        let mut flipped = RgbaImage::new(5, 3);
        resample_bilinear(&src, Rect::mirrored(5, 3), &mut flipped).unwrap();
        let mut expected = src.clone();
        image::imageops::flip_horizontal_in_place(&mut expected);
        assert_eq!(flipped, expected);
        // The 2x1 block x 2..4, y 1..2 (pixels 2 and 3 of row 1) blown up to 4x2: output centres
        // at x = 2.25, 2.75, 3.25, 3.75 sample between the pixel centres 1.5, 2.5, 3.5, 4.5.
        let rect = Rect {
            x: 2.0,
            y: 1.0,
            w: 2.0,
            h: 1.0,
        };
        let mut zoomed = RgbaImage::new(4, 2);
        resample_bilinear(&src, rect, &mut zoomed).unwrap();
        let reds: Vec<u8> = zoomed.rows().next().unwrap().map(|p| p[0]).collect();
        assert_eq!(reds, vec![88, 112, 138, 162]);
        // Rows sample y = 0.75 and 1.25 (pixel index): greens between rows 0, 1 and 1, 2.
        let greens: Vec<u8> = zoomed.rows().map(|mut r| r.next().unwrap()[1]).collect();
        assert_eq!(greens, vec![75, 125]);
    }
}
