//! Execution providers: where a session runs. CPU is the default; any other is opt-in and must work or
//! fail loudly. ONNX Runtime's own habit (and ort's default) is to log a failed provider and quietly run
//! on the CPU, which turns "the GPU is not used" into a mystery; here a provider that is not in the
//! loaded library, or that refuses to register, is an [`Error::Runtime`] naming it, the providers the
//! library has, and how to get one that has it. A provider that takes only part of a model (the rest
//! runs on ONNX Runtime's CPU kernels) is reported as a notice, or refused with `strict=true`.
//!
//! Each provider is registered the way ONNX Runtime expects it (ort's typed builders): CUDA, TensorRT,
//! ROCm and MIGraphX through their dedicated `SessionOptionsAppendExecutionProvider_*` calls with an
//! options struct, DirectML through its own API, the rest (OpenVINO, XNNPACK, CoreML, WebGPU, ...)
//! through the generic call under the name it accepts. A provider the library does not have built in
//! is looked for as a *plugin* (ONNX Runtime 1.23+ loads `libonnxruntime_providers_<name>_plugin.so`
//! through `RegisterExecutionProviderLibrary`, e.g. the PyPI `onnxruntime-ep-openvino` package) next to
//! the loaded library, in the library's folder or its `<name>/` subfolder.
//!
//! Text form (CLI `--provider`, stage option `provider=`): `name[:key=value]...`, e.g. `cuda`,
//! `cuda:device_id=1`, `openvino:device_type=CPU:strict=true`. Inside a `--stages` list, where `:`
//! separates stage options, write `;` instead: `track:provider=cuda;device_id=1`. `cuda:1` is short for
//! `cuda:device_id=1`. `strict=true` is doppel's own key; every other key goes to ONNX Runtime.

use std::ffi::CString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::Mutex;

use ort::ep::{self, ArbitrarilyConfigurableExecutionProvider, ExecutionProvider as _};
use ort::session::builder::SessionBuilder;
use ort::AsPointer;

use crate::error::{Error, Result};

/// The providers doppel knows by a short name: (kind, names accepted, ONNX Runtime's name).
const KNOWN: [(ProviderKind, &[&str], &str); 10] = [
    (ProviderKind::Cpu, &["cpu"], "CPUExecutionProvider"),
    (ProviderKind::Cuda, &["cuda"], "CUDAExecutionProvider"),
    (
        ProviderKind::TensorRt,
        &["tensorrt", "trt"],
        "TensorrtExecutionProvider",
    ),
    (ProviderKind::Rocm, &["rocm"], "ROCMExecutionProvider"),
    (
        ProviderKind::MiGraphX,
        &["migraphx"],
        "MIGraphXExecutionProvider",
    ),
    (
        ProviderKind::OpenVino,
        &["openvino"],
        "OpenVINOExecutionProvider",
    ),
    (
        ProviderKind::Xnnpack,
        &["xnnpack"],
        "XnnpackExecutionProvider",
    ),
    (
        ProviderKind::DirectMl,
        &["directml", "dml"],
        "DmlExecutionProvider",
    ),
    (ProviderKind::CoreMl, &["coreml"], "CoreMLExecutionProvider"),
    (ProviderKind::WebGpu, &["webgpu"], "WebGpuExecutionProvider"),
];

/// Which provider, without its options.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ProviderKind {
    /// ONNX Runtime's CPU kernels (MLAS). Always available.
    #[default]
    Cpu,
    /// NVIDIA CUDA (the `onnxruntime-gpu` build, CUDA 12 and cuDNN 9).
    Cuda,
    /// NVIDIA TensorRT (the `onnxruntime-gpu` build plus TensorRT libraries).
    TensorRt,
    /// AMD ROCm (removed from ONNX Runtime after 1.22; kept for older libraries).
    Rocm,
    /// AMD MIGraphX.
    MiGraphX,
    /// Intel OpenVINO (built in, e.g. PyPI `onnxruntime-openvino`, or the `onnxruntime-ep-openvino` plugin).
    OpenVino,
    /// XNNPACK (CPU kernels tuned for mobile/ARM; in Android/iOS/WASM builds).
    Xnnpack,
    /// DirectML (Windows).
    DirectMl,
    /// CoreML (Apple).
    CoreMl,
    /// WebGPU (Dawn) provider.
    WebGpu,
    /// Any other provider, by ONNX Runtime's name (`QNNExecutionProvider`, ...), registered through the
    /// generic call.
    Other(String),
}

impl ProviderKind {
    /// ONNX Runtime's name (`CUDAExecutionProvider`); for [`Self::Other`] the name as given, with the
    /// `ExecutionProvider` suffix added when missing.
    pub fn ort_name(&self) -> String {
        match self {
            Self::Other(name) if name.ends_with("ExecutionProvider") => name.clone(),
            Self::Other(name) => format!("{name}ExecutionProvider"),
            known => KNOWN
                .iter()
                .find(|(k, _, _)| k == known)
                .map(|(_, _, n)| (*n).to_string())
                .unwrap_or_default(),
        }
    }

    /// The short name doppel prints and plugin files are named after (`openvino`).
    pub fn short_name(&self) -> String {
        match self {
            Self::Other(name) => name
                .strip_suffix("ExecutionProvider")
                .unwrap_or(name)
                .to_ascii_lowercase(),
            known => KNOWN
                .iter()
                .find(|(k, _, _)| k == known)
                .map(|(_, names, _)| names[0].to_string())
                .unwrap_or_default(),
        }
    }

    fn from_name(name: &str) -> std::result::Result<Self, String> {
        let lower = name.to_ascii_lowercase();
        let bare = lower.strip_suffix("executionprovider").unwrap_or(&lower);
        if let Some((kind, _, _)) = KNOWN
            .iter()
            .find(|(_, names, ort)| names.contains(&bare) || ort.to_ascii_lowercase() == lower)
        {
            return Ok(kind.clone());
        }
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "'{name}' is not a provider name; expected one of {} or an ONNX Runtime provider name",
                KNOWN
                    .iter()
                    .map(|(_, n, _)| n[0])
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Ok(Self::Other(name.to_string()))
    }
}

/// Where a session's operators run, with the provider's options.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecutionProvider {
    pub kind: ProviderKind,
    /// Options passed to ONNX Runtime for this provider (`device_id=1`), in the order given.
    pub options: Vec<(String, String)>,
    /// Refuse a session where part of the model would run on the CPU instead of this provider.
    pub strict: bool,
}

impl ExecutionProvider {
    /// The CPU provider (the default).
    pub fn cpu() -> Self {
        Self::default()
    }

    /// Whether this is the CPU provider.
    pub fn is_cpu(&self) -> bool {
        self.kind == ProviderKind::Cpu
    }

    /// Parses the text form of the module docs (`cuda:device_id=1`, `openvino;strict=true`, `cuda:1`).
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let text = text.trim();
        let mut pieces = text.split([':', ';']);
        let head = pieces.next().unwrap_or_default().trim();
        // `cuda1` / `cuda-1` (older spelling) = `cuda:device_id=1`.
        let (head, glued_device) = match head.to_ascii_lowercase().strip_prefix("cuda") {
            Some(rest)
                if !rest.is_empty() && rest.trim_start_matches('-').parse::<u32>().is_ok() =>
            {
                ("cuda", Some(rest.trim_start_matches('-').to_string()))
            }
            _ => (head, None),
        };
        let kind = ProviderKind::from_name(head)?;
        let mut provider = Self {
            kind,
            options: Vec::new(),
            strict: false,
        };
        if let Some(device) = glued_device {
            provider.options.push(("device_id".to_string(), device));
        }
        for piece in pieces {
            let piece = piece.trim();
            if piece.is_empty() {
                continue;
            }
            match piece.split_once('=') {
                Some(("strict", value)) => {
                    provider.strict = match value {
                        "true" | "1" | "yes" => true,
                        "false" | "0" | "no" => false,
                        other => {
                            return Err(format!(
                                "strict={other} in '{text}': expected true or false"
                            ))
                        }
                    }
                }
                Some((key, value)) if !key.is_empty() => {
                    provider
                        .options
                        .push((key.trim().to_string(), value.trim().to_string()));
                }
                _ if piece.parse::<u32>().is_ok() => {
                    provider
                        .options
                        .push(("device_id".to_string(), piece.to_string()));
                }
                _ => {
                    return Err(format!(
                        "'{piece}' in '{text}' is not key=value; write e.g. cuda:device_id=1"
                    ))
                }
            }
        }
        provider.device_id()?;
        if provider.is_cpu() && !provider.options.is_empty() {
            return Err(format!(
                "'{text}': the CPU provider takes no options (threads are a stage option)"
            ));
        }
        Ok(provider)
    }

    /// The name ONNX Runtime lists the provider under.
    pub fn ort_name(&self) -> String {
        self.kind.ort_name()
    }

    fn option(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn device_id(&self) -> std::result::Result<Option<i32>, String> {
        self.option("device_id")
            .map(|v| {
                v.parse::<i32>()
                    .map_err(|_| format!("device_id={v} is not a device number"))
            })
            .transpose()
    }
}

impl fmt::Display for ExecutionProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.kind.short_name())?;
        for (k, v) in &self.options {
            write!(f, ":{k}={v}")?;
        }
        if self.strict {
            f.write_str(":strict=true")?;
        }
        Ok(())
    }
}

/// The file name a plugin build of `kind` has (`libonnxruntime_providers_openvino_plugin.so`).
pub fn plugin_file_name(kind: &ProviderKind) -> String {
    format!(
        "{}onnxruntime_providers_{}_plugin{}",
        std::env::consts::DLL_PREFIX,
        kind.short_name(),
        std::env::consts::DLL_SUFFIX
    )
}

/// Where a plugin of `kind` is looked for: next to the loaded ONNX Runtime library, then in the
/// `<short name>/` folder beside it (where `scripts/fetch-onnxruntime.sh` and the Debian package put it).
pub fn plugin_candidates(library: &Path, kind: &ProviderKind) -> Vec<PathBuf> {
    let file = plugin_file_name(kind);
    let dir = library.parent().unwrap_or(Path::new("."));
    vec![dir.join(&file), dir.join(kind.short_name()).join(&file)]
}

/// Plugin libraries already registered with the environment (registering twice is an error).
static PLUGINS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// How `provider` will be added to sessions: built into the library, or a plugin found at a path.
enum Route {
    BuiltIn,
    Plugin(PathBuf),
}

fn route(provider: &ExecutionProvider, info: &super::RuntimeInfo) -> Result<Route> {
    let name = provider.ort_name();
    if info.providers.contains(&name) {
        return Ok(Route::BuiltIn);
    }
    let candidates = plugin_candidates(&info.library, &provider.kind);
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Ok(Route::Plugin(found.clone()));
    }
    let hint = match provider.kind {
        ProviderKind::Cuda | ProviderKind::TensorRt => format!(
            "get a CUDA-enabled library with `ORT_WHEEL=onnxruntime-gpu {}` (needs CUDA 12 and cuDNN 9) \
             or point ORT_DYLIB_PATH at one",
            super::runtime::FETCH_COMMAND
        ),
        ProviderKind::OpenVino => format!(
            "get the OpenVINO plugin with `ORT_EP=openvino {}`, or point ORT_DYLIB_PATH at an \
             onnxruntime-openvino build",
            super::runtime::FETCH_COMMAND
        ),
        _ => "point ORT_DYLIB_PATH at an ONNX Runtime build that includes it".to_string(),
    };
    let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
    Err(Error::Runtime(format!(
        "execution provider {provider} ({name}) is not in the loaded library {} (it has: {}) and no \
         plugin was found (looked for {}); {hint}; doppel does not fall back to the CPU silently: choose \
         provider=cpu to run there",
        info.library.display(),
        info.providers.join(", "),
        looked.join(", ")
    )))
}

/// Adds `provider` to a session being built. CPU needs nothing (it is always there, and is also where
/// ONNX Runtime places operators another provider lacks).
///
/// # Errors
/// [`Error::Runtime`] when neither the loaded library nor a plugin has the provider, or registering it
/// fails (bad options, missing driver libraries).
pub(crate) fn register(
    builder: SessionBuilder,
    provider: &ExecutionProvider,
    rt: &super::runtime::Runtime,
) -> Result<SessionBuilder> {
    if provider.is_cpu() {
        return Ok(builder);
    }
    let fail = |e: String| {
        Error::Runtime(format!(
            "execution provider {provider} ({}) failed to register: {e}; doppel does not fall back to \
             the CPU silently: fix the provider or choose provider=cpu",
            provider.ort_name()
        ))
    };
    match route(provider, &rt.info)? {
        Route::BuiltIn => {
            let mut builder = builder;
            register_built_in(&mut builder, provider).map_err(fail)?;
            Ok(builder)
        }
        Route::Plugin(path) => register_plugin(builder, provider, rt, &path).map_err(fail),
    }
}

fn with_options<E: ArbitrarilyConfigurableExecutionProvider>(
    mut ep: E,
    provider: &ExecutionProvider,
) -> E {
    for (k, v) in &provider.options {
        ep = ep.with_arbitrary_config(k, v);
    }
    ep
}

/// Options a provider with a fixed options struct accepts: only `device_id`.
fn only_device_id(provider: &ExecutionProvider) -> std::result::Result<i32, String> {
    if let Some((key, _)) = provider.options.iter().find(|(k, _)| k != "device_id") {
        return Err(format!(
            "option '{key}' is not one doppel can pass to {} (it takes device_id)",
            provider.ort_name()
        ));
    }
    Ok(provider.device_id()?.unwrap_or(0))
}

fn register_built_in(
    builder: &mut SessionBuilder,
    provider: &ExecutionProvider,
) -> std::result::Result<(), String> {
    let text = |e: ort::Error| e.to_string();
    match &provider.kind {
        ProviderKind::Cpu => Ok(()),
        ProviderKind::Cuda => with_options(ep::CUDA::default(), provider)
            .register(builder)
            .map_err(text),
        ProviderKind::TensorRt => with_options(ep::TensorRT::default(), provider)
            .register(builder)
            .map_err(text),
        ProviderKind::Rocm => with_options(ep::ROCm::default(), provider)
            .register(builder)
            .map_err(text),
        ProviderKind::MiGraphX => ep::MIGraphX::default()
            .with_device_id(only_device_id(provider)?)
            .register(builder)
            .map_err(text),
        ProviderKind::DirectMl => ep::DirectML::default()
            .with_device_id(only_device_id(provider)?)
            .register(builder)
            .map_err(text),
        ProviderKind::OpenVino => with_options(ep::OpenVINO::default(), provider)
            .register(builder)
            .map_err(text),
        ProviderKind::Xnnpack => with_options(ep::XNNPACK::default(), provider)
            .register(builder)
            .map_err(text),
        ProviderKind::CoreMl => with_options(ep::CoreML::default(), provider)
            .register(builder)
            .map_err(text),
        ProviderKind::WebGpu => with_options(ep::WebGPU::default(), provider)
            .register(builder)
            .map_err(text),
        ProviderKind::Other(_) => append_generic(builder, provider).map_err(text),
    }
}

/// Registers a provider by ONNX Runtime's name through the generic `SessionOptionsAppendExecutionProvider`
/// (which accepts canonical names since ONNX Runtime 1.22).
fn append_generic(
    builder: &mut SessionBuilder,
    provider: &ExecutionProvider,
) -> std::result::Result<(), ort::Error> {
    let cstring = |text: &str| {
        CString::new(text).map_err(|_| ort::Error::new(format!("'{text}' contains a NUL byte")))
    };
    let name = cstring(&provider.ort_name())?;
    let keys = provider
        .options
        .iter()
        .map(|(k, _)| cstring(k))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let values = provider
        .options
        .iter()
        .map(|(_, v)| cstring(v))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let key_ptrs: Vec<_> = keys.iter().map(|k| k.as_ptr()).collect();
    let value_ptrs: Vec<_> = values.iter().map(|v| v.as_ptr()).collect();
    let api = ort::api();
    // SAFETY: the library is loaded (a builder exists); the name and option arrays outlive the call and
    // the session options pointer is the builder's own.
    unsafe {
        ort::Error::result_from_status((api.SessionOptionsAppendExecutionProvider)(
            builder.ptr_mut(),
            name.as_ptr(),
            if keys.is_empty() {
                ptr::null()
            } else {
                key_ptrs.as_ptr()
            },
            if keys.is_empty() {
                ptr::null()
            } else {
                value_ptrs.as_ptr()
            },
            keys.len(),
        ))
    }
}

/// Registers the plugin library once per process, then adds the provider's device(s) to the session.
/// `device_type=CPU|GPU|NPU` picks the provider's device of that kind (default: its first device); the
/// other options go to the provider.
fn register_plugin(
    builder: SessionBuilder,
    provider: &ExecutionProvider,
    rt: &super::runtime::Runtime,
    path: &Path,
) -> std::result::Result<SessionBuilder, String> {
    let name = provider.ort_name();
    {
        let mut registered = PLUGINS
            .lock()
            .map_err(|_| "plugin registry poisoned".to_string())?;
        if !registered.contains(&name) {
            rt.env
                .register_ep_library(&name, path)
                .map_err(|e| format!("plugin {}: {e}", path.display()))?;
            registered.push(name.clone());
        }
    }
    let want = provider.option("device_type").map(str::to_ascii_uppercase);
    let devices: Vec<_> = rt
        .env
        .devices()
        .filter(|d| d.ep().is_ok_and(|ep| ep == name))
        .collect();
    let kinds: Vec<String> = devices
        .iter()
        .map(|d| format!("{:?}", d.hardware_device().ty()))
        .collect();
    let chosen = match &want {
        Some(want) => devices
            .into_iter()
            .find(|d| format!("{:?}", d.hardware_device().ty()) == *want),
        None => devices.into_iter().next(),
    };
    let Some(device) = chosen else {
        return Err(format!(
            "plugin {} offers no {} device (it has: {})",
            path.display(),
            want.as_deref().unwrap_or("usable"),
            if kinds.is_empty() {
                "none".to_string()
            } else {
                kinds.join(", ")
            }
        ));
    };
    let options: Vec<(String, String)> = provider
        .options
        .iter()
        .filter(|(k, _)| k != "device_type")
        .map(|(k, v)| (format!("{name}.{k}"), v.clone()))
        .collect();
    builder
        .with_devices([device], Some(&options))
        .map_err(|e| e.to_string())
}

/// Notices about sessions (a provider that took only part of a model), drained by the caller that
/// shows them to the user ([`take_notices`]).
static NOTICES: Mutex<Vec<String>> = Mutex::new(Vec::new());

pub(crate) fn notice(text: String) {
    if let Ok(mut notices) = NOTICES.lock() {
        if !notices.contains(&text) {
            notices.push(text);
        }
    }
}

/// The provider notices recorded so far (partial CPU fallback), emptying the list.
pub fn take_notices() -> Vec<String> {
    NOTICES
        .lock()
        .map(|mut n| std::mem::take(&mut *n))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_provider_names_and_options() {
        assert_eq!(
            ExecutionProvider::parse("CPU"),
            Ok(ExecutionProvider::cpu())
        );
        let cuda = ExecutionProvider::parse("cuda").unwrap();
        assert_eq!(cuda.kind, ProviderKind::Cuda);
        assert!(cuda.options.is_empty());
        for text in [
            "cuda:1",
            "cuda1",
            "cuda:device_id=1",
            "CUDAExecutionProvider;device_id=1",
        ] {
            let p = ExecutionProvider::parse(text).unwrap();
            assert_eq!(p.kind, ProviderKind::Cuda, "{text}");
            assert_eq!(p.options, vec![("device_id".into(), "1".into())], "{text}");
        }
        let ov = ExecutionProvider::parse("openvino;device_type=CPU;strict=true").unwrap();
        assert_eq!(ov.kind, ProviderKind::OpenVino);
        assert!(ov.strict);
        assert_eq!(ov.to_string(), "openvino:device_type=CPU:strict=true");
        assert_eq!(
            ExecutionProvider::parse("trt").unwrap().ort_name(),
            "TensorrtExecutionProvider"
        );
        assert_eq!(
            ExecutionProvider::parse("xnnpack").unwrap().ort_name(),
            "XnnpackExecutionProvider"
        );
        assert_eq!(
            ExecutionProvider::parse("QNN").unwrap().ort_name(),
            "QNNExecutionProvider"
        );
        assert!(ExecutionProvider::parse("cuda:x").is_err());
        assert!(ExecutionProvider::parse("a b").is_err());
        assert!(ExecutionProvider::parse("cpu:device_id=1").is_err());
        assert!(ExecutionProvider::parse("cuda:strict=maybe").is_err());
    }

    #[test]
    fn plugins_are_looked_for_next_to_the_library() {
        let c = plugin_candidates(
            Path::new("/x/lib/libonnxruntime.so"),
            &ProviderKind::OpenVino,
        );
        assert_eq!(
            c,
            vec![
                PathBuf::from("/x/lib/libonnxruntime_providers_openvino_plugin.so"),
                PathBuf::from("/x/lib/openvino/libonnxruntime_providers_openvino_plugin.so"),
            ]
        );
    }
}
