//! [`Stylizer`]: the sessions of the style models, built once each, and the active style.

use std::path::{Path, PathBuf};

use fast_image_resize::Resizer;
use image::RgbaImage;

use super::cache::VectorCache;
use super::weights::NUM_STYLES;
use super::{
    Style, DEFAULT_MULTISTYLE, DEFAULT_PREDICT, DEFAULT_TRANSFORM, PREDICT_SIDE, SIDE_MULTIPLE,
    VECTOR_LEN,
};
use crate::error::{Error, Result};
use crate::imageops::{resize_rgba, Filter};
use crate::infer::{
    ImageModel, ImageSpec, Layout, Model, RunConfig, SessionConfig, TensorInfo, TensorView,
    ValueRange,
};
use crate::locate::Locator;

/// Model files and session settings.
#[derive(Clone, Debug)]
pub struct StylizerConfig {
    pub multistyle_model: PathBuf,
    pub predict_model: PathBuf,
    pub transform_model: PathBuf,
    pub session: SessionConfig,
    /// Where style vectors of pictures are cached; `None`: not cached.
    pub cache_dir: Option<PathBuf>,
}

impl Default for StylizerConfig {
    fn default() -> Self {
        Self {
            // Default models from the data folder, wherever the program runs.
            multistyle_model: Locator::from_env().find_or_keep(DEFAULT_MULTISTYLE),
            predict_model: Locator::from_env().find_or_keep(DEFAULT_PREDICT),
            transform_model: Locator::from_env().find_or_keep(DEFAULT_TRANSFORM),
            session: SessionConfig::default(),
            cache_dir: Some(super::cache::default_dir()),
        }
    }
}

/// A model with an image input and a second, per-style input (weights or vector).
struct StyleNet {
    model: Model,
    image: String,
    style: String,
    style_shape: Vec<usize>,
    layout: Layout,
}

impl StyleNet {
    /// Loads `path` and finds its inputs: a rank-4 RGB image and a style input of `style_len` values.
    fn load(path: &Path, session: &SessionConfig, style_len: usize, what: &str) -> Result<Self> {
        let model = Model::load(path, session)?;
        let image = model
            .inputs()
            .iter()
            .find(|i| i.dims.len() == 4 && (i.dims[1] == Some(3) || i.dims[3] == Some(3)));
        let style = model.inputs().iter().find(|i| {
            i.dims.iter().flatten().product::<usize>() == style_len
                && i.dims.iter().all(Option::is_some)
        });
        let (Some(image), Some(style), 2) = (image, style, model.inputs().len()) else {
            let found: Vec<String> = model.inputs().iter().map(TensorInfo::to_string).collect();
            return Err(Error::model(
                path,
                format!(
                    "not {what}: expected an RGB image input and a style input of {style_len} values, \
                     found {}",
                    found.join(", ")
                ),
            ));
        };
        let layout = if image.dims[1] == Some(3) {
            Layout::Nchw
        } else {
            Layout::Nhwc
        };
        Ok(Self {
            image: image.name.clone(),
            style: style.name.clone(),
            style_shape: style.dims.iter().map(|d| d.unwrap_or(1)).collect(),
            layout,
            model,
        })
    }

    /// Runs on `image` (any size: edges are repeated up to a multiple of 4 and cropped after).
    fn run(&mut self, image: &RgbaImage, style: &[f32], buf: &mut Vec<f32>) -> Result<RgbaImage> {
        let (w, h) = image.dimensions();
        let (pw, ph) = (
            w.div_ceil(SIDE_MULTIPLE) * SIDE_MULTIPLE,
            h.div_ceil(SIDE_MULTIPLE) * SIDE_MULTIPLE,
        );
        fill_padded(image, self.layout, pw, ph, buf);
        let shape = self.layout.shape(3, pw, ph);
        let inputs = [
            TensorView {
                name: &self.image,
                shape: &shape,
                data: buf,
            },
            TensorView {
                name: &self.style,
                shape: &self.style_shape,
                data: style,
            },
        ];
        let out = self.model.run(&inputs)?;
        let Some(out) = out.into_iter().next() else {
            return Err(Error::model(self.model.path(), "gave no output"));
        };
        if out.shape.iter().product::<usize>() != 3 * pw as usize * ph as usize {
            return Err(Error::model(
                self.model.path(),
                format!("output {:?} does not match the input {shape:?}", out.shape),
            ));
        }
        Ok(crop_tensor(&out.data, self.layout, pw, image))
    }
}

/// Writes `image` into `buf` as a `pw` x `ph` RGB tensor in 0..1, repeating the last row and column.
fn fill_padded(image: &RgbaImage, layout: Layout, pw: u32, ph: u32, buf: &mut Vec<f32>) {
    let (w, h) = image.dimensions();
    let plane = pw as usize * ph as usize;
    buf.resize(3 * plane, 0.0);
    let raw = image.as_raw();
    for y in 0..ph as usize {
        let sy = y.min(h as usize - 1);
        for x in 0..pw as usize {
            let sx = x.min(w as usize - 1);
            let p = &raw[(sy * w as usize + sx) * 4..][..3];
            let i = y * pw as usize + x;
            for c in 0..3 {
                let v = ValueRange::Unit.encode(p[c]);
                match layout {
                    Layout::Nchw => buf[c * plane + i] = v,
                    Layout::Nhwc => buf[i * 3 + c] = v,
                }
            }
        }
    }
}

/// The top-left `image`-sized part of a padded RGB tensor `pw` wide (`data` holds exactly one
/// padded image), as RGBA with `image`'s alpha.
fn crop_tensor(data: &[f32], layout: Layout, pw: u32, image: &RgbaImage) -> RgbaImage {
    let (w, h) = image.dimensions();
    let plane = data.len() / 3;
    let mut out = crate::bufpool::image(w, h);
    for (y, (row, src)) in out
        .chunks_exact_mut(4 * w as usize)
        .zip(image.chunks_exact(4 * w as usize))
        .enumerate()
    {
        for (x, (p, s)) in row.chunks_exact_mut(4).zip(src.chunks_exact(4)).enumerate() {
            let i = y * pw as usize + x;
            for c in 0..3 {
                let v = match layout {
                    Layout::Nchw => data[c * plane + i],
                    Layout::Nhwc => data[i * 3 + c],
                };
                p[c] = ValueRange::Unit.decode(v);
            }
            p[3] = s[3];
        }
    }
    out
}

/// What runs now.
enum Active {
    None,
    Weights(Vec<f32>),
    Vector(Vec<f32>),
    Adapter { base: usize, run: RunConfig },
}

/// The style models' sessions and the active style. Long-lived: build one per stream.
pub struct Stylizer {
    config: StylizerConfig,
    multistyle: Option<StyleNet>,
    transform: Option<StyleNet>,
    predict: Option<Model>,
    /// Adapter base models, one session per file.
    bases: Vec<ImageModel>,
    active: Active,
    builds: u64,
    buf: Vec<f32>,
    resizer: Resizer,
}

impl Stylizer {
    /// A stylizer with no session yet: each is built the first time a style needs it.
    pub fn new(config: StylizerConfig) -> Self {
        Self {
            config,
            multistyle: None,
            transform: None,
            predict: None,
            bases: Vec::new(),
            active: Active::None,
            builds: 0,
            buf: Vec::new(),
            resizer: Resizer::new(),
        }
    }

    pub fn config(&self) -> &StylizerConfig {
        &self.config
    }

    /// How many ONNX Runtime sessions this stylizer has built so far. Switching between styles of
    /// models already loaded leaves it unchanged.
    pub fn session_builds(&self) -> u64 {
        self.builds
    }

    /// Makes `style` the active style, building the session it needs only if it has none yet.
    ///
    /// # Errors
    /// [`Error::Model`] for a model file that is missing or not the expected kind, or an adapter that
    /// does not fit its base model; [`Error::Spec`] for a vector of the wrong length.
    pub fn set_style(&mut self, style: &Style) -> Result<()> {
        self.active = match style {
            Style::Weights(w) => {
                if self.multistyle.is_none() {
                    self.multistyle = Some(StyleNet::load(
                        &self.config.multistyle_model,
                        &self.config.session,
                        NUM_STYLES,
                        "the 26-style network (multistyle26.onnx)",
                    )?);
                    self.builds += 1;
                }
                Active::Weights(w.values().to_vec())
            }
            Style::Vector(v) => {
                if v.len() != VECTOR_LEN {
                    return Err(Error::Spec(format!(
                        "a style vector has {VECTOR_LEN} values, this one {}",
                        v.len()
                    )));
                }
                if self.transform.is_none() {
                    self.transform = Some(StyleNet::load(
                        &self.config.transform_model,
                        &self.config.session,
                        VECTOR_LEN,
                        "the arbitrary-style transform network",
                    )?);
                    self.builds += 1;
                }
                Active::Vector(v.clone())
            }
            Style::Adapter { model, adapter } => Active::Adapter {
                base: self.base(model, true)?,
                run: RunConfig::new()?.with_adapter(adapter)?,
            },
            Style::Model(model) => Active::Adapter {
                base: self.base(model, false)?,
                run: RunConfig::new()?,
            },
        };
        Ok(())
    }

    /// The index of the session of base model `model`, built the first time. `for_adapter`: the
    /// model must expose adapter inputs.
    fn base(&mut self, model: &Path, for_adapter: bool) -> Result<usize> {
        // The same file by another path (a skill names its base relative to itself) is the same
        // base: no second session.
        let canonical = std::fs::canonicalize(model).ok();
        if let Some(i) = self.bases.iter().position(|m| {
            m.path() == model
                || (canonical.is_some() && std::fs::canonicalize(m.path()).ok() == canonical)
        }) {
            return Ok(i);
        }
        let m = ImageModel::load(model, &self.config.session, &ImageSpec::default())?;
        if for_adapter && m.model().parameters().is_empty() {
            return Err(Error::model(
                model,
                "has no adapter inputs (initializers that are also inputs), so \
                 adapter skills cannot change it",
            ));
        }
        self.bases.push(m);
        self.builds += 1;
        Ok(self.bases.len() - 1)
    }

    /// The arbitrary-style vector of a picture: centre square, 256x256, through the style encoder.
    ///
    /// # Errors
    /// [`Error::Model`] when the encoder is missing or fails.
    pub fn style_vector(&mut self, picture: &RgbaImage) -> Result<Vec<f32>> {
        if self.predict.is_none() {
            let model = Model::load(&self.config.predict_model, &self.config.session)?;
            model.single_input(
                &[
                    Some(1),
                    Some(PREDICT_SIDE as usize),
                    Some(PREDICT_SIDE as usize),
                    Some(3),
                ],
                "the style encoder (arbitrary_predict.onnx)",
            )?;
            self.predict = Some(model);
            self.builds += 1;
        }
        let Some(model) = self.predict.as_mut() else {
            return Err(Error::Internal("style encoder".to_string()));
        };
        let (w, h) = picture.dimensions();
        if w == 0 || h == 0 {
            return Err(Error::Spec("the style picture is empty".to_string()));
        }
        let side = w.min(h);
        let square = image::imageops::crop_imm(picture, (w - side) / 2, (h - side) / 2, side, side)
            .to_image();
        let small = resize_rgba(
            &mut self.resizer,
            &square,
            PREDICT_SIDE,
            PREDICT_SIDE,
            Filter::Lanczos3,
        )?;
        let name = model.inputs()[0].name.clone();
        let shape = Layout::Nhwc.shape(3, PREDICT_SIDE, PREDICT_SIDE);
        self.buf.resize(shape.iter().product(), 0.0);
        crate::infer::rgba_to_tensor(&small, Layout::Nhwc, ValueRange::Unit, &mut self.buf)?;
        let out = model.run(&[TensorView {
            name: &name,
            shape: &shape,
            data: &self.buf,
        }])?;
        match out.into_iter().next() {
            Some(t) if t.data.len() == VECTOR_LEN => Ok(t.data),
            other => Err(Error::model(
                model.path(),
                format!(
                    "expected a {VECTOR_LEN}-value style vector, got shape {:?}",
                    other.map(|t| t.shape)
                ),
            )),
        }
    }

    /// The style vector of the picture file `path`, from the cache when it was computed before.
    ///
    /// # Errors
    /// [`Error::Input`] naming the file when it cannot be read or is not a picture.
    pub fn style_vector_of_file(&mut self, path: &Path) -> Result<Vec<f32>> {
        let bytes = std::fs::read(path)
            .map_err(|e| Error::input(path, format!("cannot read the style picture: {e}")))?;
        let model_len = std::fs::metadata(&self.config.predict_model)
            .map(|m| m.len())
            .unwrap_or(0);
        let cache = self.config.cache_dir.as_ref().map(VectorCache::new);
        let key = VectorCache::key(&bytes, model_len);
        if let Some(v) = cache.as_ref().and_then(|c| c.get(&key, VECTOR_LEN)) {
            return Ok(v);
        }
        let picture = image::load_from_memory(&bytes)
            .map_err(|e| {
                Error::input(
                    path,
                    format!("not a picture doppel can read (PNG, JPEG, GIF, WebP, BMP): {e}"),
                )
            })?
            .to_rgba8();
        let v = self.style_vector(&picture)?;
        if let Some(c) = cache {
            c.put(&key, &v);
        }
        Ok(v)
    }

    /// Whether a style is active.
    pub fn has_style(&self) -> bool {
        !matches!(self.active, Active::None)
    }

    /// Draws `image` in the active style, at its own size (the style networks pad to a multiple of
    /// 4 internally; adapter models take the size as it is). Alpha is kept.
    ///
    /// # Errors
    /// [`Error::Spec`] when no style was set; inference errors naming the model.
    pub fn run(&mut self, image: &RgbaImage) -> Result<RgbaImage> {
        if image.width() == 0 || image.height() == 0 {
            return Err(Error::Spec("cannot stylize an empty image".to_string()));
        }
        let missing = || Error::Internal("stylizer session".to_string());
        match &self.active {
            Active::None => Err(Error::Spec(
                "no style set; give style=, blend=, image= or skill=".to_string(),
            )),
            Active::Weights(w) => {
                let net = self.multistyle.as_mut().ok_or_else(missing)?;
                net.run(image, w, &mut self.buf)
            }
            Active::Vector(v) => {
                let net = self.transform.as_mut().ok_or_else(missing)?;
                net.run(image, v, &mut self.buf)
            }
            Active::Adapter { base, run } => {
                let model = self.bases.get_mut(*base).ok_or_else(missing)?;
                // Convolutional bases that downsample (the portrait net halves twice) need sides
                // that divide evenly: edges are repeated up to a multiple of 4 and cropped after.
                let (w, h) = image.dimensions();
                let (pw, ph) = (
                    w.div_ceil(SIDE_MULTIPLE) * SIDE_MULTIPLE,
                    h.div_ceil(SIDE_MULTIPLE) * SIDE_MULTIPLE,
                );
                if (pw, ph) == (w, h) {
                    let (out, _) = model.run(image, Some(run))?;
                    return Ok(out);
                }
                let padded =
                    RgbaImage::from_fn(pw, ph, |x, y| *image.get_pixel(x.min(w - 1), y.min(h - 1)));
                let (out, _) = model.run(&padded, Some(run))?;
                Ok(image::imageops::crop_imm(&out, 0, 0, w, h).to_image())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_repeats_edges_and_crop_undoes_it() {
        let image = RgbaImage::from_fn(3, 2, |x, y| {
            image::Rgba([x as u8 * 50, y as u8 * 90, 7, 200])
        });
        let mut buf = Vec::new();
        fill_padded(&image, Layout::Nhwc, 4, 4, &mut buf);
        assert_eq!(buf.len(), 48);
        // (x=3, y=3) repeats (2, 1).
        let last = &buf[(3 * 4 + 3) * 3..][..3];
        assert_eq!(last, &[100.0 / 255.0, 90.0 / 255.0, 7.0 / 255.0]);
        for layout in [Layout::Nhwc, Layout::Nchw] {
            fill_padded(&image, layout, 4, 4, &mut buf);
            let back = crop_tensor(&buf, layout, 4, &image);
            assert_eq!(back, image);
        }
    }
}
