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
    let (bw, bh) = (bw as usize, bh as usize);
    let bg = background.as_raw();
    let columns: Vec<_> = (0..w).map(|x| bilinear_index(x, w, grid.width)).collect();
    let bcolumns: Vec<_> = (0..w).map(|x| bilinear_index(x, w, bw)).collect();
    let src = frame.as_raw();
    let guide = smoothed_luma(frame);
    // Rows are independent: split across the cores (the CPU backend is the one used where
    // there is no real GPU, and this is its heaviest step).
    let rows = |first: usize, out: &mut [u8]| {
        // Per output row, the grid and the background interpolated between their two nearest rows
        // once; each pixel then blends two entries of these rows.
        let mut cell_row = vec![0.0f32; grid.width * CELL];
        let mut back_row = vec![0.0f32; bw * 3];
        for y in first..first + out.len() / (w * 4) {
            let (y0, y1, fy) = bilinear_index(y, h, grid.height);
            let (r0, r1) = (
                &grid.cells[y0 * grid.width * CELL..][..grid.width * CELL],
                &grid.cells[y1 * grid.width * CELL..][..grid.width * CELL],
            );
            for ((o, &a), &b) in cell_row.iter_mut().zip(r0).zip(r1) {
                *o = a + (b - a) * fy;
            }
            if !params.transparent {
                let (by0, by1, bfy) = bilinear_index(y, h, bh);
                let (b0, b1) = (&bg[by0 * bw * 4..][..bw * 4], &bg[by1 * bw * 4..][..bw * 4]);
                for (i, o) in back_row.chunks_exact_mut(3).enumerate() {
                    for c in 0..3 {
                        let (a, b) = (
                            f32::from(b0[i * 4 + c]) / 255.0,
                            f32::from(b1[i * 4 + c]) / 255.0,
                        );
                        o[c] = a + (b - a) * bfy;
                    }
                }
            }
            for x in 0..w {
                let (x0, x1, fx) = columns[x];
                let (c0, c1) = (
                    &cell_row[x0 * CELL..][..CELL],
                    &cell_row[x1 * CELL..][..CELL],
                );
                let v = |k: usize| c0[k] + (c1[k] - c0[k]) * fx;
                let at = (y * w + x) * 4;
                let s = [0, 1, 2, 3].map(|c| f32::from(src[at + c]) / 255.0);
                let alpha = (v(0) * guide[y * w + x] + v(1)).clamp(0.0, 1.0);
                let t = alpha * alpha;
                let person = [4, 5, 6].map(|k| v(k) + (s[k - 4] - v(k)) * t);
                let result = if params.transparent {
                    [person[0], person[1], person[2], alpha]
                } else {
                    let (bx0, bx1, bfx) = bcolumns[x];
                    let back = [0, 1, 2].map(|c| {
                        let (a, b) = (back_row[bx0 * 3 + c], back_row[bx1 * 3 + c]);
                        a + (b - a) * bfx
                    });
                    let wrap = (params.wrap * alpha * (1.0 - v(2))).clamp(0.0, 1.0);
                    let c = [0, 1, 2].map(|c| {
                        let over = back[c] + (person[c] - back[c]) * alpha;
                        over + (back[c] - over) * wrap
                    });
                    [c[0], c[1], c[2], s[3]]
                };
                let o = ((y - first) * w + x) * 4;
                for c in 0..4 {
                    out[o + c] = (result[c].clamp(0.0, 1.0) * 255.0).round() as u8;
                }
            }
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let per = h.div_ceil(threads).max(1) * w * 4;
    std::thread::scope(|scope| {
        for (i, chunk) in dst.as_mut().chunks_mut(per).enumerate() {
            let rows = &rows;
            scope.spawn(move || rows(i * per / (w * 4), chunk));
        }
    });
    Ok(())
}

/// The guide at full resolution: luma (of the bytes, 0..255 units) averaged over 3x3 pixels with
/// the edges repeated, then scaled to 0..1, summed in the shader's order. Averaging keeps edges to
/// a pixel but divides the camera's per-pixel noise by 3, which the matte would multiply by `a`.
fn smoothed_luma(frame: &RgbaImage) -> Vec<f32> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let luma: Vec<f32> = frame
        .as_raw()
        .chunks_exact(4)
        .map(|p| LUMA[0] * f32::from(p[0]) + LUMA[1] * f32::from(p[1]) + LUMA[2] * f32::from(p[2]))
        .collect();
    // Separable, in the shader's order: each row's three neighbours summed left to right, then
    // the three rows top to bottom.
    let mut rows = vec![0.0f32; w * h];
    for y in 0..h {
        let line = &luma[y * w..(y + 1) * w];
        for x in 0..w {
            let left = line[x.saturating_sub(1)];
            let right = line[(x + 1).min(w - 1)];
            rows[y * w + x] = ((0.0 + left) + line[x]) + right;
        }
    }
    let mut out = vec![0.0f32; w * h];
    for y in 0..h {
        let (up, down) = (y.saturating_sub(1), (y + 1).min(h - 1));
        for x in 0..w {
            let total = ((0.0 + rows[up * w + x]) + rows[y * w + x]) + rows[down * w + x];
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
