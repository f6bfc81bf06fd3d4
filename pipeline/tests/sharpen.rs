//! The `sharpen` stage (blur kernel + blend kernel chained on the GPU) against its CPU reference on
//! a real photo, and in a real pipeline where a chain of GPU stages transfers the frame once each
//! way.
//!
//! Pictures (input | cpu | gpu, and a crop) go to `target/test-output/sharpen/`.
//! Run with `cargo test --release -p doppel-pipeline --test sharpen`.

use std::path::PathBuf;

use doppel_pipeline::graph::{self, RunConfig};
use doppel_pipeline::options::StageOptions;
use doppel_pipeline::sink::null::NullSink;
use doppel_pipeline::source::synthetic::{SyntheticConfig, SyntheticSource};
use doppel_pipeline::spec::parse_stages;
use doppel_pipeline::stages::sharpen::Sharpen;
use doppel_pipeline::stages::{build_all, BuildContext};
use doppel_pipeline::{Frame, Mode, Rational, Stage, Timestamp};
use image::{Rgba, RgbaImage};

mod common;
use common::{output_dir, side_by_side};

/// A real photo (scikit-image's astronaut, public domain, fetched by scripts/fetch-test-faces.sh),
/// with a transparent band so alpha handling is covered too.
fn photo() -> RgbaImage {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-data/faces/astronaut.png");
    let mut image = image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/fetch-test-faces.sh)", path.display()))
        .to_rgba8();
    for y in 0..24 {
        for x in 0..image.width() {
            image.get_pixel_mut(x, y)[3] = (x % 256) as u8;
        }
    }
    image
}

fn sharpen(image: &RgbaImage, backend: &str) -> RgbaImage {
    let options = StageOptions::from_pairs(
        "sharpen",
        &[("amount", "1.5"), ("radius", "3"), ("backend", backend)],
    );
    let mut stage =
        Sharpen::from_options(&options, &BuildContext::new(Mode::Offline)).expect("sharpen builds");
    let frame = Frame::new(0, Timestamp::new(0, Rational::new(1, 30)), image.clone());
    stage
        .process(frame)
        .expect("sharpen runs")
        .into_image()
        .expect("pixels")
}

/// Mean absolute horizontal gradient: detail, which sharpening raises.
fn gradient(image: &RgbaImage) -> f64 {
    let mut sum = 0.0;
    for y in 0..image.height() {
        for x in 1..image.width() {
            let (a, b) = (image.get_pixel(x, y), image.get_pixel(x - 1, y));
            sum += (f64::from(a[1]) - f64::from(b[1])).abs();
        }
    }
    sum / f64::from(image.width() * image.height())
}

#[test]
fn gpu_matches_cpu_within_one_and_adds_detail() {
    let input = photo();
    let cpu = sharpen(&input, "cpu");
    let gpu = sharpen(&input, "gpu");
    assert_eq!(gpu.dimensions(), input.dimensions());
    let mut worst = 0u8;
    let mut differing = 0u64;
    for (a, b) in cpu.as_raw().iter().zip(gpu.as_raw()) {
        let d = a.abs_diff(*b);
        worst = worst.max(d);
        differing += u64::from(d > 0);
    }
    side_by_side(&[&input, &cpu, &gpu])
        .save(output_dir("sharpen").join("astronaut_input_cpu_gpu.png"))
        .expect("write PNG");
    eprintln!(
        "sharpen gpu vs cpu: worst {worst}, {differing} of {} channel values differ; gradient \
         {:.2} -> {:.2}",
        cpu.as_raw().len(),
        gradient(&input),
        gradient(&cpu)
    );
    assert!(worst <= 1, "GPU and CPU differ by {worst}");
    assert!(
        gradient(&cpu) > 1.2 * gradient(&input),
        "sharpening adds detail: {:.2} -> {:.2}",
        gradient(&input),
        gradient(&cpu)
    );
    // Alpha passes through.
    assert!(input.pixels().zip(gpu.pixels()).all(|(a, b)| a[3] == b[3]));
}

#[test]
fn threshold_leaves_flat_noise_alone() {
    // ±1 noise on a flat grey: below the default threshold of 2, nothing changes.
    let input = RgbaImage::from_fn(64, 48, |x, y| {
        let v = 128 + ((x * 7 + y * 13) % 3) as u8 - 1;
        Rgba([v, v, v, 255])
    });
    for backend in ["cpu", "gpu"] {
        let options = StageOptions::from_pairs("sharpen", &[("backend", backend)]);
        let mut stage =
            Sharpen::from_options(&options, &BuildContext::new(Mode::Offline)).expect("builds");
        let frame = Frame::new(0, Timestamp::new(0, Rational::new(1, 30)), input.clone());
        let out = stage.process(frame).unwrap().into_image().unwrap();
        assert_eq!(out, input, "{backend}: noise below the threshold is kept");
    }
}

#[test]
fn rejects_bad_options() {
    for (key, value) in [
        ("amount", "6"),
        ("radius", "0"),
        ("threshold", "-1"),
        ("backend", "tpu"),
    ] {
        let options = StageOptions::from_pairs("sharpen", &[(key, value)]);
        let err = Sharpen::from_options(&options, &BuildContext::new(Mode::Offline))
            .err()
            .expect("refused")
            .to_string();
        assert!(
            err.contains(key) || err.contains("gpu, cpu"),
            "{key}={value}: {err}"
        );
    }
}

/// `lowlight`-free GPU chain through the graph: one upload (by the first GPU stage) and one
/// readback (by the sink that writes pixels), whatever the number of GPU stages between.
#[test]
fn a_chain_of_gpu_stages_transfers_once_each_way() {
    let specs = parse_stages("blur:radius=2,sharpen,deglare,blur:radius=1").expect("spec");
    let stages = build_all(&specs, &BuildContext::new(Mode::Offline)).expect("stages build");
    let source = SyntheticSource::new(SyntheticConfig {
        width: 160,
        height: 120,
        frames: Some(6),
        ..SyntheticConfig::default()
    });
    let report = graph::run(
        Box::new(source),
        stages,
        Box::new(PixelSink::default()),
        RunConfig::new(Mode::Offline),
    )
    .into_result()
    .expect("run");
    assert_eq!(report.frames_out, 6);
    let uploads: u64 = report.nodes.iter().map(|n| n.uploads).sum();
    let readbacks: u64 = report.nodes.iter().map(|n| n.readbacks).sum();
    assert_eq!((uploads, readbacks), (6, 6), "{:#?}", report.nodes);
    assert_eq!(report.nodes[1].uploads, 6, "the first GPU stage uploads");
    assert_eq!(report.nodes.last().map(|n| n.readbacks), Some(6));
}

/// A sink that reads pixels on the CPU (as files do) and checks they are there.
#[derive(Default)]
struct PixelSink {
    frames: u64,
}

impl doppel_pipeline::sink::Sink for PixelSink {
    fn write(&mut self, frame: &Frame) -> doppel_pipeline::Result<()> {
        assert_eq!(frame.cpu_image()?.dimensions(), (160, 120));
        self.frames += 1;
        Ok(())
    }

    fn finish(&mut self) -> doppel_pipeline::Result<doppel_pipeline::sink::SinkSummary> {
        Ok(doppel_pipeline::sink::SinkSummary {
            frames: self.frames,
            target: "pixels".to_string(),
        })
    }
}

#[test]
fn null_sink_reads_nothing_back() {
    let specs = parse_stages("blur,sharpen").expect("spec");
    let stages = build_all(&specs, &BuildContext::new(Mode::Offline)).expect("stages build");
    let source = SyntheticSource::new(SyntheticConfig {
        width: 64,
        height: 48,
        frames: Some(3),
        ..SyntheticConfig::default()
    });
    let report = graph::run(
        Box::new(source),
        stages,
        Box::new(NullSink::default()),
        RunConfig::new(Mode::Offline),
    )
    .into_result()
    .expect("run");
    let readbacks: u64 = report.nodes.iter().map(|n| n.readbacks).sum();
    assert_eq!(readbacks, 0, "{:#?}", report.nodes);
}
