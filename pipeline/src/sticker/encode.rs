//! Looping animations on disk: GIF (image's encoder, NETSCAPE loop extension), APNG (the `png`
//! crate's animation support) and animated WebP (frames from image's lossless WebP encoder, wrapped
//! in the VP8X/ANIM/ANMF container, as Google's WebP container specification describes). All three
//! loop forever.

use std::io::Write;
use std::path::Path;

use image::RgbaImage;

use crate::error::{Error, Result};
use crate::output::OutputGuard;

/// A sticker file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Gif,
    Apng,
    Webp,
}

impl Format {
    pub const NAMES: [&'static str; 3] = ["gif", "apng", "webp"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "gif" => Some(Self::Gif),
            "apng" | "png" => Some(Self::Apng),
            "webp" => Some(Self::Webp),
            _ => None,
        }
    }

    /// From a file name's extension (`.gif`, `.png`/`.apng`, `.webp`).
    pub fn from_path(path: &Path) -> Option<Self> {
        path.extension()
            .and_then(|e| e.to_str())
            .and_then(Self::from_name)
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Gif => "gif",
            Self::Apng => "png",
            Self::Webp => "webp",
        }
    }
}

/// Writes `frames` (all the same size) as a looping animation with `delay_ms` per frame.
///
/// # Errors
/// [`Error::Output`] naming the file: no frames, frames of different sizes, or a write failure.
pub fn write_animation(
    path: &Path,
    frames: &[RgbaImage],
    delay_ms: u32,
    format: Format,
) -> Result<()> {
    let bytes = encode_animation(path, frames, delay_ms, format)?;
    OutputGuard::default().write(path, &bytes)
}

/// The bytes of the animation [`write_animation`] writes (`path` names it in errors).
///
/// # Errors
/// [`Error::Output`] naming `path`: no frames, frames of different sizes, an encoder failure.
pub fn encode_animation(
    path: &Path,
    frames: &[RgbaImage],
    delay_ms: u32,
    format: Format,
) -> Result<Vec<u8>> {
    let err = |m: String| Error::output(path, m);
    let Some(first) = frames.first() else {
        return Err(err("no frames to write".to_string()));
    };
    if frames.iter().any(|f| f.dimensions() != first.dimensions()) {
        return Err(err("frames of different sizes".to_string()));
    }
    match format {
        Format::Gif => gif(frames, delay_ms),
        Format::Apng => apng(frames, delay_ms),
        Format::Webp => webp(frames, delay_ms),
    }
    .map_err(err)
}

fn gif(frames: &[RgbaImage], delay_ms: u32) -> std::result::Result<Vec<u8>, String> {
    use image::codecs::gif::{GifEncoder, Repeat};
    let mut out = Vec::new();
    {
        let mut encoder = GifEncoder::new_with_speed(&mut out, 10);
        encoder
            .set_repeat(Repeat::Infinite)
            .map_err(|e| e.to_string())?;
        let delay = image::Delay::from_numer_denom_ms(delay_ms, 1);
        for f in frames {
            encoder
                .encode_frame(image::Frame::from_parts(f.clone(), 0, 0, delay))
                .map_err(|e| format!("GIF: {e}"))?;
        }
    }
    Ok(out)
}

fn apng(frames: &[RgbaImage], delay_ms: u32) -> std::result::Result<Vec<u8>, String> {
    let (w, h) = frames[0].dimensions();
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        let count = u32::try_from(frames.len()).map_err(|e| e.to_string())?;
        encoder
            .set_animated(count, 0)
            .map_err(|e| format!("APNG: {e}"))?;
        let delay = u16::try_from(delay_ms.min(u32::from(u16::MAX))).unwrap_or(u16::MAX);
        encoder
            .set_frame_delay(delay, 1000)
            .map_err(|e| format!("APNG: {e}"))?;
        let mut writer = encoder.write_header().map_err(|e| format!("APNG: {e}"))?;
        for f in frames {
            writer
                .write_image_data(f.as_raw())
                .map_err(|e| format!("APNG: {e}"))?;
        }
        writer.finish().map_err(|e| format!("APNG: {e}"))?;
    }
    Ok(out)
}

fn chunk(out: &mut Vec<u8>, tag: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(tag);
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    if data.len() % 2 == 1 {
        out.push(0);
    }
}

fn u24(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes()[..3]);
}

/// The chunks of a RIFF WebP file: (tag, data).
fn riff_chunks(file: &[u8]) -> Vec<([u8; 4], &[u8])> {
    let mut chunks = Vec::new();
    let mut at = 12;
    while at + 8 <= file.len() {
        let tag = [file[at], file[at + 1], file[at + 2], file[at + 3]];
        let len =
            u32::from_le_bytes([file[at + 4], file[at + 5], file[at + 6], file[at + 7]]) as usize;
        let end = (at + 8 + len).min(file.len());
        chunks.push((tag, &file[at + 8..end]));
        at = end + len % 2;
    }
    chunks
}

fn webp(frames: &[RgbaImage], delay_ms: u32) -> std::result::Result<Vec<u8>, String> {
    let (w, h) = frames[0].dimensions();
    let mut body = Vec::new();
    body.extend_from_slice(b"WEBP");
    // VP8X: animation (0x02) and alpha (0x10) flags, canvas size minus one.
    let mut vp8x = vec![0x12, 0, 0, 0];
    u24(&mut vp8x, w - 1);
    u24(&mut vp8x, h - 1);
    chunk(&mut body, b"VP8X", &vp8x);
    // ANIM: background colour (transparent), loop count 0 = forever.
    chunk(&mut body, b"ANIM", &[0, 0, 0, 0, 0, 0]);
    for f in frames {
        let mut still = Vec::new();
        image::codecs::webp::WebPEncoder::new_lossless(&mut still)
            .encode(f.as_raw(), w, h, image::ExtendedColorType::Rgba8)
            .map_err(|e| format!("WebP: {e}"))?;
        let Some((_, vp8l)) = riff_chunks(&still).into_iter().find(|(t, _)| t == b"VP8L") else {
            return Err("WebP: the encoder wrote no VP8L chunk".to_string());
        };
        let mut anmf = Vec::new();
        u24(&mut anmf, 0);
        u24(&mut anmf, 0);
        u24(&mut anmf, w - 1);
        u24(&mut anmf, h - 1);
        u24(&mut anmf, delay_ms.min(0xff_ffff));
        // Do not blend with the previous frame (bit 1), no disposal.
        anmf.push(0x02);
        chunk(&mut anmf, b"VP8L", vp8l);
        chunk(&mut body, b"ANMF", &anmf);
    }
    let mut out = Vec::with_capacity(body.len() + 8);
    out.extend_from_slice(b"RIFF");
    out.write_all(&(body.len() as u32).to_le_bytes())
        .map_err(|e| e.to_string())?;
    out.extend_from_slice(&body);
    Ok(out)
}

/// The loop count an animation file declares (0 = forever), read from its bytes: GIF's NETSCAPE2.0
/// extension, APNG's `acTL` chunk, WebP's `ANIM` chunk. `None` when it declares none.
pub fn loop_count(bytes: &[u8], format: Format) -> Option<u32> {
    let find = |needle: &[u8]| bytes.windows(needle.len()).position(|w| w == needle);
    match format {
        Format::Gif => {
            let at = find(b"NETSCAPE2.0")? + 11;
            // Sub-block: size 3, id 1, count (u16 LE).
            (bytes.get(at..at + 2)? == [3, 1])
                .then(|| u32::from(u16::from_le_bytes([bytes[at + 2], bytes[at + 3]])))
        }
        Format::Apng => {
            let at = find(b"acTL")? + 4;
            let plays = bytes.get(at + 4..at + 8)?;
            Some(u32::from_be_bytes([plays[0], plays[1], plays[2], plays[3]]))
        }
        Format::Webp => {
            let (_, anim) = riff_chunks(bytes).into_iter().find(|(t, _)| t == b"ANIM")?;
            let count = anim.get(4..6)?;
            Some(u32::from(u16::from_le_bytes([count[0], count[1]])))
        }
    }
}
