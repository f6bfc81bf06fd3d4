//! The one owner of process signals. SIGINT (Ctrl-C), SIGTERM (systemd, `docker stop`, `kill`) and
//! SIGHUP (a closed terminal) all stop a run cleanly: the outputs are finished with the frames done
//! and the exit status is 128 + the signal's number (130, 143, 129). A repeat within
//! [`SAME_STOP`] is the same stop (`timeout -s INT` signals the process and its group, so one
//! stop can arrive twice). A repeat after that aborts at once with [`EXIT_ABORTED`]: outputs
//! that stay readable when cut (crash-safe video, Matroska, JSON Lines) are kept under their
//! final names, the others removed (an earlier file stays as it was).
//!
//! The handler only writes the signal's number into a pipe (async-signal-safe); a thread reads
//! it and does the rest with ordinary code.

use std::io::Write;
use std::os::raw::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use doppel_pipeline::graph::RunHandle;
use doppel_pipeline::output::OutputGuard;

/// A repeat within this window is the same stop, not an abort.
pub const SAME_STOP: Duration = Duration::from_secs(1);

/// Exit status of a run aborted by a repeated signal (distinct from a clean stop's 128 + N).
pub const EXIT_ABORTED: u8 = 3;

static PIPE_WRITE: AtomicI32 = AtomicI32::new(-1);
static FIRST_SIGNAL: AtomicI32 = AtomicI32::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(signal: c_int) {
    // SAFETY: only async-signal-safe calls; errno is restored for the interrupted code.
    unsafe {
        let errno = *libc::__errno_location();
        let fd = PIPE_WRITE.load(Ordering::Relaxed);
        if fd >= 0 {
            let byte = signal as u8;
            libc::write(fd, std::ptr::from_ref(&byte).cast::<c_void>(), 1);
        }
        *libc::__errno_location() = errno;
    }
}

fn name(signal: c_int) -> &'static str {
    match signal {
        libc::SIGINT => "SIGINT (Ctrl-C)",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}

/// Writes a line to stderr; a closed terminal (SIGHUP) is no reason to fail.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Exit status for a run that a signal stopped cleanly: 128 + the first signal's number (130 when
/// the stop came from elsewhere).
pub fn exit_status() -> u8 {
    match FIRST_SIGNAL.load(Ordering::SeqCst) {
        0 => 130,
        n => 128 + n as u8,
    }
}

/// Installs the handlers (once per process): the first signal sets `stop` and calls `wake`;
/// `what` names what is being finished, for the message. `guard` holds the run's outputs for an
/// abort.
pub fn install(
    run: RunHandle,
    guard: Option<OutputGuard>,
    wake: impl Fn() + Send + 'static,
    what: &'static str,
) -> anyhow::Result<()> {
    if INSTALLED.swap(true, Ordering::SeqCst) {
        bail!("signal handlers are installed already");
    }
    let mut fds = [0 as c_int; 2];
    // SAFETY: `fds` has room for the two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error()).context("cannot create the signal pipe");
    }
    let [read_fd, write_fd] = fds;
    PIPE_WRITE.store(write_fd, Ordering::SeqCst);
    std::thread::Builder::new()
        .name("doppel-signals".into())
        .spawn(move || watch(read_fd, &run, guard.as_ref(), &wake, what))
        .context("cannot start the signal thread")?;
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: a zeroed sigaction with a plain handler, an empty mask and SA_RESTART (so that
        // file writes interrupted by the signal are resumed, not failed).
        let ret = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(c_int) as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut())
        };
        if ret != 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("cannot handle {}", name(signal)));
        }
    }
    Ok(())
}

fn watch(
    read_fd: c_int,
    run: &RunHandle,
    guard: Option<&OutputGuard>,
    wake: &dyn Fn(),
    what: &str,
) {
    let mut first: Option<Instant> = None;
    loop {
        let mut byte = 0u8;
        // SAFETY: reads one byte into `byte`.
        let n = unsafe { libc::read(read_fd, std::ptr::from_mut(&mut byte).cast::<c_void>(), 1) };
        if n != 1 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        let signal = c_int::from(byte);
        match first {
            None => {
                first = Some(Instant::now());
                FIRST_SIGNAL.store(signal, Ordering::SeqCst);
                run.stop();
                wake();
                say(&format!(
                    "\nstopping on {}: finishing {what} with the frames done (signal again after \
                     {} s to abort)",
                    name(signal),
                    SAME_STOP.as_secs()
                ));
            }
            Some(at) if at.elapsed() < SAME_STOP => {}
            Some(_) => {
                say(&format!("aborting on a repeated {}", name(signal)));
                if let Some(guard) = guard {
                    for line in guard.abort() {
                        say(&line);
                    }
                }
                std::process::exit(i32::from(EXIT_ABORTED));
            }
        }
    }
}
