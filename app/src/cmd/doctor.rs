//! `doppel doctor`: what this installation can use.

use std::process::ExitCode;

use doppel_pipeline::source::camera::list_cameras;

pub fn run() -> anyhow::Result<ExitCode> {
    let mut ok = true;
    match list_cameras() {
        Ok(c) if c.is_empty() => println!("cameras:      none found"),
        Ok(c) => println!(
            "cameras:      {}",
            c.iter()
                .map(|c| format!("{} ({})", c.name, c.index))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Err(e) => {
            ok = false;
            println!("cameras:      error: {e}");
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
