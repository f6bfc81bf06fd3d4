//! Frame sources: video files, images, the synthetic pattern and cameras, behind one trait.

use std::path::PathBuf;

use crate::error::Result;
use crate::frame::{Frame, Rational};

/// What a source knows about its stream before the first frame.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SourceInfo {
    /// Human-readable name: the file path, `synthetic`, `camera 0`.
    pub name: String,
    /// The file behind the source, when there is one (sinks copy its audio from it).
    pub path: Option<PathBuf>,
    /// Size of the frames the source delivers (after rotation).
    pub width: u32,
    pub height: u32,
    /// Nominal frame rate (average for variable-rate files).
    pub frame_rate: Option<Rational>,
    /// Time base of frame timestamps.
    pub time_base: Rational,
    /// Frames expected, when known (files); used for progress and to detect truncation.
    pub frame_count: Option<u64>,
    /// Whether the file has an audio stream.
    pub has_audio: bool,
    /// A camera or other real-time source.
    pub live: bool,
    /// The part of the file the frames come from (`--start`/`--duration`); `None` for all of it.
    pub trim: Option<trim::TrimWindow>,
}

/// Something that produces frames. Runs on its own thread.
pub trait Source: Send {
    fn info(&self) -> &SourceInfo;

    /// The next frame, `Ok(None)` at the end. An error after some frames means the rest of the input
    /// could not be read; frames already returned stay valid.
    fn next_frame(&mut self) -> Result<Option<Frame>>;

    /// Where the source's timeline begins, in seconds: a file's video start time, else 0. Trims
    /// count from here.
    fn origin(&self) -> f64 {
        0.0
    }

    /// Skips ahead to somewhere before `seconds` (on the source's timeline) when the source can,
    /// so that fewer frames before a trim's start are decoded. Frames before `seconds` may still
    /// follow; the caller drops them. The default skips nothing.
    fn seek_before(&mut self, _seconds: f64) -> Result<()> {
        Ok(())
    }
}

pub mod animation;
pub mod camera;
pub mod images;
pub mod replay;
pub mod spec;
pub mod synthetic;
pub mod trim;
pub mod video;

use std::path::Path;

use crate::error::Error;

/// Options for [`open`] that some sources use.
#[derive(Clone, Debug)]
pub struct OpenOptions {
    /// Frame rate given to still-image sequences.
    pub image_fps: u32,
    /// The synthetic source behaves as a live device.
    pub live: bool,
    /// Only this part of the input (`--start`/`--duration`).
    pub trim: trim::Trim,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            image_fps: 30,
            live: false,
            trim: trim::Trim::default(),
        }
    }
}

/// True when an input string names standard input: `-`, `pipe:` or `pipe:0` (FFmpeg's names).
pub fn is_stdin_input(input: &str) -> bool {
    matches!(input, "-" | "pipe:" | "pipe:0")
}

/// Opens the source an input string names: `-` (a container or YUV4MPEG stream on standard input),
/// `synthetic[:width=..:height=..:fps=..:frames=..]`, a camera (`camera`, `camera:N`, `/dev/videoN`),
/// an animated GIF/WebP/PNG (every frame, at its delays), an image file, a folder of images, a glob
/// pattern, or a video file.
pub fn open(input: &str, options: &OpenOptions) -> Result<Box<dyn Source>> {
    let source = open_whole(input, options)?;
    if options.trim.is_whole() {
        return Ok(source);
    }
    Ok(Box::new(trim::Trimmed::new(source, options.trim)?))
}

fn open_whole(input: &str, options: &OpenOptions) -> Result<Box<dyn Source>> {
    if input == "synthetic" || input.starts_with("synthetic:") {
        let mut config = synthetic::SyntheticConfig::parse(input)?;
        config.live = options.live;
        return Ok(Box::new(synthetic::SyntheticSource::new(config)));
    }
    if is_stdin_input(input) {
        return Ok(Box::new(video::VideoSource::open_stdin(input)?));
    }
    if camera::is_camera_input(input) {
        return Ok(Box::new(camera::CameraSource::open(input)?));
    }
    let path = Path::new(input);
    if path.is_file() {
        // An animated GIF, WebP or PNG plays all its frames; a still one is read as an image.
        if let Some(animation) = animation::AnimationSource::open(path)? {
            return Ok(Box::new(animation));
        }
    }
    if input.contains(['*', '?', '[']) || path.is_dir() || images::is_image_path(path) {
        return Ok(Box::new(images::ImageSource::open(
            input,
            options.image_fps,
        )?));
    }
    if !path.exists() {
        return Err(Error::input(input, "no such file"));
    }
    Ok(Box::new(video::VideoSource::open(path)?))
}
