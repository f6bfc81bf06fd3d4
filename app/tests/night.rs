//! `doppel process` with the night stages in both orders, offline and live, on a clip made with FFmpeg
//! from a held-out night frame with glare (`pipeline/tests/fixtures/deglare/life_0_glare.png`).

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{doppel, repo};

fn frames(path: &Path) -> u64 {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=nb_read_frames,width,height",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("run ffprobe");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let fields: Vec<&str> = text.trim().split(',').collect();
    assert_eq!(fields[..2], ["384", "216"], "{}: {text}", path.display());
    fields[2].parse().expect("frame count")
}

fn night_clip(dir: &Path) -> PathBuf {
    let clip = dir.join("night.mp4");
    let still = repo().join("pipeline/tests/fixtures/deglare/life_0_glare.png");
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-loop", "1", "-i"])
        .arg(&still)
        .args([
            "-t", "1", "-r", "10", "-pix_fmt", "yuv420p", "-c:v", "libx264",
        ])
        .arg(&clip)
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    clip
}

#[test]
fn night_stages_run_in_both_orders_offline_and_live() {
    let dir = tempfile::tempdir().unwrap();
    let clip = night_clip(dir.path());
    for (i, stages) in [
        "deglare,lowlight",
        "lowlight,deglare",
        "deglare:backend=onnx:threads=2,lowlight:backend=cpu:strength=0.5",
        "lowlight:size=96,deglare:backend=cpu:strength=0.8",
    ]
    .iter()
    .enumerate()
    {
        for live in [false, true] {
            let output = dir.path().join(format!("out{i}_{live}.mp4"));
            let mut args = vec![
                "process",
                clip.to_str().unwrap(),
                "-o",
                output.to_str().unwrap(),
                "--stages",
                stages,
                "-q",
            ];
            if live {
                args.push("--live");
            }
            let out = doppel(&args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{stages} live={live}: {err}");
            let n = frames(&output);
            if live {
                assert!((1..=10).contains(&n), "{stages} live: {n} frames");
            } else {
                assert_eq!(n, 10, "{stages} offline keeps every frame");
            }
        }
    }
}

#[test]
fn stages_lists_deglare_and_lowlight_with_their_options() {
    let out = doppel(&["stages"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "deglare",
        "lowlight",
        "gpu (shader method, WGSL)",
        "strength",
        "models/deglare.onnx",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}

#[test]
fn bad_night_options_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = doppel(&[
        "process",
        "synthetic:width=64:height=48:frames=2",
        "-o",
        dir.path().join("x.mp4").to_str().unwrap(),
        "--stages",
        "deglare:backend=onnx:model=missing.onnx",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("missing.onnx") && !err.contains("panicked"),
        "{err}"
    );
    let out = doppel(&[
        "process",
        "synthetic:width=64:height=48:frames=2",
        "-o",
        dir.path().join("y.mp4").to_str().unwrap(),
        "--stages",
        "lowlight:strength=3",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("strength") && err.contains("lowlight"),
        "{err}"
    );
}
