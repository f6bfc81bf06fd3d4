//! The GPU twin of doppel's super-resolution net: the same layers as the ONNX graph, as WGSL compute
//! kernels (`shaders/superres_conv.wgsl`) with the weights read from the ONNX file ([`FastNet`]).
//!
//! Per frame, one submission: conv1 (reading the RGBA8 upload directly), conv2, conv3, and a head
//! that computes conv4 and the skip conv together, adds them, pixel-shuffles and rounds to RGBA8;
//! each layer in one dispatch; then one copy to the readback buffer. Each
//! invocation (one low-resolution pixel) keeps its slice of output channels in registers; the
//! kernels are generated straight-line code with the weights as literals ([`super::kernel`]). All
//! arithmetic is f32 as in ONNX Runtime; only the summation order differs, so outputs agree with the
//! ONNX backend within 1/255 (a value within ~1e-5 of a rounding boundary may round the other way).
//! Each layer slice is a [`Kernel`] of its own (its generated source, the shared bindings); kernels and
//! weights live as long as the net; buffers and bind groups are kept per frame size.

use std::sync::Arc;
use std::time::{Duration, Instant};

use image::RgbaImage;

use super::kernel::{conv_source, head_source, TILE};
use super::net::FastNet;
use crate::error::{Error, Result};
use crate::gpu::kernel::{self as gpu_kernel, Entry, Kernel, KernelDesc};
use crate::gpu::GpuContext;

/// vec4 accumulators per invocation in the body convs, and phase quads per invocation in the head
/// (three accumulators each); a layer with more is dispatched in slices. All 24 channels (x4 head:
/// all 48) in one invocation measured no slower at x2 and 1.2x faster at x4 on lavapipe than slices
/// of 12 (per-layer profiles on the loaded machine varied 1.2-1.7x): the accumulators then exceed
/// the vector registers, but spilling them costs about as much as reading every input again per
/// slice (`benches/superres.rs` prints the per-layer times).
const CONV_GROUPS: usize = 6;
const HEAD_QUADS: usize = 4;

/// One dispatch of a frame: layer `layer`'s kernel over this size's buffers.
struct Step {
    layer: usize,
    bind_group: wgpu::BindGroup,
}

/// Buffers and bind groups for one low-resolution size.
struct Targets {
    width: u32,
    height: u32,
    pixels_in: wgpu::Buffer,
    pixels_out: wgpu::Buffer,
    readback: wgpu::Buffer,
    steps: Vec<Step>,
}

/// A slice of a body conv or of the head.
struct Layer {
    name: &'static str,
    /// 0..3: conv1..conv3, the head.
    index: usize,
    kernel: Kernel,
}

/// Every layer's bindings: its size, the input pixels (RGBA8 packed in u32), the features it reads
/// and writes, the output pixels.
const BINDINGS: [(u32, wgpu::BindingType); 5] = [
    (0, gpu_kernel::uniform(0)),
    (1, gpu_kernel::storage(true)),
    (2, gpu_kernel::storage(true)),
    (3, gpu_kernel::storage(false)),
    (4, gpu_kernel::storage(false)),
];

/// The net on the GPU. Build once per stream.
pub struct GpuSuperRes {
    ctx: Arc<GpuContext>,
    net: FastNet,
    /// Slices of conv1, conv2, conv3 and the head (conv4 + skip), in dispatch order.
    layers: Vec<Layer>,
    /// Buffers for the last few sizes, most recent last: tiled frames alternate between a few tile
    /// sizes, which must not reallocate every tile.
    targets: Vec<Targets>,
}

/// Sizes whose buffers are kept.
const KEPT_SIZES: usize = 4;

/// Why `net` does not fit the shader's fixed budgets, if it does not.
fn check_fits(net: &FastNet) -> std::result::Result<(), String> {
    for (name, conv) in ["conv1", "conv2", "conv3", "conv4", "skip"]
        .iter()
        .zip(net.body.iter().chain([&net.skip]))
    {
        if conv.cout % 4 != 0 {
            return Err(format!(
                "{name} has {} outputs; the kernels need a multiple of 4",
                conv.cout
            ));
        }
    }
    let phases = (net.scale * net.scale) as usize;
    if phases % 4 != 0 {
        return Err(format!(
            "x{} has {phases} pixel-shuffle phases; the head needs a multiple of 4",
            net.scale
        ));
    }
    Ok(())
}

impl GpuSuperRes {
    /// Builds the kernels for `net` (weights included) on `ctx`'s device.
    ///
    /// # Errors
    /// [`Error::Gpu`] when the net does not fit the kernels (output channels a multiple of 4, an
    /// even scale) or the device rejects a shader or buffer.
    pub fn new(ctx: Arc<GpuContext>, net: FastNet) -> Result<Self> {
        check_fits(&net).map_err(|e| Error::Gpu(format!("superres GPU kernels: {e}")))?;
        let kernel = |name: &str, source: String| {
            Kernel::new(
                &ctx,
                &KernelDesc {
                    label: name,
                    shader: &source,
                    entries: &[Entry {
                        name: "main",
                        bindings: &BINDINGS,
                    }],
                    constants: &[],
                },
            )
        };
        let mut layers = Vec::new();
        for (i, name) in ["conv1", "conv2", "conv3"].into_iter().enumerate() {
            let conv = &net.body[i];
            for start in (0..conv.cout / 4).step_by(CONV_GROUPS) {
                let groups = start..(start + CONV_GROUPS).min(conv.cout / 4);
                layers.push(Layer {
                    name,
                    index: i,
                    kernel: kernel(name, conv_source(conv, i == 0, true, groups))?,
                });
            }
        }
        let last = &net.body[3];
        let quads = (net.scale * net.scale / 4) as usize;
        for start in (0..quads).step_by(HEAD_QUADS) {
            let slice = start..(start + HEAD_QUADS).min(quads);
            layers.push(Layer {
                name: "conv4+skip+shuffle",
                index: 3,
                kernel: kernel(
                    "superres head",
                    head_source(last, &net.skip, net.scale, slice),
                )?,
            });
        }
        Ok(Self {
            ctx,
            net,
            layers,
            targets: Vec::new(),
        })
    }

    pub fn net(&self) -> &FastNet {
        &self.net
    }

    /// The largest number of low-resolution pixels one run may take on this device: the widest
    /// feature map and the output must fit one storage buffer binding. Larger frames are tiled by
    /// the caller.
    pub fn max_pixels(&self) -> u64 {
        let limits = self.ctx.device.limits();
        let binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        let widest = self
            .net
            .body
            .iter()
            .map(|c| c.cout.max(c.cin))
            .max()
            .unwrap_or(3) as u64;
        let out_pixels = u64::from(self.net.scale * self.net.scale);
        binding / (4 * widest.max(out_pixels))
    }

    /// Upscales `src` by the net's scale.
    ///
    /// # Errors
    /// [`Error::Gpu`] when the frame is larger than [`GpuSuperRes::max_pixels`] or the device
    /// fails.
    pub fn run(&mut self, src: &RgbaImage) -> Result<RgbaImage> {
        self.prepare(src)?;
        let Some(t) = self.targets.last() else {
            return Err(Error::Gpu("superres buffers missing".to_string()));
        };
        let ctx = &self.ctx;
        let (w, h) = src.dimensions();
        let submission = ctx.checked("running the superres kernels", || {
            ctx.queue.write_buffer(&t.pixels_in, 0, src.as_raw());
            let mut encoder = ctx
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("superres"),
                });
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("superres"),
                    timestamp_writes: None,
                });
                for step in &t.steps {
                    self.record(&mut pass, step, w, h);
                }
            }
            encoder.copy_buffer_to_buffer(&t.pixels_out, 0, &t.readback, 0, t.readback.size());
            ctx.queue.submit([encoder.finish()])
        })?;
        self.read_out(submission)
    }

    /// As [`GpuSuperRes::run`], but submits and waits for each layer on its own, and returns how
    /// long each took (wall clock, including the wait), the upload first and the readback last. For
    /// finding where the time goes; [`GpuSuperRes::run`] is faster (one submission).
    ///
    /// # Errors
    /// As [`GpuSuperRes::run`].
    pub fn profile(
        &mut self,
        src: &RgbaImage,
    ) -> Result<(RgbaImage, Vec<(&'static str, Duration)>)> {
        self.prepare(src)?;
        let Some(t) = self.targets.last() else {
            return Err(Error::Gpu("superres buffers missing".to_string()));
        };
        let ctx = &self.ctx;
        let (w, h) = src.dimensions();
        let wait = |submission| {
            ctx.device
                .poll(wgpu::PollType::Wait {
                    submission_index: Some(submission),
                    timeout: None,
                })
                .map_err(|e| Error::Gpu(format!("waiting for the GPU: {e}")))
        };
        let mut times = Vec::new();
        let start = Instant::now();
        ctx.queue.write_buffer(&t.pixels_in, 0, src.as_raw());
        wait(ctx.queue.submit([]))?;
        times.push(("upload", start.elapsed()));
        for step in &t.steps {
            let name = self.layers.get(step.layer).map_or("?", |l| l.name);
            let start = Instant::now();
            let submission = ctx.checked("running a superres kernel", || {
                let mut encoder = ctx.device.create_command_encoder(&Default::default());
                {
                    let mut pass = encoder.begin_compute_pass(&Default::default());
                    self.record(&mut pass, step, w, h);
                }
                ctx.queue.submit([encoder.finish()])
            })?;
            wait(submission)?;
            times.push((name, start.elapsed()));
        }
        let start = Instant::now();
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(&t.pixels_out, 0, &t.readback, 0, t.readback.size());
        let submission = ctx.queue.submit([encoder.finish()]);
        let out = self.read_out(submission)?;
        times.push(("readback", start.elapsed()));
        Ok((out, times))
    }

    /// Records `step` for a `width` x `height` frame into `pass`.
    fn record(&self, pass: &mut wgpu::ComputePass<'_>, step: &Step, width: u32, height: u32) {
        if let Some(layer) = self.layers.get(step.layer) {
            let groups = gpu_kernel::groups_2d(width, height, TILE);
            layer.kernel.dispatch(pass, 0, &step.bind_group, groups);
        }
    }

    /// Makes the buffers for `src`'s size the most recent [`Targets`], creating them if needed.
    fn prepare(&mut self, src: &RgbaImage) -> Result<()> {
        let (w, h) = src.dimensions();
        let pixels = u64::from(w) * u64::from(h);
        if pixels == 0 || pixels > self.max_pixels() {
            return Err(Error::Gpu(format!(
                "superres: a {w}x{h} frame does not fit this device in one run (at most {} pixels); \
                 tile it",
                self.max_pixels()
            )));
        }
        match self
            .targets
            .iter()
            .position(|t| (t.width, t.height) == (w, h))
        {
            Some(i) => {
                let t = self.targets.remove(i);
                self.targets.push(t);
            }
            None => {
                if self.targets.len() >= KEPT_SIZES {
                    self.targets.remove(0);
                }
                let t = self
                    .ctx
                    .checked("allocating superres buffers", || self.create_targets(w, h))?;
                self.targets.push(t);
            }
        }
        Ok(())
    }

    /// Waits for `submission` and reads the most recent target's output pixels.
    fn read_out(&self, submission: wgpu::SubmissionIndex) -> Result<RgbaImage> {
        let Some(t) = self.targets.last() else {
            return Err(Error::Gpu("superres buffers missing".to_string()));
        };
        let s = self.net.scale;
        let mut out = crate::bufpool::image(t.width * s, t.height * s);
        crate::gpu::read_buffer(
            &self.ctx,
            &t.readback,
            submission,
            "superres readback",
            |mapped| {
                let len = out.len();
                out.copy_from_slice(&mapped[..len]);
            },
        )?;
        Ok(out)
    }

    fn create_targets(&self, width: u32, height: u32) -> Targets {
        use wgpu::BufferUsages as U;
        let device = &self.ctx.device;
        let s = self.net.scale;
        let plane = u64::from(width) * u64::from(height);
        let buffer = |label, size: u64, usage| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: size.max(16),
                usage,
                mapped_at_creation: false,
            })
        };
        let channels = self.net.body[0].cout as u64;
        let pixels_in = buffer("superres pixels in", 4 * plane, U::STORAGE | U::COPY_DST);
        let feat_a = buffer("superres features a", 4 * channels * plane, U::STORAGE);
        let feat_b = buffer("superres features b", 4 * channels * plane, U::STORAGE);
        let out_len = 4 * plane * u64::from(s * s);
        let pixels_out = buffer("superres pixels out", out_len, U::STORAGE | U::COPY_SRC);
        let readback = buffer("superres readback", out_len, U::COPY_DST | U::MAP_READ);
        let params = buffer("superres size", 16, U::UNIFORM | U::COPY_DST);
        self.ctx
            .queue
            .write_buffer(&params, 0, bytemuck::cast_slice(&[width, height, 0, 0]));
        // (source, destination) features per layer; conv1 reads the pixels, the head writes the
        // output pixels, so their unused feature bindings get the other buffer (a buffer may not be
        // bound read-only and writable in one dispatch).
        let features = [
            (&feat_b, &feat_a),
            (&feat_a, &feat_b),
            (&feat_b, &feat_a),
            (&feat_a, &feat_b),
        ];
        let steps = self
            .layers
            .iter()
            .enumerate()
            .map(|(at, layer)| {
                let (from, to) = features[layer.index];
                Step {
                    layer: at,
                    bind_group: layer.kernel.bind(
                        0,
                        &[
                            (0, params.as_entire_binding()),
                            (1, pixels_in.as_entire_binding()),
                            (2, from.as_entire_binding()),
                            (3, to.as_entire_binding()),
                            (4, pixels_out.as_entire_binding()),
                        ],
                    ),
                }
            })
            .collect();
        Targets {
            width,
            height,
            pixels_in,
            pixels_out,
            readback,
            steps,
        }
    }
}
