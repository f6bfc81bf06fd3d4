//! The unit that flows through a pipeline: RGBA8 pixels plus what stages learned about them.

use std::time::Instant;

use image::RgbaImage;
use serde::Serialize;

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
    /// Person mask at frame size (255 = person), from the segmentation stage; `None` when not run.
    #[serde(skip)]
    pub mask: Option<std::sync::Arc<image::GrayImage>>,
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
    /// Pixels, RGBA8, straight alpha, rows packed.
    pub image: RgbaImage,
    pub meta: FrameMeta,
}

impl Frame {
    /// A frame captured now.
    pub fn new(seq: u64, pts: Timestamp, image: RgbaImage) -> Self {
        Self {
            seq,
            pts,
            captured: Instant::now(),
            image,
            meta: FrameMeta::default(),
        }
    }

    pub fn width(&self) -> u32 {
        self.image.width()
    }

    pub fn height(&self) -> u32 {
        self.image.height()
    }
}
