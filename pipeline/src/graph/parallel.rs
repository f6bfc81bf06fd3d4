//! Analysis stages side by side on one frame. In a live run the latency a person sees is the sum of
//! the stages a frame goes through; `track` and `hands` (or `pose`, `segment`) each only read the
//! pixels and write their own part of the meta, so nothing orders them. [`group`] puts consecutive
//! such stages into one [`Parallel`] node: the first runs on the node's thread, the others on
//! threads of their own, each on its own copy of the frame, and their meta is merged into the
//! first's result. `track,hands` then costs the slower of the two, not their sum.
//!
//! Offline runs are not grouped: there every stage already works on another frame at the same time
//! (a pipeline), and the copies would only cost.

use std::thread::JoinHandle;

use crossbeam_channel::{bounded, Receiver, Sender};

use crate::error::{Error, Result};
use crate::frame::{Frame, FrameMeta};
use crate::stage::{MetaSet, Stage};

/// One analysis stage on a thread of its own.
struct Worker {
    name: String,
    provides: MetaSet,
    tx: Option<Sender<Frame>>,
    rx: Receiver<Result<Frame>>,
    thread: Option<JoinHandle<()>>,
}

/// Consecutive analysis stages run side by side on each frame.
pub struct Parallel {
    name: String,
    first: Box<dyn Stage>,
    workers: Vec<Worker>,
}

/// Copies `set`'s parts of `from` into `to` (what a stage that provides `set` wrote).
pub fn take_meta(to: &mut FrameMeta, from: FrameMeta, set: MetaSet) {
    if set.intersects(MetaSet::FACES) {
        to.faces = from.faces;
        to.calibration = from.calibration;
    }
    if set.intersects(MetaSet::BODIES) {
        to.bodies = from.bodies;
    }
    if set.intersects(MetaSet::HANDS) {
        to.hands = from.hands;
    }
    if set.intersects(MetaSet::MASK) {
        to.mask = from.mask;
    }
}

impl Parallel {
    /// `stages` (at least two, each [`Stage::analysis`] with disjoint meta) side by side.
    ///
    /// # Errors
    /// [`Error::Internal`] when a thread cannot be started.
    pub fn new(mut stages: Vec<Box<dyn Stage>>) -> Result<Self> {
        if stages.is_empty() {
            return Err(Error::Internal("an empty parallel group".to_string()));
        }
        let first = stages.remove(0);
        let mut names = vec![first.name().to_string()];
        let mut workers = Vec::new();
        for mut stage in stages {
            let name = stage.name().to_string();
            names.push(name.clone());
            let provides = stage.analysis().unwrap_or(MetaSet::NONE);
            let (tx, frames) = bounded::<Frame>(1);
            let (results, rx) = bounded::<Result<Frame>>(1);
            let thread = std::thread::Builder::new()
                .name(format!("doppel-{name}"))
                .spawn(move || {
                    for frame in frames.iter() {
                        if results.send(stage.process(frame)).is_err() {
                            break;
                        }
                    }
                })
                .map_err(|e| Error::Internal(format!("{name} thread: {e}")))?;
            workers.push(Worker {
                name,
                provides,
                tx: Some(tx),
                rx,
                thread: Some(thread),
            });
        }
        Ok(Self {
            name: names.join("+"),
            first,
            workers,
        })
    }
}

impl Stage for Parallel {
    fn name(&self) -> &str {
        &self.name
    }

    fn process(&mut self, mut frame: Frame) -> Result<Frame> {
        // Every analysis stage reads the pixels on the CPU: bring them there once, before the
        // copies, rather than once per copy.
        frame.pixels.image()?;
        for w in &self.workers {
            let copy = Frame {
                meta: FrameMeta::default(),
                ..frame.clone()
            };
            if let Some(tx) = &w.tx {
                tx.send(copy)
                    .map_err(|_| Error::Internal(format!("the {} thread ended", w.name)))?;
            }
        }
        let first = self.first.process(frame);
        // Collect every worker's result before returning, so none is left behind for the next
        // frame, even when the first stage failed.
        let mut merged = Vec::with_capacity(self.workers.len());
        for w in &self.workers {
            let done =
                w.rx.recv()
                    .map_err(|_| Error::Internal(format!("the {} thread ended", w.name)))
                    .and_then(|r| r);
            merged.push((w.provides, done));
        }
        let mut out = first?;
        for (provides, done) in merged {
            let mut theirs = done?;
            take_meta(&mut out.meta, std::mem::take(&mut theirs.meta), provides);
            theirs.pixels.recycle();
        }
        Ok(out)
    }

    fn warm_up(&mut self, width: u32, height: u32) -> Result<()> {
        // The graph groups stages after warming each up; the workers' stages are theirs now.
        self.first.warm_up(width, height)
    }
}

impl Drop for Parallel {
    fn drop(&mut self) {
        for w in &mut self.workers {
            w.tx = None;
            if let Some(t) = w.thread.take() {
                let _ = t.join();
            }
        }
    }
}

/// `stages` with each run of two or more consecutive analysis stages (disjoint meta, see
/// [`Stage::analysis`]) made one [`Parallel`] node.
///
/// # Errors
/// [`Error::Internal`] when a thread cannot be started.
pub fn group(stages: Vec<Box<dyn Stage>>) -> Result<Vec<Box<dyn Stage>>> {
    let mut out: Vec<Box<dyn Stage>> = Vec::new();
    let mut run: Vec<Box<dyn Stage>> = Vec::new();
    let mut seen = MetaSet::NONE;
    let flush = |run: &mut Vec<Box<dyn Stage>>, out: &mut Vec<Box<dyn Stage>>| -> Result<()> {
        match run.len() {
            0 => {}
            1 => out.append(run),
            _ => out.push(Box::new(Parallel::new(std::mem::take(run))?)),
        }
        Ok(())
    };
    for stage in stages {
        match stage.analysis() {
            Some(set) if !set.intersects(seen) => {
                seen = seen | set;
                run.push(stage);
            }
            Some(set) => {
                flush(&mut run, &mut out)?;
                seen = set;
                run.push(stage);
            }
            None => {
                flush(&mut run, &mut out)?;
                seen = MetaSet::NONE;
                out.push(stage);
            }
        }
    }
    flush(&mut run, &mut out)?;
    Ok(out)
}
