//! Animated GIF, WebP and APNG files as a source: every frame at its own time (the file's per-frame
//! delays), where reading the file as a still image gave only its first picture.
//!
//! Opening decodes the file once to count its frames and read their delays (one frame in memory at a
//! time); frames are then decoded again on a helper thread, two ahead of the pipeline, because the
//! `image` crate's frame iterator cannot move between threads. Timestamps are in microseconds from
//! the delays; a delay of 0 is shown for 100 ms, as browsers do.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::thread;

use crossbeam_channel::Receiver;
use image::codecs::gif::GifDecoder;
use image::codecs::png::PngDecoder;
use image::codecs::webp::WebPDecoder;
use image::{AnimationDecoder, Frames, RgbaImage};

use super::{Source, SourceInfo};
use crate::error::{Error, Result};
use crate::frame::{Frame, Rational, Timestamp};

/// Time base of the frames' timestamps.
const MICROS: Rational = Rational::new(1, 1_000_000);
/// How long a frame with a delay of 0 is shown (ms).
const ZERO_DELAY_MS: f64 = 100.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Gif,
    WebP,
    Apng,
}

fn kind_of(path: &Path) -> Option<Kind> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "gif" => Some(Kind::Gif),
        "webp" => Some(Kind::WebP),
        "png" | "apng" => Some(Kind::Apng),
        _ => None,
    }
}

fn reader(path: &Path) -> Result<BufReader<File>> {
    Ok(BufReader::new(
        File::open(path).map_err(|e| Error::io(path, e))?,
    ))
}

fn unreadable(path: &Path) -> impl Fn(image::ImageError) -> Error + '_ {
    move |e| Error::input(path, format!("not a readable animation: {e}"))
}

/// The file's frames, or `None` when it is not an animation (a still GIF, WebP or PNG).
fn frames(path: &Path, kind: Kind) -> Result<Option<Frames<'static>>> {
    let bad = unreadable(path);
    Ok(match kind {
        Kind::Gif => Some(GifDecoder::new(reader(path)?).map_err(bad)?.into_frames()),
        Kind::WebP => {
            let decoder = WebPDecoder::new(reader(path)?).map_err(&bad)?;
            decoder.has_animation().then(|| decoder.into_frames())
        }
        Kind::Apng => {
            let decoder = PngDecoder::new(reader(path)?).map_err(&bad)?;
            if decoder.is_apng().map_err(&bad)? {
                Some(decoder.apng().map_err(&bad)?.into_frames())
            } else {
                None
            }
        }
    })
}

fn delay_ms(frame: &image::Frame) -> f64 {
    let (num, den) = frame.delay().numer_denom_ms();
    let ms = if den == 0 {
        0.0
    } else {
        f64::from(num) / f64::from(den)
    };
    if ms > 0.0 {
        ms
    } else {
        ZERO_DELAY_MS
    }
}

/// The frames of an animated image file, each at the time its delays give.
pub struct AnimationSource {
    info: SourceInfo,
    frames: Receiver<Result<image::Frame>>,
    next_seq: u64,
    /// Start of the next frame, in ms from the first.
    at_ms: f64,
}

impl AnimationSource {
    /// Opens `path` when it is an animated GIF, WebP or (A)PNG with more than one frame; `Ok(None)`
    /// for a still image or another format (read it as an image).
    ///
    /// # Errors
    /// [`Error::Input`] naming the file when it cannot be decoded to its end, or its frames differ
    /// in size.
    pub fn open(path: &Path) -> Result<Option<Self>> {
        let Some(kind) = kind_of(path) else {
            return Ok(None);
        };
        let Some(first_pass) = frames(path, kind)? else {
            return Ok(None);
        };
        // First pass: count the frames and the time they span, one frame in memory at a time.
        let mut count = 0u64;
        let mut total_ms = 0.0;
        let mut size = None;
        for frame in first_pass {
            let frame = frame.map_err(unreadable(path))?;
            let dims = frame.buffer().dimensions();
            if *size.get_or_insert(dims) != dims {
                return Err(Error::input(
                    path,
                    format!(
                        "frame {count} is {}x{}, not the animation's size",
                        dims.0, dims.1
                    ),
                ));
            }
            count += 1;
            total_ms += delay_ms(&frame);
        }
        let Some((width, height)) = size.filter(|_| count > 1) else {
            return Ok(None);
        };
        let (tx, rx) = crossbeam_channel::bounded(2);
        let file = path.to_path_buf();
        thread::Builder::new()
            .name("doppel-animation".into())
            .spawn(move || {
                // The decoder is made on this thread: its frame iterator cannot move between threads.
                let second_pass = match frames(&file, kind) {
                    Ok(Some(frames)) => frames,
                    Ok(None) => return,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                for frame in second_pass {
                    // The source was dropped: stop decoding.
                    if tx.send(frame.map_err(unreadable(&file))).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| Error::input(path, format!("cannot start the decoding thread: {e}")))?;
        // The average rate, for sinks that need one; timestamps carry the real timing.
        let mean_ms = total_ms / count as f64;
        let frame_rate = Rational::new((1e6 / mean_ms).round().clamp(1.0, 1e9) as i32, 1000);
        let info = SourceInfo {
            name: path.display().to_string(),
            path: Some(path.to_path_buf()),
            width,
            height,
            frame_rate: Some(frame_rate),
            time_base: MICROS,
            frame_count: Some(count),
            has_audio: false,
            live: false,
            trim: None,
        };
        Ok(Some(Self {
            info,
            frames: rx,
            next_seq: 0,
            at_ms: 0.0,
        }))
    }
}

impl Source for AnimationSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        let Ok(frame) = self.frames.recv() else {
            return Ok(None);
        };
        let frame = frame?;
        let pts = Timestamp::new((self.at_ms * 1000.0).round() as i64, MICROS);
        self.at_ms += delay_ms(&frame);
        let image: RgbaImage = frame.into_buffer();
        let seq = self.next_seq;
        self.next_seq += 1;
        Ok(Some(Frame::new(seq, pts, image)))
    }
}
