//! Issue 17 (part B) through the real binary: closed pipes end quietly, bad sequence patterns and
//! models that are not image models are refused with a message, animated GIFs give every frame with
//! its delay, a broken skill file is skipped with a warning, and a headless live run ends with its
//! source.

use std::io::BufWriter;
use std::process::{Command, Output, Stdio};

use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, Frame, Rgba, RgbaImage};

mod common;
use common::{assert_refused, repo, stderr, DOPPEL};

fn doppel(args: &[&str]) -> Command {
    let mut c = Command::new(DOPPEL);
    c.args(args).current_dir(repo());
    c
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run doppel")
}

fn assert_no_panic(out: &Output) {
    let err = stderr(out);
    assert!(
        !err.contains("panicked") && out.status.code() != Some(101),
        "panic ({:?}):\n{err}",
        out.status
    );
}

/// Runs doppel with stdout and/or stderr connected to pipes whose reading end is already closed, so
/// that every write to them fails with EPIPE.
fn with_closed_pipes(
    args: &[&str],
    close_stdout: bool,
    close_stderr: bool,
) -> std::process::ExitStatus {
    let mut cmd = doppel(args);
    cmd.stdin(Stdio::null());
    cmd.stdout(if close_stdout {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    cmd.stderr(if close_stderr {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd.spawn().expect("spawn doppel");
    drop(child.stdout.take());
    drop(child.stderr.take());
    child.wait().expect("wait for doppel")
}

#[test]
fn doctor_piped_into_head_ends_without_a_panic() {
    let out = Command::new("bash")
        .args(["-c", "set -o pipefail; \"$0\" doctor | head -1", DOPPEL])
        .current_dir(repo())
        .output()
        .unwrap();
    let first = String::from_utf8_lossy(&out.stdout);
    assert!(first.starts_with("ONNX Runtime"), "{first}");
    assert_eq!(first.lines().count(), 1);
    assert_no_panic(&out);
    // 0 when doctor wrote everything before head left, 141 when a write found the pipe closed.
    assert!(
        matches!(out.status.code(), Some(0 | 141)),
        "{:?}",
        out.status
    );
}

#[test]
fn a_closed_stdout_is_exit_141_and_a_closed_stderr_does_not_stop_a_run() {
    for args in [&["stages"][..], &["doctor"], &["skills", "list"]] {
        let status = with_closed_pipes(args, true, false);
        assert_eq!(status.code(), Some(141), "{args:?}: {status:?}");
    }
    // `process` with both pipes closed (`2>&1 | head -1` after head left) finishes its output.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.mp4");
    let status = with_closed_pipes(
        &[
            "process",
            "synthetic:width=64:height=48:frames=12",
            "-o",
            out.to_str().unwrap(),
        ],
        true,
        true,
    );
    assert_eq!(status.code(), Some(0), "{status:?}");
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&probe.stdout).trim(), "12");
}

#[test]
fn sequence_patterns_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    for (pattern, needle) in [
        ("%99999d.png", "width 99999 is too wide"),
        ("%d_%d.png", "more than one '%'"),
        ("a%s.png", "not followed by d"),
    ] {
        let target = dir.path().join(pattern);
        let out = run(&mut doppel(&[
            "process",
            "synthetic:width=32:height=32:frames=2",
            "-o",
            target.to_str().unwrap(),
        ]));
        assert_refused(&out, &[pattern, needle, "exactly one %d"]);
    }
}

#[test]
fn an_animated_gif_is_processed_frame_by_frame_with_its_delays() {
    let dir = tempfile::tempdir().unwrap();
    let gif = dir.path().join("anim.gif");
    let delays: Vec<u32> = (0..20).map(|i| [40, 100, 200][i % 3]).collect();
    {
        let file = std::fs::File::create(&gif).unwrap();
        let mut enc = GifEncoder::new(BufWriter::new(file));
        enc.set_repeat(Repeat::Infinite).unwrap();
        for (i, &d) in delays.iter().enumerate() {
            let img = RgbaImage::from_fn(64, 48, |x, _| {
                if x / 3 == i as u32 {
                    Rgba([255, 0, 0, 255])
                } else {
                    Rgba([0, 0, 90, 255])
                }
            });
            enc.encode_frame(Frame::from_parts(
                img,
                0,
                0,
                Delay::from_numer_denom_ms(d, 1),
            ))
            .unwrap();
        }
    }
    let video = dir.path().join("anim.mp4");
    let out = run(&mut doppel(&[
        "process",
        gif.to_str().unwrap(),
        "-o",
        video.to_str().unwrap(),
    ]));
    assert_no_panic(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
        .args(["frame=pts_time", "-of", "csv=p=0"])
        .arg(&video)
        .output()
        .unwrap();
    let times: Vec<f64> = String::from_utf8_lossy(&probe.stdout)
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
        .collect();
    assert_eq!(times.len(), 20, "all 20 frames: {times:?}");
    let mut expected = 0.0;
    for (i, t) in times.iter().enumerate() {
        let got = (t - times[0]) * 1000.0;
        assert!(
            (got - expected).abs() < 1.5,
            "frame {i} at {got} ms, expected {expected}"
        );
        expected += f64::from(delays[i]);
    }
    // Numbered images: one per frame.
    let frames = dir.path().join("frames");
    let out = run(&mut doppel(&[
        "process",
        gif.to_str().unwrap(),
        "-o",
        frames.join("%03d.png").to_str().unwrap(),
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_dir(&frames).unwrap().count(), 20);
}

#[test]
fn a_model_with_a_score_output_is_refused_when_the_stage_is_built() {
    let model = "pipeline/tests/fixtures/robust/score_1x1.onnx";
    let out = run(&mut doppel(&[
        "process",
        "synthetic:width=64:height=64:frames=2",
        "-o",
        "null",
        "--stages",
        &format!("onnx:model={model}"),
    ]));
    assert_refused(
        &out,
        &["score_1x1.onnx", "'score'", "[1,1,1,1]", "not an image"],
    );
    let out = run(&mut doppel(&[
        "process",
        "synthetic:width=64:height=64:frames=2",
        "-o",
        "null",
        "--stages",
        "onnx:model=pipeline/tests/fixtures/robust/huge_input.onnx",
    ]));
    assert_refused(&out, &["huge_input.onnx", "too large", "8192"]);
}

#[test]
fn a_broken_skill_file_is_skipped_with_a_warning() {
    let data = tempfile::tempdir().unwrap();
    let skills = data.path().join("doppel/skills");
    std::fs::create_dir_all(&skills).unwrap();
    std::fs::write(skills.join("broken.toml"), "name = \"broken\"\nkind = [").unwrap();
    // Style 3 of the 26 built-in ones.
    let values: Vec<&str> = (0..26)
        .map(|i| if i == 3 { "1.0" } else { "0.0" })
        .collect();
    std::fs::write(
        skills.join("duo.toml"),
        format!(
            "name = \"duo\"\nkind = \"weights\"\nvalues = [{}]\n",
            values.join(", ")
        ),
    )
    .unwrap();
    let env = |c: &mut Command| {
        c.env("XDG_DATA_HOME", data.path());
    };
    let mut list = doppel(&["skills", "list"]);
    env(&mut list);
    let out = run(&mut list);
    assert_no_panic(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains("duo") && listed.contains("toon"),
        "{listed}"
    );
    assert!(!listed.contains("broken"), "{listed}");
    let warning = stderr(&out);
    assert!(
        warning.contains("warning") && warning.contains("broken.toml"),
        "{warning}"
    );
    // The shipped skills and the good user skill still run in the stylize stage.
    for skill in ["toon", "duo"] {
        let mut process = doppel(&[
            "process",
            "synthetic:width=64:height=48:frames=2",
            "-o",
            "null",
            "--stages",
            &format!("stylize:skill={skill}:size=32:backend=cpu"),
        ]);
        env(&mut process);
        let out = run(&mut process);
        assert!(out.status.success(), "{skill}: {}", stderr(&out));
    }
    // `sticker --skill` too, with the same warning.
    let photo = repo().join("target/test-data/faces/grace_hopper.jpg");
    assert!(
        photo.is_file(),
        "{} missing: run scripts/fetch-test-faces.sh",
        photo.display()
    );
    let gif = data.path().join("me.gif");
    let mut sticker = doppel(&[
        "sticker",
        photo.to_str().unwrap(),
        "-o",
        gif.to_str().unwrap(),
        "--skill",
        "toon",
        "--size",
        "128",
    ]);
    env(&mut sticker);
    let out = run(&mut sticker);
    assert_no_panic(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("broken.toml"), "{}", stderr(&out));
    assert!(gif.is_file());
    // Asking for the broken one says what is wrong with it.
    let mut process = doppel(&[
        "process",
        "synthetic:width=64:height=48:frames=2",
        "-o",
        "null",
        "--stages",
        "stylize:skill=broken:size=32",
    ]);
    env(&mut process);
    assert_refused(&run(&mut process), &["broken.toml", "cannot be used"]);
}

#[test]
fn a_headless_live_run_ends_when_its_source_ends() {
    let out = run(&mut doppel(&[
        "live",
        "--no-window",
        "--vmc",
        "127.0.0.1:39539",
        "--source",
        "synthetic:width=64:height=48:frames=10",
        "--frames",
        "100",
    ]));
    assert_no_panic(&out);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("ended: the source ended after 10 frames"),
        "{err}"
    );
    // --frames first.
    let out = run(&mut doppel(&[
        "live",
        "--no-window",
        "--vmc",
        "127.0.0.1:39539",
        "--source",
        "synthetic:width=64:height=48:frames=10",
        "--frames",
        "4",
    ]));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("ended: --frames 4 reached"), "{err}");
}
