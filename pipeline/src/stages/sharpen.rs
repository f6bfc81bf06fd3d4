//! `sharpen` — unsharp mask: `out = src + amount * (src - blur(src))`, on the GPU or the CPU.
//!
//! Inputs: any RGBA frame. Outputs: the frame sharpened, same size, meta unchanged. Alpha is kept.
//! Options: `amount` 0..=5 (default 0.8), `radius` 1..=32 (default 2; the Gaussian's, sigma =
//! radius/2), `threshold` 0..=255 (default 2: differences below it, noise, are left alone),
//! `backend` = gpu | cpu (default gpu).
//!
//! Built only from parts: the blur kernel ([`crate::gpu::blur`]) and one blend kernel that this
//! module owns (`shaders/blend.wgsl`), recorded into one submission, so a GPU frame stays on the
//! GPU. The CPU path is the same arithmetic ([`unsharp_cpu`] over [`gaussian_blur_with`]); the
//! two agree within ±1 per channel (the blur's own tolerance carried through).
//! Example: `doppel process in.mp4 -o crisp.mp4 --stages resize:width=1280,sharpen:amount=1`

use std::sync::Arc;

use image::RgbaImage;

use super::{BuildContext, StageEntry};
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::gpu::blur::{gaussian_blur_with, BlurScratch, GaussianWeights, GpuBlur, MAX_RADIUS};
use crate::gpu::image::{same_size, FRAME_FORMAT};
use crate::gpu::kernel::{
    groups_2d, into_new_frame, storage_texture, texture, uniform, view, Entry, HostBuffer, Kernel,
    KernelDesc,
};
use crate::gpu::{GpuContext, GpuImage};
use crate::options::StageOptions;
use crate::options::{OptKind, OptSpec};
use crate::stage::{Contract, Stage, StageDoc};

const AMOUNT: OptSpec = OptSpec {
    name: "amount",
    kind: OptKind::F32 {
        default: 0.8,
        min: 0.0,
        max: 5.0,
    },
    help: "how much of the detail (frame minus its blur) to add",
};
const RADIUS: OptSpec = OptSpec {
    name: "radius",
    kind: OptKind::U32 {
        default: 2,
        min: 1,
        max: MAX_RADIUS,
    },
    help: "blur radius in pixels (larger = coarser detail)",
};
const THRESHOLD: OptSpec = OptSpec {
    name: "threshold",
    kind: OptKind::F32 {
        default: 2.0,
        min: 0.0,
        max: 255.0,
    },
    help: "smallest detail to sharpen, in 0..255 levels (leaves noise alone)",
};
use crate::options::GPU_OR_CPU as BACKEND;

pub const DOC: StageDoc = StageDoc {
    name: "sharpen",
    summary: "unsharp mask (blur kernel + blend kernel, chained on the GPU) or its CPU reference",
    options: &[AMOUNT, RADIUS, THRESHOLD, BACKEND],
    example: "resize:width=1280,sharpen:amount=1",
    contract: |_| Ok(Contract::NONE),
};

pub const ENTRY: StageEntry = StageEntry {
    doc: &DOC,
    build: |options: &StageOptions, ctx: &BuildContext| {
        Ok(Box::new(Sharpen::from_options(options, ctx)?))
    },
};

/// How strongly and what to sharpen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Unsharp {
    pub amount: f32,
    /// Differences below this (in 0..255 units) are left alone.
    pub threshold: f32,
}

/// The unsharp blend on the CPU: the reference for [`GpuUnsharp`]. `blurred` is `src` blurred;
/// `dst` has their size.
///
/// # Errors
/// [`Error::Size`] when the three sizes differ.
pub fn unsharp_cpu(
    src: &RgbaImage,
    blurred: &RgbaImage,
    dst: &mut RgbaImage,
    params: Unsharp,
) -> Result<()> {
    for (what, other) in [
        ("sharpen blur", blurred.dimensions()),
        ("sharpen output", dst.dimensions()),
    ] {
        if other != src.dimensions() {
            return Err(Error::size(what, src.dimensions(), other));
        }
    }
    for ((s, b), o) in src
        .as_raw()
        .chunks_exact(4)
        .zip(blurred.as_raw().chunks_exact(4))
        .zip(dst.chunks_exact_mut(4))
    {
        for c in 0..3 {
            let (sv, bv) = (f32::from(s[c]), f32::from(b[c]));
            let d = sv - bv;
            let v = if d.abs() < params.threshold {
                sv
            } else {
                sv + params.amount * d
            };
            o[c] = v.clamp(0.0, 255.0).round_ties_even() as u8;
        }
        o[3] = s[3];
    }
    Ok(())
}

/// Workgroup side in `blend.wgsl`.
const WORKGROUP: u32 = 8;

const ENTRIES: [Entry<'static>; 1] = [Entry {
    name: "unsharp",
    bindings: &[
        (0, uniform(16)),
        (1, texture()),
        (2, texture()),
        (3, storage_texture(FRAME_FORMAT)),
    ],
}];

/// The unsharp mask on the GPU: the blur kernel, then the blend kernel, in one submission.
pub struct GpuUnsharp {
    blur: GpuBlur,
    blend: Kernel,
    params: HostBuffer,
}

impl GpuUnsharp {
    /// Compiles both kernels on `ctx`'s device.
    ///
    /// # Errors
    /// [`Error::Gpu`] when the device rejects a shader or pipeline.
    pub fn new(ctx: Arc<GpuContext>) -> Result<Self> {
        let blend = Kernel::new(
            &ctx,
            &KernelDesc {
                label: "blend",
                shader: doppel_shaders::BLEND,
                entries: &ENTRIES,
                constants: &[],
            },
        )?;
        Ok(Self {
            params: HostBuffer::uniform(&ctx, "blend params", 16),
            blur: GpuBlur::new(ctx)?,
            blend,
        })
    }

    pub fn context(&self) -> &Arc<GpuContext> {
        self.blend.context()
    }

    /// Sharpens `src` into a new frame texture: blur into a scratch texture, blend into the
    /// output, one submission (not waited for).
    ///
    /// # Errors
    /// [`Error::Gpu`] when a texture cannot be allocated or the device reports an error.
    pub fn apply(
        &mut self,
        src: &GpuImage,
        weights: &GaussianWeights,
        params: Unsharp,
    ) -> Result<GpuImage> {
        let ctx = self.context().clone();
        let (w, h) = src.size();
        let blurred = GpuImage::new(&ctx, w, h)?;
        into_new_frame(
            &ctx,
            (w, h),
            "running the sharpen kernels",
            |encoder, dst| {
                self.blur.encode(encoder, src, &blurred, weights)?;
                self.encode_blend(encoder, src, &blurred, dst, params)
            },
        )
    }

    /// Records the blend of `src` and its blur into `dst`.
    fn encode_blend(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        src: &GpuImage,
        blurred: &GpuImage,
        dst: &GpuImage,
        params: Unsharp,
    ) -> Result<()> {
        same_size("sharpen blur", src, blurred)?;
        same_size("sharpen output", src, dst)?;
        let (w, h) = src.size();
        let ctx = self.context().clone();
        let words = [w, h, params.amount.to_bits(), params.threshold.to_bits()];
        self.params.set(&ctx, bytemuck::cast_slice(&words));
        let group = self.blend.bind(
            0,
            &[
                (0, self.params.binding()),
                (1, view(src)),
                (2, view(blurred)),
                (3, view(dst)),
            ],
        );
        let mut pass = self.blend.pass(encoder);
        self.blend
            .dispatch(&mut pass, 0, &group, groups_2d(w, h, WORKGROUP));
        Ok(())
    }
}

/// Where the unsharp mask runs.
enum Backend {
    Gpu(Box<GpuUnsharp>),
    Cpu(BlurScratch),
}

/// The sharpen stage.
pub struct Sharpen {
    weights: GaussianWeights,
    params: Unsharp,
    backend: Backend,
}

impl Sharpen {
    /// Builds the stage; with `backend=gpu` this opens the shared GPU device and compiles both
    /// kernels, so GPU problems surface here.
    ///
    /// # Errors
    /// [`Error::Option`] for bad values; [`Error::Gpu`] without a usable adapter.
    pub fn from_options(options: &StageOptions, ctx: &BuildContext) -> Result<Self> {
        let params = Unsharp {
            amount: options.f32(&AMOUNT)?,
            threshold: options.f32(&THRESHOLD)?,
        };
        let weights = GaussianWeights::new(options.u32(&RADIUS)?, None)?;
        let backend = match options.choice(&BACKEND)? {
            "cpu" => Backend::Cpu(BlurScratch::default()),
            _ => Backend::Gpu(Box::new(
                ctx.gpu()
                    .and_then(GpuUnsharp::new)
                    .map_err(Error::gpu_or("sharpen", "sharpen:backend=cpu"))?,
            )),
        };
        Ok(Self {
            weights,
            params,
            backend,
        })
    }
}

impl Stage for Sharpen {
    fn name(&self) -> &str {
        DOC.name
    }

    /// The GPU backend leaves the frame on the GPU for the next stage (no readback here).
    fn process(&mut self, mut frame: Frame) -> Result<Frame> {
        match &mut self.backend {
            Backend::Gpu(gpu) => {
                let src = frame.pixels.texture(gpu.context())?;
                let out = gpu.apply(&src, &self.weights, self.params)?;
                frame.pixels.set_texture(out);
            }
            Backend::Cpu(scratch) => {
                let (w, h) = (frame.width(), frame.height());
                let src = frame.pixels.image()?;
                let mut blurred = crate::bufpool::image(w, h);
                gaussian_blur_with(src, &mut blurred, &self.weights, scratch)?;
                let mut out = crate::bufpool::image(w, h);
                unsharp_cpu(src, &blurred, &mut out, self.params)?;
                crate::bufpool::recycle(blurred.into_raw());
                frame.pixels.set_image(out);
            }
        }
        Ok(frame)
    }
}
