//! Execution providers: where a session runs. CPU is the default; any other is opt-in and must work or
//! fail loudly. ONNX Runtime's own habit (and ort's default) is to log a failed provider and quietly run
//! on the CPU, which turns "the GPU is not used" into a mystery; here a provider that is not in the
//! loaded library, or that refuses to register, is an [`Error::Runtime`] naming it, the providers the
//! library has, and how to get one that has it.
//!
//! Registration calls the ONNX Runtime C API directly (through `ort::api()`), so no ort cargo feature is
//! needed per provider: the loaded library decides what exists.

use std::ffi::{c_char, CString};
use std::fmt;
use std::ptr;

use ort::session::builder::SessionBuilder;
use ort::AsPointer;

use crate::error::{Error, Result};

/// Where a session's operators run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ExecutionProvider {
    /// ONNX Runtime's CPU kernels (MLAS). Always available.
    #[default]
    Cpu,
    /// NVIDIA CUDA on GPU `device` (needs the `onnxruntime-gpu` build of the library, CUDA and cuDNN).
    Cuda { device: u32 },
    /// Any other provider compiled into the library, by ONNX Runtime's name (`XnnpackExecutionProvider`,
    /// `OpenVINOExecutionProvider`, ...), registered through the generic C API call without options.
    Named(String),
}

impl ExecutionProvider {
    /// Parses `cpu`, `cuda`, `cuda:N` (or `cudaN`), or an ONNX Runtime provider name with or without its
    /// `ExecutionProvider` suffix (`xnnpack`, `OpenVINO`, `XnnpackExecutionProvider`).
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let t = text.trim();
        let lower = t.to_ascii_lowercase();
        if lower == "cpu" || lower == "cpuexecutionprovider" {
            return Ok(Self::Cpu);
        }
        if lower == "cuda" || lower == "cudaexecutionprovider" {
            return Ok(Self::Cuda { device: 0 });
        }
        if let Some(rest) = lower.strip_prefix("cuda") {
            let rest = rest.trim_start_matches([':', '-']);
            return rest
                .parse::<u32>()
                .map(|device| Self::Cuda { device })
                .map_err(|_| format!("'{t}' is not a CUDA device; write cuda or cuda:N"));
        }
        if t.is_empty() || !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "'{t}' is not a provider name; expected cpu, cuda, cuda:N or an ONNX Runtime provider name"
            ));
        }
        Ok(Self::Named(t.to_string()))
    }

    /// The name ONNX Runtime lists the provider under, matched against `available` for [`Self::Named`]
    /// (case-insensitive, suffix optional).
    pub fn ort_name(&self, available: &[String]) -> String {
        match self {
            Self::Cpu => "CPUExecutionProvider".to_string(),
            Self::Cuda { .. } => "CUDAExecutionProvider".to_string(),
            Self::Named(name) => {
                let want = name.to_ascii_lowercase();
                let want = want.strip_suffix("executionprovider").unwrap_or(&want);
                available
                    .iter()
                    .find(|a| {
                        let a = a.to_ascii_lowercase();
                        a.strip_suffix("executionprovider").unwrap_or(&a) == want
                    })
                    .cloned()
                    .unwrap_or_else(|| {
                        if name.ends_with("ExecutionProvider") {
                            name.clone()
                        } else {
                            format!("{name}ExecutionProvider")
                        }
                    })
            }
        }
    }
}

impl fmt::Display for ExecutionProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cpu => f.write_str("cpu"),
            Self::Cuda { device } => write!(f, "cuda:{device}"),
            Self::Named(name) => f.write_str(name),
        }
    }
}

/// Adds `provider` to a session being built. CPU needs nothing (it is always there, and is also where
/// ONNX Runtime places operators another provider lacks).
///
/// # Errors
/// [`Error::Runtime`] when the loaded library does not have the provider or registering it fails.
pub(crate) fn register(
    builder: &mut SessionBuilder,
    provider: &ExecutionProvider,
    available: &[String],
) -> Result<()> {
    if *provider == ExecutionProvider::Cpu {
        return Ok(());
    }
    let name = provider.ort_name(available);
    if !available.contains(&name) {
        let hint = match provider {
            ExecutionProvider::Cuda { .. } => format!(
                "; get a CUDA-enabled library with `ORT_WHEEL=onnxruntime-gpu {}` (needs CUDA 12 and cuDNN 9) \
                 or point ORT_DYLIB_PATH at one",
                super::runtime::FETCH_COMMAND
            ),
            _ => "; point ORT_DYLIB_PATH at an ONNX Runtime build that includes it".to_string(),
        };
        return Err(Error::Runtime(format!(
            "execution provider {provider} ({name}) is not in the loaded library (it has: {}){hint}; \
             doppel does not fall back to the CPU silently: choose provider=cpu to run there",
            available.join(", ")
        )));
    }
    let result = match provider {
        ExecutionProvider::Cpu => Ok(()),
        ExecutionProvider::Cuda { device } => append_cuda(builder, *device),
        ExecutionProvider::Named(_) => append_named(builder, &name),
    };
    result.map_err(|e| {
        Error::Runtime(format!(
            "execution provider {provider} ({name}) failed to register: {e}; doppel does not fall back to \
             the CPU silently: fix the provider or choose provider=cpu"
        ))
    })
}

fn cstring(text: &str) -> std::result::Result<CString, ort::Error> {
    CString::new(text).map_err(|_| ort::Error::new(format!("'{text}' contains a NUL byte")))
}

/// Registers CUDA through `SessionOptionsAppendExecutionProvider_CUDA_V2`.
fn append_cuda(builder: &mut SessionBuilder, device: u32) -> std::result::Result<(), ort::Error> {
    let api = ort::api();
    let keys = [cstring("device_id")?];
    let values = [cstring(&device.to_string())?];
    let key_ptrs: Vec<*const c_char> = keys.iter().map(|k| k.as_ptr()).collect();
    let value_ptrs: Vec<*const c_char> = values.iter().map(|v| v.as_ptr()).collect();
    let mut options = ptr::null_mut();
    // SAFETY: the library is loaded (a builder exists); `options` is created, filled and released here,
    // the key/value arrays outlive the calls, and the session options pointer is the builder's own.
    unsafe {
        ort::Error::result_from_status((api.CreateCUDAProviderOptions)(&mut options))?;
        let result = ort::Error::result_from_status((api.UpdateCUDAProviderOptions)(
            options,
            key_ptrs.as_ptr(),
            value_ptrs.as_ptr(),
            key_ptrs.len(),
        ))
        .and_then(|()| {
            ort::Error::result_from_status((api.SessionOptionsAppendExecutionProvider_CUDA_V2)(
                builder.ptr_mut(),
                options,
            ))
        });
        (api.ReleaseCUDAProviderOptions)(options);
        result
    }
}

/// Registers a provider by name through the generic `SessionOptionsAppendExecutionProvider`.
fn append_named(builder: &mut SessionBuilder, name: &str) -> std::result::Result<(), ort::Error> {
    let api = ort::api();
    let name = cstring(name)?;
    // SAFETY: as above; no options are passed (null arrays of length 0).
    unsafe {
        ort::Error::result_from_status((api.SessionOptionsAppendExecutionProvider)(
            builder.ptr_mut(),
            name.as_ptr(),
            ptr::null(),
            ptr::null(),
            0,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_provider_names() {
        assert_eq!(ExecutionProvider::parse("CPU"), Ok(ExecutionProvider::Cpu));
        assert_eq!(
            ExecutionProvider::parse("cuda"),
            Ok(ExecutionProvider::Cuda { device: 0 })
        );
        assert_eq!(
            ExecutionProvider::parse("cuda:1"),
            Ok(ExecutionProvider::Cuda { device: 1 })
        );
        assert!(ExecutionProvider::parse("cuda:x").is_err());
        assert!(ExecutionProvider::parse("a b").is_err());
        let available = vec![
            "XnnpackExecutionProvider".to_string(),
            "CPUExecutionProvider".to_string(),
        ];
        let x = ExecutionProvider::parse("xnnpack").unwrap();
        assert_eq!(x.ort_name(&available), "XnnpackExecutionProvider");
        let o = ExecutionProvider::parse("OpenVINO").unwrap();
        assert_eq!(o.ort_name(&available), "OpenVINOExecutionProvider");
    }
}
