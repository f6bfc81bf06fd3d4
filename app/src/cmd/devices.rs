//! `doppel devices`: cameras the system reports.

use doppel_pipeline::source::camera::list_cameras;

pub fn run() -> anyhow::Result<()> {
    let cameras = list_cameras()?;
    if cameras.is_empty() {
        println!("No camera found. Use a video file, an image or `synthetic` as the source.");
        return Ok(());
    }
    println!("Cameras:");
    for camera in cameras {
        println!(
            "  {:<4} {}  ({})",
            camera.index, camera.name, camera.description
        );
    }
    Ok(())
}
