//! A frame's pixels on the GPU: an `Rgba8Unorm` texture on the shared device that GPU stages read
//! and write without a round trip through the CPU.
//!
//! Frame textures come from a pool kept by the [`GpuContext`] (one per size in use, reused once the
//! last [`GpuImage`] holding them is gone), as the CPU side reuses pixel buffers through
//! [`crate::bufpool`]. A `GpuImage` is immutable once made: kernels write a new one, so clones
//! (frames duplicated by a tee, say) never see each other's changes.

use std::sync::Arc;

use image::RgbaImage;

use super::{GpuContext, Readback};
use crate::error::{Error, Result};

/// The texture format of every frame on the GPU: straight RGBA, 8 bits a channel, as on the CPU.
pub const FRAME_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;

/// Frame textures are sampled, written by compute kernels and render passes, and copied both ways.
pub const FRAME_USAGE: wgpu::TextureUsages = wgpu::TextureUsages::TEXTURE_BINDING
    .union(wgpu::TextureUsages::STORAGE_BINDING)
    .union(wgpu::TextureUsages::RENDER_ATTACHMENT)
    .union(wgpu::TextureUsages::COPY_SRC)
    .union(wgpu::TextureUsages::COPY_DST);

/// Pooled textures and readback buffers kept at most (per context).
const POOL_CAPACITY: usize = 12;

/// Textures and readback buffers waiting to be reused.
#[derive(Default)]
pub(crate) struct Pools {
    textures: Vec<wgpu::Texture>,
    readbacks: Vec<Readback>,
}

/// A frame's pixels on the GPU. Cheap to clone (shared handle).
#[derive(Clone)]
pub struct GpuImage {
    inner: Arc<Inner>,
}

struct Inner {
    ctx: Arc<GpuContext>,
    texture: wgpu::Texture,
    view: wgpu::TextureView,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Ok(mut pools) = self.ctx.pools.lock() {
            if pools.textures.len() < POOL_CAPACITY {
                pools.textures.push(self.texture.clone());
            }
        }
    }
}

impl std::fmt::Debug for GpuImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (w, h) = self.size();
        write!(f, "GpuImage({w}x{h})")
    }
}

impl GpuImage {
    /// A frame texture of `width` x `height` on `ctx` whose contents are unspecified: the caller
    /// writes every pixel (a kernel's output, a render target).
    ///
    /// # Errors
    /// [`Error::Gpu`] when the size does not fit the device.
    pub fn new(ctx: &Arc<GpuContext>, width: u32, height: u32) -> Result<Self> {
        ctx.check_size(width, height)?;
        let pooled = ctx.pools.lock().ok().and_then(|mut pools| {
            let at = pools
                .textures
                .iter()
                .position(|t| (t.width(), t.height()) == (width, height))?;
            Some(pools.textures.swap_remove(at))
        });
        let texture = match pooled {
            Some(t) => t,
            None => ctx.checked("allocating a frame texture", || {
                ctx.device.create_texture(&wgpu::TextureDescriptor {
                    label: Some("doppel frame"),
                    size: super::extent(width, height),
                    mip_level_count: 1,
                    sample_count: 1,
                    dimension: wgpu::TextureDimension::D2,
                    format: FRAME_FORMAT,
                    usage: FRAME_USAGE,
                    // Windows with sRGB surfaces sample it as sRGB so its bytes come out as stored.
                    view_formats: &[FRAME_FORMAT.add_srgb_suffix()],
                })
            })?,
        };
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        Ok(Self {
            inner: Arc::new(Inner {
                ctx: ctx.clone(),
                texture,
                view,
            }),
        })
    }

    /// `image` sent to the GPU (the copy is queued before the next submitted work).
    ///
    /// # Errors
    /// [`Error::Gpu`] when the size does not fit the device.
    pub fn upload(ctx: &Arc<GpuContext>, image: &RgbaImage) -> Result<Self> {
        let gpu = Self::new(ctx, image.width(), image.height())?;
        ctx.upload_rgba(&gpu.inner.texture, image)?;
        Ok(gpu)
    }

    /// Reads the pixels back into a pooled [`RgbaImage`]: waits for the work that writes them.
    ///
    /// # Errors
    /// [`Error::Gpu`] when the device fails or the buffer cannot be mapped.
    pub fn read(&self) -> Result<RgbaImage> {
        let ctx = &self.inner.ctx;
        let (w, h) = self.size();
        let pooled = ctx.pools.lock().ok().and_then(|mut pools| {
            let at = pools.readbacks.iter().position(|r| r.size() == (w, h))?;
            Some(pools.readbacks.swap_remove(at))
        });
        let readback = pooled.unwrap_or_else(|| Readback::new(ctx, w, h));
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("frame readback"),
            });
        readback.encode_copy(&mut encoder, &self.inner.texture);
        let submission = ctx.queue.submit([encoder.finish()]);
        let mut image = crate::bufpool::image(w, h);
        let read = readback.read_into(ctx, submission, &mut image);
        if let Ok(mut pools) = ctx.pools.lock() {
            if pools.readbacks.len() < POOL_CAPACITY {
                pools.readbacks.push(readback);
            }
        }
        read.map(|()| image)
    }

    /// Waits until the GPU has finished the work submitted so far (which includes what writes
    /// this image), without reading it back: sinks that do not read pixels still wait for them,
    /// so that work cannot pile up ahead of the GPU and run figures include it.
    ///
    /// # Errors
    /// [`Error::Gpu`] when the device is lost.
    pub fn wait(&self) -> Result<()> {
        self.inner
            .ctx
            .device
            .poll(wgpu::PollType::Wait {
                submission_index: None,
                timeout: None,
            })
            .map(|_| ())
            .map_err(|e| Error::Gpu(format!("waiting for the GPU: {e}")))
    }

    pub fn size(&self) -> (u32, u32) {
        (self.inner.texture.width(), self.inner.texture.height())
    }

    /// A view of the texture as `format` ([`FRAME_FORMAT`] or its sRGB twin) for sampling only
    /// (sRGB formats cannot be storage-bound).
    pub fn view_as(&self, format: wgpu::TextureFormat) -> wgpu::TextureView {
        self.inner
            .texture
            .create_view(&wgpu::TextureViewDescriptor {
                format: Some(format),
                usage: Some(wgpu::TextureUsages::TEXTURE_BINDING),
                ..Default::default()
            })
    }

    pub fn texture(&self) -> &wgpu::Texture {
        &self.inner.texture
    }

    pub fn view(&self) -> &wgpu::TextureView {
        &self.inner.view
    }

    /// The device the texture lives on.
    pub fn context(&self) -> &Arc<GpuContext> {
        &self.inner.ctx
    }

    /// Whether the texture lives on `ctx`'s device.
    pub fn is_on(&self, ctx: &Arc<GpuContext>) -> bool {
        Arc::ptr_eq(&self.inner.ctx, ctx)
    }
}

/// Checks that a kernel's input and output have the same size.
///
/// # Errors
/// [`Error::Size`] naming `what` and both sizes.
pub fn same_size(what: &str, src: &GpuImage, dst: &GpuImage) -> Result<()> {
    if src.size() != dst.size() {
        return Err(Error::size(what, src.size(), dst.size()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_read_round_trips_and_pools_textures() {
        let ctx = GpuContext::shared().expect("a wgpu device (lavapipe on CPUs)");
        let image = RgbaImage::from_fn(33, 7, |x, y| image::Rgba([x as u8, y as u8, 9, 200]));
        let gpu = GpuImage::upload(&ctx, &image).unwrap();
        assert_eq!(gpu.size(), (33, 7));
        assert_eq!(gpu.read().unwrap(), image);
        let texture = gpu.texture().clone();
        drop(gpu);
        // The next frame of that size reuses the texture.
        let again = GpuImage::new(&ctx, 33, 7).unwrap();
        assert_eq!(again.texture(), &texture);
    }
}
