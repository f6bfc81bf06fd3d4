//! The shader method of [`super::deglare`] on the GPU (`shaders/deglare.wgsl`): six dispatches in
//! one submission (reduce, min_h, min_v, blur_h, blur_v on the small grid; apply at full size,
//! one invocation per grid column and frame row, each the run of pixels sharing its four glare
//! samples), then a padded readback. Build once per stream; textures and buffers are kept while the frame
//! size stays the same.

use std::sync::Arc;

use image::RgbaImage;

use super::deglare::{grid, linear_threshold, GlareParams, MAX_PSF_RADIUS, MIN_RADIUS};
use crate::error::Result;
use crate::gpu::image::{same_size, FRAME_FORMAT};
use crate::gpu::kernel::{
    groups_2d, into_new_frame, storage, storage_texture, texture, through_gpu, uniform, view,
    BySize, Entry, HostBuffer, Kernel, KernelDesc,
};
use crate::gpu::{GpuContext, GpuImage};

/// The WGSL source, embedded so that the binary stands alone.
pub const SHADER: &str = doppel_shaders::DEGLARE;

const WORKGROUP: u32 = 8;
/// Bytes of `Params` in the shader.
const PARAMS_BYTES: u64 = 64;
/// Room for the PSF taps and the narrow taps at their largest.
const TAPS_BYTES: u64 = 2 * (2 * MAX_PSF_RADIUS as u64 + 1) * 4;

/// Every entry point binds the same group: params, taps, the frame, six grid buffers, the output.
const BINDINGS: &[(u32, wgpu::BindingType)] = &[
    (0, uniform(PARAMS_BYTES)),
    (1, storage(true)),
    (2, texture()),
    (3, storage(false)),
    (4, storage(false)),
    (5, storage(false)),
    (6, storage(false)),
    (7, storage(false)),
    (8, storage(false)),
    (9, storage_texture(FRAME_FORMAT)),
];

/// The passes in order: reduce, min_h, min_v, blur_h, blur_v on the small grid; apply at full size.
const ENTRIES: [Entry<'static>; 6] = [
    Entry {
        name: "reduce",
        bindings: BINDINGS,
    },
    Entry {
        name: "min_h",
        bindings: BINDINGS,
    },
    Entry {
        name: "min_v",
        bindings: BINDINGS,
    },
    Entry {
        name: "blur_h",
        bindings: BINDINGS,
    },
    Entry {
        name: "blur_v",
        bindings: BINDINGS,
    },
    Entry {
        name: "apply",
        bindings: BINDINGS,
    },
];

/// The small-grid buffers of one frame size.
struct Grid {
    small: (u32, u32),
    buffers: Vec<wgpu::Buffer>,
}

/// The deglare kernel on the GPU.
pub struct GpuDeglare {
    kernel: Kernel,
    params: HostBuffer,
    taps: HostBuffer,
    grid: BySize<(u32, u32), Grid>,
}

impl GpuDeglare {
    /// Compiles the shader and builds the pipelines on `ctx`'s device.
    ///
    /// # Errors
    /// [`crate::Error::Gpu`] when the device rejects the shader or a pipeline.
    pub fn new(ctx: Arc<GpuContext>) -> Result<Self> {
        let kernel = Kernel::new(
            &ctx,
            &KernelDesc {
                label: "deglare",
                shader: SHADER,
                entries: &ENTRIES,
                constants: &[],
            },
        )?;
        Ok(Self {
            params: HostBuffer::uniform(&ctx, "deglare params", PARAMS_BYTES),
            taps: HostBuffer::storage(&ctx, "deglare taps", TAPS_BYTES),
            kernel,
            grid: BySize::default(),
        })
    }

    pub fn context(&self) -> &Arc<GpuContext> {
        self.kernel.context()
    }

    /// Records the method on `src` into `dst` (same size) into `encoder`; parameters are queued
    /// for the next submission.
    ///
    /// # Errors
    /// [`crate::Error::Size`] when the sizes differ; [`crate::Error::Spec`] when the frame is empty;
    /// [`crate::Error::Gpu`] when the grid buffers cannot be allocated.
    pub fn encode(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        src: &GpuImage,
        dst: &GpuImage,
        params: &GlareParams,
    ) -> Result<()> {
        same_size("deglare output", src, dst)?;
        let (w, h) = src.size();
        super::check_frame("deglare", w, h)?;
        let (factor, sw, sh) = grid(w, h);
        let ctx = self.kernel.context().clone();
        let grid = self.grid.get((w, h), |_| {
            ctx.checked("allocating deglare buffers", || {
                let bytes = u64::from(sw) * u64::from(sh) * 16;
                let buffers = (0..6)
                    .map(|_| {
                        ctx.device.create_buffer(&wgpu::BufferDescriptor {
                            label: Some("deglare grid"),
                            size: bytes,
                            usage: wgpu::BufferUsages::STORAGE,
                            mapped_at_creation: false,
                        })
                    })
                    .collect();
                Grid {
                    small: (sw, sh),
                    buffers,
                }
            })
        })?;
        let (psf, narrow) = params.psf.taps();
        let mut all = psf.clone();
        all.extend_from_slice(&narrow);
        self.taps.set(&ctx, bytemuck::cast_slice(&all));
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
            params.max_darken.to_bits(),
            0,
            0,
        ];
        self.params.set(&ctx, bytemuck::cast_slice(&words));
        let mut resources = vec![
            (0, self.params.binding()),
            (1, self.taps.binding()),
            (2, view(src)),
        ];
        resources.extend(
            grid.buffers
                .iter()
                .enumerate()
                .map(|(i, b)| (3 + i as u32, b.as_entire_binding())),
        );
        resources.push((9, view(dst)));
        let group = self.kernel.bind(0, &resources);
        let mut pass = self.kernel.pass(encoder);
        let small = groups_2d(sw, sh, WORKGROUP);
        for entry in 0..ENTRIES.len() - 1 {
            self.kernel.dispatch(&mut pass, entry, &group, small);
        }
        // apply: one invocation per grid column and frame row (a run of pixels)
        let apply = (sw.div_ceil(WORKGROUP), h.div_ceil(WORKGROUP), 1);
        self.kernel
            .dispatch(&mut pass, ENTRIES.len() - 1, &group, apply);
        Ok(())
    }

    /// Runs the method on `src` into a new frame texture (submitted, not waited for).
    ///
    /// # Errors
    /// As [`GpuDeglare::encode`].
    pub fn apply(&mut self, src: &GpuImage, params: &GlareParams) -> Result<GpuImage> {
        let ctx = self.kernel.context().clone();
        into_new_frame(
            &ctx,
            src.size(),
            "running the deglare kernel",
            |encoder, dst| self.encode(encoder, src, dst, params),
        )
    }

    /// Runs the method on `src` into `dst` (same size) through the GPU: upload, six dispatches,
    /// readback. For tests and benchmarks; the stage keeps frames on the GPU.
    ///
    /// # Errors
    /// [`crate::Error::Size`] when the sizes differ; [`crate::Error::Spec`] when the frame is empty;
    /// [`crate::Error::Gpu`] when the frame does not fit the device or a transfer fails.
    pub fn run(
        &mut self,
        src: &RgbaImage,
        dst: &mut RgbaImage,
        params: &GlareParams,
    ) -> Result<()> {
        let (w, h) = src.dimensions();
        super::check_frame("deglare", w, h)?;
        let ctx = self.kernel.context().clone();
        through_gpu(&ctx, "deglare output", src, dst, |src| {
            self.apply(src, params)
        })
    }

    /// The small grid of the current frame size, if a frame ran.
    pub fn grid_size(&self) -> Option<(u32, u32)> {
        self.grid.current().map(|g| g.small)
    }
}
