//! What the pipeline's test suites share: where the workspace, its models, the fetched test data and
//! the test output lie, and the image comparisons several suites score with.
//!
//! Each file in `tests/` is its own crate that declares `mod common;` and uses a part of this.

// Every suite compiles this module and uses only some of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use doppel_pipeline::track::{FaceTracker, TrackerConfig};
use doppel_pipeline::Frame;
use image::{Rgba, RgbaImage};

/// The workspace root (the folder above `pipeline/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// A model file in the repository's `models/`.
pub fn model(name: &str) -> PathBuf {
    root().join("models").join(name)
}

/// A model file in `models/` as a stage option value.
pub fn model_arg(name: &str) -> String {
    model(name).display().to_string()
}

/// `target/test-output/<suite>/` (under `CARGO_TARGET_DIR` when set), created: the PNGs a person
/// looks at.
pub fn output_dir(suite: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let dir = target.join("test-output").join(suite);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

/// A fetched test file, `target/test-data/<folder>/<name>`; a missing one fails naming the script
/// that fetches its folder.
pub fn test_data(folder: &str, name: &str) -> PathBuf {
    let path = root().join("target/test-data").join(folder).join(name);
    let script = match folder {
        "hands" => "scripts/fetch-test-hands.sh",
        "body" => "scripts/fetch-test-body.sh",
        "night-photos" => "scripts/fetch-night-photos.sh",
        _ => "scripts/fetch-test-faces.sh",
    };
    assert!(
        path.is_file(),
        "test file {} is missing: run `{script}` from the repository root",
        path.display()
    );
    path
}

/// A fetched test photo as RGBA (see [`test_data`]).
pub fn test_photo(folder: &str, name: &str) -> RgbaImage {
    let path = test_data(folder, name);
    image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgba8()
}

/// Every frame of a video file, as doppel's video source decodes it.
pub fn decode_clip(path: &Path) -> Vec<Frame> {
    let mut source = doppel_pipeline::source::open(
        &path.display().to_string(),
        &doppel_pipeline::source::OpenOptions::default(),
    )
    .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut frames = Vec::new();
    while let Some(f) = source.next_frame().expect("decode") {
        frames.push(f);
    }
    frames
}

/// PSNR in dB over RGB (8-bit) between two images of the same size.
pub fn psnr(a: &RgbaImage, b: &RgbaImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let (mut sum, mut n) = (0.0f64, 0usize);
    for (p, q) in a.pixels().zip(b.pixels()) {
        for c in 0..3 {
            let d = f64::from(p[c]) - f64::from(q[c]);
            sum += d * d;
            n += 1;
        }
    }
    let mse = (sum / n as f64).max(1e-10);
    10.0 * (255.0 * 255.0 / mse).log10()
}

/// The largest difference of any channel (alpha included) between two images of the same size.
pub fn max_diff(a: &RgbaImage, b: &RgbaImage) -> u8 {
    assert_eq!(a.dimensions(), b.dimensions());
    a.as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0)
}

/// Panels of the first one's size side by side, 4 px magenta gaps between them.
pub fn side_by_side(images: &[&RgbaImage]) -> RgbaImage {
    let (w, h) = images[0].dimensions();
    let n = images.len() as u32;
    let mut sheet = RgbaImage::from_pixel(n * w + 4 * (n - 1), h, Rgba([255, 0, 255, 255]));
    for (i, img) in images.iter().enumerate() {
        image::imageops::replace(&mut sheet, *img, i64::from(i as u32 * (w + 4)), 0);
    }
    sheet
}

/// Rows of pictures on white, each scaled to `cell` pixels square (a contact sheet).
pub fn grid<R: AsRef<[RgbaImage]>>(rows: &[R], cell: u32) -> RgbaImage {
    let cols = rows.iter().map(|r| r.as_ref().len()).max().unwrap_or(1) as u32;
    let mut out = RgbaImage::from_pixel(cols * cell, rows.len() as u32 * cell, Rgba([255; 4]));
    for (r, row) in rows.iter().enumerate() {
        for (c, img) in row.as_ref().iter().enumerate() {
            let small =
                image::imageops::resize(img, cell, cell, image::imageops::FilterType::Triangle);
            image::imageops::replace(
                &mut out,
                &small,
                i64::from(c as u32 * cell),
                i64::from(r as u32 * cell),
            );
        }
    }
    out
}

/// A fetched face photo or clip, `target/test-data/faces/<name>` (see [`test_data`]).
pub fn face_data(name: &str) -> PathBuf {
    test_data("faces", name)
}

/// A fetched face photo as RGBA.
pub fn face_photo(name: &str) -> RgbaImage {
    test_photo("faces", name)
}

/// The face tracker with the v1 mesh (`face_landmark.onnx`) and its default smoothing.
pub fn mesh_tracker() -> FaceTracker {
    FaceTracker::load(&TrackerConfig {
        detector_model: model("face_detection_short_range.onnx"),
        mesh_model: model("face_landmark.onnx"),
        ..TrackerConfig::default()
    })
    .expect("tracker loads")
}

/// The face tracker with the v2 mesh (`face_landmarks_detector.onnx`) that reports the model's own
/// points for each picture: no smoothing across pictures, no blendshapes.
pub fn still_tracker() -> FaceTracker {
    FaceTracker::load(&TrackerConfig {
        detector_model: model("face_detection_short_range.onnx"),
        mesh_model: model("face_landmarks_detector.onnx"),
        blendshape_model: None,
        smoothing: None,
        ..TrackerConfig::default()
    })
    .expect("tracker loads")
}

/// `mask` (`w` x `h`, rows packed) dilated by a (2r+1)² square.
pub fn dilate(mask: &[bool], w: usize, h: usize, r: usize) -> Vec<bool> {
    let mut tmp = vec![false; w * h];
    for y in 0..h {
        for x in 0..w {
            let (a, b) = (x.saturating_sub(r), (x + r).min(w - 1));
            tmp[y * w + x] = mask[y * w + a..=y * w + b].iter().any(|&m| m);
        }
    }
    let mut out = vec![false; w * h];
    for y in 0..h {
        let (a, b) = (y.saturating_sub(r), (y + r).min(h - 1));
        for x in 0..w {
            out[y * w + x] = (a..=b).any(|yy| tmp[yy * w + x]);
        }
    }
    out
}
