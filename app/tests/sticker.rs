//! `doppel sticker` end to end on real files: a WhatsApp sticker from a photo and a Telegram one
//! from a clip, checked by decoding the files (format, size, byte limit, transparency), and clear
//! errors for a bad colour. Files go to `target/test-output/sticker-cli/`.

use std::process::{Command, Output, Stdio};

mod common;
use common::{face_data, output_dir, repo, DOPPEL};

/// `common::doppel` with stdin closed: a question about an existing output fails at once instead
/// of waiting for an answer.
fn doppel(args: &[&str]) -> Output {
    Command::new(DOPPEL)
        .args(args)
        .current_dir(repo())
        .stdin(Stdio::null())
        .output()
        .expect("run doppel")
}

fn ok(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "doppel failed:\n{err}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn whatsapp_sticker_from_a_photo_is_a_transparent_webp_within_500_kb() {
    let path = output_dir("sticker-cli").join("wink.webp");
    let said = ok(&doppel(&[
        "sticker",
        &face_data("single_face.jpg"),
        "-o",
        &path.display().to_string(),
        "--for",
        "whatsapp",
        "--outline",
        "--animation",
        "wink",
        "-y",
    ]));
    assert!(said.contains("whatsapp"), "{said}");
    let bytes = std::fs::read(&path).expect("written");
    assert!(bytes.len() <= 500 * 1024, "{} bytes", bytes.len());
    use image::AnimationDecoder;
    let frames = image::codecs::webp::WebPDecoder::new(std::io::Cursor::new(&bytes))
        .expect("a WebP")
        .into_frames()
        .collect_frames()
        .expect("frames");
    assert!(frames.len() > 1, "animated");
    for f in &frames {
        let f = f.buffer();
        assert_eq!(f.dimensions(), (512, 512));
        assert_eq!(f.get_pixel(1, 1)[3], 0, "transparent corner");
    }
}

#[test]
fn telegram_sticker_from_a_clip_is_a_webm_within_3_s_and_256_kb() {
    let path = output_dir("sticker-cli").join("clip.webm");
    let said = ok(&doppel(&[
        "sticker",
        &face_data("single_face.mp4"),
        "-o",
        &path.display().to_string(),
        "--for",
        "telegram",
        "-y",
    ]));
    assert!(said.contains("clip loop"), "{said}");
    let bytes = std::fs::read(&path).expect("written");
    assert!(bytes.len() <= 256 * 1024, "{} bytes", bytes.len());
    let frames = doppel_pipeline::sticker::ffenc::decode_rgba(&path).expect("decodes");
    assert!(frames.len() >= 2);
    // Duration: the decoded frames at the delay doppel reports ("..., 83 ms each, ...").
    let delay: u32 = said
        .split(" ms each")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the delay is reported");
    assert!(
        frames.len() as u32 * delay <= 3000,
        "{} frames of {delay} ms",
        frames.len()
    );
    for f in &frames {
        assert_eq!(f.dimensions(), (512, 512));
        assert!(f.get_pixel(1, 1)[3] <= 8, "transparent corner");
    }
}

#[test]
fn a_bad_colour_names_the_option_and_what_is_expected() {
    let out = doppel(&[
        "sticker",
        &face_data("single_face.jpg"),
        "-o",
        &output_dir("sticker-cli")
            .join("bad.gif")
            .display()
            .to_string(),
        "--background",
        "mauve-ish",
        "-y",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("--background") && err.contains("#rrggbb"),
        "{err}"
    );
}
