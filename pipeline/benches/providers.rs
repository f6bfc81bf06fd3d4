//! Execution providers against the CPU provider, in the same run: face tracking (mesh v2 +
//! blendshapes per frame, detector on the first) and stylize (multistyle26, style 3) in ms/frame, on
//! the CPU provider (MLAS) and on every other provider this machine can load (OpenVINO's plugin from
//! `ORT_EP=openvino scripts/fetch-onnxruntime.sh`, CUDA/TensorRT with the onnxruntime-gpu library),
//! each with the same intra-op thread count. Sides alternate `ROUNDS` times; medians are reported with
//! the ratio to CPU (below 1 = faster than CPU).
//!
//! `cargo bench -p doppel-pipeline --bench providers` (needs `scripts/fetch-test-faces.sh`); extra
//! providers by `DOPPEL_BENCH_PROVIDERS=openvino,cuda` (default: openvino).

use std::path::{Path, PathBuf};
use std::time::Instant;

use doppel_pipeline::infer::{ExecutionProvider, SessionConfig};
use doppel_pipeline::style::{Style, StyleWeights, Stylizer, StylizerConfig};
use doppel_pipeline::track::{FaceTracker, TrackerConfig};
use image::RgbaImage;

const ROUNDS: usize = 3;
const THREADS: usize = 2;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn model(name: &str) -> PathBuf {
    root().join("models").join(name)
}

fn clip() -> Vec<RgbaImage> {
    let path = root().join("target/test-data/faces/single_face.mp4");
    let mut source = doppel_pipeline::source::open(
        &path.display().to_string(),
        &doppel_pipeline::source::OpenOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e} (run scripts/fetch-test-faces.sh)"));
    let mut frames = Vec::new();
    while let Ok(Some(f)) = source.next_frame() {
        let image = f.into_image().expect("pixels");
        frames.push(image::imageops::resize(
            &image,
            640,
            480,
            image::imageops::FilterType::Triangle,
        ));
    }
    frames
}

fn session(provider: &ExecutionProvider) -> SessionConfig {
    SessionConfig {
        threads: Some(THREADS),
        provider: provider.clone(),
        ..SessionConfig::default()
    }
}

/// ms/frame of tracking the clip (the first, detector frame left out).
fn track_ms(provider: &ExecutionProvider, frames: &[RgbaImage]) -> f64 {
    let mut tracker = FaceTracker::load(&TrackerConfig {
        detector_model: model("face_detection_short_range.onnx"),
        mesh_model: model("face_landmarks_detector.onnx"),
        blendshape_model: Some(model("face_blendshapes.onnx")),
        session: session(provider),
        ..TrackerConfig::default()
    })
    .expect("tracker");
    tracker.process(&frames[0]).expect("first frame");
    let start = Instant::now();
    for f in &frames[1..] {
        tracker.process(f).expect("track");
    }
    start.elapsed().as_secs_f64() * 1000.0 / (frames.len() - 1) as f64
}

/// ms/frame of stylizing `n` frames at 256x256 (one warm-up frame left out).
fn stylize_ms(provider: &ExecutionProvider, frames: &[RgbaImage]) -> f64 {
    let mut stylizer = Stylizer::new(StylizerConfig {
        multistyle_model: model("multistyle26.onnx"),
        predict_model: model("arbitrary_predict.onnx"),
        transform_model: model("arbitrary_transform_dyn.onnx"),
        session: session(provider),
        cache_dir: None,
    });
    stylizer
        .set_style(&Style::Weights(StyleWeights::one(3).expect("style")))
        .expect("style");
    let small: Vec<RgbaImage> = frames
        .iter()
        .step_by(4)
        .map(|f| image::imageops::resize(f, 256, 256, image::imageops::FilterType::Triangle))
        .collect();
    stylizer.run(&small[0]).expect("warm-up");
    let start = Instant::now();
    for f in &small[1..] {
        stylizer.run(f).expect("stylize");
    }
    start.elapsed().as_secs_f64() * 1000.0 / (small.len() - 1) as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let frames = clip();
    let extra = std::env::var("DOPPEL_BENCH_PROVIDERS").unwrap_or_else(|_| "openvino".into());
    let mut providers = vec![ExecutionProvider::cpu()];
    for name in extra.split(',').filter(|s| !s.trim().is_empty()) {
        let p = ExecutionProvider::parse(name).expect("provider name");
        // Only providers this machine can load: a load failure is printed and the column skipped.
        match doppel_pipeline::infer::Model::load(model("zero_dce_pp_neuro.onnx"), &session(&p)) {
            Ok(_) => providers.push(p),
            Err(e) => println!("{p}: skipped: {e}"),
        }
    }
    let mut track: Vec<Vec<f64>> = vec![Vec::new(); providers.len()];
    let mut style: Vec<Vec<f64>> = vec![Vec::new(); providers.len()];
    for _ in 0..ROUNDS {
        for (i, p) in providers.iter().enumerate() {
            track[i].push(track_ms(p, &frames));
            style[i].push(stylize_ms(p, &frames));
        }
    }
    let cpu_track = median(track[0].clone());
    let cpu_style = median(style[0].clone());
    println!(
        "{} frames 640x480, {THREADS} intra-op threads, median of {ROUNDS} alternating rounds",
        frames.len()
    );
    println!(
        "| provider | track ms/frame | ratio to cpu | stylize 256x256 ms/frame | ratio to cpu |"
    );
    println!("|---|---|---|---|---|");
    for (i, p) in providers.iter().enumerate() {
        let t = median(track[i].clone());
        let s = median(style[i].clone());
        println!(
            "| {p} | {t:.2} | {:.2} | {s:.1} | {:.2} |",
            t / cpu_track,
            s / cpu_style
        );
    }
}
