//! Keeps the virtual camera streaming when the pipeline does not: a writer thread owns the device
//! and writes each frame the sink hands it; when none has come for `stall_after` (a camera
//! unplugged, a paused file, a stage stuck on a slow model), it writes a placeholder at the
//! device's frame rate — the last frame dimmed, with a message — so that call apps show that the
//! picture is paused instead of freezing or dropping the camera, until frames come again.
//!
//! A reader opening or closing the device (a call app joining or leaving) can make a write fail
//! for a moment (`EAGAIN`, `EBUSY`, `EINTR`): such a frame is skipped and counted, the stream goes
//! on. Any other write error ends the run, named by the sink.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use image::{Rgba, RgbaImage};

use super::{convert_into, Negotiated};
use crate::font;

/// What the placeholder says.
pub const PLACEHOLDER_TEXT: &str = "DOPPEL: PICTURE PAUSED";

/// How long without a frame counts as a stall by default.
pub const DEFAULT_STALL: Duration = Duration::from_millis(500);

/// Shared between the sink and its writer thread.
#[derive(Default)]
struct State {
    /// The newest converted frame not yet written (a newer one replaces it).
    pending: Option<Vec<u8>>,
    /// The last frame the sink had, in RGBA at the device's size, for the placeholder.
    last: Option<RgbaImage>,
    stop: bool,
    /// A write failed for good: the message, for the sink to return.
    failed: Option<String>,
    counts: Counts,
}

/// What the writer did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub frames: u64,
    pub placeholders: u64,
    /// Frames skipped because the device was busy for a moment (a reader opening or closing it).
    pub skipped: u64,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep using it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The writer thread and its shared state.
pub struct Keeper {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Whether a write error is a passing one (the frame is skipped, the stream goes on).
fn passing(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
    ) || e.raw_os_error() == Some(libc::EBUSY)
}

impl Keeper {
    /// Starts the writer on `out` (the opened device) for frames of `negotiated`'s layout, writing
    /// placeholders every `1 / fps` s once no frame has come for `stall_after`.
    ///
    /// # Errors
    /// When the thread cannot be started.
    pub fn start(
        mut out: Box<dyn Write + Send>,
        negotiated: Negotiated,
        fps: u32,
        stall_after: Duration,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
        });
        let interval = Duration::from_secs_f64(1.0 / f64::from(fps.max(1)));
        let inner = shared.clone();
        let thread = std::thread::Builder::new()
            .name("doppel-vcam".to_string())
            .spawn(move || {
                let mut last_frame = Instant::now();
                let mut placeholder: Option<Vec<u8>> = None;
                loop {
                    let mut state = inner.lock();
                    // Wait for a frame, the stop, or the next placeholder's time.
                    let due = if placeholder.is_some() {
                        interval
                    } else {
                        stall_after.saturating_sub(last_frame.elapsed())
                    };
                    if state.pending.is_none() && !state.stop && !due.is_zero() {
                        state = inner
                            .wake
                            .wait_timeout(state, due)
                            .map(|(g, _)| g)
                            .unwrap_or_else(|e| e.into_inner().0);
                    }
                    if state.stop {
                        return;
                    }
                    let frame = state.pending.take();
                    if frame.is_some() {
                        last_frame = Instant::now();
                        placeholder = None;
                    } else if last_frame.elapsed() < stall_after {
                        continue;
                    } else if placeholder.is_none() {
                        let picture = placeholder_image(
                            state.last.as_ref(),
                            negotiated.width,
                            negotiated.height,
                        );
                        let mut bytes = vec![0; negotiated.frame_bytes as usize];
                        if convert_into(&picture, &negotiated, &mut bytes) {
                            placeholder = Some(bytes);
                        } else {
                            // Cannot happen (the picture has the device's size); wait another
                            // stall rather than spin.
                            last_frame = Instant::now();
                            continue;
                        }
                    }
                    let is_frame = frame.is_some();
                    // The placeholder is written from the thread's own copy, not cloned per write.
                    let Some(bytes) = frame.as_deref().or(placeholder.as_deref()) else {
                        continue;
                    };
                    drop(state);
                    let written = out.write_all(bytes);
                    let mut state = inner.lock();
                    match written {
                        Ok(()) if is_frame => state.counts.frames += 1,
                        Ok(()) => state.counts.placeholders += 1,
                        Err(e) if passing(&e) => state.counts.skipped += 1,
                        Err(e) => {
                            state.failed = Some(e.to_string());
                            return;
                        }
                    }
                }
            })?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// Hands the writer a converted frame (replacing one it has not written yet) and the RGBA
    /// picture it came from. `Err` with the message once a write has failed for good.
    pub fn send(&self, bytes: Vec<u8>, picture: &RgbaImage) -> Result<(), String> {
        let mut state = self.shared.lock();
        if let Some(message) = &state.failed {
            return Err(message.clone());
        }
        state.pending = Some(bytes);
        match &mut state.last {
            Some(last) if last.dimensions() == picture.dimensions() => {
                last.copy_from_slice(picture.as_raw());
            }
            last => *last = Some(picture.clone()),
        }
        drop(state);
        self.shared.wake.notify_one();
        Ok(())
    }

    /// Stops the writer after the frame it is writing and says what it did. `Err` with the
    /// message when a write had failed for good.
    pub fn finish(&mut self) -> Result<Counts, String> {
        // Let the newest frame out before stopping (a run that ends writes its last frame).
        let deadline = Instant::now() + Duration::from_secs(1);
        while self.shared.lock().pending.is_some() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        self.shared.lock().stop = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let state = self.shared.lock();
        match &state.failed {
            Some(message) => Err(message.clone()),
            None => Ok(state.counts),
        }
    }
}

impl Drop for Keeper {
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.finish();
        }
    }
}

/// The placeholder picture: `last` (the last frame, at the device's size) at a third of its
/// brightness, or dark grey without one, with [`PLACEHOLDER_TEXT`] centred in a band across it.
pub fn placeholder_image(last: Option<&RgbaImage>, width: u32, height: u32) -> RgbaImage {
    let mut img = match last {
        Some(l) if l.dimensions() == (width, height) => {
            let mut dim = l.clone();
            for p in dim.pixels_mut() {
                for c in 0..3 {
                    p[c] /= 3;
                }
                p[3] = 255;
            }
            dim
        }
        _ => RgbaImage::from_pixel(width, height, Rgba([32, 32, 32, 255])),
    };
    let chars = PLACEHOLDER_TEXT.chars().count() as u32;
    // As large as fits 80% of the width, from 1 to 8 image pixels per font pixel.
    let scale = (width * 4 / 5 / (chars * font::CELL_W).max(1)).clamp(1, 8);
    let text_w = chars * font::CELL_W * scale;
    let band_h = font::CELL_H * scale * 3;
    let y0 = height.saturating_sub(band_h) / 2;
    for y in y0..(y0 + band_h).min(height) {
        for x in 0..width {
            img.put_pixel(x, y, Rgba([0, 0, 0, 255]));
        }
    }
    font::draw(
        &mut img,
        (width.saturating_sub(text_w) / 2, y0 + font::CELL_H * scale),
        PLACEHOLDER_TEXT,
        scale,
        usize::MAX,
        Rgba([255, 255, 255, 255]),
    );
    img
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::vcam::PixelFormat;

    type Writes = Arc<Mutex<Vec<(Instant, Vec<u8>)>>>;

    /// Records each write with its time; fails the writes `fail` says.
    #[derive(Clone, Default)]
    struct Recorder {
        writes: Writes,
        fail: Arc<Mutex<Vec<std::io::ErrorKind>>>,
    }

    impl Write for Recorder {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if let Some(kind) = self.fail.lock().unwrap().pop() {
                return Err(std::io::Error::new(kind, "test"));
            }
            self.writes
                .lock()
                .unwrap()
                .push((Instant::now(), buf.to_vec()));
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    const W: u32 = 160;
    const H: u32 = 120;

    fn negotiated() -> Negotiated {
        Negotiated {
            width: W,
            height: H,
            format: PixelFormat::Rgb24,
            bytes_per_line: 3 * W,
            frame_bytes: 3 * W * H,
        }
    }

    fn frame(level: u8) -> (Vec<u8>, RgbaImage) {
        let img = RgbaImage::from_pixel(W, H, Rgba([level, level, level, 255]));
        let mut bytes = vec![0; (3 * W * H) as usize];
        assert!(convert_into(&img, &negotiated(), &mut bytes));
        (bytes, img)
    }

    #[test]
    fn stalls_get_a_placeholder_until_frames_come_again() {
        let out = Recorder::default();
        let stall = Duration::from_millis(100);
        let mut keeper = Keeper::start(Box::new(out.clone()), negotiated(), 50, stall).unwrap();
        for level in [90, 120, 150] {
            let (bytes, img) = frame(level);
            keeper.send(bytes, &img).unwrap();
            std::thread::sleep(Duration::from_millis(10));
        }
        // The pipeline stalls for 500 ms: placeholders at 50 fps after the first 100 ms.
        std::thread::sleep(Duration::from_millis(500));
        let (bytes, img) = frame(200);
        let resumed = Instant::now();
        keeper.send(bytes.clone(), &img).unwrap();
        std::thread::sleep(Duration::from_millis(60));
        let counts = keeper.finish().unwrap();
        let writes = out.writes.lock().unwrap().clone();
        // Frames are flat greys (90, 120, 150, 200); the placeholder's corner is 150 / 3.
        let placeholders: Vec<_> = writes.iter().filter(|(_, b)| b[0] == 50).collect();
        assert!(counts.frames >= 2, "{counts:?}");
        assert!(
            (3..=30).contains(&counts.placeholders),
            "about 20 placeholders in 400 ms at 50 fps: {counts:?}"
        );
        assert_eq!(placeholders.len() as u64, counts.placeholders);
        // The placeholder is the last frame dimmed (150 / 3), with white text in a black band.
        let p = &placeholders[0].1;
        assert_eq!(p[0], 50, "dimmed last frame in the corner");
        assert!(p.contains(&255) && p.contains(&0), "text in a band");
        // Frames came again: one was written and no placeholder after it.
        assert_eq!(writes.last().map(|(_, b)| b[0]), Some(200));
        assert!(writes
            .iter()
            .filter(|(t, _)| *t > resumed)
            .all(|(_, b)| b[..] == bytes[..]));
        std::fs::create_dir_all("../target/test-output/vcam").unwrap();
        let photo = RgbaImage::from_fn(640, 360, |x, y| {
            Rgba([(x / 3) as u8, (y * 2 / 3) as u8, 160, 255])
        });
        placeholder_image(Some(&photo), 640, 360)
            .save("../target/test-output/vcam/placeholder.png")
            .unwrap();
    }

    #[test]
    fn a_busy_device_skips_a_frame_and_a_failed_one_ends_the_stream() {
        let out = Recorder::default();
        out.fail
            .lock()
            .unwrap()
            .push(std::io::ErrorKind::WouldBlock);
        let mut keeper =
            Keeper::start(Box::new(out.clone()), negotiated(), 30, DEFAULT_STALL).unwrap();
        for level in [10, 20] {
            let (bytes, img) = frame(level);
            keeper.send(bytes, &img).unwrap();
            std::thread::sleep(Duration::from_millis(30));
        }
        let counts = keeper.finish().unwrap();
        assert_eq!(
            counts,
            Counts {
                frames: 1,
                placeholders: 0,
                skipped: 1
            }
        );

        let out = Recorder::default();
        out.fail
            .lock()
            .unwrap()
            .push(std::io::ErrorKind::BrokenPipe);
        let keeper = Keeper::start(Box::new(out), negotiated(), 30, DEFAULT_STALL).unwrap();
        let (bytes, img) = frame(10);
        keeper.send(bytes.clone(), &img).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let e = keeper.send(bytes, &img).unwrap_err();
        assert!(e.contains("test"), "{e}");
    }
}
