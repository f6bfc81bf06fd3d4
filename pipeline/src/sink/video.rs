//! Video files as a sink, through FFmpeg (ffmpeg-next). The container follows the extension
//! (`.mp4`, `.mkv`, `.mov`, `.webm`, `.avi`, or anything else FFmpeg names from an extension).
//!
//! Contract:
//! - **Open** creates the file, so an unwritable path fails before any frame is processed. The
//!   encoder is set up on the first frame, whose size the video keeps; a later frame of another
//!   size is an [`Error::Output`].
//! - **Codec**: H.264 (libx264, `preset` medium, `crf` 20) by default, VP9 (libvpx-vp9) for
//!   `.webm`. Even sizes are encoded as yuv420p. Odd sizes cannot be 4:2:0 in H.264, so they are
//!   encoded as yuv444p at the exact size (High 4:4:4 profile: FFmpeg, VLC and mpv play it, some
//!   hardware players do not); VP9 takes odd 4:2:0 sizes as they are. The YUV matrix is BT.709 from
//!   720 lines up and BT.601 below, limited range, and is written into the stream.
//! - **Alpha**: when the first frame has transparency (`background:mode=transparent`), VP9 is
//!   encoded as yuva420p (WebM/Matroska keep the alpha plane) and a `.mov` without a chosen codec
//!   becomes ProRes 4444 (prores_ks, yuva444p10); any other codec is an [`Error::Output`] naming the
//!   file and the outputs that keep alpha (a PNG sequence, `.webm`, `.mov`).
//! - **Timing**: the encoder time base is the source's and each frame keeps its `pts`, so
//!   variable-rate input stays variable-rate and constant-rate input keeps its rate. AVI, which
//!   stores frame slots at one rate instead of timestamps, gets the source's nominal rate and each
//!   frame its nearest slot.
//!   A `pts` that does not increase is moved one tick after the previous one.
//! - **Audio**: when the source is a file with audio, its best audio stream is copied (no
//!   re-encode), interleaved with the video as it is written. At `finish` the rest of the audio is
//!   copied when the video ran to its end, or up to the end of the last frame when it stopped early
//!   (interrupt, damaged input). A container that cannot hold the audio codec is refused at open.
//! - **Finish** flushes the encoder and writes the trailer, so the file is valid with the frames
//!   written so far. With zero frames there is no video to write: `finish` removes the empty file
//!   and returns an [`Error::Output`] saying so.
//! - **Where**: the file is written under a temporary name beside the output and moved into place
//!   by the [`OutputGuard`] (see [`crate::output`]): a failed run leaves an earlier file untouched.
//!   A crash-safe file is written under its final name from the start (so that it is found after
//!   a crash); a run that writes no frame removes it.
//! - **Crash-safe** ([`VideoSettings::crash_safe`]): MP4/MOV are written fragmented (`movflags
//!   frag_every_frame+empty_moov+default_base_moof`), Matroska in clusters of at most 250 ms, each
//!   packet flushed to the file as it is written, and x264 runs without lookahead or B-frames
//!   (`tune=zerolatency`) so that a frame reaches the file when it is written: a process killed
//!   (`kill -9`, power loss) leaves a file that plays up to its last frames. Sizes differ from
//!   a plain file at the same `crf` (Big Buck Bunny 10% smaller, the synthetic pattern 1.8x
//!   larger): zerolatency also turns off x264's macroblock tree.
//! - **Disk full** (ENOSPC, EDQUOT) is reported at the write that fails as [`Error::DiskFull`],
//!   saying how many frames are safe: those before the failure in a crash-safe file, none in a
//!   plain MP4 (whose index is written at the end).
//!
//! Example: `doppel process in.mp4 -p stylize:style=3 -o out.mp4`.

use std::os::raw::c_int;
use std::path::{Path, PathBuf};
use std::ptr;

use ffmpeg::ffi;
use ffmpeg::format::Pixel;
use ffmpeg::media::Type as MediaType;
use ffmpeg::{codec, encoder, frame, Dictionary, Packet};
use ffmpeg_next as ffmpeg;

use super::{Sink, SinkSummary};
use crate::error::{Error, Result};
use crate::frame::{Frame, Rational};
use crate::media::{self, Layout, Matrix, Scaler};
use crate::output::{OutputGuard, Staged};
use crate::source::SourceInfo;

/// How standard output is named in messages.
pub const STDOUT_NAME: &str = "standard output";

/// How the video is encoded.
#[derive(Clone, Debug)]
pub struct VideoSettings {
    /// FFmpeg encoder name (`libx264`, `libx265`, `libvpx-vp9`, ...); `None` picks libx264, or
    /// libvpx-vp9 for `.webm`.
    pub codec: Option<String>,
    /// x264/x265 preset, `ultrafast` ... `veryslow`. For VP9 it picks the speed (`ultrafast` to
    /// `veryfast`: realtime, cpu-used 8; `faster`/`fast`: cpu-used 4; else cpu-used 2).
    pub preset: String,
    /// Constant rate factor, x264 scale (0 lossless, 18 visually lossless, 23 x264's default).
    /// For VP9 it is mapped to VP9's scale as `crf + 12` (20 -> 32).
    pub crf: u8,
    /// Target average bitrate in bits per second: when set, the encoder aims at it (average
    /// bitrate mode) instead of `crf`.
    pub bitrate: Option<u64>,
    /// Copy the input's audio when there is one.
    pub keep_audio: bool,
    /// Write a file that stays readable when the process is killed (see the module doc).
    pub crash_safe: bool,
    /// FFmpeg's container (muxer) name, `matroska`, `mp4`, `nut`, `mpegts`, `yuv4mpegpipe`
    /// (`ffmpeg -muxers`); `None` picks it from the file's extension, or YUV4MPEG for standard
    /// output.
    pub format: Option<String>,
}

impl Default for VideoSettings {
    fn default() -> Self {
        Self {
            codec: None,
            preset: "medium".to_string(),
            crf: 20,
            bitrate: None,
            keep_audio: true,
            crash_safe: false,
            format: None,
        }
    }
}

/// The encoder, set up on the first frame.
struct VideoStream {
    encoder: encoder::video::Encoder,
    index: usize,
    /// Time base of the encoder (and of the pts given to it).
    enc_tb: Rational,
    /// Time base the muxer chose for the stream.
    stream_tb: Rational,
    width: u32,
    height: u32,
    scaler: Scaler,
    rgba: frame::Video,
    yuv: frame::Video,
    last_pts: Option<i64>,
    /// One nominal frame in `enc_tb` ticks.
    frame_ticks: i64,
}

/// Copies the input's audio packets into the output.
struct AudioCopy {
    input: ffmpeg::format::context::Input,
    in_index: usize,
    in_tb: Rational,
    /// Output stream index and time base, known once the header is written.
    out_index: usize,
    out_tb: Rational,
    parameters: codec::Parameters,
    pending: Option<Packet>,
    done: bool,
    /// The part of the input's audio that goes with the frames (`--start`/`--duration`), in
    /// `in_tb` ticks: packets before `from` are left out, the rest moved back by `from`, and
    /// copying ends at `to`.
    window: Option<(i64, Option<i64>)>,
}

impl AudioCopy {
    /// Copies audio packets whose time is at or before `until` (all when `None`).
    fn copy_until(
        &mut self,
        output: &mut ffmpeg::format::context::Output,
        until: Option<(i64, Rational)>,
        path: &Path,
    ) -> Result<()> {
        loop {
            let mut packet = match self.pending.take() {
                Some(p) => p,
                None => {
                    if self.done {
                        return Ok(());
                    }
                    match self.read() {
                        Some(p) => p,
                        None => {
                            self.done = true;
                            return Ok(());
                        }
                    }
                }
            };
            if let (Some((t, tb)), Some(ts)) = (until, packet.dts().or(packet.pts())) {
                // SAFETY: pure arithmetic.
                let later = unsafe {
                    ffi::av_compare_ts(
                        ts,
                        media::to_ff(self.in_tb).into(),
                        t,
                        media::to_ff(tb).into(),
                    )
                } > 0;
                if later {
                    self.pending = Some(packet);
                    return Ok(());
                }
            }
            packet.rescale_ts(media::to_ff(self.in_tb), media::to_ff(self.out_tb));
            packet.set_stream(self.out_index);
            packet.set_position(-1);
            if let Err(e) = packet.write_interleaved(output) {
                if is_disk_full(&e) {
                    return Err(Error::output(path, format!("the disk is full: {e}")));
                }
                return Err(Error::output(path, format!("cannot write audio: {e}")));
            }
        }
    }

    /// The next audio packet, on the output's timeline; `None` at the end of the input or of the
    /// trim (or where it cannot be read further: the source reports damage itself).
    fn read(&mut self) -> Option<Packet> {
        loop {
            let mut packet = Packet::empty();
            match packet.read(&mut self.input) {
                Ok(()) if packet.stream() == self.in_index => {
                    let Some((from, to)) = self.window else {
                        return Some(packet);
                    };
                    let Some(ts) = packet.pts().or(packet.dts()) else {
                        continue;
                    };
                    if ts < from {
                        continue;
                    }
                    if to.is_some_and(|to| ts >= to) {
                        return None;
                    }
                    packet.set_pts(packet.pts().map(|t| t - from));
                    packet.set_dts(packet.dts().map(|t| t - from));
                    return Some(packet);
                }
                Ok(()) => {}
                Err(_) => return None,
            }
        }
    }
}

/// Encodes frames into a video file.
pub struct VideoSink {
    path: PathBuf,
    display: String,
    settings: VideoSettings,
    output: Option<ffmpeg::format::context::Output>,
    codec: ffmpeg::Codec,
    codec_name: String,
    source_tb: Rational,
    frame_rate: Option<Rational>,
    expected_frames: Option<u64>,
    video: Option<VideoStream>,
    audio: Option<AudioCopy>,
    written: u64,
    /// Setting up the encoder failed once: streams may be half added, so it is not retried.
    start_failed: bool,
    finished: bool,
    /// The temporary file FFmpeg writes, moved into place when finished (none for standard output).
    staged: Option<Staged>,
    /// Written to standard output: a stream that cannot seek back.
    to_pipe: bool,
    /// Video packets the muxer took without an error.
    packets_ok: u64,
    /// The container is written in pieces that stay readable when cut (fragmented MP4, Matroska).
    readable_if_cut: bool,
}

impl VideoSink {
    /// Creates `path` for frames from `source`, with default settings.
    ///
    /// # Errors
    /// [`Error::Output`] when the path cannot be created or its extension names no container that
    /// can hold the video (or the source's audio).
    pub fn open(path: impl AsRef<Path>, source: &SourceInfo) -> Result<Self> {
        Self::open_with(path, source, VideoSettings::default())
    }

    /// Creates `path` for frames from `source`.
    ///
    /// # Errors
    /// As [`VideoSink::open`]; also an unknown encoder name in `settings`.
    pub fn open_with(
        path: impl AsRef<Path>,
        source: &SourceInfo,
        settings: VideoSettings,
    ) -> Result<Self> {
        Self::open_guarded(path, source, settings, &OutputGuard::for_source(source))
    }

    /// Creates `path` for frames from `source`, claimed from `guard` (which refuses inputs and
    /// existing files as it was told, and moves the finished file into place).
    ///
    /// # Errors
    /// As [`VideoSink::open_with`]; also what `guard` refuses.
    pub fn open_guarded(
        path: impl AsRef<Path>,
        source: &SourceInfo,
        settings: VideoSettings,
        guard: &OutputGuard,
    ) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        media::init().map_err(|e| Error::output(&path, e))?;
        if media::c_path(&path).is_none() {
            return Err(Error::output(
                &path,
                "FFmpeg cannot write paths that are not valid UTF-8; choose another name",
            ));
        }
        let container_cut_ok = matches!(
            path.extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
                .as_deref(),
            Some("mkv" | "webm" | "mka")
        );
        let readable_if_cut = settings.crash_safe || container_cut_ok;
        let staged = if settings.crash_safe {
            guard.stage_in_place(&path)?
        } else {
            guard.stage(&path, readable_if_cut)?
        };
        let Some(c_path) = media::c_path(staged.temp()) else {
            return Err(Error::output(
                &path,
                "FFmpeg cannot write paths that are not valid UTF-8; choose another name",
            ));
        };
        Self::open_target(
            path,
            c_path,
            Some(staged),
            readable_if_cut,
            source,
            settings,
        )
    }

    /// Writes the video to standard output (`-o -`): YUV4MPEG (uncompressed, what `ffmpeg -i -`,
    /// `mpv -` and x264 read) unless [`VideoSettings::format`] names a container. Nothing else may
    /// write to standard output meanwhile. MP4/MOV are written fragmented (a pipe cannot seek back
    /// to the index); YUV4MPEG holds no audio, so the input's audio is left out there.
    ///
    /// # Errors
    /// [`Error::Output`] naming standard output for an unknown container or encoder.
    pub fn open_stdout(source: &SourceInfo, mut settings: VideoSettings) -> Result<Self> {
        let path = PathBuf::from(STDOUT_NAME);
        media::init().map_err(|e| Error::output(&path, e))?;
        settings
            .format
            .get_or_insert_with(|| "yuv4mpegpipe".to_string());
        let c_path = media::c_path(Path::new("pipe:1"))
            .ok_or_else(|| Error::output(&path, "cannot name standard output"))?;
        Self::open_target(path, c_path, None, true, source, settings)
    }

    /// Sets up the container and the encoder for `c_path` (a file or `pipe:1`).
    fn open_target(
        path: PathBuf,
        c_path: std::ffi::CString,
        staged: Option<Staged>,
        readable_if_cut: bool,
        source: &SourceInfo,
        settings: VideoSettings,
    ) -> Result<Self> {
        let display = path.display().to_string();
        let to_pipe = staged.is_none();
        // The container: the one named, else from the extension.
        let format_name =
            match &settings.format {
                Some(name) => Some(std::ffi::CString::new(name.as_str()).map_err(|_| {
                    Error::output(&path, format!("'{name}' is not a container name"))
                })?),
                None => None,
            };
        let mut ctx: *mut ffi::AVFormatContext = ptr::null_mut();
        // SAFETY: allocates a context or leaves `ctx` null; the result is checked.
        let ret = unsafe {
            ffi::avformat_alloc_output_context2(
                &mut ctx,
                ptr::null(),
                format_name.as_ref().map_or(ptr::null(), |f| f.as_ptr()),
                c_path.as_ptr(),
            )
        };
        if ret < 0 || ctx.is_null() {
            return Err(Error::output(
                &path,
                match &settings.format {
                    Some(name) => format!(
                        "this FFmpeg build has no container named '{name}' (`ffmpeg -muxers` lists them); e.g. matroska, mp4, nut, mpegts or yuv4mpegpipe"
                    ),
                    None => "cannot tell the video container from the extension; use .mp4, .mkv, .mov, .webm or .avi".to_string(),
                },
            ));
        }
        // SAFETY: `ctx` is a fresh output context; wrapping it makes it freed on every path below.
        let output = unsafe { ffmpeg::format::context::Output::wrap(ctx) };
        let container = output.format().name().to_string();
        let extension = path.extension().map_or_else(
            || container.clone(),
            |e| format!(".{}", e.to_string_lossy()),
        );

        // The video encoder.
        let codec_name = settings.codec.clone().unwrap_or_else(|| {
            if container == "yuv4mpegpipe" {
                // The YUV4MPEG muxer takes decoded pictures as they are (FFmpeg 5 and later).
                "wrapped_avframe".to_string()
            } else if container == "webm" {
                "libvpx-vp9".to_string()
            } else {
                "libx264".to_string()
            }
        });
        let codec = encoder::find_by_name(&codec_name)
            .filter(|c| c.is_video())
            .ok_or_else(|| {
                let hardware = media::hardware_video_encoders();
                Error::output(
                    &path,
                    format!(
                        "this FFmpeg build has no video encoder named '{codec_name}'; it has \
                         h264 (libx264), hevc (libx265), vp9 (libvpx-vp9), av1 (libsvtav1) where \
                         built in, and as hardware encoders: {} (`doppel devices` lists them, \
                         `ffmpeg -encoders` every one)",
                        if hardware.is_empty() {
                            "none".to_string()
                        } else {
                            hardware.join(", ")
                        }
                    ),
                )
            })?;
        // SAFETY: a live codec and output format.
        let (codec_id, takes_video) = unsafe {
            let id = (*codec.as_ptr()).id;
            (
                id,
                ffi::avformat_query_codec((*ctx).oformat, id, ffi::FF_COMPLIANCE_NORMAL),
            )
        };
        // SAFETY: a plain field of the live output format.
        let holds_video =
            unsafe { (*(*ctx).oformat).video_codec } != ffi::AVCodecID::AV_CODEC_ID_NONE;
        if !holds_video {
            return Err(Error::output(
                &path,
                format!(
                    "a {extension} file cannot hold video; use .mp4, .mkv, .mov, .webm or .avi"
                ),
            ));
        }
        if takes_video == 0 {
            return Err(Error::output(
                &path,
                format!(
                    "a {extension} file cannot hold {} video; choose another codec or a .mkv output",
                    media::codec_name(codec_id)
                ),
            ));
        }

        // SAFETY: a plain field of the live output format.
        let holds_audio =
            unsafe { (*(*ctx).oformat).audio_codec } != ffi::AVCodecID::AV_CODEC_ID_NONE;
        // The audio to copy. A stream to a pipe in a video-only container (YUV4MPEG) leaves it out:
        // the user chose no file name that could promise it.
        let audio = match (
            &source.path,
            source.has_audio && settings.keep_audio && (holds_audio || !to_pipe),
        ) {
            (Some(input), true) => open_audio(input, source.trim, ctx, &extension, &path)?,
            _ => None,
        };

        // Create the file now, so that an unwritable path fails before any frame is processed.
        // SAFETY: `ctx` is live; avio_open sets `pb` only on success.
        unsafe {
            if (*(*ctx).oformat).flags & ffi::AVFMT_NOFILE == 0 {
                let ret = ffi::avio_open(&mut (*ctx).pb, c_path.as_ptr(), ffi::AVIO_FLAG_WRITE);
                if ret < 0 {
                    return Err(Error::output(
                        &path,
                        media::with_log_detail(format!(
                            "cannot create the file: {}",
                            ffmpeg::Error::from(ret)
                        )),
                    ));
                }
            }
        }

        Ok(Self {
            path,
            display,
            settings,
            to_pipe,
            output: Some(output),
            codec,
            codec_name,
            source_tb: source.time_base,
            frame_rate: source.frame_rate.filter(|r| media::is_valid(*r)),
            expected_frames: source.frame_count,
            video: None,
            audio,
            written: 0,
            start_failed: false,
            finished: false,
            staged,
            packets_ok: 0,
            readable_if_cut,
        })
    }

    /// Adds the streams, opens the encoder for `width`x`height` and writes the header.
    /// The pixel format that keeps alpha for this file: VP9 in WebM/Matroska as yuva420p, ProRes
    /// 4444 as yuva444p10 (a `.mov` without a chosen codec switches from x264 to ProRes for
    /// this). Other codecs cannot hold alpha: an error naming the file and what to use instead.
    fn alpha_format(&mut self) -> Result<Pixel> {
        let container = self
            .output
            .as_ref()
            .map(|o| o.format().name().to_string())
            .unwrap_or_default();
        if self.settings.codec.is_none() && container.split(',').any(|c| c == "mov") {
            if let Some(prores) = encoder::find_by_name("prores_ks") {
                self.codec = prores;
                self.codec_name = "prores_ks".to_string();
            }
        }
        match self.codec_name.as_str() {
            "libvpx" | "libvpx-vp9" => Ok(Pixel::YUVA420P),
            "prores_ks" => Ok(Pixel::YUVA444P10LE),
            other => Err(Error::output(
                &self.path,
                format!(
                    "the frames carry transparency (e.g. background:mode=transparent) but this \
                     video sink ({container}, {other}) cannot hold alpha; write a PNG sequence \
                     (out/%05d.png), a .webm (VP9 with alpha) or a .mov (ProRes 4444)"
                ),
            )),
        }
    }

    fn start(&mut self, width: u32, height: u32, frame_tb: Rational, alpha: bool) -> Result<()> {
        let alpha_pixel = if alpha {
            Some(self.alpha_format()?)
        } else {
            None
        };
        let path = self.path.clone();
        let fail = |what: &str, e: ffmpeg::Error| {
            Error::output(&path, media::with_log_detail(format!("{what}: {e}")))
        };
        media::clear_log_error();
        let Some(output) = self.output.as_mut() else {
            return Err(Error::output(&path, "the video is already finished"));
        };
        // SAFETY: reading flags of the live output format.
        let global_header =
            unsafe { (*(*output.as_ptr()).oformat).flags & ffi::AVFMT_GLOBALHEADER != 0 };
        let rate = self.frame_rate;
        // AVI has no timestamps, only frame slots at one rate: there the encoder counts frames at
        // the nominal rate (a gap becomes skipped slots). Every other container keeps the source's
        // time base and exact timestamps.
        let cfr = matches!(output.format().name(), "avi" | "yuv4mpegpipe") && rate.is_some();
        let enc_tb = match rate {
            Some(r) if cfr => Rational::new(r.den, r.num),
            _ if media::is_valid(self.source_tb) => self.source_tb,
            _ if media::is_valid(frame_tb) => frame_tb,
            _ => rate.map_or(Rational::new(1, 30), |r| Rational::new(r.den, r.num)),
        };

        let odd = width % 2 == 1 || height % 2 == 1;
        let takes_odd_420 = matches!(
            self.codec_name.as_str(),
            "libvpx" | "libvpx-vp9" | "libaom-av1"
        );
        let supports = |p: Pixel| {
            self.codec
                .video()
                .ok()
                .and_then(|v| v.formats())
                .is_none_or(|mut f| f.any(|x| x == p))
        };
        let pixel = if let Some(p) = alpha_pixel {
            p
        } else if odd && !takes_odd_420 && supports(Pixel::YUV444P) {
            Pixel::YUV444P
        } else {
            Pixel::YUV420P
        };
        let matrix = Matrix::for_height(height);

        let mut stream = output
            .add_stream(self.codec)
            .map_err(|e| fail("cannot add the video stream", e))?;
        let index = stream.index();
        let mut enc = codec::context::Context::new_with_codec(self.codec)
            .encoder()
            .video()
            .map_err(|e| fail("cannot set up the video encoder", e))?;
        enc.set_width(width);
        enc.set_height(height);
        enc.set_format(pixel);
        enc.set_time_base(media::to_ff(enc_tb));
        enc.set_frame_rate(rate.map(media::to_ff));
        // SAFETY: plain fields of an encoder context that is not open yet; set as raw values so
        // that no Rust enum conversion is involved.
        unsafe {
            let c = enc.as_mut_ptr();
            let (space, prim, trc) = match matrix {
                Matrix::Bt709 => (
                    ffi::AVColorSpace::AVCOL_SPC_BT709,
                    ffi::AVColorPrimaries::AVCOL_PRI_BT709,
                    ffi::AVColorTransferCharacteristic::AVCOL_TRC_BT709,
                ),
                _ => (
                    ffi::AVColorSpace::AVCOL_SPC_SMPTE170M,
                    ffi::AVColorPrimaries::AVCOL_PRI_SMPTE170M,
                    ffi::AVColorTransferCharacteristic::AVCOL_TRC_SMPTE170M,
                ),
            };
            (*c).colorspace = space;
            (*c).color_primaries = prim;
            (*c).color_trc = trc;
            (*c).color_range = ffi::AVColorRange::AVCOL_RANGE_MPEG;
            if global_header {
                (*c).flags |= ffi::AV_CODEC_FLAG_GLOBAL_HEADER as c_int;
            }
        }
        let mut options = Dictionary::new();
        let preset = self.settings.preset.as_str();
        // A bitrate replaces the constant rate factor (the encoders' average-bitrate mode).
        let bitrate = self.settings.bitrate;
        if let Some(bits) = bitrate {
            enc.set_bit_rate(usize::try_from(bits).unwrap_or(usize::MAX));
        }
        let crf = |scale_up: u32| {
            bitrate.is_none().then(|| {
                (u32::from(self.settings.crf) + scale_up)
                    .min(63)
                    .to_string()
            })
        };
        match self.codec_name.as_str() {
            "libx264" | "libx264rgb" | "libx265" => {
                options.set("preset", preset);
                if let Some(crf) = crf(0) {
                    options.set("crf", &crf);
                }
                if self.settings.crash_safe {
                    // Frames leave the encoder as they enter it (no lookahead, no B-frames), so a
                    // kill loses none that were written.
                    options.set("tune", "zerolatency");
                }
            }
            "libvpx" | "libvpx-vp9" => {
                if bitrate.is_none() {
                    // Constant quality: crf with no bitrate cap.
                    enc.set_bit_rate(0);
                }
                let (deadline, speed) = match preset {
                    "ultrafast" | "superfast" | "veryfast" => ("realtime", "8"),
                    "faster" | "fast" => ("good", "4"),
                    _ => ("good", "2"),
                };
                options.set("deadline", deadline);
                options.set("cpu-used", speed);
                options.set("row-mt", "1");
                if let Some(crf) = crf(12) {
                    options.set("crf", &crf);
                }
            }
            "prores_ks" if alpha => {
                // ProRes 4444 keeps the alpha channel.
                options.set("profile", "4");
            }
            "libsvtav1" => {
                // SVT-AV1 presets are 0 (slowest) ..13; its crf scale is 0..63 (x264's + 12, as VP9).
                let speed = match preset {
                    "ultrafast" | "superfast" => "12",
                    "veryfast" | "faster" => "10",
                    "fast" | "medium" => "8",
                    _ => "6",
                };
                options.set("preset", speed);
                if let Some(crf) = crf(12) {
                    options.set("crf", &crf);
                }
            }
            _ => {}
        }
        let encoder = enc.open_with(options).map_err(|e| {
            fail(
                &format!(
                    "cannot open the {} encoder for {width}x{height} {pixel:?}",
                    self.codec_name
                ),
                e,
            )
        })?;
        stream.set_parameters(&encoder);
        stream.set_time_base(media::to_ff(enc_tb));

        if let Some(audio) = self.audio.as_mut() {
            let mut stream = output
                .add_stream(encoder::find(codec::Id::None))
                .map_err(|e| fail("cannot add the audio stream", e))?;
            stream.set_parameters(audio.parameters.clone());
            stream.set_time_base(media::to_ff(audio.in_tb));
            // SAFETY: a live stream's parameters; the input's codec tag may not fit the new
            // container, so let the muxer choose.
            unsafe { (*stream.parameters().as_mut_ptr()).codec_tag = 0 };
            audio.out_index = stream.index();
        }

        let mut header = Dictionary::new();
        let container = output.format().name().to_string();
        if self.to_pipe && matches!(container.as_str(), "mp4" | "mov") {
            // A pipe cannot seek back to write the index: fragments carry it as they go.
            header.set("movflags", "+frag_keyframe+empty_moov+default_base_moof");
        } else if self.settings.crash_safe {
            // SAFETY: a plain field of the live output context: flush the file after every packet.
            unsafe { (*output.as_mut_ptr()).flush_packets = 1 };
            match container.as_str() {
                "mp4" | "mov" => {
                    header.set("movflags", "+frag_every_frame+empty_moov+default_base_moof");
                }
                "matroska" | "webm" => {
                    header.set("cluster_time_limit", "250");
                }
                _ => {}
            }
        } else if matches!(container.as_str(), "mp4" | "mov") {
            header.set("movflags", "+faststart");
        }
        output
            .write_header_with(header)
            .map_err(|e| fail("cannot write the video header", e))?;
        let stream_tb = output
            .stream(index)
            .map(|s| media::from_ff(s.time_base()))
            .filter(|tb| media::is_valid(*tb))
            .unwrap_or(enc_tb);
        if let Some(audio) = self.audio.as_mut() {
            audio.out_tb = output
                .stream(audio.out_index)
                .map(|s| media::from_ff(s.time_base()))
                .filter(|tb| media::is_valid(*tb))
                .unwrap_or(audio.in_tb);
        }

        let scaler = Scaler::new(
            Layout {
                format: Pixel::RGBA,
                width,
                height,
            },
            Layout {
                format: pixel,
                width,
                height,
            },
            matrix,
            false,
        )
        .map_err(|e| Error::output(&path, e))?;
        let frame_ticks = rate
            .map(|r| media::rescale(1, Rational::new(r.den, r.num), enc_tb))
            .unwrap_or(1)
            .max(1);
        self.video = Some(VideoStream {
            encoder,
            index,
            enc_tb,
            stream_tb,
            width,
            height,
            scaler,
            rgba: frame::Video::new(Pixel::RGBA, width, height),
            yuv: frame::Video::new(pixel, width, height),
            last_pts: None,
            frame_ticks,
        });
        Ok(())
    }

    /// Writes every packet the encoder has ready, copying audio up to each packet's time first.
    fn drain(&mut self) -> Result<()> {
        let (Some(video), Some(output)) = (self.video.as_mut(), self.output.as_mut()) else {
            return Ok(());
        };
        let mut packet = Packet::empty();
        loop {
            match video.encoder.receive_packet(&mut packet) {
                Ok(()) => {
                    if packet.duration() <= 0 {
                        packet.set_duration(video.frame_ticks);
                    }
                    packet.set_stream(video.index);
                    packet.rescale_ts(media::to_ff(video.enc_tb), media::to_ff(video.stream_tb));
                    if let (Some(audio), Some(t)) =
                        (self.audio.as_mut(), packet.dts().or(packet.pts()))
                    {
                        audio.copy_until(output, Some((t, video.stream_tb)), &self.path)?;
                    }
                    if let Err(e) = packet.write_interleaved(output) {
                        return Err(write_error(
                            &self.path,
                            e,
                            self.written,
                            self.packets_ok,
                            self.settings.crash_safe,
                        ));
                    }
                    self.packets_ok += 1;
                }
                Err(ffmpeg::Error::Other {
                    errno: ffmpeg::util::error::EAGAIN,
                })
                | Err(ffmpeg::Error::Eof) => return Ok(()),
                Err(e) => {
                    return Err(Error::output(
                        &self.path,
                        format!("the video encoder failed: {e}"),
                    ))
                }
            }
        }
    }

    fn summary(&self) -> SinkSummary {
        SinkSummary {
            frames: self.written,
            target: self.display.clone(),
        }
    }

    /// Flushes the encoder, copies the remaining audio and writes the trailer.
    fn close(&mut self) -> Result<()> {
        let mut first_error = None;
        if let Some(video) = self.video.as_mut() {
            // An error only means the encoder was flushed already.
            let _ = video.encoder.send_eof();
        }
        if let Err(e) = self.drain() {
            first_error.get_or_insert(e);
        }
        let complete = self.expected_frames.is_none_or(|n| self.written >= n);
        let until = match &self.video {
            Some(v) if !complete => v.last_pts.map(|p| (p + v.frame_ticks, v.enc_tb)),
            _ => None,
        };
        if let (Some(audio), Some(output)) = (self.audio.as_mut(), self.output.as_mut()) {
            if let Err(e) = audio.copy_until(output, until, &self.path) {
                first_error.get_or_insert(e);
            }
        }
        if let Some(output) = self.output.as_mut() {
            if let Err(e) = output.write_trailer() {
                first_error.get_or_insert(Error::output(
                    &self.path,
                    format!("cannot finish the video file: {e}"),
                ));
            }
        }
        // Closing the file.
        self.output = None;
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Opens the input's best audio stream for copying, checking that the container can hold it.
fn open_audio(
    input_path: &Path,
    trim: Option<crate::source::trim::TrimWindow>,
    ctx: *mut ffi::AVFormatContext,
    extension: &str,
    path: &Path,
) -> Result<Option<AudioCopy>> {
    if !media::path_ok(input_path) {
        return Ok(None);
    }
    let mut input = ffmpeg::format::input(input_path)
        .map_err(|e| Error::input(input_path, format!("cannot read its audio: {e}")))?;
    let Some(stream) = input.streams().best(MediaType::Audio) else {
        return Ok(None);
    };
    let in_index = stream.index();
    let in_tb = media::from_ff(stream.time_base());
    let parameters = stream.parameters();
    // SAFETY: plain fields of live parameters and of the output format.
    let (id, fits) = unsafe {
        let id = (*parameters.as_ptr()).codec_id;
        (
            id,
            ffi::avformat_query_codec((*ctx).oformat, id, ffi::FF_COMPLIANCE_NORMAL),
        )
    };
    if fits == 0 {
        return Err(Error::output(
            path,
            format!(
                "a {extension} file cannot hold the input's {} audio, which is copied as it is; \
                 write .mkv (holds any audio) or .mp4/.mov instead",
                media::codec_name(id)
            ),
        ));
    }
    // SAFETY: `streams` holds `nb_streams` live stream pointers.
    unsafe {
        let c = input.as_mut_ptr();
        for i in 0..(*c).nb_streams as usize {
            if i != in_index {
                (**(*c).streams.add(i)).discard = ffi::AVDiscard::AVDISCARD_ALL;
            }
        }
    }
    let window = trim.map(|t| {
        let ticks = |seconds: f64| (seconds / in_tb.as_f64()).round() as i64;
        if t.from > 2.0 {
            // Start reading near the trim (the packets before it are left out as they come); 2 s
            // early, because the demuxer seeks by the video's keyframes and audio may be stored
            // in chunks ahead of the video.
            let target = ((t.from - 2.0) * f64::from(ffi::AV_TIME_BASE)) as i64;
            let _ = input.seek(target, ..target);
        }
        (ticks(t.from), t.to.map(ticks))
    });
    Ok(Some(AudioCopy {
        input,
        in_index,
        in_tb,
        out_index: 0,
        out_tb: in_tb,
        parameters,
        pending: None,
        done: false,
        window,
    }))
}

/// True for a write that failed because the disk or the quota is full.
fn is_disk_full(e: &ffmpeg::Error) -> bool {
    matches!(e, ffmpeg::Error::Other { errno } if *errno == libc::ENOSPC || *errno == libc::EDQUOT)
}

/// The error for a failed video write: [`Error::DiskFull`] with the frames that are safe when the
/// disk is full, else [`Error::Output`].
fn write_error(
    path: &Path,
    e: ffmpeg::Error,
    written: u64,
    packets_ok: u64,
    crash_safe: bool,
) -> Error {
    if !is_disk_full(&e) {
        return Error::output(path, format!("cannot write video: {e}"));
    }
    if crash_safe {
        // Each packet is flushed as it is written; the muxer holds back the last one (it closes a
        // fragment or cluster when the next packet arrives), so count it as lost.
        let safe = packets_ok.saturating_sub(1);
        Error::DiskFull {
            path: path.to_path_buf(),
            written,
            safe,
            kept: true,
            message: format!(
                "the disk is full ({e}) at frame {}: the {safe} frames before it are safe in {} \
                 (a crash-safe file); free some space and run again for the rest",
                written + 1,
                path.display()
            ),
        }
    } else {
        Error::DiskFull {
            path: path.to_path_buf(),
            written,
            safe: 0,
            kept: false,
            message: format!(
                "the disk is full ({e}) at frame {}: none of the {written} frames written can be \
                 kept, because a file that is not crash-safe is only readable once finished; the \
                 unfinished file was removed and an earlier {} (if any) is unchanged. Free some \
                 space, or write with --crash-safe to keep the frames written before the disk fills",
                written + 1,
                path.display()
            ),
        }
    }
}

impl Sink for VideoSink {
    fn write(&mut self, frame: &Frame) -> Result<()> {
        if self.finished {
            return Err(Error::output(&self.path, "the video is already finished"));
        }
        let image = frame.cpu_image()?;
        let (width, height) = image.dimensions();
        if self.video.is_none() {
            if self.start_failed {
                return Err(Error::output(
                    &self.path,
                    "the video could not be started (see the first error)",
                ));
            }
            self.start_failed = true;
            // Frames with transparency (e.g. `background:mode=transparent`) keep it where the
            // codec can: decided on the first frame.
            let alpha = image.pixels().any(|p| p[3] < 255);
            self.start(width, height, frame.pts.time_base, alpha)?;
            self.start_failed = false;
        }
        let Some(video) = self.video.as_mut() else {
            return Err(Error::output(&self.path, "the video encoder is not set up"));
        };
        if (width, height) != (video.width, video.height) {
            return Err(Error::output(
                &self.path,
                format!(
                    "frame {} is {width}x{height} but the video was started at {}x{}; all frames of a video must share one size",
                    frame.seq, video.width, video.height
                ),
            ));
        }

        // Pixels into FFmpeg's padded RGBA frame.
        let row = width as usize * 4;
        let stride = video.rgba.stride(0);
        let src = image.as_raw();
        let dst = video.rgba.data_mut(0);
        for (y, line) in src.chunks_exact(row).enumerate() {
            let start = y * stride;
            let Some(out) = dst.get_mut(start..start + row) else {
                return Err(Error::output(&self.path, "internal frame buffer too small"));
            };
            out.copy_from_slice(line);
        }
        // SAFETY: a live, allocated frame; the encoder may still hold a reference to its buffer,
        // in which case this gives it a fresh one.
        let ret = unsafe { ffi::av_frame_make_writable(video.yuv.as_mut_ptr()) };
        if ret < 0 {
            return Err(Error::output(
                &self.path,
                format!("out of memory for a frame: {}", ffmpeg::Error::from(ret)),
            ));
        }
        video
            .scaler
            .run(&video.rgba, &mut video.yuv)
            .map_err(|e| Error::output(&self.path, e))?;

        // Timing.
        let time_base = if media::is_valid(frame.pts.time_base) {
            frame.pts.time_base
        } else {
            video.enc_tb
        };
        // In constant-rate containers `enc_tb` is one frame, so this is the frame's position.
        let mut pts = media::rescale(frame.pts.pts, time_base, video.enc_tb);
        if let Some(last) = video.last_pts {
            if pts <= last {
                pts = last + 1;
            }
        }
        video.last_pts = Some(pts);
        video.yuv.set_pts(Some(pts));
        video
            .encoder
            .send_frame(&video.yuv)
            .map_err(|e| Error::output(&self.path, format!("the video encoder failed: {e}")))?;
        self.drain()?;
        self.written += 1;
        Ok(())
    }

    fn finish(&mut self) -> Result<SinkSummary> {
        if self.finished {
            return Ok(self.summary());
        }
        self.finished = true;
        if self.video.is_none() {
            // Nothing was encoded: no header, no valid file. Remove the empty file.
            self.output = None;
            if let Some(staged) = &self.staged {
                staged.discard();
            }
            return Err(Error::output(
                &self.path,
                "no frames arrived, so no video was written (an earlier file there is unchanged)",
            ));
        }
        let closed = self.close();
        // A cut-off crash-safe file (the disk filled up) still holds its frames: keep it, and
        // let the caller's guard decide whether it replaces an earlier file.
        if closed.is_ok() || (self.readable_if_cut && self.packets_ok > 1) {
            if let Some(staged) = &self.staged {
                staged.complete()?;
            }
        }
        closed?;
        Ok(self.summary())
    }
}

impl Drop for VideoSink {
    /// A sink dropped without `finish` (a caller that bailed out early) still leaves a valid file,
    /// or no file when nothing was written.
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.finish();
        }
    }
}
