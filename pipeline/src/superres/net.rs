//! The weights of doppel's own super-resolution net, read from its ONNX file (the same file the ONNX
//! backend runs), for the GPU twin.
//!
//! The layout is the one `scripts/train_superres.py` exports and documents: initializers
//! `conv1..conv4` (3x3, ReLU after the first three) and `skip` (5x5, the bicubic path), whose outputs
//! are added and pixel-shuffled; every conv pads by repeating the edge. The metadata key
//! `doppel.superres.scale` gives the scale factor, which must agree with the weight shapes.

use std::path::Path;

use crate::error::{Error, Result};
use crate::onnx_weights::OnnxFile;

/// The metadata key holding the scale factor.
pub const SCALE_KEY: &str = "doppel.superres.scale";

/// One convolution: weights `[cout][cin][k][k]`, bias `[cout]`, padding `k / 2` by edge replication.
#[derive(Clone, Debug, PartialEq)]
pub struct Conv {
    pub cin: usize,
    pub cout: usize,
    pub k: usize,
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

/// The whole net.
#[derive(Clone, Debug, PartialEq)]
pub struct FastNet {
    pub scale: u32,
    /// conv1..conv4; ReLU follows all but the last.
    pub body: Vec<Conv>,
    /// The bicubic path, added to the last body conv before the pixel shuffle.
    pub skip: Conv,
}

impl FastNet {
    /// Reads the net from an ONNX file written by `scripts/train_superres.py`.
    ///
    /// # Errors
    /// [`Error::Model`] naming the file when it is not such a net: no scale in its metadata, a missing
    /// or misshapen layer, or shapes that do not chain.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_file(&OnnxFile::read(path)?)
    }

    /// As [`FastNet::load`], from a decoded file.
    ///
    /// # Errors
    /// As [`FastNet::load`].
    pub fn from_file(file: &OnnxFile) -> Result<Self> {
        let err = |m: String| Error::model(&file.path, m);
        let scale: u32 = file
            .meta(SCALE_KEY)
            .and_then(|s| s.parse().ok())
            .filter(|s| (1..=8).contains(s))
            .ok_or_else(|| {
                err(format!(
                    "no '{SCALE_KEY}' metadata: not a net written by scripts/train_superres.py \
                     (use model=PATH with backend=onnx for other models)"
                ))
            })?;
        let conv = |name: &str| -> Result<Conv> {
            let w = file.f32_tensor(&format!("{name}.weight"), 4)?;
            let b = file.f32_tensor(&format!("{name}.bias"), 1)?;
            let [cout, cin, kh, kw] = [w.dims[0], w.dims[1], w.dims[2], w.dims[3]];
            if kh != kw || kh % 2 == 0 || b.dims[0] != cout {
                return Err(err(format!(
                    "layer '{name}': weight {:?} and bias {:?} are not a square odd kernel with one \
                     bias per output",
                    w.dims, b.dims
                )));
            }
            Ok(Conv {
                cin,
                cout,
                k: kh,
                weight: w.data.clone(),
                bias: b.data.clone(),
            })
        };
        let body: Vec<Conv> = ["conv1", "conv2", "conv3", "conv4"]
            .iter()
            .map(|n| conv(n))
            .collect::<Result<_>>()?;
        let skip = conv("skip")?;
        let out = 3 * (scale * scale) as usize;
        let chained = body[0].cin == 3
            && body.windows(2).all(|p| p[0].cout == p[1].cin)
            && body[3].cout == out
            && skip.cin == 3
            && skip.cout == out;
        if !chained {
            let shapes: Vec<String> = body
                .iter()
                .chain([&skip])
                .map(|c| format!("{}->{} k{}", c.cin, c.cout, c.k))
                .collect();
            return Err(err(format!(
                "layers {} do not form the x{scale} net (3 inputs, {out} outputs = 3 x scale^2)",
                shapes.join(", ")
            )));
        }
        Ok(Self { scale, body, skip })
    }

    /// How many pixels around a tile its output depends on (sum of the body's kernel radii; the
    /// skip's radius is smaller).
    pub fn receptive_radius(&self) -> u32 {
        let body: usize = self.body.iter().map(|c| c.k / 2).sum();
        body.max(self.skip.k / 2) as u32
    }
}
