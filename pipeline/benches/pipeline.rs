//! Criterion benches of the CPU paths: resizing (fast_image_resize against the `image` crate as the
//! baseline in the same run) and one offline pipeline hop.

use criterion::{criterion_group, criterion_main, Criterion};
use doppel_pipeline::graph::{run, RunConfig};
use doppel_pipeline::imageops::{resize_rgba, Filter};
use doppel_pipeline::sink::null::NullSink;
use doppel_pipeline::source::replay::ReplaySource;
use doppel_pipeline::source::synthetic::{render, SyntheticConfig, SyntheticSource};
use doppel_pipeline::source::Source;
use doppel_pipeline::stages::passthrough::Passthrough;
use doppel_pipeline::{Mode, Stage};
use fast_image_resize::Resizer;

fn resize(c: &mut Criterion) {
    let config = SyntheticConfig {
        width: 1920,
        height: 1080,
        ..SyntheticConfig::default()
    };
    let frame = render(&config, 0);
    let mut resizer = Resizer::new();
    let mut group = c.benchmark_group("resize 1920x1080 -> 256x256 bilinear");
    group.bench_function("fast_image_resize (doppel)", |b| {
        b.iter(|| resize_rgba(&mut resizer, &frame, 256, 256, Filter::Bilinear))
    });
    group.bench_function("image crate (baseline)", |b| {
        b.iter(|| image::imageops::resize(&frame, 256, 256, image::imageops::FilterType::Triangle))
    });
    group.finish();
}

fn pipeline_hops(c: &mut Criterion) {
    let mut group = c.benchmark_group("offline 720p x 60 frames, replay -> null");
    group.sample_size(10);
    let mut synthetic = SyntheticSource::new(SyntheticConfig {
        frames: Some(4),
        ..SyntheticConfig::default()
    });
    let info = synthetic.info().clone();
    let frames: Vec<_> = std::iter::from_fn(|| synthetic.next_frame().ok().flatten()).collect();
    for stages in [1usize, 4] {
        group.bench_function(format!("{stages} passthrough"), |b| {
            b.iter(|| {
                let source = ReplaySource::new(frames.clone(), info.clone(), 60).expect("frames");
                let chain: Vec<Box<dyn Stage>> = (0..stages)
                    .map(|_| Box::new(Passthrough) as Box<dyn Stage>)
                    .collect();
                run(
                    Box::new(source),
                    chain,
                    Box::new(NullSink::default()),
                    RunConfig::new(Mode::Offline),
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, resize, pipeline_hops);
criterion_main!(benches);
