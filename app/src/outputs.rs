//! The CLI side of the output guard ([`doppel_pipeline::output`]): `-y`/`--overwrite` and
//! `-n`/`--no-overwrite`, and asking on a terminal before an existing file is replaced.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::OnceLock;

use clap::Args;
use doppel_pipeline::output::{Existing, OutputGuard};

/// What every command does with an output file that exists already.
#[derive(Args, Clone, Copy, Debug, Default)]
pub struct OverwriteArgs {
    /// Replace existing output files without asking.
    #[arg(short = 'y', long, global = true, conflicts_with = "no_overwrite")]
    pub overwrite: bool,
    /// Never replace existing output files (refuse instead of asking).
    #[arg(short = 'n', long, global = true)]
    pub no_overwrite: bool,
}

static POLICY: OnceLock<OverwriteArgs> = OnceLock::new();

/// Records the command line's choice; called once from `main`.
pub fn set(args: OverwriteArgs) {
    let _ = POLICY.set(args);
}

/// A guard for one command: existing files are replaced with `-y` (or `force`), kept with `-n`,
/// asked about when stdin and stderr are a terminal, refused otherwise (naming the flag).
pub fn guard(force: bool) -> OutputGuard {
    let args = POLICY.get().copied().unwrap_or_default();
    let existing = if args.overwrite || force {
        Existing::Replace
    } else if args.no_overwrite {
        Existing::Never
    } else if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        Existing::Ask
    } else {
        Existing::Refuse
    };
    OutputGuard::new(existing).with_confirm(|path| {
        let mut err = std::io::stderr();
        let _ = write!(
            err,
            "{} exists. Overwrite? [y/N] (-y replaces, -n keeps without asking) ",
            path.display()
        );
        let _ = err.flush();
        let mut line = String::new();
        if std::io::stdin().lock().read_line(&mut line).is_err() {
            return false;
        }
        matches!(line.trim(), "y" | "Y" | "yes" | "Yes")
    })
}
