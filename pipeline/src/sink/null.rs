//! Discards frames, counting them. For benchmarks and dry runs (`-o null`).

use super::{Sink, SinkSummary};
use crate::error::Result;
use crate::frame::Frame;

/// The null sink.
#[derive(Debug, Default)]
pub struct NullSink {
    frames: u64,
}

impl Sink for NullSink {
    /// Nothing is read: a GPU frame is waited for (so runs measure the work) but not read back.
    fn pixels(&self) -> super::PixelNeed {
        super::PixelNeed::None
    }

    fn write(&mut self, _frame: &Frame) -> Result<()> {
        self.frames += 1;
        Ok(())
    }

    fn finish(&mut self) -> Result<SinkSummary> {
        Ok(SinkSummary {
            frames: self.frames,
            target: "null".to_string(),
        })
    }
}
