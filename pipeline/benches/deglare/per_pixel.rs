//! `enhance::lowlight_gpu` with a kernel variant that has an invocation per pixel (8x8 workgroups,
//! 9 texel loads a pixel): `per_pixel_tables.wgsl` (the sRGB curve read from the CPU reference's
//! tables) or `per_pixel_pow.wgsl` (computed), timed in the same run as the stage's kernel (an
//! invocation per run of a row). Not used by the stage.

use std::sync::Arc;

use doppel_pipeline::enhance::lowlight::{
    check_gain, GainMap, DENOISE_FULL_GAIN, DENOISE_MIN_BLEND, DENOISE_RANGE,
};
use doppel_pipeline::enhance::{Decoder, Encoder};
use doppel_pipeline::gpu::image::{same_size, FRAME_FORMAT};
use doppel_pipeline::gpu::kernel::{
    groups_2d, into_new_frame, storage, storage_texture, texture, through_gpu, uniform, view,
    BySize, Entry, HostBuffer, Kernel, KernelDesc,
};
use doppel_pipeline::gpu::GpuContext;
use doppel_pipeline::Result;
use image::RgbaImage;

const PARAMS_BYTES: u64 = 32;
const ENTRIES: [Entry<'static>; 1] = [Entry {
    name: "main",
    bindings: &[
        (0, uniform(PARAMS_BYTES)),
        (1, storage(true)),
        (2, texture()),
        (3, storage_texture(FRAME_FORMAT)),
        (4, storage(true)),
    ],
}];

pub struct PerPixelLowlight {
    kernel: Kernel,
    params: HostBuffer,
    gain: BySize<usize, HostBuffer>,
    tables: HostBuffer,
}

impl PerPixelLowlight {
    pub fn new(ctx: Arc<GpuContext>, shader: &str) -> Result<Self> {
        let kernel = Kernel::new(
            &ctx,
            &KernelDesc {
                label: "lowlight (per pixel)",
                shader,
                entries: &ENTRIES,
                constants: &[],
            },
        )?;
        let mut values: Vec<f32> = Decoder::get().table().to_vec();
        values.extend_from_slice(Encoder::get().table());
        let mut tables = HostBuffer::storage(&ctx, "lowlight tables", (values.len() * 4) as u64);
        tables.set(&ctx, bytemuck::cast_slice(&values));
        Ok(Self {
            params: HostBuffer::uniform(&ctx, "lowlight params", PARAMS_BYTES),
            kernel,
            gain: BySize::default(),
            tables,
        })
    }

    pub fn run(&mut self, src: &RgbaImage, map: &GainMap, strength: f32) -> Result<RgbaImage> {
        let ctx = self.kernel.context().clone();
        let mut dst = RgbaImage::new(src.width(), src.height());
        through_gpu(&ctx, "lowlight output", src, &mut dst, |src| {
            into_new_frame(&ctx, src.size(), "lowlight", |encoder, dst| {
                same_size("lowlight output", src, dst)?;
                check_gain(map)?;
                let (w, h) = src.size();
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
                        (4, self.tables.binding()),
                    ],
                );
                let mut pass = self.kernel.pass(encoder);
                self.kernel
                    .dispatch(&mut pass, 0, &group, groups_2d(w, h, 8));
                Ok(())
            })
        })?;
        Ok(dst)
    }
}
