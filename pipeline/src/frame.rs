//! The unit that flows through a pipeline: RGBA8 pixels plus what stages learned about them.

use std::sync::Arc;
use std::time::Instant;

use image::RgbaImage;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::gpu::{GpuContext, GpuImage};

/// An exact fraction, used for time bases and frame rates (as FFmpeg does).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Rational {
    pub num: i32,
    pub den: i32,
}

impl Rational {
    pub const fn new(num: i32, den: i32) -> Self {
        Self { num, den }
    }

    /// The value as a float; 0 when the denominator is 0.
    pub fn as_f64(self) -> f64 {
        if self.den == 0 {
            0.0
        } else {
            f64::from(self.num) / f64::from(self.den)
        }
    }
}

/// A presentation timestamp in a time base, kept exact so that offline runs preserve timing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Timestamp {
    pub pts: i64,
    pub time_base: Rational,
}

impl Timestamp {
    pub const fn new(pts: i64, time_base: Rational) -> Self {
        Self { pts, time_base }
    }

    /// Seconds since the start of the stream.
    pub fn seconds(self) -> f64 {
        self.pts as f64 * self.time_base.as_f64()
    }
}

/// How long one stage spent on a frame.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StageTiming {
    pub stage: String,
    pub ms: f64,
}

/// What stages learned about a frame. Tracking stages write it; renderers and overlays read it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FrameMeta {
    /// Time each stage spent on this frame, in pipeline order.
    pub timings: Vec<StageTiming>,
    /// Faces the `track` stage found, with their 468-point mesh; empty when none (or not tracked).
    pub faces: Vec<crate::meta::Face>,
    /// Bodies the pose stage found (33 keypoints each); empty when none (or not tracked).
    pub bodies: Vec<crate::meta::Body>,
    /// Hands the `hands` stage found (21 landmarks each), at most its `max_hands` (2 by default;
    /// usually one left and one right, but the handedness of each is the model's own call); empty
    /// when none (or not tracked).
    pub hands: Vec<crate::meta::Hand>,
    /// The face tracker's neutral-face calibration; `None` when no `track` stage ran.
    pub calibration: Option<crate::meta::Calibration>,
    /// Person mask at frame size (255 = person), from the segmentation stage; `None` when not run.
    #[serde(skip)]
    pub mask: Option<std::sync::Arc<image::GrayImage>>,
}

impl FrameMeta {
    /// Moves every point (faces, bodies, hands) by `x' = ax[0] x + ax[1]`, `y' = ay[0] y + ay[1]`:
    /// what a stage that crops, zooms or mirrors the pixels does to the meta so later stages still
    /// line up. Depths scale with x; a mirror (`ax[0] < 0`) also mirrors angles and hand world
    /// points. The mask is the caller's to resample.
    pub fn map_points(&mut self, ax: [f32; 2], ay: [f32; 2]) {
        let x = |v: f32| ax[0] * v + ax[1];
        let y = |v: f32| ay[0] * v + ay[1];
        let mirror = ax[0] < 0.0;
        let rect = |r: &mut crate::meta::Rect| {
            let (x0, x1) = (x(r.x0), x(r.x1));
            *r = crate::meta::Rect::new(x0.min(x1), y(r.y0), x0.max(x1), y(r.y1));
        };
        let point = |p: &mut crate::meta::Point| *p = crate::meta::Point::new(x(p.x), y(p.y));
        let flip_angle = |a: &mut f32| {
            if mirror {
                *a = -*a;
            }
        };
        let depth = ax[0].abs();
        for face in &mut self.faces {
            rect(&mut face.rect);
            for p in &mut face.mesh {
                *p = [x(p[0]), y(p[1]), p[2] * depth];
            }
            face.keypoints.iter_mut().for_each(point);
            if let Some(d) = &mut face.detection {
                rect(&mut d.rect);
                d.keypoints.iter_mut().for_each(point);
            }
            point(&mut face.roi.center);
            face.roi.size *= depth;
            flip_angle(&mut face.roi.angle);
            if let Some(pose) = &mut face.pose {
                flip_angle(&mut pose.yaw);
                flip_angle(&mut pose.roll);
                pose.translation[0] = x(pose.translation[0]);
                pose.translation[1] = y(pose.translation[1]);
            }
        }
        for body in &mut self.bodies {
            rect(&mut body.rect);
            for k in &mut body.keypoints {
                (k.x, k.y, k.z) = (x(k.x), y(k.y), k.z * depth);
            }
        }
        for hand in &mut self.hands {
            rect(&mut hand.rect);
            for p in &mut hand.landmarks {
                *p = [x(p[0]), y(p[1]), p[2] * depth];
            }
            if mirror {
                hand.world.iter_mut().for_each(|p| p[0] = -p[0]);
            }
            point(&mut hand.roi.center);
            hand.roi.size *= depth;
            flip_angle(&mut hand.roi.angle);
        }
    }
}

/// How many times a frame's pixels crossed between CPU and GPU. The graph charges each node the
/// transfers that happened while it held the frame (`uploads`/`readbacks` in the run's statistics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Transfers {
    pub uploads: u64,
    pub readbacks: u64,
}

impl std::ops::Sub for Transfers {
    type Output = Transfers;
    fn sub(self, earlier: Transfers) -> Transfers {
        Transfers {
            uploads: self.uploads.saturating_sub(earlier.uploads),
            readbacks: self.readbacks.saturating_sub(earlier.readbacks),
        }
    }
}

/// A frame's pixels, where the last stage left them: on the CPU ([`RgbaImage`], RGBA8, straight
/// alpha, rows packed), on the GPU ([`GpuImage`], the same layout in an `Rgba8Unorm` texture), or
/// both with the same content. A stage asks for the form it needs; the transfer happens only then,
/// once, and is counted. A chain of GPU stages thus runs with one upload and one readback.
#[derive(Clone, Debug)]
pub struct Pixels {
    width: u32,
    height: u32,
    cpu: Option<RgbaImage>,
    gpu: Option<GpuImage>,
    transfers: Transfers,
}

impl Pixels {
    /// Pixels on the CPU.
    pub fn cpu(image: RgbaImage) -> Self {
        Self {
            width: image.width(),
            height: image.height(),
            cpu: Some(image),
            gpu: None,
            transfers: Transfers::default(),
        }
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    pub fn dimensions(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The pixels on the CPU, read back from the GPU first when only there.
    ///
    /// # Errors
    /// [`Error::Gpu`] when the readback fails.
    pub fn image(&mut self) -> Result<&RgbaImage> {
        self.ensure_cpu()?;
        self.cpu.as_ref().ok_or_else(missing)
    }

    /// The pixels on the CPU for changing in place; any GPU copy is dropped (it would be stale).
    ///
    /// # Errors
    /// [`Error::Gpu`] when the readback fails.
    pub fn image_mut(&mut self) -> Result<&mut RgbaImage> {
        self.ensure_cpu()?;
        self.gpu = None;
        self.cpu.as_mut().ok_or_else(missing)
    }

    /// The CPU pixels if they are there now (no transfer).
    pub fn cpu_image(&self) -> Option<&RgbaImage> {
        self.cpu.as_ref()
    }

    /// The GPU pixels if they are there now (no transfer).
    pub fn gpu_image(&self) -> Option<&GpuImage> {
        self.gpu.as_ref()
    }

    /// Replaces the pixels with `image` (any size); the old CPU buffer goes back to the pool.
    pub fn set_image(&mut self, image: RgbaImage) {
        (self.width, self.height) = image.dimensions();
        self.gpu = None;
        if let Some(old) = self.cpu.replace(image) {
            crate::bufpool::recycle(old.into_raw());
        }
    }

    /// The pixels as a texture on `ctx`'s device, uploaded first when they are only on the CPU (or
    /// on another device).
    ///
    /// # Errors
    /// [`Error::Gpu`] when the frame does not fit the device or a transfer fails.
    pub fn texture(&mut self, ctx: &Arc<GpuContext>) -> Result<GpuImage> {
        if let Some(gpu) = self.gpu.as_ref().filter(|g| g.is_on(ctx)) {
            return Ok(gpu.clone());
        }
        self.ensure_cpu()?;
        let cpu = self.cpu.as_ref().ok_or_else(missing)?;
        let gpu = GpuImage::upload(ctx, cpu)?;
        self.transfers.uploads += 1;
        self.gpu = Some(gpu.clone());
        Ok(gpu)
    }

    /// Replaces the pixels with `gpu` (any size); the old CPU buffer goes back to the pool.
    pub fn set_texture(&mut self, gpu: GpuImage) {
        (self.width, self.height) = gpu.size();
        if let Some(old) = self.cpu.take() {
            crate::bufpool::recycle(old.into_raw());
        }
        self.gpu = Some(gpu);
    }

    /// The CPU pixels, taken out (read back first when only on the GPU).
    ///
    /// # Errors
    /// [`Error::Gpu`] when the readback fails.
    pub fn into_image(mut self) -> Result<RgbaImage> {
        self.ensure_cpu()?;
        self.cpu.take().ok_or_else(missing)
    }

    /// Gives the CPU buffer back to the pool (GPU textures return to theirs when dropped).
    pub fn recycle(self) {
        if let Some(image) = self.cpu {
            crate::bufpool::recycle(image.into_raw());
        }
    }

    /// Transfers so far in this frame's life.
    pub fn transfers(&self) -> Transfers {
        self.transfers
    }

    fn ensure_cpu(&mut self) -> Result<()> {
        if self.cpu.is_none() {
            let gpu = self.gpu.as_ref().ok_or_else(missing)?;
            self.cpu = Some(gpu.read()?);
            self.transfers.readbacks += 1;
        }
        Ok(())
    }
}

/// Pixels are always somewhere; this error would be a bug in [`Pixels`].
fn missing() -> Error {
    Error::Internal("frame pixels are neither on the CPU nor on the GPU".to_string())
}

/// One video frame.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Position in the source, from 0, without gaps (dropped live frames keep their numbers).
    pub seq: u64,
    /// Presentation time as the source gave it.
    pub pts: Timestamp,
    /// When the source produced the frame; sinks measure capture-to-output latency from it.
    pub captured: Instant,
    /// The pixels, on the CPU or the GPU (see [`Pixels`]).
    pub pixels: Pixels,
    pub meta: FrameMeta,
}

impl Frame {
    /// A frame captured now, its pixels on the CPU.
    pub fn new(seq: u64, pts: Timestamp, image: RgbaImage) -> Self {
        Self {
            seq,
            pts,
            captured: Instant::now(),
            pixels: Pixels::cpu(image),
            meta: FrameMeta::default(),
        }
    }

    pub fn width(&self) -> u32 {
        self.pixels.width()
    }

    pub fn height(&self) -> u32 {
        self.pixels.height()
    }

    /// The CPU pixels of a frame whose pixels were brought to the CPU before it was lent (sinks
    /// that read pixels on the CPU get such frames, see [`crate::sink::PixelNeed`]).
    ///
    /// # Errors
    /// [`Error::Internal`] when they are only on the GPU: a bug in the caller.
    pub fn cpu_image(&self) -> Result<&RgbaImage> {
        self.pixels.cpu_image().ok_or_else(|| {
            Error::Internal("a frame lent with its pixels on the GPU only".to_string())
        })
    }

    /// The pixels on the CPU, taken out of the frame (read back first when only on the GPU).
    ///
    /// # Errors
    /// [`Error::Gpu`] when the readback fails.
    pub fn into_image(self) -> Result<RgbaImage> {
        self.pixels.into_image()
    }

    /// The pixels on the CPU (see [`Pixels::image`]).
    ///
    /// # Errors
    /// [`Error::Gpu`] when the readback fails.
    pub fn image(&mut self) -> Result<&RgbaImage> {
        self.pixels.image()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(w: u32, h: u32) -> Frame {
        let image = RgbaImage::from_fn(w, h, |x, y| image::Rgba([x as u8, y as u8, 7, 255]));
        Frame::new(0, Timestamp::new(0, Rational::new(1, 30)), image)
    }

    /// Each form is made once, when asked for, and counted; changing one form drops the other.
    #[test]
    fn pixels_move_only_when_asked_and_count_each_transfer() {
        let ctx = GpuContext::shared().expect("a wgpu device (lavapipe on CPUs)");
        let mut f = frame(19, 5);
        let original = f.cpu_image().unwrap().clone();
        assert_eq!(f.pixels.transfers(), Transfers::default());
        // Up once; asking again reuses the texture, and the CPU copy stays valid.
        let gpu = f.pixels.texture(&ctx).unwrap();
        let again = f.pixels.texture(&ctx).unwrap();
        assert_eq!(gpu.texture(), again.texture());
        assert!(f.pixels.cpu_image().is_some());
        assert_eq!(f.pixels.transfers().uploads, 1);
        // A GPU result replaces the pixels: the CPU copy is gone, read back once when asked.
        f.pixels
            .set_texture(GpuImage::upload(&ctx, &original).unwrap());
        assert!(f.cpu_image().is_err(), "no stale CPU pixels");
        assert_eq!(f.pixels.image().unwrap(), &original);
        f.pixels.image().unwrap();
        assert_eq!(f.pixels.transfers().readbacks, 1);
        // Changing the CPU pixels drops the GPU copy, so the next texture is a new upload.
        f.pixels
            .image_mut()
            .unwrap()
            .put_pixel(0, 0, image::Rgba([1, 2, 3, 4]));
        assert!(f.pixels.gpu_image().is_none());
        f.pixels.texture(&ctx).unwrap();
        assert_eq!(
            f.pixels.transfers(),
            Transfers {
                uploads: 2,
                readbacks: 1
            }
        );
        assert_eq!(f.pixels.dimensions(), (19, 5));
        assert_eq!(
            f.into_image().unwrap().get_pixel(0, 0),
            &image::Rgba([1, 2, 3, 4])
        );
    }
}
