//! The low-light application of [`super::lowlight`] on the GPU (`shaders/lowlight.wgsl`): upload
//! the small gain map, one dispatch (an invocation per run of a frame row that shares its gain-map
//! column: gain, 3x3 denoise where brightened, one factor on R, G and B), then the padded readback. The CPU reference is
//! [`super::lowlight::apply_gain_cpu`].

use std::sync::Arc;

use image::RgbaImage;

use super::lowlight::{check_gain, GainMap, DENOISE_FULL_GAIN, DENOISE_MIN_BLEND, DENOISE_RANGE};
use crate::error::Result;
use crate::gpu::image::{same_size, FRAME_FORMAT};
use crate::gpu::kernel::{
    into_new_frame, storage, storage_texture, texture, through_gpu, uniform, view, BySize, Entry,
    HostBuffer, Kernel, KernelDesc,
};
use crate::gpu::{GpuContext, GpuImage};

/// The WGSL source, embedded so that the binary stands alone.
pub const SHADER: &str = doppel_shaders::LOWLIGHT;

/// Workgroup side in `lowlight.wgsl`.
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

/// The low-light kernel.
pub struct GpuLowlight {
    kernel: Kernel,
    params: HostBuffer,
    /// The gain map, sized for the map in use.
    gain: BySize<usize, HostBuffer>,
}

impl GpuLowlight {
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
            gain: BySize::default(),
        })
    }

    pub fn context(&self) -> &Arc<GpuContext> {
        self.kernel.context()
    }

    /// Records the application of `map` to `src` into `dst` (same size) with `strength`;
    /// parameters and the map are queued for the next submission.
    ///
    /// # Errors
    /// [`crate::Error::Size`] when the sizes differ; [`crate::Error::Spec`] when the map does not
    /// fit or the frame is empty.
    pub fn encode(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        src: &GpuImage,
        dst: &GpuImage,
        map: &GainMap,
        strength: f32,
    ) -> Result<()> {
        same_size("lowlight output", src, dst)?;
        let (w, h) = src.size();
        super::check_frame("lowlight", w, h)?;
        check_gain(map)?;
        let ctx = self.kernel.context().clone();
        let words: [u32; 8] = [
            w,
            h,
            map.width,
            map.height,
            strength.to_bits(),
            DENOISE_FULL_GAIN.to_bits(),
            DENOISE_RANGE.to_bits(),
            DENOISE_MIN_BLEND.to_bits(),
        ];
        self.params.set(&ctx, bytemuck::cast_slice(&words));
        let bytes = (map.data.len() * 4) as u64;
        let buffer = self.gain.get(map.data.len(), |_| {
            Ok(HostBuffer::storage(&ctx, "lowlight gain", bytes))
        })?;
        buffer.set(&ctx, bytemuck::cast_slice(&map.data));
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
        // an invocation per gain-map column and frame row (the kernel's runs)
        let groups = (map.width.div_ceil(WORKGROUP), h.div_ceil(WORKGROUP), 1);
        self.kernel.dispatch(&mut pass, 0, &group, groups);
        Ok(())
    }

    /// Applies `map` to `src` into a new frame texture (submitted, not waited for).
    ///
    /// # Errors
    /// As [`GpuLowlight::encode`].
    pub fn apply(&mut self, src: &GpuImage, map: &GainMap, strength: f32) -> Result<GpuImage> {
        let ctx = self.kernel.context().clone();
        into_new_frame(
            &ctx,
            src.size(),
            "running the lowlight kernel",
            |encoder, dst| self.encode(encoder, src, dst, map, strength),
        )
    }

    /// Applies `map` to `src` into `dst` (same size) through the GPU: upload, one dispatch,
    /// readback. For tests and benchmarks; the stage keeps frames on the GPU.
    ///
    /// # Errors
    /// [`crate::Error::Size`] when the sizes differ; [`crate::Error::Spec`] when the map does not
    /// fit; [`crate::Error::Gpu`] when the frame does not fit the device or a transfer fails.
    pub fn run(
        &mut self,
        src: &RgbaImage,
        dst: &mut RgbaImage,
        map: &GainMap,
        strength: f32,
    ) -> Result<()> {
        let ctx = self.kernel.context().clone();
        through_gpu(&ctx, "lowlight output", src, dst, |src| {
            self.apply(src, map, strength)
        })
    }
}
