//! Body tracking, person segmentation and the overlay, per frame, on a real photo.
//!
//! `scripts/fetch-test-faces.sh && cargo bench -p doppel-pipeline --bench body`. The astronaut portrait
//! (scikit-image, public domain) scaled to the frame height and centred on a grey 640x480 / 1280x720
//! frame. Groups:
//! - `pose lite|full WxH`: `tracking` = the crop comes from the previous frame (the detector skipped,
//!   MediaPipe's steady state); `detect` = the tracker reset every frame (detector + landmarks); the
//!   baseline `landmark model alone` = ONNX Runtime on a ready tensor, no crop or decoding, so the
//!   ratio tracking / baseline is doppel's own overhead.
//! - `segment WxH`: the segment stage's work (resize in, model, resize out); baseline the model alone.
//! - `overlay 1280x720`: drawing the body, face and mask layers.
//!
//! Criterion's `new/estimates.json` under `target/criterion/` holds the median (p50) of each.

use criterion::{criterion_group, criterion_main, Criterion};
use doppel_pipeline::infer::{Model, SessionConfig, TensorView};
use doppel_pipeline::stages::overlay::{draw, OverlayConfig};
use doppel_pipeline::track::body::{BodyConfig, BodyTracker};
use doppel_pipeline::track::segment::{PersonSegmenter, SegmentConfig};
use doppel_pipeline::FrameMeta;
use image::{imageops, Rgba, RgbaImage};

const SIZES: [(u32, u32); 2] = [(640, 480), (1280, 720)];

fn models() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models")
}

fn frame(width: u32, height: u32) -> RgbaImage {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/test-data/faces/astronaut.png");
    let photo = match image::open(&path) {
        Ok(p) => p.to_rgba8(),
        Err(e) => panic!(
            "{}: {e}; run scripts/fetch-test-faces.sh first",
            path.display()
        ),
    };
    let side = height.min(width);
    let scaled = imageops::resize(&photo, side, side, imageops::FilterType::Triangle);
    let mut out = RgbaImage::from_pixel(width, height, Rgba([128, 128, 128, 255]));
    imageops::overlay(&mut out, &scaled, i64::from((width - side) / 2), 0);
    out
}

fn session() -> SessionConfig {
    SessionConfig {
        threads: Some(2),
        ..SessionConfig::default()
    }
}

fn pose(c: &mut Criterion) {
    for (variant, file) in [
        ("lite", "pose_landmark_lite.onnx"),
        ("full", "pose_landmark_full.onnx"),
    ] {
        for (w, h) in SIZES {
            let image = frame(w, h);
            let config = BodyConfig {
                detector_model: models().join("pose_detection.onnx"),
                landmark_model: models().join(file),
                session: session(),
                ..BodyConfig::default()
            };
            let mut tracker = match BodyTracker::load(&config) {
                Ok(t) => t,
                Err(e) => panic!("{e}"),
            };
            let mut group = c.benchmark_group(format!("pose {variant} {w}x{h}"));
            group.sample_size(30);
            if w == 640 {
                let mut bare = match Model::load(models().join(file), &session()) {
                    Ok(m) => m,
                    Err(e) => panic!("{e}"),
                };
                let input = bare.inputs()[0].name.clone();
                let tensor = vec![0.5f32; 256 * 256 * 3];
                group.bench_function("landmark model alone (baseline)", |b| {
                    b.iter(|| {
                        bare.run(&[TensorView {
                            name: &input,
                            shape: &[1, 256, 256, 3],
                            data: &tensor,
                        }])
                        .map(|o| o.len())
                        .map_err(|e| e.to_string())
                    })
                });
            }
            group.bench_function("tracking", |b| {
                b.iter(|| match tracker.process(&image) {
                    Ok(body) => body.map(|b| b.score),
                    Err(e) => panic!("{e}"),
                })
            });
            if variant == "lite" {
                group.bench_function("detect", |b| {
                    b.iter(|| {
                        tracker.reset();
                        match tracker.process(&image) {
                            Ok(body) => body.map(|b| b.score),
                            Err(e) => panic!("{e}"),
                        }
                    })
                });
            }
            group.finish();
        }
    }
}

fn segment(c: &mut Criterion) {
    for (w, h) in SIZES {
        let image = frame(w, h);
        let config = SegmentConfig {
            square_model: models().join("selfie_segmentation.onnx"),
            landscape_model: models().join("selfie_segmentation_landscape.onnx"),
            session: session(),
            ..SegmentConfig::default()
        };
        let mut segmenter = match PersonSegmenter::load(&config) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        let (file, mw, mh) = if w * 3 > h * 4 {
            ("selfie_segmentation_landscape.onnx", 256, 144)
        } else {
            ("selfie_segmentation.onnx", 256, 256)
        };
        let mut bare = match Model::load(models().join(file), &session()) {
            Ok(m) => m,
            Err(e) => panic!("{e}"),
        };
        let input = bare.inputs()[0].name.clone();
        let tensor = vec![0.5f32; mw * mh * 3];
        let mut group = c.benchmark_group(format!("segment {w}x{h}"));
        group.sample_size(30);
        group.bench_function("model alone (baseline)", |b| {
            b.iter(|| {
                bare.run(&[TensorView {
                    name: &input,
                    shape: &[1, mh, mw, 3],
                    data: &tensor,
                }])
                .map(|o| o.len())
                .map_err(|e| e.to_string())
            })
        });
        group.bench_function("segment", |b| {
            b.iter(|| match segmenter.process(&image) {
                Ok(mask) => mask.width(),
                Err(e) => panic!("{e}"),
            })
        });
        group.finish();
    }
}

fn overlay(c: &mut Criterion) {
    let image = frame(1280, 720);
    let config = BodyConfig {
        detector_model: models().join("pose_detection.onnx"),
        landmark_model: models().join("pose_landmark_lite.onnx"),
        session: session(),
        ..BodyConfig::default()
    };
    let body = match BodyTracker::load(&config).and_then(|mut t| t.process(&image)) {
        Ok(body) => body,
        Err(e) => panic!("{e}"),
    };
    let mask = match PersonSegmenter::load(&SegmentConfig {
        square_model: models().join("selfie_segmentation.onnx"),
        landscape_model: models().join("selfie_segmentation_landscape.onnx"),
        session: session(),
        ..SegmentConfig::default()
    })
    .and_then(|mut s| s.process(&image))
    {
        Ok(mask) => mask,
        Err(e) => panic!("{e}"),
    };
    let meta = FrameMeta {
        bodies: body.into_iter().collect(),
        mask: Some(std::sync::Arc::new(mask)),
        ..FrameMeta::default()
    };
    let mut group = c.benchmark_group("overlay 1280x720");
    group.bench_function("copy frame (baseline)", |b| b.iter(|| image.clone()));
    group.bench_function("mask + body", |b| {
        b.iter(|| {
            let mut out = image.clone();
            draw(&mut out, &meta, &OverlayConfig::default());
            out
        })
    });
    group.finish();
}

criterion_group!(benches, pose, segment, overlay);
criterion_main!(benches);
