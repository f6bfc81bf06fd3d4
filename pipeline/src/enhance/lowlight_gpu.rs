//! Zero-DCE curves applied at full size on the GPU (`shaders/lowlight.wgsl`): upload the frame and
//! the small curve maps (interleaved per cell, [`interleave`]), one dispatch (an invocation per
//! curve cell, each the block of pixels it is the top-left tap of: see the shader), padded readback. The CPU reference is
//! [`super::lowlight::apply_curves_cpu`].

use std::sync::Arc;

use image::RgbaImage;

use super::lowlight::{check_curves, Curves, STEPS};
use crate::error::Result;
use crate::gpu::image::{same_size, FRAME_FORMAT};
use crate::gpu::kernel::{
    into_new_frame, storage, storage_texture, texture, through_gpu, uniform, view, BySize, Entry,
    HostBuffer, Kernel, KernelDesc,
};
use crate::gpu::{GpuContext, GpuImage};

/// The WGSL source, embedded so that the binary stands alone.
pub const SHADER: &str = doppel_shaders::LOWLIGHT;

const WORKGROUP: u32 = 8;
const PARAMS_BYTES: u64 = 32;

const ENTRIES: [Entry<'static>; 1] = [Entry {
    name: "main",
    bindings: &[
        (0, uniform(PARAMS_BYTES)),
        (1, storage(true)),
        (2, texture()),
        (3, storage_texture(FRAME_FORMAT)),
    ],
}];

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

/// The curve-application kernel.
pub struct GpuCurves {
    kernel: Kernel,
    params: HostBuffer,
    /// The interleaved curve maps, sized for the curve grid in use.
    curves: BySize<usize, HostBuffer>,
    interleaved: Vec<f32>,
}

impl GpuCurves {
    /// Compiles the shader and builds the pipeline on `ctx`'s device.
    ///
    /// # Errors
    /// [`crate::Error::Gpu`] when the device rejects the shader or the pipeline.
    pub fn new(ctx: Arc<GpuContext>) -> Result<Self> {
        let kernel = Kernel::new(
            &ctx,
            &KernelDesc {
                label: "lowlight",
                shader: SHADER,
                entries: &ENTRIES,
                constants: &[],
            },
        )?;
        Ok(Self {
            params: HostBuffer::uniform(&ctx, "lowlight params", PARAMS_BYTES),
            kernel,
            curves: BySize::default(),
            interleaved: Vec::new(),
        })
    }

    pub fn context(&self) -> &Arc<GpuContext> {
        self.kernel.context()
    }

    /// Records the application of `curves` to `src` into `dst` (same size), blended with
    /// `strength`; parameters and curves are queued for the next submission.
    ///
    /// # Errors
    /// [`crate::Error::Size`] when the sizes differ; [`crate::Error::Spec`] when the curves do not fit.
    pub fn encode(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        src: &GpuImage,
        dst: &GpuImage,
        curves: &Curves,
        strength: f32,
    ) -> Result<()> {
        same_size("lowlight output", src, dst)?;
        let (w, h) = src.size();
        super::check_frame("lowlight", w, h)?;
        check_curves(curves)?;
        let ctx = self.kernel.context().clone();
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
        self.params.set(&ctx, bytemuck::cast_slice(&words));
        interleave(curves, &mut self.interleaved);
        // interleaved: 4 floats per step and cell where the planes hold 3
        let bytes = (curves.data.len() / 3 * 4 * 4) as u64;
        let buffer = self.curves.get(curves.data.len(), |_| {
            Ok(HostBuffer::storage(&ctx, "lowlight curves", bytes))
        })?;
        buffer.set(&ctx, bytemuck::cast_slice(&self.interleaved));
        let group = self.kernel.bind(
            0,
            &[
                (0, self.params.binding()),
                (1, buffer.binding()),
                (2, view(src)),
                (3, view(dst)),
            ],
        );
        let mut pass = self.kernel.pass(encoder);
        // one invocation per curve cell: the block of pixels it is the top-left tap of
        let (cw, ch) = (curves.width, curves.height);
        let groups = (cw.div_ceil(WORKGROUP), ch.div_ceil(WORKGROUP), 1);
        self.kernel.dispatch(&mut pass, 0, &group, groups);
        Ok(())
    }

    /// Applies `curves` to `src` into a new frame texture (submitted, not waited for).
    ///
    /// # Errors
    /// As [`GpuCurves::encode`].
    pub fn apply(&mut self, src: &GpuImage, curves: &Curves, strength: f32) -> Result<GpuImage> {
        let ctx = self.kernel.context().clone();
        into_new_frame(
            &ctx,
            src.size(),
            "running the lowlight kernel",
            |encoder, dst| self.encode(encoder, src, dst, curves, strength),
        )
    }

    /// Applies `curves` to `src` into `dst` (same size) through the GPU: upload, one dispatch,
    /// readback. For tests and benchmarks; the stage keeps frames on the GPU.
    ///
    /// # Errors
    /// [`crate::Error::Size`] when the sizes differ; [`crate::Error::Spec`] when the curves do not fit;
    /// [`crate::Error::Gpu`] when the frame does not fit the device or a transfer fails.
    pub fn run(
        &mut self,
        src: &RgbaImage,
        dst: &mut RgbaImage,
        curves: &Curves,
        strength: f32,
    ) -> Result<()> {
        let ctx = self.kernel.context().clone();
        through_gpu(&ctx, "lowlight output", src, dst, |src| {
            self.apply(src, curves, strength)
        })
    }
}
