//! Image files as a sink: `out.png` for a single frame, or a numbered sequence `frames/%05d.png`
//! (numbered from 1, as FFmpeg's image2 muxer does). The format follows the extension.

use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageFormat};

use super::{Sink, SinkSummary};
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::output::OutputGuard;

/// The widest zero-padded number a sequence pattern may ask for (`%020d`: every `u64` fits in 20 digits).
pub const MAX_PATTERN_WIDTH: usize = 20;

/// True when the output path looks like a numbered sequence (a `%d` or `%0Nd` in it); [`ImageSink::open`]
/// then checks the whole pattern.
pub fn is_sequence_pattern(path: &str) -> bool {
    path.match_indices('%').any(|(i, _)| {
        path[i + 1..]
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .starts_with('d')
    })
}

/// Splits `a/%05d.png` into (`a/`, width 5, `.png`); `Ok(None)` for a path without `%`.
///
/// # Errors
/// A message saying what is wrong when the path has a `%` but is not exactly one `%d` / `%0Nd` with
/// N up to [`MAX_PATTERN_WIDTH`].
fn parse_pattern(path: &str) -> std::result::Result<Option<(String, usize, String)>, String> {
    let Some(start) = path.find('%') else {
        return Ok(None);
    };
    let expected = format!(
        "a numbered image sequence holds exactly one %d or %0Nd with N up to {MAX_PATTERN_WIDTH}, \
         e.g. frames/%05d.png"
    );
    let rest = &path[start + 1..];
    let digits: &str =
        &rest[..rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len()];
    let Some(tail) = rest[digits.len()..].strip_prefix('d') else {
        return Err(format!("'%' is not followed by d or 0Nd; {expected}"));
    };
    if tail.contains('%') {
        return Err(format!("more than one '%'; {expected}"));
    }
    let width = match digits.trim_start_matches('0') {
        "" => 0,
        n => match n.parse::<usize>() {
            Ok(w) if w <= MAX_PATTERN_WIDTH => w,
            _ => return Err(format!("width {digits} is too wide; {expected}")),
        },
    };
    Ok(Some((path[..start].to_string(), width, tail.to_string())))
}

enum Target {
    Single(PathBuf),
    Sequence {
        prefix: String,
        width: usize,
        suffix: String,
    },
}

/// Writes frames as image files.
pub struct ImageSink {
    target: Target,
    format: ImageFormat,
    written: u64,
    display: String,
    guard: OutputGuard,
}

fn format_for(path: &Path) -> Result<ImageFormat> {
    ImageFormat::from_path(path)
        .ok()
        .filter(|f| f.writing_enabled())
        .ok_or_else(|| {
            Error::output(
                path,
                "unknown image extension; use .png, .jpg, .bmp or .webp (or a video extension such as .mp4)",
            )
        })
}

/// Checks that `dir` (created by the guard's claim) can take new files.
fn ensure_writable_dir(dir: &Path, shown: &str) -> Result<()> {
    let probe = dir.join(".doppel-write-test");
    std::fs::write(&probe, b"").map_err(|e| {
        Error::output(
            shown,
            format!("folder {} is not writable: {e}", dir.display()),
        )
    })?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

impl ImageSink {
    /// Opens `output` for `frames` frames (when known). A single file takes exactly one frame.
    pub fn open(output: &str, frames: Option<u64>) -> Result<Self> {
        Self::open_guarded(output, frames, &OutputGuard::default())
    }

    /// As [`ImageSink::open`], with every file claimed from `guard` (no input, no file in a
    /// source-image folder, existing files only as the guard allows) and written under a
    /// temporary name first, so that each image appears complete.
    ///
    /// # Errors
    /// As [`ImageSink::open`]; also what `guard` refuses.
    pub fn open_guarded(output: &str, frames: Option<u64>, guard: &OutputGuard) -> Result<Self> {
        let pattern = parse_pattern(output).map_err(|m| Error::output(output, m))?;
        let target = match pattern {
            Some((prefix, width, suffix)) => Target::Sequence {
                prefix,
                width,
                suffix,
            },
            None => {
                if frames != Some(1) {
                    let count =
                        frames.map_or("an unknown number of".to_string(), |n| n.to_string());
                    return Err(Error::output(
                        output,
                        format!(
                            "one image file cannot hold {count} frames; write a numbered sequence such as frames/%05d.png, or a video such as out.mp4"
                        ),
                    ));
                }
                Target::Single(PathBuf::from(output))
            }
        };
        let sample = match &target {
            Target::Single(p) => p.clone(),
            Target::Sequence { prefix, suffix, .. } => PathBuf::from(format!("{prefix}1{suffix}")),
        };
        let format = format_for(&sample)?;
        match &target {
            Target::Single(p) => guard.claim(p)?,
            Target::Sequence { .. } => guard.claim_sequence(&sample)?,
        }
        let dir = sample
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        ensure_writable_dir(dir, output)?;
        Ok(Self {
            target,
            format,
            written: 0,
            display: output.to_string(),
            guard: guard.clone(),
        })
    }

    fn path_for(&self, index: u64) -> PathBuf {
        match &self.target {
            Target::Single(p) => p.clone(),
            Target::Sequence {
                prefix,
                width,
                suffix,
            } => PathBuf::from(format!("{prefix}{index:0width$}{suffix}")),
        }
    }
}

impl Sink for ImageSink {
    fn write(&mut self, frame: &Frame) -> Result<()> {
        if matches!(self.target, Target::Single(_)) && self.written == 1 {
            return Err(Error::output(
                &self.display,
                "a second frame arrived for a single-image output; use a numbered sequence such as frames/%05d.png",
            ));
        }
        let path = self.path_for(self.written + 1);
        if matches!(self.target, Target::Sequence { .. }) {
            self.guard.check_member(&path)?;
        }
        let format = self.format;
        self.guard.write_claimed_with(&path, |temp| {
            // JPEG has no alpha channel.
            let saved = if format == ImageFormat::Jpeg {
                DynamicImage::ImageRgba8(frame.cpu_image()?.clone())
                    .to_rgb8()
                    .save_with_format(temp, format)
            } else {
                frame.cpu_image()?.save_with_format(temp, format)
            };
            saved.map_err(|e| Error::output(&path, format!("cannot write image: {e}")))
        })?;
        self.written += 1;
        Ok(())
    }

    fn finish(&mut self) -> Result<SinkSummary> {
        Ok(SinkSummary {
            frames: self.written,
            target: self.display.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert_eq!(
            parse_pattern("out/%05d.png"),
            Ok(Some(("out/".into(), 5, ".png".into())))
        );
        assert_eq!(
            parse_pattern("f%d.jpg"),
            Ok(Some(("f".into(), 0, ".jpg".into())))
        );
        assert_eq!(
            parse_pattern("f%020d.jpg"),
            Ok(Some(("f".into(), 20, ".jpg".into())))
        );
        assert_eq!(parse_pattern("out.png"), Ok(None));
        for bad in [
            "a%s.png",
            "%d%d.png",
            "%021d.png",
            "%99999d.png",
            "%99999999999999999999999d.png",
            "%",
        ] {
            let e = parse_pattern(bad).unwrap_err();
            assert!(e.contains("exactly one %d"), "{bad}: {e}");
        }
        assert!(is_sequence_pattern("x/%99999d.png"));
        assert!(!is_sequence_pattern("my%20file.mp4"));
    }
}
