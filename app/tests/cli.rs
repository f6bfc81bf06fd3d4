//! The `doppel` binary as a user runs it: real clips made with FFmpeg, real outputs checked with
//! ffprobe, and every bad input of the foundation issue giving a clear message and no panic.

use std::path::Path;
use std::process::{Command, Output};

mod common;
use common::{assert_refused, ffmpeg, repo, stderr, DOPPEL};

/// Unlike `common::doppel`, from cargo's working directory for tests (`app/`), so the default
/// models resolve through the data-folder locator, not through a working directory at the checkout.
fn doppel(args: &[&str]) -> Output {
    Command::new(DOPPEL)
        .args(args)
        .output()
        .expect("run doppel")
}

/// (frames, width, height, has_audio) of a media file, decoded by ffprobe.
fn probe(path: &Path) -> (u64, u32, u32, bool) {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-show_streams",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .expect("run ffprobe");
    assert!(
        out.status.success(),
        "ffprobe {}: {}",
        path.display(),
        stderr(&out)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ffprobe json");
    let streams = json["streams"].as_array().cloned().unwrap_or_default();
    let video = streams
        .iter()
        .find(|s| s["codec_type"] == "video")
        .expect("a video stream");
    let frames = video["nb_read_frames"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("frame count");
    let has_audio = streams.iter().any(|s| s["codec_type"] == "audio");
    (
        frames,
        video["width"].as_u64().unwrap_or(0) as u32,
        video["height"].as_u64().unwrap_or(0) as u32,
        has_audio,
    )
}

fn out_path(dir: &tempfile::TempDir, name: &str) -> String {
    dir.path().join(name).display().to_string()
}

#[test]
fn stages_lists_every_stage_with_options() {
    let out = doppel(&["stages"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for name in doppel_pipeline::stages::names() {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
    // Range and default come from each option's spec.
    for needle in [
        "filter         resampling filter [nearest | bilinear | bicubic | lanczos3; default: bilinear]",
        "radius         taps on each side of the centre (0 = unchanged) [0..=32; default: 2]",
        "threads        intra-op threads [1..=256; default: cores]",
        "mesh           face mesh model file (face_landmark.onnx = the v1 mesh: faster, fewer expressions) [default: models/face_landmarks_detector.onnx]",
        // Contracts: what each stage needs and provides.
        "needs:     faces (from track)",
        "provides:  faces",
        "provides:  the person mask",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}

#[test]
fn avatar_alone_gets_track_with_a_notice() {
    let dir = tempfile::tempdir().unwrap();
    let out = doppel(&[
        "process",
        "synthetic:width=64:height=48:frames=2",
        "-o",
        &out_path(&dir, "a/%03d.png"),
        "--stages",
        "avatar",
        "--quiet",
    ]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert_eq!(
        err.matches("note: added the 'track' stage first: stage 'avatar' needs faces")
            .count(),
        1,
        "{err}"
    );
    assert!(
        dir.path().join("a/002.png").is_file(),
        "both frames written"
    );
}

#[test]
fn a_stage_alone_gets_the_tracking_it_needs_or_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    // overlay draws tracking results: with no tracking stage it is refused before any frame.
    let out = doppel(&[
        "process",
        "synthetic:width=64:height=48:frames=2",
        "-o",
        &out_path(&dir, "o/%03d.png"),
        "--stages",
        "blur:backend=cpu,overlay",
    ]);
    assert_refused(
        &out,
        &[
            "stage 'overlay' needs",
            "put one of track, pose, segment, hands before it",
        ],
    );
    assert!(!dir.path().join("o").exists(), "nothing is written");
    // A mask backdrop without segment: named at build time, after track was added for the faces.
    let out = doppel(&[
        "process",
        "synthetic:width=64:height=48:frames=2",
        "-o",
        &out_path(&dir, "m/%03d.png"),
        "--stages",
        "avatar:background=mask",
    ]);
    assert_refused(
        &out,
        &[
            "stage 'avatar:background=mask' needs the person mask",
            "put segment before it",
        ],
    );
}

#[test]
fn doctor_names_the_data_folder_and_the_variable_wins() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("models")).unwrap();
    let out = Command::new(DOPPEL)
        .arg("doctor")
        .env("DOPPEL_DATA_DIR", dir.path())
        .output()
        .expect("run doppel");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = format!(
        "models:       {} ($DOPPEL_DATA_DIR)",
        dir.path().join("models").display()
    );
    assert!(text.contains(&line), "{line} missing from:\n{text}");
    assert!(text.contains("checksums:  cannot check: no"), "{text}");
    // Without the variable (and an empty XDG data folder), the source tree of the binary is found.
    let out = Command::new(DOPPEL)
        .arg("doctor")
        .env_remove("DOPPEL_DATA_DIR")
        .env("XDG_DATA_HOME", dir.path().join("empty"))
        .output()
        .expect("run doppel");
    let text = String::from_utf8_lossy(&out.stdout);
    let tree = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    assert!(
        text.contains(&format!("models:       {}", tree.join("models").display())),
        "{text}"
    );
    // ... and every model there matches models/SHA256SUMS.
    assert!(text.contains("models match SHA256SUMS"), "{text}");
    assert!(!text.contains("BAD:"), "{text}");
}

#[test]
fn doctor_fails_on_a_damaged_model() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    std::fs::create_dir(&models).unwrap();
    let good = repo().join("models/face_detection_short_range.onnx");
    std::fs::copy(&good, models.join("face_detection_short_range.onnx")).unwrap();
    let mut damaged = std::fs::read(&good).unwrap();
    damaged[100] ^= 1;
    std::fs::write(models.join("other.onnx"), damaged).unwrap();
    let sums = std::fs::read_to_string(repo().join("models/SHA256SUMS")).unwrap();
    let line = sums
        .lines()
        .find(|l| l.ends_with("face_detection_short_range.onnx"))
        .unwrap();
    let hash = line.split_whitespace().next().unwrap();
    std::fs::write(
        models.join("SHA256SUMS"),
        format!("{line}\n{hash}  other.onnx\n{hash}  gone.onnx\n"),
    )
    .unwrap();
    let out = Command::new(DOPPEL)
        .arg("doctor")
        .env("DOPPEL_DATA_DIR", dir.path())
        .output()
        .expect("run doppel");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("1 of 3 models match"), "{text}");
    assert!(text.contains("other.onnx: sha256"), "{text}");
    assert!(text.contains("gone.onnx:"), "{text}");
}

#[test]
fn devices_says_when_there_is_no_camera() {
    let out = doppel(&["devices"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("No camera found") || text.contains("Cameras:"),
        "{text}"
    );
}

#[test]
fn missing_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = doppel(&[
        "process",
        "no/such/clip.mp4",
        "-o",
        &out_path(&dir, "o.mp4"),
    ]);
    assert_refused(&out, &["no/such/clip.mp4", "no such file"]);
}

#[test]
fn unknown_stage_lists_valid_ones() {
    let dir = tempfile::tempdir().unwrap();
    let out = doppel(&[
        "process",
        "synthetic:frames=2",
        "-o",
        &out_path(&dir, "f/%03d.png"),
        "--stages",
        "resize:width=64,sharpn",
    ]);
    assert_refused(&out, &["unknown stage 'sharpn'", "valid stages:", "resize"]);
}

#[test]
fn bad_option_value_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = doppel(&[
        "process",
        "synthetic:frames=2",
        "-o",
        &out_path(&dir, "f/%03d.png"),
        "--stages",
        "resize:width=-3",
    ]);
    assert_refused(&out, &["resize", "width", "-3", "expected"]);
    let out = doppel(&[
        "process",
        "synthetic:frames=2",
        "-o",
        &out_path(&dir, "f/%03d.png"),
        "--stages",
        "resize:width=8:colour=red",
    ]);
    assert_refused(&out, &["colour", "valid options: width, height, filter"]);
}

#[test]
fn unwritable_output_fails_before_processing() {
    for output in ["/proc/doppel-nope/out.mp4", "/proc/doppel-nope/%04d.png"] {
        let out = doppel(&["process", "synthetic:frames=2", "-o", output]);
        assert_refused(&out, &["/proc/doppel-nope"]);
    }
}

#[test]
fn single_image_in_single_png_out() {
    let dir = tempfile::tempdir().unwrap();
    let input = out_path(&dir, "in.png");
    image::RgbaImage::from_fn(81, 47, |x, y| image::Rgba([x as u8, y as u8, 7, 255]))
        .save(&input)
        .unwrap();
    let output = out_path(&dir, "out.png");
    let out = doppel(&[
        "process",
        &input,
        "-o",
        &output,
        "--stages",
        "resize:width=40",
        "-q",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let written = image::open(&output).unwrap();
    assert_eq!((written.width(), written.height()), (40, 23));
}

#[test]
fn toml_pipeline_and_stats_json() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = dir.path().join("p.toml");
    std::fs::write(
        &pipeline,
        "[[stage]]\nname = \"resize\"\nwidth = 32\n\n[[stage]]\nname = \"passthrough\"\n",
    )
    .unwrap();
    let stats = dir.path().join("stats.json");
    let out = doppel(&[
        "process",
        "synthetic:width=64:height=48:frames=12",
        "-o",
        &out_path(&dir, "seq/%03d.png"),
        "--pipeline",
        &pipeline.display().to_string(),
        "--stats-json",
        &stats.display().to_string(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(json["frames_in"], 12);
    assert_eq!(json["frames_out"], 12);
    let names: Vec<&str> = json["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names[1..], ["resize", "passthrough", "sink"]);
    assert!(json["nodes"][1]["p99_ms"].as_f64().is_some());
    assert_eq!(
        std::fs::read_dir(dir.path().join("seq")).unwrap().count(),
        12
    );
    let first = image::open(dir.path().join("seq/001.png")).unwrap();
    assert_eq!(first.width(), 32);
}

#[test]
fn real_clip_keeps_every_frame_and_the_audio() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("bunny.mp4");
    let input = repo().join("assets/bigbuckbunny.mp4");
    let out = doppel(&[
        "process",
        &input.display().to_string(),
        "-o",
        &output.display().to_string(),
        "--stages",
        "resize:width=320",
        "-q",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(probe(&output), (132, 320, 180, true));
}

#[test]
fn not_a_video_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("notes.mp4");
    std::fs::write(&input, "these are notes, not a video\n").unwrap();
    let out = doppel(&[
        "process",
        &input.display().to_string(),
        "-o",
        &out_path(&dir, "o.mp4"),
    ]);
    assert_refused(&out, &["notes.mp4", "video"]);
}

#[test]
fn truncated_video_writes_every_decodable_frame_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.mp4");
    let full_s = full.display().to_string();
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25:duration=4",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "10",
        "-movflags",
        "+faststart",
        &full_s,
    ]);
    // Keep the index (at the front) and cut the media data in half.
    let bytes = std::fs::read(&full).unwrap();
    let cut = dir.path().join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let output = dir.path().join("out.mp4");
    let out = doppel(&[
        "process",
        &cut.display().to_string(),
        "-o",
        &output.display().to_string(),
    ]);
    assert_refused(&out, &["cut.mp4", "truncated", "decodable frames"]);
    let (frames, w, h, _) = probe(&output);
    assert!(frames > 10 && frames < 100, "{frames} frames written");
    assert_eq!((w, h), (320, 240));
    assert!(
        stderr(&out).contains(&format!("{frames} decodable frames")),
        "{}",
        stderr(&out)
    );
}

/// The video codec of a file, as ffprobe names it.
fn video_codec(path: &Path) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
        .args(["stream=codec_name", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("run ffprobe");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn process_takes_the_encoder_options() {
    let dir = tempfile::tempdir().unwrap();
    let input = repo().join("assets/bigbuckbunny.mp4").display().to_string();
    let hevc = dir.path().join("hevc.mkv");
    let out = doppel(&[
        "process",
        &input,
        "-o",
        &hevc.display().to_string(),
        "--stages",
        "resize:width=320",
        "--codec",
        "hevc",
        "--crf",
        "32",
        "--preset",
        "ultrafast",
        "--no-audio",
        "-q",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(video_codec(&hevc), "hevc");
    assert_eq!(probe(&hevc), (132, 320, 180, false));
    // A lower crf gives a bigger file of the same clip: the option reaches the encoder.
    let fine = dir.path().join("fine.mkv");
    let out = doppel(&[
        "process",
        &input,
        "-o",
        &fine.display().to_string(),
        "--stages",
        "resize:width=320",
        "--codec",
        "hevc",
        "--crf",
        "18",
        "--preset",
        "ultrafast",
        "--no-audio",
        "-q",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let size = |p: &Path| std::fs::metadata(p).unwrap().len();
    assert!(
        size(&fine) > size(&hevc),
        "{} vs {}",
        size(&fine),
        size(&hevc)
    );
    // An encoder FFmpeg lacks is named.
    let out = doppel(&[
        "process",
        "synthetic:frames=2",
        "-o",
        &out_path(&dir, "x.mkv"),
        "--codec",
        "nosuchenc",
    ]);
    assert_refused(&out, &["nosuchenc"]);
}

#[test]
fn completions_man_page_and_provider_option() {
    let out = doppel(&["completions", "bash"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("_doppel") && text.contains("--provider"),
        "{text}"
    );
    let out = doppel(&["manpage"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(".TH doppel 1"));
    // An unknown provider: the error names it and what the library has; a malformed one is a usage
    // error before anything runs.
    let dir = tempfile::tempdir().unwrap();
    let out = doppel(&[
        "process",
        "synthetic:frames=2",
        "-o",
        &out_path(&dir, "x.mp4"),
        "--stages",
        "track",
        "--provider",
        "nosuch",
    ]);
    assert_refused(&out, &["nosuchExecutionProvider", "CPUExecutionProvider"]);
    let out = doppel(&["--provider", "cuda:device_id=x", "stages"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("device_id=x"), "{}", stderr(&out));
}

#[test]
fn verbose_and_rust_log_choose_the_log_messages() {
    let run = |args: &[&str], rust_log: Option<&str>| {
        let mut cmd = Command::new(DOPPEL);
        cmd.args(args).env_remove("RUST_LOG");
        if let Some(filter) = rust_log {
            cmd.env("RUST_LOG", filter);
        }
        let out = cmd.output().expect("run doppel");
        assert!(out.status.success(), "{}", stderr(&out));
        stderr(&out)
    };
    let job = [
        "process",
        "synthetic:frames=2",
        "-o",
        "null",
        "--stages",
        "track",
        "-q",
    ];
    let plain = run(&job, None);
    assert!(!plain.contains("INFO"), "{plain}");
    let verbose = run(&[&["-v"], &job[..6]].concat(), None);
    assert!(verbose.contains("built 1 stage(s): track"), "{verbose}");
    // ONNX Runtime's own messages come through tracing when asked for.
    let ort = run(&job, Some("ort=info"));
    assert!(ort.contains("Loaded ONNX Runtime"), "{ort}");
    assert!(!ort.contains("built 1 stage"), "{ort}");
}

/// `--bitrate` puts the encoder in average-bitrate mode: ten times the rate, a much bigger file of
/// the same clip, near its target; a malformed rate names the option and the form expected.
#[test]
fn process_takes_a_bitrate() {
    let dir = tempfile::tempdir().unwrap();
    let input = repo().join("assets/bigbuckbunny.mp4").display().to_string();
    let encode = |rate: &str| {
        let out = dir.path().join(format!("{rate}.mp4"));
        let run = doppel(&[
            "process",
            &input,
            "-o",
            &out.display().to_string(),
            "--stages",
            "resize:width=320",
            "--bitrate",
            rate,
            "--preset",
            "ultrafast",
            "--no-audio",
            "-q",
        ]);
        assert!(run.status.success(), "{}", stderr(&run));
        assert_eq!(probe(&out), (132, 320, 180, false));
        std::fs::metadata(&out).unwrap().len()
    };
    let (low, high) = (encode("100k"), encode("1M"));
    assert!(high > 4 * low, "100k: {low} bytes, 1M: {high} bytes");
    // 132 frames at 24 fps = 5.5 s: 1 Mbit/s is about 690 kB.
    assert!(
        (300_000..1_400_000).contains(&high),
        "1M gave {high} bytes for 5.5 s"
    );
    let bad = doppel(&["process", &input, "-o", "x.mp4", "--bitrate", "fast"]);
    assert!(!bad.status.success());
    let err = stderr(&bad);
    assert!(err.contains("--bitrate") && err.contains("800k"), "{err}");
}
