//! The wgpu device shared by every GPU stage, and helpers for image kernels: RGBA textures, uploads
//! and padded readback.
//!
//! One [`GpuContext`] exists per process ([`GpuContext::shared`]); it is long-lived and cheap to
//! share (`Arc`). Kernels (e.g. [`blur::GpuBlur`]) own their pipelines, bind group layouts and, while
//! the frame size stays the same, their textures and buffers; only per-frame data (pixels, a few
//! uniform bytes) moves each frame, as in rerun's `re_renderer`.
//!
//! The backend follows `WGPU_BACKEND` (`vulkan`, `gl`, ...) and the adapter `WGPU_ADAPTER_NAME`
//! (a substring of the adapter name); with neither set, wgpu picks the best adapter it finds. On a
//! machine without a GPU, Mesa's lavapipe (`mesa-vulkan-drivers`) is a complete software Vulkan
//! device and runs every kernel here.

use std::sync::{mpsc, Arc, Mutex, OnceLock};

use ::image::RgbaImage;

use crate::error::{Error, Result};

pub mod blur;
pub mod image;
pub mod kernel;
pub mod render;
pub mod resample;

pub use self::image::GpuImage;

/// What to tell a user whose machine offers no adapter at all.
const NO_ADAPTER_HINT: &str = "no GPU adapter found; on Linux install mesa-vulkan-drivers \
(lavapipe) or set WGPU_BACKEND=gl";

/// The wgpu instance, adapter, device and queue, created once per process.
pub struct GpuContext {
    pub instance: wgpu::Instance,
    pub adapter: wgpu::Adapter,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    /// Frame textures and readback buffers for reuse ([`GpuImage`]).
    pools: Mutex<self::image::Pools>,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

static SHARED: OnceLock<std::result::Result<Arc<GpuContext>, String>> = OnceLock::new();

impl GpuContext {
    /// The process-wide context, created on first use. A failure is remembered: every later call
    /// returns the same [`Error::Gpu`] without probing the drivers again.
    pub fn shared() -> Result<Arc<GpuContext>> {
        SHARED
            .get_or_init(|| {
                Self::new().map(Arc::new).map_err(|e| match e {
                    Error::Gpu(message) => message,
                    other => other.to_string(),
                })
            })
            .clone()
            .map_err(Error::Gpu)
    }

    /// A new context (prefer [`GpuContext::shared`]; a second device is rarely what you want).
    ///
    /// # Errors
    /// [`Error::Gpu`] when no adapter exists, when it cannot run compute shaders, or when the
    /// device cannot be opened.
    pub fn new() -> Result<Self> {
        pollster::block_on(Self::new_async())
    }

    async fn new_async() -> Result<Self> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = Self::pick_adapter(&instance).await?;
        let info = adapter.get_info();
        let downlevel = adapter.get_downlevel_capabilities();
        if !downlevel
            .flags
            .contains(wgpu::DownlevelFlags::COMPUTE_SHADERS)
        {
            return Err(Error::Gpu(format!(
                "adapter {} ({:?}) cannot run compute shaders; install mesa-vulkan-drivers \
                 (lavapipe) or use a Vulkan/Metal/DX12 GPU",
                info.name, info.backend
            )));
        }
        // Ask for what the adapter offers (e.g. 16384-pixel textures) rather than WebGPU's floor.
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("doppel"),
                required_features: wgpu::Features::empty(),
                required_limits: adapter.limits(),
                ..Default::default()
            })
            .await
            .map_err(|e| Error::Gpu(format!("cannot open device on adapter {}: {e}", info.name)))?;
        Ok(Self {
            instance,
            adapter,
            device,
            queue,
            info,
            pools: Mutex::default(),
        })
    }

    /// The adapter named by `WGPU_ADAPTER_NAME` (a case-insensitive substring), else wgpu's choice
    /// (honouring `WGPU_POWER_PREF`).
    async fn pick_adapter(instance: &wgpu::Instance) -> Result<wgpu::Adapter> {
        if let Ok(wanted) = std::env::var("WGPU_ADAPTER_NAME") {
            let wanted = wanted.to_lowercase();
            let adapters = instance.enumerate_adapters(wgpu::Backends::all()).await;
            let names: Vec<String> = adapters.iter().map(|a| a.get_info().name).collect();
            return adapters
                .into_iter()
                .find(|a| a.get_info().name.to_lowercase().contains(&wanted))
                .ok_or_else(|| {
                    if names.is_empty() {
                        Error::Gpu(NO_ADAPTER_HINT.to_string())
                    } else {
                        Error::Gpu(format!(
                            "WGPU_ADAPTER_NAME={wanted} matches no adapter; found: {}",
                            names.join(", ")
                        ))
                    }
                });
        }
        instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::from_env().unwrap_or_default(),
                ..Default::default()
            })
            .await
            .map_err(|e| Error::Gpu(format!("{NO_ADAPTER_HINT} ({e})")))
    }

    /// One line for `doppel doctor`: adapter name, device type, backend and driver.
    pub fn describe(&self) -> String {
        let i = &self.info;
        let driver = match (i.driver.is_empty(), i.driver_info.is_empty()) {
            (true, true) => "unknown driver".to_string(),
            (false, true) => i.driver.clone(),
            (true, false) => i.driver_info.clone(),
            (false, false) => format!("{} {}", i.driver, i.driver_info),
        };
        format!(
            "{} ({:?}, {}, driver {driver})",
            i.name, i.device_type, i.backend
        )
    }

    /// The largest texture side this device accepts.
    pub fn max_texture_side(&self) -> u32 {
        self.device.limits().max_texture_dimension_2d
    }

    /// Checks that a `width` x `height` frame fits this device's textures.
    pub fn check_size(&self, width: u32, height: u32) -> Result<()> {
        let max = self.max_texture_side();
        if width == 0 || height == 0 || width > max || height > max {
            return Err(Error::Gpu(format!(
                "a {width}x{height} frame does not fit this device; sides must be 1..={max} \
                 (adapter {})",
                self.info.name
            )));
        }
        Ok(())
    }

    /// A 2D texture of `width` x `height` in `format` (one mip level, not multisampled).
    pub fn create_texture(
        &self,
        label: &str,
        width: u32,
        height: u32,
        format: wgpu::TextureFormat,
        usage: wgpu::TextureUsages,
    ) -> wgpu::Texture {
        self.device.create_texture(&wgpu::TextureDescriptor {
            label: Some(label),
            size: extent(width, height),
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format,
            usage,
            view_formats: &[],
        })
    }

    /// Writes `image` into `texture` (an `Rgba8Unorm` texture of the same size with `COPY_DST`).
    /// The copy is queued; it happens before the next submitted work.
    ///
    /// # Errors
    /// [`Error::Gpu`] when the sizes differ.
    pub fn upload_rgba(&self, texture: &wgpu::Texture, image: &RgbaImage) -> Result<()> {
        let (w, h) = image.dimensions();
        if (texture.width(), texture.height()) != (w, h) {
            return Err(Error::Gpu(format!(
                "upload of a {w}x{h} image into a {}x{} texture",
                texture.width(),
                texture.height()
            )));
        }
        self.queue.write_texture(
            whole_texture(texture),
            image.as_raw(),
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(4 * w),
                rows_per_image: Some(h),
            },
            extent(w, h),
        );
        Ok(())
    }

    /// Runs `f` and turns any wgpu validation or out-of-memory error it raised into
    /// [`Error::Gpu`] naming `what`, instead of wgpu's default panic.
    pub fn checked<T>(&self, what: &str, f: impl FnOnce() -> T) -> Result<T> {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let value = f();
        let validation = pollster::block_on(validation.pop());
        let oom = pollster::block_on(oom.pop());
        match validation.or(oom) {
            None => Ok(value),
            Some(e) => Err(Error::Gpu(format!("{what}: {e}"))),
        }
    }
}

/// A `width` x `height` x 1 extent.
pub fn extent(width: u32, height: u32) -> wgpu::Extent3d {
    wgpu::Extent3d {
        width,
        height,
        depth_or_array_layers: 1,
    }
}

/// Bytes per row of a texture-to-buffer copy of `width` RGBA8 pixels: `4 * width` rounded up to
/// wgpu's 256-byte alignment.
pub fn padded_bytes_per_row(width: u32) -> u32 {
    let align = wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
    (4 * width).div_ceil(align) * align
}

/// A mappable buffer that receives an `Rgba8Unorm` texture with rows padded to 256 bytes, and
/// unpacks it into a tightly packed [`RgbaImage`]. Reuse it while the size stays the same.
pub struct Readback {
    buffer: wgpu::Buffer,
    width: u32,
    height: u32,
    padded_row: u32,
}

impl Readback {
    /// A readback buffer for `width` x `height` RGBA8 frames.
    pub fn new(ctx: &GpuContext, width: u32, height: u32) -> Self {
        let (buffer, padded_row) = frame_buffer(
            ctx,
            "doppel readback",
            (width, height),
            wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
            false,
        );
        Self {
            buffer,
            width,
            height,
            padded_row,
        }
    }

    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// Records the copy of `texture` (same size, `COPY_SRC`) into this buffer.
    pub fn encode_copy(&self, encoder: &mut wgpu::CommandEncoder, texture: &wgpu::Texture) {
        encoder.copy_texture_to_buffer(
            whole_texture(texture),
            padded_rows(&self.buffer, self.padded_row, self.height),
            extent(self.width, self.height),
        );
    }

    /// Waits for `submission` (which must include [`Readback::encode_copy`]) and copies the
    /// pixels into `dst`, dropping the row padding.
    ///
    /// # Errors
    /// [`Error::Gpu`] when `dst` has another size or the buffer cannot be mapped.
    pub fn read_into(
        &self,
        ctx: &GpuContext,
        submission: wgpu::SubmissionIndex,
        dst: &mut RgbaImage,
    ) -> Result<()> {
        if dst.dimensions() != (self.width, self.height) {
            return Err(Error::Gpu(format!(
                "readback of a {}x{} texture into a {}x{} image",
                self.width,
                self.height,
                dst.width(),
                dst.height()
            )));
        }
        let (row, padded) = (4 * self.width as usize, self.padded_row as usize);
        read_buffer(ctx, &self.buffer, submission, "readback", |mapped| {
            for (out, src) in dst.chunks_exact_mut(row).zip(mapped.chunks_exact(padded)) {
                out.copy_from_slice(&src[..row]);
            }
        })
    }
}

/// A mappable buffer that sends `width` x `height` frames of 4-byte texels to a texture, rows padded
/// to 256 bytes: the CPU writes each row straight into the mapped buffer (no staging copy, no
/// allocation per frame, room to convert while writing), then the copy into the texture is recorded
/// in an encoder. The mirror of [`Readback`]. Reuse it while the size stays the same.
pub struct Upload {
    buffer: wgpu::Buffer,
    width: u32,
    height: u32,
    padded_row: u32,
    mapped: bool,
    scratch: Vec<u8>,
}

impl Upload {
    pub fn new(ctx: &GpuContext, width: u32, height: u32) -> Self {
        let (buffer, padded_row) = frame_buffer(
            ctx,
            "doppel upload",
            (width, height),
            wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::MAP_WRITE,
            true,
        );
        Self {
            buffer,
            width,
            height,
            padded_row,
            mapped: true,
            scratch: Vec::new(),
        }
    }

    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The upload in `slot`, made anew when there is none or it has another size.
    pub fn sized<'s>(
        slot: &'s mut Option<Upload>,
        ctx: &GpuContext,
        width: u32,
        height: u32,
    ) -> &'s mut Upload {
        if slot.as_ref().is_some_and(|u| u.size() != (width, height)) {
            *slot = None;
        }
        slot.get_or_insert_with(|| Upload::new(ctx, width, height))
    }

    /// Fills the buffer: `fill(y, row)` writes row `y` (`4 * width` bytes). Waits first for the
    /// GPU to finish with the previous frame's copy.
    ///
    /// # Errors
    /// [`Error::Gpu`] when the device fails or the buffer cannot be mapped.
    pub fn write(
        &mut self,
        ctx: &GpuContext,
        mut fill: impl FnMut(usize, &mut [u8]),
    ) -> Result<()> {
        let slice = self.buffer.slice(..);
        if !self.mapped {
            map_blocking(ctx, &slice, wgpu::MapMode::Write, None, "upload")?;
            self.mapped = true;
        }
        {
            let mut mapped = slice
                .get_mapped_range_mut()
                .map_err(|e| Error::Gpu(format!("upload: {e}")))?;
            // Mapped memory is write-only: each row is made in a small scratch row (in cache)
            // and copied in.
            let row = 4 * self.width as usize;
            self.scratch.resize(row, 0);
            for y in 0..self.height as usize {
                fill(y, &mut self.scratch);
                let start = y * self.padded_row as usize;
                mapped
                    .slice(start..start + row)
                    .copy_from_slice(&self.scratch);
            }
        }
        self.buffer.unmap();
        self.mapped = false;
        Ok(())
    }

    /// Records the copy of the buffer into `texture` (same size, 4-byte texels, `COPY_DST`).
    pub fn encode_copy(&self, encoder: &mut wgpu::CommandEncoder, texture: &wgpu::Texture) {
        encoder.copy_buffer_to_texture(
            padded_rows(&self.buffer, self.padded_row, self.height),
            whole_texture(texture),
            extent(self.width, self.height),
        );
    }
}

/// A render pass that draws into `view`, whose pixels start as `load`, with a depth buffer
/// `depth` (cleared to 1, not kept) when given. Every render pass in doppel is one of these.
pub fn color_pass<'e>(
    encoder: &'e mut wgpu::CommandEncoder,
    label: &str,
    view: &wgpu::TextureView,
    load: wgpu::LoadOp<wgpu::Color>,
    depth: Option<&wgpu::TextureView>,
) -> wgpu::RenderPass<'e> {
    encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
        label: Some(label),
        color_attachments: &[Some(wgpu::RenderPassColorAttachment {
            view,
            depth_slice: None,
            resolve_target: None,
            ops: wgpu::Operations {
                load,
                store: wgpu::StoreOp::Store,
            },
        })],
        depth_stencil_attachment: depth.map(|view| wgpu::RenderPassDepthStencilAttachment {
            view,
            depth_ops: Some(wgpu::Operations {
                load: wgpu::LoadOp::Clear(1.0),
                store: wgpu::StoreOp::Discard,
            }),
            stencil_ops: None,
        }),
        timestamp_writes: None,
        occlusion_query_set: None,
        multiview_mask: None,
    })
}

/// A buffer for `size` frames of 4-byte texels with rows padded to 256 bytes, and that row pitch.
fn frame_buffer(
    ctx: &GpuContext,
    label: &str,
    size: (u32, u32),
    usage: wgpu::BufferUsages,
    mapped_at_creation: bool,
) -> (wgpu::Buffer, u32) {
    let padded_row = padded_bytes_per_row(size.0);
    let buffer = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: u64::from(padded_row) * u64::from(size.1),
        usage,
        mapped_at_creation,
    });
    (buffer, padded_row)
}

/// `buffer` as `height` rows of `padded_row` bytes, for copies to and from textures.
fn padded_rows(
    buffer: &wgpu::Buffer,
    padded_row: u32,
    height: u32,
) -> wgpu::TexelCopyBufferInfo<'_> {
    wgpu::TexelCopyBufferInfo {
        buffer,
        layout: wgpu::TexelCopyBufferLayout {
            offset: 0,
            bytes_per_row: Some(padded_row),
            rows_per_image: Some(height),
        },
    }
}

/// The first mip level of `texture`, from its origin.
fn whole_texture(texture: &wgpu::Texture) -> wgpu::TexelCopyTextureInfo<'_> {
    wgpu::TexelCopyTextureInfo {
        texture,
        mip_level: 0,
        origin: wgpu::Origin3d::ZERO,
        aspect: wgpu::TextureAspect::All,
    }
}

/// Maps `slice` for `mode` and waits until it is mapped: after `submission`, or after all work
/// submitted so far. `what` names the transfer in errors.
fn map_blocking(
    ctx: &GpuContext,
    slice: &wgpu::BufferSlice,
    mode: wgpu::MapMode,
    submission: Option<wgpu::SubmissionIndex>,
    what: &str,
) -> Result<()> {
    let (tx, rx) = mpsc::channel();
    slice.map_async(mode, move |result| {
        // The receiver outlives the poll below; a failed send only means nobody waits.
        let _ = tx.send(result);
    });
    ctx.device
        .poll(wgpu::PollType::Wait {
            submission_index: submission,
            timeout: None,
        })
        .map_err(|e| Error::Gpu(format!("waiting for the GPU: {e}")))?;
    rx.recv()
        .map_err(|_| Error::Gpu(format!("{what}: the map callback never ran")))?
        .map_err(|e| Error::Gpu(format!("{what}: cannot map the buffer: {e}")))
}

/// Waits for `submission`, maps `buffer` (MAP_READ) and hands its bytes to `read`, then unmaps it.
/// `what` names the transfer in errors. The one way GPU results come back to the CPU.
///
/// # Errors
/// [`Error::Gpu`] when the device fails or the buffer cannot be mapped.
pub fn read_buffer<T>(
    ctx: &GpuContext,
    buffer: &wgpu::Buffer,
    submission: wgpu::SubmissionIndex,
    what: &str,
    read: impl FnOnce(&[u8]) -> T,
) -> Result<T> {
    let slice = buffer.slice(..);
    map_blocking(ctx, &slice, wgpu::MapMode::Read, Some(submission), what)?;
    let value = {
        let mapped = slice
            .get_mapped_range()
            .map_err(|e| Error::Gpu(format!("{what}: {e}")))?;
        read(&mapped)
    };
    buffer.unmap();
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_pad_to_256_bytes() {
        assert_eq!(padded_bytes_per_row(1), 256);
        assert_eq!(padded_bytes_per_row(64), 256);
        assert_eq!(padded_bytes_per_row(65), 512);
        assert_eq!(padded_bytes_per_row(641), 2816);
        assert_eq!(padded_bytes_per_row(1280), 5120);
    }

    /// Frames sent through an [`Upload`] (rows padded, written while mapped) come back unchanged
    /// through a [`Readback`], frame after frame (the buffer is mapped again for each).
    #[test]
    fn upload_then_readback_round_trips() {
        let ctx = GpuContext::shared().expect("a wgpu device (lavapipe on CPUs)");
        let (w, h) = (37, 5);
        let texture = ctx.create_texture(
            "upload test",
            w,
            h,
            wgpu::TextureFormat::Rgba8Unorm,
            wgpu::TextureUsages::COPY_DST | wgpu::TextureUsages::COPY_SRC,
        );
        let mut upload = Upload::new(&ctx, w, h);
        let readback = Readback::new(&ctx, w, h);
        for k in 0..3u8 {
            let image = RgbaImage::from_fn(w, h, |x, y| {
                ::image::Rgba([x as u8, y as u8, k, 255 - x as u8])
            });
            let row = 4 * w as usize;
            upload
                .write(&ctx, |y, dst| {
                    dst.copy_from_slice(&image.as_raw()[y * row..(y + 1) * row]);
                })
                .unwrap();
            let mut encoder = ctx
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
            upload.encode_copy(&mut encoder, &texture);
            readback.encode_copy(&mut encoder, &texture);
            let submission = ctx.queue.submit([encoder.finish()]);
            let mut back = RgbaImage::new(w, h);
            readback.read_into(&ctx, submission, &mut back).unwrap();
            assert_eq!(back, image, "frame {k}");
        }
    }
}
