//! Frame sinks: video files, image files, null (chosen from the output path), and the live outputs:
//! the virtual camera (`vcam`, v4l2loopback) and VMC tracking data over UDP (`vmc`).

use crate::error::Result;
use crate::frame::Frame;

/// Which form of a frame's pixels a sink reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelNeed {
    /// The pixels on the CPU (files, the virtual camera): read back when they are on the GPU.
    Cpu,
    /// The pixels wherever they are (the live window presents a GPU frame as it is).
    Any,
    /// No pixels at all (tracking data only): nothing is transferred.
    None,
}

/// What a sink reports when it is finished.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct SinkSummary {
    pub frames: u64,
    /// Where the output went, as a user would name it.
    pub target: String,
}

/// Something that consumes frames. Runs on its own thread; `finish` is called once, also after an
/// error or an interrupt, so that what was written stays valid (a playable video, complete PNGs).
pub trait Sink: Send {
    /// Writes one frame. The frame is lent: the graph recycles its pixel buffer afterwards. Its
    /// pixels are on the CPU when [`Sink::pixels`] says [`PixelNeed::Cpu`] (the default).
    fn write(&mut self, frame: &Frame) -> Result<()>;

    /// The form of the pixels this sink reads.
    fn pixels(&self) -> PixelNeed {
        PixelNeed::Cpu
    }

    /// Writes one frame the sink may keep. The pipeline calls this one: by default it brings the
    /// pixels to the CPU if the sink reads them there, writes the frame as lent and gives its pixel
    /// buffer back to the pool; a sink that keeps frames (the live window) takes the pixels without
    /// copying them.
    fn write_owned(&mut self, mut frame: Frame) -> Result<()> {
        if self.pixels() == PixelNeed::Cpu {
            frame.pixels.image()?;
        }
        let written = self.write(&frame);
        frame.pixels.recycle();
        written
    }

    fn finish(&mut self) -> Result<SinkSummary>;
}

pub mod images;
pub mod null;
pub mod vcam;
pub mod video;
pub mod vmc;

use crate::source::SourceInfo;

/// Opens the sink an output path names with default settings; see [`open_with`].
pub fn open(output: &str, source: &SourceInfo) -> Result<Box<dyn Sink>> {
    open_with(output, source, &video::VideoSettings::default())
}

/// Opens the sink an output path names with the library's default guard (replaces existing files,
/// refuses the source's own file); see [`open_guarded`].
pub fn open_with(
    output: &str,
    source: &SourceInfo,
    settings: &video::VideoSettings,
) -> Result<Box<dyn Sink>> {
    open_guarded(
        output,
        source,
        settings,
        &crate::output::OutputGuard::for_source(source),
    )
}

/// True when an output string names standard output: `-`, `pipe:` or `pipe:1` (FFmpeg's names).
pub fn is_stdout_output(output: &str) -> bool {
    matches!(output, "-" | "pipe:" | "pipe:1")
}

/// Opens the sink an output path names: `null`, `-` (standard output, see
/// [`video::VideoSink::open_stdout`]), an image file (`out.png`), a numbered image sequence
/// (`frames/%05d.png`) or a video file (`out.mp4`, `.mkv`, `.mov`, `.webm`); its files are claimed
/// from `guard` ([`crate::output`]).
pub fn open_guarded(
    output: &str,
    source: &SourceInfo,
    settings: &video::VideoSettings,
    guard: &crate::output::OutputGuard,
) -> Result<Box<dyn Sink>> {
    if output == "null" {
        return Ok(Box::new(null::NullSink::default()));
    }
    if is_stdout_output(output) {
        return Ok(Box::new(video::VideoSink::open_stdout(
            source,
            settings.clone(),
        )?));
    }
    if images::is_sequence_pattern(output)
        || crate::source::images::is_image_path(std::path::Path::new(output))
    {
        return Ok(Box::new(images::ImageSink::open_guarded(
            output,
            source.frame_count,
            guard,
        )?));
    }
    Ok(Box::new(video::VideoSink::open_guarded(
        output,
        source,
        settings.clone(),
        guard,
    )?))
}
