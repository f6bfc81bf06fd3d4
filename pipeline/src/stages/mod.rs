//! The stage registry: every stage a pipeline description can name, with its documentation and
//! constructor. Adding a stage = a module here + one entry in [`registry`].

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::{Error, Result};
use crate::gpu::GpuContext;
use crate::graph::{Inbox, RunHandle};
use crate::infer::{ExecutionProvider, SessionConfig};
use crate::locate::Locator;
use crate::options::{StageOptions, MODEL_PROVIDER};
use crate::spec::StageSpec;
use crate::stage::{Mode, Stage, StageCommand, StageDoc};

pub use resolve::{check, resolve, Resolved};

pub mod autoframe;
pub mod avatar;
pub mod background;
pub mod blur;
pub mod deglare;
pub mod flip;
pub mod hands;
pub mod lowlight;
pub mod onnx;
pub mod overlay;
pub mod passthrough;
pub mod pose;
pub mod resize;
mod resolve;
pub mod segment;
pub mod sharpen;
pub mod stylize;
pub mod superres;
pub mod track;

/// What constructors may need beyond their options: the run mode, the GPU device (opened on first
/// use, so that CPU-only pipelines never open one), where default data files are found, and the
/// notices building produced (the library never prints; the app shows them).
pub struct BuildContext {
    pub mode: Mode,
    locator: Locator,
    gpu: OnceLock<Arc<GpuContext>>,
    notices: Mutex<Vec<String>>,
    /// The live run the stages are built for, when commands can reach them.
    run: Option<RunHandle>,
    /// The run's `--provider`: model stages without their own `provider=` use it.
    provider: ExecutionProvider,
    /// How many stages [`build_all`] is building (0 when a stage is built on its own).
    stages_in_run: AtomicUsize,
}

impl BuildContext {
    /// A context whose data files are found by [`Locator::from_env`].
    pub fn new(mode: Mode) -> Self {
        Self::with_locator(mode, Locator::from_env())
    }

    pub fn with_locator(mode: Mode, locator: Locator) -> Self {
        Self {
            mode,
            locator,
            gpu: OnceLock::new(),
            notices: Mutex::new(Vec::new()),
            run: None,
            provider: ExecutionProvider::cpu(),
            stages_in_run: AtomicUsize::new(0),
        }
    }

    /// The same context, building stages for the live run `run` (their command inboxes register
    /// with it).
    pub fn for_run(mut self, run: RunHandle) -> Self {
        self.run = Some(run);
        self
    }

    /// The same context, with `provider` as the default of every model stage's `provider=`.
    pub fn with_provider(mut self, provider: ExecutionProvider) -> Self {
        self.provider = provider;
        self
    }

    /// The ONNX Runtime session settings of a model stage: `threads` as the stage resolved it, the
    /// execution provider from the stage's `provider=` ([`MODEL_PROVIDER`], which the stage lists among
    /// its options), else the run's default. One place, so every model stage takes the same option.
    ///
    /// # Errors
    /// [`Error::Option`] naming the stage's `provider` when it does not parse.
    pub fn session(&self, options: &StageOptions, threads: Option<usize>) -> Result<SessionConfig> {
        let text = options.text(&MODEL_PROVIDER)?;
        let provider = if text.trim().is_empty() {
            self.provider.clone()
        } else {
            ExecutionProvider::parse(text).map_err(|m| options.error(MODEL_PROVIDER.name, m))?
        };
        Ok(SessionConfig {
            threads,
            provider,
            // Only a model alone in an offline run keeps ONNX Runtime's busy-waiting threads:
            // everywhere else they take the cores from the other stages, the decoder and encoder
            // and the GPU driver (on lavapipe the GPU *is* the CPU): `lowlight,deglare,blur` on the
            // GPU at 1280x720 ran at 8.4-9.1 fps with `lowlight`'s model spinning, 10.5-10.9 without.
            spin: self.mode == Mode::Offline && self.stages_in_run.load(Ordering::Relaxed) <= 1,
            ..SessionConfig::default()
        })
    }

    /// [`BuildContext::session`] for a model whose small output is followed by work on the whole
    /// frame (the gain of `lowlight`, the subtraction of `deglare:backend=onnx`): its threads never
    /// busy-wait, since the waiting threads would take the cores that work needs (the CPU
    /// reference's rows, a GPU backend's transfers, and on a CPU Vulkan driver the kernel itself). 1280x720 on 2 cores (`pipeline/benches/deglare`):
    /// `lowlight` on lavapipe 43.3 -> 29.6 ms a frame, on the CPU 88.1 -> 64.6 ms;
    /// `deglare:backend=onnx` 35.3 -> 23.4 ms.
    pub fn session_before_frame_work(
        &self,
        options: &StageOptions,
        threads: Option<usize>,
    ) -> Result<SessionConfig> {
        Ok(SessionConfig {
            spin: false,
            ..self.session(options, threads)?
        })
    }

    /// A command inbox for stage `stage` taking `accepts`; `None` when no live run can send any
    /// (offline, tests). See [`RunHandle`].
    pub fn inbox(&self, stage: &str, accepts: &[StageCommand]) -> Option<Inbox> {
        self.run.as_ref().map(|run| run.inbox(stage, accepts))
    }

    /// Where default model and data files are found.
    pub fn locator(&self) -> &Locator {
        &self.locator
    }

    /// The shared GPU device, opened on the first call.
    ///
    /// # Errors
    /// [`Error::Gpu`] when no adapter can be used.
    pub fn gpu(&self) -> Result<Arc<GpuContext>> {
        if let Some(gpu) = self.gpu.get() {
            return Ok(gpu.clone());
        }
        let gpu = GpuContext::shared()?;
        Ok(self.gpu.get_or_init(|| gpu).clone())
    }

    /// Whether [`BuildContext::gpu`] has opened the device.
    pub fn gpu_opened(&self) -> bool {
        self.gpu.get().is_some()
    }

    /// Records a one-line notice for the user (a fallback taken, a stage added).
    pub fn notice(&self, text: impl Into<String>) {
        if let Ok(mut notices) = self.notices.lock() {
            notices.push(text.into());
        }
    }

    /// The notices recorded so far (with the execution providers' partial-fallback notices), emptying
    /// the list.
    pub fn take_notices(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .notices
            .lock()
            .map(|mut n| std::mem::take(&mut *n))
            .unwrap_or_default();
        out.extend(crate::infer::take_notices());
        out
    }
}

impl std::fmt::Debug for BuildContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuildContext")
            .field("mode", &self.mode)
            .field("locator", &self.locator)
            .field("gpu_opened", &self.gpu_opened())
            .finish()
    }
}

/// A registered stage: its documentation and how to build it.
#[derive(Clone, Copy)]
pub struct StageEntry {
    pub doc: &'static StageDoc,
    pub build: fn(&StageOptions, &BuildContext) -> Result<Box<dyn Stage>>,
}

/// Every stage, in the order `doppel stages` lists them.
pub fn registry() -> Vec<StageEntry> {
    vec![
        passthrough::ENTRY,
        resize::ENTRY,
        flip::ENTRY,
        blur::ENTRY,
        sharpen::ENTRY,
        onnx::ENTRY,
        track::ENTRY,
        stylize::ENTRY,
        deglare::ENTRY,
        lowlight::ENTRY,
        pose::ENTRY,
        hands::ENTRY,
        segment::ENTRY,
        overlay::ENTRY,
        superres::ENTRY,
        autoframe::ENTRY,
        avatar::ENTRY,
        background::ENTRY,
    ]
}

/// Names of all registered stages.
pub fn names() -> Vec<&'static str> {
    registry().iter().map(|e| e.doc.name).collect()
}

/// Looks a stage up by name.
pub fn find(name: &str) -> Result<StageEntry> {
    registry()
        .into_iter()
        .find(|e| e.doc.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            Error::Spec(format!(
                "unknown stage '{name}'; valid stages: {}",
                names().join(", ")
            ))
        })
}

/// Builds every stage of a description, in order, after checking their contracts ([`check`]:
/// every meta a stage needs comes from a stage before it). Fails before any frame is processed.
/// Run [`resolve`] first to have missing tracking added instead.
pub fn build_all(specs: &[StageSpec], ctx: &BuildContext) -> Result<Vec<Box<dyn Stage>>> {
    check(specs, &[])?;
    ctx.stages_in_run.store(specs.len(), Ordering::Relaxed);
    specs
        .iter()
        .map(|spec| {
            let entry = find(&spec.name)?;
            let options = StageOptions::new(entry.doc, &spec.options)?;
            (entry.build)(&options, ctx)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::parse_stages;

    #[test]
    fn cpu_pipelines_never_open_the_gpu() {
        let ctx = BuildContext::new(Mode::Offline);
        let specs = parse_stages("resize:width=8,blur:backend=cpu,passthrough").unwrap();
        let stages = build_all(&specs, &ctx).unwrap();
        assert_eq!(stages.len(), 3);
        assert!(!ctx.gpu_opened());
    }

    #[test]
    fn build_all_checks_contracts_before_building() {
        let ctx = BuildContext::new(Mode::Offline);
        let err = build_all(&parse_stages("blur:backend=cpu,avatar").unwrap(), &ctx)
            .err()
            .expect("avatar without track")
            .to_string();
        assert!(err.contains("put track before it"), "{err}");
        // Nothing was built: the avatar would have opened the GPU.
        assert!(!ctx.gpu_opened());
    }

    #[test]
    fn declared_defaults_are_valid_values() {
        use crate::options::OptKind;
        for entry in registry() {
            let doc = entry.doc;
            // The contract reads options through their specs (a wrong-kind read is an error).
            (doc.contract)(&StageOptions::from_pairs(doc.name, &[])).unwrap();
            for spec in doc.options {
                assert!(!spec.help.is_empty(), "{}:{}", doc.name, spec.name);
                // A default given back as a value passes the spec's own checks (in range, one of
                // the choices); for Opt* kinds the text describes the absent case instead.
                let value = match spec.kind {
                    OptKind::U32 { default, .. } => default.to_string(),
                    OptKind::F32 { default, .. } => default.to_string(),
                    OptKind::Bool(default) => default.to_string(),
                    OptKind::Choice { default, .. } => default.to_string(),
                    _ => continue,
                };
                let pairs = [(spec.name.to_string(), value)];
                StageOptions::new(doc, &pairs)
                    .unwrap_or_else(|e| panic!("{}: default of {}: {e}", doc.name, spec.name));
            }
        }
    }
}
