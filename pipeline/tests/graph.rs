//! The graph's two modes with real threads and channels: offline is lossless and ordered, live drops
//! stale frames instead of queueing them, errors and Ctrl-C leave a finished sink.

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use doppel_pipeline::graph::{run, NodeKind, RunConfig};
use doppel_pipeline::sink::{Sink, SinkSummary};
use doppel_pipeline::source::synthetic::{SyntheticConfig, SyntheticSource};
use doppel_pipeline::stages::passthrough::Passthrough;
use doppel_pipeline::{Error, Frame, Mode, Result, Stage};

/// Records what reaches it; `finished` tells whether `finish` ran.
#[derive(Clone, Default)]
struct Collect {
    seqs: Arc<Mutex<Vec<u64>>>,
    finished: Arc<Mutex<bool>>,
}

impl Sink for Collect {
    fn write(&mut self, frame: &Frame) -> Result<()> {
        self.seqs.lock().unwrap().push(frame.seq);
        Ok(())
    }

    fn finish(&mut self) -> Result<SinkSummary> {
        *self.finished.lock().unwrap() = true;
        Ok(SinkSummary {
            frames: self.seqs.lock().unwrap().len() as u64,
            target: "collect".into(),
        })
    }
}

/// Sleeps per frame (a slow model) and fails on frame `fail_at` if set.
struct Slow {
    delay: Duration,
    fail_at: Option<u64>,
}

impl Stage for Slow {
    fn name(&self) -> &str {
        "slow"
    }

    fn process(&mut self, frame: Frame) -> Result<Frame> {
        thread::sleep(self.delay);
        if self.fail_at == Some(frame.seq) {
            // As a real stage does: its own error, without its name or the frame number.
            return Err(Error::Gpu("injected failure".into()));
        }
        Ok(frame)
    }
}

fn synthetic(frames: u64, fps: u32, live: bool) -> Box<SyntheticSource> {
    Box::new(SyntheticSource::new(SyntheticConfig {
        width: 64,
        height: 48,
        fps,
        frames: Some(frames),
        live,
    }))
}

#[test]
fn offline_is_lossless_and_ordered() {
    let sink = Collect::default();
    let stages: Vec<Box<dyn Stage>> = vec![
        Box::new(Passthrough),
        Box::new(Slow {
            delay: Duration::from_millis(1),
            fail_at: None,
        }),
        Box::new(Passthrough),
    ];
    let outcome = run(
        synthetic(60, 30, false),
        stages,
        Box::new(sink.clone()),
        RunConfig::new(Mode::Offline),
    );
    let report = outcome.into_result().unwrap();
    assert_eq!(report.frames_in, 60);
    assert_eq!(report.frames_out, 60);
    assert_eq!(report.dropped, 0);
    assert_eq!(*sink.seqs.lock().unwrap(), (0..60).collect::<Vec<_>>());
    assert!(*sink.finished.lock().unwrap());
    let kinds: Vec<NodeKind> = report.nodes.iter().map(|n| n.kind).collect();
    assert_eq!(
        kinds,
        [
            NodeKind::Source,
            NodeKind::Stage,
            NodeKind::Stage,
            NodeKind::Stage,
            NodeKind::Sink
        ]
    );
    let slow = &report.nodes[2];
    assert_eq!(slow.name, "slow");
    assert!(slow.p50_ms >= 1.0, "slow stage p50 {} ms", slow.p50_ms);
}

/// Under overload every stage works only on frames that reach the output: frames are dropped at
/// the source (admission), never between stages. Before, a fast stage in front of a slow one
/// processed every frame and the slow one's input link threw most of them away.
#[test]
fn live_stages_work_only_on_frames_that_reach_the_output() {
    let sink = Collect::default();
    let stages: Vec<Box<dyn Stage>> = vec![
        Box::new(Slow {
            delay: Duration::from_millis(2),
            fail_at: None,
        }),
        Box::new(Slow {
            delay: Duration::from_millis(12),
            fail_at: None,
        }),
    ];
    // 300 frames paced at 200 fps: 5 ms apart, the slow stage needs 12.
    let report = run(
        synthetic(300, 200, false),
        stages,
        Box::new(sink.clone()),
        RunConfig::new(Mode::Live),
    )
    .into_result()
    .unwrap();
    let out = report.frames_out as f64;
    assert!(report.frames_out > 20, "{report:?}");
    assert!(
        report.nodes[0].dropped > 100,
        "the source drops: {:?}",
        report.nodes[0]
    );
    for stage in &report.nodes[1..report.nodes.len() - 1] {
        let ratio = stage.frames as f64 / out;
        eprintln!(
            "{}: {} frames processed / {} output = {ratio:.3}",
            stage.name, stage.frames, report.frames_out
        );
        assert!(
            ratio <= 1.1,
            "stage {} processed {} for {} output",
            stage.name,
            stage.frames,
            report.frames_out
        );
        assert_eq!(stage.dropped, 0, "no stage drops: {stage:?}");
    }
    assert_eq!(report.frames_out + report.dropped, 300, "{report:?}");
}

#[test]
fn live_drops_stale_frames_instead_of_queueing() {
    // The source delivers 200 frames as fast as it can (a live device); the stage needs 5 ms each.
    // Offline this would queue; live, the newest frame wins and the rest are counted as dropped.
    let sink = Collect::default();
    let stages: Vec<Box<dyn Stage>> = vec![Box::new(Slow {
        delay: Duration::from_millis(5),
        fail_at: None,
    })];
    let outcome = run(
        synthetic(200, 1000, true),
        stages,
        Box::new(sink.clone()),
        RunConfig::new(Mode::Live),
    );
    let report = outcome.into_result().unwrap();
    let seqs = sink.seqs.lock().unwrap().clone();
    assert_eq!(report.frames_in, 200);
    assert!(report.dropped > 0, "no frame dropped");
    assert_eq!(report.frames_out + report.dropped, 200, "{report:?}");
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "live output out of order"
    );
    // Latency stays bounded by a few stage times, not by the number of frames produced.
    assert!(
        report.latency_ms.p50 < 100.0,
        "latency piled up: {:?}",
        report.latency_ms
    );
}

#[test]
fn stage_error_stops_the_run_and_finishes_the_sink() {
    let sink = Collect::default();
    let stages: Vec<Box<dyn Stage>> = vec![Box::new(Slow {
        delay: Duration::ZERO,
        fail_at: Some(10),
    })];
    let outcome = run(
        synthetic(1000, 30, false),
        stages,
        Box::new(sink.clone()),
        RunConfig::new(Mode::Offline),
    );
    let error = outcome.error.expect("the run must fail");
    // The graph says the stage and frame once and keeps the stage's error as the source.
    assert_eq!(error.to_string(), "stage 'slow' on frame 10");
    let source = std::error::Error::source(&error).expect("the stage's error is the source");
    assert_eq!(source.to_string(), "GPU: injected failure");
    assert!(matches!(&error, Error::Stage { source, .. } if matches!(**source, Error::Gpu(_))));
    let text = outcome.report.error.as_deref().unwrap_or_default();
    assert_eq!(text, "stage 'slow' on frame 10: GPU: injected failure");
    assert_eq!(text.matches("frame 10").count(), 1, "{text}");
    assert_eq!(*sink.seqs.lock().unwrap(), (0..10).collect::<Vec<_>>());
    assert!(*sink.finished.lock().unwrap());
    assert_eq!(outcome.report.frames_out, 10);
}

#[test]
fn a_stop_through_the_run_handle_ends_the_run_cleanly() {
    let sink = Collect::default();
    let config = RunConfig::new(Mode::Offline);
    let stop = config.handle.clone();
    let stages: Vec<Box<dyn Stage>> = vec![Box::new(Slow {
        delay: Duration::from_millis(2),
        fail_at: None,
    })];
    let handle = thread::spawn({
        let sink = sink.clone();
        move || {
            run(
                synthetic(100_000, 30, false),
                stages,
                Box::new(sink),
                config,
            )
        }
    });
    thread::sleep(Duration::from_millis(100));
    stop.stop();
    let outcome = handle.join().unwrap();
    assert!(outcome.error.is_none());
    assert!(outcome.report.interrupted);
    let seqs = sink.seqs.lock().unwrap().clone();
    assert!(!seqs.is_empty() && seqs.len() < 100_000);
    // Every frame the source delivered was still written, in order.
    assert_eq!(outcome.report.frames_in, outcome.report.frames_out);
    assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>());
    assert!(*sink.finished.lock().unwrap());
}

/// Notes the size it was warmed up for and whether any frame came before; fails the warm-up when
/// asked to.
struct Warm {
    warmed: Arc<Mutex<Option<(u32, u32)>>>,
    frame_before_warm_up: Arc<Mutex<bool>>,
    fail: bool,
}

impl Stage for Warm {
    fn name(&self) -> &str {
        "warm"
    }

    fn process(&mut self, frame: Frame) -> Result<Frame> {
        if self.warmed.lock().unwrap().is_none() {
            *self.frame_before_warm_up.lock().unwrap() = true;
        }
        Ok(frame)
    }

    fn warm_up(&mut self, width: u32, height: u32) -> Result<()> {
        *self.warmed.lock().unwrap() = Some((width, height));
        if self.fail {
            return Err(Error::Gpu("injected warm-up failure".into()));
        }
        Ok(())
    }
}

#[test]
fn stages_warm_up_at_the_source_size_before_the_first_frame() {
    let warmed = Arc::new(Mutex::new(None));
    let early = Arc::new(Mutex::new(false));
    let stage = Warm {
        warmed: warmed.clone(),
        frame_before_warm_up: early.clone(),
        fail: false,
    };
    let report = run(
        synthetic(5, 30, false),
        vec![Box::new(stage)],
        Box::new(Collect::default()),
        RunConfig::new(Mode::Offline),
    )
    .into_result()
    .unwrap();
    assert_eq!(report.frames_out, 5);
    assert_eq!(*warmed.lock().unwrap(), Some((64, 48)));
    assert!(
        !*early.lock().unwrap(),
        "a frame arrived before the warm-up"
    );

    // A failed warm-up is the stage's error and nothing runs.
    let sink = Collect::default();
    let failing = Warm {
        warmed: Arc::new(Mutex::new(None)),
        frame_before_warm_up: Arc::new(Mutex::new(false)),
        fail: true,
    };
    let err = run(
        synthetic(5, 30, true),
        vec![Box::new(failing)],
        Box::new(sink.clone()),
        RunConfig::new(Mode::Live),
    )
    .into_result()
    .unwrap_err();
    assert_eq!(err.to_string(), "stage 'warm' while warming up");
    assert_eq!(
        err.chain_text(),
        "stage 'warm' while warming up: GPU: injected warm-up failure"
    );
    assert!(sink.seqs.lock().unwrap().is_empty());
    assert!(*sink.finished.lock().unwrap());
}
