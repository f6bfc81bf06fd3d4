//! The `Stage` trait and the documentation every stage publishes about itself.

use crate::error::Result;
use crate::frame::Frame;

/// Whether a pipeline runs live (newest frame wins, drops counted) or offline (every frame, in order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Live,
    Offline,
}

/// A frame transform. Each stage runs on its own thread; it owns its state (sessions, GPU pipelines,
/// filters) and is built once, before the first frame, so configuration errors surface early.
pub trait Stage: Send {
    /// The registry name, e.g. `resize`.
    fn name(&self) -> &str;

    /// Transforms one frame. An error stops the run; frames already written are kept.
    fn process(&mut self, frame: Frame) -> Result<Frame>;

    /// Pays the first frame's one-off costs (shader compilation, the first inference's
    /// allocations) for frames of about `width` x `height`, without changing what the stage will do
    /// with real frames. The pipeline calls it before the source starts, so that a live run's first
    /// frames are not late. The default does nothing.
    fn warm_up(&mut self, _width: u32, _height: u32) -> Result<()> {
        Ok(())
    }

    /// A command from the user of a live run (keys in `doppel live`), delivered on the stage's own
    /// thread between frames. Returns what happened, for the on-screen message; `None` when the
    /// stage does not handle this command (the default).
    fn command(&mut self, _command: StageCommand) -> Option<String> {
        None
    }
}

/// Commands a live run can send to its stages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StageCommand {
    /// Switch to the next style, avatar or other variant the stage offers.
    Next,
    /// Take the current face as the neutral one (tracking calibration).
    Calibrate,
}

/// One option of a stage, as `doppel stages` shows it.
#[derive(Clone, Copy, Debug)]
pub struct OptionDoc {
    pub name: &'static str,
    /// The default, as text; empty when the option is required.
    pub default: &'static str,
    pub help: &'static str,
}

/// What a stage is, for `doppel stages` and for error messages.
#[derive(Clone, Copy, Debug)]
pub struct StageDoc {
    pub name: &'static str,
    pub summary: &'static str,
    pub options: &'static [OptionDoc],
    /// A pipeline that uses it, e.g. `resize:width=640,blur:radius=2`.
    pub example: &'static str,
}
