//! Runs a pipeline: the source, every stage and the sink each on its own thread, joined by crossbeam
//! bounded channels.
//!
//! - **Offline**: blocking sends, every frame processed in order; frames in == frames out.
//! - **Live**: frames are admitted at the source, at most [`RunConfig::max_in_flight`] at a time
//!   (MediaPipe's FlowLimiter): the sink hands a token back for each frame it finished, and a frame
//!   the source produces while no token is free is dropped there and counted. So latency never piles
//!   up, and no stage works on a frame that will not reach the output (before, each link dropped on
//!   its own, and `track` kept tracking frames a slower `stylize` then threw away). A file source is
//!   paced at its own frame rate.
//! - **Stages with workers** ([`crate::stage::Pipelined`], e.g. `stylize` with `workers=2`): the
//!   node starts frames while fewer than the stage's depth are in flight (waiting for a new frame
//!   or a finished one at once) and passes them on in order; each extra worker adds one admission
//!   token, or it would wait for frames the source does not admit.
//!
//! Any node's error halts the run: the source stops reading, frames already in flight still reach the
//! sink, and the sink is always finished so its output stays valid. The same holds for a stop through
//! the run's [`RunHandle`] (Ctrl-C, a timer, the window closing).

pub mod handle;
pub mod newest;
pub mod parallel;
pub mod sketch;
pub mod stats;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::bounded;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::frame::{Frame, StageTiming, Transfers};
use crate::sink::{PixelNeed, Sink, SinkSummary};
use crate::source::{Source, SourceInfo};
use crate::stage::{Mode, Pipelined, Stage};
pub use handle::{Inbox, RunHandle};
pub use sketch::Sketch;
pub use stats::{NodeKind, NodeStats, Recorder, Summary};

/// Called from the sink thread after each written frame with the number written so far.
pub type ProgressFn = Arc<dyn Fn(u64) + Send + Sync>;

/// How to run a pipeline.
#[derive(Clone)]
pub struct RunConfig {
    pub mode: Mode,
    /// Stops the run from any thread, and carries live commands to the stages.
    pub handle: RunHandle,
    /// Channel capacity between nodes in offline mode.
    pub queue: usize,
    /// Live mode: frames admitted at the source and not yet finished by the sink, at most. Two
    /// lets the stages overlap (one frame in the slow stage, the next in the one before it) while
    /// a frame waits behind at most one other.
    pub max_in_flight: usize,
    pub progress: Option<ProgressFn>,
}

impl RunConfig {
    pub fn new(mode: Mode) -> Self {
        Self {
            mode,
            handle: RunHandle::default(),
            queue: 4,
            max_in_flight: 2,
            progress: None,
        }
    }
}

/// What a run did. Written as JSON by `--stats-json`.
#[derive(Debug, Serialize)]
pub struct RunReport {
    pub mode: Mode,
    pub source: SourceInfo,
    /// Frames the source delivered.
    pub frames_in: u64,
    /// Frames the sink wrote.
    pub frames_out: u64,
    /// Frames dropped anywhere (live mode only).
    pub dropped: u64,
    pub wall_s: f64,
    /// Source, stages in order, sink.
    pub nodes: Vec<NodeStats>,
    /// Capture-to-output latency in milliseconds.
    pub latency_ms: Summary,
    pub interrupted: bool,
    pub output: Option<SinkSummary>,
    /// The error that ended the run with its causes, if any (its text; the value is in
    /// [`RunOutcome::error`]).
    pub error: Option<String>,
}

/// A finished run: the report, and the first error in pipeline order if the run failed.
#[derive(Debug)]
pub struct RunOutcome {
    pub report: RunReport,
    pub error: Option<Error>,
}

impl RunOutcome {
    /// The report, or the error that ended the run.
    pub fn into_result(self) -> Result<RunReport> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.report),
        }
    }
}

/// Shared between the node threads: the first error of each node and the halt flag.
struct Control {
    halt: AtomicBool,
    handle: RunHandle,
    /// Slot 0 = source, 1..=n = stages, n+1 = sink.
    errors: Mutex<Vec<Option<Error>>>,
}

impl Control {
    fn halted(&self) -> bool {
        self.halt.load(Ordering::Relaxed) || self.handle.stopped()
    }

    /// Records a node's first error and halts the run.
    fn fail(&self, slot: usize, e: Error) {
        self.halt.store(true, Ordering::Relaxed);
        if let Ok(mut errors) = self.errors.lock() {
            if let Some(entry) = errors.get_mut(slot) {
                entry.get_or_insert(e);
            }
        }
    }

    /// The first error in pipeline order.
    fn first_error(&self) -> Option<Error> {
        self.errors
            .lock()
            .ok()
            .and_then(|mut errors| errors.iter_mut().find_map(Option::take))
    }
}

/// One stage's thread: what it does with each frame a stage returns.
struct StageNode<'a> {
    name: String,
    slot: usize,
    ctl: &'a Control,
    out: &'a crossbeam_channel::Sender<Frame>,
    rec: Recorder,
}

impl StageNode<'_> {
    /// Records and passes on a processed frame (started at `t0`, `before` its transfers then), or
    /// fails the run; false when the run goes no further.
    fn done(&mut self, result: Result<Frame>, t0: Instant, seq: u64, before: Transfers) -> bool {
        match result {
            Ok(mut frame) => {
                let ms = ms_since(t0);
                self.rec.record(ms);
                self.rec.transfers(frame.pixels.transfers() - before);
                frame.meta.timings.push(StageTiming {
                    stage: self.name.clone(),
                    ms,
                });
                self.out.send(frame).is_ok()
            }
            Err(e) => {
                // The one place that says which stage and frame: stages return their own errors
                // unwrapped.
                let stage = self.name.clone();
                let source = Box::new(e);
                self.ctl
                    .fail(self.slot, Error::Stage { stage, seq, source });
                false
            }
        }
    }

    /// A [`Pipelined`] stage: starts frames while fewer than its depth are in flight, waiting for
    /// a new frame or a finished one, and passes finished ones on in order.
    fn run_pipelined(&mut self, p: &mut dyn Pipelined, input: &crossbeam_channel::Receiver<Frame>) {
        let finished = p.finished();
        let closed = crossbeam_channel::never::<Frame>();
        // (start time, seq, transfers) of the frames in flight, oldest first
        let mut started = std::collections::VecDeque::new();
        let mut open = true;
        loop {
            while let Some(result) = p.try_finish() {
                let Some((t0, seq, before)) = started.pop_front() else {
                    break;
                };
                if !self.done(result, t0, seq, before) {
                    return;
                }
            }
            if !open && started.is_empty() {
                return;
            }
            let frames = if open && started.len() < p.depth() {
                input
            } else {
                &closed
            };
            crossbeam_channel::select! {
                recv(frames) -> msg => match msg {
                    Ok(frame) => {
                        let (t0, seq, before) = (Instant::now(), frame.seq, frame.pixels.transfers());
                        if let Err(e) = p.start(frame) {
                            self.done(Err(e), t0, seq, before);
                            return;
                        }
                        started.push_back((t0, seq, before));
                    }
                    Err(_) => open = false,
                },
                recv(finished) -> _ => {}
            }
        }
    }
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Runs `source → stages → sink` to the end of the source, an error, or a stop through
/// `config.handle`.
pub fn run(
    mut source: Box<dyn Source>,
    mut stages: Vec<Box<dyn Stage>>,
    mut sink: Box<dyn Sink>,
    config: RunConfig,
) -> RunOutcome {
    let info = source.info().clone();
    let control = Arc::new(Control {
        halt: AtomicBool::new(false),
        handle: config.handle.clone(),
        errors: Mutex::new((0..stages.len() + 2).map(|_| None).collect()),
    });
    let started = Instant::now();
    let mode = config.mode;
    let pace = mode == Mode::Live && !info.live;

    let mut handles: Vec<(String, NodeKind, thread::JoinHandle<Recorder>)> = Vec::new();

    // Warm the stages up before the first frame is captured (a live source starts at once).
    for (i, stage) in stages.iter_mut().enumerate() {
        if let Err(e) = stage.warm_up(info.width, info.height) {
            let stage = stage.name().to_string();
            control.fail(
                i + 1,
                Error::WarmUp {
                    stage,
                    source: Box::new(e),
                },
            );
            break;
        }
    }

    // Live: consecutive analysis stages side by side (after their warm-up, on this thread).
    let stages = match mode {
        Mode::Live => match parallel::group(stages) {
            Ok(grouped) => grouped,
            Err(e) => {
                control.fail(1, e);
                Vec::new()
            }
        },
        Mode::Offline => stages,
    };
    let sink_slot = stages.len() + 1;

    // Live admission: one token per frame allowed in flight; the sink gives tokens back. A stage
    // with several workers holds that many frames: one more token for each extra worker, or
    // they would wait for frames the source may not admit.
    let mut stages = stages;
    let extra: usize = stages
        .iter_mut()
        .map(|s| s.pipelined().map_or(0, |p| p.depth().saturating_sub(1)))
        .sum();
    let capacity = match mode {
        Mode::Offline => config.queue.max(1 + extra),
        Mode::Live => config.max_in_flight.max(1) + extra,
    };
    let tokens = (mode == Mode::Live).then(|| {
        let (give, take) = bounded::<()>(capacity);
        for _ in 0..capacity {
            let _ = give.try_send(());
        }
        (give, take)
    });
    let admit = tokens.as_ref().map(|(_, take)| take.clone());
    let give_back = tokens.map(|(give, _)| give);

    // Source.
    // Links between nodes are blocking bounded channels; in live mode they never block for long,
    // as at most `capacity` frames exist between source and sink.
    let (link, mut rx) = bounded::<Frame>(capacity.max(1));
    {
        let ctl = control.clone();
        let name = info.name.clone();
        let handle = thread::Builder::new()
            .name("doppel-source".into())
            .spawn(move || {
                let mut rec = Recorder::default();
                let mut first_pts: Option<f64> = None;
                while !ctl.halted() {
                    let t0 = Instant::now();
                    match source.next_frame() {
                        Ok(Some(frame)) => {
                            rec.record(ms_since(t0));
                            rec.transfers(frame.pixels.transfers());
                            if pace {
                                let at = frame.pts.seconds();
                                let first = *first_pts.get_or_insert(at);
                                let due = started + Duration::from_secs_f64((at - first).max(0.0));
                                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                                    thread::sleep(wait);
                                }
                            }
                            // Live: no free token means the pipeline is full; this frame is
                            // dropped here, before any stage works on it.
                            if admit.as_ref().is_some_and(|take| take.try_recv().is_err()) {
                                rec.drop_one();
                                frame.pixels.recycle();
                                continue;
                            }
                            if link.send(frame).is_err() {
                                break;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            ctl.fail(0, e);
                            break;
                        }
                    }
                }
                rec
            });
        match handle {
            Ok(h) => handles.push((name, NodeKind::Source, h)),
            Err(e) => control.fail(0, Error::Internal(format!("source thread: {e}"))),
        }
    }

    // Stages.
    for (i, mut stage) in stages.into_iter().enumerate() {
        let (out, next_rx) = bounded::<Frame>(capacity.max(1));
        let input = std::mem::replace(&mut rx, next_rx);
        let ctl = control.clone();
        let name = stage.name().to_string();
        let handle = thread::Builder::new()
            .name(format!("doppel-{name}"))
            .spawn(move || {
                let mut node = StageNode {
                    name: stage.name().to_string(),
                    slot: i + 1,
                    ctl: &ctl,
                    out: &out,
                    rec: Recorder::default(),
                };
                match stage.pipelined() {
                    Some(p) => node.run_pipelined(p, &input),
                    None => {
                        for frame in input.iter() {
                            let (t0, seq, before) =
                                (Instant::now(), frame.seq, frame.pixels.transfers());
                            if !node.done(stage.process(frame), t0, seq, before) {
                                break;
                            }
                        }
                    }
                }
                node.rec
            });
        match handle {
            Ok(h) => handles.push((name, NodeKind::Stage, h)),
            Err(e) => control.fail(i + 1, Error::Internal(format!("stage thread: {e}"))),
        }
    }

    // Sink.
    let latency: Arc<Mutex<Sketch>> = Arc::new(Mutex::new(Sketch::default()));
    let summary: Arc<Mutex<Option<SinkSummary>>> = Arc::new(Mutex::new(None));
    {
        let ctl = control.clone();
        let progress = config.progress.clone();
        let latency = latency.clone();
        let summary = summary.clone();
        let handle = thread::Builder::new()
            .name("doppel-sink".into())
            .spawn(move || {
                let mut rec = Recorder::default();
                let mut lat = Sketch::default();
                let mut written = 0u64;
                for mut frame in rx.iter() {
                    let captured = frame.captured;
                    let t0 = Instant::now();
                    // The sink's readback is charged to the sink (the sink itself may keep the
                    // frame, so the transfer happens here, before it is handed over).
                    let before = frame.pixels.transfers();
                    let ready = match (sink.pixels(), frame.pixels.gpu_image()) {
                        (PixelNeed::Cpu, _) => frame.pixels.image().map(|_| ()),
                        (PixelNeed::None, Some(gpu)) => gpu.wait(),
                        _ => Ok(()),
                    };
                    if let Err(e) = ready {
                        ctl.fail(sink_slot, e);
                        break;
                    }
                    rec.transfers(frame.pixels.transfers() - before);
                    if let Err(e) = sink.write_owned(frame) {
                        ctl.fail(sink_slot, e);
                        break;
                    }
                    rec.record(ms_since(t0));
                    lat.record(ms_since(captured));
                    written += 1;
                    if let Some(give) = &give_back {
                        let _ = give.try_send(());
                    }
                    if let Some(p) = &progress {
                        p(written);
                    }
                }
                // Unblock upstream senders before finishing (finishing a video can take a while).
                drop(rx);
                match sink.finish() {
                    Ok(s) => {
                        if let Ok(mut slot) = summary.lock() {
                            *slot = Some(s);
                        }
                    }
                    Err(e) => ctl.fail(sink_slot, e),
                }
                if let Ok(mut l) = latency.lock() {
                    *l = lat;
                }
                rec
            });
        match handle {
            Ok(h) => handles.push(("sink".to_string(), NodeKind::Sink, h)),
            Err(e) => control.fail(sink_slot, Error::Internal(format!("sink thread: {e}"))),
        }
    }

    let mut recorders = Vec::new();
    for (slot, (name, kind, handle)) in handles.into_iter().enumerate() {
        match handle.join() {
            Ok(rec) => recorders.push((name, kind, rec)),
            Err(_) => {
                control.fail(slot, Error::Internal(name.clone()));
                recorders.push((name, kind, Recorder::default()));
            }
        }
    }
    let wall_s = started.elapsed().as_secs_f64();
    let nodes: Vec<NodeStats> = recorders
        .into_iter()
        .map(|(name, kind, rec)| rec.finish(name, kind, wall_s))
        .collect();

    let error = control.first_error();
    let frames_in = nodes
        .first()
        .filter(|n| n.kind == NodeKind::Source)
        .map_or(0, |n| n.frames);
    let frames_out = nodes
        .last()
        .filter(|n| n.kind == NodeKind::Sink)
        .map_or(0, |n| n.frames);
    let report = RunReport {
        mode,
        source: info,
        frames_in,
        frames_out,
        dropped: nodes.iter().map(|n| n.dropped).sum(),
        wall_s,
        nodes,
        latency_ms: latency.lock().map(|l| l.summary()).unwrap_or_default(),
        interrupted: config.handle.stopped(),
        output: summary.lock().ok().and_then(|mut s| s.take()),
        error: error.as_ref().map(Error::chain_text),
    };
    RunOutcome { report, error }
}
