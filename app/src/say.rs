//! Every line doppel prints goes through here, because `println!`/`errln!` panic when the pipe
//! they write to is closed (`doppel doctor | head -1`, `doppel process … 2>&1 | head -1`).
//!
//! - `outln!` writes a line to stdout and returns `Result<(), StdoutClosed>`. Stdout is a command's
//!   product (`stages`, `doctor`, `skills list`): when the reader has gone, the command stops (`?`)
//!   and `main` ends quietly with status 141 (128 + SIGPIPE, what a shell shows for a tool stopped by
//!   a closed pipe), after destructors ran and outputs were finished.
//! - `errln!` writes a line to stderr and ignores failure: stderr carries messages about a run, and a
//!   run whose messages nobody reads still finishes its output files (a closed stderr does not stop
//!   `doppel process`).
//!
//! SIGPIPE stays ignored (Rust's default), so a closed pipe is an error from `write`, never a signal
//! that kills the process in the middle of writing a video.

use std::fmt;
use std::io::Write;

/// Exit status of a command whose stdout was closed by its reader (128 + SIGPIPE).
pub const EXIT_STDOUT_CLOSED: u8 = 141;

/// Stdout could not be written (the reader closed the pipe, or the disk behind it is full).
#[derive(Debug)]
pub struct StdoutClosed(pub std::io::Error);

impl fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot write to stdout: {}", self.0)
    }
}

impl std::error::Error for StdoutClosed {}

/// Writes `args` and a newline to stdout.
pub fn out(args: fmt::Arguments<'_>) -> Result<(), StdoutClosed> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_fmt(args)
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush())
        .map_err(StdoutClosed)
}

/// Writes `bytes` as they are to stdout (generated scripts, man pages).
pub fn write_stdout(bytes: &[u8]) -> Result<(), StdoutClosed> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(StdoutClosed)
}

/// Writes `args` and a newline to stderr; a closed stderr is ignored (see the module comment).
pub fn err(args: fmt::Arguments<'_>) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr
        .write_fmt(args)
        .and_then(|()| stderr.write_all(b"\n"));
}

/// Whether `error` (anywhere in its chain) is a closed stdout.
pub fn is_stdout_closed(error: &anyhow::Error) -> bool {
    error.chain().any(|e| e.is::<StdoutClosed>())
}

/// `outln!("...", args)`: a line to stdout, `Result<(), StdoutClosed>`.
macro_rules! outln {
    () => {
        $crate::say::out(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::say::out(format_args!($($arg)*))
    };
}

/// `errln!("...", args)`: a line to stderr, failures ignored.
macro_rules! errln {
    () => {
        $crate::say::err(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::say::err(format_args!($($arg)*))
    };
}
