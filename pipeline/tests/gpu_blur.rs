//! The blur kernel on a real wgpu device (lavapipe on machines without a GPU) against the CPU
//! reference, and the `blur` stage in a real pipeline (synthetic source -> blur -> image sink).
//!
//! Side-by-side PNGs (input | cpu | gpu) go to `target/test-output/gpu_blur/`.
//! Run with `cargo test --release -p doppel-pipeline --test gpu_blur`.

use std::sync::Arc;

use doppel_pipeline::gpu::blur::{gaussian_blur, GaussianWeights, GpuBlur};
use doppel_pipeline::gpu::GpuContext;
use doppel_pipeline::source::synthetic::{render, SyntheticConfig};
use image::{Rgba, RgbaImage};

mod common;
use common::{output_dir, side_by_side};

/// Largest difference allowed between GPU and CPU, per channel (see `gpu::blur` docs).
const TOLERANCE: u8 = 1;

const RADII: [u32; 5] = [0, 1, 2, 5, 16];

fn gpu() -> Arc<GpuContext> {
    match GpuContext::shared() {
        Ok(ctx) => ctx,
        Err(e) => panic!("these tests need a wgpu adapter (lavapipe will do): {e}"),
    }
}

fn kernel() -> GpuBlur {
    GpuBlur::new(gpu()).expect("blur kernel builds")
}

fn synthetic(width: u32, height: u32, seq: u64) -> RgbaImage {
    let config = SyntheticConfig {
        width,
        height,
        ..SyntheticConfig::default()
    };
    render(&config, seq)
}

/// Deterministic noise (xorshift64*). With `alpha`, alpha is random too, including 0 and 255.
fn noise(width: u32, height: u32, seed: u64, alpha: bool) -> RgbaImage {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32
    };
    RgbaImage::from_fn(width, height, |_, _| {
        let v = next().to_le_bytes();
        let a = if !alpha {
            255
        } else {
            // A quarter fully transparent, a quarter opaque, the rest anything.
            match v[3] & 3 {
                0 => 0,
                1 => 255,
                _ => (next() & 0xff) as u8,
            }
        };
        Rgba([v[0], v[1], v[2], a])
    })
}

fn blur_both(
    gpu: &mut GpuBlur,
    src: &RgbaImage,
    weights: &GaussianWeights,
) -> (RgbaImage, RgbaImage) {
    let mut cpu_out = RgbaImage::new(src.width(), src.height());
    gaussian_blur(src, &mut cpu_out, weights).expect("cpu blur");
    let mut gpu_out = RgbaImage::new(src.width(), src.height());
    gpu.run(src, &mut gpu_out, weights).expect("gpu blur");
    (cpu_out, gpu_out)
}

/// Largest per-channel difference and the number of channels that differ at all.
fn compare(a: &RgbaImage, b: &RgbaImage) -> (u8, usize) {
    assert_eq!(a.dimensions(), b.dimensions());
    a.as_raw()
        .iter()
        .zip(b.as_raw())
        .fold((0, 0), |(max, n), (x, y)| {
            let d = x.abs_diff(*y);
            (max.max(d), n + usize::from(d > 0))
        })
}

/// Writes input | cpu | gpu side by side.
fn save_side_by_side(name: &str, images: [&RgbaImage; 3]) {
    let path = output_dir("gpu_blur").join(format!("{name}.png"));
    side_by_side(&images)
        .save(&path)
        .expect("write side-by-side png");
}

fn variance(img: &RgbaImage, channel: usize) -> f64 {
    let values: Vec<f64> = img.pixels().map(|p| f64::from(p[channel])).collect();
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64
}

#[test]
fn shared_context_is_created_once_and_describes_itself() {
    let a = gpu();
    let b = gpu();
    assert!(Arc::ptr_eq(&a, &b));
    let text = a.describe();
    assert!(text.contains(&a.info.name), "{text}");
    eprintln!("GPU: {text}");
}

#[test]
fn gpu_matches_cpu_on_frames_and_noise() {
    let mut gpu = kernel();
    let frames = [
        ("synthetic_1280x720", synthetic(1280, 720, 10)),
        ("synthetic_641x361", synthetic(641, 361, 3)),
        ("noise_opaque_257x129", noise(257, 129, 1, false)),
        ("noise_alpha_300x77", noise(300, 77, 2, true)),
    ];
    for (name, src) in &frames {
        for radius in RADII {
            let weights = GaussianWeights::new(radius, None).unwrap();
            let (cpu_out, gpu_out) = blur_both(&mut gpu, src, &weights);
            let (max, differing) = compare(&cpu_out, &gpu_out);
            eprintln!(
                "{name} radius {radius}: max |gpu - cpu| = {max}, {differing} of {} channels differ",
                src.as_raw().len()
            );
            assert!(
                max <= TOLERANCE,
                "{name} radius {radius}: GPU and CPU differ by {max} (> {TOLERANCE})"
            );
            if name.starts_with("synthetic") && matches!(radius, 2 | 16) || radius == 5 {
                save_side_by_side(&format!("{name}_r{radius}"), [src, &cpu_out, &gpu_out]);
            }
        }
    }
}

#[test]
fn explicit_sigma_matches_too() {
    let mut gpu = kernel();
    let src = synthetic(320, 240, 5);
    for (radius, sigma) in [(4, 0.8), (8, 6.0), (32, 12.0)] {
        let weights = GaussianWeights::new(radius, Some(sigma)).unwrap();
        let (cpu_out, gpu_out) = blur_both(&mut gpu, &src, &weights);
        let (max, _) = compare(&cpu_out, &gpu_out);
        assert!(max <= TOLERANCE, "radius {radius} sigma {sigma}: {max}");
    }
}

#[test]
fn radius_zero_is_bit_identical() {
    let mut gpu = kernel();
    let weights = GaussianWeights::new(0, None).unwrap();
    for src in [
        synthetic(641, 361, 0),
        noise(199, 101, 3, false),
        noise(64, 64, 4, true),
    ] {
        let (cpu_out, gpu_out) = blur_both(&mut gpu, &src, &weights);
        assert!(cpu_out == src, "CPU radius 0 changed pixels");
        assert!(gpu_out == src, "GPU radius 0 changed pixels");
    }
}

#[test]
fn uniform_image_stays_uniform() {
    let mut gpu = kernel();
    for colour in [
        Rgba([0, 0, 0, 255]),
        Rgba([255, 255, 255, 255]),
        Rgba([12, 134, 250, 255]),
        Rgba([200, 17, 99, 128]),
        Rgba([3, 250, 77, 1]),
    ] {
        let src = RgbaImage::from_pixel(97, 53, colour);
        for radius in RADII {
            let weights = GaussianWeights::new(radius, None).unwrap();
            let (cpu_out, gpu_out) = blur_both(&mut gpu, &src, &weights);
            assert!(
                cpu_out == src,
                "CPU changed uniform {colour:?} at radius {radius}"
            );
            assert!(
                gpu_out == src,
                "GPU changed uniform {colour:?} at radius {radius}"
            );
        }
    }
}

#[test]
fn blur_really_blurs() {
    let mut gpu = kernel();
    let src = noise(256, 256, 5, false);
    let before = variance(&src, 0);
    let mut last = before;
    for radius in [1, 2, 5, 16] {
        let weights = GaussianWeights::new(radius, None).unwrap();
        let mut out = RgbaImage::new(256, 256);
        gpu.run(&src, &mut out, &weights).unwrap();
        let v = variance(&out, 0);
        eprintln!("noise variance: input {before:.0}, radius {radius}: {v:.1}");
        assert!(
            v < last * 0.8,
            "radius {radius}: variance {v} did not drop from {last}"
        );
        last = v;
        // The mean stays (a blur moves brightness around, it does not add or remove it).
        let mean = |img: &RgbaImage| img.pixels().map(|p| f64::from(p[0])).sum::<f64>() / 65536.0;
        assert!((mean(&out) - mean(&src)).abs() < 1.0);
    }
    // A sharp vertical edge becomes a ramp of the right width.
    let edge = RgbaImage::from_fn(64, 8, |x, _| {
        if x < 32 {
            Rgba([0, 0, 0, 255])
        } else {
            Rgba([255, 255, 255, 255])
        }
    });
    let mut out = RgbaImage::new(64, 8);
    gpu.run(&edge, &mut out, &GaussianWeights::new(4, None).unwrap())
        .unwrap();
    let row: Vec<u8> = (0..64).map(|x| out.get_pixel(x, 4)[0]).collect();
    assert!(row.windows(2).all(|w| w[0] <= w[1]), "{row:?}");
    assert_eq!(row[27], 0, "{row:?}");
    assert_eq!(row[36], 255, "{row:?}");
    assert!(row[30] > 0 && row[33] < 255, "{row:?}");
}

#[test]
fn kernel_follows_size_changes_and_rejects_mismatches() {
    let mut gpu = kernel();
    let weights = GaussianWeights::new(3, None).unwrap();
    for (w, h) in [(641, 361), (64, 48), (641, 361), (1, 1), (3, 1000)] {
        let src = noise(w, h, u64::from(w * h), true);
        let (cpu_out, gpu_out) = blur_both(&mut gpu, &src, &weights);
        let (max, _) = compare(&cpu_out, &gpu_out);
        assert!(max <= TOLERANCE, "{w}x{h}: {max}");
    }
    let src = RgbaImage::new(10, 10);
    let mut wrong = RgbaImage::new(10, 11);
    let err = gpu.run(&src, &mut wrong, &weights).unwrap_err().to_string();
    assert!(err.contains("10x10") && err.contains("10x11"), "{err}");
}

#[test]
fn blur_stage_in_a_pipeline() {
    use doppel_pipeline::graph::{run, RunConfig};
    use doppel_pipeline::source::synthetic::SyntheticSource;
    use doppel_pipeline::source::Source;
    use doppel_pipeline::stages::{build_all, BuildContext};
    use doppel_pipeline::Mode;

    let config = SyntheticConfig {
        width: 320,
        height: 180,
        frames: Some(4),
        ..SyntheticConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let pattern = dir.path().join("%03d.png");
    let specs = doppel_pipeline::spec::parse_stages("blur:radius=5").unwrap();
    let stages = build_all(&specs, &BuildContext::new(Mode::Offline)).unwrap();
    let source = SyntheticSource::new(config.clone());
    let sink = doppel_pipeline::sink::open(pattern.to_str().unwrap(), source.info()).unwrap();
    let report = run(
        Box::new(source),
        stages,
        sink,
        RunConfig::new(Mode::Offline),
    )
    .into_result()
    .unwrap();
    assert_eq!((report.frames_in, report.frames_out), (4, 4));
    let weights = GaussianWeights::new(5, None).unwrap();
    let mut files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 4, "{files:?}");
    for (seq, file) in files.iter().enumerate() {
        let written = image::open(file).unwrap().to_rgba8();
        let mut expected = RgbaImage::new(320, 180);
        gaussian_blur(&render(&config, seq as u64), &mut expected, &weights).unwrap();
        let (max, _) = compare(&written, &expected);
        assert!(max <= TOLERANCE, "{}: {max}", file.display());
        assert!(
            written != render(&config, seq as u64),
            "frame {seq} was not blurred"
        );
    }
}
