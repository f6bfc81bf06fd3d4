//! The virtual camera: writes frames to a v4l2loopback device (Linux) that video-call apps (Chrome,
//! Firefox, Zoom, OBS) then open as a webcam.
//!
//! Opening: `open(2)` the device, `VIDIOC_QUERYCAP` (it must be a video *output* device; v4l2loopback
//! reports driver `v4l2 loopback`), `VIDIOC_S_FMT` with progressive YUYV 4:2:2 (BT.601 limited range:
//! the format browsers and Zoom accept from any webcam) or RGB24, then `VIDIOC_S_PARM` for the frame
//! rate. Each frame is resized to the negotiated size when it differs, converted, and written with
//! one `write(2)`.
//!
//! A writer thread ([`keeper`]) owns the device: it writes the frames, a placeholder with a message
//! while the pipeline stalls, and rides out a reader opening or closing the device.
//!
//! Errors say what to do: a missing device gives the `modprobe` line; a device that is not a
//! loopback output says what it is.
//!
//! Why not the `v4l` crate (0.14.0, already in the build through nokhwa): it would do the same four
//! calls, but its `src/v4l2/vidioc.rs` builds ioctl numbers with the asm-generic layout on every
//! architecture (14 size bits, `_IOC_READ` = 2 at bit 30), so on powerpc, mips and sparc, whose
//! kernels use 13 size bits and 3 direction bits (read 2, write 4, at bit 29), its `VIDIOC_QUERYCAP`
//! (an `_IOR`) is 0x80685600 where the kernel expects 0x40685600, and the first call fails. The
//! `_IOWR` calls happen to agree (3 << 30 == 6 << 29). [`v4l2`] carries both layouts.
//!
//! Example: `doppel live --source camera --stages track,avatar --vcam /dev/video10 --no-window`

pub mod convert;
pub mod keeper;
pub mod v4l2;

use std::fs::File;
use std::path::{Path, PathBuf};

use fast_image_resize::Resizer;
use image::RgbaImage;

use super::{Sink, SinkSummary};
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::imageops::{resize_rgba, Filter};
pub use v4l2::{Negotiated, PixelFormat};

/// The command that creates a device Chrome and Zoom list (`exclusive_caps=1` makes the device
/// announce itself as a capture device to readers once doppel writes to it).
pub const MODPROBE_HINT: &str =
    "sudo modprobe v4l2loopback devices=1 video_nr=10 card_label=\"doppel\" exclusive_caps=1";

/// Settings of the virtual camera.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VcamSettings {
    pub device: PathBuf,
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

/// The virtual-camera sink.
pub struct VcamSink {
    device: PathBuf,
    keeper: keeper::Keeper,
    negotiated: Negotiated,
    card: String,
    resizer: Resizer,
}

fn device_error(device: &Path, message: impl Into<String>) -> Error {
    Error::Device {
        device: device.display().to_string(),
        message: message.into(),
    }
}

#[cfg(target_os = "linux")]
fn ioctl<T>(file: &File, request: u32, arg: &mut T) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: `arg` is a live, exclusively borrowed #[repr(C)] struct of the size encoded in
    // `request` (see the ABI tests in `v4l2`), and the fd is open for the duration of the call.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), request as _, arg as *mut T) };
    if rc < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

impl VcamSink {
    /// Opens and configures the device.
    ///
    /// # Errors
    /// [`Error::Device`] naming the device: missing (with the `modprobe` line), not a video device,
    /// not an output, no permission, or a format the driver refuses.
    pub fn open(settings: &VcamSettings) -> Result<Self> {
        let device = settings.device.as_path();
        if let Err(e) = settings.format.check_size(settings.width, settings.height) {
            return Err(device_error(
                device,
                format!("{e}; choose another --vcam-size"),
            ));
        }
        if settings.width == 0 || settings.height == 0 {
            return Err(device_error(device, "the frame size must not be empty"));
        }
        Self::open_linux(settings)
    }

    #[cfg(not(target_os = "linux"))]
    fn open_linux(settings: &VcamSettings) -> Result<Self> {
        Err(device_error(
            &settings.device,
            "the virtual camera needs Linux and v4l2loopback",
        ))
    }

    #[cfg(target_os = "linux")]
    fn open_linux(settings: &VcamSettings) -> Result<Self> {
        use std::os::unix::fs::FileTypeExt;

        let device = settings.device.as_path();
        let meta = match std::fs::metadata(device) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(device_error(
                    device,
                    format!(
                        "no such device; load the v4l2loopback module to create one \
                         (Debian/Ubuntu: sudo apt install v4l2loopback-dkms), e.g.\n  {MODPROBE_HINT}\n\
                         then use --vcam /dev/video10"
                    ),
                ))
            }
            Err(e) => return Err(device_error(device, format!("cannot inspect: {e}"))),
        };
        if !meta.file_type().is_char_device() {
            let what = if meta.is_dir() {
                "a folder"
            } else if meta.is_file() {
                "a regular file"
            } else {
                "not a device"
            };
            return Err(device_error(
                device,
                format!(
                    "is {what}, not a video device; a virtual camera is a v4l2loopback device such \
                     as /dev/video10, created with\n  {MODPROBE_HINT}"
                ),
            ));
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(device)
            .map_err(|e| {
                let hint = if e.kind() == std::io::ErrorKind::PermissionDenied {
                    " (add yourself to the 'video' group, or check the device's permissions)"
                } else {
                    ""
                };
                device_error(device, format!("cannot open for writing: {e}{hint}"))
            })?;

        let mut cap: v4l2::v4l2_capability = empty_capability();
        ioctl(&file, v4l2::VIDIOC_QUERYCAP, &mut cap).map_err(|e| {
            device_error(
                device,
                format!(
                    "is not a V4L2 video device (VIDIOC_QUERYCAP: {e}); a virtual camera is a \
                     v4l2loopback device, created with\n  {MODPROBE_HINT}"
                ),
            )
        })?;
        let kind = v4l2::DeviceKind::from_caps(&cap);
        if !kind.is_output() {
            return Err(device_error(
                device,
                format!(
                    "is {}, not a v4l2loopback output; pick the loopback device (see \
                     `v4l2-ctl --list-devices`) or create one with\n  {MODPROBE_HINT}",
                    kind.describe()
                ),
            ));
        }

        let mut format = v4l2::request_format(settings.width, settings.height, settings.format);
        ioctl(&file, v4l2::VIDIOC_S_FMT, &mut format).map_err(|e| {
            device_error(
                device,
                format!(
                    "refused {}x{} {} (VIDIOC_S_FMT: {e}); another program may be writing to it",
                    settings.width, settings.height, settings.format
                ),
            )
        })?;
        let negotiated = v4l2::validate_reply(settings.format, &format)
            .map_err(|message| device_error(device, message))?;
        // The frame rate is advisory (readers see it in their format list); a driver without
        // S_PARM on outputs still streams.
        let mut parm = v4l2::request_fps(settings.fps);
        let _ = ioctl(&file, v4l2::VIDIOC_S_PARM, &mut parm);

        let keeper = keeper::Keeper::start(
            Box::new(file),
            negotiated,
            settings.fps,
            keeper::DEFAULT_STALL,
        )
        .map_err(|e| device_error(device, format!("cannot start its writer thread: {e}")))?;
        Ok(Self {
            device: device.to_path_buf(),
            keeper,
            negotiated,
            card: kind.card,
            resizer: Resizer::new(),
        })
    }

    fn write_error(&self, message: &str) -> Error {
        device_error(
            &self.device,
            format!("cannot write a frame: {message} (was the v4l2loopback module removed?)"),
        )
    }

    pub fn negotiated(&self) -> Negotiated {
        self.negotiated
    }

    /// The device's name as apps list it (v4l2loopback's `card_label`).
    pub fn card(&self) -> &str {
        &self.card
    }
}

#[cfg(target_os = "linux")]
fn empty_capability() -> v4l2::v4l2_capability {
    v4l2::v4l2_capability {
        driver: [0; 16],
        card: [0; 32],
        bus_info: [0; 32],
        version: 0,
        capabilities: 0,
        device_caps: 0,
        reserved: [0; 3],
    }
}

/// Converts `image` into `buffer` in the negotiated layout; `false` when the sizes do not fit.
pub fn convert_into(image: &RgbaImage, negotiated: &Negotiated, buffer: &mut [u8]) -> bool {
    let pitch = negotiated.bytes_per_line as usize;
    match negotiated.format {
        PixelFormat::Yuyv => convert::rgba_to_yuyv(image, buffer, pitch),
        PixelFormat::Rgb24 => convert::rgba_to_rgb24(image, buffer, pitch),
        PixelFormat::I420 => {
            convert::rgba_to_yuv420(image, buffer, pitch, convert::Chroma420::Planar)
        }
        PixelFormat::Nv12 => {
            convert::rgba_to_yuv420(image, buffer, pitch, convert::Chroma420::Interleaved)
        }
    }
}

impl Sink for VcamSink {
    fn write(&mut self, frame: &Frame) -> Result<()> {
        let n = self.negotiated;
        let resized;
        let pixels = frame.cpu_image()?;
        let image = if pixels.dimensions() == (n.width, n.height) {
            pixels
        } else {
            resized = resize_rgba(
                &mut self.resizer,
                pixels,
                n.width,
                n.height,
                Filter::Bilinear,
            )?;
            &resized
        };
        let mut buffer = vec![0; n.frame_bytes as usize];
        if !convert_into(image, &n, &mut buffer) {
            return Err(device_error(
                &self.device,
                format!(
                    "internal size mismatch: {}x{} frame for a {}x{} {} buffer",
                    image.width(),
                    image.height(),
                    n.width,
                    n.height,
                    n.format
                ),
            ));
        }
        self.keeper
            .send(buffer, image)
            .map_err(|e| self.write_error(&e))
    }

    fn finish(&mut self) -> Result<SinkSummary> {
        let counts = self.keeper.finish().map_err(|e| self.write_error(&e))?;
        let mut target = format!("{} ({})", self.device.display(), self.card);
        if counts.placeholders > 0 || counts.skipped > 0 {
            target.push_str(&format!(
                "; {} placeholder frames while the pipeline stalled, {} frames skipped while the \
                 device was busy",
                counts.placeholders, counts.skipped
            ));
        }
        Ok(SinkSummary {
            frames: counts.frames,
            target,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(device: &str) -> VcamSettings {
        VcamSettings {
            device: device.into(),
            format: PixelFormat::Yuyv,
            width: 64,
            height: 48,
            fps: 30,
        }
    }

    fn message(device: &str) -> String {
        match VcamSink::open(&settings(device)) {
            Ok(_) => panic!("{device} opened as a virtual camera"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn missing_device_gives_the_modprobe_line() {
        let e = message("/dev/video_doppel_missing");
        assert!(e.contains("/dev/video_doppel_missing"), "{e}");
        assert!(e.contains("no such device"), "{e}");
        assert!(e.contains(MODPROBE_HINT), "{e}");
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn dev_null_is_not_a_video_device() {
        let e = message("/dev/null");
        assert!(e.contains("/dev/null"), "{e}");
        assert!(e.contains("not a V4L2 video device"), "{e}");
        assert!(e.contains("VIDIOC_QUERYCAP"), "{e}");
        assert!(e.contains("modprobe v4l2loopback"), "{e}");
    }

    #[test]
    fn regular_files_and_folders_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("video10");
        std::fs::write(&file, b"").unwrap();
        let e = message(&file.display().to_string());
        assert!(e.contains("is a regular file, not a video device"), "{e}");
        let e = message(&dir.path().display().to_string());
        assert!(e.contains("is a folder"), "{e}");
    }

    #[test]
    fn odd_width_is_refused_for_yuyv() {
        let mut s = settings("/dev/null");
        s.width = 63;
        let e = VcamSink::open(&s)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("even width"), "{e}");
    }

    #[test]
    fn frames_are_converted_into_the_padded_layout() {
        let n = Negotiated {
            width: 2,
            height: 2,
            format: PixelFormat::Rgb24,
            bytes_per_line: 8,
            frame_bytes: 16,
        };
        let img = RgbaImage::from_fn(2, 2, |x, y| image::Rgba([x as u8, y as u8, 9, 255]));
        let mut buf = vec![7; 16];
        assert!(convert_into(&img, &n, &mut buf));
        assert_eq!(buf, vec![0, 0, 9, 1, 0, 9, 7, 7, 0, 1, 9, 1, 1, 9, 7, 7]);
    }
}
