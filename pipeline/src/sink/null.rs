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
