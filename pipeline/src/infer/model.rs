//! A loaded ONNX model: one ONNX Runtime session, built once, with its inputs and outputs described in
//! plain types; adapters ("one base model, N skills") and the options a run takes.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ort::session::builder::{GraphOptimizationLevel, SessionBuilder};
use ort::session::{RunOptions, Session, SessionInputValue};
use ort::value::{TensorElementType, TensorRef, ValueType};

use super::provider::{self, ExecutionProvider};
use super::runtime::runtime;
use crate::error::{Error, Result};

/// How much ONNX Runtime rewrites the graph when the session is built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Optimization {
    Disable,
    /// Constant folding, redundant node removal, simple fusions.
    Basic,
    /// Basic plus complex fusions.
    Extended,
    /// Everything, including layout optimisations (the default).
    #[default]
    All,
}

impl Optimization {
    pub const NAMES: [&'static str; 4] = ["disable", "basic", "extended", "all"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "disable" => Some(Self::Disable),
            "basic" => Some(Self::Basic),
            "extended" => Some(Self::Extended),
            "all" => Some(Self::All),
            _ => None,
        }
    }

    fn level(self) -> GraphOptimizationLevel {
        match self {
            Self::Disable => GraphOptimizationLevel::Disable,
            Self::Basic => GraphOptimizationLevel::Level1,
            Self::Extended => GraphOptimizationLevel::Level2,
            Self::All => GraphOptimizationLevel::All,
        }
    }
}

/// How a session is built. The defaults run on the CPU with one intra-op thread per core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    /// Intra-op threads; `None` = the number of cores.
    pub threads: Option<usize>,
    pub optimization: Optimization,
    /// Opt-in hardware; a provider that cannot be used is an error, not a silent CPU fallback.
    pub provider: ExecutionProvider,
    /// Whether idle intra-op threads busy-wait for the next operator (ONNX Runtime's default,
    /// `session.intra_op.allow_spinning`). It pays for one model running alone (offline `stylize`
    /// at 640x360: 4.3-4.4 s against 4.9-5.1 s for 60 frames on two cores) and costs dearly when
    /// other threads need the cores: in a live `track,hands,avatar` run the spinning threads took
    /// 41% of the CPU samples, and switching it off cut the drops from ~30 to 2-5 in 15 s and the
    /// display p50 from ~80 to ~62 ms (machine under load). Stages keep it only when their model
    /// runs alone offline (`BuildContext::session`).
    pub spin: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            threads: None,
            optimization: Optimization::default(),
            provider: ExecutionProvider::default(),
            spin: true,
        }
    }
}

impl SessionConfig {
    /// The thread count the session will use.
    pub fn thread_count(&self) -> usize {
        self.threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1)
    }
}

/// One input or output of a model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    /// Element type as ONNX Runtime names it (`f32`, `u8`, ...); non-tensors are described in words.
    pub element: String,
    /// Dimensions; `None` where the model leaves a dimension dynamic. Empty for non-tensors.
    pub dims: Vec<Option<usize>>,
    /// The model's names of the dynamic dimensions (`h`, `w`, ...), empty strings where unnamed.
    pub symbols: Vec<String>,
    is_f32: bool,
}

impl TensorInfo {
    fn from_value_type(name: &str, dtype: &ValueType) -> Self {
        match dtype {
            ValueType::Tensor {
                ty,
                shape,
                dimension_symbols,
            } => Self {
                name: name.to_string(),
                element: ty.to_string(),
                dims: shape
                    .iter()
                    .map(|&d| usize::try_from(d).ok().filter(|&d| d > 0))
                    .collect(),
                symbols: dimension_symbols.to_vec(),
                is_f32: *ty == TensorElementType::Float32,
            },
            other => Self {
                name: name.to_string(),
                element: format!("{other:?}"),
                dims: Vec::new(),
                symbols: Vec::new(),
                is_f32: false,
            },
        }
    }

    /// Whether the element type is 32-bit float.
    pub fn is_f32(&self) -> bool {
        self.is_f32
    }

    /// The shape as text, dynamic dimensions by their symbol or `?`: `[1,3,h,w]`.
    pub fn shape_text(&self) -> String {
        let dims: Vec<String> = self
            .dims
            .iter()
            .enumerate()
            .map(|(i, d)| match d {
                Some(v) => v.to_string(),
                None => self
                    .symbols
                    .get(i)
                    .filter(|s| !s.is_empty())
                    .cloned()
                    .unwrap_or_else(|| "?".to_string()),
            })
            .collect();
        format!("[{}]", dims.join(","))
    }
}

impl fmt::Display for TensorInfo {
    /// `name [1,3,h,w] f32`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}' {} {}", self.name, self.shape_text(), self.element)
    }
}

/// An input for [`Model::run`]: f32 values in row-major order and their shape.
#[derive(Clone, Copy, Debug)]
pub struct TensorView<'a> {
    pub name: &'a str,
    pub shape: &'a [usize],
    pub data: &'a [f32],
}

/// An output of [`Model::run`].
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// A set of weights that replaces some of a base model's parameters for one run: ONNX Runtime's LoRA
/// adapter format (`.onnx_adapter`, written by Python's `onnxruntime.AdapterFormat`).
///
/// Each parameter in the adapter feeds the model input of the same name, so the base model must expose
/// the swappable weights as inputs (usually inputs with initializer defaults, which
/// [`Model::parameters`] lists). Loading one base model and N adapters gives N "skills" (styles, tints,
/// cartoon looks) without N sessions; switching is free per run.
///
/// # Example
/// ```no_run
/// use doppel_pipeline::infer::{Adapter, Model, RunConfig, SessionConfig, TensorView};
/// let mut model = Model::load("base.onnx", &SessionConfig::default())?;
/// let cartoon = Adapter::from_file("cartoon.onnx_adapter")?;
/// let run = RunConfig::new()?.with_adapter(&cartoon)?;
/// let data = vec![0.5f32; 3 * 64 * 64];
/// let input = TensorView { name: "image", shape: &[1, 3, 64, 64], data: &data };
/// let out = model.run_with(&[input], &run)?;
/// # Ok::<(), doppel_pipeline::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Adapter {
    inner: ort::session::Adapter,
    source: PathBuf,
}

impl Adapter {
    /// Loads an adapter file.
    ///
    /// # Errors
    /// [`Error::Model`] naming the file when it is missing or not an adapter; [`Error::Runtime`] when
    /// ONNX Runtime cannot be loaded.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        runtime()?;
        check_file(path)?;
        let inner = ort::session::Adapter::from_file(path, None).map_err(|e| {
            Error::model(
                path,
                format!("not a valid ONNX Runtime adapter (.onnx_adapter) file: {e}"),
            )
        })?;
        Ok(Self {
            inner,
            source: path.to_path_buf(),
        })
    }

    /// Loads an adapter from bytes (e.g. embedded with `include_bytes!`); `name` is used in errors.
    /// The bytes are copied.
    ///
    /// # Errors
    /// As [`Adapter::from_file`].
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Self> {
        runtime()?;
        let inner = ort::session::Adapter::from_memory(bytes, None).map_err(|e| {
            Error::model(
                name,
                format!("not a valid ONNX Runtime adapter (.onnx_adapter): {e}"),
            )
        })?;
        Ok(Self {
            inner,
            source: PathBuf::from(name),
        })
    }

    /// The file (or name) the adapter came from.
    pub fn source(&self) -> &Path {
        &self.source
    }
}

/// Options for one or many runs: the active adapters. Build once, reuse for every frame.
pub struct RunConfig {
    options: RunOptions,
    adapters: Vec<PathBuf>,
}

impl fmt::Debug for RunConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunConfig")
            .field("adapters", &self.adapters)
            .finish_non_exhaustive()
    }
}

impl RunConfig {
    /// Run options with no adapter.
    ///
    /// # Errors
    /// [`Error::Runtime`] when ONNX Runtime cannot be loaded.
    pub fn new() -> Result<Self> {
        runtime()?;
        let options = RunOptions::new().map_err(|e| Error::Runtime(format!("run options: {e}")))?;
        Ok(Self {
            options,
            adapters: Vec::new(),
        })
    }

    /// Activates `adapter` for runs with these options (several may be active at once; each sets its
    /// own parameters).
    ///
    /// # Errors
    /// [`Error::Model`] naming the adapter when ONNX Runtime refuses it.
    pub fn with_adapter(mut self, adapter: &Adapter) -> Result<Self> {
        self.options
            .add_adapter(&adapter.inner)
            .map_err(|e| Error::model(&adapter.source, format!("cannot activate adapter: {e}")))?;
        self.adapters.push(adapter.source.clone());
        Ok(self)
    }

    /// The sources of the active adapters, in the order added.
    pub fn adapters(&self) -> &[PathBuf] {
        &self.adapters
    }
}

/// A model file loaded into an ONNX Runtime session, built once and run many times.
#[derive(Debug)]
pub struct Model {
    path: PathBuf,
    session: Session,
    inputs: Vec<TensorInfo>,
    outputs: Vec<TensorInfo>,
    parameters: Vec<TensorInfo>,
    config: SessionConfig,
}

fn check_file(path: &Path) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(_) => Err(Error::model(path, "is not a file")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::model(
            path,
            "file not found (models the project ships are in models/; see models/README.md)",
        )),
        Err(e) => Err(Error::model(path, format!("cannot be read: {e}"))),
    }
}

/// The most values one fixed model input may hold: 3 x 8192 x 8192 (a 768 MiB f32 tensor). A model
/// file declaring more (a corrupt or hostile `[1,3,100000,100000]`) is refused when loaded, before a
/// warm-up or a resize allocates that much.
pub const MAX_INPUT_ELEMENTS: usize = 3 * 8192 * 8192;

/// Refuses inputs whose fixed dimensions multiply past [`MAX_INPUT_ELEMENTS`].
fn check_input_sizes(path: &Path, inputs: &[TensorInfo]) -> Result<()> {
    for input in inputs {
        let total = input
            .dims
            .iter()
            .flatten()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d));
        if total.is_none_or(|n| n > MAX_INPUT_ELEMENTS) {
            return Err(Error::model(
                path,
                format!(
                    "input {input} is too large: doppel takes model inputs of at most {MAX_INPUT_ELEMENTS} \
                     values (3 x 8192 x 8192)"
                ),
            ));
        }
    }
    Ok(())
}

/// One session for `path`; `no_cpu_fallback` makes ONNX Runtime refuse a graph its provider cannot
/// take whole (`session.disable_cpu_ep_fallback`); `placements` collects ONNX Runtime's verbose "Node
/// placements" report, one message a line, through a logger of this session only.
fn build_session(
    path: &Path,
    config: &SessionConfig,
    rt: &super::runtime::Runtime,
    no_cpu_fallback: bool,
    placements: Option<&Arc<Mutex<Vec<String>>>>,
) -> Result<Session> {
    let mut builder: SessionBuilder = Session::builder(&rt.env)
        .map_err(|e| Error::Runtime(format!("session builder: {e}")))?
        .with_optimization_level(config.optimization.level())
        .map_err(builder_error(path, "optimization level"))?
        .with_intra_threads(config.thread_count())
        .map_err(builder_error(path, "threads"))?;
    if !config.spin {
        builder = builder
            .with_config_entry("session.intra_op.allow_spinning", "0")
            .map_err(builder_error(path, "session.intra_op.allow_spinning"))?;
    }
    if no_cpu_fallback {
        builder = builder
            .with_config_entry("session.disable_cpu_ep_fallback", "1")
            .map_err(builder_error(path, "session.disable_cpu_ep_fallback"))?;
    }
    if let Some(nodes) = placements {
        let nodes = nodes.clone();
        let logger: ort::logging::LoggerFunction =
            Arc::new(move |_, _, _, location: &str, message: &str| {
                if location.contains("VerifyEachNodeIsAssignedToAnEp") {
                    if let Ok(mut list) = nodes.lock() {
                        list.push(message.to_string());
                    }
                }
            });
        builder = builder
            .with_logger(logger)
            .map_err(builder_error(path, "session logger"))?
            .with_log_level(ort::logging::LogLevel::Verbose)
            .map_err(builder_error(path, "session log level"))?;
    }
    let mut builder = provider::register(builder, &config.provider, rt)?;
    builder.commit_from_file(path).map_err(|e| {
        let text = e.to_string();
        let hint = if text.contains("Protobuf parsing failed") || text.contains("protobuf") {
            "not an ONNX model (the file does not parse as an ONNX protobuf)"
        } else {
            "ONNX Runtime cannot load it"
        };
        Error::model(path, format!("{hint}: {text}"))
    })
}

/// The nodes a "Node placements" report of ONNX Runtime puts on its CPU kernels, as `OpType (name)`:
/// the lines under ` Node(s) placed on [CPUExecutionProvider]. Number of nodes: N`.
///
/// ```text
/// Node placements
///  Node(s) placed on [OpenVINOExecutionProvider]. Number of nodes: 2
///   OpenVINOExecutionProvider_4311987951110276274_0 (OpenVINOExecutionProvider_..._0_0)
///  Node(s) placed on [CPUExecutionProvider]. Number of nodes: 1
///   LpPool (lp_pool)
/// ```
fn cpu_placed_nodes(message: &str) -> Vec<String> {
    let mut nodes = Vec::new();
    let mut on_cpu = false;
    for line in message.lines() {
        if line.contains("placed on [") {
            on_cpu = line.contains("placed on [CPUExecutionProvider]");
        } else if on_cpu && line.starts_with("  ") && !line.trim().is_empty() {
            nodes.push(line.trim().to_string());
        }
    }
    nodes
}

/// The nodes of `path` that ONNX Runtime places on its CPU kernels with `config`'s provider, read
/// from a diagnostic session; `None` when the report could not be had.
fn nodes_on_cpu(
    path: &Path,
    config: &SessionConfig,
    rt: &super::runtime::Runtime,
) -> Option<String> {
    let report = Arc::new(Mutex::new(Vec::new()));
    build_session(path, config, rt, false, Some(&report)).ok()?;
    let nodes = cpu_placed_nodes(&report.lock().ok()?.join("\n"));
    (!nodes.is_empty()).then(|| nodes.join(", "))
}

/// Whether a session error is ONNX Runtime refusing nodes assigned to the CPU (the
/// `session.disable_cpu_ep_fallback` check), as opposed to a broken model.
fn is_fallback(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("fallback") && m.contains("cpu")
}

#[cfg(test)]
#[test]
fn reads_the_cpu_nodes_of_a_placement_report() {
    let report = "Node placements\n Node(s) placed on [OpenVINOExecutionProvider]. Number of nodes: 1\n  OpenVINOExecutionProvider_1_0 (x)\n Node(s) placed on [CPUExecutionProvider]. Number of nodes: 2\n  LpPool (lp_pool)\n  Shape (shape_1)";
    assert_eq!(
        cpu_placed_nodes(report),
        vec!["LpPool (lp_pool)", "Shape (shape_1)"]
    );
    assert!(cpu_placed_nodes(
        " All nodes placed on [OpenVINOExecutionProvider]. Number of nodes: 3"
    )
    .is_empty());
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

fn builder_error<R>(path: &Path, what: &'static str) -> impl FnOnce(ort::Error<R>) -> Error {
    let path = path.to_path_buf();
    move |e| Error::model(path, format!("{what}: {e}"))
}

impl Model {
    /// Loads `path` into a session configured by `config`.
    ///
    /// # Errors
    /// - [`Error::Runtime`]: ONNX Runtime cannot be loaded, or the requested execution provider is not
    ///   available or fails to register.
    /// - [`Error::Model`] naming the file: missing, unreadable, or not an ONNX model ONNX Runtime accepts
    ///   (corrupt protobuf, unsupported operator or opset).
    pub fn load(path: impl AsRef<Path>, config: &SessionConfig) -> Result<Self> {
        let path = path.as_ref();
        let rt = runtime()?;
        check_file(path)?;
        let session = if config.provider.is_cpu() {
            build_session(path, config, rt, false, None)?
        } else {
            // ONNX Runtime places nodes a provider cannot take on its CPU kernels and only logs it. Ask
            // for no CPU fallback first: success means the provider runs the whole model; a refusal means
            // part of it would run on the CPU, which strict mode refuses and otherwise is reported.
            match build_session(path, config, rt, true, None) {
                Ok(session) => session,
                Err(Error::Model { message, .. })
                    if is_fallback(&message) && !config.provider.strict =>
                {
                    // The session kept has no verbose logger: ONNX Runtime would call it on every
                    // run. The node report comes from a throwaway session of its own.
                    let session = build_session(path, config, rt, false, None)?;
                    let on_cpu = nodes_on_cpu(path, config, rt).unwrap_or_default();
                    provider::notice(format!(
                        "{}: execution provider {} runs part of the model; ONNX Runtime runs the rest on \
                         the CPU ({}); add strict=true to the provider to refuse this",
                        path.display(),
                        config.provider,
                        if on_cpu.is_empty() {
                            first_line(&message).to_string()
                        } else {
                            format!("nodes on the CPU: {on_cpu}")
                        }
                    ));
                    session
                }
                Err(Error::Model { message, .. }) if is_fallback(&message) => {
                    let on_cpu = nodes_on_cpu(path, config, rt)
                        .map_or_else(String::new, |n| format!(" (nodes it does not take: {n})"));
                    return Err(Error::Runtime(format!(
                        "{}: execution provider {} cannot run the whole model{on_cpu}, and strict=true \
                         refuses a partial CPU fallback: {}",
                        path.display(),
                        config.provider,
                        first_line(&message)
                    )));
                }
                Err(other) => return Err(other),
            }
        };
        let describe = |outlets: &[ort::value::Outlet]| -> Vec<TensorInfo> {
            outlets
                .iter()
                .map(|o| TensorInfo::from_value_type(o.name(), o.dtype()))
                .collect()
        };
        let inputs = describe(session.inputs());
        check_input_sizes(path, &inputs)?;
        let outputs = describe(session.outputs());
        let parameters = session
            .overridable_initializers()
            .iter()
            .map(|p| TensorInfo::from_value_type(p.name(), p.dtype()))
            .collect();
        Ok(Self {
            path: path.to_path_buf(),
            session,
            inputs,
            outputs,
            parameters,
            config: config.clone(),
        })
    }

    /// The file the model came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The name of the model's only input, which must have exactly the shape `dims`; otherwise an
    /// [`Error::Model`] naming the file, `what` the model should be, and both shapes.
    pub fn single_input(&self, dims: &[Option<usize>], what: &str) -> Result<String> {
        match self.inputs() {
            [one] if one.dims == dims => Ok(one.name.clone()),
            other => {
                let expected: Vec<String> = dims
                    .iter()
                    .map(|d| d.map_or("?".to_string(), |d| d.to_string()))
                    .collect();
                let found: Vec<String> = other.iter().map(ToString::to_string).collect();
                Err(Error::model(
                    &self.path,
                    format!(
                        "not {what}: expected one input [{}], found {}",
                        expected.join(","),
                        found.join(", ")
                    ),
                ))
            }
        }
    }

    /// The inputs a run must feed, in model order.
    pub fn inputs(&self) -> &[TensorInfo] {
        &self.inputs
    }

    /// The outputs a run returns, in model order.
    pub fn outputs(&self) -> &[TensorInfo] {
        &self.outputs
    }

    /// Weights the model lets a run override (initializers that are also graph inputs): what an
    /// [`Adapter`] can replace.
    pub fn parameters(&self) -> &[TensorInfo] {
        &self.parameters
    }

    /// The configuration the session was built with.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Runs the model on f32 inputs (by name) and returns every output as f32.
    ///
    /// # Errors
    /// [`Error::Model`] naming the file when an input does not fit (ONNX Runtime's message names the
    /// input and the shapes), an output is not f32, or inference fails.
    pub fn run(&mut self, inputs: &[TensorView<'_>]) -> Result<Vec<Tensor>> {
        self.run_inner(inputs, None)
    }

    /// Runs a model with one square NHWC RGB image input `name` of `side` x `side` (the MediaPipe
    /// detectors and landmark models).
    ///
    /// # Errors
    /// As [`Model::run`].
    pub fn run_square(&mut self, name: &str, side: u32, data: &[f32]) -> Result<Vec<Tensor>> {
        let n = side as usize;
        self.run(&[TensorView {
            name,
            shape: &[1, n, n, 3],
            data,
        }])
    }

    /// Runs the model once on zeros (dynamic dimensions taken as 1), so that ONNX Runtime's
    /// first-run work (memory planning, allocations) is done before the first frame. Models with
    /// inputs other than f32 are left alone.
    ///
    /// # Errors
    /// As [`Model::run`].
    pub fn warm_up(&mut self) -> Result<()> {
        if self.inputs().iter().any(|i| !i.is_f32) {
            return Ok(());
        }
        let shapes: Vec<(String, Vec<usize>)> = self
            .inputs()
            .iter()
            .map(|i| {
                (
                    i.name.clone(),
                    i.dims.iter().map(|d| d.unwrap_or(1)).collect(),
                )
            })
            .collect();
        let zeros: Vec<Vec<f32>> = shapes
            .iter()
            .map(|(_, shape)| vec![0.0; shape.iter().product()])
            .collect();
        let views: Vec<TensorView> = shapes
            .iter()
            .zip(&zeros)
            .map(|((name, shape), data)| TensorView { name, shape, data })
            .collect();
        self.run(&views).map(drop)
    }

    /// As [`Model::run`], with run options (active adapters).
    pub fn run_with(
        &mut self,
        inputs: &[TensorView<'_>],
        config: &RunConfig,
    ) -> Result<Vec<Tensor>> {
        self.run_inner(inputs, Some(config))
    }

    fn run_inner(
        &mut self,
        inputs: &[TensorView<'_>],
        config: Option<&RunConfig>,
    ) -> Result<Vec<Tensor>> {
        let path = self.path.clone();
        let err = |message: String| Error::model(&path, message);
        let mut values: Vec<(&str, SessionInputValue<'_>)> = Vec::with_capacity(inputs.len());
        for input in inputs {
            let expected: usize = input.shape.iter().product();
            if expected != input.data.len() {
                return Err(err(format!(
                    "input '{}': shape {:?} needs {expected} values, {} given",
                    input.name,
                    input.shape,
                    input.data.len()
                )));
            }
            let tensor = TensorRef::from_array_view((input.shape.to_vec(), input.data))
                .map_err(|e| err(format!("input '{}': {e}", input.name)))?;
            values.push((input.name, tensor.into()));
        }
        let outputs = match config {
            Some(c) => self.session.run_with_options(values, &c.options),
            None => self.session.run(values),
        }
        .map_err(|e| err(format!("inference failed: {e}")))?;
        let mut out = Vec::with_capacity(outputs.len());
        for (name, value) in &outputs {
            let (shape, data) = value.try_extract_tensor::<f32>().map_err(|e| {
                err(format!(
                    "output '{name}' is {:?}, not an f32 tensor: {e}",
                    value.dtype()
                ))
            })?;
            out.push(Tensor {
                name: name.to_string(),
                shape: shape.iter().map(|&d| d.max(0) as usize).collect(),
                data: data.to_vec(),
            });
        }
        Ok(out)
    }
}
