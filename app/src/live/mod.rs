//! `doppel live`: the pipeline in live mode (newest frame wins, drops counted) feeding a winit +
//! wgpu window, a virtual camera and/or VMC output.
//!
//! Threads: the pipeline's own (source, one per stage, sink) as in every run; the sink here is
//! [`doppel_pipeline::live::sink::LiveSink`], which writes the virtual camera and VMC outputs and hands the newest frame to
//! the window. The window runs on the main thread (winit's event loop) and presents each frame as a
//! texture as soon as it arrives ([`present`]), with the on-screen display ([`osd`]).

pub mod osd;
pub mod present;
pub mod window;

// The live flow itself (source, tee sink, stage controls, notices) is the library's
// (`doppel_pipeline::live`); this module is the window and the terminal's share of it.
pub use doppel_pipeline::live::{Notice, Notifier};

use std::sync::Arc;

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
