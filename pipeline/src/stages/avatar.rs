//! `avatar` — replaces each frame with an avatar that follows the tracked face: the built-in cartoon
//! avatar (drawn by shaders) or a glTF 2.0 / VRM model, over a backdrop, rendered on the GPU (wgpu).
//!
//! Inputs: RGBA frames whose meta carries faces (its contract needs `track` before it) and, when present, bodies
//! (shoulders and arms follow them) and the person mask (for `background=mask`).
//! Outputs: frames of the same size holding the rendered avatar; meta passes through unchanged.
//! A frame without a face keeps the last tracked pose (a neutral centred avatar before the first).
//! Options:
//! - `model` (builtin): `builtin`, or a `.glb`/`.gltf`/`.vrm` file: VRM 0.x / 1.0 (humanoid bones,
//!   expressions, lookAt, MToon) or glTF with ARKit-named morph targets or bones named like Head,
//!   Neck, LeftUpperArm. Missing, not glTF, or broken: an error naming the file; a model nothing in
//!   it follows the face is drawn still, with a notice.
//! - `fallback` (false): with a bad `model`, draw the built-in avatar instead (with a build notice).
//! - `background` (color:#282C3C): `color:#RRGGBB`, `image:PATH` (scaled to cover), `camera`,
//!   `blur` (the camera frame blurred), `mask` or `mask:#RRGGBB` (the camera frame with the person,
//!   from the segmentation mask, replaced by a colour; needs `segment` before it), `transparent`.
//! - `pip` (off): `top-left|top-right|bottom-left|bottom-right` puts the avatar in an inset over the
//!   camera frame; `pip_size` (0.3) its width as a fraction of the frame width.
//! - `smooth` (0.3): 0..0.95, low-pass of the pose between frames (0 = raw tracking).
//!
//! Example: `doppel process talk.mp4 -o avatar.mp4 --stages track,avatar:background=blur`

use std::path::Path;
use std::sync::Arc;

use super::{BuildContext, StageEntry};
use crate::avatar::{
    AvatarModel, AvatarState, Backdrop, BodyPose, Composition, Corner, GltfAvatar, Palette, Pip,
    Renderer,
};
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::options::StageOptions;
use crate::options::{OptKind, OptSpec};
use crate::stage::{Contract, MetaSet, Stage, StageDoc};

const MODEL: OptSpec = OptSpec {
    name: "model",
    kind: OptKind::Text { default: "builtin" },
    help:
        "builtin | a .vrm (0.x/1.0) or .glb/.gltf file (ARKit-named morph targets, humanoid bones)",
};
const FALLBACK: OptSpec = OptSpec {
    name: "fallback",
    kind: OptKind::Bool(false),
    help: "with a bad model file, use the built-in avatar (with a notice)",
};
const BACKGROUND: OptSpec = OptSpec {
    name: "background",
    kind: OptKind::Text {
        default: "color:#282C3C",
    },
    help:
        "color:#RRGGBB | image:PATH | camera | blur | mask[:#RRGGBB] (needs segment) | transparent",
};
const PIP: OptSpec = OptSpec {
    name: "pip",
    kind: OptKind::Choice {
        choices: &[
            "off",
            "top-left",
            "top-right",
            "bottom-left",
            "bottom-right",
        ],
        default: "off",
    },
    help: "avatar inset over the camera frame",
};
const PIP_SIZE: OptSpec = OptSpec {
    name: "pip_size",
    kind: OptKind::F32 {
        default: 0.3,
        min: 0.05,
        max: 1.0,
    },
    help: "inset width as a fraction of the frame width",
};
const SMOOTH: OptSpec = OptSpec {
    name: "smooth",
    kind: OptKind::F32 {
        default: 0.3,
        min: 0.0,
        max: 0.95,
    },
    help: "pose smoothing between frames, 0 = raw tracking",
};

pub const DOC: StageDoc = StageDoc {
    name: "avatar",
    summary: "draws an avatar (built-in cartoon or glTF/VRM) that follows the tracked face, over a backdrop",
    options: &[MODEL, FALLBACK, BACKGROUND, PIP, PIP_SIZE, SMOOTH],
    example: "track,avatar:background=blur",
    contract,
};

pub const ENTRY: StageEntry = StageEntry {
    doc: &DOC,
    build: |options: &StageOptions, ctx: &BuildContext| {
        Ok(Box::new(Avatar::from_options(options, ctx)?))
    },
};

/// Faces always (a frame without one keeps the last pose); the person mask with
/// `background=mask`.
fn contract(options: &StageOptions) -> Result<Contract> {
    let background = options.text(&BACKGROUND)?;
    let kind = background.split(':').next().unwrap_or_default().trim();
    let mask = if kind.eq_ignore_ascii_case("mask") {
        MetaSet::MASK
    } else {
        MetaSet::NONE
    };
    Ok(Contract {
        needs: MetaSet::FACES | mask,
        ..Contract::NONE
    })
}

/// The avatar stage.
pub struct Avatar {
    renderer: Renderer,
    composition: Composition,
    smooth: f32,
    state: Option<AvatarState>,
    model: String,
}

/// Parses `#RRGGBB` (or `RRGGBB`).
pub fn parse_color(text: &str) -> Option<[u8; 3]> {
    let hex = text.trim().trim_start_matches('#');
    if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([byte(0)?, byte(2)?, byte(4)?])
}

/// The `background` option.
pub fn parse_backdrop(options: &StageOptions) -> Result<Backdrop> {
    let text = options.text(&BACKGROUND)?;
    let (kind, rest) = match text.split_once(':') {
        Some((k, r)) => (k.trim().to_ascii_lowercase(), Some(r.trim())),
        None => (text.to_ascii_lowercase(), None),
    };
    let color = |rest: Option<&str>, default: [u8; 3]| match rest {
        None => Ok(default),
        Some(c) => parse_color(c).ok_or_else(|| {
            options.error(
                "background",
                format!("'{c}' is not a colour; expected #RRGGBB"),
            )
        }),
    };
    match kind.as_str() {
        "color" | "colour" => Ok(Backdrop::Color(color(rest, [40, 44, 60])?)),
        "camera" if rest.is_none() => Ok(Backdrop::Camera),
        "blur" if rest.is_none() => Ok(Backdrop::Blur),
        "transparent" if rest.is_none() => Ok(Backdrop::Transparent),
        "mask" => Ok(Backdrop::Mask {
            fill: color(rest, [40, 44, 60])?,
        }),
        "image" => {
            let path = rest.filter(|p| !p.is_empty()).ok_or_else(|| {
                options.error("background", "image: needs a file, e.g. background=image:room.jpg")
            })?;
            let img = image::open(path)
                .map_err(|e| Error::input(path, format!("background image: {e}")))?;
            Ok(Backdrop::Image(Arc::new(img.to_rgba8())))
        }
        _ => Err(options.error(
            "background",
            format!(
                "'{text}' is not valid; expected color:#RRGGBB, image:PATH, camera, blur, mask[:#RRGGBB] or transparent"
            ),
        )),
    }
}

/// Loads the `model` option: the built-in avatar, a glTF file, or (with `fallback`) the built-in
/// avatar when the file cannot be used, with a notice in `ctx`.
pub fn load_model(options: &StageOptions, ctx: &BuildContext) -> Result<AvatarModel> {
    let name = options.text(&MODEL)?;
    if name.eq_ignore_ascii_case("builtin") {
        return Ok(AvatarModel::Builtin(Palette::default()));
    }
    match GltfAvatar::load(Path::new(name)) {
        Ok(model) => {
            if let Some(why) = model.still() {
                ctx.notice(format!("avatar: {name}: {why}; it is drawn without moving"));
            }
            Ok(AvatarModel::Gltf(Box::new(model)))
        }
        Err(e) if options.bool(&FALLBACK)? => {
            ctx.notice(format!(
                "avatar: {e}; drawing the built-in avatar instead (fallback=true)"
            ));
            Ok(AvatarModel::Builtin(Palette::default()))
        }
        Err(e) => Err(e),
    }
}

impl Avatar {
    /// Reads the options, loads the model and builds the renderer (opening the GPU device), so that
    /// bad files and GPU problems surface before the first frame.
    ///
    /// # Errors
    /// [`Error::Option`] for bad values, [`Error::Input`]/[`Error::Io`] for a bad model or image
    /// file, [`Error::Gpu`] when no device can render.
    pub fn from_options(options: &StageOptions, ctx: &BuildContext) -> Result<Self> {
        let backdrop = parse_backdrop(options)?;
        let pip = match options.choice(&PIP)? {
            "off" => None,
            corner => Some(Pip {
                corner: Corner::from_name(corner).unwrap_or(Corner::BottomRight),
                size: options.f32(&PIP_SIZE)?,
            }),
        };
        let smooth = options.f32(&SMOOTH)?;
        let model = load_model(options, ctx)?;
        let described = model.describe();
        let gpu = ctx
            .gpu()
            .map_err(|e| Error::Gpu(format!("stage 'avatar': {e}")))?;
        // The real size is known at the first frame; the renderer resizes then.
        let mut renderer = Renderer::new(gpu, 64, 64)?;
        renderer.set_model(model)?;
        Ok(Self {
            renderer,
            composition: Composition { backdrop, pip },
            smooth,
            state: None,
            model: described,
        })
    }

    /// `builtin` or the model file.
    pub fn model(&self) -> &str {
        &self.model
    }
}

impl Stage for Avatar {
    fn name(&self) -> &str {
        DOC.name
    }

    fn process(&mut self, mut frame: Frame) -> Result<Frame> {
        let (w, h) = (frame.width(), frame.height());
        self.renderer.resize(w, h)?;
        let target = AvatarState::from_meta(&frame.meta, w, h);
        if target.tracked {
            match &mut self.state {
                Some(s) if s.tracked => s.smooth_towards(&target, self.smooth),
                _ => self.state = Some(target),
            }
        } else {
            // Keep the last pose (a neutral one before the first face); follow the body and hands
            // alone.
            let s = self.state.get_or_insert_with(AvatarState::default);
            s.follow_body(&target);
        }
        let state = self.state.clone().unwrap_or_default();
        let mask = frame.meta.mask.clone();
        // The pipeline check puts `segment` before a mask backdrop; a stage used on its own can
        // still be given frames without a mask.
        if matches!(self.composition.backdrop, Backdrop::Mask { .. }) && mask.is_none() {
            return Err(Error::Contract(
                "background=mask needs the person mask (FrameMeta.mask) from 'segment' \
                 before it; none was given (or use background=blur)"
                    .to_string(),
            ));
        }
        // The camera frame is read only by backdrops that show it (a GPU frame is read back then).
        let camera = if self.composition.needs_camera() {
            Some(frame.pixels.image()?)
        } else {
            None
        };
        if self.composition.backdrop == Backdrop::Transparent {
            // Transparent output is un-premultiplied on the CPU.
            let mut out = crate::bufpool::image(w, h);
            self.renderer
                .render(&state, &self.composition, camera, mask.as_deref(), &mut out)?;
            frame.pixels.set_image(out);
        } else {
            // The frame stays on the GPU: the window presents it, a file sink reads it back.
            let out =
                self.renderer
                    .render_gpu(&state, &self.composition, camera, mask.as_deref())?;
            frame.pixels.set_texture(out);
        }
        Ok(frame)
    }

    /// Renders at the frame size a neutral avatar and one with tracked arms over a grey camera
    /// frame (and an empty person mask): every pass the composition uses has its shader compiled
    /// and the targets are allocated before the first frame.
    fn warm_up(&mut self, width: u32, height: u32) -> Result<()> {
        let (w, h) = (width.max(1), height.max(1));
        self.renderer.resize(w, h)?;
        let camera = image::RgbaImage::from_pixel(w, h, image::Rgba([128, 128, 128, 255]));
        let mask = image::GrayImage::new(w.div_ceil(4), h.div_ceil(4));
        let arms = BodyPose {
            shoulders: [Some([0.65, 0.8]), Some([0.35, 0.8])],
            elbows: [Some([0.8, 0.6]), Some([0.2, 0.6])],
            wrists: [Some([0.75, 0.4]), Some([0.25, 0.4])],
        };
        let mut out = image::RgbaImage::new(w, h);
        for body in [None, Some(arms)] {
            let state = AvatarState {
                body,
                ..AvatarState::default()
            };
            self.renderer.render(
                &state,
                &self.composition,
                Some(&camera),
                Some(&mask),
                &mut out,
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> StageOptions {
        StageOptions::from_pairs("avatar", pairs)
    }

    #[test]
    fn colours_parse() {
        assert_eq!(parse_color("#FF8000"), Some([255, 128, 0]));
        assert_eq!(parse_color("102030"), Some([16, 32, 48]));
        assert_eq!(parse_color("#12345"), None);
        assert_eq!(parse_color("#GG0000"), None);
    }

    #[test]
    fn backdrops_parse_with_clear_errors() {
        assert_eq!(
            parse_backdrop(&opts(&[("background", "color:#000010")])).unwrap(),
            Backdrop::Color([0, 0, 16])
        );
        assert_eq!(
            parse_backdrop(&opts(&[("background", "blur")])).unwrap(),
            Backdrop::Blur
        );
        assert_eq!(
            parse_backdrop(&opts(&[("background", "mask:#00ff00")])).unwrap(),
            Backdrop::Mask { fill: [0, 255, 0] }
        );
        let err = parse_backdrop(&opts(&[("background", "sky")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("background") && err.contains("color:#RRGGBB"),
            "{err}"
        );
        let err = parse_backdrop(&opts(&[("background", "color:red")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("'red'"), "{err}");
        let err = parse_backdrop(&opts(&[("background", "image:/no/such.png")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/no/such.png"), "{err}");
    }
}
