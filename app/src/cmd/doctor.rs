//! `doppel doctor`: what this installation can use. Each line says what was found or what to do;
//! the exit status is non-zero when something doppel needs is missing.

use std::process::ExitCode;

use doppel_pipeline::gpu::GpuContext;
use doppel_pipeline::infer::runtime_info;
use doppel_pipeline::locate::{Locator, DATA_DIR_VAR};
use doppel_pipeline::media::ffmpeg_version;
use doppel_pipeline::source::camera::list_cameras;

pub fn run() -> anyhow::Result<ExitCode> {
    let mut ok = true;
    match runtime_info() {
        Ok(info) => {
            outln!(
                "ONNX Runtime: {} ({})",
                info.version,
                info.library.display()
            )?;
            outln!("  providers:  {}", info.providers.join(", "))?;
        }
        Err(e) => {
            ok = false;
            outln!("ONNX Runtime: MISSING: {e}")?;
        }
    }
    match GpuContext::shared() {
        Ok(gpu) => outln!("GPU (wgpu):   {}", gpu.describe())?,
        Err(e) => {
            ok = false;
            outln!("GPU (wgpu):   MISSING: {e}")?;
        }
    }
    outln!("FFmpeg:       {}", ffmpeg_version())?;
    // Models are needed by the model stages only, so a missing data folder is reported, not fatal.
    let locator = Locator::from_env();
    match locator.data_dir() {
        Some(dir) => outln!("data folder:  {} (models/)", dir.display())?,
        None => outln!(
            "data folder:  not found (no models/ in: {}); set {DATA_DIR_VAR}",
            locator
                .places()
                .iter()
                .map(|(dir, _)| dir.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )?,
    }
    match list_cameras() {
        Ok(c) if c.is_empty() => outln!("cameras:      none found")?,
        Ok(c) => outln!(
            "cameras:      {}",
            c.iter()
                .map(|c| format!("{} ({})", c.name, c.index))
                .collect::<Vec<_>>()
                .join(", ")
        )?,
        Err(e) => outln!("cameras:      cannot list: {e}")?,
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
