//! The library's one error type. Every variant names what the user can act on: the file, the device,
//! the stage option, and what was expected.

use std::path::PathBuf;

/// Errors from building or running a pipeline.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input (file, folder, glob) that cannot be used.
    #[error("input {path}: {message}")]
    Input { path: PathBuf, message: String },

    /// An input that ended early: the frames before the damage were delivered.
    #[error("input {path} is truncated or damaged: {decoded} frames decoded before the error ({message})")]
    Truncated {
        path: PathBuf,
        decoded: u64,
        message: String,
    },

    /// An output that cannot be created or written.
    #[error("output {path}: {message}")]
    Output { path: PathBuf, message: String },

    /// The disk (or the user's quota) filled up while writing an output. `safe` frames of the
    /// `written` ones are readable in `path` when `kept` (a crash-safe file), else none are and
    /// any earlier file at `path` is unchanged.
    #[error("output {path}: {message}")]
    DiskFull {
        path: PathBuf,
        written: u64,
        safe: u64,
        kept: bool,
        message: String,
    },

    /// A camera or other capture device.
    #[error("camera {device}: {message}")]
    Device { device: String, message: String },

    /// A pipeline description that does not parse or names an unknown stage.
    #[error("pipeline description: {0}")]
    Spec(String),

    /// An option of a stage with a value that does not fit.
    #[error("stage '{stage}', option '{option}': {message}")]
    Option {
        stage: String,
        option: String,
        message: String,
    },

    /// An ONNX model file that is missing, corrupt or does not fit the stage.
    #[error("model {path}: {message}")]
    Model { path: PathBuf, message: String },

    /// The ONNX Runtime library itself (missing, wrong version, failed call).
    #[error("ONNX Runtime: {0}")]
    Runtime(String),

    /// The wgpu device, a shader or a GPU transfer.
    #[error("GPU: {0}")]
    Gpu(String),

    /// Two images (or an image and a buffer) that must have one size do not.
    #[error("{what}: expected {}x{}, got {}x{}", expected.0, expected.1, got.0, got.1)]
    Size {
        what: String,
        expected: (u32, u32),
        got: (u32, u32),
    },

    /// A stage failed on a frame. The graph wraps a stage's error in it once, on the stage's
    /// thread; the stage's own error is the source.
    #[error("stage '{stage}' on frame {seq}")]
    Stage {
        stage: String,
        seq: u64,
        #[source]
        source: Box<Error>,
    },

    /// A stage failed while warming up, before the first frame (wrapped by the graph).
    #[error("stage '{stage}' while warming up")]
    WarmUp {
        stage: String,
        #[source]
        source: Box<Error>,
    },

    /// A pipeline whose stages (or sink) need frame meta that no stage before them provides.
    #[error("pipeline: {0}")]
    Contract(String),

    /// Plain I/O on a named path.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A pipeline thread panicked: a bug in doppel, never expected from user input.
    #[error("internal error in {0}: a pipeline thread panicked")]
    Internal(String),
}

/// Result with the library's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// For `map_err` where a stage opens its GPU kernel: a GPU error then names the stage and how
    /// to run it without a GPU (`alternative`, e.g. `blur:backend=cpu`).
    pub fn gpu_or(stage: &'static str, alternative: &'static str) -> impl FnOnce(Error) -> Error {
        move |e| match e {
            Error::Gpu(message) => Error::Gpu(format!(
                "stage '{stage}': {message} (or run it on the CPU: {alternative})"
            )),
            other => other,
        }
    }

    /// Shorthand for [`Error::Size`].
    pub fn size(what: impl Into<String>, expected: (u32, u32), got: (u32, u32)) -> Self {
        Error::Size {
            what: what.into(),
            expected,
            got,
        }
    }

    /// This error and its sources, joined by `: ` (what `{:#}` prints in anyhow), for reports
    /// that hold the error as text.
    pub fn chain_text(&self) -> String {
        let mut text = self.to_string();
        let mut next = std::error::Error::source(self);
        while let Some(e) = next {
            text.push_str(": ");
            text.push_str(&e.to_string());
            next = e.source();
        }
        text
    }

    /// Shorthand for [`Error::Input`].
    pub fn input(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Input {
            path: path.into(),
            message: message.into(),
        }
    }

    /// Shorthand for [`Error::Output`].
    pub fn output(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Output {
            path: path.into(),
            message: message.into(),
        }
    }

    /// Shorthand for [`Error::Model`].
    pub fn model(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Model {
            path: path.into(),
            message: message.into(),
        }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
