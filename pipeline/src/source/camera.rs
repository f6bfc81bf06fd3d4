//! Cameras through nokhwa (V4L2 on Linux, AVFoundation on macOS, Media Foundation on Windows).
//!
//! Inputs are written `camera` (the first camera), `camera:N`, or a V4L2 path such as `/dev/video2`.
//! Frames are stamped with the time since the stream opened (microseconds), so live timing is real.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Instant;

use crossbeam_channel::{bounded, Receiver, Sender};

use crate::graph::newest::{send_newest, Handed};

use nokhwa::pixel_format::RgbAFormat;
use nokhwa::utils::{ApiBackend, CameraIndex, RequestedFormat, RequestedFormatType};
use nokhwa::Camera;

use super::{Source, SourceInfo};
use crate::error::{Error, Result};
use crate::frame::{Frame, Rational, Timestamp};

/// A camera the system reports.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CameraDevice {
    pub index: String,
    pub name: String,
    pub description: String,
}

/// Lists cameras. An empty list is not an error: callers say "no camera found".
pub fn list_cameras() -> Result<Vec<CameraDevice>> {
    // nokhwa's V4L2 query lists /dev/video* nodes; with none it may return an error rather than an
    // empty list, which means the same thing to a user.
    if cfg!(target_os = "linux") && !any_video_node() {
        return Ok(Vec::new());
    }
    let cameras = nokhwa::query(ApiBackend::Auto).map_err(|e| Error::Device {
        device: "cameras".to_string(),
        message: format!("cannot list cameras: {e}"),
    })?;
    Ok(cameras
        .into_iter()
        .map(|c| CameraDevice {
            index: c.index().to_string(),
            name: c.human_name(),
            description: c.description().to_string(),
        })
        .collect())
}

fn any_video_node() -> bool {
    std::fs::read_dir("/dev")
        .map(|entries| {
            entries
                .filter_map(std::result::Result::ok)
                .any(|e| e.file_name().to_string_lossy().starts_with("video"))
        })
        .unwrap_or(false)
}

/// True when an input string names a camera.
pub fn is_camera_input(input: &str) -> bool {
    input == "camera" || input.starts_with("camera:") || input.starts_with("/dev/video")
}

/// Parses `camera`, `camera:N` or `/dev/videoN` into a nokhwa index.
fn parse_index(input: &str) -> Result<CameraIndex> {
    let number = if input == "camera" {
        Some("0")
    } else if let Some(n) = input.strip_prefix("camera:") {
        Some(n)
    } else {
        input.strip_prefix("/dev/video")
    };
    number
        .and_then(|n| n.parse::<u32>().ok())
        .map(CameraIndex::Index)
        .ok_or_else(|| Error::Device {
            device: input.to_string(),
            message: "expected camera, camera:N or /dev/videoN".to_string(),
        })
}

/// A live camera stream. nokhwa's `Camera` is not `Send`, so it lives on a capture thread of its own
/// that hands frames over through a one-slot channel (newest frame wins, as everywhere live).
pub struct CameraSource {
    info: SourceInfo,
    frames: Receiver<Result<Frame>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl CameraSource {
    /// Opens the camera an input string names, at its highest frame rate.
    pub fn open(input: &str) -> Result<Self> {
        let index = parse_index(input)?;
        if list_cameras()?.is_empty() {
            return Err(Error::Device {
                device: input.to_string(),
                message: "no camera found (no video devices on this system); use a video file, an image or `synthetic` as the source".to_string(),
            });
        }
        let (ready_tx, ready_rx) = bounded::<Result<SourceInfo>>(1);
        let (frame_tx, frames) = bounded::<Result<Frame>>(1);
        let stop = Arc::new(AtomicBool::new(false));
        let name = input.to_string();
        let thread_stop = stop.clone();
        let thread = thread::Builder::new()
            .name("doppel-camera".into())
            .spawn({
                let stale = frames.clone();
                move || capture(name, index, ready_tx, (frame_tx, stale), thread_stop)
            })
            .map_err(|e| Error::Device {
                device: input.to_string(),
                message: format!("cannot start the capture thread: {e}"),
            })?;
        let info = ready_rx.recv().unwrap_or_else(|_| {
            Err(Error::Device {
                device: input.to_string(),
                message: "the capture thread ended before the camera opened".to_string(),
            })
        })?;
        Ok(Self {
            info,
            frames,
            stop,
            thread: Some(thread),
        })
    }
}

/// The capture thread: opens the camera, reports its format, then streams until told to stop.
fn capture(
    name: String,
    index: CameraIndex,
    ready: Sender<Result<SourceInfo>>,
    // The slot's sender, and a receiver of it to take out a frame the consumer has not taken.
    (frames, stale): (Sender<Result<Frame>>, Receiver<Result<Frame>>),
    stop: Arc<AtomicBool>,
) {
    let device_error = |message: String| Error::Device {
        device: name.clone(),
        message,
    };
    let format = RequestedFormat::new::<RgbAFormat>(RequestedFormatType::AbsoluteHighestFrameRate);
    let opened = Camera::new(index, format)
        .map_err(|e| device_error(format!("cannot open: {e}")))
        .and_then(|mut camera| {
            camera
                .open_stream()
                .map_err(|e| device_error(format!("cannot start streaming: {e}")))?;
            Ok(camera)
        });
    let mut camera = match opened {
        Ok(camera) => camera,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let resolution = camera.resolution();
    let fps = camera.frame_rate().max(1);
    let info = SourceInfo {
        name: format!("{name} ({})", camera.info().human_name()),
        path: None,
        width: resolution.width(),
        height: resolution.height(),
        frame_rate: Some(Rational::new(fps as i32, 1)),
        time_base: Rational::new(1, 1_000_000),
        frame_count: None,
        has_audio: false,
        live: true,
    };
    let time_base = info.time_base;
    let shown = info.name.clone();
    if ready.send(Ok(info)).is_err() {
        return;
    }
    let started = Instant::now();
    let mut seq = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let frame = camera
            .frame()
            .map_err(|e| Error::Device {
                device: shown.clone(),
                message: format!("capture failed (unplugged?): {e}"),
            })
            .and_then(|buffer| {
                buffer
                    .decode_image::<RgbAFormat>()
                    .map_err(|e| Error::Device {
                        device: shown.clone(),
                        message: format!("cannot decode a captured frame: {e}"),
                    })
            })
            .map(|image| {
                let micros = started.elapsed().as_micros() as i64;
                let frame = Frame::new(seq, Timestamp::new(micros, time_base), image);
                seq += 1;
                frame
            });
        let failed = frame.is_err();
        // Newest wins: a frame the consumer has not taken yet is replaced by this one.
        if send_newest(&frames, &stale, frame, || false) == Handed::Closed {
            break;
        }
        if failed {
            break;
        }
    }
    // Releasing the device lets the next run (or another app) open it.
    let _ = camera.stop_stream();
}

impl Source for CameraSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        match self.frames.recv() {
            Ok(frame) => frame.map(Some),
            Err(_) => Ok(None),
        }
    }
}

impl Drop for CameraSource {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camera_inputs() {
        assert!(is_camera_input("camera"));
        assert!(is_camera_input("camera:2"));
        assert!(is_camera_input("/dev/video4"));
        assert!(!is_camera_input("cam.mp4"));
        assert!(matches!(parse_index("camera:3"), Ok(CameraIndex::Index(3))));
        assert!(parse_index("camera:x").is_err());
    }
}
