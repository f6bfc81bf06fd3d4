//! Shared FFmpeg plumbing for the video source and sink: one-time initialisation, the version string
//! for `doppel doctor`, path conversion, time-base helpers and a colour-aware pixel converter
//! (swscale) that may move between threads.
//!
//! FFmpeg's own log is set to quiet: every failure reaches the user once, through [`crate::Error`].

use std::ffi::{CStr, CString};
use std::os::raw::c_int;
use std::path::Path;
use std::ptr;
use std::sync::OnceLock;

use ffmpeg::ffi;
use ffmpeg::format::Pixel;
use ffmpeg::frame;
use ffmpeg_next as ffmpeg;

use crate::frame::Rational;

static INIT: OnceLock<Result<(), String>> = OnceLock::new();

/// Initialises FFmpeg once per process and silences its log. Returns FFmpeg's reason on failure.
pub fn init() -> Result<(), String> {
    INIT.get_or_init(|| {
        ffmpeg::init().map_err(|e| format!("FFmpeg failed to initialise: {e}"))?;
        // SAFETY: plain setter of a global integer.
        unsafe { ffi::av_log_set_level(ffi::AV_LOG_QUIET) };
        log::install();
        Ok(())
    })
    .clone()
}

/// Name endings of FFmpeg's hardware video encoders (NVIDIA, VA-API, Intel Quick Sync, V4L2
/// memory-to-memory, AMD AMF, Apple VideoToolbox, Windows Media Foundation, Vulkan, OpenMAX, Rockchip).
const HARDWARE_SUFFIXES: [&str; 10] = [
    "_nvenc",
    "_vaapi",
    "_qsv",
    "_v4l2m2m",
    "_amf",
    "_videotoolbox",
    "_mf",
    "_vulkan",
    "_omx",
    "_rkmpp",
];

/// The video encoders the linked libavcodec has, by name, sorted: `(name, is_hardware)`. Hardware
/// means FFmpeg marks it `AV_CODEC_CAP_HARDWARE` or its name ends as FFmpeg names its hardware
/// encoders (`h264_nvenc`, `hevc_vaapi`, `av1_qsv`, `h264_v4l2m2m`, ...). Whether the hardware is
/// present is only known when the encoder opens.
pub fn video_encoders() -> Vec<(String, bool)> {
    if init().is_err() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut opaque: *mut std::ffi::c_void = ptr::null_mut();
    loop {
        // SAFETY: av_codec_iterate walks FFmpeg's static codec table with the opaque cursor and
        // returns null at the end; the codecs and their names are static.
        let codec = unsafe { ffi::av_codec_iterate(&mut opaque) };
        if codec.is_null() {
            break;
        }
        // SAFETY: a live, static codec.
        let (encoder, video, hardware_cap, name) = unsafe {
            (
                ffi::av_codec_is_encoder(codec) != 0,
                (*codec).type_ == ffi::AVMediaType::AVMEDIA_TYPE_VIDEO,
                (*codec).capabilities & ffi::AV_CODEC_CAP_HARDWARE as c_int != 0,
                CStr::from_ptr((*codec).name).to_string_lossy().into_owned(),
            )
        };
        if encoder && video {
            let hardware = hardware_cap || HARDWARE_SUFFIXES.iter().any(|s| name.ends_with(s));
            out.push((name, hardware));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The hardware video encoders the linked FFmpeg has (see [`video_encoders`]).
pub fn hardware_video_encoders() -> Vec<String> {
    video_encoders()
        .into_iter()
        .filter(|(_, hardware)| *hardware)
        .map(|(name, _)| name)
        .collect()
}

/// FFmpeg's version and the versions of the libraries doppel uses, for `doppel doctor`.
pub fn ffmpeg_version() -> String {
    // SAFETY: av_version_info returns a static NUL-terminated string.
    let version = unsafe { CStr::from_ptr(ffi::av_version_info()) }
        .to_string_lossy()
        .into_owned();
    let lib = |v: u32| format!("{}.{}.{}", v >> 16, (v >> 8) & 0xff, v & 0xff);
    format!(
        "FFmpeg {version} (libavformat {}, libavcodec {}, libswscale {})",
        lib(ffmpeg::format::version()),
        lib(ffmpeg::codec::version()),
        lib(ffmpeg::software::scaling::version()),
    )
}

/// FFmpeg's last error-level log line on this thread (e.g. `moov atom not found`), cleared.
/// FFmpeg reports many failures only as a generic code plus a log line: this keeps the line, so it
/// can go into the error the user sees, while nothing is printed.
pub(crate) fn take_log_error() -> Option<String> {
    log::LAST_ERROR.with(|l| l.borrow_mut().take())
}

/// Forgets this thread's last FFmpeg error line (call before an operation whose failure is
/// explained with [`take_log_error`]).
pub(crate) fn clear_log_error() {
    let _ = take_log_error();
}

/// `message`, followed by FFmpeg's last logged error line in parentheses when there is one.
pub(crate) fn with_log_detail(message: impl Into<String>) -> String {
    let message = message.into();
    match take_log_error() {
        Some(detail) if !message.contains(&detail) => format!("{message} ({detail})"),
        _ => message,
    }
}

mod log {
    use std::cell::RefCell;

    thread_local! {
        pub(super) static LAST_ERROR: RefCell<Option<String>> = const { RefCell::new(None) };
    }

    /// Keeps error-level lines in [`LAST_ERROR`] instead of printing anything.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    pub(super) fn install() {
        use std::os::raw::{c_char, c_int, c_void};

        use ffmpeg_next::ffi;

        unsafe extern "C" fn callback(
            ptr: *mut c_void,
            level: c_int,
            fmt: *const c_char,
            args: *mut ffi::__va_list_tag,
        ) {
            if level > ffi::AV_LOG_ERROR || fmt.is_null() {
                return;
            }
            let mut line = [0 as c_char; 512];
            let mut prefix: c_int = 0;
            // SAFETY: FFmpeg passes a valid format and argument list; the buffer size is given.
            let n = unsafe {
                ffi::av_log_format_line2(
                    ptr,
                    level,
                    fmt,
                    args,
                    line.as_mut_ptr(),
                    line.len() as c_int,
                    &mut prefix,
                )
            };
            if n <= 0 {
                return;
            }
            // SAFETY: av_log_format_line2 NUL-terminates within the buffer.
            let text = unsafe { std::ffi::CStr::from_ptr(line.as_ptr()) }
                .to_string_lossy()
                .trim()
                .to_string();
            if !text.is_empty() {
                // `try_with`: the thread may be shutting down.
                let _ = LAST_ERROR.try_with(|l| {
                    if let Ok(mut l) = l.try_borrow_mut() {
                        *l = Some(text);
                    }
                });
            }
        }
        // SAFETY: installs a callback that only formats into a local buffer and stores a string.
        unsafe { ffi::av_log_set_callback(Some(callback)) };
    }

    /// Other platforms spell `va_list` differently: FFmpeg stays quiet and errors carry only
    /// FFmpeg's error code.
    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    pub(super) fn install() {}
}

/// The path as a C string for FFmpeg; `None` when it is not UTF-8 or holds a NUL byte (ffmpeg-next
/// would panic on those).
pub(crate) fn c_path(path: &Path) -> Option<CString> {
    path.to_str().and_then(|s| CString::new(s).ok())
}

/// Checks a path before it is handed to ffmpeg-next's path-taking functions.
pub(crate) fn path_ok(path: &Path) -> bool {
    c_path(path).is_some()
}

pub(crate) fn to_ff(r: Rational) -> ffmpeg::Rational {
    ffmpeg::Rational::new(r.num, r.den)
}

pub(crate) fn from_ff(r: ffmpeg::Rational) -> Rational {
    Rational::new(r.numerator(), r.denominator())
}

/// A usable time base or rate: both parts positive.
pub(crate) fn is_valid(r: Rational) -> bool {
    r.num > 0 && r.den > 0
}

/// `ts` in `from` expressed in `to`, rounded to nearest.
pub(crate) fn rescale(ts: i64, from: Rational, to: Rational) -> i64 {
    // SAFETY: pure arithmetic.
    unsafe { ffi::av_rescale_q(ts, to_ff(from).into(), to_ff(to).into()) }
}

/// The name FFmpeg gives a codec id, e.g. `aac`.
pub(crate) fn codec_name(id: ffi::AVCodecID) -> String {
    // SAFETY: avcodec_get_name always returns a static string (also for unknown ids).
    unsafe { CStr::from_ptr(ffi::avcodec_get_name(id)) }
        .to_string_lossy()
        .into_owned()
}

/// YUV <-> RGB matrix, as swscale names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Matrix {
    Bt601,
    Bt709,
    Smpte240m,
    Fcc,
    Bt2020,
}

impl Matrix {
    /// The matrix a frame declares (raw `AVColorSpace`), or the usual convention for untagged video:
    /// BT.709 from 720 lines up, BT.601 below (what players assume).
    pub(crate) fn from_tag(colorspace: c_int, height: u32) -> Self {
        use ffi::AVColorSpace::*;
        match colorspace {
            c if c == AVCOL_SPC_BT709 as c_int => Matrix::Bt709,
            c if c == AVCOL_SPC_BT470BG as c_int || c == AVCOL_SPC_SMPTE170M as c_int => {
                Matrix::Bt601
            }
            c if c == AVCOL_SPC_SMPTE240M as c_int => Matrix::Smpte240m,
            c if c == AVCOL_SPC_FCC as c_int => Matrix::Fcc,
            c if c == AVCOL_SPC_BT2020_NCL as c_int || c == AVCOL_SPC_BT2020_CL as c_int => {
                Matrix::Bt2020
            }
            _ => Self::for_height(height),
        }
    }

    /// BT.709 for HD (720 lines and up), BT.601 below.
    pub(crate) fn for_height(height: u32) -> Self {
        if height >= 720 {
            Matrix::Bt709
        } else {
            Matrix::Bt601
        }
    }

    fn sws(self) -> c_int {
        match self {
            Matrix::Bt601 => ffi::SWS_CS_ITU601,
            Matrix::Bt709 => ffi::SWS_CS_ITU709,
            Matrix::Smpte240m => ffi::SWS_CS_SMPTE240M,
            Matrix::Fcc => ffi::SWS_CS_FCC,
            Matrix::Bt2020 => ffi::SWS_CS_BT2020,
        }
    }
}

/// Geometry and colour of one side of a conversion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    pub format: Pixel,
    pub width: u32,
    pub height: u32,
}

/// A swscale context converting between a YUV (or any) layout and RGBA with an explicit matrix and
/// range, so that colours survive a decode/encode round trip.
pub(crate) struct Scaler {
    ctx: *mut ffi::SwsContext,
    src: Layout,
    dst: Layout,
    key: (c_int, bool),
}

// SAFETY: an SwsContext has no thread affinity. The pointer is owned by this value alone and only
// used through `&mut self`, so moving the value to another thread is sound.
unsafe impl Send for Scaler {}

impl Scaler {
    /// A converter from `src` to `dst`. `matrix` and `yuv_full_range` describe the YUV side (either
    /// side may be YUV; RGB is always full range).
    pub(crate) fn new(
        src: Layout,
        dst: Layout,
        matrix: Matrix,
        yuv_full_range: bool,
    ) -> Result<Self, String> {
        let (w, h) = (c_int::try_from(src.width), c_int::try_from(src.height));
        let (dw, dh) = (c_int::try_from(dst.width), c_int::try_from(dst.height));
        let (Ok(w), Ok(h), Ok(dw), Ok(dh)) = (w, h, dw, dh) else {
            return Err("frame size out of range".to_string());
        };
        // SAFETY: plain constructor; a null result is handled.
        let ctx = unsafe {
            ffi::sws_getContext(
                w,
                h,
                src.format.into(),
                dw,
                dh,
                dst.format.into(),
                ffi::SWS_BILINEAR as c_int,
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null(),
            )
        };
        if ctx.is_null() {
            return Err(format!(
                "swscale cannot convert {:?} {}x{} to {:?} {}x{}",
                src.format, src.width, src.height, dst.format, dst.width, dst.height
            ));
        }
        let mut scaler = Self {
            ctx,
            src,
            dst,
            key: (matrix.sws(), yuv_full_range),
        };
        scaler.set_colors();
        Ok(scaler)
    }

    fn set_colors(&mut self) {
        let (cs, full) = self.key;
        let src_yuv = is_yuv(self.src.format);
        let dst_yuv = is_yuv(self.dst.format);
        // SAFETY: `ctx` is a live context; the coefficient tables are static.
        unsafe {
            let table = ffi::sws_getCoefficients(cs);
            // swscale returns -1 for conversions where the details do not apply (RGB to RGB);
            // then its defaults are right and nothing is to be done.
            let _ = ffi::sws_setColorspaceDetails(
                self.ctx,
                table,
                c_int::from(!src_yuv || full),
                table,
                c_int::from(!dst_yuv || full),
                0,
                1 << 16,
                1 << 16,
            );
        }
    }

    /// The input layout this converter takes.
    pub(crate) fn src(&self) -> Layout {
        self.src
    }

    /// True when it was built for this matrix and range.
    pub(crate) fn has_colors(&self, matrix: Matrix, yuv_full_range: bool) -> bool {
        self.key == (matrix.sws(), yuv_full_range)
    }

    /// Converts `input` into `output`; both must match the layouts given at construction.
    pub(crate) fn run(
        &mut self,
        input: &frame::Video,
        output: &mut frame::Video,
    ) -> Result<(), String> {
        let matches = |f: &frame::Video, l: Layout| {
            f.format() == l.format && f.width() == l.width && f.height() == l.height
        };
        if !matches(input, self.src) || !matches(output, self.dst) {
            return Err("frame layout does not match the converter".to_string());
        }
        // SAFETY: both frames are allocated with the layouts swscale was set up for (checked above);
        // data/linesize arrays have AV_NUM_DATA_POINTERS entries.
        let ret = unsafe {
            let src = input.as_ptr();
            let dst = output.as_mut_ptr();
            ffi::sws_scale(
                self.ctx,
                (*src).data.as_ptr() as *const *const u8,
                (*src).linesize.as_ptr(),
                0,
                self.src.height as c_int,
                (*dst).data.as_ptr(),
                (*dst).linesize.as_ptr(),
            )
        };
        if ret < 0 {
            return Err(format!("swscale failed: {}", ffmpeg::Error::from(ret)));
        }
        Ok(())
    }
}

impl Drop for Scaler {
    fn drop(&mut self) {
        // SAFETY: the context was created by sws_getContext and is freed once.
        unsafe { ffi::sws_freeContext(self.ctx) };
    }
}

/// True for YUV pixel formats (not RGB, not gray, not palette).
fn is_yuv(format: Pixel) -> bool {
    // SAFETY: the descriptor is static or null.
    unsafe {
        let desc = ffi::av_pix_fmt_desc_get(format.into());
        if desc.is_null() {
            return false;
        }
        let flags = (*desc).flags;
        let rgb = flags & (ffi::AV_PIX_FMT_FLAG_RGB as u64) != 0;
        let pal = flags & (ffi::AV_PIX_FMT_FLAG_PAL as u64) != 0;
        !rgb && !pal && (*desc).nb_components >= 3
    }
}
