//! The live source: wraps a camera, file or synthetic source so that a live run keeps going when
//! it stops, and paces non-camera sources in real time.
//!
//! - **Camera** lost (unplugged, capture error): the window keeps the last frame and says so, and
//!   the camera is opened again every second until it comes back.
//! - **File** ended: the run stays on the last frame with a message (`q` quits); with `--loop` (and
//!   for the bundled clip used when no camera exists) it starts again from the beginning.
//! - **Synthetic** with a frame count: like a file.
//!
//! Pacing: a file or synthetic frame is released at its presentation time (relative to the first
//! frame after each (re)start) and stamped as captured at that moment, as a camera would deliver
//! it; camera frames keep the capture instant the camera thread gave them. Frames are renumbered
//! and re-timed (microseconds) so that sequence numbers and timestamps keep increasing across
//! restarts.

use crate::graph::RunHandle;
use std::thread;
use std::time::{Duration, Instant};

use crate::source::{Source, SourceInfo};
use crate::{Frame, Rational, Result, Timestamp};

use super::{Notice, Notifier};

/// What to do when the source stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnEnd {
    /// Stay on the last frame with a message.
    Stay,
    /// Start again from the beginning (files).
    Loop,
    /// Open it again every `retry` interval (cameras).
    Retry,
    /// End the run (headless: nobody is watching the last frame).
    End,
}

/// Opens (or re-opens) the wrapped source.
pub type Opener = Box<dyn FnMut() -> Result<Box<dyn Source>> + Send>;

/// The live source.
pub struct LiveSource {
    inner: Option<Box<dyn Source>>,
    open: Opener,
    info: SourceInfo,
    on_end: OnEnd,
    /// What a looping source that cannot loop (empty, or cannot be opened again) does instead:
    /// `Stay` with a window, `End` headless.
    pub give_up: OnEnd,
    /// Interval between attempts to reopen a lost camera.
    pub retry: Duration,
    run: RunHandle,
    notify: Notifier,
    /// Pace frames at their timestamps (file and synthetic sources).
    pace: bool,
    /// (wall-clock instant, source seconds) of the first frame since the last (re)start.
    anchor: Option<(Instant, f64)>,
    /// Output timestamp (µs) at which the current segment starts.
    offset_us: i64,
    /// Output timestamp of the last frame delivered (µs).
    last_us: i64,
    next_seq: u64,
    frames_in_segment: u64,
    stopped: bool,
    last_attempt: Option<Instant>,
}

const MICROS: Rational = Rational::new(1, 1_000_000);

impl LiveSource {
    /// Opens the source with `open` (called again to restart it) and wraps it.
    pub fn new(mut open: Opener, on_end: OnEnd, run: RunHandle, notify: Notifier) -> Result<Self> {
        let inner = open()?;
        let mut info = inner.info().clone();
        let pace = !info.live;
        // The graph must not pace again: this source delivers in real time itself.
        info.live = true;
        info.time_base = MICROS;
        info.frame_count = None;
        Ok(Self {
            inner: Some(inner),
            open,
            info,
            on_end,
            give_up: OnEnd::Stay,
            retry: Duration::from_secs(1),
            run,
            notify,
            pace,
            anchor: None,
            offset_us: 0,
            last_us: 0,
            next_seq: 0,
            frames_in_segment: 0,
            stopped: false,
            last_attempt: None,
        })
    }

    fn stopping(&self) -> bool {
        self.run.stopped()
    }

    /// Sleeps until `until` or until the run stops; `false` when it stopped.
    fn sleep_until(&self, until: Instant) -> bool {
        loop {
            if self.stopping() {
                return false;
            }
            let now = Instant::now();
            if now >= until {
                return true;
            }
            thread::sleep((until - now).min(Duration::from_millis(50)));
        }
    }

    /// The source stopped: say so, once.
    fn ended(&mut self, why: Option<String>) {
        self.inner = None;
        self.anchor = None;
        // The next segment continues one nominal frame after the last one.
        let step = self
            .info
            .frame_rate
            .filter(|r| r.num > 0)
            .map_or(33_333, |r| (1e6 / r.as_f64()) as i64);
        self.offset_us = self.last_us + step;
        let name = self.info.name.clone();
        let reason = why.map(|w| format!(" ({w})")).unwrap_or_default();
        let text = match self.on_end {
            OnEnd::Stay => {
                format!("source ended: {name}{reason}; showing the last frame (q or Ctrl-C quits)")
            }
            OnEnd::Loop => format!("source ended: {name}{reason}; starting it again"),
            OnEnd::End => {
                format!("source ended: {name}{reason}; ending the run (--loop plays it again)")
            }
            OnEnd::Retry => format!(
                "camera lost: {name}{reason}; retrying every {} s",
                self.retry.as_secs_f64()
            ),
        };
        if self.on_end != OnEnd::Loop || self.frames_in_segment == 0 {
            self.stopped = true;
            (self.notify)(Notice::Source(Some(text)));
        } else {
            (self.notify)(Notice::Message(text));
        }
        // A file that yields nothing cannot loop: stay.
        if self.on_end == OnEnd::Loop && self.frames_in_segment == 0 {
            self.on_end = self.give_up;
        }
        self.frames_in_segment = 0;
    }

    /// Tries to (re)open the source.
    fn reopen(&mut self) {
        self.last_attempt = Some(Instant::now());
        match (self.open)() {
            Ok(inner) => {
                self.inner = Some(inner);
                if self.stopped {
                    self.stopped = false;
                    (self.notify)(Notice::Source(None));
                }
            }
            Err(e) => {
                if self.on_end == OnEnd::Loop {
                    self.on_end = self.give_up;
                    self.stopped = true;
                    (self.notify)(Notice::Source(Some(format!(
                        "source ended and cannot be restarted: {e}"
                    ))));
                }
            }
        }
    }

    /// Releases `frame` at its time and gives it its live number and timestamp.
    fn deliver(&mut self, mut frame: Frame) -> Option<Frame> {
        let at = frame.pts.seconds();
        if self.pace {
            let now = Instant::now();
            let (t0, s0) = *self.anchor.get_or_insert((now, at));
            let due = t0 + Duration::from_secs_f64((at - s0).max(0.0));
            if now > due + Duration::from_secs(1) {
                // Far behind (the machine stalled): start the schedule again rather than rush.
                self.anchor = Some((now, at));
            } else if !self.sleep_until(due) {
                return None;
            }
            frame.captured = Instant::now();
        }
        let s0 = self.anchor.get_or_insert((frame.captured, at)).1;
        let us = self.offset_us + ((at - s0).max(0.0) * 1e6) as i64;
        self.last_us = us.max(self.last_us);
        frame.pts = Timestamp::new(self.last_us, MICROS);
        frame.seq = self.next_seq;
        self.next_seq += 1;
        self.frames_in_segment += 1;
        Some(frame)
    }
}

impl Source for LiveSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        loop {
            if self.stopping() {
                return Ok(None);
            }
            if let Some(inner) = self.inner.as_mut() {
                match inner.next_frame() {
                    Ok(Some(frame)) => return Ok(self.deliver(frame)),
                    Ok(None) => self.ended(None),
                    Err(e) => self.ended(Some(e.to_string())),
                }
                continue;
            }
            match self.on_end {
                OnEnd::End => return Ok(None),
                OnEnd::Stay => {
                    if !self.sleep_until(Instant::now() + Duration::from_millis(100)) {
                        return Ok(None);
                    }
                }
                OnEnd::Loop => self.reopen(),
                OnEnd::Retry => {
                    let due = self.last_attempt.map_or(Instant::now(), |t| t + self.retry);
                    if !self.sleep_until(due) {
                        return Ok(None);
                    }
                    self.reopen();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::synthetic::{SyntheticConfig, SyntheticSource};
    use std::sync::{Arc, Mutex};

    fn synthetic(frames: u64) -> Box<dyn Source> {
        let config = SyntheticConfig {
            width: 32,
            height: 24,
            fps: 100,
            frames: Some(frames),
            live: false,
        };
        Box::new(SyntheticSource::new(config))
    }

    fn recorder() -> (Notifier, Arc<Mutex<Vec<Notice>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        (Arc::new(move |n| s.lock().unwrap().push(n)), seen)
    }

    #[test]
    fn file_end_loops_with_increasing_numbers_and_times() {
        let (notify, seen) = recorder();
        let stop = RunHandle::default();
        let mut src = LiveSource::new(
            Box::new(|| Ok(synthetic(3))),
            OnEnd::Loop,
            stop.clone(),
            notify,
        )
        .unwrap();
        assert!(src.info().live, "the graph must not pace it again");
        let t0 = Instant::now();
        let frames: Vec<Frame> = (0..7).map(|_| src.next_frame().unwrap().unwrap()).collect();
        let seqs: Vec<u64> = frames.iter().map(|f| f.seq).collect();
        assert_eq!(seqs, (0..7).collect::<Vec<_>>());
        let pts: Vec<i64> = frames.iter().map(|f| f.pts.pts).collect();
        assert_eq!(pts, vec![0, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000]);
        // Paced at 100 fps: each restart re-anchors the clock; the four steps within the first two
        // segments take 40 ms.
        assert!(
            t0.elapsed() >= Duration::from_millis(38),
            "{:?}",
            t0.elapsed()
        );
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert!(matches!(&seen[0], Notice::Message(m) if m.contains("starting it again")));
    }

    #[test]
    fn ended_source_stays_until_stopped() {
        let (notify, seen) = recorder();
        let stop = RunHandle::default();
        let mut src = LiveSource::new(
            Box::new(|| Ok(synthetic(2))),
            OnEnd::Stay,
            stop.clone(),
            notify,
        )
        .unwrap();
        assert!(src.next_frame().unwrap().is_some());
        assert!(src.next_frame().unwrap().is_some());
        let stopper = {
            let stop = stop.clone();
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(300));
                stop.stop();
            })
        };
        let t0 = Instant::now();
        assert!(src.next_frame().unwrap().is_none());
        assert!(
            t0.elapsed() >= Duration::from_millis(250),
            "it waited for the stop"
        );
        stopper.join().unwrap();
        let seen = seen.lock().unwrap();
        assert!(
            matches!(&seen[..], [Notice::Source(Some(m))] if m.contains("source ended") && m.contains("last frame")),
            "{seen:?}"
        );
    }

    #[test]
    fn lost_camera_is_retried_until_it_comes_back() {
        let (notify, seen) = recorder();
        let stop = RunHandle::default();
        let mut attempts = 0;
        let open: Opener = Box::new(move || {
            attempts += 1;
            match attempts {
                // The first open works, then the device is gone twice, then back.
                1 | 4 => Ok(synthetic(1)),
                _ => Err(crate::Error::Device {
                    device: "camera:0".into(),
                    message: "no such device".into(),
                }),
            }
        });
        let mut src = LiveSource::new(open, OnEnd::Retry, stop, notify).unwrap();
        src.retry = Duration::from_millis(40);
        let first = src.next_frame().unwrap().unwrap();
        let t0 = Instant::now();
        let second = src.next_frame().unwrap().unwrap();
        // Three attempts after the loss: two failures 40 ms apart, then success.
        assert!(
            t0.elapsed() >= Duration::from_millis(75),
            "{:?}",
            t0.elapsed()
        );
        assert_eq!((first.seq, second.seq), (0, 1));
        assert!(second.pts.pts > first.pts.pts);
        let seen = seen.lock().unwrap();
        assert!(
            matches!(&seen[..], [Notice::Source(Some(m)), Notice::Source(None)] if m.contains("camera lost") && m.contains("retrying")),
            "{seen:?}"
        );
    }
}
