//! Super-resolution 640x360 -> 1280x720 per frame: doppel's x2 net on ONNX Runtime (CPU) and as WGSL
//! kernels (lavapipe on a machine without a GPU), against bicubic (`imageops::resize_rgba`), all in
//! one run; and the x4 net 320x180 -> 1280x720.
//!
//! `cargo bench -p doppel-pipeline --bench superres` (from the repository root's `pipeline/`; the
//! models are read from `../models/`). GPU figures include upload and readback; skipped when no
//! adapter exists. Before the timed runs, the GPU twin's per-layer times (each layer submitted and
//! waited for on its own) are printed. Quality (PSNR against bicubic) is in `tests/superres.rs`.

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion};
use doppel_pipeline::gpu::GpuContext;
use doppel_pipeline::imageops::{resize_rgba, Filter};
use doppel_pipeline::source::synthetic::{render, SyntheticConfig};
use doppel_pipeline::superres::gpu::GpuSuperRes;
use doppel_pipeline::superres::net::FastNet;
use doppel_pipeline::superres::{BackendKind, ModelChoice, SuperRes, SuperResConfig};
use fast_image_resize::Resizer;
use image::RgbaImage;

fn model(scale: u32) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../models")
        .join(format!("superres_x{scale}.onnx"))
}

/// Prints where the GPU twin's time goes on `src` (second run: the first compiles and allocates).
fn profile(scale: u32, src: &RgbaImage) {
    let twin = FastNet::load(model(scale))
        .and_then(|net| GpuContext::shared().and_then(|ctx| GpuSuperRes::new(ctx, net)));
    let mut twin = match twin {
        Ok(twin) => twin,
        Err(e) => return eprintln!("no GPU profile: {e}"),
    };
    for _ in 0..2 {
        if let Err(e) = twin.profile(src) {
            return eprintln!("no GPU profile: {e}");
        }
    }
    if let Ok((_, times)) = twin.profile(src) {
        let total: f64 = times.iter().map(|(_, t)| t.as_secs_f64() * 1e3).sum();
        let layers: Vec<String> = times
            .iter()
            .map(|(name, t)| format!("{name} {:.1}", t.as_secs_f64() * 1e3))
            .collect();
        eprintln!(
            "superres x{scale} GPU per layer (ms): {} = {total:.1}",
            layers.join(", ")
        );
    }
}

fn build(scale: u32, backend: BackendKind) -> Option<SuperRes> {
    let model = model(scale);
    match SuperRes::new(&SuperResConfig {
        model: ModelChoice::File(model),
        scale: Some(scale),
        backend,
        ..Default::default()
    }) {
        Ok(sr) => Some(sr),
        Err(e) => {
            eprintln!("skipping superres x{scale} {backend:?}: {e}");
            None
        }
    }
}

fn superres(c: &mut Criterion) {
    for (scale, w, h) in [(2u32, 640u32, 360u32), (4, 320, 180)] {
        let src = render(
            &SyntheticConfig {
                width: w,
                height: h,
                ..Default::default()
            },
            10,
        );
        profile(scale, &src);
        let mut group = c.benchmark_group(format!("superres_x{scale}_{w}x{h}_to_1280x720"));
        group.sample_size(10);
        let mut resizer = Resizer::new();
        group.bench_function("bicubic", |b| {
            b.iter(|| {
                resize_rgba(&mut resizer, &src, 1280, 720, Filter::Bicubic)
                    .map_err(|e| e.to_string())
            })
        });
        for backend in [BackendKind::Onnx, BackendKind::Gpu] {
            if let Some(mut sr) = build(scale, backend) {
                group.bench_function(sr.backend_name(), |b| {
                    b.iter(|| sr.upscale(&src).map_err(|e| e.to_string()))
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, superres);
criterion_main!(benches);
