//! Frames held in memory, replayed in a loop. For benchmarks that must measure the pipeline and not
//! the source: each frame costs one buffer copy.

use image::RgbaImage;

use super::{Source, SourceInfo};
use crate::bufpool;
use crate::error::{Error, Result};
use crate::frame::{Frame, Timestamp};

/// Replays `frames` round-robin until `count` frames were delivered.
pub struct ReplaySource {
    frames: Vec<Frame>,
    info: SourceInfo,
    next: u64,
}

impl ReplaySource {
    /// Takes frames (e.g. read once from another source) and the info to report.
    pub fn new(frames: Vec<Frame>, mut info: SourceInfo, count: u64) -> Result<Self> {
        if frames.is_empty() {
            return Err(Error::input(
                info.name.clone(),
                "nothing to replay: no frames",
            ));
        }
        info.frame_count = Some(count);
        info.name = format!("replay of {}", info.name);
        Ok(Self {
            frames,
            info,
            next: 0,
        })
    }

    /// Reads up to `limit` frames from `source` into memory.
    pub fn capture(source: &mut dyn Source, limit: usize, count: u64) -> Result<Self> {
        let mut frames = Vec::with_capacity(limit);
        while frames.len() < limit {
            match source.next_frame()? {
                Some(frame) => frames.push(frame),
                None => break,
            }
        }
        Self::new(frames, source.info().clone(), count)
    }
}

impl Source for ReplaySource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        if self.info.frame_count.is_some_and(|n| self.next >= n) {
            return Ok(None);
        }
        let seq = self.next;
        self.next += 1;
        let template = &self.frames[(seq % self.frames.len() as u64) as usize];
        let template_image = template.cpu_image()?;
        let mut buf = bufpool::take(template_image.as_raw().len());
        buf.copy_from_slice(template_image.as_raw());
        let (w, h) = template_image.dimensions();
        let image = RgbaImage::from_raw(w, h, buf)
            .ok_or_else(|| Error::input(self.info.name.clone(), "replay buffer size mismatch"))?;
        let mut frame = Frame::new(seq, Timestamp::new(seq as i64, self.info.time_base), image);
        frame.meta = template.meta.clone();
        Ok(Some(frame))
    }
}
