//! Video source and sink on real media made at test time with the `ffmpeg` tool: each clip runs
//! source -> sink through the offline graph and the result is checked with `ffprobe`.
//!
//! Run with `cargo test --release -p doppel-pipeline --test video`.

use std::path::{Path, PathBuf};
use std::process::Command;

use doppel_pipeline::frame::{Frame, Rational, Timestamp};
use doppel_pipeline::graph::{self, RunConfig, RunOutcome};
use doppel_pipeline::sink::video::{VideoSettings, VideoSink};
use doppel_pipeline::sink::Sink;
use doppel_pipeline::source::video::VideoSource;
use doppel_pipeline::source::{self, Source, SourceInfo};
use doppel_pipeline::{Error, Mode};
use serde_json::Value;

/// Runs the `ffmpeg` tool quietly; panics with its message on failure (test setup).
fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-nostdin", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ffprobe(args: &[&str], path: &Path) -> Value {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-of", "json"])
        .args(args)
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(
        out.status.success(),
        "ffprobe {path:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("ffprobe JSON")
}

/// Streams and format of a file.
struct Probe {
    streams: Vec<Value>,
}

impl Probe {
    fn of(path: &Path) -> Self {
        let v = ffprobe(&["-show_streams", "-show_format"], path);
        Self {
            streams: v["streams"].as_array().cloned().unwrap_or_default(),
        }
    }

    fn video(&self) -> &Value {
        self.streams
            .iter()
            .find(|s| s["codec_type"] == "video")
            .expect("a video stream")
    }

    fn audio(&self) -> Option<&Value> {
        self.streams.iter().find(|s| s["codec_type"] == "audio")
    }

    fn size(&self) -> (u64, u64) {
        let v = self.video();
        (
            v["width"].as_u64().expect("width"),
            v["height"].as_u64().expect("height"),
        )
    }

    /// Rotation from the display matrix side data, 0 when there is none.
    fn rotation(&self) -> i64 {
        self.video()["side_data_list"]
            .as_array()
            .and_then(|l| l.iter().find_map(|sd| sd["rotation"].as_i64()))
            .unwrap_or(0)
    }
}

fn seconds(v: &Value) -> f64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| v.as_f64())
        .expect("a number")
}

/// Presentation times (seconds) of every decoded video frame, in output order.
fn frame_times(path: &Path) -> Vec<f64> {
    let v = ffprobe(
        &[
            "-select_streams",
            "v:0",
            "-show_entries",
            "frame=best_effort_timestamp_time",
        ],
        path,
    );
    v["frames"]
        .as_array()
        .expect("frames")
        .iter()
        .map(|f| seconds(&f["best_effort_timestamp_time"]))
        .collect()
}

fn time_base(path: &Path) -> f64 {
    let v = ffprobe(
        &[
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=time_base",
        ],
        path,
    );
    let tb = v["streams"][0]["time_base"].as_str().expect("time base");
    let (n, d) = tb.split_once('/').expect("n/d");
    n.parse::<f64>().expect("num") / d.parse::<f64>().expect("den")
}

fn fast() -> VideoSettings {
    VideoSettings {
        preset: "ultrafast".into(),
        ..Default::default()
    }
}

/// Runs `input -> output` through the offline graph without stages.
fn process(input: &Path, output: &Path, settings: VideoSettings) -> RunOutcome {
    let source = VideoSource::open(input).expect("source opens");
    let info = source.info().clone();
    let sink = VideoSink::open_with(output, &info, settings).expect("sink opens");
    graph::run(
        Box::new(source),
        Vec::new(),
        Box::new(sink),
        RunConfig::new(Mode::Offline),
    )
}

/// Runs a clean clip and checks frames in == out == `frames`, size and audio.
fn round_trip(input: &Path, output: &Path, frames: u64, size: (u64, u64)) -> Probe {
    let outcome = process(input, output, fast());
    let report = outcome.into_result().expect("run succeeds");
    assert_eq!(report.frames_in, frames);
    assert_eq!(report.frames_out, frames);
    assert_eq!(
        frame_times(output).len() as u64,
        frames,
        "frames in the file"
    );
    // Colours survive the round trip (same matrix out as in, and the output is tagged with it).
    let first = |p: &Path| {
        VideoSource::open(p)
            .expect("reopens")
            .next_frame()
            .expect("decodes")
            .expect("a frame")
            .into_image()
            .expect("pixels")
    };
    assert_close(first(input).as_raw(), first(output).as_raw(), "first frame");
    let (pin, pout) = (Probe::of(input), Probe::of(output));
    assert_eq!(pout.size(), size);
    match (pin.audio(), pout.audio()) {
        (None, None) => {}
        (Some(a), Some(b)) => {
            assert_eq!(
                a["codec_name"], b["codec_name"],
                "audio copied, not re-encoded"
            );
            let (da, db) = (seconds(&a["duration"]), seconds(&b["duration"]));
            assert!((da - db).abs() < 0.1, "audio duration {da} vs {db}");
        }
        (a, b) => panic!(
            "audio in input: {}, in output: {}",
            a.is_some(),
            b.is_some()
        ),
    }
    pout
}

fn testsrc(size: &str, rate: u32, seconds: f64) -> Vec<String> {
    vec![
        "-f".into(),
        "lavfi".into(),
        "-i".into(),
        format!("testsrc2=size={size}:rate={rate}"),
        "-t".into(),
        seconds.to_string(),
    ]
}

fn sine(seconds: f64) -> Vec<String> {
    vec![
        "-f".into(),
        "lavfi".into(),
        "-i".into(),
        "sine=frequency=440:sample_rate=48000".into(),
        "-t".into(),
        seconds.to_string(),
    ]
}

fn make(args: Vec<String>) {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    ffmpeg(&refs);
}

fn path_str(p: &Path) -> String {
    p.to_str().expect("utf-8 temp path").to_string()
}

fn h264(extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

#[test]
fn hd_with_audio() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("hd.mp4");
    let output = dir.path().join("out.mp4");
    let mut args = testsrc("1280x720", 25, 2.0);
    args.extend(sine(2.0));
    args.extend(h264(&["-c:a", "aac", "-shortest"]));
    args.push(path_str(&input));
    make(args);

    let source = VideoSource::open(&input).unwrap();
    let info = source.info();
    assert_eq!((info.width, info.height), (1280, 720));
    assert_eq!(info.frame_rate, Some(Rational::new(25, 1)));
    assert_eq!(info.frame_count, Some(50));
    assert!(info.has_audio);
    assert_eq!(info.path.as_deref(), Some(input.as_path()));

    let probe = round_trip(&input, &output, 50, (1280, 720));
    assert_eq!(probe.video()["codec_name"], "h264");
    assert_eq!(probe.video()["pix_fmt"], "yuv420p");
    assert_eq!(probe.video()["avg_frame_rate"], "25/1");
    assert_eq!(probe.video()["color_space"], "bt709");
}

#[test]
fn odd_size_keeps_exact_size() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("odd.mkv");
    let output = dir.path().join("out.mp4");
    // FFV1 stores odd 4:2:0 sizes losslessly.
    // testsrc2 rounds 4:2:0 sizes to even: ask it for RGB.
    let mut args = testsrc("641x361", 25, 0.4);
    args[3].push_str(",format=rgb24");
    args.extend(["-c:v", "ffv1", "-pix_fmt", "yuv420p"].map(String::from));
    args.push(path_str(&input));
    make(args);

    let source = VideoSource::open(&input).unwrap();
    assert_eq!((source.info().width, source.info().height), (641, 361));
    let probe = round_trip(&input, &output, 10, (641, 361));
    assert_eq!(probe.video()["pix_fmt"], "yuv444p");
}

#[test]
fn odd_size_frames_are_packed() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("odd.mkv");
    let mut args = testsrc("641x361", 25, 0.04);
    args[3].push_str(",format=rgb24");
    args.extend(["-c:v", "ffv1", "-pix_fmt", "yuv420p"].map(String::from));
    args.push(path_str(&input));
    make(args);
    let mut source = VideoSource::open(&input).unwrap();
    let frame = source.next_frame().unwrap().expect("a frame");
    assert_eq!(frame.cpu_image().unwrap().dimensions(), (641, 361));
    let reference = ffmpeg_rgba(&input, 641, 361);
    assert_close(
        frame.cpu_image().unwrap().as_raw(),
        &reference,
        "odd-size frame",
    );
}

/// The first frame as `ffmpeg` decodes it (autorotated), RGBA.
fn ffmpeg_rgba(input: &Path, width: u32, height: u32) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i"])
        .arg(input)
        .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgba", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(out.status.success());
    assert_eq!(out.stdout.len(), (width * height * 4) as usize);
    out.stdout
}

/// Mean absolute difference per channel under 3: encoding and swscale rounding stay near 1-2,
/// a wrong YUV matrix would not.
fn assert_close(a: &[u8], b: &[u8], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: sizes");
    let sum: u64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    let mean = sum as f64 / a.len() as f64;
    assert!(mean < 3.0, "{what}: mean difference {mean}");
}

#[test]
fn variable_frame_rate_keeps_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("vfr.mp4");
    let output = dir.path().join("out.mp4");
    // 30 fps with irregular gaps: the first 10 frames, then every third one.
    let mut args = testsrc("160x120", 30, 2.0);
    args.extend(
        [
            "-vf",
            "select='lt(n\\,10)+not(mod(n\\,3))'",
            "-fps_mode",
            "vfr",
        ]
        .map(String::from),
    );
    args.extend(h264(&[]));
    args.push(path_str(&input));
    make(args);

    let before = frame_times(&input);
    let steps: Vec<f64> = before.windows(2).map(|w| w[1] - w[0]).collect();
    let (min, max) = steps
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), s| (a.min(*s), b.max(*s)));
    assert!(
        max > 2.5 * min,
        "the input is variable-rate: steps {min}..{max}"
    );

    let frames = before.len() as u64;
    round_trip(&input, &output, frames, (160, 120));
    let after = frame_times(&output);
    let tick = time_base(&input).max(time_base(&output));
    assert_eq!(before.len(), after.len());
    for (i, (a, b)) in before.iter().zip(&after).enumerate() {
        assert!(
            (a - b).abs() <= tick + 1e-9,
            "frame {i}: {a} s in, {b} s out"
        );
    }
}

#[test]
fn no_audio_to_mkv() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("silent.mp4");
    let output = dir.path().join("out.mkv");
    let mut args = testsrc("320x240", 30, 0.5);
    args.extend(h264(&[]));
    args.push(path_str(&input));
    make(args);
    let source = VideoSource::open(&input).unwrap();
    assert!(!source.info().has_audio);
    let probe = round_trip(&input, &output, 15, (320, 240));
    assert!(probe.audio().is_none());
}

#[test]
fn rotated_video_is_made_upright() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.mp4");
    let input = dir.path().join("rotated.mp4");
    let output = dir.path().join("out.mp4");
    let mut args = testsrc("320x240", 25, 0.4);
    args.extend(sine(0.4));
    args.extend(h264(&["-c:a", "aac"]));
    args.push(path_str(&plain));
    make(args);
    ffmpeg(&[
        "-i",
        &path_str(&plain),
        "-c",
        "copy",
        "-metadata:s:v:0",
        "rotate=90",
        &path_str(&input),
    ]);
    assert_ne!(Probe::of(&input).rotation(), 0, "display matrix written");

    let mut source = VideoSource::open(&input).unwrap();
    assert_eq!((source.info().width, source.info().height), (240, 320));
    let frame = source.next_frame().unwrap().expect("a frame");
    assert_eq!(frame.cpu_image().unwrap().dimensions(), (240, 320));
    // Same orientation as the ffmpeg tool shows it.
    assert_close(
        frame.cpu_image().unwrap().as_raw(),
        &ffmpeg_rgba(&input, 240, 320),
        "rotated frame",
    );

    let probe = round_trip(&input, &output, 10, (240, 320));
    assert_eq!(probe.rotation(), 0, "output needs no rotation");
}

#[test]
fn truncated_video_delivers_what_decodes() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.mp4");
    let input = dir.path().join("cut.mp4");
    let output = dir.path().join("out.mp4");
    let mut args = testsrc("320x240", 25, 2.0);
    args.extend(sine(2.0));
    args.extend(h264(&["-c:a", "aac", "-movflags", "+faststart"]));
    args.push(path_str(&whole));
    make(args);
    let bytes = std::fs::read(&whole).unwrap();
    std::fs::write(&input, &bytes[..bytes.len() / 2]).unwrap();

    let outcome = process(&input, &output, fast());
    let decoded = match outcome.error {
        Some(Error::Truncated {
            decoded, ref path, ..
        }) => {
            assert_eq!(path, &input);
            decoded
        }
        ref other => panic!("expected Truncated, got {other:?}"),
    };
    assert!(decoded > 0 && decoded < 50, "decoded {decoded}");
    assert_eq!(outcome.report.frames_in, decoded);
    assert_eq!(outcome.report.frames_out, decoded);
    assert!(outcome
        .report
        .error
        .as_deref()
        .is_some_and(|e| e.contains("truncated")));
    assert_eq!(frame_times(&output).len() as u64, decoded);
    assert_eq!(Probe::of(&output).size(), (320, 240));
}

#[test]
fn truncated_matroska_is_detected_by_its_duration() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.mkv");
    let input = dir.path().join("cut.mkv");
    let output = dir.path().join("out.mkv");
    let mut args = testsrc("320x240", 25, 2.0);
    args.extend(h264(&[]));
    args.push(path_str(&whole));
    make(args);
    let bytes = std::fs::read(&whole).unwrap();
    std::fs::write(&input, &bytes[..bytes.len() / 2]).unwrap();

    let outcome = process(&input, &output, fast());
    match outcome.error {
        Some(Error::Truncated { decoded, .. }) => {
            assert!(decoded > 0 && decoded < 50, "decoded {decoded}");
            assert_eq!(frame_times(&output).len() as u64, decoded);
        }
        ref other => panic!("expected Truncated, got {other:?}"),
    }
}

#[test]
fn not_a_video_and_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "hello, this is not a video\nat all\n").unwrap();
    match VideoSource::open(&text) {
        Err(Error::Input { path, message }) => {
            assert_eq!(path, text);
            assert!(message.contains("not a readable video"), "{message}");
        }
        Err(other) => panic!("expected Input, got {other:?}"),
        Ok(_) => panic!("a text file opened as video"),
    }
    // Through the dispatcher too.
    let err = source::open(&path_str(&text), &Default::default())
        .err()
        .expect("an error");
    assert!(err.to_string().contains("notes.txt"), "{err}");

    // A file with audio but no picture.
    let wav = dir.path().join("tone.wav");
    let mut args = sine(0.2);
    args.push(path_str(&wav));
    make(args);
    let err = VideoSource::open(&wav).err().expect("an error");
    assert!(err.to_string().contains("no video stream"), "{err}");

    let missing = dir.path().join("missing.mp4");
    match VideoSource::open(&missing) {
        Err(Error::Input { message, .. }) => assert!(message.contains("no such file")),
        Err(other) => panic!("expected Input, got {other:?}"),
        Ok(_) => panic!("a missing file opened"),
    }
}

fn synthetic_info(width: u32, height: u32) -> SourceInfo {
    SourceInfo {
        name: "test".into(),
        path: None,
        width,
        height,
        frame_rate: Some(Rational::new(25, 1)),
        time_base: Rational::new(1, 25),
        frame_count: None,
        has_audio: false,
        live: false,
        trim: None,
    }
}

fn blank(seq: u64, width: u32, height: u32) -> Frame {
    Frame::new(
        seq,
        Timestamp::new(seq as i64, Rational::new(1, 25)),
        image::RgbaImage::from_pixel(width, height, image::Rgba([40, 120, 200, 255])),
    )
}

#[test]
fn unwritable_output_fails_at_open() {
    let info = synthetic_info(64, 48);
    // Missing folders are created (issue 14); these cannot be: /proc takes no folders, and a
    // file cannot hold one.
    for bad in ["/proc/nope/out.mp4", "/etc/hostname/sub/out.mp4"] {
        match VideoSink::open(bad, &info) {
            Err(Error::Output { path, message }) => {
                assert_eq!(path, PathBuf::from(bad));
                assert!(message.contains("cannot create"), "{message}");
            }
            Err(other) => panic!("expected Output, got {other:?}"),
            Ok(_) => panic!("{bad} opened"),
        }
    }
    let err = VideoSink::open("/tmp/out.unknownext", &info)
        .err()
        .expect("an error");
    assert!(err.to_string().contains("container"), "{err}");
}

#[test]
fn size_change_and_zero_frames() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sizes.mp4");
    let mut sink = VideoSink::open_with(&out, &synthetic_info(64, 48), fast()).unwrap();
    sink.write(&blank(0, 64, 48)).unwrap();
    let err = sink.write(&blank(1, 32, 32)).expect_err("an error");
    let text = err.to_string();
    assert!(matches!(err, Error::Output { .. }));
    assert!(text.contains("32x32") && text.contains("64x48"), "{text}");
    let summary = sink.finish().unwrap();
    assert_eq!(summary.frames, 1);
    assert_eq!(frame_times(&out).len(), 1);

    let empty = dir.path().join("empty.mp4");
    let mut sink = VideoSink::open_with(&empty, &synthetic_info(64, 48), fast()).unwrap();
    assert!(
        !empty.exists(),
        "written under a temporary name until finished"
    );
    let err = sink.finish().expect_err("an error for zero frames");
    assert!(err.to_string().contains("no frames"), "{err}");
    assert!(!empty.exists(), "the empty file is removed");
}

#[test]
fn webm_and_avi_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.mp4");
    let mut args = testsrc("160x120", 25, 0.4);
    args.extend(sine(0.4));
    args.extend(h264(&["-c:a", "aac"]));
    args.push(path_str(&input));
    make(args);
    let source = VideoSource::open(&input).unwrap();

    // AAC cannot go into WebM: refused at open, naming the codec.
    let err = VideoSink::open(dir.path().join("out.webm"), source.info())
        .err()
        .expect("an error");
    assert!(err.to_string().contains("aac"), "{err}");

    // Without audio WebM gets VP9.
    let silent = VideoSettings {
        keep_audio: false,
        ..fast()
    };
    let webm = dir.path().join("out.webm");
    let outcome = process(&input, &webm, silent);
    outcome.into_result().unwrap();
    let probe = Probe::of(&webm);
    assert_eq!(probe.video()["codec_name"], "vp9");
    assert_eq!(frame_times(&webm).len(), 10);

    // AVI keeps the constant rate.
    let avi = dir.path().join("out.avi");
    let probe = round_trip(&input, &avi, 10, (160, 120));
    assert_eq!(probe.video()["avg_frame_rate"], "25/1");
}

#[test]
fn version_for_doctor() {
    let v = doppel_pipeline::media::ffmpeg_version();
    assert!(v.starts_with("FFmpeg ") && v.contains("libavcodec"), "{v}");
}

#[test]
fn dropped_sink_leaves_a_valid_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dropped.mp4");
    let mut sink = VideoSink::open_with(&out, &synthetic_info(64, 48), fast()).unwrap();
    for seq in 0..3 {
        sink.write(&blank(seq, 64, 48)).unwrap();
    }
    drop(sink);
    assert_eq!(frame_times(&out).len(), 3);

    let never = dir.path().join("never.mp4");
    drop(VideoSink::open(&never, &synthetic_info(64, 48)).unwrap());
    assert!(!never.exists());
}

#[test]
fn big_buck_bunny() {
    let dir = tempfile::tempdir().unwrap();
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/bigbuckbunny.mp4");
    let output = dir.path().join("bbb.mp4");
    let source = VideoSource::open(&input).unwrap();
    let info = source.info();
    assert_eq!((info.width, info.height), (1280, 720));
    assert_eq!(info.frame_count, Some(132));
    assert!(info.has_audio);
    drop(source);
    let probe = round_trip(&input, &output, 132, (1280, 720));
    assert_eq!(probe.audio().expect("audio")["codec_name"], "aac");
}
