//! The live flow that every live front end shares (the `doppel live` window, a headless virtual
//! camera or VMC run): a source that survives its device ([`source::LiveSource`]: reopens a lost
//! camera, loops or holds a file), the sink that tees frames to the live outputs and a window's
//! one-frame slot ([`sink::LiveSink`]), and stages the user can switch off ([`control::Toggle`]);
//! commands reach stages through the run's [`crate::graph::RunHandle`]. The library prints nothing: what the user should hear comes out as
//! [`Notice`]s through a [`Notifier`] the front end provides.

pub mod control;
pub mod sink;
pub mod source;

use std::sync::Arc;

use crate::StageCommand;

/// Something the pipeline tells the user (a window shows it; a terminal front end prints it).
#[derive(Clone, Debug, PartialEq)]
pub enum Notice {
    /// A passing message (shown for a few seconds).
    Message(String),
    /// The source's state: `Some` while it is stopped (ended, lost), `None` once frames flow again.
    Source(Option<String>),
    /// A stage's answer to a command sent through [`crate::graph::RunHandle`].
    Reply {
        id: u64,
        stage: String,
        command: StageCommand,
        answer: String,
    },
}

/// Delivers notices from any thread.
pub type Notifier = Arc<dyn Fn(Notice) + Send + Sync>;
