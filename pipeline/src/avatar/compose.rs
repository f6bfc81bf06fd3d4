//! Composition settings (what goes under the avatar, and whether it is an inset) and the CPU
//! reference of the composition math that `shaders/avatar_background.wgsl` and the renderer's
//! premultiplied "over" blending perform on the GPU.

use std::sync::Arc;

use image::{GrayImage, RgbaImage};

use super::builtin::Placement;

/// Side of the small blurred copy of the camera frame used for `Backdrop::Blur` is the frame's
/// divided by this; bilinear upsampling of it gives a strong, cheap blur.
pub const BLUR_DOWNSCALE: u32 = 8;
/// Gaussian radius applied to the small copy (in its own pixels).
pub const BLUR_RADIUS: u32 = 3;

/// What the avatar is drawn over.
#[derive(Clone, Debug, PartialEq)]
pub enum Backdrop {
    /// A solid colour (sRGB bytes).
    Color([u8; 3]),
    /// A picture, scaled to cover the frame (cropped, aspect kept).
    Image(Arc<RgbaImage>),
    /// The camera frame as it is.
    Camera,
    /// The camera frame, heavily blurred.
    Blur,
    /// The camera frame with the person (the mask from the segmentation stage) replaced by `fill`.
    Mask { fill: [u8; 3] },
    /// Nothing: a transparent frame with the avatar alone (straight alpha), for overlays.
    Transparent,
}

impl Backdrop {
    /// Whether the backdrop needs the camera frame.
    pub fn needs_camera(&self) -> bool {
        matches!(
            self,
            Backdrop::Camera | Backdrop::Blur | Backdrop::Mask { .. }
        )
    }
}

/// A corner of the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Corner {
    TopLeft,
    TopRight,
    BottomLeft,
    BottomRight,
}

impl Corner {
    pub const NAMES: [&'static str; 4] = ["top-left", "top-right", "bottom-left", "bottom-right"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "top-left" => Some(Self::TopLeft),
            "top-right" => Some(Self::TopRight),
            "bottom-left" => Some(Self::BottomLeft),
            "bottom-right" => Some(Self::BottomRight),
            _ => None,
        }
    }
}

/// Picture-in-picture: the camera frame fills the output and the avatar (over its backdrop) sits
/// in an inset in one corner.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pip {
    pub corner: Corner,
    /// Inset width as a fraction of the frame width (its height keeps the frame's aspect).
    pub size: f32,
}

impl Pip {
    /// The inset rectangle in a `width` x `height` frame, whole pixels, with a margin of 2% of the
    /// width.
    pub fn rect(&self, width: u32, height: u32) -> Placement {
        let (w, h) = (width as f32, height as f32);
        let iw = (w * self.size.clamp(0.05, 1.0)).round().max(1.0);
        let ih = (iw * h / w).round().max(1.0);
        let margin = (0.02 * w).round();
        let x = match self.corner {
            Corner::TopLeft | Corner::BottomLeft => margin,
            _ => (w - iw - margin).max(0.0),
        };
        let y = match self.corner {
            Corner::TopLeft | Corner::TopRight => margin,
            _ => (h - ih - margin).max(0.0),
        };
        Placement {
            x,
            y,
            width: iw,
            height: ih,
        }
    }
}

/// How a frame is composed.
#[derive(Clone, Debug, PartialEq)]
pub struct Composition {
    pub backdrop: Backdrop,
    pub pip: Option<Pip>,
}

impl Default for Composition {
    fn default() -> Self {
        Self {
            backdrop: Backdrop::Color([40, 44, 60]),
            pip: None,
        }
    }
}

impl Composition {
    /// Whether rendering needs the camera frame (for the backdrop or as the picture around an inset).
    pub fn needs_camera(&self) -> bool {
        self.pip.is_some() || self.backdrop.needs_camera()
    }

    /// Where the avatar goes in a `width` x `height` frame.
    pub fn placement(&self, width: u32, height: u32) -> Placement {
        match self.pip {
            Some(pip) => pip.rect(width, height),
            None => Placement::full(width, height),
        }
    }
}

/// Bilinear sample of `img` at normalised `uv`, clamped to the edge, with texel centres at
/// `(i + 0.5) / size` (as a GPU sampler with linear filtering and clamp-to-edge addressing).
pub fn sample_bilinear(img: &RgbaImage, uv: [f32; 2]) -> [f32; 4] {
    let (w, h) = img.dimensions();
    let x = uv[0] * w as f32 - 0.5;
    let y = uv[1] * h as f32 - 0.5;
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let at = |xi: f32, yi: f32| {
        let xi = (xi as i64).clamp(0, i64::from(w) - 1) as u32;
        let yi = (yi as i64).clamp(0, i64::from(h) - 1) as u32;
        let p = img.get_pixel(xi, yi).0;
        [
            f32::from(p[0]) / 255.0,
            f32::from(p[1]) / 255.0,
            f32::from(p[2]) / 255.0,
            f32::from(p[3]) / 255.0,
        ]
    };
    let (a, b, c, d) = (
        at(x0, y0),
        at(x0 + 1.0, y0),
        at(x0, y0 + 1.0),
        at(x0 + 1.0, y0 + 1.0),
    );
    let mut out = [0.0; 4];
    for i in 0..4 {
        let top = a[i] + (b[i] - a[i]) * fx;
        let bottom = c[i] + (d[i] - c[i]) * fx;
        out[i] = top + (bottom - top) * fy;
    }
    out
}

/// What the background pass draws inside `place`: its mode, fill colour and texture.
pub struct BackgroundPass<'a> {
    pub mode: u32,
    pub fill: [f32; 3],
    pub texture: Option<&'a RgbaImage>,
    pub mask: Option<&'a GrayImage>,
}

/// One background pixel at target pixel centre (`x + 0.5`, `y + 0.5`) inside `place`, 0..1, as
/// `avatar_background.wgsl` computes it.
pub fn background_pixel(pass: &BackgroundPass, place: &Placement, x: u32, y: u32) -> [f32; 3] {
    let uv = [
        (x as f32 + 0.5 - place.x) / place.width,
        (y as f32 + 0.5 - place.y) / place.height,
    ];
    let texel = match (pass.mode, pass.texture) {
        (0, _) | (_, None) => return pass.fill,
        (_, Some(t)) => sample_bilinear(t, uv),
    };
    if pass.mode == 1 {
        return [texel[0], texel[1], texel[2]];
    }
    let m = pass.mask.map_or(0.0, |mask| sample_gray(mask, uv));
    [
        texel[0] + (pass.fill[0] - texel[0]) * m,
        texel[1] + (pass.fill[1] - texel[1]) * m,
        texel[2] + (pass.fill[2] - texel[2]) * m,
    ]
}

fn sample_gray(img: &GrayImage, uv: [f32; 2]) -> f32 {
    let (w, h) = img.dimensions();
    let x = uv[0] * w as f32 - 0.5;
    let y = uv[1] * h as f32 - 0.5;
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let at = |xi: f32, yi: f32| {
        let xi = (xi as i64).clamp(0, i64::from(w) - 1) as u32;
        let yi = (yi as i64).clamp(0, i64::from(h) - 1) as u32;
        f32::from(img.get_pixel(xi, yi).0[0]) / 255.0
    };
    let top = at(x0, y0) + (at(x0 + 1.0, y0) - at(x0, y0)) * fx;
    let bottom = at(x0, y0 + 1.0) + (at(x0 + 1.0, y0 + 1.0) - at(x0, y0 + 1.0)) * fx;
    top + (bottom - top) * fy
}

/// `layer` (premultiplied RGBA) over `base`: `out = layer + base * (1 - layer.a)` per channel,
/// alpha included, rounded, as the GPU's blend unit does.
pub fn over_premultiplied(base: &mut RgbaImage, layer: &RgbaImage) {
    for (b, l) in base.pixels_mut().zip(layer.pixels()) {
        let a = f32::from(l[3]) / 255.0;
        for c in 0..4 {
            let v = f32::from(l[c]) + f32::from(b[c]) * (1.0 - a);
            b[c] = v.round().clamp(0.0, 255.0) as u8;
        }
    }
}

/// Textures prepared on the CPU for a frame's backdrop: the image backdrop scaled to cover the
/// placement, or the small blurred copy of the camera frame.
#[derive(Default)]
pub struct Prepared {
    /// `Backdrop::Image` at the placement's size.
    pub image: Option<RgbaImage>,
    /// `Backdrop::Blur`: the camera frame shrunk by [`BLUR_DOWNSCALE`] and blurred.
    pub blurred: Option<RgbaImage>,
}

/// The background passes of a frame, in order: with picture-in-picture, the camera frame over the
/// whole target first, then the backdrop inside the inset.
pub fn plan<'a>(
    composition: &Composition,
    width: u32,
    height: u32,
    camera: Option<&'a RgbaImage>,
    mask: Option<&'a GrayImage>,
    prepared: &'a Prepared,
) -> Vec<(Placement, BackgroundPass<'a>)> {
    let mut passes = Vec::new();
    let place = composition.placement(width, height);
    if composition.pip.is_some() {
        passes.push((
            Placement::full(width, height),
            BackgroundPass {
                mode: 1,
                fill: [0.0; 3],
                texture: camera,
                mask: None,
            },
        ));
    }
    let unit = |c: [u8; 3]| c.map(|v| f32::from(v) / 255.0);
    let pass = match &composition.backdrop {
        Backdrop::Color(c) => Some(BackgroundPass {
            mode: 0,
            fill: unit(*c),
            texture: None,
            mask: None,
        }),
        Backdrop::Image(_) => Some(BackgroundPass {
            mode: 1,
            fill: [0.0; 3],
            texture: prepared.image.as_ref(),
            mask: None,
        }),
        Backdrop::Camera => Some(BackgroundPass {
            mode: 1,
            fill: [0.0; 3],
            texture: camera,
            mask: None,
        }),
        Backdrop::Blur => Some(BackgroundPass {
            mode: 1,
            fill: [0.0; 3],
            texture: prepared.blurred.as_ref(),
            mask: None,
        }),
        Backdrop::Mask { fill } => Some(BackgroundPass {
            mode: 2,
            fill: unit(*fill),
            texture: camera,
            mask,
        }),
        Backdrop::Transparent => None,
    };
    if let Some(pass) = pass {
        passes.push((place, pass));
    }
    passes
}

/// The CPU reference of a whole composition: the background passes of [`plan`], then `layer`
/// (the avatar alone, premultiplied, as [`super::Renderer::render_layer`] gives it) over them.
pub fn reference(passes: &[(Placement, BackgroundPass)], layer: &RgbaImage) -> RgbaImage {
    let (w, h) = layer.dimensions();
    let mut out = RgbaImage::from_pixel(w, h, image::Rgba([0, 0, 0, 0]));
    for (place, pass) in passes {
        let x0 = place.x.max(0.0) as u32;
        let y0 = place.y.max(0.0) as u32;
        let x1 = ((place.x + place.width) as u32).min(w);
        let y1 = ((place.y + place.height) as u32).min(h);
        for y in y0..y1 {
            for x in x0..x1 {
                let c = background_pixel(pass, place, x, y);
                let byte = |v: f32| (v * 255.0).round().clamp(0.0, 255.0) as u8;
                out.put_pixel(x, y, image::Rgba([byte(c[0]), byte(c[1]), byte(c[2]), 255]));
            }
        }
    }
    over_premultiplied(&mut out, layer);
    out
}
