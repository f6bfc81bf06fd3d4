//! `--start`/`--duration`: a part of any source's timeline.
//!
//! Contract:
//! - **Which frames**: those whose time lies in `[origin + start, origin + start + duration)`, where
//!   `origin` is where the source's timeline begins ([`Source::origin`]: a file's video start time,
//!   0 elsewhere). Frames are chosen by their timestamps, so the count is exact: 2 s of a 24 fps clip
//!   are 48 frames, wherever the start falls.
//! - **Timing**: timestamps are moved so that `origin + start` is 0 and `seq` counts from 0; the
//!   source's [`SourceInfo::trim`] tells the sinks which part of the file's audio goes with them
//!   (the video sink copies the same part, moved the same way).
//! - **Speed**: the source is asked to skip ahead first ([`Source::seek_before`]: a file jumps to the
//!   keyframe before the start); frames before the start are decoded and dropped.
//! - **Errors**: a start at or past the end names the input and its duration.

use super::{Source, SourceInfo};
use crate::error::{Error, Result};
use crate::frame::Frame;

/// Frames this close to a bound (in seconds) count as on it: timestamps are exact fractions,
/// bounds written in decimal are not.
const EPSILON: f64 = 1e-6;

/// A part of a source: from `start` seconds for `duration` seconds (to the end when `None`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Trim {
    pub start: f64,
    pub duration: Option<f64>,
}

impl Trim {
    /// No trim at all.
    pub fn is_whole(&self) -> bool {
        self.start <= 0.0 && self.duration.is_none()
    }
}

/// The part of a file the frames come from, in seconds on the file's own timeline.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct TrimWindow {
    /// Where output time 0 lies.
    pub from: f64,
    /// Where the output ends, when a duration was given.
    pub to: Option<f64>,
}

/// Parses a time as `--start`/`--duration` take it: seconds (`12`, `1.5`), or `MM:SS(.mmm)` or
/// `HH:MM:SS(.mmm)` as FFmpeg writes them.
///
/// # Errors
/// A message naming the text and the forms expected.
pub fn parse_time(text: &str) -> std::result::Result<f64, String> {
    let bad = || {
        format!(
            "'{text}' is not a time; expected seconds (12, 1.5) or [HH:]MM:SS[.mmm] (00:01:02.500)"
        )
    };
    let parts: Vec<&str> = text.trim().split(':').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(bad());
    }
    let mut seconds = 0.0;
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        // Hours and minutes are whole numbers; minutes and seconds below 60 once a larger unit is
        // written.
        let value: f64 = if last {
            part.parse().map_err(|_| bad())?
        } else {
            f64::from(part.parse::<u32>().map_err(|_| bad())?)
        };
        if !value.is_finite() || value < 0.0 || (i > 0 && value >= 60.0) {
            return Err(bad());
        }
        seconds = seconds * 60.0 + value;
    }
    Ok(seconds)
}

/// A source cut to a [`Trim`].
pub struct Trimmed {
    inner: Box<dyn Source>,
    info: SourceInfo,
    from: f64,
    to: Option<f64>,
    delivered: u64,
    /// The time of the last frame seen before the start (for the error when none is left).
    last_seen: Option<f64>,
    done: bool,
}

impl Trimmed {
    /// Cuts `inner` to `trim`, skipping ahead where the source can.
    ///
    /// # Errors
    /// [`Error::Input`] naming the input when the start is past its known end, or the duration is
    /// not positive.
    pub fn new(mut inner: Box<dyn Source>, trim: Trim) -> Result<Self> {
        let name = inner.info().name.clone();
        if !trim.start.is_finite() || trim.start < 0.0 {
            return Err(Error::input(&name, "--start must be a time from 0 on"));
        }
        if let Some(d) = trim.duration {
            if !(d.is_finite() && d > 0.0) {
                return Err(Error::input(&name, "--duration must be longer than 0 s"));
            }
        }
        let mut info = inner.info().clone();
        let rate = info.frame_rate.map(|r| r.as_f64()).filter(|r| *r > 0.0);
        if let (Some(count), Some(rate)) = (info.frame_count, rate) {
            let length = count as f64 / rate;
            if trim.start >= length - EPSILON {
                return Err(past_the_end(&name, trim.start, length));
            }
            let skipped = (trim.start * rate - EPSILON).ceil().max(0.0) as u64;
            let left = count.saturating_sub(skipped);
            let wanted = trim
                .duration
                .map_or(left, |d| ((d * rate - EPSILON).ceil().max(1.0)) as u64);
            info.frame_count = Some(left.min(wanted));
        } else if trim.duration.is_some() {
            info.frame_count = info.frame_count.map(|n| {
                rate.zip(trim.duration)
                    .map_or(n, |(r, d)| n.min((d * r).ceil() as u64))
            });
        }
        let from = inner.origin() + trim.start;
        let to = trim.duration.map(|d| from + d);
        info.trim = Some(TrimWindow { from, to });
        if trim.start > 0.0 {
            inner.seek_before(from)?;
        }
        Ok(Self {
            inner,
            info,
            from,
            to,
            delivered: 0,
            last_seen: None,
            done: false,
        })
    }
}

fn past_the_end(name: &str, start: f64, length: f64) -> Error {
    Error::input(
        name,
        format!("--start {start:.3} s is past its end: it lasts {length:.3} s"),
    )
}

impl Source for Trimmed {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        if self.done {
            return Ok(None);
        }
        loop {
            let Some(mut frame) = self.inner.next_frame()? else {
                self.done = true;
                if self.delivered == 0 {
                    let origin = self.inner.origin();
                    let length = self.last_seen.map_or(0.0, |t| t - origin);
                    return Err(past_the_end(&self.info.name, self.from - origin, length));
                }
                return Ok(None);
            };
            let t = frame.pts.seconds();
            if t < self.from - EPSILON {
                // The end of this frame is the furthest the input is known to reach.
                let step = self.info.frame_rate.map_or(0.0, |r| {
                    let r = r.as_f64();
                    if r > 0.0 {
                        1.0 / r
                    } else {
                        0.0
                    }
                });
                self.last_seen = Some(t + step);
                frame.pixels.recycle();
                continue;
            }
            if self.to.is_some_and(|to| t >= to - EPSILON) {
                frame.pixels.recycle();
                self.done = true;
                return Ok(None);
            }
            let tb = frame.pts.time_base.as_f64();
            if tb > 0.0 {
                frame.pts.pts -= (self.from / tb).round() as i64;
            }
            frame.seq = self.delivered;
            self.delivered += 1;
            return Ok(Some(frame));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::synthetic::{SyntheticConfig, SyntheticSource};

    #[test]
    fn times_in_seconds_and_clock_form() {
        assert_eq!(parse_time("12"), Ok(12.0));
        assert_eq!(parse_time("1.5"), Ok(1.5));
        assert_eq!(parse_time("01:02"), Ok(62.0));
        assert_eq!(parse_time("01:02:03.250"), Ok(3723.25));
        assert_eq!(parse_time("0:00:00.040"), Ok(0.04));
        for bad in ["", "x", "1:2:3:4", "00:61", "-1", "1::2", "nan", "1:-2"] {
            let err = parse_time(bad).unwrap_err();
            assert!(err.contains("HH:"), "{bad}: {err}");
        }
    }

    fn synthetic(frames: u64, fps: u32) -> Box<dyn Source> {
        Box::new(SyntheticSource::new(SyntheticConfig {
            width: 16,
            height: 16,
            fps,
            frames: Some(frames),
            live: false,
        }))
    }

    fn drain(mut source: Trimmed) -> Vec<(u64, f64)> {
        let mut out = Vec::new();
        while let Some(frame) = source.next_frame().unwrap() {
            out.push((frame.seq, frame.pts.seconds()));
        }
        out
    }

    #[test]
    fn keeps_exactly_the_frames_in_the_window_from_zero() {
        let trim = Trim {
            start: 1.0,
            duration: Some(2.0),
        };
        let trimmed = Trimmed::new(synthetic(120, 24), trim).unwrap();
        assert_eq!(trimmed.info().frame_count, Some(48));
        assert_eq!(
            trimmed.info().trim,
            Some(TrimWindow {
                from: 1.0,
                to: Some(3.0)
            })
        );
        let frames = drain(trimmed);
        assert_eq!(frames.len(), 48);
        assert_eq!(frames[0], (0, 0.0));
        assert_eq!(frames[47].0, 47);
        assert!((frames[47].1 - 47.0 / 24.0).abs() < 1e-9);

        // A start between frames takes the next frame; times move back by the start, to the
        // nearest tick of the time base (1/10 s here).
        let trim = Trim {
            start: 0.05,
            duration: None,
        };
        let frames = drain(Trimmed::new(synthetic(10, 10), trim).unwrap());
        assert_eq!(frames.len(), 9);
        assert!((frames[0].1 - 0.05).abs() <= 0.05 + 1e-9, "{:?}", frames[0]);
        assert_eq!(frames[0].0, 0);
    }

    #[test]
    fn a_start_past_the_end_names_the_input_and_its_length() {
        let trim = Trim {
            start: 5.0,
            duration: None,
        };
        let err = Trimmed::new(synthetic(30, 10), trim).err().unwrap();
        let text = err.to_string();
        assert!(text.contains("synthetic"), "{text}");
        assert!(text.contains("lasts 3.000 s"), "{text}");
        assert!(Trimmed::new(
            synthetic(30, 10),
            Trim {
                start: 0.0,
                duration: Some(0.0)
            }
        )
        .is_err());
    }
}
