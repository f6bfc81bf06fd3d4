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
use nokhwa::utils::{
    ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType,
};
use nokhwa::Camera;

use super::spec::InputSpec;
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

/// What a camera input asks for: `camera[:N]` or `/dev/videoN`, then optional
/// `width=`, `height=`, `fps=` and `format=mjpeg|yuyv|nv12` settings
/// (`camera:0:width=1280:height=720:fps=30:format=mjpeg`). Unset values are the camera's choice:
/// the highest frame rate, then the largest picture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CameraSpec {
    pub index: u32,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub fps: Option<u32>,
    pub format: Option<FrameFormat>,
}

impl CameraSpec {
    /// Parses a camera input with the sources' one spec parser.
    ///
    /// # Errors
    /// [`Error::Input`] naming the input and the setting that is wrong.
    pub fn parse(input: &str) -> Result<Self> {
        let spec = InputSpec::parse(input)?;
        let shape = "expected camera, camera:N or /dev/videoN, then :width=W:height=H:fps=F:format=mjpeg|yuyv|nv12";
        let number = match (spec.head, spec.values.as_slice()) {
            ("camera", []) => Some("0"),
            ("camera", [n]) => Some(*n),
            (head, []) => head.strip_prefix("/dev/video"),
            _ => None,
        };
        let index = number
            .and_then(|n| n.parse::<u32>().ok())
            .ok_or_else(|| Error::input(input, shape))?;
        let mut camera = CameraSpec {
            index,
            width: None,
            height: None,
            fps: None,
            format: None,
        };
        for (key, value) in &spec.settings {
            match key.as_str() {
                "width" => camera.width = Some(spec.number(key, value, 16..=8192)? as u32),
                "height" => camera.height = Some(spec.number(key, value, 16..=8192)? as u32),
                "fps" => camera.fps = Some(spec.number(key, value, 1..=1000)? as u32),
                "format" => {
                    camera.format = Some(match value.to_ascii_lowercase().as_str() {
                        "mjpeg" | "mjpg" => FrameFormat::MJPEG,
                        "yuyv" | "yuy2" => FrameFormat::YUYV,
                        "nv12" => FrameFormat::NV12,
                        _ => {
                            return Err(Error::input(
                                input,
                                format!("format={value} is not a camera format; expected mjpeg, yuyv or nv12"),
                            ))
                        }
                    });
                }
                _ => return Err(spec.unknown(key, "width, height, fps or format")),
            }
        }
        Ok(camera)
    }

    /// Whether anything beyond the camera's number was asked for.
    pub fn is_constrained(&self) -> bool {
        self.width.is_some() || self.height.is_some() || self.fps.is_some() || self.format.is_some()
    }

    fn accepts(&self, offer: &CameraFormat) -> bool {
        self.width.is_none_or(|w| offer.width() == w)
            && self.height.is_none_or(|h| offer.height() == h)
            && self.fps.is_none_or(|f| offer.frame_rate() == f)
            && self.format.is_none_or(|f| offer.format() == f)
    }

    /// What was asked, in words: `1280x720 at 30 fps in MJPEG`.
    fn wanted(&self) -> String {
        let size = match (self.width, self.height) {
            (Some(w), Some(h)) => format!("{w}x{h}"),
            (Some(w), None) => format!("width {w}"),
            (None, Some(h)) => format!("height {h}"),
            (None, None) => "any size".to_string(),
        };
        let fps = self.fps.map_or(String::new(), |f| format!(" at {f} fps"));
        let format = self.format.map_or(String::new(), |f| format!(" in {f}"));
        format!("{size}{fps}{format}")
    }
}

/// One format as users read it: `1280x720 30 fps MJPEG`.
fn describe(offer: &CameraFormat) -> String {
    format!(
        "{}x{} {} fps {}",
        offer.width(),
        offer.height(),
        offer.frame_rate(),
        offer.format()
    )
}

/// Picks the format a camera that offers `offered` should stream for `spec`: among the offers that
/// give everything asked, the highest frame rate, then the largest picture. When none does, the
/// message lists what the camera offers, nearest first, on one line.
///
/// # Errors
/// The message for [`Error::Device`].
pub fn choose_format(
    spec: &CameraSpec,
    offered: &[CameraFormat],
) -> std::result::Result<CameraFormat, String> {
    if let Some(best) = offered
        .iter()
        .filter(|o| spec.accepts(o))
        .max_by_key(|o| (o.frame_rate(), o.width() * o.height()))
    {
        return Ok(*best);
    }
    if offered.is_empty() {
        return Err(format!(
            "cannot give {}: it lists no formats",
            spec.wanted()
        ));
    }
    // Nearest: fewest settings missed, then the size and rate closest to those asked.
    let distance = |o: &CameraFormat| {
        let missed = [
            spec.width.is_some_and(|w| o.width() != w),
            spec.height.is_some_and(|h| o.height() != h),
            spec.fps.is_some_and(|f| o.frame_rate() != f),
            spec.format.is_some_and(|f| o.format() != f),
        ]
        .iter()
        .filter(|m| **m)
        .count();
        let off = |want: Option<u32>, have: u32| want.map_or(0, |w| w.abs_diff(have));
        (
            missed,
            off(spec.width, o.width()) + off(spec.height, o.height()),
            off(spec.fps, o.frame_rate()),
        )
    };
    let mut list: Vec<&CameraFormat> = offered.iter().collect();
    list.sort_by_key(|o| distance(o));
    let mut names: Vec<String> = list.iter().map(|o| describe(o)).collect();
    names.dedup();
    Err(format!(
        "cannot give {}; nearest: {}; it offers {}",
        spec.wanted(),
        names[0],
        names.join(", ")
    ))
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
    /// Opens the camera an input string names ([`CameraSpec`]), at what it asks or else the
    /// camera's highest frame rate.
    pub fn open(input: &str) -> Result<Self> {
        let spec = CameraSpec::parse(input)?;
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
                move || capture(name, spec, ready_tx, (frame_tx, stale), thread_stop)
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
    spec: CameraSpec,
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
    let opened = Camera::new(CameraIndex::Index(spec.index), format)
        .map_err(|e| device_error(format!("cannot open: {e}")))
        .and_then(|mut camera| {
            if spec.is_constrained() {
                let offered = camera
                    .compatible_camera_formats()
                    .map_err(|e| device_error(format!("cannot list its formats: {e}")))?;
                let chosen = choose_format(&spec, &offered).map_err(&device_error)?;
                camera
                    .set_camera_requset(RequestedFormat::new::<RgbAFormat>(
                        RequestedFormatType::Exact(chosen),
                    ))
                    .map_err(|e| device_error(format!("cannot set {}: {e}", describe(&chosen))))?;
            }
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
        trim: None,
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
        assert_eq!(CameraSpec::parse("camera:3").unwrap().index, 3);
        assert_eq!(CameraSpec::parse("camera").unwrap().index, 0);
        assert_eq!(CameraSpec::parse("/dev/video2").unwrap().index, 2);
        assert!(CameraSpec::parse("camera:x").is_err());
    }

    #[test]
    fn camera_spec_with_size_rate_and_format() {
        let spec = CameraSpec::parse("camera:0:width=1280:height=720:fps=30:format=mjpeg").unwrap();
        assert_eq!(
            spec,
            CameraSpec {
                index: 0,
                width: Some(1280),
                height: Some(720),
                fps: Some(30),
                format: Some(FrameFormat::MJPEG),
            }
        );
        assert!(spec.is_constrained());
        let spec = CameraSpec::parse("/dev/video4:format=NV12:fps=60").unwrap();
        assert_eq!(
            (spec.index, spec.fps, spec.format),
            (4, Some(60), Some(FrameFormat::NV12))
        );
        assert_eq!(
            CameraSpec::parse("camera:1:format=yuyv").unwrap().format,
            Some(FrameFormat::YUYV)
        );
        assert!(!CameraSpec::parse("camera:1").unwrap().is_constrained());
    }

    #[test]
    fn bad_camera_settings_name_the_input_and_what_is_expected() {
        for (bad, needle) in [
            ("camera:0:format=h264", "expected mjpeg, yuyv or nv12"),
            ("camera:0:width=0", "width=0 is not a whole number from 16"),
            ("camera:0:fps=fast", "fps=fast"),
            (
                "camera:0:zoom=2",
                "unknown key 'zoom'; expected width, height, fps or format",
            ),
            ("camera:0:1", "expected camera, camera:N"),
            ("camera:fps=30:0", "key=value"),
        ] {
            let err = CameraSpec::parse(bad).unwrap_err().to_string();
            assert!(err.contains(bad) && err.contains(needle), "{bad}: {err}");
        }
    }

    fn offer(w: u32, h: u32, fps: u32, format: FrameFormat) -> CameraFormat {
        CameraFormat::new_from(w, h, format, fps)
    }

    /// What a typical UVC webcam lists: MJPEG up to 1080p30, YUYV 720p at 10 fps, 480p at 30.
    fn webcam() -> Vec<CameraFormat> {
        vec![
            offer(640, 480, 30, FrameFormat::YUYV),
            offer(1280, 720, 10, FrameFormat::YUYV),
            offer(640, 480, 30, FrameFormat::MJPEG),
            offer(1280, 720, 30, FrameFormat::MJPEG),
            offer(1920, 1080, 30, FrameFormat::MJPEG),
            offer(1280, 720, 60, FrameFormat::MJPEG),
        ]
    }

    #[test]
    fn the_format_asked_for_is_the_one_streamed() {
        let pick = |text: &str| choose_format(&CameraSpec::parse(text).unwrap(), &webcam());
        assert_eq!(
            pick("camera:0:width=1280:height=720:fps=30:format=mjpeg"),
            Ok(offer(1280, 720, 30, FrameFormat::MJPEG))
        );
        // Unset values: the highest rate, then the largest picture.
        assert_eq!(
            pick("camera:0:width=1280:height=720"),
            Ok(offer(1280, 720, 60, FrameFormat::MJPEG))
        );
        assert_eq!(
            pick("camera:0:format=yuyv"),
            Ok(offer(640, 480, 30, FrameFormat::YUYV))
        );
        assert_eq!(
            pick("camera:0:fps=30"),
            Ok(offer(1920, 1080, 30, FrameFormat::MJPEG))
        );
    }

    #[test]
    fn a_format_the_camera_lacks_lists_the_nearest_and_the_offers() {
        let spec = CameraSpec::parse("camera:0:width=1280:height=720:fps=30:format=yuyv").unwrap();
        let err = choose_format(&spec, &webcam()).unwrap_err();
        assert!(
            // One setting missed either way; the size and rate kept beat the format kept.
            err.starts_with(
                "cannot give 1280x720 at 30 fps in YUYV; nearest: 1280x720 30 fps MJPEG;"
            ),
            "{err}"
        );
        assert!(
            err.contains("it offers ") && err.contains("1920x1080 30 fps MJPEG"),
            "{err}"
        );
        assert!(!err.contains('\n'), "one line: {err}");
        let err = choose_format(&spec, &[]).unwrap_err();
        assert!(err.contains("lists no formats"), "{err}");
    }
}
