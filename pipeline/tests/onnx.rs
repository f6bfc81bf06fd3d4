//! The ONNX Runtime layer and the `onnx` stage with real models through the real library.
//!
//! References (`tests/fixtures/onnx/*.png`) were made with Python onnxruntime 1.32.0 by
//! `scripts/onnx_reference.py`; doppel must agree within ±1 per channel. Before/after images for a human
//! to look at go to `target/test-output/onnx/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use doppel_pipeline::graph::{self, RunConfig as GraphConfig};
use doppel_pipeline::infer::{
    self, Adapter, ExecutionProvider, ImageModel, ImageSpec, Model, RunConfig, SessionConfig,
};
use doppel_pipeline::options::StageOptions;
use doppel_pipeline::sink::null::NullSink;
use doppel_pipeline::source::{self, OpenOptions};
use doppel_pipeline::spec::parse_stages;
use doppel_pipeline::stages::onnx::Onnx;
use doppel_pipeline::stages::{build_all, BuildContext};
use doppel_pipeline::{Error, Frame, Mode, Rational, Stage, Timestamp};
use image::{Rgba, RgbaImage};

mod common;
use common::{model, model_arg, output_dir};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/onnx")
        .join(name)
}

fn load_png(name: &str) -> RgbaImage {
    image::open(fixture(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .to_rgba8()
}

/// `before` and `after` side by side (after scaled to before's height if needed), opaque, for a human to
/// view.
fn save_side_by_side(name: &str, before: &RgbaImage, after: &RgbaImage) {
    let opaque = |image: &RgbaImage| {
        let mut image = image.clone();
        image.pixels_mut().for_each(|p| p[3] = 255);
        image
    };
    let (before, after) = (&opaque(before), opaque(after));
    let after = if after.height() == before.height() {
        after
    } else {
        image::imageops::resize(
            &after,
            after.width() * before.height() / after.height(),
            before.height(),
            image::imageops::FilterType::Triangle,
        )
    };
    let mut canvas = RgbaImage::from_pixel(
        before.width() + 4 + after.width(),
        before.height(),
        Rgba([255, 255, 255, 255]),
    );
    image::imageops::overlay(&mut canvas, before, 0, 0);
    image::imageops::overlay(&mut canvas, &after, i64::from(before.width()) + 4, 0);
    canvas
        .save(output_dir("onnx").join(name))
        .expect("write PNG");
}

fn frame(image: RgbaImage) -> Frame {
    Frame::new(0, Timestamp::new(0, Rational::new(1, 30)), image)
}

/// Builds a pipeline description's stages as the app does (registry, option checks).
fn build(description: &str) -> doppel_pipeline::Result<Vec<Box<dyn Stage>>> {
    build_all(
        &parse_stages(description)?,
        &BuildContext::new(Mode::Offline),
    )
}

fn build_one(description: &str) -> doppel_pipeline::Result<Box<dyn Stage>> {
    let mut stages = build(description)?;
    assert_eq!(stages.len(), 1);
    Ok(stages.remove(0))
}

fn build_err(description: &str) -> String {
    match build(description) {
        Ok(_) => panic!("{description} should not build"),
        Err(e) => e.to_string(),
    }
}

/// Largest per-channel difference and the share of channel values that are exactly equal.
fn compare(a: &RgbaImage, b: &RgbaImage) -> (u8, f64) {
    assert_eq!(a.dimensions(), b.dimensions());
    let mut max = 0u8;
    let mut equal = 0usize;
    for (x, y) in a.as_raw().iter().zip(b.as_raw()) {
        let d = x.abs_diff(*y);
        max = max.max(d);
        equal += usize::from(d == 0);
    }
    (max, equal as f64 / a.as_raw().len() as f64)
}

fn mean_luma(image: &RgbaImage) -> f64 {
    let sum: f64 = image
        .pixels()
        .map(|p| 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]))
        .sum();
    sum / f64::from(image.width() * image.height())
}

fn mean_in(image: &RgbaImage, x0: u32, y0: u32, x1: u32, y1: u32) -> f64 {
    let mut sum = 0.0;
    for y in y0..y1 {
        for x in x0..x1 {
            sum += f64::from(image.get_pixel(x, y)[0]);
        }
    }
    sum / f64::from((x1 - x0) * (y1 - y0))
}

#[test]
fn runtime_info_reports_the_loaded_library() {
    let info =
        infer::runtime_info().expect("ONNX Runtime loads (run scripts/fetch-onnxruntime.sh)");
    assert_eq!(info.version, "1.32.0", "{info:?}");
    assert!(info.library.is_file(), "{info:?}");
    assert!(
        info.providers.iter().any(|p| p == "CPUExecutionProvider"),
        "{info:?}"
    );
    assert!(info.build.contains("ORT Build Info"), "{info:?}");
}

#[test]
fn zero_dce_matches_python_onnxruntime_and_brightens() {
    let input = load_png("dark_160x90.png");
    let expected = load_png("dark_160x90.zero_dce.png");
    let mut stage = build_one(&format!(
        "onnx:model={}:threads=1",
        model_arg("zero_dce_pp_neuro.onnx")
    ))
    .unwrap();
    let out = stage
        .process(frame(input.clone()))
        .unwrap()
        .into_image()
        .unwrap();
    let (max, equal) = compare(&out, &expected);
    println!(
        "zero-dce vs Python onnxruntime: max diff {max}, {:.2}% equal",
        equal * 100.0
    );
    assert!(max <= 1, "max per-channel difference {max} > 1");

    let (before, after) = (mean_luma(&input), mean_luma(&out));
    println!("zero-dce mean luma {before:.1} -> {after:.1}");
    assert!(after > before * 1.5 && after > 60.0, "{before} -> {after}");
    save_side_by_side("zero_dce_before_after.png", &input, &out);
}

#[test]
fn selfie_mask_matches_python_onnxruntime_and_finds_the_figure() {
    let input = load_png("crop_256.png");
    let expected = load_png("crop_256.selfie_mask.png");
    let mut stage = build_one(&format!(
        "onnx:model={}:threads=1",
        model_arg("selfie_segmentation.onnx")
    ))
    .unwrap();
    let out = stage
        .process(frame(input.clone()))
        .unwrap()
        .into_image()
        .unwrap();
    let (max, equal) = compare(&out, &expected);
    println!(
        "selfie mask vs Python onnxruntime: max diff {max}, {:.2}% equal",
        equal * 100.0
    );
    assert!(max <= 1, "max per-channel difference {max} > 1");
    // Grey: R = G = B everywhere.
    assert!(out.pixels().all(|p| p[0] == p[1] && p[1] == p[2]));
    // The standing figure (left half, body) is bright; the grass and rocks on the right are dark.
    let body = mean_in(&out, 30, 110, 100, 190);
    let background = mean_in(&out, 160, 20, 250, 110);
    println!("mask mean: figure {body:.0}, background {background:.0}");
    assert!(body > 150.0 && background < 30.0, "{body} / {background}");
    save_side_by_side("selfie_mask_before_after.png", &input, &out);
}

#[test]
fn fixed_size_model_output_comes_back_at_frame_size_with_frame_alpha() {
    // 640x360 frame -> resized to the model's fixed 256x256 -> mask scaled back to 640x360.
    let base = load_png("crop_256.png");
    let mut input = image::imageops::resize(&base, 640, 360, image::imageops::FilterType::Triangle);
    for (i, p) in input.pixels_mut().enumerate() {
        p[3] = (i % 251) as u8;
    }
    let mut stage = build_one(&format!(
        "onnx:model={}:threads=1",
        model_arg("selfie_segmentation.onnx")
    ))
    .unwrap();
    let out = stage
        .process(frame(input.clone()))
        .unwrap()
        .into_image()
        .unwrap();
    assert_eq!(out.dimensions(), (640, 360));
    assert!(out.pixels().zip(input.pixels()).all(|(o, i)| o[3] == i[3]));
    save_side_by_side("selfie_mask_640x360.png", &input, &out);
}

#[test]
fn output_size_follows_the_models_own_scale() {
    let up = fixture("upscale2.onnx").display().to_string();
    let input = RgbaImage::from_fn(40, 30, |x, y| Rgba([x as u8 * 6, y as u8 * 8, 100, 200]));
    // Dynamic model: fed at frame size, x2 out.
    let mut stage = build_one(&format!("onnx:model={up}")).unwrap();
    let out = stage
        .process(frame(input.clone()))
        .unwrap()
        .into_image()
        .unwrap();
    assert_eq!(out.dimensions(), (80, 60));
    assert_eq!(out.get_pixel(79, 59).0, [234, 232, 100, 255]);
    // Forced 32x32 input: 32x32 -> 64x64 out, brought to frame size x2 = 80x60.
    let mut stage = build_one(&format!("onnx:model={up}:width=32:height=32")).unwrap();
    assert_eq!(
        stage
            .process(frame(input))
            .unwrap()
            .into_image()
            .unwrap()
            .dimensions(),
        (80, 60)
    );
}

#[test]
fn dynamic_sides_follow_options_and_multiple() {
    let path = model_arg("zero_dce_pp_neuro.onnx");
    let make = |extra: &[(&str, &str)]| {
        let mut pairs = vec![("model", path.as_str())];
        pairs.extend_from_slice(extra);
        Onnx::from_options(
            &StageOptions::from_pairs("onnx", &pairs),
            &BuildContext::new(Mode::Offline),
        )
        .unwrap()
    };
    assert_eq!(make(&[]).input_size(161, 91), (161, 91));
    assert_eq!(make(&[("multiple", "4")]).input_size(161, 91), (160, 92));
    assert_eq!(make(&[("width", "320")]).input_size(640, 360), (320, 180));
    assert_eq!(
        make(&[("height", "90"), ("multiple", "8")]).input_size(640, 360),
        (160, 90)
    );
    let seg = Onnx::from_options(
        &StageOptions::from_pairs("onnx", &[("model", &model_arg("selfie_segmentation.onnx"))]),
        &BuildContext::new(Mode::Offline),
    )
    .unwrap();
    assert_eq!(seg.input_size(1280, 720), (256, 256));
    assert_eq!(seg.model().layout(), infer::Layout::Nhwc);
    assert_eq!(seg.model().fixed_size(), (Some(256), Some(256)));
}

#[test]
fn model_describes_inputs_and_outputs_with_dynamic_dims() {
    let m = Model::load(model("zero_dce_pp_neuro.onnx"), &SessionConfig::default()).unwrap();
    assert_eq!(m.inputs().len(), 1);
    assert_eq!(m.inputs()[0].name, "image");
    assert_eq!(m.inputs()[0].dims, [Some(1), Some(3), None, None]);
    assert_eq!(m.inputs()[0].shape_text(), "[1,3,h,w]");
    assert_eq!(m.outputs()[0].name, "enhanced");
    let m = Model::load(
        model_arg("face_detection_short_range.onnx"),
        &SessionConfig::default(),
    )
    .unwrap();
    let outs: Vec<String> = m.outputs().iter().map(ToString::to_string).collect();
    assert_eq!(
        outs,
        [
            "'regressors' [1,896,16] f32",
            "'classificators' [1,896,1] f32"
        ]
    );
}

#[test]
fn missing_model_is_a_model_error_naming_the_file() {
    let err = build_err("onnx:model=/nonexistent/dir/enhance.onnx");
    assert!(err.contains("/nonexistent/dir/enhance.onnx"), "{err}");
    assert!(err.contains("not found"), "{err}");
    let err = build_err("onnx:layout=nchw");
    assert!(err.contains("'model'") && err.contains("required"), "{err}");
}

#[test]
fn corrupt_model_is_a_model_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.onnx");
    std::fs::write(
        &path,
        b"\x07this is not an ONNX protobuf at all \xff\xfe\x00\x01",
    )
    .unwrap();
    let result = Model::load(&path, &SessionConfig::default());
    let Err(Error::Model { path: p, message }) = result else {
        panic!("expected Error::Model, got {result:?}");
    };
    assert_eq!(p, path);
    assert!(message.contains("not an ONNX model"), "{message}");
    let err = build_err(&format!("onnx:model={}", path.display()));
    assert!(err.contains("garbage.onnx"), "{err}");
}

#[test]
fn detector_output_is_not_an_image_and_the_error_shows_both_shapes() {
    let path = model_arg("face_detection_short_range.onnx");
    let err = build_err(&format!("onnx:model={path}"));
    println!("{err}");
    assert!(err.contains("face_detection_short_range.onnx"), "{err}");
    assert!(err.contains("[1,128,128,3]"), "input shape missing: {err}");
    assert!(err.contains("[1,896,16]"), "output shape missing: {err}");
    assert!(err.contains("not an image"), "{err}");
    let err = build_err(&format!("onnx:model={path}:output=nothing"));
    assert!(
        err.contains("no output 'nothing'") && err.contains("regressors"),
        "{err}"
    );
}

#[test]
fn size_options_that_contradict_a_fixed_model_are_option_errors() {
    let path = model_arg("selfie_segmentation.onnx");
    let result = build(&format!("onnx:model={path}:width=320"));
    let Err(Error::Option {
        stage,
        option,
        message,
    }) = result
    else {
        panic!("expected an option error");
    };
    assert_eq!((stage.as_str(), option.as_str()), ("onnx", "width"));
    assert!(message.contains("width=320"), "{message}");
    assert!(message.contains("selfie_segmentation.onnx"), "{message}");
    assert!(
        message.contains("[1,256,256,3]") && message.contains("256"),
        "{message}"
    );
    // The model's own size is accepted.
    assert!(build(&format!("onnx:model={path}:width=256:height=256")).is_ok());
    let err = build_err(&format!("onnx:model={path}:height=100"));
    assert!(
        err.contains("'height'") && err.contains("fixed height of 256"),
        "{err}"
    );
}

#[test]
fn bad_layout_range_and_provider_values_are_option_errors() {
    let path = model_arg("zero_dce_pp_neuro.onnx");
    let err = build_err(&format!("onnx:model={path}:layout=chw"));
    assert!(
        err.contains("'layout'") && err.contains("nchw, nhwc"),
        "{err}"
    );
    let err = build_err(&format!("onnx:model={path}:range=0..2"));
    assert!(err.contains("'range'") && err.contains("-1..1"), "{err}");
    let err = build_err(&format!("onnx:model={path}:threads=0"));
    assert!(err.contains("'threads'"), "{err}");
    let err = build_err(&format!("onnx:model={path}:provider=cuda:x"));
    assert!(err.contains("'provider'"), "{err}");
    // A layout that contradicts the model: NHWC asked of an NCHW model.
    let err = build_err(&format!("onnx:model={path}:layout=nhwc"));
    assert!(err.contains("[1,3,h,w]") && err.contains("NHWC"), "{err}");
}

#[test]
fn an_unavailable_execution_provider_fails_instead_of_falling_back() {
    let config = SessionConfig {
        provider: ExecutionProvider::parse("cuda").expect("parse"),
        ..SessionConfig::default()
    };
    let result = Model::load(model("zero_dce_pp_neuro.onnx"), &config);
    let Err(Error::Runtime(message)) = result else {
        panic!("expected Error::Runtime, got {result:?}");
    };
    println!("{message}");
    assert!(message.contains("CUDAExecutionProvider"), "{message}");
    assert!(message.contains("CPUExecutionProvider"), "{message}");
    assert!(message.contains("onnxruntime-gpu"), "{message}");
    let err = build_err(&format!(
        "onnx:model={}:provider=NoSuchThing",
        model_arg("zero_dce_pp_neuro.onnx")
    ));
    assert!(err.contains("NoSuchThingExecutionProvider"), "{err}");
}

#[test]
fn adapters_swap_skills_over_one_base_model() {
    let input = load_png("dark_160x90.png");
    let base = fixture("tint.onnx");
    let warm = Adapter::from_file(fixture("tint_warm.onnx_adapter")).unwrap();
    let cool = Adapter::from_file(fixture("tint_cool.onnx_adapter")).unwrap();

    // One session, three runs: no adapter (identity), warm, cool.
    let mut model =
        ImageModel::load(&base, &SessionConfig::default(), &ImageSpec::default()).unwrap();
    let names: Vec<&str> = model
        .model()
        .parameters()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["gain", "bias"]);
    let (plain, _) = model.run(&input, None).unwrap();
    assert_eq!(compare(&plain, &input).0, 0, "identity without an adapter");
    for (adapter, reference) in [
        (&warm, "dark_160x90.tint_warm.png"),
        (&cool, "dark_160x90.tint_cool.png"),
    ] {
        let run = RunConfig::new().unwrap().with_adapter(adapter).unwrap();
        let (out, _) = model.run(&input, Some(&run)).unwrap();
        let (max, _) = compare(&out, &load_png(reference));
        assert!(max <= 1, "{reference}: max difference {max}");
    }

    // The same through the stage, and from bytes.
    let mut stage = build_one(&format!(
        "onnx:model={}:adapter={}",
        base.display(),
        fixture("tint_cool.onnx_adapter").display()
    ))
    .unwrap();
    let out = stage
        .process(frame(input.clone()))
        .unwrap()
        .into_image()
        .unwrap();
    assert!(compare(&out, &load_png("dark_160x90.tint_cool.png")).0 <= 1);
    let bytes = std::fs::read(fixture("tint_warm.onnx_adapter")).unwrap();
    assert!(Adapter::from_bytes(&bytes, "warm (embedded)").is_ok());
}

#[test]
fn bad_adapters_are_model_errors() {
    let err = Adapter::from_file("/nonexistent/skill.onnx_adapter")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("/nonexistent/skill.onnx_adapter") && err.contains("not found"),
        "{err}"
    );
    let err = Adapter::from_bytes(b"not an adapter", "junk")
        .unwrap_err()
        .to_string();
    assert!(err.contains("junk") && err.contains("adapter"), "{err}");
    let err = build_err(&format!(
        "onnx:model={}:adapter={}",
        fixture("tint.onnx").display(),
        fixture("tint.onnx").display()
    ));
    assert!(
        err.contains("tint.onnx") && err.contains("adapter"),
        "{err}"
    );
}

#[test]
fn synthetic_pipeline_through_the_onnx_stage() {
    let source = source::open(
        "synthetic:width=320:height=180:frames=4",
        &OpenOptions::default(),
    )
    .unwrap();
    let stages = build(&format!(
        "onnx:model={}:threads=1",
        model_arg("selfie_segmentation.onnx")
    ))
    .unwrap();
    let report = graph::run(
        source,
        stages,
        Box::new(NullSink::default()),
        GraphConfig::new(Mode::Offline),
    )
    .into_result()
    .unwrap();
    assert_eq!((report.frames_in, report.frames_out), (4, 4));
}

/// Run by `missing_library_is_an_error_not_a_panic` in a child process with a bad ORT_DYLIB_PATH; does
/// nothing otherwise.
#[test]
fn child_missing_library() {
    match std::env::var("DOPPEL_ONNX_CHILD").as_deref() {
        Ok("bad-path") => {}
        Ok("no-env") => {
            // Without ORT_DYLIB_PATH: next to the executable, then <exe dir>/../lib/doppel (the
            // Debian package), then <exe dir>/../../.ort (cargo's target/release layout). A test
            // binary lives in target/release/deps, so none exists.
            let exe_dir = std::env::current_exe()
                .unwrap()
                .parent()
                .unwrap()
                .to_path_buf();
            let paths: Vec<PathBuf> = infer::library_candidates()
                .into_iter()
                .map(|c| c.0)
                .collect();
            assert_eq!(
                paths,
                [
                    exe_dir.join("libonnxruntime.so"),
                    exe_dir.join("../lib/doppel/libonnxruntime.so"),
                    exe_dir.join("../../.ort/libonnxruntime.so")
                ]
            );
            let err = infer::runtime_info().unwrap_err().to_string();
            assert!(err.contains("next to the executable"), "{err}");
            assert!(err.contains("scripts/fetch-onnxruntime.sh"), "{err}");
            println!("CHILD OK: {err}");
            return;
        }
        _ => return,
    }
    let err = infer::runtime_info().unwrap_err().to_string();
    assert!(err.contains("/nonexistent/ort/libonnxruntime.so"), "{err}");
    assert!(err.contains("ORT_DYLIB_PATH"), "{err}");
    assert!(err.contains("scripts/fetch-onnxruntime.sh"), "{err}");
    // Every entry point reports it; none panics.
    let e = build_err(&format!(
        "onnx:model={}",
        model_arg("zero_dce_pp_neuro.onnx")
    ));
    assert!(e.starts_with("ONNX Runtime:"), "{e}");
    assert!(Adapter::from_bytes(b"x", "x").is_err());
    assert!(RunConfig::new().is_err());
    println!("CHILD OK: {err}");
}

#[test]
fn missing_library_is_an_error_not_a_panic() {
    for mode in ["bad-path", "no-env"] {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args(["--exact", "child_missing_library", "--nocapture"])
            .env("DOPPEL_ONNX_CHILD", mode);
        if mode == "bad-path" {
            command.env("ORT_DYLIB_PATH", "/nonexistent/ort/libonnxruntime.so");
        } else {
            command.env_remove("ORT_DYLIB_PATH");
        }
        let out = command.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() && text.contains("CHILD OK"),
            "{mode}: {text}"
        );
        assert!(!text.contains("panicked"), "{mode}: {text}");
    }
}
