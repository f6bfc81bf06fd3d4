//! Loading ONNX Runtime (once per process) and describing it.
//!
//! The library is loaded at run time (ort's `load-dynamic`), from the first of:
//! 1. `ORT_DYLIB_PATH`, when set (then only that path: an explicit choice is never second-guessed);
//! 2. `<exe dir>/libonnxruntime.so` (a copy next to the binary);
//! 3. `<exe dir>/../lib/doppel/libonnxruntime.so` (the Debian package: `/usr/bin/doppel` and
//!    `/usr/lib/doppel/`, made by `scripts/make-deb.sh`);
//! 4. `<exe dir>/../../.ort/libonnxruntime.so` (a cargo build: `target/release/doppel` next to the
//!    `.ort/` folder that `scripts/fetch-onnxruntime.sh` fills).
//!
//! A missing or unloadable library is an [`Error::Runtime`] naming every path tried and the command that
//! fixes it, never a panic: every function of [`crate::infer`] that reaches ONNX Runtime goes through
//! [`runtime`] first, so ort never gets to load the library on its own (which panics on failure).

use std::ffi::{c_char, c_int, CStr};
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::OnceLock;

use ort::environment::Environment;

use crate::error::{Error, Result};

/// The command that installs the library where cargo runs find it.
pub const FETCH_COMMAND: &str = "scripts/fetch-onnxruntime.sh";

/// The file name of the library on this platform (`libonnxruntime.so` on Linux).
pub fn library_file_name() -> String {
    format!(
        "{}onnxruntime{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

/// What `doppel doctor` shows about ONNX Runtime.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RuntimeInfo {
    /// Release, e.g. `1.32.0` (from the library's file name or its build string; `unknown` if neither says).
    pub version: String,
    /// The library file that was loaded.
    pub library: PathBuf,
    /// Execution providers compiled into this library, e.g. `["AzureExecutionProvider",
    /// "CPUExecutionProvider"]` for the CPU wheel; `CUDAExecutionProvider` appears with the GPU wheel.
    pub providers: Vec<String>,
    /// ONNX Runtime's build string (git branch and commit, build type, compiler flags).
    pub build: String,
}

/// The loaded library and the one process-wide environment sessions are created in.
pub(crate) struct Runtime {
    pub(crate) env: Environment,
    pub(crate) info: RuntimeInfo,
}

static RUNTIME: OnceLock<std::result::Result<Runtime, String>> = OnceLock::new();

/// Loads ONNX Runtime on first use and returns it; later calls return the same one (or the same error).
pub(crate) fn runtime() -> Result<&'static Runtime> {
    match RUNTIME.get_or_init(|| load(&candidates())) {
        Ok(runtime) => Ok(runtime),
        Err(message) => Err(Error::Runtime(message.clone())),
    }
}

/// Loads ONNX Runtime if needed and describes it.
///
/// # Errors
/// [`Error::Runtime`] when the library cannot be found or loaded: the message lists the paths tried and
/// how to install the library.
pub fn runtime_info() -> Result<RuntimeInfo> {
    runtime().map(|r| r.info.clone())
}

/// Where the library may be, in order, each with why it is a candidate.
pub fn candidates() -> Vec<(PathBuf, String)> {
    let file = library_file_name();
    if let Some(value) = std::env::var_os("ORT_DYLIB_PATH").filter(|v| !v.is_empty()) {
        let path = PathBuf::from(&value);
        let path = if path.is_relative() {
            std::env::current_dir()
                .map(|d| d.join(&path))
                .unwrap_or(path)
        } else {
            path
        };
        return vec![(path, "ORT_DYLIB_PATH".to_string())];
    }
    let mut out = Vec::new();
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        out.push((dir.join(&file), "next to the executable".to_string()));
        out.push((
            dir.join("..").join("lib").join("doppel").join(&file),
            "the installed package's lib/doppel/".to_string(),
        ));
        out.push((
            dir.join("..").join("..").join(".ort").join(&file),
            "the repository's .ort/ folder".to_string(),
        ));
    }
    out
}

/// Tries `candidates` in order and builds the environment from the first that loads.
/// A path that is not a file is skipped without asking ort, so a failed search has no side effects.
pub(crate) fn load(candidates: &[(PathBuf, String)]) -> std::result::Result<Runtime, String> {
    let mut tried = Vec::new();
    for (path, why) in candidates {
        if !path.is_file() {
            tried.push(format!("  {} ({why}): not found", path.display()));
            continue;
        }
        let builder = match ort::init_from(path) {
            Ok(builder) => builder,
            Err(e) => {
                tried.push(format!("  {} ({why}): {e}", path.display()));
                continue;
            }
        };
        let env = builder
            .with_name("doppel")
            .with_telemetry(false)
            .build()
            .map_err(|e| {
                format!(
                    "{} loaded but the environment could not be created: {e}",
                    path.display()
                )
            })?;
        let build = ort::info().to_string();
        let providers = available_providers()
            .map_err(|e| format!("{}: cannot list execution providers: {e}", path.display()))?;
        let library = path.canonicalize().unwrap_or_else(|_| path.clone());
        let version = version_of(&library, &build);
        return Ok(Runtime {
            env,
            info: RuntimeInfo {
                version,
                library,
                providers,
                build,
            },
        });
    }
    if tried.is_empty() {
        tried.push("  (no candidate: the executable's folder is unknown)".to_string());
    }
    Err(format!(
        "the ONNX Runtime library ({}) could not be loaded. Tried:\n{}\nFix: run `{FETCH_COMMAND}` in the \
         repository (it puts the library from the PyPI onnxruntime wheel into .ort/), or set ORT_DYLIB_PATH \
         to a libonnxruntime of version 1.{} or newer, or copy it next to the executable",
        library_file_name(),
        tried.join("\n"),
        ort::MINOR_VERSION
    ))
}

/// The release number from `libonnxruntime.so.1.32.0`, else from `git-branch=rel-1.32.0` in the build
/// string.
fn version_of(library: &Path, build: &str) -> String {
    let from_name = library
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.rsplit_once(".so."))
        .map(|(_, v)| v.to_string());
    let from_build = || {
        build
            .split("rel-")
            .nth(1)
            .map(|rest| {
                rest.chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.')
                    .collect::<String>()
            })
            .filter(|v| !v.is_empty())
    };
    from_name
        .filter(|v| v.split('.').all(|p| p.parse::<u32>().is_ok()))
        .or_else(from_build)
        .unwrap_or_else(|| "unknown".to_string())
}

/// The execution providers compiled into the loaded library. Call only after [`runtime`] succeeded.
fn available_providers() -> std::result::Result<Vec<String>, ort::Error> {
    let api = ort::api();
    let mut names: *mut *mut c_char = ptr::null_mut();
    let mut count: c_int = 0;
    // SAFETY: the library is loaded; ONNX Runtime fills `names` with `count` C strings that we release
    // below with the matching call.
    unsafe { ort::Error::result_from_status((api.GetAvailableProviders)(&mut names, &mut count)) }?;
    if names.is_null() {
        return Ok(Vec::new());
    }
    let len = usize::try_from(count).unwrap_or(0);
    // SAFETY: `names` points to `count` valid, NUL-terminated strings (checked non-null above).
    let out = unsafe { std::slice::from_raw_parts(names, len) }
        .iter()
        .filter(|p| !p.is_null())
        .map(|p| unsafe { CStr::from_ptr(*p) }.to_string_lossy().into_owned())
        .collect();
    // SAFETY: releases exactly what GetAvailableProviders returned; a failure status is dropped (freed).
    let _ =
        unsafe { ort::Error::result_from_status((api.ReleaseAvailableProviders)(names, count)) };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_library_names_paths_and_fix() {
        let cands = vec![
            (
                PathBuf::from("/nonexistent/a/libonnxruntime.so"),
                "ORT_DYLIB_PATH".to_string(),
            ),
            (
                PathBuf::from("/nonexistent/b/libonnxruntime.so"),
                "next to the executable".to_string(),
            ),
        ];
        let err = load(&cands).err().unwrap();
        assert!(
            err.contains("/nonexistent/a/libonnxruntime.so (ORT_DYLIB_PATH): not found"),
            "{err}"
        );
        assert!(err.contains("/nonexistent/b/libonnxruntime.so"), "{err}");
        assert!(err.contains(FETCH_COMMAND), "{err}");
    }

    #[test]
    fn version_from_file_name_or_build_string() {
        assert_eq!(
            version_of(Path::new("/x/libonnxruntime.so.1.32.0"), ""),
            "1.32.0"
        );
        assert_eq!(
            version_of(
                Path::new("/x/libonnxruntime.so"),
                "ORT Build Info: git-branch=rel-1.31.2, git-commit-id=abc"
            ),
            "1.31.2"
        );
        assert_eq!(
            version_of(Path::new("/x/lib.so"), "git-branch=main"),
            "unknown"
        );
    }
}
