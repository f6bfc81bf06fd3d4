//! `doppel devices`: cameras the system reports.

use doppel_pipeline::source::camera::list_cameras;

pub fn run() -> anyhow::Result<()> {
    let cameras = list_cameras()?;
    if cameras.is_empty() {
        outln!("No camera found. Use a video file, an image or `synthetic` as the source.")?;
        return Ok(());
    }
    outln!("Cameras:")?;
    for camera in cameras {
        outln!(
            "  {:<4} {}  ({})",
            camera.index,
            camera.name,
            camera.description
        )?;
    }
    Ok(())
}
