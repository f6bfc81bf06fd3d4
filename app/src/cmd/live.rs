//! `doppel live`: the pipeline in live mode to a window, a virtual camera and/or VMC output.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use anyhow::{anyhow, bail, Context};
use clap::Args;
use doppel_pipeline::graph::{self, RunConfig, RunHandle, RunOutcome, RunReport};
use doppel_pipeline::locate::Locator;
use doppel_pipeline::sink::vcam::{PixelFormat, VcamSettings, VcamSink};
use doppel_pipeline::sink::vmc::VmcSink;
use doppel_pipeline::sink::Sink;
use doppel_pipeline::source::{self, camera, OpenOptions, Source};
use doppel_pipeline::spec::{parse_stages, StageSpec};
use doppel_pipeline::stage::MetaSet;
use doppel_pipeline::{Mode, Stage};
use serde::Serialize;
use winit::event_loop::EventLoop;

use crate::live::window::{shares_pipeline_device, App, DisplayReport, UserEvent, WindowConfig};
use crate::live::{stderr_notifier, Notice, Notifier};
use crate::report;
use doppel_pipeline::live::control::Toggle;
use doppel_pipeline::live::sink::{LiveSink, Slot, WindowLink};
use doppel_pipeline::live::source::{LiveSource, OnEnd, Opener};

/// The clip shown when no camera can be opened.
const SAMPLE_CLIP: &str = "assets/bigbuckbunny.mp4";

#[derive(Args)]
pub struct LiveArgs {
    /// What to show: `camera`, `camera:N`, `/dev/videoN`, a video file, an image or folder, or
    /// `synthetic[:width=..:height=..:fps=..:frames=..]` (endless unless frames= is given). With no
    /// camera, the bundled sample clip is shown instead (looping). Default: the settings file's
    /// `source`, else `camera`.
    #[arg(long)]
    pub source: Option<String>,

    /// Drive an avatar from the face: `builtin` or a .glb/.vrm file. Adds the `avatar` stage (and
    /// `track` before it when the stages lack it).
    #[arg(long)]
    pub avatar: Option<String>,

    /// Stages to run, in order, as for `doppel process`: `track,avatar`. See `doppel stages`.
    /// Default: the settings file's `stages`, else none.
    #[arg(long)]
    pub stages: Option<String>,

    /// Write frames to this v4l2loopback device (a virtual camera for video calls).
    #[arg(long)]
    pub vcam: Option<PathBuf>,

    /// Pixel format of the virtual camera: yuyv (4:2:2, what every call app takes), i420 or nv12
    /// (4:2:0, half the bytes), rgb24.
    /// Default: the settings file's `vcam_format`, else yuyv.
    #[arg(long, value_parser = ["yuyv", "i420", "nv12", "rgb24"])]
    pub vcam_format: Option<String>,

    /// Size of the virtual camera, WxH (default: the source's size).
    #[arg(long)]
    pub vcam_size: Option<String>,

    /// Frame rate the virtual camera announces (default: the source's).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=240))]
    pub vcam_fps: Option<u32>,

    /// Send the skeleton (head, eyes, spine, arms, hands, fingers) and blendshapes (52 ARKit, VRM
    /// 0.x and 1.0 presets) as VMC protocol (OSC over UDP) to HOST:PORT (port 39539 when omitted),
    /// for VSeeFace, VNyan, Warudo and other VTuber apps.
    #[arg(long)]
    pub vmc: Option<String>,

    /// No window: run headless, feeding --vcam and/or --vmc.
    #[arg(long)]
    pub no_window: bool,

    /// Stop after this many frames reached the outputs.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub frames: Option<u64>,

    /// Stop after this many seconds.
    #[arg(long)]
    pub seconds: Option<f64>,

    /// Start a file source again when it ends (default: stay on its last frame).
    #[arg(long = "loop")]
    pub loop_source: bool,

    /// Write statistics (pipeline nodes, drops, capture-to-display latency) as JSON to this file.
    #[arg(long)]
    pub stats_json: Option<PathBuf>,

    /// Write a PNG of what the window shows: after --screenshot-at presented frames, else at the end.
    #[arg(long, conflicts_with = "no_window")]
    pub screenshot: Option<PathBuf>,

    /// The presented frame after which --screenshot is taken.
    #[arg(long, requires = "screenshot", value_parser = clap::value_parser!(u64).range(1..))]
    pub screenshot_at: Option<u64>,

    /// Folder for screenshots taken with the `s` key.
    #[arg(long, default_value = ".")]
    pub screenshot_dir: PathBuf,

    /// Window size, WxH in pixels (default: the source's size, at most 1280x720).
    #[arg(long)]
    pub window_size: Option<String>,

    /// Hide the on-screen display (the `o` key toggles it).
    #[arg(long)]
    pub no_osd: bool,

    /// Show the window's preview mirrored, as a selfie view (the `m` key toggles it). Only the
    /// window: recordings, the virtual camera and VMC are not mirrored (the `flip` stage mirrors
    /// every output).
    #[arg(long)]
    pub mirror: bool,
}

/// Everything `--stats-json` writes.
#[derive(Serialize)]
struct LiveReport<'a> {
    #[serde(flatten)]
    run: &'a RunReport,
    /// The window's figures; absent with --no-window.
    display: Option<&'a DisplayReport>,
}

/// Parses `WxH`.
fn parse_size(text: &str, option: &str) -> anyhow::Result<(u32, u32)> {
    let parsed = text
        .split_once(['x', 'X'])
        .and_then(|(w, h)| Some((w.trim().parse::<u32>().ok()?, h.trim().parse::<u32>().ok()?)))
        .filter(|(w, h)| (2..=8192).contains(w) && (2..=8192).contains(h));
    parsed
        .ok_or_else(|| anyhow!("{option} {text}: expected WxH with sides 2..=8192, e.g. 1280x720"))
}

/// The stage list with `--avatar` applied: `avatar:model=…` appended (or its model set). The
/// tracking the avatar needs is added when the stages are built (see [`super::build_stages`]).
fn stage_specs(args: &LiveArgs) -> anyhow::Result<Vec<StageSpec>> {
    let mut specs = parse_stages(args.stages())?;
    if let Some(model) = &args.avatar {
        match specs.iter_mut().find(|s| s.name == "avatar") {
            Some(spec) => {
                spec.options.retain(|(k, _)| k != "model");
                spec.options.push(("model".into(), model.clone()));
            }
            None => specs.push(StageSpec {
                name: "avatar".into(),
                options: vec![("model".into(), model.clone())],
            }),
        }
    }
    Ok(specs)
}

/// Finds the bundled clip in the data folder (see [`Locator`]).
fn sample_clip() -> Option<PathBuf> {
    Locator::from_env().find(SAMPLE_CLIP).ok()
}

/// The input string as a live source should open it: the synthetic source runs until stopped
/// unless a frame count is given.
fn live_input(input: &str) -> String {
    let synthetic = input == "synthetic" || input.starts_with("synthetic:");
    if synthetic && !input.contains("frames=") {
        format!("{input}:frames=0")
    } else {
        input.to_string()
    }
}

/// Opens the source, falling back to the bundled clip when no camera can be opened.
fn open_source(args: &LiveArgs, run: &RunHandle, notify: &Notifier) -> anyhow::Result<LiveSource> {
    open_source_ending(args, run, notify, OnEnd::Stay)
}

/// As [`open_source`]; a file or finite synthetic source that ends does `on_end` (unless --loop).
fn open_source_ending(
    args: &LiveArgs,
    run: &RunHandle,
    notify: &Notifier,
    on_end: OnEnd,
) -> anyhow::Result<LiveSource> {
    let options = OpenOptions {
        image_fps: 30,
        live: false,
        ..OpenOptions::default()
    };
    let input = live_input(args.source());
    let opener = |input: String| -> Opener {
        let options = options.clone();
        Box::new(move || source::open(&input, &options))
    };
    if camera::is_camera_input(&input) {
        match LiveSource::new(
            opener(input.clone()),
            OnEnd::Retry,
            run.clone(),
            notify.clone(),
        ) {
            Ok(s) => return Ok(s),
            Err(e) => {
                let clip = sample_clip().ok_or_else(|| {
                    anyhow!("{e}; and the bundled clip {SAMPLE_CLIP} was not found either")
                })?;
                errln!(
                    "{e}\nno camera: showing the bundled sample clip {} instead (looping)",
                    clip.display()
                );
                let clip = clip.display().to_string();
                let mut source =
                    LiveSource::new(opener(clip), OnEnd::Loop, run.clone(), notify.clone())?;
                source.give_up = on_end;
                return Ok(source);
            }
        }
    }
    let give_up = on_end;
    let on_end = if args.loop_source {
        OnEnd::Loop
    } else {
        on_end
    };
    let mut source = LiveSource::new(opener(input), on_end, run.clone(), notify.clone())?;
    source.give_up = give_up;
    Ok(source)
}

fn outputs(args: &LiveArgs, src: &dyn Source) -> anyhow::Result<Vec<Box<dyn Sink>>> {
    let info = src.info();
    let mut out: Vec<Box<dyn Sink>> = Vec::new();
    if let Some(device) = &args.vcam {
        let format = PixelFormat::from_name(args.vcam_format()).ok_or_else(|| {
            anyhow!(
                "--vcam-format {}: expected one of {}",
                args.vcam_format(),
                PixelFormat::NAMES.join(", ")
            )
        })?;
        let (width, height) = match &args.vcam_size {
            Some(s) => parse_size(s, "--vcam-size")?,
            // Call apps garble odd sizes and the YUV formats pair pixels: an odd source side is
            // rounded down (frames are resized to it).
            None => (info.width & !1, info.height & !1),
        };
        let fps = args.vcam_fps.unwrap_or_else(|| {
            info.frame_rate
                .map_or(30, |r| r.as_f64().round().clamp(1.0, 240.0) as u32)
        });
        let sink = VcamSink::open(&VcamSettings {
            device: device.clone(),
            format,
            width,
            height,
            fps,
        })?;
        let n = sink.negotiated();
        errln!(
            "virtual camera {} ('{}'): {}x{} {} at {fps} fps",
            device.display(),
            sink.card(),
            n.width,
            n.height,
            n.format
        );
        out.push(Box::new(sink));
    }
    if let Some(target) = &args.vmc {
        let sink = VmcSink::open(target)?;
        errln!("VMC: sending OSC to udp://{}", sink.target());
        out.push(Box::new(sink));
    }
    Ok(out)
}

/// The window's size: `--window-size`, else the source's size scaled down to fit 1280x720.
fn window_size(args: &LiveArgs, src: &dyn Source) -> anyhow::Result<(u32, u32)> {
    if let Some(s) = &args.window_size {
        return parse_size(s, "--window-size");
    }
    let (w, h) = (src.info().width.max(1), src.info().height.max(1));
    let scale = (1280.0 / f64::from(w)).min(720.0 / f64::from(h)).min(1.0);
    Ok((
        ((f64::from(w) * scale).round() as u32).max(1),
        ((f64::from(h) * scale).round() as u32).max(1),
    ))
}

impl LiveArgs {
    /// The options not given on the command line taken from the settings file's `[live]` table
    /// ([`crate::config`]).
    pub fn with_settings(mut self, settings: crate::config::LiveConfig) -> Self {
        self.source = self.source.or(settings.source);
        self.stages = self.stages.or(settings.stages);
        self.avatar = self.avatar.or(settings.avatar);
        self.vcam = self.vcam.or(settings.vcam);
        self.vcam_format = self.vcam_format.or(settings.vcam_format);
        self.vmc = self.vmc.or(settings.vmc);
        self
    }

    pub fn source(&self) -> &str {
        self.source.as_deref().unwrap_or("camera")
    }

    pub fn stages(&self) -> &str {
        self.stages.as_deref().unwrap_or("")
    }

    pub fn vcam_format(&self) -> &str {
        self.vcam_format.as_deref().unwrap_or("yuyv")
    }
}

pub fn run(args: LiveArgs) -> anyhow::Result<ExitCode> {
    let args = args.with_settings(crate::config::load()?.live);
    if args.no_window && args.vcam.is_none() && args.vmc.is_none() {
        bail!("--no-window needs an output: --vcam /dev/videoN and/or --vmc HOST:PORT");
    }
    if let Some(s) = args.seconds {
        if !(s.is_finite() && s > 0.0) {
            bail!("--seconds {s}: expected a positive number of seconds");
        }
    }
    if args.screenshot_dir.as_os_str().is_empty() || !args.screenshot_dir.is_dir() {
        bail!(
            "--screenshot-dir {}: not a folder",
            args.screenshot_dir.display()
        );
    }
    // Checked now, written later: a refused path should not cost a whole live session.
    let guard = crate::outputs::guard(false);
    guard.add_input(args.source());
    for path in [&args.stats_json, &args.screenshot].into_iter().flatten() {
        guard.claim(path)?;
    }
    let specs = stage_specs(&args)?;
    if args.no_window {
        run_headless(&args, &specs)
    } else {
        run_window(&args, &specs)
    }
}

/// What the outputs need from the stages: the VMC sink sends tracked faces.
fn sink_needs(args: &LiveArgs) -> Vec<(&'static str, MetaSet)> {
    args.vmc
        .iter()
        .map(|_| ("the VMC sink (--vmc)", VmcSink::NEEDS))
        .collect()
}

/// Builds the stages (with what the outputs need) for the live run `run`: each can be switched
/// off, and those that take commands registered their inboxes with it. Returns the stage list as
/// built too.
fn live_stages(
    args: &LiveArgs,
    specs: &[StageSpec],
    run: &RunHandle,
) -> anyhow::Result<super::BuiltStages> {
    let (specs, built) = super::build_stages(specs, &sink_needs(args), Mode::Live, Some(run))?;
    let stages = built
        .into_iter()
        .map(|stage| Box::new(Toggle::wrap(stage, run)) as Box<dyn Stage>)
        .collect();
    Ok((specs, stages))
}

fn describe(src: &dyn Source, specs: &[StageSpec]) {
    let info = src.info();
    errln!(
        "live: {} ({}x{}{}) via [{}]",
        info.name,
        info.width,
        info.height,
        info.frame_rate
            .map(|r| format!(", {:.3} fps", r.as_f64()))
            .unwrap_or_default(),
        specs
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
}

fn install_ctrlc(run: RunHandle, wake: impl Fn() + Send + 'static) -> anyhow::Result<()> {
    crate::signals::install(run, None, wake, "the live run")
}

fn run_headless(args: &LiveArgs, specs: &[StageSpec]) -> anyhow::Result<ExitCode> {
    let notify = stderr_notifier();
    let run = RunHandle::new(Some(notify.clone()));
    let mut config = RunConfig::new(Mode::Live);
    config.handle = run.clone();
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let interrupted = interrupted.clone();
        install_ctrlc(run.clone(), move || {
            interrupted.store(true, Ordering::SeqCst)
        })?;
    }
    let (specs, stages) = live_stages(args, specs, &run)?;
    // Headless, nobody watches a last frame: a source that ends ends the run.
    let src = open_source_ending(args, &run, &notify, OnEnd::End)?;
    let outs = outputs(args, &src)?;
    describe(&src, &specs);
    let sink = LiveSink::new(outs, None, args.frames, run.clone());
    let timer = stop_after(args.seconds, run.clone());
    let outcome = graph::run(Box::new(src), stages, Box::new(sink), config);
    let interrupted = interrupted.load(Ordering::SeqCst);
    if !interrupted && outcome.error.is_none() {
        errln!(
            "{}",
            headless_end(
                args,
                outcome.report.frames_out,
                timer.load(Ordering::SeqCst)
            )
        );
    }
    finish(args, outcome, None, interrupted)
}

/// Why a headless run that was not interrupted ended: whichever of --frames, --seconds and the
/// source's end came first.
fn headless_end(args: &LiveArgs, frames_out: u64, timer_fired: bool) -> String {
    match (args.frames, args.seconds) {
        (Some(n), _) if frames_out >= n => format!("ended: --frames {n} reached"),
        (_, Some(s)) if timer_fired => {
            format!("ended: --seconds {s} passed ({frames_out} frames)")
        }
        _ => format!("ended: the source ended after {frames_out} frames (--loop plays it again)"),
    }
}

/// `--seconds`: stops the run after that long, frames or not (a source that ended sends none).
/// The flag returned says whether the timer fired.
fn stop_after(seconds: Option<f64>, run: RunHandle) -> Arc<AtomicBool> {
    let fired = Arc::new(AtomicBool::new(false));
    if let Some(s) = seconds {
        let flag = fired.clone();
        let spawned = thread::Builder::new()
            .name("doppel-timer".into())
            .spawn(move || {
                thread::sleep(std::time::Duration::from_secs_f64(s));
                // The pipeline then ends, and with it the window.
                flag.store(true, Ordering::SeqCst);
                run.stop();
            });
        if spawned.is_err() {
            errln!("--seconds: cannot start the timer thread; stop the run with Ctrl-C");
        }
    }
    fired
}

/// Whether a display server is reachable at all (winit's own message is less direct).
fn display_available() -> bool {
    !cfg!(target_os = "linux")
        || std::env::var_os("DISPLAY").is_some()
        || std::env::var_os("WAYLAND_DISPLAY").is_some()
        || std::env::var_os("WAYLAND_SOCKET").is_some()
}

fn run_window(args: &LiveArgs, specs: &[StageSpec]) -> anyhow::Result<ExitCode> {
    if !display_available() {
        bail!(
            "cannot open a window: no display (neither DISPLAY nor WAYLAND_DISPLAY is set); run it \
             in a desktop session, under `xvfb-run -a`, or headless with --no-window and --vcam/--vmc"
        );
    }
    let event_loop = EventLoop::<UserEvent>::with_user_event()
        .build()
        .context("cannot open a window (winit event loop)")?;
    let proxy = Arc::new(Mutex::new(event_loop.create_proxy()));
    let send = {
        let proxy = proxy.clone();
        move |event: UserEvent| {
            if let Ok(p) = proxy.lock() {
                // The loop is gone only when the window closed; nothing to deliver then.
                let _ = p.send_event(event);
            }
        }
    };
    let send = Arc::new(send);

    let notify: Notifier = {
        let send = send.clone();
        Arc::new(move |notice: Notice| send(UserEvent::Notice(notice)))
    };
    let run = RunHandle::new(Some(notify.clone()));
    let mut config = RunConfig::new(Mode::Live);
    config.handle = run.clone();
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let interrupted = interrupted.clone();
        let send = send.clone();
        install_ctrlc(run.clone(), move || {
            interrupted.store(true, Ordering::SeqCst);
            send(UserEvent::Interrupted);
        })?;
    }
    let (specs, stages) = live_stages(args, specs, &run)?;
    let src = open_source(args, &run, &notify)?;
    let outs = outputs(args, &src)?;
    describe(&src, &specs);
    let size = window_size(args, &src)?;
    let slot = Arc::new(Slot::default());
    let shared_device = shares_pipeline_device();
    let link = {
        let send = send.clone();
        WindowLink {
            slot: slot.clone(),
            wake: Box::new(move || send(UserEvent::Frame)),
            shares_device: shared_device,
        }
    };
    let sink = LiveSink::new(outs, Some(link), args.frames, run.clone());
    let _ = stop_after(args.seconds, run.clone());
    let title = format!("doppel live: {}", src.info().name);
    let (ready_tx, ready_rx) = crossbeam_channel::bounded::<bool>(1);
    let pipeline = {
        let send = send.clone();
        thread::Builder::new()
            .name("doppel-live".into())
            .spawn(move || {
                // Frames flow once the window can show them.
                if ready_rx.recv() != Ok(true) {
                    return None;
                }
                let outcome = graph::run(Box::new(src), stages, Box::new(sink), config);
                send(UserEvent::Ended);
                Some(outcome)
            })
            .context("cannot start the pipeline thread")?
    };

    let mut app = App::new(
        WindowConfig {
            title,
            size,
            screenshot: args.screenshot.clone(),
            screenshot_at: args.screenshot_at,
            screenshot_dir: args.screenshot_dir.clone(),
            osd: !args.no_osd,
            mirror: args.mirror,
            shared_device,
        },
        slot,
        run.clone(),
        ready_tx,
    );
    let looped = event_loop.run_app(&mut app);
    // However the window ended, the pipeline ends too.
    run.stop();
    let outcome = pipeline
        .join()
        .map_err(|_| anyhow!("internal error: the pipeline thread panicked"))?;
    let display = app.finish();
    if let Some(e) = app.error.take() {
        if let Some(outcome) = &outcome {
            report::print(&outcome.report);
        }
        return Err(e);
    }
    looped.context("the window's event loop failed")?;
    let Some(outcome) = outcome else {
        if interrupted.load(Ordering::SeqCst) {
            return Ok(ExitCode::from(crate::signals::exit_status()));
        }
        bail!("the window closed before it showed a frame");
    };
    finish(
        args,
        outcome,
        Some(&display),
        interrupted.load(Ordering::SeqCst),
    )
}

fn finish(
    args: &LiveArgs,
    outcome: RunOutcome,
    display: Option<&DisplayReport>,
    interrupted: bool,
) -> anyhow::Result<ExitCode> {
    let report = &outcome.report;
    report::print(report);
    if let Some(d) = display {
        errln!(
            "window: {} frames presented at {:.1} fps, {} dropped ({} at the window); \
             capture-to-display latency p50 {:.1} ms, p99 {:.1} ms",
            d.presented,
            d.fps,
            d.dropped,
            d.dropped_at_window,
            d.latency_ms.p50,
            d.latency_ms.p99
        );
    }
    if let Some(path) = &args.stats_json {
        write_json(path, report, display)?;
    }
    if let Some(error) = outcome.error {
        return Err(anyhow::Error::new(error).context("the live run stopped on an error"));
    }
    if interrupted {
        errln!("interrupted");
        return Ok(ExitCode::from(crate::signals::exit_status()));
    }
    Ok(ExitCode::SUCCESS)
}

fn write_json(path: &Path, run: &RunReport, display: Option<&DisplayReport>) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(&LiveReport { run, display })
        .context("cannot serialise statistics")?;
    // The path was claimed at the start of the run.
    doppel_pipeline::output::OutputGuard::default()
        .write_claimed(path, text.as_bytes())
        .with_context(|| format!("cannot write statistics to {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(stages: &str, avatar: Option<&str>) -> LiveArgs {
        LiveArgs {
            source: Some("synthetic".into()),
            avatar: avatar.map(String::from),
            stages: Some(stages.into()),
            vcam: None,
            vcam_format: None,
            vcam_size: None,
            vcam_fps: None,
            vmc: None,
            no_window: false,
            frames: None,
            seconds: None,
            loop_source: false,
            stats_json: None,
            screenshot: None,
            screenshot_at: None,
            screenshot_dir: ".".into(),
            window_size: None,
            no_osd: false,
            mirror: false,
        }
    }

    fn names(specs: &[StageSpec]) -> Vec<String> {
        specs
            .iter()
            .map(|s| {
                let opts: Vec<String> = s.options.iter().map(|(k, v)| format!("{k}={v}")).collect();
                std::iter::once(s.name.clone())
                    .chain(opts)
                    .collect::<Vec<_>>()
                    .join(":")
            })
            .collect()
    }

    #[test]
    fn avatar_option_adds_the_avatar_stage() {
        let got = stage_specs(&args("", Some("builtin"))).unwrap();
        assert_eq!(names(&got), ["avatar:model=builtin"]);
        let got = stage_specs(&args(
            "track:max_faces=2,avatar:model=x.vrm:bg=blur",
            Some("a.vrm"),
        ))
        .unwrap();
        assert_eq!(
            names(&got),
            ["track:max_faces=2", "avatar:bg=blur:model=a.vrm"]
        );
        let got = stage_specs(&args("blur", None)).unwrap();
        assert_eq!(names(&got), ["blur"]);
    }

    #[test]
    fn sizes_and_inputs() {
        assert_eq!(parse_size("640x360", "--x").unwrap(), (640, 360));
        assert!(parse_size("640", "--x")
            .unwrap_err()
            .to_string()
            .contains("WxH"));
        assert!(parse_size("1x1", "--x").is_err());
        assert_eq!(live_input("synthetic"), "synthetic:frames=0");
        assert_eq!(
            live_input("synthetic:width=64"),
            "synthetic:width=64:frames=0"
        );
        assert_eq!(live_input("synthetic:frames=5"), "synthetic:frames=5");
        assert_eq!(live_input("clip.mp4"), "clip.mp4");
    }
}
