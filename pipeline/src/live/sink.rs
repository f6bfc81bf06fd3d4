//! The sink of a live run: writes each frame to the live outputs (virtual camera, VMC) and hands a
//! copy to the window through a one-frame slot (newest wins: a frame the window had not taken yet
//! is replaced and counted as dropped). It ends the run after `--frames N`, and when it is finished
//! (the pipeline ended for any reason) it tells the source to stop.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::graph::RunHandle;
use std::sync::{Arc, Mutex};

use crate::bufpool;
use crate::frame::Pixels;
use crate::sink::{PixelNeed, Sink, SinkSummary};
use crate::{Error, Frame, Result};
use image::RgbaImage;

/// The hand-over between the sink thread and the window.
#[derive(Default)]
pub struct Slot {
    frame: Mutex<Option<Frame>>,
    /// Frames replaced before the window took them.
    pub dropped: AtomicU64,
}

impl Slot {
    /// Puts `frame` in the slot; `true` when it replaced one the window never saw.
    pub fn put(&self, frame: Frame) -> bool {
        let old = match self.frame.lock() {
            Ok(mut slot) => slot.replace(frame),
            Err(_) => return false,
        };
        match old {
            Some(old) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                old.pixels.recycle();
                true
            }
            None => false,
        }
    }

    /// Takes the newest frame, if one came since the last call.
    pub fn take(&self) -> Option<Frame> {
        self.frame.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// A copy of `frame` whose CPU pixels come from the buffer pool (GPU pixels are shared: a
/// texture is never changed once made).
fn copy_frame(frame: &Frame) -> Frame {
    let pixels = match frame.pixels.cpu_image() {
        Some(image) => {
            let (w, h) = image.dimensions();
            let mut buf = bufpool::take(image.as_raw().len());
            buf.copy_from_slice(image.as_raw());
            RgbaImage::from_raw(w, h, buf).map_or_else(|| frame.pixels.clone(), Pixels::cpu)
        }
        None => frame.pixels.clone(),
    };
    Frame {
        seq: frame.seq,
        pts: frame.pts,
        captured: frame.captured,
        pixels,
        meta: frame.meta.clone(),
    }
}

/// The window's end of the sink: the slot and how to wake the window up.
pub struct WindowLink {
    pub slot: Arc<Slot>,
    pub wake: Box<dyn Fn() + Send>,
    /// The window draws GPU frames from the pipeline's device as they are; otherwise (a window on
    /// a device of its own) frames are read back here, on the sink's thread.
    pub shares_device: bool,
}

/// The live sink.
pub struct LiveSink {
    outputs: Vec<Box<dyn Sink>>,
    window: Option<WindowLink>,
    limit: Option<u64>,
    written: u64,
    run: RunHandle,
}

impl LiveSink {
    pub fn new(
        outputs: Vec<Box<dyn Sink>>,
        window: Option<WindowLink>,
        limit: Option<u64>,
        run: RunHandle,
    ) -> Self {
        Self {
            outputs,
            window,
            limit,
            written: 0,
            run,
        }
    }
}

impl LiveSink {
    /// Writes `frame` to the outputs, then gives it to the window.
    fn deliver(&mut self, mut frame: Frame) -> Result<()> {
        // Frames still in flight after the limit was reached are not shown.
        if self.limit.is_some_and(|n| self.written >= n) {
            return Ok(());
        }
        if self.outputs.iter().any(|o| o.pixels() == PixelNeed::Cpu) {
            frame.pixels.image()?;
        }
        for out in &mut self.outputs {
            out.write(&frame)?;
        }
        if let Some(window) = &self.window {
            window.slot.put(frame);
            (window.wake)();
        }
        self.written += 1;
        if self.limit.is_some_and(|n| self.written >= n) {
            self.run.stop();
        }
        Ok(())
    }
}

impl Sink for LiveSink {
    /// A lent frame is copied (the window keeps what it is given); the pipeline calls
    /// [`Sink::write_owned`], which does not copy.
    fn write(&mut self, frame: &Frame) -> Result<()> {
        self.deliver(copy_frame(frame))
    }

    /// CPU pixels when an output reads them there; the window presents GPU frames as they are.
    fn pixels(&self) -> PixelNeed {
        if self.outputs.iter().any(|o| o.pixels() == PixelNeed::Cpu) {
            PixelNeed::Cpu
        } else if self.window.as_ref().is_some_and(|w| w.shares_device) {
            PixelNeed::Any
        } else if self.window.is_some() {
            PixelNeed::Cpu
        } else {
            PixelNeed::None
        }
    }

    /// The pipeline's frame goes to the window as it is (no copy of its pixels).
    fn write_owned(&mut self, frame: Frame) -> Result<()> {
        self.deliver(frame)
    }

    fn finish(&mut self) -> Result<SinkSummary> {
        // The pipeline ended (limit, Ctrl-C, window closed, or an error upstream): a source that
        // waits for its camera or stays on its last frame must stop too.
        self.run.stop();
        let mut targets = Vec::new();
        let mut first_error: Option<Error> = None;
        for out in &mut self.outputs {
            match out.finish() {
                Ok(s) => targets.push(s.target),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        if self.window.is_some() {
            targets.insert(0, "window".to_string());
        }
        Ok(SinkSummary {
            frames: self.written,
            target: targets.join(", "),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::null::NullSink;
    use crate::{Rational, Timestamp};

    fn frame(seq: u64) -> Frame {
        Frame::new(
            seq,
            Timestamp::new(seq as i64, Rational::new(1, 30)),
            RgbaImage::from_pixel(4, 2, image::Rgba([seq as u8, 0, 0, 255])),
        )
    }

    #[test]
    fn newest_frame_wins_and_the_limit_stops_the_run() {
        let slot = Arc::new(Slot::default());
        let wakes = Arc::new(AtomicU64::new(0));
        let w = wakes.clone();
        let run = RunHandle::default();
        let mut sink = LiveSink::new(
            vec![Box::new(NullSink::default())],
            Some(WindowLink {
                slot: slot.clone(),
                wake: Box::new(move || {
                    w.fetch_add(1, Ordering::Relaxed);
                }),
                shares_device: true,
            }),
            Some(3),
            run.clone(),
        );
        sink.write(&frame(0)).unwrap();
        // What the pipeline calls: the frame itself goes to the window.
        sink.write_owned(frame(1)).unwrap();
        assert_eq!(slot.take().map(|f| f.seq), Some(1));
        assert_eq!(slot.dropped.load(Ordering::Relaxed), 1);
        assert!(slot.take().is_none());
        assert!(!run.stopped());
        sink.write(&frame(2)).unwrap();
        assert!(run.stopped(), "three frames reached");
        sink.write(&frame(3)).unwrap();
        let shown = slot.take().unwrap();
        assert_eq!(shown.seq, 2, "frames past the limit are not shown");
        assert_eq!(shown.cpu_image().unwrap().get_pixel(0, 0)[0], 2);
        assert_eq!(wakes.load(Ordering::Relaxed), 3);
        let summary = sink.finish().unwrap();
        assert_eq!(summary.frames, 3);
        assert_eq!(summary.target, "window, null");
    }
}
