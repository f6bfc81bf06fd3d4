//! The full-resolution step of the background effect: matte, decontamination, composite and light
//! wrap per pixel, on the GPU ([`GpuComposite`], `shaders/matte.wgsl`) or the CPU
//! ([`composite_cpu`], the reference). The two agree within ±1 per channel.
//!
//! Per pixel, with `I` the frame's colour and the grid values bilinear at the pixel:
//! - `alpha = clamp(a * L + b)`, `L` the luma averaged over 3x3 pixels: the guided filter's output
//!   at full resolution;
//! - `person = F + (I - F) * alpha²`: where alpha is partial the observed colour is part old
//!   background, so it is pulled towards `F`, the colour of the person nearby (decontamination);
//! - `out = B + (person - B) * alpha`, then pulled towards `B` by `wrap * alpha * (1 - inner)`,
//!   where `inner` is the blurred alpha: the new background's light spills over the person's
//!   rim (light wrap), so the edge sits in the new scene instead of carrying a rim of the old one;
//! - `transparent`: `(person, alpha)` instead, straight alpha.

use std::sync::Arc;

use image::RgbaImage;

use super::grid::bilinear_index;
use super::refine::{MatteGrid, CELL, LUMA};
use crate::error::{Error, Result};
use crate::gpu::image::FRAME_FORMAT;
use crate::gpu::kernel::{
    groups_2d, into_new_frame, storage, storage_texture, texture, uniform, view, BySize, Entry,
    HostBuffer, Kernel, KernelDesc,
};
use crate::gpu::{GpuContext, GpuImage};

/// How the composite treats the pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CompositeParams {
    /// Light wrap strength, 0 (none) ..= 1.
    pub wrap: f32,
    /// Write the person over nothing, with alpha = matte.
    pub transparent: bool,
}

fn check_grid(grid: &MatteGrid) -> Result<()> {
    if grid.width == 0 || grid.height == 0 || grid.cells.len() != grid.width * grid.height * CELL {
        return Err(Error::Internal(format!(
            "matte grid {}x{} holds {} values, not {} per cell",
            grid.width,
            grid.height,
            grid.cells.len(),
            CELL
        )));
    }
    Ok(())
}

/// The composite on the CPU: the reference for [`GpuComposite`]. `background` may have any size
/// (it is stretched bilinearly over the frame; pass one of the frame's size for a sharp image);
/// `dst` has `frame`'s size.
///
/// # Errors
/// [`Error::Size`] when `dst` differs from `frame`; [`Error::Spec`] for an empty background.
pub fn composite_cpu(
    frame: &RgbaImage,
    grid: &MatteGrid,
    background: &RgbaImage,
    params: CompositeParams,
    dst: &mut RgbaImage,
) -> Result<()> {
    check_grid(grid)?;
    if dst.dimensions() != frame.dimensions() {
        return Err(Error::size(
            "background composite output",
            frame.dimensions(),
            dst.dimensions(),
        ));
    }
    let (bw, bh) = background.dimensions();
    if bw == 0 || bh == 0 {
        return Err(Error::Spec("background image is empty".to_string()));
    }
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let cells = &grid.cells;
    let cell = |x: usize, y: usize| &cells[(y * grid.width + x) * CELL..][..CELL];
    let bg = background.as_raw();
    let texel = |x: usize, y: usize, c: usize| f32::from(bg[(y * bw as usize + x) * 4 + c]) / 255.0;
    let columns: Vec<_> = (0..w).map(|x| bilinear_index(x, w, grid.width)).collect();
    let bcolumns: Vec<_> = (0..w).map(|x| bilinear_index(x, w, bw as usize)).collect();
    let src = frame.as_raw();
    let guide = smoothed_luma(frame);
    let out = dst.as_mut();
    let mut v = [0.0f32; CELL];
    for y in 0..h {
        let (y0, y1, fy) = bilinear_index(y, h, grid.height);
        let (by0, by1, bfy) = bilinear_index(y, h, bh as usize);
        for x in 0..w {
            let (x0, x1, fx) = columns[x];
            let (c00, c10, c01, c11) = (cell(x0, y0), cell(x1, y0), cell(x0, y1), cell(x1, y1));
            for k in 0..CELL {
                let top = c00[k] + (c10[k] - c00[k]) * fx;
                let bottom = c01[k] + (c11[k] - c01[k]) * fx;
                v[k] = top + (bottom - top) * fy;
            }
            let at = (y * w + x) * 4;
            let s = [0, 1, 2, 3].map(|c| f32::from(src[at + c]) / 255.0);
            let luma = guide[y * w + x];
            let alpha = (v[0] * luma + v[1]).clamp(0.0, 1.0);
            let t = alpha * alpha;
            let person = [0, 1, 2].map(|c| v[4 + c] + (s[c] - v[4 + c]) * t);
            let result = if params.transparent {
                [person[0], person[1], person[2], alpha]
            } else {
                let (bx0, bx1, bfx) = bcolumns[x];
                let back = [0, 1, 2].map(|c| {
                    let top = texel(bx0, by0, c) + (texel(bx1, by0, c) - texel(bx0, by0, c)) * bfx;
                    let bottom =
                        texel(bx0, by1, c) + (texel(bx1, by1, c) - texel(bx0, by1, c)) * bfx;
                    top + (bottom - top) * bfy
                });
                let wrap = (params.wrap * alpha * (1.0 - v[2])).clamp(0.0, 1.0);
                let c = [0, 1, 2].map(|c| {
                    let over = back[c] + (person[c] - back[c]) * alpha;
                    over + (back[c] - over) * wrap
                });
                [c[0], c[1], c[2], s[3]]
            };
            for c in 0..4 {
                out[at + c] = (result[c].clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        }
    }
    Ok(())
}

/// The guide at full resolution: luma (of the bytes, 0..255 units) averaged over 3x3 pixels with
/// the edges repeated, then scaled to 0..1, summed in the shader's order. Averaging keeps edges to
/// a pixel but divides the camera's per-pixel noise by 3, which the matte would multiply by `a`.
fn smoothed_luma(frame: &RgbaImage) -> Vec<f32> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let src = frame.as_raw();
    let luma: Vec<f32> = src
        .chunks_exact(4)
        .map(|p| LUMA[0] * f32::from(p[0]) + LUMA[1] * f32::from(p[1]) + LUMA[2] * f32::from(p[2]))
        .collect();
    let mut out = vec![0.0f32; w * h];
    for y in 0..h {
        for x in 0..w {
            let mut total = 0.0f32;
            for dy in [-1isize, 0, 1] {
                let yy = (y as isize + dy).clamp(0, h as isize - 1) as usize;
                let mut row = 0.0f32;
                for dx in [-1isize, 0, 1] {
                    let xx = (x as isize + dx).clamp(0, w as isize - 1) as usize;
                    row += luma[yy * w + xx];
                }
                total += row;
            }
            out[y * w + x] = total / (9.0 * 255.0);
        }
    }
    out
}

/// Workgroup side in `matte.wgsl`.
const WORKGROUP: u32 = 8;
/// Bytes of the kernel's parameter block.
const PARAMS_BYTES: u64 = 32;

const ENTRIES: [Entry<'static>; 1] = [Entry {
    name: "composite",
    bindings: &[
        (0, uniform(PARAMS_BYTES)),
        (1, texture()),
        (2, texture()),
        (3, storage(true)),
        (4, storage_texture(FRAME_FORMAT)),
    ],
}];

/// The composite on the GPU: one kernel over the frame; the grid goes up as a storage buffer.
pub struct GpuComposite {
    kernel: Kernel,
    params: HostBuffer,
    cells: BySize<(usize, usize), HostBuffer>,
}

impl GpuComposite {
    /// Compiles the kernel on `ctx`'s device.
    ///
    /// # Errors
    /// [`Error::Gpu`] when the device rejects the shader or pipeline.
    pub fn new(ctx: &Arc<GpuContext>) -> Result<Self> {
        let kernel = Kernel::new(
            ctx,
            &KernelDesc {
                label: "matte",
                shader: doppel_shaders::MATTE,
                entries: &ENTRIES,
                constants: &[],
            },
        )?;
        Ok(Self {
            params: HostBuffer::uniform(ctx, "matte params", PARAMS_BYTES),
            kernel,
            cells: BySize::default(),
        })
    }

    pub fn context(&self) -> &Arc<GpuContext> {
        self.kernel.context()
    }

    /// Composites `frame` over `background` (any size, stretched) into a new frame texture, one
    /// submission (not waited for).
    ///
    /// # Errors
    /// [`Error::Gpu`] when a texture or buffer cannot be made or the device reports an error.
    pub fn apply(
        &mut self,
        frame: &GpuImage,
        grid: &MatteGrid,
        background: &GpuImage,
        params: CompositeParams,
    ) -> Result<GpuImage> {
        check_grid(grid)?;
        let ctx = self.context().clone();
        let (w, h) = frame.size();
        let (bw, bh) = background.size();
        let words = [
            w,
            h,
            grid.width as u32,
            grid.height as u32,
            bw,
            bh,
            params.wrap.to_bits(),
            u32::from(params.transparent),
        ];
        self.params.set(&ctx, bytemuck::cast_slice(&words));
        let bytes = (grid.cells.len() * 4) as u64;
        let cells = self.cells.get((grid.width, grid.height), |_| {
            Ok(HostBuffer::storage(&ctx, "matte grid", bytes))
        })?;
        cells.set(&ctx, bytemuck::cast_slice(&grid.cells));
        let (kernel, uniforms) = (&self.kernel, &self.params);
        into_new_frame(&ctx, (w, h), "running the matte kernel", |encoder, dst| {
            let group = kernel.bind(
                0,
                &[
                    (0, uniforms.binding()),
                    (1, view(frame)),
                    (2, view(background)),
                    (3, cells.binding()),
                    (4, view(dst)),
                ],
            );
            let mut pass = kernel.pass(encoder);
            kernel.dispatch(&mut pass, 0, &group, groups_2d(w, h, WORKGROUP));
            Ok(())
        })
    }
}
