//! GPU kernels against their CPU references, per 1280x720 frame.
//!
//! `cargo bench -p doppel-pipeline --bench gpu`. The GPU figures include the upload, both dispatches
//! and the padded readback (what a stage pays per frame); skipped when no adapter exists.

use criterion::{criterion_group, criterion_main, Criterion};
use doppel_pipeline::gpu::blur::{gaussian_blur_with, BlurScratch, GaussianWeights, GpuBlur};
use doppel_pipeline::gpu::GpuContext;
use doppel_pipeline::source::synthetic::{render, SyntheticConfig};
use image::RgbaImage;

fn blur(c: &mut Criterion) {
    let src = render(&SyntheticConfig::default(), 10);
    let mut dst = RgbaImage::new(src.width(), src.height());
    let mut group = c.benchmark_group("blur_1280x720");
    group.sample_size(10);
    let mut gpu = match GpuContext::shared().and_then(GpuBlur::new) {
        Ok(gpu) => {
            eprintln!("GPU: {}", gpu.context().describe());
            Some(gpu)
        }
        Err(e) => {
            eprintln!("skipping GPU benchmarks: {e}");
            None
        }
    };
    for radius in [2u32, 16] {
        let Ok(weights) = GaussianWeights::new(radius, None) else {
            continue;
        };
        if let Some(gpu) = gpu.as_mut() {
            group.bench_function(format!("gpu_r{radius}"), |b| {
                b.iter(|| gpu.run(&src, &mut dst, &weights).map_err(|e| e.to_string()))
            });
        }
        let mut scratch = BlurScratch::default();
        group.bench_function(format!("cpu_r{radius}"), |b| {
            b.iter(|| {
                gaussian_blur_with(&src, &mut dst, &weights, &mut scratch)
                    .map_err(|e| e.to_string())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, blur);
criterion_main!(benches);
