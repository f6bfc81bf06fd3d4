//! `doppel devices`: cameras the system reports, the hardware video encoders the linked FFmpeg has
//! (`process --codec`), and the v4l2loopback outputs `--vcam` can write to.

use std::path::{Path, PathBuf};

use doppel_pipeline::source::camera::list_cameras;

/// Where the kernel describes the v4l2loopback module and video devices.
const MODULE_DIR: &str = "/sys/module/v4l2loopback";
const VIDEO_CLASS_DIR: &str = "/sys/class/video4linux";

pub fn run() -> anyhow::Result<()> {
    let cameras = list_cameras()?;
    if cameras.is_empty() {
        outln!("No camera found. Use a video file, an image or `synthetic` as the source.")?;
    } else {
        outln!("Cameras:")?;
        for camera in cameras {
            outln!(
                "  {:<4} {}  ({})",
                camera.index,
                camera.name,
                camera.description
            )?;
        }
    }
    let hardware = doppel_pipeline::media::hardware_video_encoders();
    if hardware.is_empty() {
        outln!("Hardware video encoders (FFmpeg, for process --codec): none in this FFmpeg build")?;
    } else {
        outln!(
            "Hardware video encoders (FFmpeg, for process --codec; usable when the device and its driver are there):"
        )?;
        outln!("  {}", hardware.join(", "))?;
    }
    let outputs = loopback_devices(Path::new(VIDEO_CLASS_DIR));
    if outputs.is_empty() {
        outln!(
            "Virtual camera outputs (v4l2loopback): none ({})",
            loopback_status()
        )?;
    } else {
        outln!("Virtual camera outputs (v4l2loopback, for --vcam):")?;
        for (dev, name) in outputs {
            outln!("  {}  {name}", dev.display())?;
        }
    }
    Ok(())
}

/// v4l2loopback devices: video nodes the kernel lists as virtual (no hardware parent), which is how
/// v4l2loopback creates them. Returns `/dev/videoN` and the device's name, sorted by number.
pub fn loopback_devices(class_dir: &Path) -> Vec<(PathBuf, String)> {
    let Ok(entries) = std::fs::read_dir(class_dir) else {
        return Vec::new();
    };
    let mut out: Vec<(u32, PathBuf, String)> = entries
        .flatten()
        .filter_map(|e| {
            let node = e.file_name().to_string_lossy().into_owned();
            let number = node.strip_prefix("video")?.parse::<u32>().ok()?;
            let real = std::fs::canonicalize(e.path()).ok()?;
            if !real.starts_with("/sys/devices/virtual") {
                return None;
            }
            let name = std::fs::read_to_string(e.path().join("name"))
                .map(|n| n.trim().to_string())
                .unwrap_or_default();
            Some((number, PathBuf::from("/dev").join(&node), name))
        })
        .collect();
    out.sort_by_key(|(n, _, _)| *n);
    out.into_iter().map(|(_, d, n)| (d, n)).collect()
}

/// Whether the v4l2loopback module is loaded and with `exclusive_caps=1` (browsers and most video
/// apps list a loopback device as a camera only then).
pub fn loopback_status() -> String {
    loopback_status_in(Path::new(MODULE_DIR))
}

fn loopback_status_in(module: &Path) -> String {
    if !module.is_dir() {
        return "module not loaded; `sudo modprobe v4l2loopback devices=1 video_nr=10 \
                card_label=doppel exclusive_caps=1`"
            .to_string();
    }
    let caps = std::fs::read_to_string(module.join("parameters/exclusive_caps"))
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    // One value per device, `Y`/`N` (or 1/0), comma-separated.
    let values: Vec<&str> = caps.split(',').filter(|v| !v.is_empty()).collect();
    let on = values.iter().filter(|v| matches!(**v, "Y" | "1")).count();
    match (values.is_empty(), on) {
        (true, _) => "loaded (exclusive_caps unknown)".to_string(),
        (false, 0) => "loaded WITHOUT exclusive_caps=1: browsers will not list it as a camera; reload with \
                       `sudo modprobe -r v4l2loopback && sudo modprobe v4l2loopback exclusive_caps=1`"
            .to_string(),
        (false, n) => format!("loaded, exclusive_caps=1 on {n} of {} device(s)", values.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_status_reads_the_module_parameters() {
        let dir = tempfile::tempdir().unwrap();
        assert!(loopback_status_in(&dir.path().join("absent")).contains("not loaded"));
        std::fs::create_dir_all(dir.path().join("parameters")).unwrap();
        std::fs::write(dir.path().join("parameters/exclusive_caps"), "N,N\n").unwrap();
        assert!(loopback_status_in(dir.path()).contains("WITHOUT exclusive_caps=1"));
        std::fs::write(dir.path().join("parameters/exclusive_caps"), "Y,N\n").unwrap();
        assert_eq!(
            loopback_status_in(dir.path()),
            "loaded, exclusive_caps=1 on 1 of 2 device(s)"
        );
    }
}
