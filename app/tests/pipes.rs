//! `doppel process` as a filter between other programs (`-` in, `-o -` out) and with
//! `--start`/`--duration`: real clips made with FFmpeg, outputs read back with ffprobe and ffmpeg.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

mod common;
use common::{ffmpeg, stderr, DOPPEL};

/// Runs doppel with `input` on its stdin; stdout and stderr are collected.
fn doppel_piped(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(DOPPEL)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run doppel");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    // Written from a thread: doppel writes its output while it still reads.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("doppel ends");
    writer.join().expect("writer");
    out
}

/// Frames counted by decoding, and the size, of a stream's video (ffprobe reads `-` from stdin).
fn probe_bytes(bytes: &[u8]) -> (u64, u32, u32) {
    let mut child = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=nb_read_frames,width,height",
            "-of",
            "json",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ffprobe");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("ffprobe ends");
    writer.join().expect("writer");
    assert!(out.status.success(), "ffprobe: {}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let s = &json["streams"][0];
    (
        s["nb_read_frames"]
            .as_str()
            .and_then(|n| n.parse().ok())
            .expect("frames"),
        s["width"].as_u64().expect("width") as u32,
        s["height"].as_u64().expect("height") as u32,
    )
}

/// Durations in seconds of the video and audio streams of a file (by their packets' timestamps).
fn stream_durations(path: &Path) -> (f64, Option<f64>) {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type,duration",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .expect("run ffprobe");
    assert!(out.status.success(), "ffprobe: {}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let streams = json["streams"].as_array().cloned().unwrap_or_default();
    let duration = |kind: &str| {
        streams
            .iter()
            .find(|s| s["codec_type"] == kind)
            .and_then(|s| s["duration"].as_str())
            .and_then(|d| d.parse::<f64>().ok())
    };
    (
        duration("video").expect("video duration"),
        duration("audio"),
    )
}

/// The grey pixels of frame `n` of a video.
fn grey_frame(path: &Path, n: u32) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args([
            "-vf",
            &format!("select=eq(n\\,{n})"),
            "-frames:v",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "gray",
            "-",
        ])
        .output()
        .expect("run ffmpeg");
    assert!(out.status.success(), "ffmpeg: {}", stderr(&out));
    out.stdout
}

fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(x.abs_diff(*y)))
        .sum::<f64>()
        / a.len() as f64
}

/// A 2 s, 24 fps test pattern (48 frames, 64x48) as YUV4MPEG and as Matroska.
fn clips(dir: &Path) -> (Vec<u8>, Vec<u8>) {
    let y4m = dir.join("clip.y4m");
    let mkv = dir.join("clip.mkv");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=64x48:rate=24:duration=2",
        "-pix_fmt",
        "yuv420p",
        &y4m.display().to_string(),
    ]);
    ffmpeg(&[
        "-i",
        &y4m.display().to_string(),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        &mkv.display().to_string(),
    ]);
    (
        std::fs::read(y4m).expect("y4m"),
        std::fs::read(mkv).expect("mkv"),
    )
}

#[test]
fn reads_stdin_and_writes_y4m_or_a_container_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let (y4m, mkv) = clips(dir.path());
    let stages = "resize:width=32:height=24";

    // y4m in, y4m out: stdout holds the stream and nothing else, to the byte.
    let out = doppel_piped(&["process", "-", "-o", "-", "--stages", stages], &y4m);
    assert!(out.status.success(), "{}", stderr(&out));
    let header_end = out.stdout.iter().position(|&b| b == b'\n').expect("header");
    let header = String::from_utf8_lossy(&out.stdout[..header_end]).into_owned();
    assert!(header.starts_with("YUV4MPEG2 W32 H24 F24:1"), "{header}");
    let frame = b"FRAME\n".len() + 32 * 24 * 3 / 2;
    assert_eq!(out.stdout.len(), header_end + 1 + 48 * frame, "{header}");
    assert_eq!(probe_bytes(&out.stdout), (48, 32, 24));
    // Progress and the summary went to stderr.
    assert!(stderr(&out).contains("wrote 48 frames"), "{}", stderr(&out));

    // A container in (`pipe:`), a container out (--format).
    let out = doppel_piped(
        &[
            "process", "pipe:", "-o", "-", "--stages", stages, "--format", "matroska", "-q",
        ],
        &mkv,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(probe_bytes(&out.stdout), (48, 32, 24));

    // Fragmented MP4 to a pipe.
    let out = doppel_piped(&["process", "-", "-o", "-", "--format", "mp4", "-q"], &y4m);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(probe_bytes(&out.stdout), (48, 64, 48));

    // Trims work on a pipe too (frames before the start are read and dropped).
    let out = doppel_piped(
        &[
            "process",
            "-",
            "-o",
            "-",
            "--start",
            "0.5",
            "--duration",
            "1",
            "-q",
        ],
        &y4m,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(probe_bytes(&out.stdout), (24, 64, 48));

    // Bad input on stdin, and an unknown container, are named.
    let out = doppel_piped(&["process", "-", "-o", "-", "-q"], b"not a video at all");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("standard input"), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let out = doppel_piped(
        &["process", "-", "-o", "-", "--format", "nosuchmuxer", "-q"],
        &y4m,
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("nosuchmuxer") && err.contains("matroska"),
        "{err}"
    );
}

#[test]
fn start_and_duration_trim_video_and_audio_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    // 5 s at 24 fps with a tone: 120 frames.
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=64x48:rate=24:duration=5",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=5",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "48",
        "-c:a",
        "aac",
        "-shortest",
        &clip.display().to_string(),
    ]);
    let out_path = dir.path().join("cut.mp4");
    let out = Command::new(DOPPEL)
        .args(["process", &clip.display().to_string(), "-o"])
        .arg(&out_path)
        .args([
            "--start",
            "1.5",
            "--duration",
            "00:00:02.000",
            "--crf",
            "0",
            "-q",
        ])
        .output()
        .expect("run doppel");
    assert!(out.status.success(), "{}", stderr(&out));
    let frames = {
        let bytes = std::fs::read(&out_path).unwrap();
        probe_bytes(&bytes)
    };
    assert_eq!(frames, (48, 64, 48));
    let (video, audio) = stream_durations(&out_path);
    let audio = audio.expect("the audio was kept");
    assert!((video - 2.0).abs() < 1e-3, "video lasts {video} s");
    assert!(
        (audio - video).abs() <= 1.0 / 24.0,
        "audio {audio} s against video {video} s"
    );
    // The first frame is the input's frame 36 (1.5 s), not a neighbour.
    let first = grey_frame(&out_path, 0);
    let at = |n| mean_abs_diff(&first, &grey_frame(&clip, n));
    let (before, exact, after) = (at(35), at(36), at(37));
    assert!(
        exact < before && exact < after,
        "frame 0 against input 35/36/37: {before:.2} {exact:.2} {after:.2}"
    );

    // A start past the end names the input and how long it is.
    let out = Command::new(DOPPEL)
        .args(["process", &clip.display().to_string(), "-o"])
        .arg(dir.path().join("none.mp4"))
        .args(["--start", "00:10", "-q"])
        .output()
        .expect("run doppel");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("clip.mp4") && err.contains("lasts 5.000 s") && !err.contains("panicked"),
        "{err}"
    );
    let out = Command::new(DOPPEL)
        .args(["process", "x.mp4", "-o", "y.mp4", "--start", "1:75"])
        .output()
        .expect("run doppel");
    assert!(stderr(&out).contains("HH:"), "{}", stderr(&out));
}

/// `doppel devices` lists the hardware video encoders of the linked FFmpeg (the same build as the
/// `ffmpeg` tool here), and `--codec` with an encoder FFmpeg lacks names those it has.
#[test]
fn hardware_encoders_are_listed_and_a_missing_one_names_them() {
    let listed = Command::new("ffmpeg")
        .args(["-hide_banner", "-encoders"])
        .output()
        .expect("run ffmpeg");
    let hardware: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter(|l| l.trim_start().starts_with('V'))
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .filter(|n| {
            ["_nvenc", "_vaapi", "_qsv", "_v4l2m2m"]
                .iter()
                .any(|s| n.ends_with(s))
        })
        .collect();
    let out = Command::new(DOPPEL)
        .arg("devices")
        .output()
        .expect("run doppel");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("{text}");
    assert!(text.contains("Hardware video encoders"), "{text}");
    for name in &hardware {
        assert!(text.contains(name.as_str()), "{name} missing from:\n{text}");
    }
    assert!(
        !text.contains("libx264"),
        "software encoders listed as hardware:\n{text}"
    );

    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(DOPPEL)
        .args(["process", "synthetic:width=64:height=48:frames=2", "-o"])
        .arg(dir.path().join("x.mp4"))
        .args(["--codec", "h264_nosuchthing", "-q"])
        .output()
        .expect("run doppel");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("h264_nosuchthing") && err.contains("libx264"),
        "{err}"
    );
    for name in &hardware {
        assert!(err.contains(name.as_str()), "{name} missing from:\n{err}");
    }
}
