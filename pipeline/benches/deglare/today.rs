//! The night stages' paths as they were when issue 18 was filed (commit 37d4576), for the speed
//! figure the issue asks for ("not slower than today by more than 20%"), measured in the same run
//! as the stages of now. Copied from that commit with the crate paths adapted; not used by the
//! stages.
//! - `lowlight`: the Zero-DCE curve maps estimated on a 160 px copy, applied at full size with the
//!   default strength of then, 0.7 (GPU: `today_lowlight.wgsl`; CPU: `apply_curves_cpu`, which is
//!   unchanged since).
//! - `deglare:backend=onnx`: the model at 320 px, its layer times the glare mask, subtracted in
//!   sRGB at full size.

use std::path::Path;
use std::sync::Arc;

use doppel_pipeline::enhance::deglare::{linear_threshold, Psf, MASK_GAIN, MASK_THRESHOLD};
use doppel_pipeline::enhance::lowlight::{
    apply_curves_cpu, check_curves, CurveModel, Curves, STEPS,
};
use doppel_pipeline::enhance::{bilinear_taps, srgb_to_linear, unit_to_byte, working_size};
use doppel_pipeline::gpu::image::{same_size, FRAME_FORMAT};
use doppel_pipeline::gpu::kernel::{
    into_new_frame, storage, storage_texture, texture, through_gpu, uniform, view, BySize, Entry,
    HostBuffer, Kernel, KernelDesc,
};
use doppel_pipeline::gpu::{GpuContext, GpuImage};
use doppel_pipeline::imageops::{resize_rgba, Filter};
use doppel_pipeline::infer::{
    rgba_to_tensor, Layout, Model, SessionConfig, TensorView, ValueRange,
};
use doppel_pipeline::Result;
use fast_image_resize::Resizer;
use image::RgbaImage;

/// The lowlight stage of then.
pub struct TodayLowlight {
    model: CurveModel,
    gpu: Option<GpuCurves>,
}

impl TodayLowlight {
    pub fn new(
        model: &Path,
        session: &SessionConfig,
        gpu: Option<Arc<GpuContext>>,
    ) -> Result<Self> {
        Ok(Self {
            model: CurveModel::load(model, session, 160)?,
            gpu: gpu.map(GpuCurves::new).transpose()?,
        })
    }

    pub fn apply(&mut self, image: &RgbaImage) -> Result<RgbaImage> {
        let curves = self.model.estimate(image)?;
        let mut out = RgbaImage::new(image.width(), image.height());
        match &mut self.gpu {
            Some(gpu) => gpu.run(image, &mut out, &curves, 0.7)?,
            None => apply_curves_cpu(image, &mut out, &curves, 0.7)?,
        }
        Ok(out)
    }
}

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

fn interleave(curves: &Curves, out: &mut Vec<f32>) {
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

struct GpuCurves {
    kernel: Kernel,
    params: HostBuffer,
    curves: BySize<usize, HostBuffer>,
    interleaved: Vec<f32>,
}

impl GpuCurves {
    fn new(ctx: Arc<GpuContext>) -> Result<Self> {
        let kernel = Kernel::new(
            &ctx,
            &KernelDesc {
                label: "lowlight (today)",
                shader: include_str!("today_lowlight.wgsl"),
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

    fn encode(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        src: &GpuImage,
        dst: &GpuImage,
        curves: &Curves,
        strength: f32,
    ) -> Result<()> {
        same_size("lowlight output", src, dst)?;
        let (w, h) = src.size();
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
        let (cw, ch) = (curves.width, curves.height);
        let groups = (cw.div_ceil(WORKGROUP), ch.div_ceil(WORKGROUP), 1);
        self.kernel.dispatch(&mut pass, 0, &group, groups);
        Ok(())
    }

    fn apply(&mut self, src: &GpuImage, curves: &Curves, strength: f32) -> Result<GpuImage> {
        let ctx = self.kernel.context().clone();
        into_new_frame(
            &ctx,
            src.size(),
            "running the lowlight kernel",
            |encoder, dst| self.encode(encoder, src, dst, curves, strength),
        )
    }

    fn run(
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

/// `deglare:backend=onnx` of then.
pub struct TodayDeglareOnnx {
    model: Model,
    input: String,
    resizer: Resizer,
    tensor: Vec<f32>,
}

impl TodayDeglareOnnx {
    pub fn new(path: &Path, session: &SessionConfig) -> Result<Self> {
        let model = Model::load(path, session)?;
        let input = model.single_input(&[Some(1), Some(3), None, None], "a deglare model")?;
        Ok(Self {
            model,
            input,
            resizer: Resizer::new(),
            tensor: Vec::new(),
        })
    }

    pub fn apply(&mut self, image: &RgbaImage) -> Result<RgbaImage> {
        let (glare, gw, gh) = self.estimate(image)?;
        let mut out = RgbaImage::new(image.width(), image.height());
        apply_glare_layer(image, &mut out, &glare, gw, gh, 1.0);
        Ok(out)
    }

    fn estimate(&mut self, image: &RgbaImage) -> Result<(Vec<f32>, u32, u32)> {
        let (w, h) = image.dimensions();
        let (iw, ih) = working_size(w, h, 320, 8);
        let small = resize_rgba(&mut self.resizer, image, iw, ih, Filter::Bilinear)?;
        let mask = glare_mask(&small);
        if mask.iter().all(|&m| m == 0.0) {
            return Ok((vec![0.0; 3 * mask.len()], iw, ih));
        }
        let shape = [1, 3, ih as usize, iw as usize];
        self.tensor.resize(3 * (iw * ih) as usize, 0.0);
        rgba_to_tensor(&small, Layout::Nchw, ValueRange::Unit, &mut self.tensor)?;
        let outputs = self.model.run(&[TensorView {
            name: &self.input,
            shape: &shape,
            data: &self.tensor,
        }])?;
        let mut out = outputs
            .into_iter()
            .find(|t| t.shape == shape)
            .ok_or_else(|| doppel_pipeline::Error::Spec("deglare: no output".into()))?;
        for plane in out.data.chunks_exact_mut(mask.len()) {
            for (g, m) in plane.iter_mut().zip(&mask) {
                *g *= m;
            }
        }
        Ok((out.data, iw, ih))
    }
}

fn glare_mask(image: &RgbaImage) -> Vec<f32> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let t = linear_threshold(MASK_THRESHOLD);
    let lut: Vec<f32> = (0..=255u8)
        .map(|b| srgb_to_linear(f32::from(b) / 255.0))
        .collect();
    let lights: Vec<f32> = image
        .pixels()
        .map(|p| {
            let m = lut[p[0] as usize]
                .max(lut[p[1] as usize])
                .max(lut[p[2] as usize]);
            ((m - t) / (1.0 - t)).clamp(0.0, 1.0)
        })
        .collect();
    if w == 0 || h == 0 || lights.iter().all(|&v| v == 0.0) {
        return vec![0.0; w * h];
    }
    let (psf, _) = Psf {
        narrow_sigma: 2.0,
        wide_sigma: 12.0,
        narrow_weight: 0.5,
    }
    .taps();
    let r = (psf.len() / 2) as i64;
    let mut along_x = vec![0.0f32; w * h];
    for y in 0..h {
        let row = &lights[y * w..(y + 1) * w];
        for x in 0..w {
            along_x[y * w + x] = psf
                .iter()
                .enumerate()
                .map(|(k, &wt)| wt * row[(x as i64 + k as i64 - r).clamp(0, w as i64 - 1) as usize])
                .sum();
        }
    }
    let mut mask = vec![0.0f32; w * h];
    for y in 0..h {
        for x in 0..w {
            let p: f32 = psf
                .iter()
                .enumerate()
                .map(|(k, &wt)| {
                    wt * along_x[(y as i64 + k as i64 - r).clamp(0, h as i64 - 1) as usize * w + x]
                })
                .sum();
            mask[y * w + x] = (MASK_GAIN * p).min(1.0);
        }
    }
    let n = w * h;
    for i in 0..n / 2 {
        let m = mask[i].max(mask[n - 1 - i]);
        mask[i] = m;
        mask[n - 1 - i] = m;
    }
    mask
}

fn apply_glare_layer(
    src: &RgbaImage,
    dst: &mut RgbaImage,
    glare: &[f32],
    gw: u32,
    gh: u32,
    strength: f32,
) {
    let plane = (gw * gh) as usize;
    let (w, h) = src.dimensions();
    let px = src.as_raw();
    let out: &mut [u8] = dst;
    let gwu = gw as usize;
    for y in 0..h {
        let (y0, y1, fy) = bilinear_taps(y, h, gh);
        for x in 0..w {
            let (x0, x1, fx) = bilinear_taps(x, w, gw);
            let i = 4 * (y as usize * w as usize + x as usize);
            for k in 0..3 {
                let p = &glare[k * plane..(k + 1) * plane];
                let top = p[y0 * gwu + x0] + (p[y0 * gwu + x1] - p[y0 * gwu + x0]) * fx;
                let bottom = p[y1 * gwu + x0] + (p[y1 * gwu + x1] - p[y1 * gwu + x0]) * fx;
                let g = (top + (bottom - top) * fy).max(0.0);
                out[i + k] = unit_to_byte(f32::from(px[i + k]) / 255.0 - strength * g);
            }
            out[i + 3] = px[i + 3];
        }
    }
}
