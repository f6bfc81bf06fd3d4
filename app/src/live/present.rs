//! Draws what the live window shows: the newest frame letterboxed into the target, with the
//! on-screen display over the top-left corner (`shaders/present.wgsl`). Long-lived: it owns its
//! pipeline, sampler and textures; per frame only the pixels and 32 bytes of uniforms move.
//!
//! Fast path: a frame of the target's size is written straight into the target
//! ([`Presenter::write_direct`], the surface texture of the window) and only the display's box is
//! drawn ([`Presenter::encode_osd`]). A software rasteriser (lavapipe) would otherwise shade every
//! pixel of the window once more per frame.
//!
//! The frame can be shown mirrored (a selfie preview, key M in the window): the shader flips its
//! sampling, the fast path writes each row's texels in reverse; the display is never mirrored.
//!
//! [`compose_cpu`] is the CPU reference of the shader (nearest sampling: it matches the shader
//! exactly when the frame is shown at its own size, the case the tests check).

use std::sync::Arc;

use anyhow::{anyhow, Context};
use doppel_pipeline::gpu::{color_pass, extent, render, GpuContext, GpuImage, Readback, Upload};
use image::{Rgba, RgbaImage};

pub const SHADER: &str = doppel_shaders::PRESENT;

/// Where things go in the target, in pixels: `[x0, y0, x1, y1]`, x1/y1 exclusive.
pub type Rect = [u32; 4];

/// The largest rectangle of the frame's aspect that fits the target, centred (whole pixels).
pub fn letterbox(frame: (u32, u32), target: (u32, u32)) -> Rect {
    let (fw, fh) = (u64::from(frame.0.max(1)), u64::from(frame.1.max(1)));
    let (tw, th) = (u64::from(target.0), u64::from(target.1));
    // Width-limited unless that makes it too tall.
    let (w, h) = if tw * fh <= th * fw {
        (tw, (tw * fh + fw / 2) / fw)
    } else {
        ((th * fw + fh / 2) / fh, th)
    };
    let x0 = (tw - w) / 2;
    let y0 = (th - h) / 2;
    [x0 as u32, y0 as u32, (x0 + w) as u32, (y0 + h) as u32]
}

/// Where the display goes: a margin from the top-left corner, clipped to the target.
pub fn osd_rect(osd: (u32, u32), target: (u32, u32)) -> Rect {
    let margin = 8.min(target.0 / 16).min(target.1 / 16);
    [
        margin,
        margin,
        (margin + osd.0).min(target.0),
        (margin + osd.1).min(target.1),
    ]
}

#[cfg(test)]
fn inside(x: u32, y: u32, r: &Rect) -> bool {
    x >= r[0] && y >= r[1] && x < r[2] && y < r[3]
}

/// The CPU reference of `present.wgsl` with nearest sampling: what a `width` x `height` target shows.
/// Used by the tests (the window draws with the shader).
#[cfg(test)]
pub fn compose_cpu(
    frame: &RgbaImage,
    osd: Option<&RgbaImage>,
    width: u32,
    height: u32,
    mirror: bool,
) -> RgbaImage {
    let fr = letterbox(frame.dimensions(), (width, height));
    let or = osd.map(|o| osd_rect(o.dimensions(), (width, height)));
    RgbaImage::from_fn(width, height, |x, y| {
        if let (Some(o), Some(r)) = (osd, or.as_ref()) {
            if inside(x, y, r) {
                let p = o.get_pixel(x - r[0], y - r[1]);
                if p[3] > 127 {
                    return Rgba([p[0], p[1], p[2], 255]);
                }
            }
        }
        if inside(x, y, &fr) {
            // The pixel centre mapped into the frame, as the shader's uv does.
            let mut u = (f64::from(x - fr[0]) + 0.5) / f64::from(fr[2] - fr[0]);
            if mirror {
                u = 1.0 - u;
            }
            let v = (f64::from(y - fr[1]) + 0.5) / f64::from(fr[3] - fr[1]);
            let fx = ((u * f64::from(frame.width())) as u32).min(frame.width() - 1);
            let fy = ((v * f64::from(frame.height())) as u32).min(frame.height() - 1);
            let p = frame.get_pixel(fx, fy);
            return Rgba([p[0], p[1], p[2], 255]);
        }
        Rgba([0, 0, 0, 255])
    })
}

/// The texture format for 8-bit RGBA pixels shown on a target of `target` format: sRGB views on
/// sRGB targets, so the stored bytes come out unchanged.
fn texture_format(target: wgpu::TextureFormat) -> wgpu::TextureFormat {
    if target.is_srgb() {
        wgpu::TextureFormat::Rgba8UnormSrgb
    } else {
        wgpu::TextureFormat::Rgba8Unorm
    }
}

/// Whether `format` stores blue first (its readback needs a swap to RGBA).
pub fn is_bgra(format: wgpu::TextureFormat) -> bool {
    matches!(
        format,
        wgpu::TextureFormat::Bgra8Unorm | wgpu::TextureFormat::Bgra8UnormSrgb
    )
}

struct Sized {
    texture: wgpu::Texture,
    size: (u32, u32),
}

/// The presenter.
pub struct Presenter {
    ctx: Arc<GpuContext>,
    target: wgpu::TextureFormat,
    pipeline: wgpu::RenderPipeline,
    /// `fs_osd`: the display alone, for the fast path.
    osd_pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
    params: wgpu::Buffer,
    frame: Option<Sized>,
    /// A frame on the GPU to draw instead of `frame`: a view of its texture in the format that
    /// keeps its bytes on this target, and its size.
    frame_gpu: Option<(wgpu::TextureView, (u32, u32))>,
    osd: Option<Sized>,
    /// A 1x1 black texture bound before the first frame.
    no_frame: wgpu::Texture,
    /// A 1x1 transparent texture bound while the display is hidden.
    no_osd: wgpu::Texture,
    bind_group: Option<wgpu::BindGroup>,
    /// The frame in the target's channel order, for targets that store blue first.
    /// The fast path's upload buffer (the last frame size).
    upload: Option<Upload>,
    /// Show the frame mirrored left to right.
    mirror: bool,
}

impl Presenter {
    /// A presenter drawing into targets of `target` format (8-bit RGBA or BGRA, sRGB or not).
    pub fn new(ctx: Arc<GpuContext>, target: wgpu::TextureFormat) -> anyhow::Result<Self> {
        let device = &ctx.device;
        let module = render::module(device, "present.wgsl", SHADER);
        let layout = render::layout(
            device,
            "present",
            &[
                render::texture_entry(0),
                render::sampler_entry(1),
                render::texture_entry(2),
                render::uniform_entry(3, wgpu::ShaderStages::FRAGMENT),
            ],
        );
        let pipeline_layout = render::pipeline_layout(device, "present", &[&layout]);
        let make_pipeline = |fs: &str| {
            render::pipeline(
                device,
                &pipeline_layout,
                &render::RenderDesc {
                    label: "present",
                    module: &module,
                    vs: "vs_main",
                    fs,
                    buffers: &[],
                    target,
                    blend: None,
                    cull: None,
                    depth: None,
                },
            )
        };
        let (pipeline, osd_pipeline) = ctx.checked("present pipeline", || {
            (make_pipeline("fs_main"), make_pipeline("fs_osd"))
        })?;
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("present frame"),
            address_mode_u: wgpu::AddressMode::ClampToEdge,
            address_mode_v: wgpu::AddressMode::ClampToEdge,
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            ..Default::default()
        });
        let params = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("present params"),
            size: 48,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let make = |label, w, h| {
            ctx.create_texture(
                label,
                w,
                h,
                texture_format(target),
                wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            )
        };
        let no_osd = make("present no osd", 1, 1);
        let no_frame = make("present no frame", 1, 1);
        ctx.upload_rgba(&no_osd, &RgbaImage::new(1, 1))?;
        ctx.upload_rgba(
            &no_frame,
            &RgbaImage::from_pixel(1, 1, Rgba([0, 0, 0, 255])),
        )?;
        Ok(Self {
            target,
            pipeline,
            osd_pipeline,
            layout,
            sampler,
            params,
            frame: None,
            frame_gpu: None,
            osd: None,
            no_frame,
            no_osd,
            bind_group: None,
            upload: None,
            mirror: false,
            ctx,
        })
    }

    pub fn ctx(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    /// The size of the frame shown; `None` before the first.
    pub fn frame_size(&self) -> Option<(u32, u32)> {
        match &self.frame_gpu {
            Some((_, size)) => Some(*size),
            None => self.frame.as_ref().map(|f| f.size),
        }
    }

    /// Shows a frame that is on the GPU (this presenter's device): drawn from its texture.
    pub fn set_frame_gpu(&mut self, image: &GpuImage) {
        let view = image.view_as(texture_format(self.target));
        self.frame_gpu = Some((view, image.size()));
        self.bind_group = None;
    }

    /// Replaces `slot` with a texture of `image`'s size (reused while the size stays) and uploads it.
    fn upload(
        ctx: &GpuContext,
        target: wgpu::TextureFormat,
        slot: &mut Option<Sized>,
        image: &RgbaImage,
        label: &str,
    ) -> anyhow::Result<bool> {
        let size = image.dimensions();
        let fresh = slot.as_ref().is_none_or(|s| s.size != size);
        if fresh {
            ctx.check_size(size.0, size.1)?;
            *slot = Some(Sized {
                texture: ctx.create_texture(
                    label,
                    size.0,
                    size.1,
                    texture_format(target),
                    wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
                ),
                size,
            });
        }
        let texture = &slot.as_ref().ok_or_else(|| anyhow!("no texture"))?.texture;
        ctx.upload_rgba(texture, image)?;
        Ok(fresh)
    }

    /// Uploads the frame to show.
    pub fn set_frame(&mut self, image: &RgbaImage) -> anyhow::Result<()> {
        if self.frame_gpu.take().is_some() {
            self.bind_group = None;
        }
        if Self::upload(
            &self.ctx,
            self.target,
            &mut self.frame,
            image,
            "present frame",
        )? {
            self.bind_group = None;
        }
        Ok(())
    }

    /// Uploads the display (`None` hides it).
    pub fn set_osd(&mut self, image: Option<&RgbaImage>) -> anyhow::Result<()> {
        match image {
            None => {
                if self.osd.take().is_some() {
                    self.bind_group = None;
                }
            }
            Some(image) => {
                if Self::upload(&self.ctx, self.target, &mut self.osd, image, "present osd")? {
                    self.bind_group = None;
                }
            }
        }
        Ok(())
    }

    fn bind_group(&mut self) -> wgpu::BindGroup {
        if let Some(bg) = &self.bind_group {
            return bg.clone();
        }
        let frame_view = match &self.frame_gpu {
            Some((view, _)) => view.clone(),
            None => self
                .frame
                .as_ref()
                .map_or(&self.no_frame, |s| &s.texture)
                .create_view(&Default::default()),
        };
        let osd_view = self
            .osd
            .as_ref()
            .map_or(&self.no_osd, |s| &s.texture)
            .create_view(&Default::default());
        let bg = self
            .ctx
            .device
            .create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("present"),
                layout: &self.layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: wgpu::BindingResource::TextureView(&frame_view),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: wgpu::BindingResource::Sampler(&self.sampler),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: wgpu::BindingResource::TextureView(&osd_view),
                    },
                    wgpu::BindGroupEntry {
                        binding: 3,
                        resource: self.params.as_entire_binding(),
                    },
                ],
            });
        self.bind_group = Some(bg.clone());
        bg
    }

    /// Shows the frame mirrored left to right (or not) from the next draw on.
    pub fn set_mirror(&mut self, mirror: bool) {
        self.mirror = mirror;
    }

    /// Whether a `frame`-sized picture can take the fast path into a `target`-sized texture of
    /// `usage`: same size, and the texture accepts copies.
    pub fn can_write_direct(
        frame: (u32, u32),
        target: (u32, u32),
        usage: wgpu::TextureUsages,
    ) -> bool {
        frame == target && usage.contains(wgpu::TextureUsages::COPY_DST)
    }

    /// The fast path, part 1: records into `encoder` the copy of `image` into `texture` (the
    /// presenter's format, the image's size, `COPY_DST`), blue and red swapped for BGRA targets
    /// as the rows are written into the upload buffer.
    ///
    /// # Errors
    /// When the sizes differ or the upload buffer cannot be mapped.
    pub fn write_direct(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        texture: &wgpu::Texture,
        image: &RgbaImage,
    ) -> anyhow::Result<()> {
        let (w, h) = image.dimensions();
        if (texture.width(), texture.height()) != (w, h) {
            return Err(anyhow!(
                "a {w}x{h} frame cannot be written into a {}x{} window texture",
                texture.width(),
                texture.height()
            ));
        }
        let upload = Upload::sized(&mut self.upload, &self.ctx, w, h);
        let bgra = is_bgra(texture.format());
        let mirror = self.mirror;
        let row = 4 * w as usize;
        let src = image.as_raw();
        upload.write(&self.ctx, |y, dst| {
            let line = &src[y * row..(y + 1) * row];
            // Whole texels (forms the compiler vectorises): red and blue swapped for BGRA targets,
            // the row's order reversed for a mirrored preview.
            let swap = |s: &[u8]| {
                let x = u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
                let x = if bgra {
                    (x & 0xFF00_FF00) | ((x & 0xFF) << 16) | ((x >> 16) & 0xFF)
                } else {
                    x
                };
                x.to_le_bytes()
            };
            let texels = dst.chunks_exact_mut(4);
            match (mirror, bgra) {
                (false, false) => dst.copy_from_slice(line),
                (false, true) => {
                    for (d, s) in texels.zip(line.chunks_exact(4)) {
                        d.copy_from_slice(&swap(s));
                    }
                }
                (true, _) => {
                    for (d, s) in texels.zip(line.chunks_exact(4).rev()) {
                        d.copy_from_slice(&swap(s));
                    }
                }
            }
        })?;
        upload.encode_copy(encoder, texture);
        Ok(())
    }

    /// The fast path, part 2: records the display alone into `view` (a `width` x `height` target
    /// that already holds the frame), scissored to its box; nothing when it is hidden.
    pub fn encode_osd(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        view: &wgpu::TextureView,
        width: u32,
        height: u32,
    ) {
        let Some(size) = self.osd.as_ref().map(|o| o.size) else {
            return;
        };
        let or = osd_rect(size, (width, height));
        if or[2] <= or[0] || or[3] <= or[1] {
            return;
        }
        self.write_params([0; 4], or);
        let bind_group = self.bind_group();
        let mut pass = color_pass(encoder, "present osd", view, wgpu::LoadOp::Load, None);
        pass.set_pipeline(&self.osd_pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.set_scissor_rect(or[0], or[1], or[2] - or[0], or[3] - or[1]);
        pass.draw(0..3, 0..1);
    }

    fn write_params(&self, fr: Rect, or: Rect) {
        let mirror = if self.mirror { 1.0 } else { 0.0 };
        let params: [f32; 12] = [
            fr[0] as f32,
            fr[1] as f32,
            fr[2] as f32,
            fr[3] as f32,
            or[0] as f32,
            or[1] as f32,
            or[2] as f32,
            or[3] as f32,
            mirror,
            0.0,
            0.0,
            0.0,
        ];
        self.ctx
            .queue
            .write_buffer(&self.params, 0, bytemuck::cast_slice(&params));
    }

    /// Records drawing into `view`, a `width` x `height` target of the presenter's format.
    pub fn encode(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        view: &wgpu::TextureView,
        width: u32,
        height: u32,
    ) {
        let fr = letterbox(self.frame_size().unwrap_or((1, 1)), (width, height));
        let or = self
            .osd
            .as_ref()
            .map_or([0; 4], |o| osd_rect(o.size, (width, height)));
        self.write_params(fr, or);
        let bind_group = self.bind_group();
        let mut pass = color_pass(
            encoder,
            "present",
            view,
            wgpu::LoadOp::Clear(wgpu::Color::BLACK),
            None,
        );
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.draw(0..3, 0..1);
    }

    /// Reads `texture` (the presenter's format, `COPY_SRC`) back as RGBA after `encoder`'s work.
    pub fn read_back(
        &self,
        mut encoder: wgpu::CommandEncoder,
        texture: &wgpu::Texture,
    ) -> anyhow::Result<RgbaImage> {
        let (w, h) = (texture.width(), texture.height());
        let readback = Readback::new(&self.ctx, w, h);
        readback.encode_copy(&mut encoder, texture);
        let submission = self.ctx.queue.submit([encoder.finish()]);
        let mut image = RgbaImage::new(w, h);
        readback.read_into(&self.ctx, submission, &mut image)?;
        if is_bgra(texture.format()) {
            for p in image.pixels_mut() {
                p.0.swap(0, 2);
            }
        }
        Ok(image)
    }

    /// Draws into a fresh `width` x `height` texture and reads it back: what a window of that size
    /// would show.
    pub fn render_offscreen(&mut self, width: u32, height: u32) -> anyhow::Result<RgbaImage> {
        let texture = self.ctx.device.create_texture(&wgpu::TextureDescriptor {
            label: Some("present offscreen"),
            size: extent(width, height),
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: self.target,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let view = texture.create_view(&Default::default());
        let mut encoder = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("present offscreen"),
            });
        self.encode(&mut encoder, &view, width, height);
        self.read_back(encoder, &texture)
            .context("reading the presented picture back")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::osd::{render, Line};

    #[test]
    fn letterbox_keeps_the_aspect() {
        assert_eq!(letterbox((640, 360), (640, 360)), [0, 0, 640, 360]);
        assert_eq!(letterbox((320, 180), (320, 240)), [0, 30, 320, 210]);
        assert_eq!(letterbox((100, 100), (300, 200)), [50, 0, 250, 200]);
        assert_eq!(letterbox((1280, 720), (640, 360)), [0, 0, 640, 360]);
    }

    fn pattern(w: u32, h: u32) -> RgbaImage {
        RgbaImage::from_fn(w, h, |x, y| {
            Rgba([
                (x * 7 % 256) as u8,
                (y * 13 % 256) as u8,
                ((x ^ y) % 256) as u8,
                255,
            ])
        })
    }

    /// The shader against its CPU reference on the real wgpu device (lavapipe on CPUs): exact at
    /// 1:1 (the frame at its own size, letterbox bars, the display box), for both sRGB and plain
    /// targets and both channel orders.
    #[test]
    fn shader_matches_the_cpu_reference() {
        let ctx = GpuContext::shared().expect("a wgpu device (lavapipe on CPUs)");
        let frame = pattern(96, 54);
        let osd = render(
            &[Line::plain("30.0 FPS"), Line::warn("SOURCE ENDED")],
            1,
            90,
        );
        for format in [
            wgpu::TextureFormat::Rgba8UnormSrgb,
            wgpu::TextureFormat::Bgra8UnormSrgb,
            wgpu::TextureFormat::Rgba8Unorm,
        ] {
            let mut p = Presenter::new(ctx.clone(), format).unwrap();
            p.set_frame(&frame).unwrap();
            p.set_osd(osd.as_ref()).unwrap();
            for mirror in [false, true] {
                p.set_mirror(mirror);
                for (w, h) in [(96, 54), (96, 80)] {
                    let gpu = p.render_offscreen(w, h).unwrap();
                    let cpu = compose_cpu(&frame, osd.as_ref(), w, h, mirror);
                    let worst = gpu
                        .pixels()
                        .zip(cpu.pixels())
                        .flat_map(|(a, b)| (0..4).map(move |c| a[c].abs_diff(b[c])))
                        .max()
                        .unwrap_or(0);
                    assert!(
                        worst <= 1,
                        "{format:?} {w}x{h} mirror {mirror}: max difference {worst}"
                    );
                }
            }
            p.set_mirror(false);
            // The fast path (frame written into the target, display drawn over its box) gives
            // the same picture.
            let ctx = p.ctx().clone();
            let (w, h) = frame.dimensions();
            let usage = wgpu::TextureUsages::RENDER_ATTACHMENT
                | wgpu::TextureUsages::COPY_SRC
                | wgpu::TextureUsages::COPY_DST;
            assert!(Presenter::can_write_direct((w, h), (w, h), usage));
            assert!(!Presenter::can_write_direct((w, h), (w, h + 1), usage));
            let texture = ctx.create_texture("direct", w, h, format, usage);
            let view = texture.create_view(&Default::default());
            for mirror in [false, true] {
                p.set_mirror(mirror);
                let mut encoder = ctx
                    .device
                    .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
                p.write_direct(&mut encoder, &texture, &frame).unwrap();
                p.encode_osd(&mut encoder, &view, w, h);
                let direct = p.read_back(encoder, &texture).unwrap();
                assert_eq!(
                    direct,
                    compose_cpu(&frame, osd.as_ref(), w, h, mirror),
                    "{format:?}: fast path, mirror {mirror}"
                );
            }
            p.set_mirror(false);
            // Hiding the display shows the frame there again.
            p.set_osd(None).unwrap();
            let gpu = p.render_offscreen(96, 54).unwrap();
            assert_eq!(gpu, compose_cpu(&frame, None, 96, 54, false), "{format:?}");
        }
    }
}
