//! Super-resolution: doppel's own small nets (x2, x4; `models/superres_x{2,4}.onnx`, trained by
//! `scripts/train_superres.py`) on ONNX Runtime or as WGSL kernels, and Real-ESRGAN (or any x-scale
//! image ONNX model) on ONNX Runtime, all tiled so large frames fit in memory.
//!
//! ```text
//!  SuperRes::new(&SuperResConfig)    resolves the model, checks its scale, builds the backend
//!   ├─ onnx: ImageModel              the CPU reference (ONNX Runtime)
//!   └─ gpu:  GpuSuperRes             the same net in WGSL, weights read from the ONNX file (FastNet)
//!  SuperRes::upscale(&RgbaImage)     tiled (tile::upscale_tiled), alpha upscaled bicubic
//! ```
//!
//! The nets take RGB (0..1, NCHW, any size) and give RGB at `scale` times the size; see the training
//! script for the architecture. Both backends agree within 1/255, and tiled output equals untiled
//! output (the overlap covers the receptive field).

pub mod gpu;
pub mod kernel;
pub mod net;
pub mod tile;

use crate::locate::Locator;
use std::path::{Path, PathBuf};

use fast_image_resize::Resizer;
use image::RgbaImage;

use self::gpu::GpuSuperRes;
use self::net::FastNet;
use self::tile::{upscale_tiled, Tiling};
use crate::error::{Error, Result};
use crate::gpu::GpuContext;
use crate::imageops::{resize_rgba, Filter};
use crate::infer::{ImageModel, ImageSpec, SessionConfig};
use crate::onnx_weights::OnnxFile;

/// Real-ESRGAN x4 (SRVGGNetCompact "animevideov3", 2.5 MB), shipped in `models/`.
pub const REALESRGAN_MODEL: &str = "models/realesr-animevideov3-x4.onnx";

/// The file of doppel's own net for `scale`, relative to the working directory.
pub fn fast_model(scale: u32) -> PathBuf {
    PathBuf::from(format!("models/superres_x{scale}.onnx"))
}

/// Which network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelChoice {
    /// doppel's own net, `models/superres_x{scale}.onnx`.
    Fast,
    /// [`REALESRGAN_MODEL`].
    RealEsrgan,
    /// Any ONNX file: one of doppel's nets (it has the scale in its metadata) or an image model
    /// whose output is a whole multiple of its input.
    File(PathBuf),
}

/// Where the network runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    /// ONNX Runtime (CPU, or an execution provider): the reference.
    Onnx,
    /// The WGSL twin (doppel's nets only).
    Gpu,
}

/// How to build a [`SuperRes`].
#[derive(Clone, Debug)]
pub struct SuperResConfig {
    pub model: ModelChoice,
    /// 2 or 4; `None`: 2 for [`ModelChoice::Fast`], else the model's own scale.
    pub scale: Option<u32>,
    pub backend: BackendKind,
    /// Core tile side in input pixels; `None`: per model and backend (see [`SuperRes::tiling`]).
    pub tile: Option<u32>,
    /// Context pixels around each tile; `None`: the net's receptive radius (doppel's nets), 20 for
    /// other models (Real-ESRGAN compact has 18 3x3 convs).
    pub overlap: Option<u32>,
    pub session: SessionConfig,
    /// Finds the files of [`ModelChoice::Fast`] and [`ModelChoice::RealEsrgan`].
    pub locator: Locator,
}

impl Default for SuperResConfig {
    fn default() -> Self {
        Self {
            model: ModelChoice::Fast,
            scale: None,
            backend: BackendKind::Onnx,
            tile: None,
            overlap: None,
            session: SessionConfig::default(),
            locator: Locator::from_env(),
        }
    }
}

enum Backend {
    Onnx(Box<ImageModel>),
    Gpu(Box<GpuSuperRes>),
}

/// A super-resolution network ready to run, with its tiling.
pub struct SuperRes {
    path: PathBuf,
    scale: u32,
    tiling: Tiling,
    backend: Backend,
    resizer: Resizer,
}

/// The scale an image model applies, found by running it on a small grey image.
fn probe_scale(model: &mut ImageModel) -> Result<u32> {
    let probe = RgbaImage::from_pixel(16, 16, image::Rgba([128, 128, 128, 255]));
    let (out, _) = model.run(&probe, None)?;
    let (w, h) = out.dimensions();
    if w != h || w % 16 != 0 || w < 32 {
        return Err(Error::model(
            model.path(),
            format!("turns a 16x16 image into {w}x{h}: not a super-resolution model (a whole scale factor)"),
        ));
    }
    Ok(w / 16)
}

impl SuperRes {
    /// Resolves the model, checks that its scale matches the requested one and builds the backend.
    ///
    /// # Errors
    /// - [`Error::Spec`] for a scale other than 2 or 4, or a scale that does not match the model's
    ///   (naming both and the file).
    /// - [`Error::Model`] for a missing or unusable file; `backend=gpu` with a model that is not one of
    ///   doppel's nets.
    /// - [`Error::Gpu`] / [`Error::Runtime`] when the backend cannot start.
    pub fn new(config: &SuperResConfig) -> Result<Self> {
        if let Some(s) = config.scale {
            if s != 2 && s != 4 {
                return Err(Error::Spec(format!(
                    "superres: scale {s} is not supported; expected 2 or 4"
                )));
            }
        }
        let path = match &config.model {
            ModelChoice::Fast => config.locator.find(fast_model(config.scale.unwrap_or(2)))?,
            ModelChoice::RealEsrgan => config.locator.find(REALESRGAN_MODEL)?,
            ModelChoice::File(path) if path.is_file() => path.clone(),
            ModelChoice::File(path) => return Err(Error::model(path, "not found")),
        };
        // doppel's nets say their scale in their metadata; anything else is probed through ONNX
        // Runtime.
        let file = OnnxFile::read(&path)?;
        let fast = match FastNet::from_file(&file) {
            Ok(net) => Some(net),
            Err(_) if file.meta(net::SCALE_KEY).is_none() => None,
            Err(e) => return Err(e),
        };
        let mut onnx = None;
        let model_scale = match &fast {
            Some(net) => net.scale,
            None => {
                let mut model = ImageModel::load(&path, &config.session, &ImageSpec::default())?;
                let s = probe_scale(&mut model)?;
                onnx = Some(model);
                s
            }
        };
        let scale = config.scale.unwrap_or(model_scale);
        if scale != model_scale {
            return Err(Error::Spec(format!(
                "superres: scale={scale} but the model {} is x{model_scale}; give scale={model_scale} \
                 or a x{scale} model",
                path.display()
            )));
        }
        if scale != 2 && scale != 4 {
            return Err(Error::Spec(format!(
                "superres: the model {} is x{scale}; only x2 and x4 are supported",
                path.display()
            )));
        }
        let is_fast = fast.is_some();
        let overlap = config
            .overlap
            .unwrap_or_else(|| fast.as_ref().map_or(20, FastNet::receptive_radius));
        let backend = match (config.backend, fast) {
            (BackendKind::Gpu, Some(net)) => {
                let gpu = GpuContext::shared().and_then(|ctx| GpuSuperRes::new(ctx, net))?;
                Backend::Gpu(Box::new(gpu))
            }
            (BackendKind::Gpu, None) => return Err(Error::model(
                &path,
                "backend=gpu runs doppel's own nets (models/superres_x2.onnx, x4) only; run this \
                     model with backend=onnx",
            )),
            (BackendKind::Onnx, _) => match onnx {
                Some(model) => Backend::Onnx(Box::new(model)),
                None => Backend::Onnx(Box::new(ImageModel::load(
                    &path,
                    &config.session,
                    &ImageSpec::default(),
                )?)),
            },
        };
        // Default tiles: doppel's nets are light (24 channels), so 1024x1024 input tiles (a 720p
        // frame in one piece) keep each activation near 100 MB; the 64-channel Real-ESRGAN gets 256.
        // On the GPU, a tile must also fit one storage binding.
        let default_tile = if is_fast { 1024 } else { 256 };
        let mut tile = config.tile.unwrap_or(default_tile).max(1);
        if let Backend::Gpu(gpu) = &backend {
            let side = ((gpu.max_pixels() as f64).sqrt() as u32).saturating_sub(2 * overlap);
            tile = tile.min(side.max(1));
        }
        Ok(Self {
            path,
            scale,
            tiling: Tiling { tile, overlap },
            backend,
            resizer: Resizer::new(),
        })
    }

    pub fn scale(&self) -> u32 {
        self.scale
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `onnx` or `gpu`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Onnx(_) => "onnx",
            Backend::Gpu(_) => "gpu",
        }
    }

    pub fn tiling(&self) -> Tiling {
        self.tiling
    }

    /// Changes the tiling (e.g. to compare tiled and untiled output).
    pub fn set_tiling(&mut self, tiling: Tiling) {
        self.tiling = tiling;
    }

    /// Upscales `src` by [`SuperRes::scale`]. Colour comes from the net; alpha is 255 (both backends
    /// give opaque output) unless the frame has some below 255, which is then upscaled bicubic.
    ///
    /// # Errors
    /// Inference or GPU failures, naming the model file.
    pub fn upscale(&mut self, src: &RgbaImage) -> Result<RgbaImage> {
        let backend = &mut self.backend;
        let mut out = upscale_tiled(src, self.scale, self.tiling, |tile| match backend {
            Backend::Onnx(model) => model.run(tile, None).map(|(image, _)| image),
            Backend::Gpu(gpu) => gpu.run(tile),
        })?;
        if src.pixels().any(|p| p[3] != 255) {
            let alpha = resize_rgba(
                &mut self.resizer,
                src,
                out.width(),
                out.height(),
                Filter::Bicubic,
            )?;
            for (o, a) in out.pixels_mut().zip(alpha.pixels()) {
                o[3] = a[3];
            }
            crate::bufpool::recycle(alpha.into_raw());
        }
        Ok(out)
    }
}
