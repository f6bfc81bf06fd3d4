//! Log messages through `tracing` on stderr: doppel's own, ONNX Runtime's (ort's `tracing` feature
//! routes its logger here) and wgpu's (`log` records, bridged by tracing-subscriber). `RUST_LOG` wins
//! when set; otherwise `-v`/`-q` choose the level. The command's own lines (notes, tables, progress)
//! stay on `say`: `-q` drops the progress bar and tables, not the notes.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing_subscriber::EnvFilter;

static QUIET: AtomicBool = AtomicBool::new(false);

/// Whether `-q` was given (no progress bar or statistics table).
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// The filter for `verbose` (-v count) and `quiet` when RUST_LOG is not set. ONNX Runtime, wgpu and
/// naga are kept a level quieter than the rest at -v/-vv: at info they describe every session option
/// and pipeline they build.
pub fn default_filter(verbose: u8, quiet: bool) -> &'static str {
    match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info,ort=warn,wgpu_core=warn,wgpu_hal=warn,naga=warn",
        (false, 2) => "debug,ort=info,wgpu_core=info,wgpu_hal=info,naga=info",
        _ => "trace",
    }
}

/// Installs the stderr subscriber; called once from `main`.
pub fn init(verbose: u8, quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
    let filter = match std::env::var("RUST_LOG") {
        Ok(text) if !text.trim().is_empty() => EnvFilter::try_new(&text).unwrap_or_else(|e| {
            errln!("RUST_LOG='{text}' is not a valid filter ({e}); using the default");
            EnvFilter::new(default_filter(verbose, quiet))
        }),
        _ => EnvFilter::new(default_filter(verbose, quiet)),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .without_time()
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_maps_to_levels() {
        assert_eq!(default_filter(0, false), "warn");
        assert_eq!(default_filter(0, true), "error");
        assert!(default_filter(1, false).starts_with("info"));
        assert!(default_filter(2, false).starts_with("debug"));
        assert_eq!(default_filter(5, false), "trace");
    }
}
