//! What the app's test suites share: the binary under test, where the repository lies, running
//! doppel and FFmpeg, and where test output goes.
//!
//! Each file in `tests/` is its own crate that declares `mod common;` and uses a part of this.

// Every suite compiles this module and uses only some of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `doppel` binary cargo built for these tests.
pub const DOPPEL: &str = env!("CARGO_BIN_EXE_doppel");

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs doppel from the repository root, where the default model paths (`models/...`) resolve.
pub fn doppel(args: &[&str]) -> Output {
    Command::new(DOPPEL)
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run doppel")
}

/// What a run wrote to stderr.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Fails the test unless doppel failed cleanly (exit 1, no panic) with all `needles` in its message.
pub fn assert_refused(out: &Output, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "exit status; stderr:\n{err}");
    assert!(!err.contains("panicked"), "panic:\n{err}");
    for needle in needles {
        assert!(err.contains(needle), "'{needle}' missing from:\n{err}");
    }
}

/// Runs FFmpeg quietly, overwriting its outputs; fails the test with FFmpeg's message.
pub fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .output()
        .expect("run ffmpeg");
    assert!(out.status.success(), "ffmpeg {args:?}: {}", stderr(&out));
}

/// `target/test-output/<suite>/`, created: the files a person looks at.
pub fn output_dir(suite: &str) -> PathBuf {
    let dir = repo().join("target/test-output").join(suite);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

/// A fetched face photo or clip, `target/test-data/faces/<name>`, as a command-line argument.
pub fn face_data(name: &str) -> String {
    let path = repo().join("target/test-data/faces").join(name);
    assert!(
        path.is_file(),
        "{} missing: run scripts/fetch-test-faces.sh",
        path.display()
    );
    path.display().to_string()
}
