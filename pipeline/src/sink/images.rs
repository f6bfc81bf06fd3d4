//! Image files as a sink: `out.png` for a single frame, or a numbered sequence `frames/%05d.png`
//! (numbered from 1, as FFmpeg's image2 muxer does). The format follows the extension.

use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageFormat};

use super::{Sink, SinkSummary};
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::output::OutputGuard;

/// True when the output path names a numbered sequence (`%d`, `%05d`).
pub fn is_sequence_pattern(path: &str) -> bool {
    parse_pattern(path).is_some()
}

/// Splits `a/%05d.png` into (`a/`, width 5, `.png`).
fn parse_pattern(path: &str) -> Option<(String, usize, String)> {
    let start = path.find('%')?;
    let rest = &path[start + 1..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let after = &rest[digits.len()..];
    let tail = after.strip_prefix('d')?;
    if tail.contains('%') {
        return None;
    }
    let width = digits.trim_start_matches('0').parse().unwrap_or(0);
    Some((path[..start].to_string(), width, tail.to_string()))
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
        let target = match parse_pattern(output) {
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
            Some(("out/".into(), 5, ".png".into()))
        );
        assert_eq!(
            parse_pattern("f%d.jpg"),
            Some(("f".into(), 0, ".jpg".into()))
        );
        assert_eq!(parse_pattern("out.png"), None);
        assert_eq!(parse_pattern("a%s.png"), None);
    }
}
