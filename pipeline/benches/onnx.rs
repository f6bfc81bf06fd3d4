//! The `onnx` stage on a real model, per frame, at 1 and 2 intra-op threads.
//!
//! `cargo bench -p doppel-pipeline --bench onnx`. Zero-DCE (the low-light model in `models/`) at
//! 640x360; includes tensor conversion in and out, as a pipeline pays it.

use criterion::{criterion_group, criterion_main, Criterion};
use doppel_pipeline::source::synthetic::{render, SyntheticConfig};
use doppel_pipeline::spec::parse_stages;
use doppel_pipeline::stages::{build_all, BuildContext};
use doppel_pipeline::{Frame, Mode, Rational, Timestamp};

fn zero_dce(c: &mut Criterion) {
    let model = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../models/zero_dce_pp_neuro.onnx"
    );
    let image = render(
        &SyntheticConfig {
            width: 640,
            height: 360,
            ..SyntheticConfig::default()
        },
        5,
    );
    let mut group = c.benchmark_group("onnx zero-dce 640x360");
    group.sample_size(10);
    for threads in [1, 2] {
        let specs = match parse_stages(&format!("onnx:model={model}:threads={threads}")) {
            Ok(specs) => specs,
            Err(e) => panic!("bench spec: {e}"),
        };
        let mut stages = match build_all(&specs, &BuildContext::new(Mode::Offline)) {
            Ok(stages) => stages,
            Err(e) => panic!("cannot build the onnx stage: {e}"),
        };
        let stage = &mut stages[0];
        group.bench_function(format!("{threads} thread(s)"), |b| {
            b.iter(|| {
                let frame = Frame::new(0, Timestamp::new(0, Rational::new(1, 30)), image.clone());
                stage
                    .process(frame)
                    .map(|f| f.seq)
                    .map_err(|e| e.to_string())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, zero_dce);
criterion_main!(benches);
