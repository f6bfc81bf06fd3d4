//! An image-to-image model: one RGB image tensor in, one image tensor out. Checks that a model is one
//! when it is loaded, and runs it on [`RgbaImage`]s.

use std::path::Path;

use image::RgbaImage;

use super::model::{Model, RunConfig, SessionConfig, TensorInfo, TensorView};
use super::tensor::{image_dims, rgba_to_tensor, tensor_to_rgba, Layout, ValueRange};
use crate::error::{Error, Result};

/// How an image model's tensors are laid out and scaled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageSpec {
    /// `None`: from the input shape (3 at dim 1 = NCHW, 3 at dim 3 = NHWC).
    pub layout: Option<Layout>,
    pub range: ValueRange,
    /// Output to use, by name; `None`: the first output shaped like an image.
    pub output: Option<String>,
}

impl Default for ImageSpec {
    fn default() -> Self {
        Self {
            layout: None,
            range: ValueRange::Unit,
            output: None,
        }
    }
}

/// A model checked to map one RGB image to an image (RGB, grey or RGBA).
#[derive(Debug)]
pub struct ImageModel {
    model: Model,
    input: TensorInfo,
    output: TensorInfo,
    layout: Layout,
    range: ValueRange,
    buffer: Vec<f32>,
}

fn shapes(list: &[TensorInfo]) -> String {
    list.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The largest fixed input width or height an image model may declare.
pub const MAX_IMAGE_SIDE: usize = 8192;

/// Whether `info` can be an image tensor in `layout` (rank 4, batch 1, `channels` fits where known,
/// and fixed width and height of at least 2: a `[1,1,1,1]` score is not an image).
fn fits(info: &TensorInfo, layout: Layout, channels: &[usize]) -> bool {
    let (c, h, w) = layout.axes();
    info.dims.len() == 4
        && matches!(info.dims[0], None | Some(1))
        && info.dims[c].is_none_or(|v| channels.contains(&v))
        && info.dims[h].is_none_or(|v| v >= 2)
        && info.dims[w].is_none_or(|v| v >= 2)
}

impl ImageModel {
    /// Loads `path` and checks it is image-to-image.
    ///
    /// # Errors
    /// As [`Model::load`] and [`ImageModel::new`].
    pub fn load(path: impl AsRef<Path>, session: &SessionConfig, spec: &ImageSpec) -> Result<Self> {
        Self::new(Model::load(path, session)?, spec)
    }

    /// Checks that `model` takes one f32 image and gives an f32 image, and picks the layout.
    ///
    /// # Errors
    /// [`Error::Model`] naming the file and the shapes: not exactly one input, an input that is not a
    /// batch-1 RGB image, a layout that cannot be told from the shape, or no output shaped like an image
    /// (e.g. a face detector's `[1,896,16]`).
    pub fn new(model: Model, spec: &ImageSpec) -> Result<Self> {
        let path = model.path().to_path_buf();
        let err = |message: String| Error::model(&path, message);
        let [input] = model.inputs() else {
            return Err(err(format!(
                "an image model takes one input, this one takes {}: {}",
                model.inputs().len(),
                shapes(model.inputs())
            )));
        };
        let input = input.clone();
        if !input.is_f32() {
            return Err(err(format!(
                "input {input} is not f32; only float image models are supported"
            )));
        }
        let layout = match spec.layout {
            Some(layout) => {
                if !fits(&input, layout, &[3]) {
                    return Err(err(format!(
                        "input {input} is not a batch-1 RGB image in {} layout (expected {})",
                        layout.name().to_uppercase(),
                        expected_input(layout)
                    )));
                }
                let other = match layout {
                    Layout::Nchw => Layout::Nhwc,
                    Layout::Nhwc => Layout::Nchw,
                };
                let (c, _, _) = layout.axes();
                let (other_c, _, _) = other.axes();
                if input.dims[c].is_none() && input.dims[other_c] == Some(3) {
                    return Err(err(format!(
                        "input {input} has 3 at dim {other_c} and a dynamic dim {c}: it is {}, not {}; \
                         leave layout out or give layout={}",
                        other.name().to_uppercase(),
                        layout.name().to_uppercase(),
                        other.name()
                    )));
                }
                layout
            }
            None => {
                let nchw = input.dims.len() == 4 && input.dims[1] == Some(3);
                let nhwc = input.dims.len() == 4 && input.dims[3] == Some(3);
                match (nchw, nhwc) {
                    (true, false) if fits(&input, Layout::Nchw, &[3]) => Layout::Nchw,
                    (false, true) if fits(&input, Layout::Nhwc, &[3]) => Layout::Nhwc,
                    (true, true) => {
                        return Err(err(format!(
                        "input {input}: both dim 1 and dim 3 are 3, so the layout is ambiguous; \
                             give layout=nchw or layout=nhwc"
                    )))
                    }
                    _ => {
                        return Err(err(format!(
                            "input {input} is not a batch-1 RGB image (expected {} or {}); \
                             give layout= if the channel dimension is dynamic",
                            expected_input(Layout::Nchw),
                            expected_input(Layout::Nhwc)
                        )))
                    }
                }
            }
        };
        let (_, h, w) = layout.axes();
        if let Some(side) = [input.dims[h], input.dims[w]]
            .into_iter()
            .flatten()
            .find(|&side| side > MAX_IMAGE_SIDE)
        {
            return Err(err(format!(
                "input {input} asks for images {side} pixels on a side; doppel takes at most \
                 {MAX_IMAGE_SIDE} per side"
            )));
        }
        let output = match &spec.output {
            Some(name) => {
                let Some(found) = model.outputs().iter().find(|o| &o.name == name) else {
                    return Err(err(format!(
                        "has no output '{name}'; its outputs: {}",
                        shapes(model.outputs())
                    )));
                };
                if !fits(found, layout, &[1, 3, 4]) {
                    return Err(err(not_image_output(
                        &input,
                        layout,
                        std::slice::from_ref(found),
                    )));
                }
                found.clone()
            }
            None => model
                .outputs()
                .iter()
                .find(|o| fits(o, layout, &[1, 3, 4]))
                .cloned()
                .ok_or_else(|| err(not_image_output(&input, layout, model.outputs())))?,
        };
        if !output.is_f32() {
            return Err(err(format!(
                "output {output} is not f32; only float image models are supported"
            )));
        }
        Ok(Self {
            model,
            input,
            output,
            layout,
            range: spec.range,
            buffer: Vec::new(),
        })
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    pub fn path(&self) -> &Path {
        self.model.path()
    }

    /// The image input.
    pub fn input(&self) -> &TensorInfo {
        &self.input
    }

    /// The output used.
    pub fn output(&self) -> &TensorInfo {
        &self.output
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    pub fn range(&self) -> ValueRange {
        self.range
    }

    /// The input width and height the model fixes (`None` where dynamic).
    pub fn fixed_size(&self) -> (Option<u32>, Option<u32>) {
        let (_, h, w) = self.layout.axes();
        let side = |d: Option<usize>| d.and_then(|v| u32::try_from(v).ok());
        (side(self.input.dims[w]), side(self.input.dims[h]))
    }

    /// Runs the model on `image`, which must have the model's input size where it is fixed. Returns the
    /// output image and its channel count (1, 3 or 4). For 1 and 3 channels, alpha is copied from
    /// `image` when the output has its size, else 255.
    ///
    /// # Errors
    /// [`Error::Model`] naming the file and both shapes when the image does not fit the input or the
    /// output tensor is not an image; inference failures.
    pub fn run(
        &mut self,
        image: &RgbaImage,
        run: Option<&RunConfig>,
    ) -> Result<(RgbaImage, usize)> {
        let (fw, fh) = self.fixed_size();
        if fw.is_some_and(|w| w != image.width()) || fh.is_some_and(|h| h != image.height()) {
            return Err(Error::size(
                format!("model {} input {}", self.model.path().display(), self.input),
                (fw.unwrap_or(image.width()), fh.unwrap_or(image.height())),
                image.dimensions(),
            ));
        }
        let shape = self.layout.shape(3, image.width(), image.height());
        self.buffer.resize(shape.iter().product(), 0.0);
        rgba_to_tensor(image, self.layout, self.range, &mut self.buffer)?;
        let view = TensorView {
            name: &self.input.name,
            shape: &shape,
            data: &self.buffer,
        };
        let outputs = match run {
            Some(config) => self.model.run_with(&[view], config)?,
            None => self.model.run(&[view])?,
        };
        let Some(out) = outputs.into_iter().find(|t| t.name == self.output.name) else {
            return Err(Error::model(
                self.model.path(),
                format!("output '{}' missing from the results", self.output.name),
            ));
        };
        let Some((channels, _, _)) = image_dims(&out.shape, self.layout) else {
            return Err(Error::model(
                self.model.path(),
                format!(
                    "output '{}' came out as {:?} for input {:?}: not a batch-1 image in {} layout with \
                     1, 3 or 4 channels",
                    out.name,
                    out.shape,
                    shape,
                    self.layout.name().to_uppercase()
                ),
            ));
        };
        let result = tensor_to_rgba(&out.data, &out.shape, self.layout, self.range, Some(image))
            .map_err(|e| Error::model(self.model.path(), e.to_string()))?;
        Ok((result, channels))
    }
}

fn expected_input(layout: Layout) -> &'static str {
    match layout {
        Layout::Nchw => "[1,3,H,W]",
        Layout::Nhwc => "[1,H,W,3]",
    }
}

fn not_image_output(input: &TensorInfo, layout: Layout, outputs: &[TensorInfo]) -> String {
    let expected = match layout {
        Layout::Nchw => "[1,C,H,W]",
        Layout::Nhwc => "[1,H,W,C]",
    };
    format!(
        "output is not an image: input {input} ({}) but output {}; an image model's output is {expected} \
         with C = 1, 3 or 4 and H, W >= 2",
        layout.name().to_uppercase(),
        shapes(outputs)
    )
}
