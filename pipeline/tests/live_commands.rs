//! Live commands through the run handle, end to end: real `track` and `stylize` stages (real ONNX
//! models) built for a live run, a running graph, and the answers the stages send back. Commands
//! reach only the stages that declared them; a command no stage takes is refused at once.

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use doppel_pipeline::graph::{run, RunConfig, RunHandle};
use doppel_pipeline::live::Notice;
use doppel_pipeline::sink::null::NullSink;
use doppel_pipeline::source::synthetic::{SyntheticConfig, SyntheticSource};
use doppel_pipeline::spec::parse_stages;
use doppel_pipeline::stages::{build_all, BuildContext};
use doppel_pipeline::{Mode, StageCommand};

fn answers(seen: &Mutex<Vec<Notice>>) -> Vec<(String, String)> {
    seen.lock()
        .unwrap()
        .iter()
        .filter_map(|n| match n {
            Notice::Reply { stage, answer, .. } => Some((stage.clone(), answer.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn next_and_calibrate_reach_the_stages_that_take_them() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let handle = RunHandle::new(Some(Arc::new(move |n| s.lock().unwrap().push(n))));
    let specs = parse_stages("track,stylize:skill=toon:size=32").unwrap();
    let ctx = BuildContext::new(Mode::Live).for_run(handle.clone());
    let stages = build_all(&specs, &ctx).unwrap();

    // Before any frame: who takes what is known.
    assert_eq!(
        handle.broadcast(StageCommand::Next),
        Ok(vec!["stylize".to_string()])
    );
    assert_eq!(
        handle.send_command("track", StageCommand::Calibrate),
        Ok(vec!["track".to_string()])
    );
    let refused = handle
        .send_command("stylize", StageCommand::Calibrate)
        .unwrap_err();
    assert!(refused.contains("'stylize' cannot calibrate"), "{refused}");

    let mut config = RunConfig::new(Mode::Live);
    config.handle = handle.clone();
    let source = Box::new(SyntheticSource::new(SyntheticConfig {
        width: 96,
        height: 64,
        fps: 30,
        frames: None,
        live: true,
    }));
    let running = thread::spawn(move || run(source, stages, Box::new(NullSink::default()), config));
    let deadline = Instant::now() + Duration::from_secs(60);
    while answers(&seen).len() < 2 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    handle.stop();
    let outcome = running.join().unwrap();
    assert!(outcome.error.is_none(), "{:?}", outcome.error);

    let got = answers(&seen);
    assert_eq!(got.len(), 2, "{got:?}");
    let stylize = got.iter().find(|(s, _)| s == "stylize").unwrap();
    // The shipped skills are listed by name; toon was on, so Next moved to another one.
    assert!(stylize.1.starts_with("skill '"), "{stylize:?}");
    assert!(!stylize.1.starts_with("skill 'toon'"), "{stylize:?}");
    let track = got.iter().find(|(s, _)| s == "track").unwrap();
    assert!(track.1.starts_with("calibrating"), "{track:?}");
}
