//! Video files as a source, through FFmpeg (ffmpeg-next): any container and codec the linked FFmpeg
//! reads.
//!
//! Contract:
//! - **Output**: the best video stream, decoded and converted to RGBA8 at the coded size, then made
//!   upright by the stream's display matrix (90/180/270 degrees, as `ffmpeg`/`ffplay` show it; the
//!   size in [`SourceInfo`] is the displayed size). Colours use the matrix the stream declares;
//!   untagged video is read as BT.709 from 720 lines up and BT.601 below, as players do.
//! - **Timing**: each frame's `best_effort_timestamp` in the stream time base, so variable-rate
//!   files keep their timing; `seq` counts from 0 without gaps.
//! - **Damage**: every decodable frame is delivered, then [`Error::Truncated`] is returned when the
//!   demuxer or decoder reported an error, a frame was marked corrupt, or (MP4/MOV) fewer frames
//!   could be read than the container's index lists.
//!
//! Example: `doppel process holiday.mp4 -p deglare -o out.mp4`.

use std::os::raw::c_int;
use std::path::{Path, PathBuf};

use ffmpeg::ffi;
use ffmpeg::format::Pixel;
use ffmpeg::media::Type as MediaType;
use ffmpeg::{codec, frame, Packet};
use ffmpeg_next as ffmpeg;
use image::RgbaImage;

use super::{Source, SourceInfo};
use crate::error::{Error, Result};
use crate::frame::{Frame, Rational, Timestamp};
use crate::media::{self, Layout, Matrix, Scaler};

/// After this many demuxer errors in a row the rest of the file is given up.
const MAX_READ_ERRORS: u32 = 32;
/// After this many decoder errors in a row without a frame the rest of the file is given up.
const MAX_DECODE_ERRORS: u32 = 256;

/// How the decoded picture is turned to be upright, clockwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rotation {
    None,
    Cw90,
    Cw180,
    Cw270,
}

impl Rotation {
    /// From `av_display_rotation_get`'s angle (counter-clockwise degrees), as the `ffmpeg` tool
    /// applies it. Angles that are not a multiple of 90 degrees are ignored.
    pub fn from_display_angle(ccw_degrees: f64) -> Self {
        if !ccw_degrees.is_finite() {
            return Rotation::None;
        }
        let cw = (-ccw_degrees).rem_euclid(360.0);
        let quarter = (cw / 90.0).round();
        if (cw - quarter * 90.0).abs() > 1.0 {
            return Rotation::None;
        }
        match quarter as i64 % 4 {
            1 => Rotation::Cw90,
            2 => Rotation::Cw180,
            3 => Rotation::Cw270,
            _ => Rotation::None,
        }
    }

    /// Degrees clockwise.
    pub fn degrees(self) -> u32 {
        match self {
            Rotation::None => 0,
            Rotation::Cw90 => 90,
            Rotation::Cw180 => 180,
            Rotation::Cw270 => 270,
        }
    }

    fn swaps_axes(self) -> bool {
        matches!(self, Rotation::Cw90 | Rotation::Cw270)
    }

    fn apply(self, image: RgbaImage) -> RgbaImage {
        match self {
            Rotation::None => image,
            Rotation::Cw90 => image::imageops::rotate90(&image),
            Rotation::Cw180 => image::imageops::rotate180(&image),
            Rotation::Cw270 => image::imageops::rotate270(&image),
        }
    }
}

/// How long the container says the video lasts, for files without a frame index (Matroska/WebM
/// and other formats that store a duration in their header).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Declared {
    /// The video stream's own end time in seconds (Matroska `DURATION` tag): exact.
    Stream(f64),
    /// The whole file's start and duration in seconds: other streams may run longer, so only a
    /// large shortfall counts.
    File { start: f64, duration: f64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading packets.
    Reading,
    /// End of input sent to the decoder; taking out the last frames.
    Draining,
    /// Everything delivered (or the end was reported).
    Done,
}

/// A decoding video file.
pub struct VideoSource {
    info: SourceInfo,
    path: PathBuf,
    input: ffmpeg::format::context::Input,
    stream_index: usize,
    decoder: ffmpeg::decoder::Video,
    rotation: Rotation,
    /// Size frames are converted to before rotation.
    coded: (u32, u32),
    scaler: Option<Scaler>,
    decoded: frame::Video,
    rgba: frame::Video,
    state: State,
    /// Frames delivered so far (= next `seq`).
    delivered: u64,
    /// Video packets read so far.
    packets: u64,
    /// Packets the container's index lists (MP4/MOV only).
    index_entries: Option<u64>,
    /// The video's duration as the container declares it (when there is no index).
    declared: Option<Declared>,
    /// The first sign of damage.
    damage: Option<String>,
    read_errors: u32,
    decode_errors: u32,
    last_pts: Option<i64>,
    /// Nominal frame duration in stream ticks, for frames without a timestamp.
    tick_step: i64,
    /// The video stream's start time in seconds (0 when the container gives none).
    origin: f64,
}

impl VideoSource {
    /// Opens a video file and prepares its decoder.
    ///
    /// # Errors
    /// [`Error::Input`] when the file is missing, unreadable, not a video, or its codec has no
    /// decoder in this FFmpeg build.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        media::init().map_err(|e| Error::input(&path, e))?;
        if !path.exists() {
            return Err(Error::input(&path, "no such file"));
        }
        if path.is_dir() {
            return Err(Error::input(&path, "is a folder, not a video file"));
        }
        if !media::path_ok(&path) {
            return Err(Error::input(
                &path,
                "FFmpeg cannot open paths that are not valid UTF-8; rename the file",
            ));
        }
        Self::open_url(&path, &path, true)
    }

    /// Reads a container or a YUV4MPEG stream from standard input (`-`, `pipe:` or `pipe:0`), as
    /// `ffmpeg -i -` does. A pipe cannot be read twice, so its audio is not copied (the sinks copy
    /// audio by reading the file again); the frame count is unknown unless the container says.
    ///
    /// # Errors
    /// [`Error::Input`] naming `standard input` when nothing readable arrives.
    pub fn open_stdin(input: &str) -> Result<Self> {
        media::init().map_err(|e| Error::input(input, e))?;
        let url = match input {
            "-" | "pipe:" => "pipe:0",
            other => other,
        };
        Self::open_url(Path::new("standard input"), Path::new(url), false)
    }

    /// Opens `url` (a path or an FFmpeg URL); `shown` names it in messages; `is_file` says whether
    /// it can be read again (for its audio) and seeked.
    fn open_url(shown: &Path, url: &Path, is_file: bool) -> Result<Self> {
        let path = shown.to_path_buf();
        let not_video = |why: String| {
            Error::input(
                &path,
                media::with_log_detail(format!("not a readable video: {why}")),
            )
        };
        media::clear_log_error();
        let mut input = ffmpeg::format::input(&url).map_err(|e| match e {
            ffmpeg::Error::Other {
                errno: ffmpeg::util::error::ENOENT,
            } => Error::input(&path, "no such file"),
            ffmpeg::Error::Other {
                errno: ffmpeg::util::error::EACCES,
            } => Error::input(&path, format!("cannot read the file: {e}")),
            e => not_video(e.to_string()),
        })?;

        let has_audio = input
            .streams()
            .any(|s| s.parameters().medium() == MediaType::Audio);

        let stream = input
            .streams()
            .best(MediaType::Video)
            .ok_or_else(|| not_video("it has no video stream".into()))?;
        // SAFETY: reading plain fields of a live stream.
        let attached_pic = unsafe {
            (*stream.as_ptr()).disposition & ffi::AV_DISPOSITION_ATTACHED_PIC as c_int != 0
        };
        if attached_pic {
            return Err(not_video(
                "its only picture is attached cover art, not a video stream".into(),
            ));
        }
        let stream_index = stream.index();
        let time_base = media::from_ff(stream.time_base());
        if !media::is_valid(time_base) {
            return Err(not_video("the video stream has no time base".into()));
        }
        let frame_rate = [stream.avg_frame_rate(), stream.rate()]
            .into_iter()
            .map(media::from_ff)
            .find(|r| media::is_valid(*r));
        let frame_count = (stream.frames() > 0)
            .then(|| stream.frames() as u64)
            .or_else(|| {
                let rate = frame_rate?.as_f64();
                let seconds = if stream.duration() > 0 {
                    stream.duration() as f64 * time_base.as_f64()
                } else if input.duration() > 0 {
                    input.duration() as f64 / f64::from(ffi::AV_TIME_BASE)
                } else {
                    return None;
                };
                Some((seconds * rate).round().max(1.0) as u64)
            });
        let rotation = display_rotation(&stream);
        let origin = if stream.start_time() == ffi::AV_NOPTS_VALUE {
            0.0
        } else {
            stream.start_time() as f64 * time_base.as_f64()
        };
        // SAFETY: the index of a live stream.
        let entries = unsafe { ffi::avformat_index_get_entries_count(stream.as_ptr()) };
        let is_mov = input.format().name().contains("mp4");
        let index_entries = (is_mov && entries > 0).then_some(entries as u64);
        let declared = if is_mov {
            None
        } else {
            declared_duration(&input, &stream)
        };

        let mut context = codec::context::Context::from_parameters(stream.parameters())
            .map_err(|e| not_video(format!("cannot set up its decoder: {e}")))?;
        context.set_threading(codec::threading::Config {
            kind: codec::threading::Type::Frame,
            count: 0,
            ..Default::default()
        });
        // SAFETY: reading the codec id of live parameters.
        let codec_id = unsafe { (*stream.parameters().as_ptr()).codec_id };
        let mut decoder = context.decoder();
        decoder.set_packet_time_base(stream.time_base());
        let decoder = decoder.video().map_err(|e| {
            not_video(format!(
                "this FFmpeg build cannot decode its {} video ({e})",
                media::codec_name(codec_id)
            ))
        })?;
        let (width, height) = (decoder.width(), decoder.height());
        if width == 0 || height == 0 {
            return Err(not_video("the video stream has no picture size".into()));
        }

        // Only the video stream is needed: let the demuxer skip the others.
        // SAFETY: `streams` holds `nb_streams` live stream pointers.
        unsafe {
            let ctx = input.as_mut_ptr();
            for i in 0..(*ctx).nb_streams as usize {
                if i != stream_index {
                    (**(*ctx).streams.add(i)).discard = ffi::AVDiscard::AVDISCARD_ALL;
                }
            }
        }

        let (out_w, out_h) = if rotation.swaps_axes() {
            (height, width)
        } else {
            (width, height)
        };
        let tick_step = frame_rate
            .map(|r| media::rescale(1, Rational::new(r.den, r.num), time_base))
            .unwrap_or(1)
            .max(1);
        let info = SourceInfo {
            name: path.display().to_string(),
            path: is_file.then(|| path.clone()),
            width: out_w,
            height: out_h,
            frame_rate,
            time_base,
            frame_count,
            has_audio,
            live: false,
            trim: None,
        };
        Ok(Self {
            info,
            path,
            input,
            stream_index,
            decoder,
            rotation,
            coded: (width, height),
            scaler: None,
            decoded: frame::Video::empty(),
            rgba: frame::Video::new(Pixel::RGBA, width, height),
            state: State::Reading,
            delivered: 0,
            packets: 0,
            index_entries,
            declared,
            damage: None,
            read_errors: 0,
            decode_errors: 0,
            last_pts: None,
            tick_step,
            origin,
        })
    }

    /// The rotation applied to decoded pictures.
    pub fn rotation(&self) -> Rotation {
        self.rotation
    }

    fn note_damage(&mut self, message: String) {
        self.damage.get_or_insert(message);
    }

    /// Reads one packet and feeds it to the decoder, or signals the end of input.
    fn feed(&mut self) {
        media::clear_log_error();
        let mut packet = Packet::empty();
        match packet.read(&mut self.input) {
            Ok(()) => {
                self.read_errors = 0;
                if packet.stream() != self.stream_index {
                    return;
                }
                self.packets += 1;
                if packet.is_corrupt() {
                    let n = self.packets;
                    self.note_damage(media::with_log_detail(format!(
                        "video packet {n} is incomplete or damaged"
                    )));
                }
                if let Err(e) = self.decoder.send_packet(&packet) {
                    let n = self.packets;
                    self.note_damage(media::with_log_detail(format!(
                        "decoding video packet {n} failed: {e}"
                    )));
                }
            }
            Err(ffmpeg::Error::Eof) => self.start_draining(),
            Err(e) => {
                let after = self.packets;
                self.note_damage(media::with_log_detail(format!(
                    "reading failed after {after} video packets: {e}"
                )));
                self.read_errors += 1;
                if self.read_errors >= MAX_READ_ERRORS {
                    self.start_draining();
                }
            }
        }
    }

    fn start_draining(&mut self) {
        // An error here only means the decoder was already flushed.
        let _ = self.decoder.send_eof();
        self.state = State::Draining;
    }

    /// The end of the stream: `Ok(None)`, or the damage found on the way.
    fn end(&mut self) -> Result<Option<Frame>> {
        self.state = State::Done;
        let message = self
            .damage
            .take()
            .or_else(|| {
                let listed = self.index_entries?;
                (self.packets < listed).then(|| {
                    format!(
                        "the container's index lists {listed} video frames but only {} could be read",
                        self.packets
                    )
                })
            })
            .or_else(|| self.short_of_declared_duration());
        match message {
            Some(message) => Err(Error::Truncated {
                path: self.path.clone(),
                decoded: self.delivered,
                message,
            }),
            None => Ok(None),
        }
    }

    /// A message when the video stopped well before the duration the container declares.
    fn short_of_declared_duration(&self) -> Option<String> {
        let declared = self.declared?;
        let tb = self.info.time_base.as_f64();
        let end = self
            .last_pts
            .map_or(0.0, |p| (p + self.tick_step) as f64 * tb);
        let (limit, what) = match declared {
            Declared::Stream(d) => (d - (3.0 * self.tick_step as f64 * tb).max(0.5), d),
            Declared::File { start, duration } => {
                (start + duration - (0.1 * duration).max(2.0), duration)
            }
        };
        (end < limit).then(|| {
            format!(
                "the file declares {what:.2} s but its video ends at {:.2} s",
                end - match declared {
                    Declared::File { start, .. } => start,
                    Declared::Stream(_) => 0.0,
                }
            )
        })
    }

    /// Turns the decoder's current frame into an upright RGBA frame.
    fn convert(&mut self) -> Result<Frame> {
        let src = Layout {
            format: self.decoded.format(),
            width: self.decoded.width(),
            height: self.decoded.height(),
        };
        if src.format == Pixel::None || src.width == 0 || src.height == 0 {
            return Err(Error::Truncated {
                path: self.path.clone(),
                decoded: self.delivered,
                message: "the decoder returned an empty picture".into(),
            });
        }
        // SAFETY: reading plain integer fields of a live frame. They are read as integers, not as
        // Rust enums, so that values this build does not know cannot cause undefined behaviour.
        let (colorspace, range) = unsafe {
            let f = self.decoded.as_ptr();
            (
                *std::ptr::addr_of!((*f).colorspace).cast::<c_int>(),
                *std::ptr::addr_of!((*f).color_range).cast::<c_int>(),
            )
        };
        let matrix = Matrix::from_tag(colorspace, self.coded.1);
        let full = range == ffi::AVColorRange::AVCOL_RANGE_JPEG as c_int;
        let reuse = self
            .scaler
            .as_ref()
            .is_some_and(|s| s.src() == src && s.has_colors(matrix, full));
        if !reuse {
            let dst = Layout {
                format: Pixel::RGBA,
                width: self.coded.0,
                height: self.coded.1,
            };
            let scaler = Scaler::new(src, dst, matrix, full).map_err(|e| {
                Error::input(
                    &self.path,
                    format!("cannot convert its pictures to RGBA: {e}"),
                )
            })?;
            self.scaler = Some(scaler);
        }
        let Some(scaler) = self.scaler.as_mut() else {
            return Err(Error::input(&self.path, "pixel converter missing"));
        };
        scaler
            .run(&self.decoded, &mut self.rgba)
            .map_err(|e| Error::input(&self.path, format!("cannot convert a picture: {e}")))?;

        // Copy the rows into a packed image (FFmpeg pads its lines).
        let (w, h) = self.coded;
        let row = w as usize * 4;
        let stride = self.rgba.stride(0);
        let data = self.rgba.data(0);
        let mut pixels = crate::bufpool::take(row * h as usize);
        for (y, out) in pixels.chunks_exact_mut(row).enumerate() {
            let start = y * stride;
            let Some(line) = data.get(start..start + row) else {
                return Err(Error::input(&self.path, "converted picture is too small"));
            };
            out.copy_from_slice(line);
        }
        let image = RgbaImage::from_raw(w, h, pixels)
            .ok_or_else(|| Error::input(&self.path, "converted picture has the wrong size"))?;
        let image = self.rotation.apply(image);

        let pts = match self.decoded.timestamp() {
            Some(pts) => pts,
            None => self.last_pts.map_or(0, |p| p + self.tick_step),
        };
        self.last_pts = Some(pts);
        if self.decoded.is_corrupt() {
            let n = self.delivered;
            self.note_damage(format!("frame {n} was decoded with errors"));
        }
        let seq = self.delivered;
        self.delivered += 1;
        Ok(Frame::new(
            seq,
            Timestamp::new(pts, self.info.time_base),
            image,
        ))
    }
}

/// The duration a header declares: the stream's `DURATION` tag, else the file's duration when the
/// container stored it (not estimated from timestamps or bit rate).
fn declared_duration(
    input: &ffmpeg::format::context::Input,
    stream: &ffmpeg::format::stream::Stream,
) -> Option<Declared> {
    if let Some(tag) = stream.metadata().get("DURATION") {
        return parse_clock(tag).map(Declared::Stream);
    }
    // SAFETY: reading plain fields of the live context.
    let (from_header, start) = unsafe {
        let ctx = input.as_ptr();
        (
            (*ctx).duration_estimation_method
                == ffi::AVDurationEstimationMethod::AVFMT_DURATION_FROM_STREAM,
            (*ctx).start_time,
        )
    };
    let scale = f64::from(ffi::AV_TIME_BASE);
    let duration = input.duration();
    (from_header && duration > 0).then(|| Declared::File {
        start: if start == ffi::AV_NOPTS_VALUE {
            0.0
        } else {
            start as f64 / scale
        },
        duration: duration as f64 / scale,
    })
}

/// Seconds from a `DURATION` tag (`HH:MM:SS.fraction`), read as `--start` reads times; `None`
/// for anything else or zero.
fn parse_clock(text: &str) -> Option<f64> {
    if text.trim().split(':').count() != 3 {
        return None;
    }
    super::trim::parse_time(text).ok().filter(|t| *t > 0.0)
}

/// The rotation the stream's display matrix asks for.
fn display_rotation(stream: &ffmpeg::format::stream::Stream) -> Rotation {
    let mut size: usize = 0;
    // SAFETY: av_stream_get_side_data returns a pointer into the stream's side data (or null) and
    // its size; the matrix is copied out before use.
    unsafe {
        let data = ffi::av_stream_get_side_data(
            stream.as_ptr(),
            ffi::AVPacketSideDataType::AV_PKT_DATA_DISPLAYMATRIX,
            &mut size,
        );
        if data.is_null() || size < 36 {
            return Rotation::None;
        }
        let bytes = std::slice::from_raw_parts(data, 36);
        let mut matrix = [0i32; 9];
        for (m, chunk) in matrix.iter_mut().zip(bytes.chunks_exact(4)) {
            *m = i32::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        Rotation::from_display_angle(ffi::av_display_rotation_get(matrix.as_ptr()))
    }
}

impl Source for VideoSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn origin(&self) -> f64 {
        self.origin
    }

    /// Jumps to the keyframe at or before `seconds`. A pipe cannot seek: there the frames before
    /// are decoded and dropped by the caller.
    fn seek_before(&mut self, seconds: f64) -> Result<()> {
        if self.info.path.is_none() || self.delivered > 0 {
            return Ok(());
        }
        let target = (seconds * f64::from(ffi::AV_TIME_BASE)) as i64;
        if self.input.seek(target, ..target).is_ok() {
            self.decoder.flush();
            // The packets before the keyframe are skipped, so the index no longer counts them.
            self.index_entries = None;
        }
        Ok(())
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        loop {
            if self.state == State::Done {
                return Ok(None);
            }
            match self.decoder.receive_frame(&mut self.decoded) {
                Ok(()) => {
                    self.decode_errors = 0;
                    return self.convert().map(Some);
                }
                Err(ffmpeg::Error::Other {
                    errno: ffmpeg::util::error::EAGAIN,
                }) => {
                    if self.state == State::Draining {
                        // Nothing more will come out.
                        return self.end();
                    }
                    self.feed();
                }
                Err(ffmpeg::Error::Eof) => return self.end(),
                Err(e) => {
                    let n = self.delivered;
                    self.note_damage(media::with_log_detail(format!(
                        "decoding failed after frame {n}: {e}"
                    )));
                    self.decode_errors += 1;
                    if self.decode_errors >= MAX_DECODE_ERRORS {
                        return self.end();
                    }
                    if self.state == State::Reading {
                        self.feed();
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_from_angle() {
        assert_eq!(Rotation::from_display_angle(0.0), Rotation::None);
        assert_eq!(Rotation::from_display_angle(-90.0), Rotation::Cw90);
        assert_eq!(Rotation::from_display_angle(90.0), Rotation::Cw270);
        assert_eq!(Rotation::from_display_angle(180.0), Rotation::Cw180);
        assert_eq!(Rotation::from_display_angle(-180.0), Rotation::Cw180);
        assert_eq!(Rotation::from_display_angle(270.0), Rotation::Cw90);
        assert_eq!(Rotation::from_display_angle(45.0), Rotation::None);
        assert_eq!(Rotation::from_display_angle(f64::NAN), Rotation::None);
    }

    #[test]
    fn clock() {
        assert_eq!(parse_clock("00:00:02.000000000"), Some(2.0));
        assert_eq!(parse_clock("01:02:03.5"), Some(3723.5));
        assert_eq!(parse_clock("nonsense"), None);
        assert_eq!(parse_clock("1:2:3:4"), None);
    }
}
