//! Sticker files for messaging apps, encoded through FFmpeg (ffmpeg-next): animated WebP with alpha
//! (libwebp_anim, WhatsApp) and WebM VP9 with alpha (libvpx-vp9 in yuva420p, Telegram video
//! stickers). Each preset has a byte budget; [`encode_preset`] lowers the quality step by step until
//! the file fits. The encoders are looked up when used, so an FFmpeg without them gives an error
//! that names the missing encoder instead of a broken file.
//!
//! Limits (WhatsApp's sticker guidelines, Telegram's Bot API "video stickers" page):
//! - WhatsApp animated sticker: 512x512 WebP, transparent background, at most 500 KB, loops;
//! - Telegram video sticker: WebM VP9, one side 512 px, at most 3 s, at most 256 KB, no audio.

use std::os::raw::c_int;
use std::path::Path;

use ffmpeg::format::Pixel;
use ffmpeg::{codec, encoder, frame, Dictionary, Packet};
use ffmpeg_next as ffmpeg;
use image::RgbaImage;

use crate::error::{Error, Result};
use crate::frame::Rational;
use crate::media::{self, Layout, Matrix, Scaler};

/// A messaging app's sticker format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// 512x512 animated WebP with alpha, <= 500 KB.
    Whatsapp,
    /// 512 px WebM VP9 with alpha, <= 3 s, <= 256 KB.
    Telegram,
}

impl Preset {
    pub const NAMES: [&'static str; 2] = ["whatsapp", "telegram"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "whatsapp" => Some(Self::Whatsapp),
            "telegram" => Some(Self::Telegram),
            _ => None,
        }
    }

    /// Largest file in bytes.
    pub fn max_bytes(self) -> usize {
        match self {
            Self::Whatsapp => 500 * 1024,
            Self::Telegram => 256 * 1024,
        }
    }

    /// Longest loop in milliseconds (`None`: no limit beyond the size).
    pub fn max_ms(self) -> Option<u32> {
        match self {
            Self::Whatsapp => None,
            Self::Telegram => Some(3000),
        }
    }

    /// The sticker's side in pixels.
    pub fn side(self) -> u32 {
        512
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Whatsapp => "webp",
            Self::Telegram => "webm",
        }
    }

    /// FFmpeg encoder name.
    pub fn encoder(self) -> &'static str {
        match self {
            Self::Whatsapp => "libwebp_anim",
            Self::Telegram => "libvpx-vp9",
        }
    }

    /// The quality settings tried, best first: WebP quality (0..100), VP9 crf (lower is better).
    fn steps(self) -> &'static [u32] {
        match self {
            Self::Whatsapp => &[80, 70, 60, 50, 40, 30, 20, 10],
            Self::Telegram => &[30, 36, 42, 48, 54, 60, 63],
        }
    }
}

/// An encoded sticker and how it was made.
#[derive(Clone, Debug)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    /// The quality setting that fit (WebP quality or VP9 crf).
    pub quality: u32,
    /// Frames written (fewer than given when the preset's duration limit cut the loop).
    pub frames: usize,
}

/// Checks that this FFmpeg has the preset's encoder.
///
/// # Errors
/// [`Error::Output`] naming `path` and the missing encoder.
pub fn check_encoder(preset: Preset, path: &Path) -> Result<()> {
    media::init().map_err(|e| Error::output(path, e))?;
    if encoder::find_by_name(preset.encoder()).is_none() {
        return Err(Error::output(
            path,
            format!(
                "this FFmpeg has no '{}' encoder, which --for {} needs; install an FFmpeg built \
                 with it (Debian's ffmpeg/libavcodec has it) or write a GIF",
                preset.encoder(),
                Preset::NAMES[preset as usize]
            ),
        ));
    }
    Ok(())
}

/// Encodes `frames` (same size, RGBA with alpha) for `preset`, `delay_ms` per frame, lowering the
/// quality until the file fits the preset's size. Frames beyond the preset's duration are dropped.
///
/// # Errors
/// [`Error::Output`] naming `path`: the encoder is missing, no frames, different sizes, an encoder
/// failure, or the smallest quality still does not fit (the message gives the size reached).
pub fn encode_preset(
    path: &Path,
    frames: &[RgbaImage],
    delay_ms: u32,
    preset: Preset,
) -> Result<Encoded> {
    check_encoder(preset, path)?;
    let Some(first) = frames.first() else {
        return Err(Error::output(path, "no frames to write"));
    };
    if frames.iter().any(|f| f.dimensions() != first.dimensions()) {
        return Err(Error::output(path, "frames of different sizes"));
    }
    let keep = match preset.max_ms() {
        Some(ms) => ((ms / delay_ms.max(1)) as usize).clamp(1, frames.len()),
        None => frames.len(),
    };
    let frames = &frames[..keep];
    let mut smallest = usize::MAX;
    for &quality in preset.steps() {
        let bytes = encode_once(path, frames, delay_ms, preset, quality)?;
        if bytes.len() <= preset.max_bytes() {
            return Ok(Encoded {
                bytes,
                quality,
                frames: frames.len(),
            });
        }
        smallest = smallest.min(bytes.len());
    }
    Err(Error::output(
        path,
        format!(
            "the sticker does not fit {} KB even at the lowest quality ({} KB); use fewer frames \
             (--frames) or a smaller --size",
            preset.max_bytes() / 1024,
            smallest / 1024
        ),
    ))
}

/// A file in the temporary folder, removed when dropped.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn new(extension: &str) -> Self {
        static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self(std::env::temp_dir().join(format!(
            "doppel-sticker-{}-{n}.{extension}",
            std::process::id()
        )))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        // Nothing to do when it was never written.
        let _ = std::fs::remove_file(&self.0);
    }
}

/// One encode at one quality setting, into a temporary file that is read back.
fn encode_once(
    path: &Path,
    frames: &[RgbaImage],
    delay_ms: u32,
    preset: Preset,
    quality: u32,
) -> Result<Vec<u8>> {
    let fail = |what: &str, e: ffmpeg::Error| {
        Error::output(path, media::with_log_detail(format!("{what}: {e}")))
    };
    let temp = TempFile::new(preset.extension());
    media::clear_log_error();
    let mut output =
        ffmpeg::format::output(&temp.0).map_err(|e| fail("cannot create the file", e))?;
    let codec = encoder::find_by_name(preset.encoder())
        .ok_or_else(|| Error::output(path, format!("no '{}' encoder", preset.encoder())))?;
    let (w, h) = frames[0].dimensions();
    // One tick per millisecond: frame times are exact whatever the delay.
    let tb = Rational::new(1, 1000);
    let pixel = match preset {
        // libwebp takes BGRA (its "RGB32") with the alpha as it is.
        Preset::Whatsapp => Pixel::BGRA,
        Preset::Telegram => Pixel::YUVA420P,
    };
    let global_header = output
        .format()
        .flags()
        .contains(ffmpeg::format::Flags::GLOBAL_HEADER);
    let mut stream = output
        .add_stream(codec)
        .map_err(|e| fail("cannot add the video stream", e))?;
    let index = stream.index();
    let mut enc = codec::context::Context::new_with_codec(codec)
        .encoder()
        .video()
        .map_err(|e| fail("cannot set up the encoder", e))?;
    enc.set_width(w);
    enc.set_height(h);
    enc.set_format(pixel);
    enc.set_time_base(media::to_ff(tb));
    enc.set_frame_rate(Some(media::to_ff(Rational::new(
        1000,
        delay_ms.max(1) as i32,
    ))));
    if global_header {
        // SAFETY: a plain field of an encoder context that is not open yet.
        unsafe { (*enc.as_mut_ptr()).flags |= ffmpeg::ffi::AV_CODEC_FLAG_GLOBAL_HEADER as c_int };
    }
    let mut options = Dictionary::new();
    let mut header = Dictionary::new();
    match preset {
        Preset::Whatsapp => {
            options.set("lossless", "0");
            options.set("quality", &quality.to_string());
            // 4 of 0..6: about half the time of 6 for a few percent more bytes.
            options.set("compression_level", "4");
            // The muxer's default plays once; stickers loop forever.
            header.set("loop", "0");
        }
        Preset::Telegram => {
            enc.set_bit_rate(0);
            options.set("crf", &quality.to_string());
            options.set("deadline", "good");
            options.set("cpu-used", "4");
            options.set("row-mt", "1");
            // libvpx keeps the alpha plane only without alternate reference frames.
            options.set("auto-alt-ref", "0");
        }
    }
    let mut encoder = enc
        .open_with(options)
        .map_err(|e| fail(&format!("cannot open the {} encoder", preset.encoder()), e))?;
    stream.set_parameters(&encoder);
    stream.set_time_base(media::to_ff(tb));
    output
        .write_header_with(header)
        .map_err(|e| fail("cannot write the header", e))?;
    let stream_tb = output
        .stream(index)
        .map(|s| media::from_ff(s.time_base()))
        .filter(|t| media::is_valid(*t))
        .unwrap_or(tb);
    let mut scaler = Scaler::new(
        Layout {
            format: Pixel::RGBA,
            width: w,
            height: h,
        },
        Layout {
            format: pixel,
            width: w,
            height: h,
        },
        Matrix::for_height(h),
        false,
    )
    .map_err(|e| Error::output(path, e))?;
    let mut rgba = frame::Video::new(Pixel::RGBA, w, h);
    let mut converted = frame::Video::new(pixel, w, h);
    let drain = |encoder: &mut encoder::video::Encoder,
                 output: &mut ffmpeg::format::context::Output|
     -> Result<()> {
        let mut packet = Packet::empty();
        loop {
            match encoder.receive_packet(&mut packet) {
                Ok(()) => {
                    if packet.duration() <= 0 {
                        packet.set_duration(i64::from(delay_ms));
                    }
                    packet.set_stream(index);
                    packet.rescale_ts(media::to_ff(tb), media::to_ff(stream_tb));
                    packet
                        .write_interleaved(output)
                        .map_err(|e| fail("cannot write a frame", e))?;
                }
                Err(ffmpeg::Error::Other {
                    errno: ffmpeg::util::error::EAGAIN,
                })
                | Err(ffmpeg::Error::Eof) => return Ok(()),
                Err(e) => return Err(fail("the encoder failed", e)),
            }
        }
    };
    for (i, f) in frames.iter().enumerate() {
        copy_into(f, &mut rgba);
        scaler
            .run(&rgba, &mut converted)
            .map_err(|e| Error::output(path, e))?;
        converted.set_pts(Some(i as i64 * i64::from(delay_ms)));
        encoder
            .send_frame(&converted)
            .map_err(|e| fail("the encoder refused a frame", e))?;
        drain(&mut encoder, &mut output)?;
    }
    // An error only means the encoder was flushed already.
    let _ = encoder.send_eof();
    drain(&mut encoder, &mut output)?;
    output
        .write_trailer()
        .map_err(|e| fail("cannot finish the file", e))?;
    drop(output);
    std::fs::read(&temp.0)
        .map_err(|e| Error::output(path, format!("cannot read the encoded file back: {e}")))
}

/// Copies an RGBA image into an FFmpeg frame of the same size (rows may be padded there).
fn copy_into(image: &RgbaImage, frame: &mut frame::Video) {
    let stride = frame.stride(0);
    let row = image.width() as usize * 4;
    let data = frame.data_mut(0);
    for (y, src) in image.as_raw().chunks_exact(row).enumerate() {
        data[y * stride..y * stride + row].copy_from_slice(src);
    }
}

/// Decodes every frame of a sticker file as RGBA with its alpha (WebM VP9 through the libvpx-vp9
/// decoder, which reads the alpha that FFmpeg's own VP9 decoder skips). For checking written files.
///
/// # Errors
/// [`Error::Input`] naming `path` when it cannot be opened or decoded.
pub fn decode_rgba(path: &Path) -> Result<Vec<RgbaImage>> {
    let fail = |what: &str, e: ffmpeg::Error| Error::input(path, format!("{what}: {e}"));
    media::init().map_err(|e| Error::input(path, e))?;
    let mut input = ffmpeg::format::input(&path).map_err(|e| fail("cannot open", e))?;
    let stream = input
        .streams()
        .best(ffmpeg::media::Type::Video)
        .ok_or_else(|| Error::input(path, "no video stream"))?;
    let index = stream.index();
    let mut ctx = codec::context::Context::from_parameters(stream.parameters())
        .map_err(|e| fail("codec parameters", e))?;
    let by_name = if ctx.id() == codec::Id::VP9 {
        ffmpeg::decoder::find_by_name("libvpx-vp9")
    } else {
        None
    };
    let mut decoder = match by_name {
        Some(c) => {
            // SAFETY: plain field of a decoder context that is not open yet.
            unsafe { (*ctx.as_mut_ptr()).codec_id = (*c.as_ptr()).id };
            ctx.decoder().open_as(c).and_then(|o| o.video())
        }
        None => ctx.decoder().video(),
    }
    .map_err(|e| fail("cannot open the decoder", e))?;
    let mut frames = Vec::new();
    let mut decoded = frame::Video::empty();
    let mut scaler: Option<Scaler> = None;
    let mut take =
        |decoder: &mut ffmpeg::decoder::Video, frames: &mut Vec<RgbaImage>| -> Result<()> {
            while decoder.receive_frame(&mut decoded).is_ok() {
                let (w, h) = (decoded.width(), decoded.height());
                let src = Layout {
                    format: decoded.format(),
                    width: w,
                    height: h,
                };
                if scaler.as_ref().is_none_or(|s| s.src() != src) {
                    scaler = Some(
                        Scaler::new(
                            src,
                            Layout {
                                format: Pixel::RGBA,
                                width: w,
                                height: h,
                            },
                            Matrix::for_height(h),
                            false,
                        )
                        .map_err(|e| Error::input(path, e))?,
                    );
                }
                let mut rgba = frame::Video::new(Pixel::RGBA, w, h);
                if let Some(s) = scaler.as_mut() {
                    s.run(&decoded, &mut rgba)
                        .map_err(|e| Error::input(path, e))?;
                }
                let stride = rgba.stride(0);
                let row = w as usize * 4;
                let mut raw = Vec::with_capacity(row * h as usize);
                for y in 0..h as usize {
                    raw.extend_from_slice(&rgba.data(0)[y * stride..y * stride + row]);
                }
                if let Some(img) = RgbaImage::from_raw(w, h, raw) {
                    frames.push(img);
                }
            }
            Ok(())
        };
    for (s, packet) in input.packets() {
        if s.index() == index {
            decoder
                .send_packet(&packet)
                .map_err(|e| fail("cannot decode", e))?;
            take(&mut decoder, &mut frames)?;
        }
    }
    let _ = decoder.send_eof();
    take(&mut decoder, &mut frames)?;
    Ok(frames)
}
