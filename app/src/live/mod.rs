//! `doppel live`: the pipeline in live mode (newest frame wins, drops counted) feeding a winit +
//! wgpu window, a virtual camera and/or VMC output.
//!
//! Threads: the pipeline's own (source, one per stage, sink) as in every run; the sink here is
//! [`sink::LiveSink`], which writes the virtual camera and VMC outputs and hands the newest frame to
//! the window. The window runs on the main thread (winit's event loop) and presents each frame as a
//! texture as soon as it arrives ([`present`]), with the on-screen display ([`osd`]).

pub mod font;
pub mod osd;
pub mod present;
pub mod sink;
pub mod source;
pub mod toggle;
pub mod window;

use std::sync::Arc;

use doppel_pipeline::StageCommand;

/// Something the pipeline tells the user (the window shows it; stderr always gets it).
#[derive(Clone, Debug, PartialEq)]
pub enum Notice {
    /// A passing message (shown for a few seconds).
    Message(String),
    /// The source's state: `Some` while it is stopped (ended, lost), `None` once frames flow again.
    Source(Option<String>),
    /// A stage's answer to a command: its message, or `None` when it does not handle the command.
    Reply {
        id: u64,
        stage: String,
        command: StageCommand,
        answer: Option<String>,
    },
}

/// Delivers notices from any thread.
pub type Notifier = Arc<dyn Fn(Notice) + Send + Sync>;

/// A notifier that prints to stderr (headless runs; the window's notifier also prints).
pub fn stderr_notifier() -> Notifier {
    Arc::new(|notice| print_notice(&notice))
}

/// Prints a notice for the terminal; command replies are the window's business.
pub fn print_notice(notice: &Notice) {
    match notice {
        Notice::Message(m) => errln!("{m}"),
        Notice::Source(Some(m)) => errln!("{m}"),
        Notice::Source(None) => errln!("source: frames are flowing again"),
        Notice::Reply { .. } => {}
    }
}
