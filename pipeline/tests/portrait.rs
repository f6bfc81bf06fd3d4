//! The portrait cartoon model (CartoonGAN light, Shinkai) keeps the person: on real portraits the
//! stylized face is still found by the tracker, its mesh lies within 5% of the inter-ocular distance
//! (NME, mean over the 468 mesh points) of the mesh on the unstylized picture, and the luminance
//! SSIM against the original is reported. The same figures for whole-picture stylization only and
//! for the multistyle net's style 19 show what the face-aware pass adds. Contact sheet:
//! `target/test-output/portrait/`.

use std::path::Path;

use doppel_pipeline::infer::SessionConfig;
use doppel_pipeline::options::StageOptions;
use doppel_pipeline::stages::stylize::Stylize;
use doppel_pipeline::stages::BuildContext;
use doppel_pipeline::sticker;
use doppel_pipeline::style::portrait::PortraitStylizer;
use doppel_pipeline::style::{Style, StyleWeights, Stylizer, StylizerConfig};
use doppel_pipeline::track::{FaceTracker, TrackerConfig};
use doppel_pipeline::Mode;
use image::RgbaImage;

mod common;
use common::{face_data, face_photo, grid, model, output_dir, psnr, root, still_tracker};

fn mesh_of(tracker: &mut FaceTracker, image: &RgbaImage) -> Option<Vec<[f32; 3]>> {
    tracker.reset();
    tracker
        .process(image)
        .expect("tracking runs")
        .into_iter()
        .max_by(|a, b| a.rect.area().total_cmp(&b.rect.area()))
        .map(|f| f.mesh)
}

/// Mean landmark distance over the 468 mesh points, in units of the inter-ocular distance.
fn nme(a: &[[f32; 3]], b: &[[f32; 3]]) -> f32 {
    let iod = (a[473][0] - a[468][0]).hypot(a[473][1] - a[468][1]);
    (0..468)
        .map(|i| (a[i][0] - b[i][0]).hypot(a[i][1] - b[i][1]))
        .sum::<f32>()
        / 468.0
        / iod
}

/// Mean SSIM of luminance over 8x8 windows (Wang et al. 2004 constants for 8-bit).
fn ssim(a: &RgbaImage, b: &RgbaImage) -> f64 {
    let lum = |p: &image::Rgba<u8>| {
        0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2])
    };
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let (w, h) = a.dimensions();
    let mut total = 0.0;
    let mut n = 0.0;
    for y in (0..h - 7).step_by(8) {
        for x in (0..w - 7).step_by(8) {
            let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for j in 0..8 {
                for i in 0..8 {
                    let (u, v) = (
                        lum(a.get_pixel(x + i, y + j)),
                        lum(b.get_pixel(x + i, y + j)),
                    );
                    sa += u;
                    sb += v;
                    saa += u * u;
                    sbb += v * v;
                    sab += u * v;
                }
            }
            let (ma, mb) = (sa / 64.0, sb / 64.0);
            let (va, vb, cov) = (
                saa / 64.0 - ma * ma,
                sbb / 64.0 - mb * mb,
                sab / 64.0 - ma * mb,
            );
            total += ((2.0 * ma * mb + c1) * (2.0 * cov + c2))
                / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            n += 1.0;
        }
    }
    total / n
}

#[test]
fn cartoon_portraits_keep_the_face_the_tracker_finds() {
    let dir = output_dir("portrait");
    let mut portrait = PortraitStylizer::load(
        &model("cartoongan_light_shinkai.onnx"),
        &SessionConfig::default(),
        256,
    )
    .expect("portrait model loads");
    let mut multistyle = Stylizer::new(StylizerConfig {
        multistyle_model: model("multistyle26.onnx"),
        ..StylizerConfig::default()
    });
    multistyle
        .set_style(&Style::Weights(StyleWeights::one(19).expect("19")))
        .expect("style");
    let mut tracker = still_tracker();
    let mut report = String::new();
    let mut rows = Vec::new();
    for name in ["single_face.jpg", "grace_hopper.jpg", "0-f15-hao-ph.jpg"] {
        let crop = sticker::crop_face(&face_photo(name), Path::new(name), &mut tracker, 512)
            .expect("face found");
        let rest = mesh_of(&mut tracker, &crop.image).expect("face in the original");
        let whole = portrait.run(&crop.image).expect("stylize");
        let aware = portrait
            .run_with_face(&crop.image, Some(crop.face))
            .expect("stylize");
        let toon = multistyle.run(&crop.image).expect("multistyle");
        let mut line = format!("{name}:");
        for (what, img) in [
            ("face-aware", &aware),
            ("whole only", &whole),
            ("multistyle 19", &toon),
        ] {
            let e = mesh_of(&mut tracker, img).map(|m| nme(&rest, &m));
            let shown = e.map_or("face not found".to_string(), |e| {
                format!("NME {:.2}%", 100.0 * e)
            });
            line += &format!(" {what}: {shown} SSIM {:.3};", ssim(&crop.image, img));
            if what == "face-aware" {
                let e = e.unwrap_or_else(|| panic!("{name}: the stylized face is not found"));
                assert!(e <= 0.05, "{name}: NME {e:.3} of the IOD");
            }
        }
        report += &line;
        report.push('\n');
        rows.push([crop.image.clone(), whole, aware, toon]);
    }
    eprintln!("{report}");
    std::fs::write(dir.join("portrait.txt"), &report).expect("report");
    grid(&rows, 256)
        .save(dir.join("portrait_sheet.png"))
        .expect("png");
}

/// Flicker on a real talking-head clip (24 frames of `single_face.mp4`, 640x360): the portrait model
/// face-aware at working size 256 against today's `stylize` (multistyle style 19 at 456x256, brought
/// back to frame size), both with the stage's default stabilizer (0.8). The figure is the
/// `FlickerMeter` ratio (output change over static pixels / the input's); the portrait look, and
/// the distilled portrait base model in the stage, must flicker no more than today's stage.
#[test]
fn portrait_look_flickers_no_more_than_todays_stage() {
    use doppel_pipeline::source::Source;
    use doppel_pipeline::style::{FlickerMeter, Stabilizer};
    let path = face_data("single_face.mp4");
    let mut source = doppel_pipeline::source::video::VideoSource::open(&path).expect("clip");
    let mut frames = Vec::new();
    while frames.len() < 24 {
        match source.next_frame().expect("decodes") {
            Some(f) => frames.push(f.into_image().expect("pixels")),
            None => break,
        }
    }
    let mut portrait = PortraitStylizer::load(
        &model("cartoongan_light_shinkai.onnx"),
        &SessionConfig::default(),
        256,
    )
    .expect("portrait model loads");
    let mut multistyle = Stylizer::new(StylizerConfig {
        multistyle_model: model("multistyle26.onnx"),
        ..StylizerConfig::default()
    });
    multistyle
        .set_style(&Style::Weights(StyleWeights::one(19).expect("19")))
        .expect("style");
    let mut tracker = FaceTracker::load(&TrackerConfig {
        detector_model: model("face_detection_short_range.onnx"),
        mesh_model: model("face_landmarks_detector.onnx"),
        blendshape_model: None,
        ..TrackerConfig::default()
    })
    .expect("tracker");
    let (mut meter_p, mut meter_m) = (FlickerMeter::new(), FlickerMeter::new());
    // The distilled portrait base through the stage as it runs live (working size 256, default
    // stability 0.8).
    let mut student = portrait_stage(&[("size", "256")]).expect("portrait stage");
    let mut meter_s = FlickerMeter::new();
    let (mut stab_p, mut stab_m) = (
        Stabilizer::with_strength(0.8),
        Stabilizer::with_strength(0.8),
    );
    let (w, h) = frames[0].dimensions();
    for f in &frames {
        let face = tracker.process(f).expect("track").first().map(|x| x.rect);
        let mut p = portrait.run_with_face(f, face).expect("portrait");
        stab_p.apply(f, &mut p);
        meter_p.push(f, &p);
        let small = image::imageops::resize(f, 456, 256, image::imageops::FilterType::Triangle);
        let styled = multistyle.run(&small).expect("multistyle");
        let mut m = image::imageops::resize(&styled, w, h, image::imageops::FilterType::Triangle);
        stab_m.apply(f, &mut m);
        meter_m.push(f, &m);
        meter_s.push(f, &student.apply(f).expect("student"));
    }
    let (rp, rm, rs) = (
        meter_p.ratio().expect("ratio"),
        meter_m.ratio().expect("ratio"),
        meter_s.ratio().expect("ratio"),
    );
    let report = format!(
        "flicker ratio over {} frames: portrait face-aware {rp:.2}, portrait base model (stylize:model=portrait) {rs:.2}, multistyle 19 (today's stage) {rm:.2}",
        frames.len()
    );
    eprintln!("{report}");
    let dir = output_dir("portrait");
    std::fs::write(dir.join("flicker.txt"), &report).expect("report");
    assert!(rp <= rm, "{report}");
    assert!(rs <= rm, "{report}");
}

/// The `stylize` stage with the portrait base model (`model=` the distilled student) and the
/// repository's skills; CPU resize, no temporal smoothing unless `stability` is given.
fn portrait_stage(pairs: &[(&str, &str)]) -> doppel_pipeline::Result<Stylize> {
    let model = root()
        .join("models/portrait_toon.onnx")
        .display()
        .to_string();
    let skills = root().join("assets/skills").display().to_string();
    let mut all = vec![
        ("model", model.as_str()),
        ("skills", skills.as_str()),
        ("backend", "cpu"),
        ("threads", "2"),
    ];
    all.extend_from_slice(pairs);
    Stylize::from_options(
        &StageOptions::from_pairs("stylize", &all),
        &BuildContext::new(Mode::Offline),
    )
}

/// The portrait look as a `stylize` base model with skills: the student net distilled from
/// CartoonGAN Shinkai (`scripts/train_portrait.py`) runs as `stylize:model=...`, and the `paprika`
/// skill (a LoRA adapter) switches its look in the same session. On real portraits the stylized face
/// is still found and its mesh lies within 5% of the IOD of the unstylized one (both looks); the
/// student's PSNR / SSIM against the teacher (CartoonGAN at the same working size) are reported.
/// `single_face.jpg` and `grace_hopper.jpg` were held out of training; `0-f15-hao-ph.jpg` was a
/// training photo. Contact sheet: frame | teacher | student | student + paprika.
#[test]
fn portrait_base_model_and_its_skill_keep_the_face() {
    let dir = output_dir("portrait");
    let mut stage = portrait_stage(&[("size", "256"), ("stability", "0")]).expect("stage");
    assert_eq!(stage.session_builds(), 1, "the base model's session");
    let mut teacher = PortraitStylizer::load(
        &model("cartoongan_light_shinkai.onnx"),
        &SessionConfig::default(),
        256,
    )
    .expect("teacher loads");
    let mut tracker = still_tracker();
    let mut report = String::new();
    let mut rows = Vec::new();
    for name in ["single_face.jpg", "grace_hopper.jpg", "0-f15-hao-ph.jpg"] {
        let crop = sticker::crop_face(&face_photo(name), Path::new(name), &mut tracker, 512)
            .expect("face found");
        let rest = mesh_of(&mut tracker, &crop.image).expect("face in the original");
        let taught = teacher.run(&crop.image).expect("teacher");
        stage
            .set_style(&Style::Model(model("portrait_toon.onnx")))
            .expect("base");
        let base = stage.apply(&crop.image).expect("student");
        stage.set_skill_named("paprika").expect("paprika skill");
        let paprika = stage.apply(&crop.image).expect("student + paprika");
        assert_eq!(
            stage.session_builds(),
            1,
            "switching looks built no session"
        );
        assert!(
            psnr(&base, &paprika) < 35.0,
            "{name}: the paprika skill barely changes the picture"
        );
        let mut line = format!(
            "{name}: student vs teacher PSNR {:.2} dB SSIM {:.3};",
            psnr(&base, &taught),
            ssim(&base, &taught)
        );
        for (what, img) in [("base", &base), ("paprika", &paprika)] {
            let e = mesh_of(&mut tracker, img)
                .map(|m| nme(&rest, &m))
                .unwrap_or_else(|| panic!("{name} {what}: the stylized face is not found"));
            line += &format!(
                " {what}: NME {:.2}% SSIM vs frame {:.3};",
                100.0 * e,
                ssim(&crop.image, img)
            );
            assert!(e <= 0.05, "{name} {what}: NME {e:.3} of the IOD");
        }
        report += &line;
        report.push('\n');
        rows.push([crop.image.clone(), taught, base, paprika]);
    }
    eprintln!("{report}");
    std::fs::write(dir.join("portrait_student.txt"), &report).expect("report");
    grid(&rows, 256)
        .save(dir.join("portrait_student_sheet.png"))
        .expect("png");
}

/// `Next` (key N live) with `model=` goes round the base and its adapter skills only, in one
/// session; `model=` with a style, or with a skill that is not an adapter, is refused naming the
/// option.
#[test]
fn portrait_model_next_and_bad_combinations() {
    let mut stage = portrait_stage(&[("size", "64")]).expect("stage");
    let frame = RgbaImage::from_fn(96, 64, |x, y| {
        image::Rgba([x as u8 * 2, y as u8 * 3, 90, 255])
    });
    let mut shown = Vec::new();
    for _ in 0..3 {
        shown.push(stage.next_style().expect("next"));
        stage.apply(&frame).expect("frame");
    }
    assert!(shown[0].contains("paprika"), "{shown:?}");
    assert!(shown[1].contains("as it is"), "{shown:?}");
    assert!(shown[2].contains("paprika"), "{shown:?}");
    assert_eq!(stage.session_builds(), 1);
    let err = |pairs: &[(&str, &str)]| match portrait_stage(pairs) {
        Ok(_) => panic!("{pairs:?} was accepted"),
        Err(e) => e.to_string(),
    };
    let e = err(&[("style", "3")]);
    assert!(e.contains("'style'") && e.contains("model="), "{e}");
    let e = err(&[("skill", "toon")]);
    assert!(e.contains("'skill'") && e.contains("adapter"), "{e}");
    let e = match Stylize::from_options(
        &StageOptions::from_pairs(
            "stylize",
            &[("model", "/no/such/base.onnx"), ("backend", "cpu")],
        ),
        &BuildContext::new(Mode::Offline),
    ) {
        Ok(_) => panic!("a missing model was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("/no/such/base.onnx"), "{e}");
}
