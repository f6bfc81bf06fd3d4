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

use glam::{BVec4A, Vec4};
use image::RgbaImage;

use super::grid::bilinear_index;
use super::refine::{MatteGrid, CELL};
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
/// Rows are split over the cores (up to 4). Per row the grid and the background are blended
/// vertically once; per pixel the colour arithmetic runs on 4-lane vectors (glam's `Vec4`, SSE2 on
/// x86-64), each grid cell being two such vectors; the guide's luma is summed in integers. Scratch
/// is a few rows per thread: nothing of the frame's size is allocated.
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
    if w == 0 || h == 0 {
        return Ok(());
    }
    let job = Job {
        frame,
        grid,
        background,
        params,
        columns: (0..w).map(|x| bilinear_index(x, w, grid.width)).collect(),
        bcolumns: (0..w).map(|x| bilinear_index(x, w, bw as usize)).collect(),
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let per = h.div_ceil(threads).max(1) * w * 4;
    std::thread::scope(|scope| {
        let mut chunks = dst.as_mut().chunks_mut(per).enumerate();
        // The first chunk on this thread: one spawn fewer.
        let first = chunks.next();
        for (i, chunk) in chunks {
            let job = &job;
            scope.spawn(move || job.rows(i * per / (w * 4), chunk));
        }
        if let Some((_, chunk)) = first {
            job.rows(0, chunk);
        }
    });
    Ok(())
}

/// Luma weights in thousandths: `refine::LUMA` exactly, so the guide is summed in integers.
const LUMA_MILLI: [u32; 3] = [299, 587, 114];

/// 1/255: bytes to 0..1.
const UNIT: f32 = 1.0 / 255.0;

/// `a + (b - a) * t`, the shader's `lerp4`: written the same way so both round alike.
#[inline(always)]
fn lerp(a: Vec4, b: Vec4, t: f32) -> Vec4 {
    a + (b - a) * t
}

/// One composite: the inputs and the column interpolation shared by every row.
struct Job<'a> {
    frame: &'a RgbaImage,
    grid: &'a MatteGrid,
    background: &'a RgbaImage,
    params: CompositeParams,
    /// Per output column: the grid's two columns and the weight of the second.
    columns: Vec<(usize, usize, f32)>,
    /// The same for the background.
    bcolumns: Vec<(usize, usize, f32)>,
}

/// Per-thread rows: the guide's horizontal luma sums of three frame rows, the grid and background
/// rows interpolated vertically, and the frame row in and out as floats.
struct Scratch {
    /// Three rows of luma summed over each pixel and its left and right neighbours (thousandths of
    /// a level), and which frame row each holds.
    luma: [Vec<u32>; 3],
    luma_rows: [usize; 3],
    /// Per grid column: (a, b, blurred alpha, 0) and (foreground r, g, b, 0).
    cells: Vec<Vec4>,
    /// Per background column: (r, g, b, 0), 0..1.
    back: Vec<Vec4>,
    /// The frame row, RGBA 0..1.
    src: Vec<f32>,
    /// The result row, RGBA 0.5..255.5 (a cast to u8 rounds it).
    out: Vec<f32>,
}

impl Job<'_> {
    /// Composites frame rows `first..` into `out` (whole rows).
    fn rows(&self, first: usize, out: &mut [u8]) {
        let (w, h) = (self.frame.width() as usize, self.frame.height() as usize);
        let mut s = Scratch {
            luma: [vec![0; w], vec![0; w], vec![0; w]],
            luma_rows: [usize::MAX; 3],
            cells: vec![Vec4::ZERO; self.grid.width * 2],
            back: vec![Vec4::ZERO; self.background.width() as usize],
            src: vec![0.0; w * 4],
            out: vec![0.0; w * 4],
        };
        for (i, row) in out.chunks_exact_mut(w * 4).enumerate() {
            self.row(first + i, h, &mut s, row);
        }
    }

    /// The horizontal luma sums of frame row `y` in one of the three slots (kept if already there).
    fn luma_slot(&self, y: usize, s: &mut Scratch) -> usize {
        if let Some(slot) = s.luma_rows.iter().position(|&r| r == y) {
            return slot;
        }
        // Replace the slot holding the row furthest from `y` (rows advance downwards).
        let slot = (0..3)
            .max_by_key(|&k| s.luma_rows[k].abs_diff(y))
            .unwrap_or(0);
        let w = self.frame.width() as usize;
        let src = &self.frame.as_raw()[y * w * 4..][..w * 4];
        let sums = &mut s.luma[slot][..w];
        let l = |x: usize| {
            let p = &src[x * 4..x * 4 + 3];
            LUMA_MILLI[0] * u32::from(p[0])
                + LUMA_MILLI[1] * u32::from(p[1])
                + LUMA_MILLI[2] * u32::from(p[2])
        };
        // Edges repeated: the first and last pixels count twice in their own sums.
        let (mut left, mut here) = (l(0), l(0));
        for (x, sum) in sums.iter_mut().enumerate() {
            let right = l((x + 1).min(w - 1));
            *sum = left + here + right;
            (left, here) = (here, right);
        }
        s.luma_rows[slot] = y;
        slot
    }

    fn row(&self, y: usize, h: usize, s: &mut Scratch, out: &mut [u8]) {
        let w = self.frame.width() as usize;
        let grid = self.grid;
        // The guide: the 3x3 luma sum (rows above and below clamped), in 0..1 below.
        let up = self.luma_slot(y.saturating_sub(1), s);
        let mid = self.luma_slot(y, s);
        let down = self.luma_slot((y + 1).min(h - 1), s);
        // The grid rows around `y`, blended vertically once for the whole row.
        let (y0, y1, fy) = bilinear_index(y, h, grid.height);
        let row_len = grid.width * CELL;
        let (r0, r1) = (
            &grid.cells[y0 * row_len..][..row_len],
            &grid.cells[y1 * row_len..][..row_len],
        );
        for ((o, a), b) in s
            .cells
            .iter_mut()
            .zip(r0.chunks_exact(4))
            .zip(r1.chunks_exact(4))
        {
            *o = lerp(Vec4::from_slice(a), Vec4::from_slice(b), fy);
        }
        let src = &self.frame.as_raw()[y * w * 4..][..w * 4];
        for (o, &v) in s.src.iter_mut().zip(src) {
            *o = f32::from(v) * UNIT;
        }
        if !self.params.transparent {
            self.background_row(y, h, &mut s.back);
        }
        let (l0, l1, l2) = (&s.luma[up][..w], &s.luma[mid][..w], &s.luma[down][..w]);
        let scale = 1.0 / (9.0 * 255.0 * 1000.0);
        // The result's alpha lane: the frame's own alpha, or the matte (transparent).
        let last = BVec4A::new(false, false, false, true);
        let (lo, hi) = (Vec4::ZERO, Vec4::ONE);
        let (cells, back) = (&s.cells, &s.back);
        let wrap = self.params.wrap;
        for (x, ((pixel, result), (&(x0, x1, fx), &(bx0, bx1, bfx)))) in s
            .src
            .chunks_exact(4)
            .zip(s.out.chunks_exact_mut(4))
            .zip(self.columns.iter().zip(&self.bcolumns))
            .enumerate()
        {
            let coef = lerp(cells[x0 * 2], cells[x1 * 2], fx);
            let fg = lerp(cells[x0 * 2 + 1], cells[x1 * 2 + 1], fx);
            let colour = Vec4::from_slice(pixel);
            let guide = (l0[x] + l1[x] + l2[x]) as f32 * scale;
            let alpha = (coef.x * guide + coef.y).clamp(0.0, 1.0);
            let value = if self.params.transparent {
                let person = fg + (colour - fg) * (alpha * alpha);
                Vec4::select(last, Vec4::splat(alpha), person)
            } else if alpha == 0.0 {
                // Background (about half a call frame): the formulas below give `behind` exactly.
                Vec4::select(last, colour, lerp(back[bx0], back[bx1], bfx))
            } else {
                let person = fg + (colour - fg) * (alpha * alpha);
                let behind = lerp(back[bx0], back[bx1], bfx);
                let over = behind + (person - behind) * alpha;
                let k = (wrap * alpha * (1.0 - coef.z)).clamp(0.0, 1.0);
                Vec4::select(last, colour, over + (behind - over) * k)
            };
            (value.clamp(lo, hi) * 255.0 + 0.5).write_to_slice(result);
        }
        for (o, &v) in out.iter_mut().zip(&s.out) {
            *o = v as u8;
        }
    }

    /// The background at frame row `y` (0..1): its two nearest rows blended once for the row.
    fn background_row(&self, y: usize, h: usize, back: &mut [Vec4]) {
        let bg = self.background.as_raw();
        let (bw, bh) = (
            self.background.width() as usize,
            self.background.height() as usize,
        );
        let (by0, by1, bfy) = bilinear_index(y, h, bh);
        let (b0, b1) = (&bg[by0 * bw * 4..][..bw * 4], &bg[by1 * bw * 4..][..bw * 4]);
        let texel =
            |p: &[u8]| Vec4::new(f32::from(p[0]), f32::from(p[1]), f32::from(p[2]), 0.0) * UNIT;
        for ((o, p0), p1) in back
            .iter_mut()
            .zip(b0.chunks_exact(4))
            .zip(b1.chunks_exact(4))
        {
            *o = lerp(texel(p0), texel(p1), bfy);
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The module's formulas written out per pixel, plainly (the guide as a 3x3 mean of float
    /// luma, every value bilinear at the pixel): what the row-wise vector code must equal.
    fn plain(
        frame: &RgbaImage,
        grid: &MatteGrid,
        back: &RgbaImage,
        p: CompositeParams,
    ) -> RgbaImage {
        let (w, h) = (frame.width() as usize, frame.height() as usize);
        let (bw, bh) = (back.width() as usize, back.height() as usize);
        let luma = |x: usize, y: usize| {
            let q = frame.get_pixel(x as u32, y as u32);
            (0..3)
                .map(|c| super::super::refine::LUMA[c] * f32::from(q[c]))
                .sum::<f32>()
        };
        RgbaImage::from_fn(w as u32, h as u32, |x, y| {
            let (x, y) = (x as usize, y as usize);
            let mut guide = 0.0;
            for yy in [y.saturating_sub(1), y, (y + 1).min(h - 1)] {
                for xx in [x.saturating_sub(1), x, (x + 1).min(w - 1)] {
                    guide += luma(xx, yy);
                }
            }
            let guide = guide / (9.0 * 255.0);
            let (x0, x1, fx) = bilinear_index(x, w, grid.width);
            let (y0, y1, fy) = bilinear_index(y, h, grid.height);
            let cell = |k: usize| {
                let at = |gx: usize, gy: usize| grid.cells[(gy * grid.width + gx) * CELL + k];
                let top = at(x0, y0) + (at(x1, y0) - at(x0, y0)) * fx;
                let bottom = at(x0, y1) + (at(x1, y1) - at(x0, y1)) * fx;
                top + (bottom - top) * fy
            };
            let (bx0, bx1, bfx) = bilinear_index(x, w, bw);
            let (by0, by1, bfy) = bilinear_index(y, h, bh);
            let texel = |c: usize| {
                let at = |bx: usize, by: usize| {
                    f32::from(back.get_pixel(bx as u32, by as u32)[c]) / 255.0
                };
                let top = at(bx0, by0) + (at(bx1, by0) - at(bx0, by0)) * bfx;
                let bottom = at(bx0, by1) + (at(bx1, by1) - at(bx0, by1)) * bfx;
                top + (bottom - top) * bfy
            };
            let s = frame.get_pixel(x as u32, y as u32);
            let alpha = (cell(0) * guide + cell(1)).clamp(0.0, 1.0);
            let mut out = [0u8; 4];
            for c in 0..3 {
                let f = cell(4 + c);
                let person = f + (f32::from(s[c]) / 255.0 - f) * alpha * alpha;
                let v = if p.transparent {
                    person
                } else {
                    let b = texel(c);
                    let over = b + (person - b) * alpha;
                    let k = (p.wrap * alpha * (1.0 - cell(2))).clamp(0.0, 1.0);
                    over + (b - over) * k
                };
                out[c] = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
            }
            out[3] = if p.transparent {
                (alpha * 255.0).round() as u8
            } else {
                s[3]
            };
            image::Rgba(out)
        })
    }

    /// A small deterministic pseudo-random byte stream.
    fn bytes(seed: u32) -> impl FnMut() -> u8 {
        let mut state = seed;
        move || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 24) as u8
        }
    }

    #[test]
    fn the_row_wise_composite_equals_the_per_pixel_formulas() {
        // Odd sizes, a 1-pixel-wide and a 1-pixel-high frame, backgrounds smaller and larger than
        // the frame: the edges of every interpolation and of the 3x3 guide.
        for (w, h, gw, gh, bw, bh) in [
            (13, 7, 3, 2, 5, 4),
            (1, 5, 1, 2, 1, 1),
            (6, 1, 2, 1, 9, 3),
            (40, 23, 8, 5, 40, 23),
        ] {
            let mut next = bytes(w * 31 + h);
            let frame =
                RgbaImage::from_fn(w, h, |_, _| image::Rgba([next(), next(), next(), next()]));
            let back =
                RgbaImage::from_fn(bw, bh, |_, _| image::Rgba([next(), next(), next(), 255]));
            let (gw, gh) = (gw as usize, gh as usize);
            let cells = (0..gw * gh * CELL)
                .map(|i| match i % CELL {
                    // a in -4..4, b in -1..2: alphas across 0..1 and clamped at both ends.
                    0 => f32::from(next()) / 32.0 - 4.0,
                    1 => f32::from(next()) / 85.0 - 1.0,
                    3 | 7 => 0.0,
                    _ => f32::from(next()) / 255.0,
                })
                .collect();
            let grid = MatteGrid {
                width: gw,
                height: gh,
                cells,
                probability: crate::matte::Plane::filled(gw, gh, 0.0),
                alpha: crate::matte::Plane::filled(gw, gh, 0.0),
                background: None,
            };
            for transparent in [false, true] {
                let params = CompositeParams {
                    wrap: 0.4,
                    transparent,
                };
                let mut out = RgbaImage::new(w, h);
                composite_cpu(&frame, &grid, &back, params, &mut out).unwrap();
                let want = plain(&frame, &grid, &back, params);
                let worst = out
                    .as_raw()
                    .iter()
                    .zip(want.as_raw())
                    .map(|(a, b)| a.abs_diff(*b))
                    .max()
                    .unwrap_or(0);
                assert!(
                    worst <= 1,
                    "{w}x{h} transparent={transparent}: differs by {worst}"
                );
            }
        }
    }
}
