//! Inputs that used to panic or give silently wrong results (issue 17): animated images read to their
//! last frame with their delays, models that are not image models or declare huge inputs refused when
//! built, and per-frame statistics in fixed memory within 1% of the exact percentiles.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use doppel_pipeline::error::Error;
use doppel_pipeline::graph::{Sketch, Summary};
use doppel_pipeline::infer::{ImageModel, ImageSpec, Model, SessionConfig};
use doppel_pipeline::source::{self, OpenOptions};
use doppel_pipeline::sticker::{write_animation, Format};
use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, Frame, Rgba, RgbaImage};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/robust")
        .join(name)
}

/// Frame `i` of a test animation: a bar whose position tells the frames apart.
fn picture(i: u32, w: u32, h: u32) -> RgbaImage {
    RgbaImage::from_fn(w, h, |x, _| {
        if x / 4 == i % (w / 4) {
            Rgba([250, 40, 40, 255])
        } else {
            Rgba([20, 20, 120 + (i * 5 % 100) as u8, 255])
        }
    })
}

/// Reads every frame of `path` through the public source API: (frame count, pts in ms, sizes ok).
fn read_all(path: &Path) -> (u64, Vec<f64>) {
    let mut src = source::open(path.to_str().unwrap(), &OpenOptions::default()).unwrap();
    let declared = src.info().frame_count;
    let (w, h) = (src.info().width, src.info().height);
    let mut times = Vec::new();
    while let Some(frame) = src.next_frame().unwrap() {
        assert_eq!(frame.cpu_image().unwrap().dimensions(), (w, h));
        assert_eq!(frame.seq, times.len() as u64);
        times.push(frame.pts.seconds() * 1000.0);
    }
    assert_eq!(
        declared,
        Some(times.len() as u64),
        "frame_count is the real count"
    );
    (times.len() as u64, times)
}

#[test]
fn animated_gif_gives_every_frame_at_its_delay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("anim.gif");
    // GIF delays are in 10 ms units: 50, 120, 50, 120, ...
    let delays: Vec<u32> = (0..20).map(|i| if i % 2 == 0 { 50 } else { 120 }).collect();
    {
        let mut enc = GifEncoder::new(BufWriter::new(File::create(&path).unwrap()));
        enc.set_repeat(Repeat::Infinite).unwrap();
        for (i, &d) in delays.iter().enumerate() {
            let frame = Frame::from_parts(
                picture(i as u32, 64, 48),
                0,
                0,
                Delay::from_numer_denom_ms(d, 1),
            );
            enc.encode_frame(frame).unwrap();
        }
    }
    let (count, times) = read_all(&path);
    assert_eq!(count, 20);
    let mut expected = 0.0;
    for (i, t) in times.iter().enumerate() {
        assert!(
            (t - expected).abs() < 0.01,
            "frame {i} at {t} ms, expected {expected}"
        );
        expected += f64::from(delays[i]);
    }
}

#[test]
fn animated_webp_and_apng_give_every_frame() {
    let dir = tempfile::tempdir().unwrap();
    let frames: Vec<RgbaImage> = (0..12).map(|i| picture(i, 48, 48)).collect();
    for (format, name) in [(Format::Webp, "anim.webp"), (Format::Apng, "anim.png")] {
        let path = dir.path().join(name);
        write_animation(&path, &frames, 80, format).unwrap();
        let (count, times) = read_all(&path);
        assert_eq!(count, 12, "{name}");
        for (i, t) in times.iter().enumerate() {
            assert!(
                (t - 80.0 * i as f64).abs() < 0.01,
                "{name}: frame {i} at {t} ms"
            );
        }
    }
    // A still PNG stays a one-frame image source.
    let still = dir.path().join("still.png");
    frames[0].save(&still).unwrap();
    assert_eq!(read_all(&still).0, 1);
}

#[test]
fn a_score_output_is_not_an_image_model() {
    let path = fixture("score_1x1.onnx");
    let e = ImageModel::load(&path, &SessionConfig::default(), &ImageSpec::default()).unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, Error::Model { .. }), "{e:?}");
    for needle in ["score_1x1.onnx", "'score'", "[1,1,1,1]", "not an image"] {
        assert!(text.contains(needle), "'{needle}' missing from: {text}");
    }
    // Naming the output does not make it one.
    let spec = ImageSpec {
        output: Some("score".into()),
        ..ImageSpec::default()
    };
    let e = ImageModel::load(&path, &SessionConfig::default(), &spec).unwrap_err();
    assert!(e.to_string().contains("[1,1,1,1]"), "{e}");
}

#[test]
fn a_huge_fixed_input_is_refused_when_loaded() {
    let path = fixture("huge_input.onnx");
    let e = Model::load(&path, &SessionConfig::default()).unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, Error::Model { .. }), "{e:?}");
    for needle in ["huge_input.onnx", "[1,3,100000,100000]", "8192"] {
        assert!(text.contains(needle), "'{needle}' missing from: {text}");
    }
}

/// A small deterministic generator (xorshift64*), so the distributions are the same every run.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u, v) = (self.next_f64(), self.next_f64());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

#[test]
fn sketch_percentiles_are_within_one_percent_of_exact() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    type Draw = Box<dyn Fn(&mut Rng) -> f64>;
    let distributions: Vec<(&str, Draw)> = vec![
        // Stage times: log-normal around 12 ms.
        (
            "lognormal",
            Box::new(|r: &mut Rng| (2.5 + 0.4 * r.normal()).exp()),
        ),
        // A fast path with a slow tail: 97% ~3 ms, 3% ~40 ms (GC pauses, model warm-ups).
        (
            "bimodal",
            Box::new(|r: &mut Rng| {
                if r.next_f64() < 0.97 {
                    3.0 + 0.3 * r.normal().abs()
                } else {
                    40.0 + 10.0 * r.normal().abs()
                }
            }),
        ),
        // Latency at a steady frame rate: uniform within a frame period on top of 18 ms.
        (
            "uniform",
            Box::new(|r: &mut Rng| 18.0 + 33.3 * r.next_f64()),
        ),
        // Sub-millisecond sink writes, exponential.
        (
            "exponential",
            Box::new(|r: &mut Rng| -0.2 * r.next_f64().ln()),
        ),
    ];
    for (name, draw) in distributions {
        let samples: Vec<f64> = (0..100_000).map(|_| draw(&mut rng)).collect();
        let mut sketch = Sketch::default();
        for &s in &samples {
            sketch.record(s);
        }
        let got = sketch.summary();
        let exact = Summary::of(samples);
        assert_eq!(got.count, exact.count);
        assert!(
            (got.mean - exact.mean).abs() <= 1e-9 * exact.mean,
            "{name}: mean"
        );
        for (what, g, e) in [("p50", got.p50, exact.p50), ("p99", got.p99, exact.p99)] {
            let err = (g - e).abs() / e;
            println!(
                "{name} {what}: sketch {g:.4} exact {e:.4} ({:.3}%)",
                err * 100.0
            );
            assert!(err <= 0.01, "{name} {what}: sketch {g} vs exact {e}");
        }
    }
}

/// Panics on frame 3: a bug in a stage must not take the run down without saying where.
struct Panics;

impl doppel_pipeline::Stage for Panics {
    fn name(&self) -> &str {
        "panics-on-3"
    }

    fn process(
        &mut self,
        frame: doppel_pipeline::Frame,
    ) -> doppel_pipeline::Result<doppel_pipeline::Frame> {
        assert!(frame.seq != 3, "injected bug");
        Ok(frame)
    }
}

#[test]
fn a_panicking_stage_is_an_error_naming_it_and_the_sink_finishes() {
    use doppel_pipeline::graph::{run, RunConfig};
    use doppel_pipeline::source::synthetic::{SyntheticConfig, SyntheticSource};
    let source = SyntheticSource::new(SyntheticConfig {
        width: 32,
        height: 32,
        fps: 30,
        frames: Some(10),
        live: false,
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("%02d.png");
    let info = doppel_pipeline::source::Source::info(&source).clone();
    let sink = doppel_pipeline::sink::open(out.to_str().unwrap(), &info).unwrap();
    let outcome = run(
        Box::new(source),
        vec![Box::new(Panics)],
        sink,
        RunConfig::new(doppel_pipeline::Mode::Offline),
    );
    let error = outcome.error.expect("the panic is an error");
    assert!(matches!(error, Error::Internal(_)), "{error:?}");
    assert!(error.to_string().contains("panics-on-3"), "{error}");
    // The frames before the panic were written: the sink was finished, not abandoned.
    assert_eq!(outcome.report.frames_out, 3);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
}
