//! `doppel track INPUT --jsonl OUT`: runs the `track` stage (with `--body` the `pose` stage, with
//! `--hands` the `hands` stage) on
//! every frame of INPUT and writes what they found, one JSON object per line (JSON Lines), one line
//! per frame, in frame order.
//!
//! # Schema (one line)
//! ```json
//! {"frame": 0, "time": 0.0, "width": 640, "height": 480,
//!  "faces": [{"box": [x0, y0, x1, y1], "score": 0.99, "detected": true,
//!             "points": [[x, y, z], ... 478],
//!             "pose": {"yaw": -3.1, "pitch": 2.0, "roll": 0.4, "translation": [x, y, z_cm]},
//!             "expressions": {"browDownLeft": 0.0, "eyeBlinkLeft": 0.02, ...},
//!             "blendshapes": {"browDownLeft": 0.0, ... 52}}],
//!  "bodies": [{"box": [x0, y0, x1, y1], "score": 0.9, "keypoints": [[x, y, z, visibility], ... 33]}],
//!  "hands": [{"box": [x0, y0, x1, y1], "score": 0.98, "handedness": "left", "handedness_score": 0.97,
//!             "landmarks": [[x, y, z], ... 21], "world": [[x, y, z], ... 21]}]}
//! ```
//! - `frame`: the frame's number in the input, from 0; `time`: its timestamp in seconds.
//! - `width`, `height`: frame size in pixels; all x, y are frame pixels, (0, 0) the top-left corner.
//! - `faces`: best-tracked first; `box` around the mesh; `score` the face-present probability;
//!   `detected` whether the detector ran on this frame for this face (else followed from the previous
//!   frame); `points` the MediaPipe face-mesh points (z: depth in the scale of x, larger = farther,
//!   relative to the face): 478 with the default v2 mesh (468 mesh points, then the right and left
//!   iris, 5 each), 468 with `--options mesh=models/face_landmark.onnx`; `pose` yaw/pitch/roll in
//!   degrees (yaw > 0: nose towards +x; pitch > 0: nose up; roll > 0: clockwise on screen) and
//!   translation (head centre x, y in pixels, z = distance from the camera in cm, estimated), or
//!   null; `expressions` the face's ARKit-named values 0..1 (`Face::expressions`, the one source
//!   every consumer reads); `blendshapes` the same values under the 52 ARKit names
//!   (`doppel_pipeline::rig::ARKIT_NAMES`): all 52 with the v2 mesh (MediaPipe's blendshape model,
//!   `tongueOut` from the mesh), only the names the v1 mesh measures with it (gaze only with
//!   `--iris`).
//! - `bodies`: 33 BlazePose keypoints each (order: `doppel_pipeline::track::BODY_KEYPOINT_NAMES`),
//!   empty unless `--body`.
//! - `hands`: empty unless `--hands`; `handedness` the person's hand (`left`/`right`, not mirrored);
//!   `landmarks` MediaPipe's 21 hand points (order: `doppel_pipeline::meta::HAND_LANDMARK_NAMES`; z
//!   depth in the scale of x relative to the wrist), `world` the same in metres (0.0001 steps).
//!
//! Numbers are rounded to 0.01 (pixels) and 0.001 (scores, values) to keep lines short.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use doppel_pipeline::graph::{self, RunConfig};
use doppel_pipeline::meta::Hand;
use doppel_pipeline::output::{OutputGuard, Staged};
use doppel_pipeline::rig::ARKIT_NAMES;
use doppel_pipeline::sink::{Sink, SinkSummary};
use doppel_pipeline::source::{self, OpenOptions};
use doppel_pipeline::spec::StageSpec;
use doppel_pipeline::track::{Body, Face};
use doppel_pipeline::{Error, Frame, Mode};
use indicatif::ProgressBar;
use serde_json::{json, Map, Value};

use crate::report;

#[derive(Args)]
pub struct TrackArgs {
    /// A video file, an image, a folder or glob of images, `synthetic[...]` or a camera.
    pub input: String,

    /// Write one JSON line per frame to this file (see `doppel track --help` and the README for the
    /// schema).
    #[arg(long)]
    pub jsonl: PathBuf,

    /// Most faces per frame.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub max_faces: u32,

    /// Average the first N frames with a face into the person's neutral face (relaxed, eyes open,
    /// mouth closed, looking at the camera); expressions and angles are then measured from it.
    #[arg(long, default_value_t = 0)]
    pub calibrate: u32,

    /// With the v1 mesh (`--options mesh=models/face_landmark.onnx`): run the iris model for gaze
    /// values (eyeLook*); the default v2 mesh has them.
    #[arg(long)]
    pub iris: bool,

    /// Turn the One Euro smoothing off (raw model output).
    #[arg(long)]
    pub no_smooth: bool,

    /// Also track bodies: appends the `pose` stage (33 keypoints per body).
    #[arg(long)]
    pub body: bool,

    /// Also track hands: appends the `hands` stage (up to two hands, 21 landmarks each).
    #[arg(long)]
    pub hands: bool,

    /// More `track` stage options, `key=value:key=value` (see `doppel stages`), e.g. `beta=5`.
    #[arg(long, default_value = "")]
    pub options: String,

    /// Frame rate given to image sequences.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub fps: u32,
}

/// The stages `args` asks for: `track` with its options, then `pose` with `--body`.
pub fn stage_specs(args: &TrackArgs) -> anyhow::Result<Vec<StageSpec>> {
    let mut options = vec![
        ("max_faces".to_string(), args.max_faces.to_string()),
        ("calibrate".to_string(), args.calibrate.to_string()),
        ("iris".to_string(), args.iris.to_string()),
        ("smooth".to_string(), (!args.no_smooth).to_string()),
    ];
    for pair in args.options.split(':').filter(|p| !p.trim().is_empty()) {
        let Some((key, value)) = pair.split_once('=') else {
            anyhow::bail!("--options: '{pair}' is not key=value");
        };
        let key = key.trim().to_string();
        options.retain(|(k, _)| *k != key);
        options.push((key, value.trim().to_string()));
    }
    let mut specs = vec![StageSpec {
        name: "track".to_string(),
        options,
    }];
    if args.body {
        specs.push(StageSpec {
            name: "pose".to_string(),
            options: Vec::new(),
        });
    }
    if args.hands {
        specs.push(StageSpec {
            name: "hands".to_string(),
            options: Vec::new(),
        });
    }
    Ok(specs)
}

fn round(v: f32, step: f32) -> Value {
    if v.is_finite() {
        json!(((f64::from(v) / f64::from(step)).round() * f64::from(step) * 1e4).round() / 1e4)
    } else {
        Value::Null
    }
}

fn face_json(face: &Face) -> Value {
    let r = &face.rect;
    let points: Vec<Value> = face
        .mesh
        .iter()
        .map(|p| json!([round(p[0], 0.01), round(p[1], 0.01), round(p[2], 0.01)]))
        .collect();
    let pose = face.pose.map_or(Value::Null, |p| {
        json!({
            "yaw": round(p.yaw, 0.01),
            "pitch": round(p.pitch, 0.01),
            "roll": round(p.roll, 0.01),
            "translation": [round(p.translation[0], 0.01), round(p.translation[1], 0.01),
                            round(p.translation[2], 0.01)],
        })
    });
    let expressions: Map<String, Value> = face
        .expressions
        .iter()
        .map(|(k, v)| (k.clone(), round(*v, 0.001)))
        .collect();
    let blendshapes: Map<String, Value> = ARKIT_NAMES
        .iter()
        .filter_map(|name| {
            let v = face.expressions.get(*name)?;
            Some(((*name).to_string(), round(*v, 0.001)))
        })
        .collect();
    json!({
        "box": [round(r.x0, 0.01), round(r.y0, 0.01), round(r.x1, 0.01), round(r.y1, 0.01)],
        "score": round(face.score, 0.001),
        "detected": face.detection.is_some(),
        "points": points,
        "pose": pose,
        "expressions": expressions,
        "blendshapes": blendshapes,
    })
}

fn body_json(body: &Body) -> Value {
    let r = &body.rect;
    let keypoints: Vec<Value> = body
        .keypoints
        .iter()
        .map(|k| {
            json!([
                round(k.x, 0.01),
                round(k.y, 0.01),
                round(k.z, 0.01),
                round(k.visibility, 0.001)
            ])
        })
        .collect();
    json!({
        "box": [round(r.x0, 0.01), round(r.y0, 0.01), round(r.x1, 0.01), round(r.y1, 0.01)],
        "score": round(body.score, 0.001),
        "keypoints": keypoints,
    })
}

fn hand_json(hand: &Hand) -> Value {
    let r = &hand.rect;
    let points = |list: &[[f32; 3]], step: f32| -> Vec<Value> {
        list.iter()
            .map(|p| json!([round(p[0], step), round(p[1], step), round(p[2], step)]))
            .collect()
    };
    json!({
        "box": [round(r.x0, 0.01), round(r.y0, 0.01), round(r.x1, 0.01), round(r.y1, 0.01)],
        "score": round(hand.score, 0.001),
        "handedness": hand.handedness,
        "handedness_score": round(hand.handedness_score, 0.001),
        "landmarks": points(&hand.landmarks, 0.01),
        "world": points(&hand.world, 0.0001),
    })
}

/// One line of the export for `frame` (see the module docs).
pub fn frame_json(frame: &Frame) -> Value {
    json!({
        "frame": frame.seq,
        "time": (frame.pts.seconds() * 1e6).round() / 1e6,
        "width": frame.width(),
        "height": frame.height(),
        "faces": frame.meta.faces.iter().map(face_json).collect::<Vec<_>>(),
        "bodies": frame.meta.bodies.iter().map(body_json).collect::<Vec<_>>(),
        "hands": frame.meta.hands.iter().map(hand_json).collect::<Vec<_>>(),
    })
}

/// A sink that writes [`frame_json`] lines, into a staged file of the run's output guard.
struct JsonlSink {
    path: PathBuf,
    out: BufWriter<File>,
    frames: u64,
    staged: Staged,
}

impl JsonlSink {
    fn create(path: PathBuf, guard: &OutputGuard) -> doppel_pipeline::Result<Self> {
        // Cut-off JSON Lines are still readable line by line: an abort keeps them.
        let staged = guard.stage(&path, true)?;
        let file = File::create(staged.temp()).map_err(|e| Error::Output {
            path: path.clone(),
            message: format!("cannot create the JSON Lines file: {e}"),
        })?;
        Ok(Self {
            path,
            out: BufWriter::new(file),
            frames: 0,
            staged,
        })
    }

    fn io_error(&self, e: impl std::fmt::Display) -> Error {
        Error::Output {
            path: self.path.clone(),
            message: format!("cannot write: {e}"),
        }
    }
}

impl Sink for JsonlSink {
    fn pixels(&self) -> doppel_pipeline::sink::PixelNeed {
        doppel_pipeline::sink::PixelNeed::None
    }

    fn write(&mut self, frame: &Frame) -> doppel_pipeline::Result<()> {
        serde_json::to_writer(&mut self.out, &frame_json(frame)).map_err(|e| self.io_error(e))?;
        self.out.write_all(b"\n").map_err(|e| self.io_error(e))?;
        self.frames += 1;
        Ok(())
    }

    fn finish(&mut self) -> doppel_pipeline::Result<SinkSummary> {
        self.out.flush().map_err(|e| self.io_error(e))?;
        self.staged.complete()?;
        Ok(SinkSummary {
            frames: self.frames,
            target: self.path.display().to_string(),
        })
    }
}

pub fn run(args: TrackArgs) -> anyhow::Result<ExitCode> {
    // The output is checked before the models load.
    let guard = crate::outputs::guard(false).deferred();
    guard.add_input(&args.input);
    let sink = JsonlSink::create(args.jsonl.clone(), &guard)?;
    let specs = stage_specs(&args)?;
    let (_, stages) = super::build_stages(&specs, &[], Mode::Offline, None)?;
    let source = source::open(
        &args.input,
        &OpenOptions {
            image_fps: args.fps,
            live: false,
            ..OpenOptions::default()
        },
    )?;
    let info = source.info().clone();

    let mut config = RunConfig::new(Mode::Offline);
    crate::signals::install(
        config.handle.clone(),
        Some(guard.clone()),
        || {},
        "the file",
    )?;
    let bar = if crate::logging::quiet() {
        ProgressBar::hidden()
    } else {
        super::process::progress_bar(info.frame_count)
    };
    {
        let bar = bar.clone();
        config.progress = Some(Arc::new(move |n| bar.set_position(n)));
    }
    if !crate::logging::quiet() {
        errln!(
            "{} ({}x{}) -> {} via [{}]",
            info.name,
            info.width,
            info.height,
            args.jsonl.display(),
            specs
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let outcome = graph::run(source, stages, Box::new(sink), config);
    bar.finish_and_clear();
    let report = &outcome.report;
    // As `process`: replace an earlier file only with a run that ended well, was stopped, or
    // stopped at damage in the input.
    let keep = matches!(&outcome.error, None | Some(Error::Truncated { .. }));
    let published = guard.finish(keep);
    if !crate::logging::quiet() {
        report::print(report);
    }
    if let Some(error) = outcome.error {
        let note = if keep {
            format!(
                "{} frames were written to {} before the error",
                report.frames_out,
                args.jsonl.display()
            )
        } else {
            format!(
                "the run failed after {} frames, so {} was not written (an earlier file there is unchanged)",
                report.frames_out,
                args.jsonl.display()
            )
        };
        return Err(anyhow::Error::new(error).context(note));
    }
    published?;
    if report.interrupted {
        errln!(
            "interrupted: {} frames written to {}",
            report.frames_out,
            args.jsonl.display()
        );
        return Ok(ExitCode::from(crate::signals::exit_status()));
    }
    if !crate::logging::quiet() {
        errln!(
            "wrote {} frames to {}",
            report.frames_out,
            args.jsonl.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
