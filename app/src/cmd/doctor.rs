//! `doppel doctor`: what this installation can use and where each piece was found. Each line says
//! what was found or what to do; the exit status is non-zero when something doppel needs is missing
//! or a model file does not match `models/SHA256SUMS`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use doppel_pipeline::gpu::GpuContext;
use doppel_pipeline::infer::{plugin_candidates, runtime_info, ProviderKind};
use doppel_pipeline::locate::{Locator, DATA_DIR_VAR};
use doppel_pipeline::media::ffmpeg_version;
use doppel_pipeline::source::camera::list_cameras;
use sha2::{Digest, Sha256};

/// The data doppel ships, as the locator finds it: (what, path under a data folder, is a folder).
const PIECES: [(&str, &str, bool); 4] = [
    ("models", "models", true),
    ("skills", "assets/skills", true),
    ("avatars", "assets/avatars", true),
    ("sample clip", "assets/bigbuckbunny.mp4", false),
];

/// Plugin providers doctor looks for next to the library.
const PLUGINS: [ProviderKind; 1] = [ProviderKind::OpenVino];

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
            for kind in PLUGINS {
                if let Some(path) = plugin_candidates(&info.library, &kind)
                    .into_iter()
                    .find(|p| p.is_file())
                {
                    outln!("  plugin:     {} ({})", kind.ort_name(), path.display())?;
                }
            }
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
    // Models are needed by the model stages only, so a missing data folder is reported, not fatal;
    // a model that is there but damaged is an error.
    let locator = Locator::from_env();
    for (what, relative, is_dir) in PIECES {
        match find(&locator, relative, is_dir) {
            Some((path, why)) => outln!("{:<13} {} ({why})", format!("{what}:"), path.display())?,
            None => outln!(
                "{:<13} not found (no {relative} in: {}); set {DATA_DIR_VAR}",
                format!("{what}:"),
                locator
                    .places()
                    .iter()
                    .map(|(dir, _)| dir.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )?,
        }
    }
    // The checksums of the models folder in use (the one shown above), not of another place.
    let sums = find(&locator, "models", true).map(|(dir, _)| dir.join("SHA256SUMS"));
    if let Some(sums) = sums.as_ref().filter(|s| !s.is_file()) {
        outln!("  checksums:  cannot check: no {}", sums.display())?;
    } else if let Some(sums) = sums {
        match check_models(&sums) {
            Ok(report) if report.bad.is_empty() => outln!(
                "  checksums:  {} of {} models match SHA256SUMS",
                report.good,
                report.good
            )?,
            Ok(report) => {
                ok = false;
                outln!(
                    "  checksums:  {} of {} models match SHA256SUMS; BAD: {} (reinstall, or re-fetch them)",
                    report.good,
                    report.good + report.bad.len(),
                    report.bad.join("; ")
                )?;
            }
            Err(e) => {
                ok = false;
                outln!("  checksums:  cannot check: {e:#}")?;
            }
        }
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
    outln!("v4l2loopback: {}", super::devices::loopback_status())?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The first place of `locator` that has `relative` (a file, or a folder when `is_dir`), with why.
fn find(locator: &Locator, relative: &str, is_dir: bool) -> Option<(PathBuf, &'static str)> {
    locator.places().iter().find_map(|(dir, why)| {
        let path = dir.join(relative);
        let there = if is_dir {
            path.is_dir()
        } else {
            path.is_file()
        };
        there.then_some((path, *why))
    })
}

struct ChecksumReport {
    good: usize,
    /// `file: what is wrong` for each model that is missing or differs.
    bad: Vec<String>,
}

/// Checks every file `SHA256SUMS` lists (`<hex>  <name>` lines, as `sha256sum` writes them) in the
/// folder that holds it.
fn check_models(sums: &Path) -> anyhow::Result<ChecksumReport> {
    let text =
        std::fs::read_to_string(sums).map_err(|e| anyhow::anyhow!("{}: {e}", sums.display()))?;
    let dir = sums.parent().unwrap_or(Path::new("."));
    let mut report = ChecksumReport {
        good: 0,
        bad: Vec::new(),
    };
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((want, name)) = line.split_once(char::is_whitespace) else {
            anyhow::bail!(
                "{} line {}: expected '<sha256>  <file>'",
                sums.display(),
                number + 1
            );
        };
        let name = name.trim().trim_start_matches('*');
        match sha256_file(&dir.join(name)) {
            Ok(got) if got.eq_ignore_ascii_case(want) => report.good += 1,
            Ok(got) => report
                .bad
                .push(format!("{name}: sha256 {got}, expected {want}")),
            Err(e) => report.bad.push(format!("{name}: {e}")),
        }
    }
    Ok(report)
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}
