//! The few pieces of the Linux V4L2 ABI the virtual camera needs, written from
//! `include/uapi/linux/videodev2.h` and `include/uapi/asm-generic/ioctl.h`: the capability and
//! format structs, their ioctl numbers, and the format negotiation as pure functions (so they are
//! tested without a device).

#![allow(non_camel_case_types)]

use std::fmt;

/// `struct v4l2_capability` (104 bytes).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct v4l2_capability {
    pub driver: [u8; 16],
    pub card: [u8; 32],
    pub bus_info: [u8; 32],
    pub version: u32,
    pub capabilities: u32,
    pub device_caps: u32,
    pub reserved: [u32; 3],
}

/// `struct v4l2_pix_format` (48 bytes). `ycbcr_enc` shares its place with `hsv_enc` in the kernel.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct v4l2_pix_format {
    pub width: u32,
    pub height: u32,
    pub pixelformat: u32,
    pub field: u32,
    pub bytesperline: u32,
    pub sizeimage: u32,
    pub colorspace: u32,
    pub priv_: u32,
    pub flags: u32,
    pub ycbcr_enc: u32,
    pub quantization: u32,
    pub xfer_func: u32,
}

/// The union in `struct v4l2_format`: 200 bytes, aligned like a pointer (the kernel's union holds
/// `struct v4l2_window`, which has pointers), so the struct is 208 bytes on 64-bit targets.
#[repr(C)]
#[derive(Clone, Copy)]
pub union v4l2_format_union {
    pub pix: v4l2_pix_format,
    pub raw_data: [u8; 200],
    _align: [usize; 0],
}

/// `struct v4l2_format`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct v4l2_format {
    pub type_: u32,
    pub fmt: v4l2_format_union,
}

impl v4l2_format {
    /// The pixel format member (the only one an output of type [`V4L2_BUF_TYPE_VIDEO_OUTPUT`] uses).
    pub fn pix(&self) -> v4l2_pix_format {
        // SAFETY: every member of the union is plain integers and `pix` lies within `raw_data`'s
        // 200 initialised bytes, so any bit pattern is a valid `v4l2_pix_format`.
        unsafe { self.fmt.pix }
    }
}

/// `struct v4l2_fract`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct v4l2_fract {
    pub numerator: u32,
    pub denominator: u32,
}

/// `struct v4l2_outputparm` (40 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct v4l2_outputparm {
    pub capability: u32,
    pub outputmode: u32,
    pub timeperframe: v4l2_fract,
    pub extendedmode: u32,
    pub writebuffers: u32,
    pub reserved: [u32; 4],
}

/// The union in `struct v4l2_streamparm` (200 bytes, no pointers inside).
#[repr(C)]
#[derive(Clone, Copy)]
pub union v4l2_streamparm_union {
    pub output: v4l2_outputparm,
    pub raw_data: [u8; 200],
}

/// `struct v4l2_streamparm` (204 bytes).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct v4l2_streamparm {
    pub type_: u32,
    pub parm: v4l2_streamparm_union,
}

pub const V4L2_BUF_TYPE_VIDEO_OUTPUT: u32 = 2;
pub const V4L2_FIELD_NONE: u32 = 1;
pub const V4L2_COLORSPACE_SMPTE170M: u32 = 1;
pub const V4L2_COLORSPACE_SRGB: u32 = 8;
pub const V4L2_QUANTIZATION_FULL_RANGE: u32 = 1;
pub const V4L2_QUANTIZATION_LIM_RANGE: u32 = 2;

pub const V4L2_CAP_VIDEO_CAPTURE: u32 = 0x0000_0001;
pub const V4L2_CAP_VIDEO_OUTPUT: u32 = 0x0000_0002;
pub const V4L2_CAP_VIDEO_M2M: u32 = 0x0000_8000;
pub const V4L2_CAP_READWRITE: u32 = 0x0100_0000;
pub const V4L2_CAP_STREAMING: u32 = 0x0400_0000;
pub const V4L2_CAP_DEVICE_CAPS: u32 = 0x8000_0000;

/// `v4l2_fourcc(a, b, c, d)`.
pub const fn fourcc(code: &[u8; 4]) -> u32 {
    (code[0] as u32) | ((code[1] as u32) << 8) | ((code[2] as u32) << 16) | ((code[3] as u32) << 24)
}

pub const V4L2_PIX_FMT_YUYV: u32 = fourcc(b"YUYV");
pub const V4L2_PIX_FMT_RGB24: u32 = fourcc(b"RGB3");
/// Planar YUV 4:2:0: the Y plane, then U, then V (each chroma plane a quarter of Y).
pub const V4L2_PIX_FMT_YUV420: u32 = fourcc(b"YU12");
/// Semi-planar YUV 4:2:0: the Y plane, then one plane of interleaved U, V pairs.
pub const V4L2_PIX_FMT_NV12: u32 = fourcc(b"NV12");

// asm-generic/ioctl.h (x86, ARM, AArch64, RISC-V): nr 8 bits, type 8 bits, size 14 bits, dir 2 bits.
#[cfg(not(any(
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "sparc",
    target_arch = "sparc64"
)))]
mod ioc_layout {
    pub const WRITE: u32 = 1;
    pub const READ: u32 = 2;
    pub const DIR_SHIFT: u32 = 30;
}
// arch/{powerpc,mips,sparc}/include/uapi/asm/ioctl.h: size 13 bits, dir 3 bits with READ 2, WRITE 4.
#[cfg(any(
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "sparc",
    target_arch = "sparc64"
))]
mod ioc_layout {
    pub const WRITE: u32 = 4;
    pub const READ: u32 = 2;
    pub const DIR_SHIFT: u32 = 29;
}
const IOC_WRITE: u32 = ioc_layout::WRITE;
const IOC_READ: u32 = ioc_layout::READ;

const fn ioc(dir: u32, ty: u8, nr: u8, size: usize) -> u32 {
    (dir << ioc_layout::DIR_SHIFT) | ((size as u32) << 16) | ((ty as u32) << 8) | nr as u32
}

/// `_IOR('V', 0, struct v4l2_capability)`.
pub const VIDIOC_QUERYCAP: u32 = ioc(IOC_READ, b'V', 0, size_of::<v4l2_capability>());
/// `_IOWR('V', 4, struct v4l2_format)`.
pub const VIDIOC_G_FMT: u32 = ioc(IOC_READ | IOC_WRITE, b'V', 4, size_of::<v4l2_format>());
/// `_IOWR('V', 5, struct v4l2_format)`.
pub const VIDIOC_S_FMT: u32 = ioc(IOC_READ | IOC_WRITE, b'V', 5, size_of::<v4l2_format>());
/// `_IOWR('V', 22, struct v4l2_streamparm)`.
pub const VIDIOC_S_PARM: u32 = ioc(IOC_READ | IOC_WRITE, b'V', 22, size_of::<v4l2_streamparm>());

/// The pixel formats the virtual camera writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelFormat {
    /// YUYV 4:2:2, BT.601 limited range: what Chrome, Firefox and Zoom accept from any webcam.
    Yuyv,
    /// Packed RGB, 3 bytes per pixel.
    Rgb24,
    /// Planar YUV 4:2:0 (I420 / YU12), BT.601 limited range: what WebRTC works in.
    I420,
    /// Semi-planar YUV 4:2:0 (NV12), BT.601 limited range: what hardware encoders take.
    Nv12,
}

impl PixelFormat {
    pub const NAMES: [&'static str; 4] = ["yuyv", "rgb24", "i420", "nv12"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "yuyv" => Some(Self::Yuyv),
            "rgb24" => Some(Self::Rgb24),
            "i420" | "yu12" | "yuv420" => Some(Self::I420),
            "nv12" => Some(Self::Nv12),
            _ => None,
        }
    }

    pub fn fourcc(self) -> u32 {
        match self {
            Self::Yuyv => V4L2_PIX_FMT_YUYV,
            Self::Rgb24 => V4L2_PIX_FMT_RGB24,
            Self::I420 => V4L2_PIX_FMT_YUV420,
            Self::Nv12 => V4L2_PIX_FMT_NV12,
        }
    }

    /// Bytes of one row of `width` pixels (of the Y plane for the planar formats).
    pub fn line_bytes(self, width: u32) -> u32 {
        match self {
            Self::Yuyv => 2 * width,
            Self::Rgb24 => 3 * width,
            Self::I420 | Self::Nv12 => width,
        }
    }

    /// Bytes of a frame of `height` rows `pitch` bytes apart (planar: plus the chroma planes).
    pub fn frame_bytes(self, pitch: u32, height: u32) -> u32 {
        match self {
            Self::Yuyv | Self::Rgb24 => pitch * height,
            Self::I420 | Self::Nv12 => pitch * height + pitch * height.div_ceil(2),
        }
    }

    /// Whether pixels pair up across columns (4:2:2, 4:2:0) and rows (4:2:0): such sizes must
    /// be even (browsers also garble odd widths).
    pub fn needs_even(self) -> (bool, bool) {
        match self {
            Self::Yuyv => (true, false),
            Self::Rgb24 => (false, false),
            Self::I420 | Self::Nv12 => (true, true),
        }
    }

    /// Why `width` x `height` does not suit this format, if it does not.
    pub fn check_size(self, width: u32, height: u32) -> Result<(), String> {
        let (even_w, even_h) = self.needs_even();
        if (even_w && width % 2 != 0) || (even_h && height % 2 != 0) {
            let what = if even_h { "width and height" } else { "width" };
            return Err(format!("{self} needs an even {what}, not {width}x{height}"));
        }
        Ok(())
    }
}

impl fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Yuyv => "YUYV",
            Self::Rgb24 => "RGB24",
            Self::I420 => "I420",
            Self::Nv12 => "NV12",
        })
    }
}

/// A fourcc as text (`YUYV`), for messages.
pub fn fourcc_name(code: u32) -> String {
    code.to_le_bytes()
        .iter()
        .map(|&b| if b.is_ascii_graphic() { b as char } else { '?' })
        .collect()
}

/// A NUL-padded C string field as text.
pub fn c_text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// The format to ask for: progressive frames of `width` x `height` in `format`, rows packed, with
/// the colour description browsers expect (BT.601 limited range for YUV, sRGB for RGB24).
pub fn request_format(width: u32, height: u32, format: PixelFormat) -> v4l2_format {
    let bytesperline = format.line_bytes(width);
    let (colorspace, quantization) = match format {
        PixelFormat::Yuyv | PixelFormat::I420 | PixelFormat::Nv12 => {
            (V4L2_COLORSPACE_SMPTE170M, V4L2_QUANTIZATION_LIM_RANGE)
        }
        PixelFormat::Rgb24 => (V4L2_COLORSPACE_SRGB, V4L2_QUANTIZATION_FULL_RANGE),
    };
    let pix = v4l2_pix_format {
        width,
        height,
        pixelformat: format.fourcc(),
        field: V4L2_FIELD_NONE,
        bytesperline,
        sizeimage: format.frame_bytes(bytesperline, height),
        colorspace,
        quantization,
        ..Default::default()
    };
    let mut raw = v4l2_format {
        type_: V4L2_BUF_TYPE_VIDEO_OUTPUT,
        fmt: v4l2_format_union { raw_data: [0; 200] },
    };
    raw.fmt.pix = pix;
    raw
}

/// What the driver agreed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Negotiated {
    pub width: u32,
    pub height: u32,
    pub format: PixelFormat,
    /// Bytes per row in the device's buffer (may exceed width x bytes per pixel).
    pub bytes_per_line: u32,
    /// Bytes of one frame as written.
    pub frame_bytes: u32,
}

/// Checks the driver's reply to `VIDIOC_S_FMT`: the pixel format must be the one asked for (a
/// driver that substitutes another would get garbled pictures); the size may change (frames are
/// then resized to it); the row pitch and frame size must hold the picture.
///
/// # Errors
/// A message saying what the device offered instead.
pub fn validate_reply(requested: PixelFormat, reply: &v4l2_format) -> Result<Negotiated, String> {
    if reply.type_ != V4L2_BUF_TYPE_VIDEO_OUTPUT {
        return Err(format!(
            "the driver answered for buffer type {} instead of video output ({V4L2_BUF_TYPE_VIDEO_OUTPUT})",
            reply.type_
        ));
    }
    let pix = reply.pix();
    if pix.pixelformat != requested.fourcc() {
        return Err(format!(
            "the device does not take {requested}; it offered {} (try --vcam-format {})",
            fourcc_name(pix.pixelformat),
            PixelFormat::NAMES
                .iter()
                .find(
                    |n| PixelFormat::from_name(n).map(PixelFormat::fourcc) == Some(pix.pixelformat)
                )
                .copied()
                .unwrap_or("yuyv")
        ));
    }
    if pix.width == 0 || pix.height == 0 {
        return Err(format!(
            "the device set an empty size {}x{}",
            pix.width, pix.height
        ));
    }
    requested
        .check_size(pix.width, pix.height)
        .map_err(|e| format!("{e} (the device's size)"))?;
    let row = requested.line_bytes(pix.width);
    let bytes_per_line = if pix.bytesperline == 0 {
        row
    } else {
        pix.bytesperline
    };
    if bytes_per_line < row {
        return Err(format!(
            "the device's row pitch {bytes_per_line} is shorter than a {}-pixel row ({row} bytes)",
            pix.width
        ));
    }
    let frame_bytes = requested.frame_bytes(bytes_per_line, pix.height);
    if pix.sizeimage != 0 && pix.sizeimage < frame_bytes {
        return Err(format!(
            "the device's frame size {} is smaller than {}x{} rows of {bytes_per_line} bytes",
            pix.sizeimage, pix.height, pix.width
        ));
    }
    Ok(Negotiated {
        width: pix.width,
        height: pix.height,
        format: requested,
        bytes_per_line,
        frame_bytes: if pix.sizeimage != 0 {
            pix.sizeimage
        } else {
            frame_bytes
        },
    })
}

/// The stream parameters that set the frame rate of an output (`VIDIOC_S_PARM`).
pub fn request_fps(fps: u32) -> v4l2_streamparm {
    let mut parm = v4l2_streamparm {
        type_: V4L2_BUF_TYPE_VIDEO_OUTPUT,
        parm: v4l2_streamparm_union { raw_data: [0; 200] },
    };
    parm.parm.output = v4l2_outputparm {
        timeperframe: v4l2_fract {
            numerator: 1,
            denominator: fps.max(1),
        },
        ..Default::default()
    };
    parm
}

/// What a device is, from its `VIDIOC_QUERYCAP` answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceKind {
    pub driver: String,
    pub card: String,
    /// The capabilities of this device node (`device_caps` when the driver reports them).
    pub caps: u32,
}

impl DeviceKind {
    pub fn from_caps(cap: &v4l2_capability) -> Self {
        let caps = if cap.capabilities & V4L2_CAP_DEVICE_CAPS != 0 {
            cap.device_caps
        } else {
            cap.capabilities
        };
        Self {
            driver: c_text(&cap.driver),
            card: c_text(&cap.card),
            caps,
        }
    }

    pub fn is_output(&self) -> bool {
        self.caps & V4L2_CAP_VIDEO_OUTPUT != 0
    }

    pub fn is_loopback(&self) -> bool {
        self.driver == "v4l2 loopback"
    }

    /// "a video capture device", "a memory-to-memory device", … for messages.
    pub fn describe(&self) -> String {
        let role = if self.caps & V4L2_CAP_VIDEO_M2M != 0 {
            "a memory-to-memory (codec) device"
        } else if self.caps & V4L2_CAP_VIDEO_CAPTURE != 0 {
            "a video capture device (a camera)"
        } else if self.is_output() {
            "a video output device"
        } else {
            "a V4L2 device that is neither capture nor output"
        };
        format!("{role}: '{}', driver '{}'", self.card, self.driver)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_sizes_match_the_kernel_abi() {
        assert_eq!(size_of::<v4l2_capability>(), 104);
        assert_eq!(size_of::<v4l2_pix_format>(), 48);
        assert_eq!(size_of::<v4l2_outputparm>(), 40);
        assert_eq!(size_of::<v4l2_streamparm>(), 204);
        #[cfg(target_pointer_width = "64")]
        {
            assert_eq!(size_of::<v4l2_format>(), 208);
            assert_eq!(std::mem::offset_of!(v4l2_format, fmt), 8);
        }
        #[cfg(target_pointer_width = "32")]
        assert_eq!(size_of::<v4l2_format>(), 204);
    }

    #[test]
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    fn ioctl_numbers_match_the_kernel_headers() {
        // The values videodev2.h gives on x86-64 and AArch64.
        assert_eq!(VIDIOC_QUERYCAP, 0x8068_5600);
        assert_eq!(VIDIOC_G_FMT, 0xc0d0_5604);
        assert_eq!(VIDIOC_S_FMT, 0xc0d0_5605);
        assert_eq!(VIDIOC_S_PARM, 0xc0cc_5616);
    }

    #[test]
    fn fourccs() {
        assert_eq!(V4L2_PIX_FMT_YUYV, 0x5659_5559);
        assert_eq!(V4L2_PIX_FMT_RGB24, 0x3342_4752);
        assert_eq!(fourcc_name(V4L2_PIX_FMT_YUYV), "YUYV");
        // videodev2.h: v4l2_fourcc('Y', 'U', '1', '2') and ('N', 'V', '1', '2').
        assert_eq!(V4L2_PIX_FMT_YUV420, 0x3231_5559);
        assert_eq!(V4L2_PIX_FMT_NV12, 0x3231_564e);
    }

    #[test]
    fn planar_formats_ask_for_luma_pitch_and_half_again_for_chroma() {
        for format in [PixelFormat::I420, PixelFormat::Nv12] {
            let asked = request_format(1280, 720, format);
            let p = asked.pix();
            assert_eq!((p.bytesperline, p.sizeimage), (1280, 1280 * 720 * 3 / 2));
            assert_eq!(p.quantization, V4L2_QUANTIZATION_LIM_RANGE);
            let n = validate_reply(format, &asked).unwrap();
            assert_eq!(n.frame_bytes, 1280 * 720 * 3 / 2);
            // An odd height from the driver cannot be written as 4:2:0.
            let mut odd = asked;
            odd.fmt.pix = v4l2_pix_format { height: 719, ..p };
            let e = validate_reply(format, &odd).unwrap_err();
            assert!(e.contains("even width and height"), "{e}");
        }
        assert_eq!(PixelFormat::from_name("NV12"), Some(PixelFormat::Nv12));
        assert_eq!(PixelFormat::from_name("yu12"), Some(PixelFormat::I420));
        assert!(PixelFormat::Yuyv.check_size(640, 479).is_ok());
        assert!(PixelFormat::Yuyv.check_size(641, 480).is_err());
    }

    #[test]
    fn requested_format_is_packed_progressive_bt601() {
        let f = request_format(1280, 720, PixelFormat::Yuyv);
        assert_eq!(f.type_, V4L2_BUF_TYPE_VIDEO_OUTPUT);
        let p = f.pix();
        assert_eq!((p.width, p.height), (1280, 720));
        assert_eq!(p.pixelformat, V4L2_PIX_FMT_YUYV);
        assert_eq!(p.field, V4L2_FIELD_NONE);
        assert_eq!(p.bytesperline, 2560);
        assert_eq!(p.sizeimage, 2560 * 720);
        assert_eq!(p.colorspace, V4L2_COLORSPACE_SMPTE170M);
        assert_eq!(p.quantization, V4L2_QUANTIZATION_LIM_RANGE);
        let p = request_format(640, 480, PixelFormat::Rgb24).pix();
        assert_eq!((p.bytesperline, p.sizeimage), (1920, 1920 * 480));
        assert_eq!(p.colorspace, V4L2_COLORSPACE_SRGB);
    }

    #[test]
    fn replies_are_validated() {
        let asked = request_format(640, 480, PixelFormat::Yuyv);
        // The driver agrees.
        let ok = validate_reply(PixelFormat::Yuyv, &asked).unwrap();
        assert_eq!(
            ok,
            Negotiated {
                width: 640,
                height: 480,
                format: PixelFormat::Yuyv,
                bytes_per_line: 1280,
                frame_bytes: 1280 * 480
            }
        );
        // The driver changes the size and pads rows: accepted, frames are fitted to it.
        let mut reply = asked;
        reply.fmt.pix = v4l2_pix_format {
            width: 320,
            height: 240,
            bytesperline: 704,
            sizeimage: 704 * 240,
            ..asked.pix()
        };
        let got = validate_reply(PixelFormat::Yuyv, &reply).unwrap();
        assert_eq!((got.width, got.height, got.bytes_per_line), (320, 240, 704));
        // Another pixel format: refused, naming what the device offered.
        let mut reply = asked;
        reply.fmt.pix = v4l2_pix_format {
            pixelformat: V4L2_PIX_FMT_RGB24,
            ..asked.pix()
        };
        let e = validate_reply(PixelFormat::Yuyv, &reply).unwrap_err();
        assert!(
            e.contains("offered RGB3") && e.contains("--vcam-format rgb24"),
            "{e}"
        );
        // A pitch too short for the row.
        let mut reply = asked;
        reply.fmt.pix = v4l2_pix_format {
            bytesperline: 100,
            ..asked.pix()
        };
        assert!(validate_reply(PixelFormat::Yuyv, &reply)
            .unwrap_err()
            .contains("pitch"));
        // A frame size too small.
        let mut reply = asked;
        reply.fmt.pix = v4l2_pix_format {
            sizeimage: 10,
            ..asked.pix()
        };
        assert!(validate_reply(PixelFormat::Yuyv, &reply)
            .unwrap_err()
            .contains("frame size"));
        // A reply for another buffer type.
        let mut reply = asked;
        reply.type_ = 1;
        assert!(validate_reply(PixelFormat::Yuyv, &reply).is_err());
    }

    #[test]
    fn capabilities_describe_the_device() {
        let mut cap = v4l2_capability {
            driver: [0; 16],
            card: [0; 32],
            bus_info: [0; 32],
            version: 0,
            capabilities: V4L2_CAP_DEVICE_CAPS | V4L2_CAP_VIDEO_OUTPUT | V4L2_CAP_VIDEO_CAPTURE,
            device_caps: V4L2_CAP_VIDEO_OUTPUT | V4L2_CAP_READWRITE,
            reserved: [0; 3],
        };
        cap.driver[..13].copy_from_slice(b"v4l2 loopback");
        cap.card[..6].copy_from_slice(b"doppel");
        let kind = DeviceKind::from_caps(&cap);
        assert!(kind.is_output() && kind.is_loopback());
        assert_eq!(kind.card, "doppel");
        cap.device_caps = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING;
        cap.driver = [0; 16];
        cap.driver[..11].copy_from_slice(b"uvcvideo\0\0\0");
        let kind = DeviceKind::from_caps(&cap);
        assert!(!kind.is_output());
        assert!(
            kind.describe().contains("capture device"),
            "{}",
            kind.describe()
        );
        assert!(kind.describe().contains("uvcvideo"));
    }

    #[test]
    fn fps_parameters() {
        let p = request_fps(30);
        assert_eq!(p.type_, V4L2_BUF_TYPE_VIDEO_OUTPUT);
        // SAFETY: `output` was the member written.
        let out = unsafe { p.parm.output };
        assert_eq!(
            out.timeperframe,
            v4l2_fract {
                numerator: 1,
                denominator: 30
            }
        );
    }
}
