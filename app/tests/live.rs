//! `doppel live` as a user runs it: a real window under Xvfb (the test command runs every test under
//! `xvfb-run`), screenshots read back from the window's surface, VMC datagrams caught by a UDP
//! receiver here and decoded with this file's own OSC decoder, virtual-camera errors, and Ctrl-C.
//! Screenshots go to `target/test-output/live/` for a human to look at.

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use doppel_pipeline::source::synthetic::{render, SyntheticConfig};

mod common;
use common::{doppel, output_dir, repo, stderr, DOPPEL};

fn assert_display() {
    assert!(
        std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some(),
        "window tests need a display: run them with scripts/test.sh (xvfb-run -a)"
    );
}

fn stats(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("stats json");
    serde_json::from_str(&text).expect("valid json")
}

/// "screenshot PATH (frame K)" from doppel's messages.
fn screenshot_frame(err: &str) -> u64 {
    err.lines()
        .find_map(|l| {
            l.strip_prefix("screenshot ")?
                .rsplit_once("(frame ")?
                .1
                .strip_suffix(')')?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no screenshot message in:\n{err}"))
}

#[test]
fn window_shows_the_frame_with_the_display() {
    assert_display();
    let dir = tempfile::tempdir().unwrap();
    let shot = output_dir("live").join("window_synthetic.png");
    let _ = std::fs::remove_file(&shot);
    let json = dir.path().join("stats.json");
    let out = doppel(&[
        "live",
        "--source",
        "synthetic:width=320:height=180:fps=30",
        "--frames",
        "60",
        "--screenshot",
        shot.to_str().unwrap(),
        "--screenshot-at",
        "30",
        "--stats-json",
        json.to_str().unwrap(),
    ]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // The window was the frame's size, so the picture is the frame pixel for pixel below the
    // display (top-left box) and the display shows text.
    let seq = screenshot_frame(&err);
    let picture = image::open(&shot).expect("screenshot PNG").to_rgba8();
    assert_eq!(picture.dimensions(), (320, 180));
    let config = SyntheticConfig {
        width: 320,
        height: 180,
        fps: 30,
        frames: None,
        live: false,
    };
    let frame = render(&config, seq);
    let mut worst = 0u8;
    for y in 90..180 {
        for x in 0..320 {
            let (a, b) = (picture.get_pixel(x, y), frame.get_pixel(x, y));
            for c in 0..3 {
                worst = worst.max(a[c].abs_diff(b[c]));
            }
        }
    }
    assert!(
        worst <= 1,
        "bottom half differs from frame {seq} by up to {worst}"
    );
    // The display: the box colour and white text at its top-left, where the frame has neither.
    let (mut ink, mut boxed) = (0, 0);
    for y in 8..30 {
        for x in 8..200 {
            match picture.get_pixel(x, y).0 {
                [255, 255, 255, _] => ink += 1,
                [16, 16, 16, _] => boxed += 1,
                _ => {}
            }
        }
    }
    assert!(
        ink > 200 && boxed > 1000,
        "display text {ink} px, box {boxed} px"
    );

    let s = stats(&json);
    assert_eq!(s["frames_out"], 60, "{s}");
    let d = &s["display"];
    assert!(d["presented"].as_u64().unwrap() >= 30, "{d}");
    assert!(d["latency_ms"]["p50"].as_f64().unwrap() > 0.0, "{d}");
    assert_eq!(d["window_size"], serde_json::json!([320, 180]));
    assert_eq!(d["ended_by"], "end");
    assert!(err.contains("capture-to-display latency p50"), "{err}");
}

/// `--mirror` mirrors the preview (a selfie view) but not the display drawn over it, and not
/// what the pipeline hands to sinks.
#[test]
fn window_mirrors_the_preview_only() {
    assert_display();
    let shot = output_dir("live").join("window_mirrored.png");
    let _ = std::fs::remove_file(&shot);
    let out = doppel(&[
        "live",
        "--source",
        "synthetic:width=320:height=180:fps=30",
        "--frames",
        "30",
        "--mirror",
        "--screenshot",
        shot.to_str().unwrap(),
        "--screenshot-at",
        "15",
    ]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let seq = screenshot_frame(&err);
    let picture = image::open(&shot).expect("screenshot PNG").to_rgba8();
    let config = SyntheticConfig {
        width: 320,
        height: 180,
        fps: 30,
        frames: None,
        live: false,
    };
    let frame = render(&config, seq);
    let (mut mirrored, mut straight) = (0u8, 0u8);
    for y in 90..180 {
        for x in 0..320 {
            let a = picture.get_pixel(x, y);
            let (m, s) = (frame.get_pixel(319 - x, y), frame.get_pixel(x, y));
            for c in 0..3 {
                mirrored = mirrored.max(a[c].abs_diff(m[c]));
                straight = straight.max(a[c].abs_diff(s[c]));
            }
        }
    }
    assert!(
        mirrored <= 1,
        "differs from mirrored frame {seq} by up to {mirrored}"
    );
    assert!(straight > 50, "the frame is not mirrored: {straight}");
    // The display still reads left to right: its box and text are at the top-left.
    let ink = (8..30)
        .flat_map(|y| (8..200).map(move |x| (x, y)))
        .filter(|&(x, y)| picture.get_pixel(x, y).0[..3] == [255, 255, 255])
        .count();
    assert!(ink > 200, "display text {ink} px");
}

#[test]
fn window_letterboxes_another_aspect() {
    assert_display();
    let shot = output_dir("live").join("window_letterbox.png");
    let _ = std::fs::remove_file(&shot);
    let out = doppel(&[
        "live",
        "--source",
        "synthetic:width=160:height=90:fps=30",
        "--window-size",
        "160x120",
        "--no-osd",
        "--frames",
        "10",
        "--screenshot",
        shot.to_str().unwrap(),
    ]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let seq = screenshot_frame(&err);
    let picture = image::open(&shot).expect("screenshot PNG").to_rgba8();
    assert_eq!(picture.dimensions(), (160, 120));
    let frame = render(
        &SyntheticConfig {
            width: 160,
            height: 90,
            fps: 30,
            frames: None,
            live: false,
        },
        seq,
    );
    // Bars of 15 rows above and below, the frame 1:1 between them.
    for x in 0..160 {
        for y in (0..15).chain(105..120) {
            assert_eq!(picture.get_pixel(x, y).0, [0, 0, 0, 255], "bar at {x},{y}");
        }
        for y in 0..90 {
            let (a, b) = (picture.get_pixel(x, y + 15), frame.get_pixel(x, y));
            assert!(
                (0..3).all(|c| a[c].abs_diff(b[c]) <= 1),
                "{x},{y}: {a:?} vs {b:?}"
            );
        }
    }
}

#[test]
fn a_source_that_ends_is_reported_and_ends_a_headless_run() {
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = receiver.local_addr().unwrap().port();
    let out = doppel(&[
        "live",
        "--no-window",
        "--source",
        "synthetic:width=64:height=48:frames=5",
        "--vmc",
        &format!("127.0.0.1:{port}"),
        "--seconds",
        "30",
    ]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    // Headless, nobody watches the last frame: the end of the source ends the run (before
    // --seconds), and the last line says so.
    assert!(
        err.contains("source ended") && err.contains("ending the run"),
        "{err}"
    );
    assert!(
        err.contains("ended: the source ended after 5 frames"),
        "{err}"
    );
    assert!(err.contains("frames in 5 / out 5"), "{err}");
}

// --- A small OSC 1.0 decoder, independent of doppel's encoder. ---

#[derive(Debug, Clone, PartialEq)]
enum Value {
    I(i32),
    F(f32),
    S(String),
}

fn osc_string(b: &[u8], at: &mut usize) -> String {
    let end = b[*at..].iter().position(|&c| c == 0).expect("NUL") + *at;
    let s = String::from_utf8(b[*at..end].to_vec()).expect("ascii");
    *at = (end + 4) & !3;
    s
}

fn message(b: &[u8]) -> (String, Vec<Value>) {
    let mut at = 0;
    let address = osc_string(b, &mut at);
    let tags = osc_string(b, &mut at);
    assert!(tags.starts_with(','), "type tags {tags}");
    let mut args = Vec::new();
    for t in tags[1..].chars() {
        let word = |at: &mut usize| {
            let v = [b[*at], b[*at + 1], b[*at + 2], b[*at + 3]];
            *at += 4;
            v
        };
        args.push(match t {
            'i' => Value::I(i32::from_be_bytes(word(&mut at))),
            'f' => Value::F(f32::from_be_bytes(word(&mut at))),
            's' => Value::S(osc_string(b, &mut at)),
            other => panic!("unexpected type tag {other}"),
        });
    }
    assert_eq!(at, b.len(), "message length");
    (address, args)
}

fn bundle(b: &[u8]) -> Vec<(String, Vec<Value>)> {
    assert_eq!(&b[..8], b"#bundle\0");
    let mut at = 16;
    let mut out = Vec::new();
    while at < b.len() {
        let size = i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize;
        assert_eq!(size % 4, 0);
        out.push(message(&b[at + 4..at + 4 + size]));
        at += 4 + size;
    }
    assert_eq!(at, b.len());
    out
}

fn receive(socket: &UdpSocket, until: Duration) -> Vec<Vec<(String, Vec<Value>)>> {
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let t0 = Instant::now();
    let mut buf = vec![0u8; 65536];
    let mut bundles = Vec::new();
    while t0.elapsed() < until {
        if let Ok(n) = socket.recv(&mut buf) {
            bundles.push(bundle(&buf[..n]));
        }
    }
    bundles
}

/// The received bundles grouped into frames: a frame's messages end with `/VMC/Ext/T` (a frame
/// goes out as a few bundles of at most 4 KB, in order).
fn frames(bundles: Vec<Vec<(String, Vec<Value>)>>) -> Vec<Vec<(String, Vec<Value>)>> {
    let mut out = Vec::new();
    let mut frame = Vec::new();
    for b in bundles {
        frame.extend(b);
        if frame.last().is_some_and(|(a, _)| a == "/VMC/Ext/T") {
            out.push(std::mem::take(&mut frame));
        }
    }
    assert!(frame.is_empty(), "a frame without /VMC/Ext/T: {frame:?}");
    out
}

#[test]
fn vmc_sends_every_frame() {
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = receiver.local_addr().unwrap().port();
    let child = Command::new(DOPPEL)
        .args([
            "live",
            "--no-window",
            "--source",
            "synthetic:width=64:height=48:fps=30",
            "--frames",
            "12",
            "--vmc",
            &format!("127.0.0.1:{port}"),
        ])
        .current_dir(repo())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run doppel");
    let bundles = receive(&receiver, Duration::from_secs(3));
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    // The VMC sink needs faces: the library adds the tracking, and the app says so once.
    assert_eq!(
        err.matches("note: added the 'track' stage first: the VMC sink (--vmc) needs faces")
            .count(),
        1,
        "{err}"
    );
    let frames = frames(bundles);
    assert_eq!(frames.len(), 12, "every frame");
    let mut last_t = -1.0f32;
    let mut tracked_frames = 0;
    for b in &frames {
        let addresses: Vec<&str> = b.iter().map(|(a, _)| a.as_str()).collect();
        let n = addresses.len();
        assert_eq!(addresses[0], "/VMC/Ext/Root/Pos");
        assert_eq!(addresses[n - 2..], ["/VMC/Ext/OK", "/VMC/Ext/T"]);
        let mut root = vec![Value::S("root".into())];
        root.extend([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0].map(Value::F));
        assert_eq!(b[0].1, root);
        // Every frame sends the skeleton (arms resting without a body); a frame with a face (the
        // synthetic figure is one) sends blendshapes and tracking status 1, one without sends
        // none and status 0.
        let bones = addresses
            .iter()
            .filter(|a| **a == "/VMC/Ext/Bone/Pos")
            .count();
        assert_eq!(bones, 45, "{addresses:?}");
        let tracked = b[n - 2].1[3] == Value::I(1);
        if tracked {
            tracked_frames += 1;
            assert!(addresses.contains(&"/VMC/Ext/Blend/Apply"), "{addresses:?}");
        } else {
            assert!(!addresses.contains(&"/VMC/Ext/Blend/Val"), "{addresses:?}");
        }
        // Calibration state 0: the tracker measures from a typical neutral face (no calibration
        // was asked for).
        assert_eq!(b[n - 2].1, [1, 0, 0, i32::from(tracked)].map(Value::I));
        let Value::F(t) = b[n - 1].1[0] else {
            panic!("time is a float")
        };
        assert!(t > last_t, "time increases");
        last_t = t;
    }
    // The tracking the sink needs really ran.
    assert!(tracked_frames > 0, "no frame was tracked");
}

#[test]
fn vmc_reports_a_tracked_face() {
    let photo = repo().join("target/test-data/faces/grace_hopper.jpg");
    assert!(
        photo.is_file(),
        "{} missing: run scripts/fetch-test-faces.sh",
        photo.display()
    );
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = receiver.local_addr().unwrap().port();
    let child = Command::new(DOPPEL)
        .args([
            "live",
            "--no-window",
            "--source",
            photo.to_str().unwrap(),
            "--loop",
            "--stages",
            "track",
            "--frames",
            "3",
            "--vmc",
            &format!("127.0.0.1:{port}"),
        ])
        .current_dir(repo())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run doppel");
    let bundles = receive(&receiver, Duration::from_secs(8));
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let frames = frames(bundles);
    assert_eq!(frames.len(), 3);
    for b in &frames {
        let ok = b
            .iter()
            .find(|(a, _)| a == "/VMC/Ext/OK")
            .expect("OK message");
        assert_eq!(ok.1[3], Value::I(1), "a face is tracked");
        // A face is present: the blendshape block ends with Apply, and the head bone carries a
        // unit quaternion.
        assert!(b.iter().any(|(a, _)| a == "/VMC/Ext/Blend/Apply"));
        let head = b
            .iter()
            .find(|(a, args)| a == "/VMC/Ext/Bone/Pos" && args[0] == Value::S("Head".into()))
            .map(|(_, args)| args);
        if let Some(head) = head {
            let q: Vec<f32> = head[4..]
                .iter()
                .map(|v| match v {
                    Value::F(f) => *f,
                    _ => panic!("float"),
                })
                .collect();
            let norm: f32 = q.iter().map(|v| v * v).sum();
            assert!((norm - 1.0).abs() < 1e-3, "unit quaternion {q:?}");
        }
    }
}

#[test]
fn bad_vcam_paths_get_clear_messages() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("video10");
    std::fs::write(&file, b"").unwrap();
    let cases: [(&str, &[&str]); 3] = [
        (
            "/dev/null",
            &["/dev/null", "not a V4L2 video device", "sudo modprobe v4l2loopback"],
        ),
        (
            "/dev/video_doppel_missing",
            &[
                "/dev/video_doppel_missing",
                "no such device",
                "sudo modprobe v4l2loopback devices=1 video_nr=10 card_label=\"doppel\" exclusive_caps=1",
            ],
        ),
        (file.to_str().unwrap(), &["is a regular file, not a video device"]),
    ];
    for (device, needles) in cases {
        let out = doppel(&[
            "live",
            "--no-window",
            "--source",
            "synthetic:width=64:height=48",
            "--vcam",
            device,
        ]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{device}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        for n in needles {
            assert!(err.contains(n), "'{n}' missing for {device}:\n{err}");
        }
    }
    // Every format the sink writes is accepted on the command line (the device is what fails),
    // and an odd width is refused for the 4:2:0 formats by name.
    for format in ["yuyv", "i420", "nv12", "rgb24"] {
        let out = doppel(&[
            "live",
            "--no-window",
            "--source",
            "synthetic:width=64:height=48",
            "--vcam",
            "/dev/null",
            "--vcam-format",
            format,
        ]);
        let err = stderr(&out);
        assert!(err.contains("not a V4L2 video device"), "{format}: {err}");
    }
    let out = doppel(&[
        "live",
        "--no-window",
        "--source",
        "synthetic:width=64:height=48",
        "--vcam",
        "/dev/null",
        "--vcam-format",
        "nv12",
        "--vcam-size",
        "63x48",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("even"), "{err}");
    // Headless without an output is refused too.
    let out = doppel(&["live", "--no-window", "--source", "synthetic"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--no-window needs an output"));
}

/// Starts doppel, waits for `ready` on stderr, sends SIGINT, and returns its output.
fn interrupt_after(args: &[&str], ready: &str) -> (Option<i32>, String) {
    let mut child = Command::new(DOPPEL)
        .args(args)
        .current_dir(repo())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run doppel");
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let mut line = String::new();
    while err.read_line(&mut line).unwrap_or(0) > 0 {
        seen.push_str(&line);
        let found = line.contains(ready);
        line.clear();
        if found {
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(1500));
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    seen.push_str(&rest);
    let status = child.wait().unwrap();
    (status.code(), seen)
}

#[test]
fn ctrl_c_ends_a_window_run_cleanly() {
    assert_display();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("stats.json");
    let (code, err) = interrupt_after(
        &[
            "live",
            "--source",
            "synthetic:width=160:height=90",
            "--stats-json",
            json.to_str().unwrap(),
        ],
        "live:",
    );
    assert_eq!(code, Some(130), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let s = stats(&json);
    assert_eq!(s["interrupted"], true);
    assert!(s["display"]["presented"].as_u64().unwrap() > 5, "{s}");
    assert_eq!(s["display"]["ended_by"], "interrupted");
}

#[test]
fn ctrl_c_ends_a_headless_run_cleanly() {
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = receiver.local_addr().unwrap().port();
    let (code, err) = interrupt_after(
        &[
            "live",
            "--no-window",
            "--source",
            "synthetic:width=64:height=48",
            "--vmc",
            &format!("127.0.0.1:{port}"),
        ],
        "live:",
    );
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn window_without_display_is_explained() {
    let out = Command::new(DOPPEL)
        .args(["live", "--source", "synthetic"])
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("WAYLAND_SOCKET")
        .output()
        .expect("run doppel");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("no display") && err.contains("--no-window"),
        "{err}"
    );
}

/// The avatar leaves its frame on the GPU; a window on the pipeline's device draws it from the
/// texture (no readback anywhere), and shows the same picture as a window on its own device, which
/// gets the frame read back once by the sink (the default on a CPU driver such as lavapipe).
#[test]
fn avatar_frames_reach_a_window_on_the_shared_device_without_readback() {
    assert_display();
    let dir = tempfile::tempdir().unwrap();
    let run = |device: &str| {
        let shot = output_dir("live").join(format!("window_avatar_{device}_device.png"));
        let _ = std::fs::remove_file(&shot);
        let json = dir.path().join(format!("{device}.json"));
        let out = Command::new(DOPPEL)
            .args([
                "live",
                "--source",
                "synthetic:width=320:height=240:fps=30",
                "--stages",
                "track,avatar",
                "--frames",
                "40",
                "--no-osd",
                "--screenshot",
                shot.to_str().unwrap(),
                "--screenshot-at",
                "20",
                "--stats-json",
                json.to_str().unwrap(),
            ])
            .env("DOPPEL_WINDOW_DEVICE", device)
            .current_dir(repo())
            .output()
            .expect("run doppel");
        let err = stderr(&out);
        assert!(out.status.success(), "{device}: {err}");
        let s = stats(&json);
        let nodes = s["nodes"].as_array().expect("nodes");
        let readbacks: u64 = nodes
            .iter()
            .map(|n| n["readbacks"].as_u64().unwrap_or(0))
            .sum();
        // Frames the sink took: 40, or one more that was on its way when the run stopped.
        let sunk = nodes
            .last()
            .and_then(|n| n["frames"].as_u64())
            .expect("sink frames");
        assert!((40..=41).contains(&sunk), "{s}");
        assert_eq!(s["display"]["shared_device"], device == "shared", "{s}");
        assert!(s["display"]["presented"].as_u64().unwrap() >= 20, "{s}");
        (
            readbacks,
            sunk,
            image::open(&shot).expect("screenshot").to_rgba8(),
        )
    };
    let (shared_readbacks, _, shared) = run("shared");
    let (own_readbacks, own_frames, own) = run("own");
    assert_eq!(
        shared_readbacks, 0,
        "the shared-device window reads nothing back"
    );
    assert_eq!(
        own_readbacks, own_frames,
        "one readback a frame for a window of its own"
    );
    // Same picture (the avatar's pose differs a little between frames): a colour-space slip on
    // one path (an sRGB view missing, say) would shift every pixel by tens of levels.
    let mean = |img: &image::RgbaImage| {
        let n = f64::from(img.width() * img.height());
        let sum: f64 = img
            .pixels()
            .map(|p| f64::from(p[0]) + f64::from(p[1]) + f64::from(p[2]))
            .sum();
        sum / (3.0 * n)
    };
    let (a, b) = (mean(&shared), mean(&own));
    assert!(
        (a - b).abs() < 4.0,
        "mean level shared {a:.1} vs own {b:.1}"
    );
    assert!(
        shared.pixels().any(|p| p[0] != shared.get_pixel(0, 0)[0]),
        "a picture, not a fill"
    );
}

/// `doppel live` takes its defaults from the settings file (`$DOPPEL_CONFIG` here); an option on
/// the command line wins; a file that does not parse stops the run naming its path, line and
/// column.
#[test]
fn live_reads_the_settings_file() {
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("config.toml");
    let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = receiver.local_addr().unwrap().port();
    std::fs::write(
        &settings,
        format!(
            "[live]\nsource = \"synthetic:width=64:height=48:fps=30\"\nstages = \"flip\"\nvmc = \"127.0.0.1:{port}\"\n"
        ),
    )
    .unwrap();
    let run = |extra: &[&str], name: &str| {
        let json = dir.path().join(name);
        let mut args = vec![
            "live",
            "--no-window",
            "--frames",
            "5",
            "--stats-json",
            json.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let out = Command::new(DOPPEL)
            .args(&args)
            .env("DOPPEL_CONFIG", &settings)
            .current_dir(repo())
            .output()
            .expect("run doppel");
        (out, json)
    };
    // --no-window is accepted: the VMC target comes from the file, and so do the source and stages.
    let (out, json) = run(&[], "from_file.json");
    assert!(out.status.success(), "{}", stderr(&out));
    let s = stats(&json);
    let names: Vec<String> = s["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(names[0].contains("64x48"), "{names:?}");
    assert!(names.iter().any(|n| n == "flip"), "{names:?}");
    // The command line wins.
    let (out, json) = run(
        &["--source", "synthetic:width=32:height=24:fps=30"],
        "cli.json",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let s = stats(&json);
    assert!(
        s["nodes"][0]["name"].as_str().unwrap().contains("32x24"),
        "{s}"
    );
    // A broken file.
    std::fs::write(&settings, "[live]\nsource = \n").unwrap();
    let (out, _) = run(&[], "broken.json");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(settings.to_str().unwrap()) && err.contains("line 2"),
        "{err}"
    );
}
