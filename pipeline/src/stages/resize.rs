//! `resize` — scales frames with fast_image_resize (SIMD on the CPU).
//!
//! Inputs: any RGBA frame. Outputs: the frame at the new size, meta unchanged.
//! Options: `width`, `height` (give one to keep the aspect ratio, both to set the size exactly),
//! `filter` = nearest | bilinear | bicubic | lanczos3.
//! Example: `doppel process in.mp4 -o small.mp4 --stages resize:width=640`

use fast_image_resize::Resizer;

use super::{BuildContext, StageEntry};
use crate::error::Result;
use crate::frame::Frame;
use crate::imageops::{resize_rgba, Filter};
use crate::options::StageOptions;
use crate::options::{OptKind, OptSpec};
use crate::stage::{Contract, Stage, StageDoc};

const WIDTH: OptSpec = OptSpec {
    name: "width",
    kind: OptKind::OptU32 {
        min: 1,
        max: MAX_SIDE,
        absent: "from height, keeping the aspect",
    },
    help: "output width in pixels",
};
const HEIGHT: OptSpec = OptSpec {
    name: "height",
    kind: OptKind::OptU32 {
        min: 1,
        max: MAX_SIDE,
        absent: "from width, keeping the aspect",
    },
    help: "output height in pixels",
};
const FILTER: OptSpec = OptSpec {
    name: "filter",
    kind: OptKind::Choice {
        choices: &Filter::NAMES,
        default: "bilinear",
    },
    help: "resampling filter",
};

pub const DOC: StageDoc = StageDoc {
    name: "resize",
    summary: "scales frames (one of width/height keeps the aspect ratio)",
    options: &[WIDTH, HEIGHT, FILTER],
    example: "resize:width=640",
    contract: |_| Ok(Contract::NONE),
};

pub const ENTRY: StageEntry = StageEntry {
    doc: &DOC,
    build: |options: &StageOptions, _: &BuildContext| Ok(Box::new(Resize::from_options(options)?)),
};

/// Largest side the stage accepts (as the GPU limit of most devices).
const MAX_SIDE: u32 = 16384;

/// The resize stage.
pub struct Resize {
    width: Option<u32>,
    height: Option<u32>,
    filter: Filter,
    resizer: Resizer,
}

impl Resize {
    pub fn from_options(options: &StageOptions) -> Result<Self> {
        let width = options.opt_u32(&WIDTH)?;
        let height = options.opt_u32(&HEIGHT)?;
        if width.is_none() && height.is_none() {
            return Err(options.error("width", "give width, height or both"));
        }
        let filter = options.choice(&FILTER)?;
        Ok(Self {
            width,
            height,
            filter: Filter::from_name(filter).unwrap_or(Filter::Bilinear),
            resizer: Resizer::new(),
        })
    }

    /// The output size for an input of `w` x `h`.
    pub fn target_size(&self, w: u32, h: u32) -> (u32, u32) {
        let scaled = |num: u32, den: u32, side: u32| -> u32 {
            let v = (u64::from(side) * u64::from(num) + u64::from(den) / 2) / u64::from(den.max(1));
            v.clamp(1, u64::from(MAX_SIDE)) as u32
        };
        match (self.width, self.height) {
            (Some(tw), Some(th)) => (tw, th),
            (Some(tw), None) => (tw, scaled(tw, w, h)),
            (None, Some(th)) => (scaled(th, h, w), th),
            (None, None) => (w, h),
        }
    }
}

impl Stage for Resize {
    fn name(&self) -> &str {
        DOC.name
    }

    fn process(&mut self, mut frame: Frame) -> Result<Frame> {
        let (w, h) = self.target_size(frame.width(), frame.height());
        let resized = resize_rgba(&mut self.resizer, frame.pixels.image()?, w, h, self.filter)?;
        frame.pixels.set_image(resized);
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Rational, Timestamp};
    use image::{Rgba, RgbaImage};

    fn stage(pairs: &[(&str, &str)]) -> Result<Resize> {
        Resize::from_options(&StageOptions::from_pairs("resize", pairs))
    }

    #[test]
    fn keeps_aspect_with_one_side() {
        let s = stage(&[("width", "640")]).unwrap();
        assert_eq!(s.target_size(1280, 720), (640, 360));
        let s = stage(&[("height", "100")]).unwrap();
        assert_eq!(s.target_size(641, 361), (178, 100));
    }

    #[test]
    fn rejects_bad_options() {
        assert!(stage(&[]).is_err());
        let err = stage(&[("width", "0")]).err().unwrap().to_string();
        assert!(err.contains("width") && err.contains("1 to 16384"), "{err}");
        let err = stage(&[("width", "8"), ("filter", "fancy")])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("bilinear"), "{err}");
    }

    #[test]
    fn resizes_uniform_image_exactly() {
        let mut s = stage(&[("width", "33"), ("height", "17")]).unwrap();
        let image = RgbaImage::from_pixel(100, 50, Rgba([10, 200, 30, 255]));
        let frame = Frame::new(0, Timestamp::new(0, Rational::new(1, 30)), image);
        let out = s.process(frame).unwrap();
        assert_eq!(out.pixels.cpu_image().unwrap().dimensions(), (33, 17));
        assert!(out
            .pixels
            .cpu_image()
            .unwrap()
            .pixels()
            .all(|p| *p == Rgba([10, 200, 30, 255])));
    }
}
