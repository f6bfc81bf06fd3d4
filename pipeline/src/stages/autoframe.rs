//! `autoframe` — keeps the person framed, like Center Stage: a virtual camera that pans and zooms
//! smoothly to follow the tracked face(s), on the GPU (`gpu::resample`) or on the CPU.
//!
//! Inputs: frames whose meta carries faces (its contract needs `track` before it). Outputs: frames
//! of the same size showing a crop of the input (same aspect), scaled up; meta moved with the
//! pixels (and the mask resampled), so stages after it still line up.
//! Behaviour ([`Framer`]): the target crop holds the faces' box at `fill` of the crop's height
//! (never zooming past `zoom`), the face a little above the centre; the target moves only when the
//! faces leave a dead zone (`dead_zone` of the crop around the target) or their size changes by
//! more than that fraction, so a still face gives a still picture; the crop eases towards the
//! target with time constant `ease` (seconds, by frame timestamps). A lost face: the crop stays
//! put for `hold` seconds, then eases back to the whole frame.
//! Options: `fill` (0.35), `zoom` (2.0, 1..=4), `dead_zone` (0.08), `ease` (0.5 s), `hold` (1.5
//! s), `backend` = gpu | cpu (both within ±1: the same bilinear arithmetic).
//! Example: `doppel live --stages track,autoframe --vcam /dev/video10 --no-window`

use std::sync::Arc;

use super::{BuildContext, StageEntry};
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::gpu::resample::{resample_bilinear, GpuResample, Rect};
use crate::meta::Face;
use crate::options::{OptKind, OptSpec, StageOptions, GPU_OR_CPU as BACKEND};
use crate::stage::{Contract, MetaSet, Stage, StageDoc};

const FILL: OptSpec = OptSpec {
    name: "fill",
    kind: OptKind::F32 {
        default: 0.35,
        min: 0.05,
        max: 1.0,
    },
    help: "height of the faces' box as a fraction of the picture's",
};
const ZOOM: OptSpec = OptSpec {
    name: "zoom",
    kind: OptKind::F32 {
        default: 2.0,
        min: 1.0,
        max: 4.0,
    },
    help: "most magnification",
};
const DEAD_ZONE: OptSpec = OptSpec {
    name: "dead_zone",
    kind: OptKind::F32 {
        default: 0.08,
        min: 0.0,
        max: 0.5,
    },
    help: "how far (fraction of the crop) the faces move before the frame follows",
};
const EASE: OptSpec = OptSpec {
    name: "ease",
    kind: OptKind::F32 {
        default: 0.5,
        min: 0.0,
        max: 10.0,
    },
    help: "time constant of the pan and zoom, seconds (0 = jump)",
};
const HOLD: OptSpec = OptSpec {
    name: "hold",
    kind: OptKind::F32 {
        default: 1.5,
        min: 0.0,
        max: 60.0,
    },
    help: "seconds to stay put after the face is lost, before easing back to the whole frame",
};

pub const DOC: StageDoc = StageDoc {
    name: "autoframe",
    summary: "follows the face with a smooth virtual pan and zoom (dead zone, ease, max zoom)",
    options: &[FILL, ZOOM, DEAD_ZONE, EASE, HOLD, BACKEND],
    example: "track,autoframe:zoom=1.8",
    contract: |_| {
        Ok(Contract {
            needs: MetaSet::FACES,
            ..Contract::NONE
        })
    },
};

pub const ENTRY: StageEntry = StageEntry {
    doc: &DOC,
    build: |options: &StageOptions, ctx: &BuildContext| {
        Ok(Box::new(Autoframe::from_options(options, ctx)?))
    },
};

/// How the framer behaves (see the module notes).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FramerConfig {
    pub fill: f32,
    pub zoom: f32,
    pub dead_zone: f32,
    pub ease: f32,
    pub hold: f32,
}

impl Default for FramerConfig {
    fn default() -> Self {
        Self {
            fill: 0.35,
            zoom: 2.0,
            dead_zone: 0.08,
            ease: 0.5,
            hold: 1.5,
        }
    }
}

/// A crop of the frame: centre and height in frame pixels (its width follows the frame's aspect).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Crop {
    pub cx: f32,
    pub cy: f32,
    pub h: f32,
}

/// The virtual camera operator: where the crop is and where it is heading.
#[derive(Clone, Debug)]
pub struct Framer {
    config: FramerConfig,
    size: (f32, f32),
    current: Option<Crop>,
    target: Option<Crop>,
    last_time: Option<f64>,
    /// When the faces were last seen.
    last_seen: Option<f64>,
}

impl Framer {
    pub fn new(config: FramerConfig) -> Self {
        Self {
            config,
            size: (0.0, 0.0),
            current: None,
            target: None,
            last_time: None,
            last_seen: None,
        }
    }

    fn whole(&self) -> Crop {
        Crop {
            cx: self.size.0 * 0.5,
            cy: self.size.1 * 0.5,
            h: self.size.1,
        }
    }

    /// `crop` moved and shrunk to lie inside the frame.
    fn clamp(&self, crop: Crop) -> Crop {
        let (w, h) = self.size;
        let ch = crop.h.clamp(h / self.config.zoom.max(1.0), h);
        let cw = ch * w / h;
        Crop {
            cx: crop.cx.clamp(cw * 0.5, w - cw * 0.5),
            cy: crop.cy.clamp(ch * 0.5, h - ch * 0.5),
            h: ch,
        }
    }

    /// Where the faces want the crop: their box at `fill` of its height, the box's centre a tenth
    /// of the crop above the crop's centre (head room as a camera operator leaves it).
    fn wanted(&self, faces: &[Face]) -> Option<Crop> {
        let first = faces.first()?;
        let mut b = first.rect;
        for f in &faces[1..] {
            b = crate::meta::Rect::new(
                b.x0.min(f.rect.x0),
                b.y0.min(f.rect.y0),
                b.x1.max(f.rect.x1),
                b.y1.max(f.rect.y1),
            );
        }
        let aspect = self.size.0 / self.size.1;
        // Tall enough for the box at `fill`, and wide enough for it (several faces side by side).
        let h = (b.height() / self.config.fill).max(b.width() / self.config.fill.min(0.9) / aspect);
        let c = b.center();
        Some(self.clamp(Crop {
            cx: c.x,
            cy: c.y + 0.1 * h,
            h,
        }))
    }

    /// The crop for a frame of `size` at `time` seconds with `faces` tracked.
    pub fn update(&mut self, size: (u32, u32), time: f64, faces: &[Face]) -> Crop {
        let size = (size.0.max(1) as f32, size.1.max(1) as f32);
        if size != self.size {
            // A new stream (or size): start from the whole frame.
            *self = Self::new(self.config);
            self.size = size;
        }
        let dt = self
            .last_time
            .map_or(0.0, |t| (time - t).clamp(0.0, 1.0) as f32);
        self.last_time = Some(time);
        let whole = self.whole();
        match self.wanted(faces) {
            Some(wanted) => {
                self.last_seen = Some(time);
                let keep = self.target.is_some_and(|t| {
                    let dz = self.config.dead_zone;
                    let cw = t.h * size.0 / size.1;
                    (wanted.cx - t.cx).abs() <= dz * cw
                        && (wanted.cy - t.cy).abs() <= dz * t.h
                        && (wanted.h / t.h - 1.0).abs() <= dz
                });
                if !keep {
                    self.target = Some(wanted);
                }
            }
            None => {
                let lost_for = self.last_seen.map_or(f64::INFINITY, |t| time - t);
                if lost_for > f64::from(self.config.hold) {
                    self.target = Some(whole);
                }
            }
        }
        let target = self.target.unwrap_or(whole);
        let current = self.current.unwrap_or(whole);
        let k = if self.config.ease <= 0.0 {
            1.0
        } else {
            1.0 - (-dt / self.config.ease).exp()
        };
        let next = self.clamp(Crop {
            cx: current.cx + k * (target.cx - current.cx),
            cy: current.cy + k * (target.cy - current.cy),
            h: current.h + k * (target.h - current.h),
        });
        self.current = Some(next);
        next
    }
}

/// The autoframe stage.
pub struct Autoframe {
    framer: Framer,
    gpu: Option<Box<GpuResample>>,
}

impl Autoframe {
    /// Reads the options; with `backend=gpu` opens the shared device and compiles the kernel.
    ///
    /// # Errors
    /// [`Error::Option`] for a bad value; [`Error::Gpu`] naming the CPU alternative.
    pub fn from_options(options: &StageOptions, ctx: &BuildContext) -> Result<Self> {
        let config = FramerConfig {
            fill: options.f32(&FILL)?,
            zoom: options.f32(&ZOOM)?,
            dead_zone: options.f32(&DEAD_ZONE)?,
            ease: options.f32(&EASE)?,
            hold: options.f32(&HOLD)?,
        };
        let gpu = match options.choice(&BACKEND)? {
            "cpu" => None,
            _ => {
                Some(Box::new(ctx.gpu().and_then(GpuResample::new).map_err(
                    Error::gpu_or("autoframe", "autoframe:backend=cpu"),
                )?))
            }
        };
        Ok(Self {
            framer: Framer::new(config),
            gpu,
        })
    }
}

impl Stage for Autoframe {
    fn name(&self) -> &str {
        DOC.name
    }

    fn process(&mut self, mut frame: Frame) -> Result<Frame> {
        let (w, h) = frame.pixels.dimensions();
        let crop = self
            .framer
            .update((w, h), frame.pts.seconds(), &frame.meta.faces);
        let cw = crop.h * w as f32 / h as f32;
        let rect = Rect {
            x: crop.cx - cw * 0.5,
            y: crop.cy - crop.h * 0.5,
            w: cw,
            h: crop.h,
        };
        if (rect.w - w as f32).abs() < 0.01 && (rect.h - h as f32).abs() < 0.01 {
            return Ok(frame);
        }
        match &mut self.gpu {
            Some(gpu) => {
                let src = frame.pixels.texture(gpu.context())?;
                frame
                    .pixels
                    .set_texture(gpu.apply_rect(&src, rect, (w, h))?);
            }
            None => {
                let mut out = crate::bufpool::image(w, h);
                resample_bilinear(frame.pixels.image()?, rect, &mut out)?;
                frame.pixels.set_image(out);
            }
        }
        let (sx, sy) = (w as f32 / rect.w, h as f32 / rect.h);
        frame
            .meta
            .map_points([sx, -rect.x * sx], [sy, -rect.y * sy]);
        if let Some(mask) = &mut frame.meta.mask {
            let rgba = image::DynamicImage::ImageLuma8((**mask).clone()).to_rgba8();
            let mut out = image::RgbaImage::new(mask.width(), mask.height());
            let (mw, mh) = (
                mask.width() as f32 / w as f32,
                mask.height() as f32 / h as f32,
            );
            let mask_rect = Rect {
                x: rect.x * mw,
                y: rect.y * mh,
                w: rect.w * mw,
                h: rect.h * mh,
            };
            resample_bilinear(&rgba, mask_rect, &mut out)?;
            *mask = Arc::new(image::DynamicImage::ImageRgba8(out).to_luma8());
        }
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{Point, Rect as Box2, Roi};
    use std::collections::BTreeMap;

    fn face(x: f32, y: f32, size: f32) -> Face {
        Face {
            rect: Box2::new(
                x - size / 2.0,
                y - size / 2.0,
                x + size / 2.0,
                y + size / 2.0,
            ),
            score: 1.0,
            mesh: Vec::new(),
            keypoints: [Point::default(); 6],
            detection: None,
            roi: Roi::default(),
            pose: None,
            expressions: BTreeMap::new(),
        }
    }

    #[test]
    fn a_still_face_gets_a_still_frame_and_a_move_is_followed_smoothly() {
        let mut framer = Framer::new(FramerConfig::default());
        let size = (1280, 720);
        let mut last = None;
        let mut steps = Vec::new();
        // Five seconds of a still face with ±1.5 px of tracking jitter.
        for i in 0..150 {
            let jitter = if i % 2 == 0 { 1.5 } else { -1.5 };
            let c = framer.update(size, i as f64 / 30.0, &[face(800.0 + jitter, 300.0, 120.0)]);
            if let Some(p) = last {
                let p: Crop = p;
                steps.push((c.cx - p.cx).abs().max((c.cy - p.cy).abs()));
            }
            last = Some(c);
        }
        let settled = last.unwrap();
        // Face at fill 0.35 of the crop: crop height ~343 px (zoom 2.1 is capped at 2: 360 px).
        assert!((settled.h - 360.0).abs() < 1.0, "{settled:?}");
        // The face sits in the crop, a tenth of the crop above centre.
        assert!(
            (settled.cx - 800.0).abs() < 3.0 && (settled.cy - 336.0).abs() < 3.0,
            "{settled:?}"
        );
        // Once the first zoom-in has settled (8 time constants), the jitter moves nothing.
        let late = steps[120..].iter().copied().fold(0.0, f32::max);
        assert!(late < 0.05, "still face: crop moves {late} px/frame");
        // A step of the face by 200 px: the crop follows without a jump.
        let mut moves = Vec::new();
        for i in 150..240 {
            let c = framer.update(size, i as f64 / 30.0, &[face(600.0, 300.0, 120.0)]);
            moves.push((c.cx - last.unwrap().cx).abs());
            last = Some(c);
        }
        let biggest = moves.iter().copied().fold(0.0, f32::max);
        assert!(
            biggest < 15.0,
            "the pan is eased: {biggest} px in one frame"
        );
        assert!((last.unwrap().cx - 600.0).abs() < 5.0, "{:?}", last);
        // Lost: stays for `hold`, then eases back to the whole frame.
        let at_loss = last.unwrap();
        let c = framer.update(size, 241.0 / 30.0, &[]);
        assert!(
            (c.cx - at_loss.cx).abs() < 0.5 && (c.h - at_loss.h).abs() < 0.5,
            "{c:?}"
        );
        for i in 242..330 {
            last = Some(framer.update(size, i as f64 / 30.0, &[]));
        }
        let back = last.unwrap();
        assert!((back.h - 720.0).abs() < 20.0, "eased back out: {back:?}");
    }
}
