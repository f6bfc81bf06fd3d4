//! Stylizer workers: the style model run on several frames at once, each worker on its own thread
//! with its own sessions (one intra-op thread each unless the stage's `threads` says otherwise).
//!
//! Why: a small model does not keep two cores busy through intra-op threads alone. The toon
//! skill at 144 px (`arbitrary_transform_dyn.onnx`, 640x360 frames, 2 cores, `doppel process`):
//! 18.4 ms a frame with 2 intra-op threads, 25.2 ms with 1, so two one-thread workers side by side
//! give a frame every ~12.6 ms. The stage keeps what must see the frames in order (colours,
//! temporal smoothing, upsampling); see [`crate::stage::Pipelined`].

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{bounded, unbounded, Receiver, Sender};
use image::RgbaImage;

use std::path::PathBuf;

use super::{Style, StyleWeights, Stylizer, StylizerConfig};
use crate::error::{Error, Result};
use crate::infer::Adapter;

/// A stylized frame at the working size, with the input it came from.
pub type Styled = (RgbaImage, Result<RgbaImage>);

enum Job {
    Frame {
        small: RgbaImage,
        reply: Sender<Styled>,
    },
    Style {
        style: Portable,
        reply: Sender<Result<()>>,
    },
}

/// A style as it crosses to a worker's thread: an adapter goes as its file, and each worker loads
/// its own copy (`ort`'s adapter handle cannot be sent between threads). Its sessions stay.
enum Portable {
    Weights(StyleWeights),
    Vector(Vec<f32>),
    Model(PathBuf),
    Adapter { model: PathBuf, file: PathBuf },
}

impl Portable {
    fn of(style: &Style) -> Self {
        match style {
            Style::Weights(w) => Self::Weights(w.clone()),
            Style::Vector(v) => Self::Vector(v.clone()),
            Style::Model(m) => Self::Model(m.clone()),
            Style::Adapter { model, adapter } => Self::Adapter {
                model: model.clone(),
                file: adapter.source().to_path_buf(),
            },
        }
    }

    fn style(self) -> Result<Style> {
        Ok(match self {
            Self::Weights(w) => Style::Weights(w),
            Self::Vector(v) => Style::Vector(v),
            Self::Model(m) => Style::Model(m),
            Self::Adapter { model, file } => Style::Adapter {
                model,
                adapter: Adapter::from_file(file)?,
            },
        })
    }
}

struct Worker {
    jobs: Option<Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    /// Frames handed to it and not answered yet.
    busy: Arc<AtomicUsize>,
}

/// Stylizers on their own threads; a frame goes to the first idle one.
pub struct StylizerPool {
    workers: Vec<Worker>,
    finished: Receiver<()>,
}

impl StylizerPool {
    /// Builds a stylizer for each of `configs`, each with `style` set (sessions are built here,
    /// so errors surface before the first frame), and starts their threads. The first idle worker
    /// in this order takes each frame: give the first the most threads, so that a frame that
    /// arrives while the others are idle runs as fast as one stylizer alone.
    ///
    /// # Errors
    /// As [`Stylizer::set_style`]; [`Error::Internal`] when a thread cannot start.
    pub fn new(configs: &[StylizerConfig], style: &Style) -> Result<Self> {
        let (ping, finished) = unbounded::<()>();
        let mut workers = Vec::with_capacity(configs.len());
        for (i, config) in configs.iter().enumerate() {
            let mut stylizer = Stylizer::new(config.clone());
            stylizer.set_style(style)?;
            let busy = Arc::new(AtomicUsize::new(0));
            let (jobs, inbox) = unbounded::<Job>();
            let ping = ping.clone();
            let thread = std::thread::Builder::new()
                .name(format!("doppel-stylize-{i}"))
                .spawn({
                    let busy = busy.clone();
                    move || work(stylizer, &inbox, &ping, &busy)
                })
                .map_err(|e| Error::Internal(format!("stylize worker thread: {e}")))?;
            workers.push(Worker {
                jobs: Some(jobs),
                thread: Some(thread),
                busy,
            });
        }
        if workers.is_empty() {
            return Err(Error::Internal("a stylize pool with no workers".into()));
        }
        Ok(Self { workers, finished })
    }

    /// How many workers.
    pub fn len(&self) -> usize {
        self.workers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.workers.is_empty()
    }

    /// Hands `small` to the first idle worker (else the least busy); its result arrives on the
    /// returned channel.
    ///
    /// # Errors
    /// [`Error::Internal`] when that worker has stopped.
    pub fn submit(&mut self, small: RgbaImage) -> Result<Receiver<Styled>> {
        let (reply, result) = bounded(1);
        let worker = self
            .workers
            .iter()
            .min_by_key(|w| w.busy.load(Ordering::Acquire))
            .ok_or_else(stopped)?;
        worker.busy.fetch_add(1, Ordering::AcqRel);
        send(worker, Job::Frame { small, reply })?;
        Ok(result)
    }

    /// Switches every worker to `style`, after the frames each already has; waits for all.
    ///
    /// # Errors
    /// The first worker's error, as [`Stylizer::set_style`].
    pub fn set_style(&mut self, style: &Style) -> Result<()> {
        let mut replies = Vec::with_capacity(self.workers.len());
        for worker in &self.workers {
            let (reply, result) = bounded(1);
            send(
                worker,
                Job::Style {
                    style: Portable::of(style),
                    reply,
                },
            )?;
            replies.push(result);
        }
        for result in replies {
            result.recv().map_err(|_| stopped())??;
        }
        Ok(())
    }

    /// Gets a message each time a worker has answered a frame.
    pub fn finished(&self) -> &Receiver<()> {
        &self.finished
    }
}

impl Drop for StylizerPool {
    fn drop(&mut self) {
        for worker in &mut self.workers {
            // closing its inbox ends the worker's loop
            worker.jobs.take();
        }
        for worker in &mut self.workers {
            if let Some(thread) = worker.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

fn stopped() -> Error {
    Error::Internal("a stylize worker stopped".into())
}

fn send(worker: &Worker, job: Job) -> Result<()> {
    worker
        .jobs
        .as_ref()
        .ok_or_else(stopped)?
        .send(job)
        .map_err(|_| stopped())
}

fn work(mut stylizer: Stylizer, inbox: &Receiver<Job>, ping: &Sender<()>, busy: &AtomicUsize) {
    for job in inbox.iter() {
        match job {
            Job::Frame { small, reply } => {
                let styled = stylizer.run(&small);
                busy.fetch_sub(1, Ordering::AcqRel);
                let _ = reply.send((small, styled));
                let _ = ping.send(());
            }
            Job::Style { style, reply } => {
                let _ = reply.send(style.style().and_then(|s| stylizer.set_style(&s)));
            }
        }
    }
}
