//! `background` — blurs or replaces what is behind the person, as video-call apps do: the person's
//! matte from a segmentation network, refined to full resolution along the frame's own edges
//! (guided filter), held steady over time, composited with decontaminated edges and a light wrap
//! (see [`crate::matte`]).
//!
//! Inputs: any RGBA frame. Outputs: the frame with its background blurred or replaced, same size;
//! meta unchanged. `mode=transparent` gives the person with alpha = matte (straight alpha) for
//! sinks that keep alpha (PNG sequences; the video sink refuses containers without it).
//! Contract: runs its own segmentation and needs no meta. It does not use a `segment` stage's mask:
//! that mask is already stretched to frame size (and maybe thresholded), while the refinement works
//! from the network's low-resolution probability, and this stage chooses its own network.
//! Options:
//! - `mode` = blur | image | video | color | transparent (blur).
//! - `strength` 0..1 (0.5): blur radius, as a fraction of about a twelfth of the frame width.
//! - `image=PATH` (mode=image; scaled to cover the frame), `video=PATH` (mode=video; looped,
//!   scaled to cover), `color=#RRGGBB` (mode=color).
//! - `model` = selfie | landscape | pphumanseg (landscape: as accurate as the others on portrait
//!   framing and the cheapest, measured in the README's "Background"); `file` overrides its path.
//! - `wrap` 0..1 (0.3): light wrap of the new background over the person's rim.
//! - `hold` 0..0.95 (0.8): temporal stabilisation where the frame is still (0 = off).
//! - `threads` (1: see `from_options` and `options::SMALL_MODEL_THREADS`), `backend` = auto | gpu | cpu (auto: the GPU on a hardware adapter, the CPU
//!   on a software one such as lavapipe; both give the same pixels within ±1).
//!
//! Example: `doppel live --source camera --stages background:mode=blur --vcam /dev/video10`

use std::path::{Path, PathBuf};

use fast_image_resize::Resizer;
use image::{Rgba, RgbaImage};

use super::avatar::parse_color;
use super::{BuildContext, StageEntry};
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::gpu::kernel::BySize;
use crate::gpu::GpuImage;
use crate::imageops::{resize_rgba, Filter};
use crate::matte::{
    composite_cpu, CompositeParams, GpuComposite, MatteModel, RefineConfig, Refiner, Segmenter,
};
use crate::options::{
    OptKind, OptSpec, StageOptions, MODEL_PROVIDER, SMALL_MODEL_THREADS as THREADS,
};
use crate::source::video::VideoSource;
use crate::source::Source;
use crate::stage::{Contract, Stage, StageDoc};

const MODES: [&str; 5] = ["blur", "image", "video", "color", "transparent"];
const MODE: OptSpec = OptSpec {
    name: "mode",
    kind: OptKind::Choice {
        choices: &MODES,
        default: "blur",
    },
    help: "what goes behind the person",
};
const STRENGTH: OptSpec = OptSpec {
    name: "strength",
    kind: OptKind::F32 {
        default: 0.5,
        min: 0.0,
        max: 1.0,
    },
    help: "blur radius (mode=blur), 1 = about a twelfth of the frame width",
};
const IMAGE: OptSpec = OptSpec {
    name: "image",
    kind: OptKind::Path { default: None },
    help: "picture behind the person (mode=image), scaled to cover",
};
const VIDEO: OptSpec = OptSpec {
    name: "video",
    kind: OptKind::Path { default: None },
    help: "video behind the person (mode=video), looped, scaled to cover",
};
const COLOR: OptSpec = OptSpec {
    name: "color",
    kind: OptKind::Text { default: "#00B140" },
    help: "#RRGGBB behind the person (mode=color)",
};
/// `backend`: the stage's own spec (not `options::GPU_OR_CPU`) for its `auto` default. On a
/// software Vulkan device (lavapipe) the GPU composite is the same arithmetic run by a CPU driver
/// with an upload and a readback around it: measured at 1280x720 (README "Background"), the whole
/// stage p50 65.8 ms with it against 19.6 ms with the CPU composite. So `auto` takes the GPU only
/// when the adapter is real hardware.
const BACKEND: OptSpec = OptSpec {
    name: "backend",
    kind: OptKind::Choice {
        choices: &["auto", "gpu", "cpu"],
        default: "auto",
    },
    help:
        "auto (gpu on a hardware adapter, cpu on a software one such as lavapipe or none), gpu, cpu",
};
/// The default network, chosen by measurement (README "Background").
pub const DEFAULT_MODEL: &str = "landscape";
const MODEL: OptSpec = OptSpec {
    name: "model",
    kind: OptKind::Choice {
        choices: &MatteModel::NAMES,
        default: DEFAULT_MODEL,
    },
    help: "segmentation network: MediaPipe selfie (square), its landscape model, or PP-HumanSegV2-Lite",
};
const FILE: OptSpec = OptSpec {
    name: "file",
    kind: OptKind::Path { default: None },
    help: "the network's file (default: the model's file in models/)",
};
const WRAP: OptSpec = OptSpec {
    name: "wrap",
    kind: OptKind::F32 {
        default: 0.3,
        min: 0.0,
        max: 1.0,
    },
    help: "light wrap: how much new background spills over the person's rim",
};
const HOLD: OptSpec = OptSpec {
    name: "hold",
    kind: OptKind::F32 {
        default: 0.8,
        min: 0.0,
        max: 0.95,
    },
    help: "temporal stabilisation where the frame is still (0 = off)",
};

pub const DOC: StageDoc = StageDoc {
    name: "background",
    summary: "blurs or replaces the background behind the person (refined matte, light wrap)",
    options: &[
        MODE,
        STRENGTH,
        IMAGE,
        VIDEO,
        COLOR,
        MODEL,
        FILE,
        WRAP,
        HOLD,
        THREADS,
        MODEL_PROVIDER,
        BACKEND,
    ],
    example: "background:mode=blur:strength=0.6",
    contract: |_| Ok(Contract::NONE),
};

pub const ENTRY: StageEntry = StageEntry {
    doc: &DOC,
    build: |options: &StageOptions, ctx: &BuildContext| {
        Ok(Box::new(Background::from_options(options, ctx)?))
    },
};

/// What goes behind the person.
enum Behind {
    /// The frame's own background, blurred (estimated at the matte's grid).
    Blur,
    /// A picture, scaled to cover; the scaled copy is kept per frame size.
    Image {
        picture: RgbaImage,
        scaled: BySize<(u32, u32), RgbaImage>,
    },
    /// A looping video.
    Video {
        path: PathBuf,
        source: Box<VideoSource>,
    },
    Color([u8; 3]),
    Transparent,
}

/// Where the composite runs.
enum Backend {
    Gpu {
        kernel: Box<GpuComposite>,
        /// The uploaded background when it does not change from frame to frame.
        still: BySize<(u32, u32), GpuImage>,
    },
    Cpu,
}

/// The background stage.
pub struct Background {
    segmenter: Segmenter,
    refiner: Refiner,
    behind: Behind,
    params: CompositeParams,
    strength: f32,
    backend: Backend,
    resizer: Resizer,
}

/// `path` opened as a looping background video; errors name the option.
fn open_video(options: &StageOptions, path: &Path) -> Result<VideoSource> {
    VideoSource::open(path).map_err(|e| {
        options.error(
            VIDEO.name,
            format!("cannot open {} as a video: {e}", path.display()),
        )
    })
}

impl Background {
    /// Reads the options, opens the background picture or video and loads the network, so that
    /// a bad colour, a missing file or model fails here, before any frame.
    ///
    /// # Errors
    /// [`Error::Option`] naming the option (bad colour, `image`/`video` missing for their mode or
    /// unreadable); [`Error::Model`] for the network; [`Error::Gpu`] naming `backend=cpu`.
    pub fn from_options(options: &StageOptions, ctx: &BuildContext) -> Result<Self> {
        let mode = options.choice(&MODE)?;
        let needed = |spec: &OptSpec| -> Result<PathBuf> {
            options.opt_path(spec)?.ok_or_else(|| {
                options.error(
                    spec.name,
                    format!(
                        "mode={mode} needs a file, e.g. background:mode={mode}:{}=FILE",
                        spec.name
                    ),
                )
            })
        };
        let behind = match mode {
            "image" => {
                let path = needed(&IMAGE)?;
                let picture = image::open(&path)
                    .map_err(|e| {
                        options.error(
                            IMAGE.name,
                            format!("cannot read {} as a picture: {e}", path.display()),
                        )
                    })?
                    .to_rgba8();
                Behind::Image {
                    picture,
                    scaled: BySize::default(),
                }
            }
            "video" => {
                let path = needed(&VIDEO)?;
                let source = open_video(options, &path)?;
                Behind::Video {
                    path,
                    source: Box::new(source),
                }
            }
            "color" => {
                let text = options.text(&COLOR)?;
                Behind::Color(parse_color(text).ok_or_else(|| {
                    options.error(
                        COLOR.name,
                        format!("'{text}' is not a colour; expected #RRGGBB"),
                    )
                })?)
            }
            "transparent" => Behind::Transparent,
            _ => Behind::Blur,
        };
        let kind = MatteModel::from_name(options.choice(&MODEL)?).unwrap_or(MatteModel::Landscape);
        let file = match options.opt_path(&FILE)? {
            Some(path) => path,
            None => ctx.locator().find_or_keep(kind.default_path()),
        };
        // One ONNX Runtime thread unless asked: the network is small (2.3 ms on two threads), and a
        // second intra-op thread spins after each run on the core the composite's rows need. Live
        // at 1280x720 under load (README "Background"): capture-to-display p99 66-75 ms with one
        // thread against 86-97 ms with two.
        let session = ctx.session(options, Some(options.u32(&THREADS)? as usize))?;
        let segmenter = Segmenter::load(kind, &file, &session)?;
        let hardware = || {
            ctx.gpu()
                .is_ok_and(|gpu| gpu.info.device_type != wgpu::DeviceType::Cpu)
        };
        let backend = match options.choice(&BACKEND)? {
            "cpu" => Backend::Cpu,
            "auto" if !hardware() => Backend::Cpu,
            _ => Backend::Gpu {
                kernel: Box::new(
                    ctx.gpu()
                        .and_then(|gpu| GpuComposite::new(&gpu))
                        .map_err(Error::gpu_or("background", "background:backend=cpu"))?,
                ),
                still: BySize::default(),
            },
        };
        Ok(Self {
            segmenter,
            refiner: Refiner::new(RefineConfig {
                hold: options.f32(&HOLD)?,
                ..RefineConfig::default()
            }),
            behind,
            params: CompositeParams {
                wrap: options.f32(&WRAP)?,
                transparent: mode == "transparent",
            },
            strength: options.f32(&STRENGTH)?,
            backend,
            resizer: Resizer::new(),
        })
    }

    /// Where the composite runs: `gpu` or `cpu` (what `backend=auto` chose).
    pub fn backend(&self) -> &'static str {
        match self.backend {
            Backend::Gpu { .. } => "gpu",
            Backend::Cpu => "cpu",
        }
    }

    /// The network in use.
    pub fn model(&self) -> MatteModel {
        self.segmenter.kind()
    }

    /// The refiner, for measurements (its last grid is not kept: see [`Background::matte`]).
    pub fn refiner_mut(&mut self) -> &mut Refiner {
        &mut self.refiner
    }

    /// The blur radius at the matte grid for a grid `grid_width` cells wide (mode=blur).
    fn blur_radius(&self, grid_width: usize) -> usize {
        match self.behind {
            // 1 = a twelfth of the width; box passes of radius r blur like a Gaussian of sigma ~r.
            Behind::Blur => ((self.strength * grid_width as f32 / 24.0).round() as usize).max(1),
            _ => 0,
        }
    }

    /// The matte grid of `frame` (network + refinement), as the composite will use it.
    ///
    /// # Errors
    /// As [`Segmenter::probability`] and [`Refiner::refine`].
    pub fn matte(&mut self, frame: &RgbaImage) -> Result<crate::matte::MatteGrid> {
        let probability = self.segmenter.probability(frame)?;
        let (gw, _) = crate::matte::grid_size(frame.width(), frame.height());
        let radius = self.blur_radius(gw as usize);
        let mut config = *self.refiner.config();
        if config.background_radius != radius {
            config.background_radius = radius;
            let mut next = Refiner::new(config);
            std::mem::swap(&mut next, &mut self.refiner);
        }
        self.refiner.refine(frame, &probability)
    }

    /// The picture behind the person for a `size` frame when it is not the blur estimate: `None`
    /// for blur; whether it changes every frame (video) comes with it.
    fn replacement(&mut self, size: (u32, u32)) -> Result<Option<(RgbaImage, bool)>> {
        let resizer = &mut self.resizer;
        match &mut self.behind {
            Behind::Blur => Ok(None),
            Behind::Color(rgb) => Ok(Some((
                RgbaImage::from_pixel(1, 1, Rgba([rgb[0], rgb[1], rgb[2], 255])),
                false,
            ))),
            Behind::Transparent => Ok(Some((
                RgbaImage::from_pixel(1, 1, Rgba([0, 0, 0, 0])),
                false,
            ))),
            Behind::Image { picture, scaled } => {
                let image = scaled.get(size, |size| cover(resizer, picture, size))?;
                Ok(Some((image.clone(), false)))
            }
            Behind::Video { path, source } => {
                let next = match source.next_frame()? {
                    Some(frame) => frame,
                    None => {
                        // Loop: open the file again from its start.
                        **source = VideoSource::open(&*path)?;
                        source
                            .next_frame()?
                            .ok_or_else(|| Error::input(&*path, "background video has no frames"))?
                    }
                };
                let picture = next.into_image()?;
                let image = cover(resizer, &picture, size)?;
                crate::bufpool::recycle(picture.into_raw());
                Ok(Some((image, true)))
            }
        }
    }
}

/// `picture` scaled and centre-cropped to cover `size`.
fn cover(resizer: &mut Resizer, picture: &RgbaImage, size: (u32, u32)) -> Result<RgbaImage> {
    let (pw, ph) = picture.dimensions();
    let (w, h) = size;
    // The largest centred part of the picture with the frame's aspect.
    let (cw, ch) = if u64::from(pw) * u64::from(h) > u64::from(ph) * u64::from(w) {
        (
            ((u64::from(ph) * u64::from(w)) / u64::from(h)).max(1) as u32,
            ph,
        )
    } else {
        (
            pw,
            ((u64::from(pw) * u64::from(h)) / u64::from(w)).max(1) as u32,
        )
    };
    let part = image::imageops::crop_imm(picture, (pw - cw) / 2, (ph - ch) / 2, cw, ch).to_image();
    resize_rgba(resizer, &part, w, h, Filter::Bilinear)
}

impl Stage for Background {
    fn name(&self) -> &str {
        DOC.name
    }

    fn process(&mut self, mut frame: Frame) -> Result<Frame> {
        let size = frame.pixels.dimensions();
        let grid = self.matte(frame.pixels.image()?)?;
        let replacement = self.replacement(size)?;
        let behind = match (&replacement, &grid.background) {
            (Some((image, _)), _) => image,
            (None, Some(blurred)) => blurred,
            (None, None) => {
                return Err(Error::Internal(
                    "background blur estimate missing".to_string(),
                ))
            }
        };
        let changes = replacement.as_ref().is_none_or(|(_, moving)| *moving);
        match &mut self.backend {
            Backend::Gpu { kernel, still } => {
                let ctx = kernel.context().clone();
                let src = frame.pixels.texture(&ctx)?;
                let back = if changes {
                    GpuImage::upload(&ctx, behind)?
                } else {
                    still
                        .get(behind.dimensions(), |_| GpuImage::upload(&ctx, behind))?
                        .clone()
                };
                let out = kernel.apply(&src, &grid, &back, self.params)?;
                frame.pixels.set_texture(out);
            }
            Backend::Cpu => {
                let (w, h) = size;
                let mut out = crate::bufpool::image(w, h);
                composite_cpu(frame.pixels.image()?, &grid, behind, self.params, &mut out)?;
                frame.pixels.set_image(out);
            }
        }
        Ok(frame)
    }

    fn warm_up(&mut self, width: u32, height: u32) -> Result<()> {
        let probe = RgbaImage::from_pixel(width.max(1), height.max(1), Rgba([128, 128, 128, 255]));
        self.matte(&probe)?;
        self.refiner.reset();
        Ok(())
    }
}
