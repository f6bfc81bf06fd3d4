//! Materials of glTF / VRM avatars: the glTF base colour (factor, texture with
//! `KHR_texture_transform`), alpha mode, unlit (`KHR_materials_unlit`), emissive (with
//! `KHR_materials_emissive_strength`) and the toon parameters of MToon: VRM 1.0
//! `VRMC_materials_mtoon` and VRM 0.x `materialProperties` with shader `VRM/MToon`.
//!
//! MToon (vrm-c/vrm-specification, `VRMC_materials_mtoon-1.0`): the lit colour is the base colour,
//! the shade colour `shadeColorFactor` (times `shadeMultiplyTexture`); `shading = dot(N, L) +
//! shadingShift` goes from shade to lit over `linearstep(-1 + toony, 1 - toony, shading)`; a
//! parametric rim `pow(saturate(1 - dot(N, V) + rimLift), rimFresnelPower) * rimColor` and the
//! emissive colour are added; the outline is an inverted hull `outlineWidthFactor` wide (metres in
//! world mode, a fraction of the screen height in screen mode). VRM 0.x's `_ShadeShift`/`_ShadeToony`
//! step (`smoothstep(shift, shift + 1 - toony, shading)`) is mapped onto the same linear step, and
//! its `_OutlineWidth` is in centimetres.

use serde_json::Value;

use super::gltf::{array, index, number, numbers, Gltf};

/// How a material lets light through.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AlphaMode {
    Opaque,
    /// Cut out below this alpha.
    Mask(f32),
    Blend,
}

/// `KHR_texture_transform` of the base colour texture: uv' = offset + R(rotation) * (scale * uv).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UvTransform {
    pub offset: [f32; 2],
    pub scale: [f32; 2],
    /// Radians, counter-clockwise in UV space.
    pub rotation: f32,
}

impl Default for UvTransform {
    fn default() -> Self {
        Self {
            offset: [0.0; 2],
            scale: [1.0; 2],
            rotation: 0.0,
        }
    }
}

impl UvTransform {
    /// Where `uv` samples the texture.
    pub fn apply(&self, uv: [f32; 2]) -> [f32; 2] {
        let (s, c) = self.rotation.sin_cos();
        let (x, y) = (uv[0] * self.scale[0], uv[1] * self.scale[1]);
        [
            self.offset[0] + c * x + s * y,
            self.offset[1] - s * x + c * y,
        ]
    }
}

/// Outline of an MToon material.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OutlineWidth {
    None,
    /// World units (metres).
    World(f32),
    /// Fraction of the screen height.
    Screen(f32),
}

/// The toon parameters of an MToon material (linear colours).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Toon {
    pub shade_color: [f32; 3],
    /// Whether the shade colour is multiplied by the base colour texture (`shadeMultiplyTexture`
    /// is, in the files seen, the base texture; doppel samples one texture per material).
    pub shade_textured: bool,
    /// `shading` from shade to lit over `lo..hi` (linear step).
    pub step: [f32; 2],
    pub rim_color: [f32; 3],
    pub rim_fresnel_power: f32,
    pub rim_lift: f32,
    pub outline: OutlineWidth,
    pub outline_color: [f32; 3],
    /// 0: the outline colour as it is; 1: multiplied by the lighting.
    pub outline_lighting_mix: f32,
}

impl Default for Toon {
    fn default() -> Self {
        Self {
            shade_color: [0.0; 3],
            shade_textured: false,
            step: [-1.0, 1.0],
            rim_color: [0.0; 3],
            rim_fresnel_power: 5.0,
            rim_lift: 0.0,
            outline: OutlineWidth::None,
            outline_color: [0.0; 3],
            outline_lighting_mix: 1.0,
        }
    }
}

impl Toon {
    /// The colour of a fragment (linear RGB, before the alpha premultiply): `lit` the base colour
    /// (factor x texture), `texel` the base texture alone (for the shade multiply), `n_dot_l` and
    /// `n_dot_v` the cosines to the light and to the viewer. The shader's `toon()` computes the
    /// same (tests compare the two).
    pub fn shade(
        &self,
        lit: [f32; 3],
        texel: [f32; 3],
        n_dot_l: f32,
        n_dot_v: f32,
        emissive: [f32; 3],
    ) -> [f32; 3] {
        let [lo, hi] = self.step;
        let t = ((n_dot_l - lo) / (hi - lo).max(1e-4)).clamp(0.0, 1.0);
        let rim = (1.0 - n_dot_v + self.rim_lift)
            .clamp(0.0, 1.0)
            .powf(self.rim_fresnel_power.max(1e-3));
        std::array::from_fn(|c| {
            let shade = self.shade_color[c] * if self.shade_textured { texel[c] } else { 1.0 };
            shade + (lit[c] - shade) * t + rim * self.rim_color[c] + emissive[c]
        })
    }
}

/// A material as doppel draws it.
#[derive(Clone, Debug, PartialEq)]
pub struct Material {
    pub name: String,
    /// Linear RGBA.
    pub base_color: [f32; 4],
    /// Index into [`super::GltfAvatar::images`].
    pub texture: Option<usize>,
    pub uv: UvTransform,
    pub unlit: bool,
    pub alpha: AlphaMode,
    pub double_sided: bool,
    /// Linear RGB, strength applied.
    pub emissive: [f32; 3],
    pub toon: Option<Toon>,
}

impl Default for Material {
    fn default() -> Self {
        Self {
            name: String::new(),
            base_color: [1.0; 4],
            texture: None,
            uv: UvTransform::default(),
            unlit: false,
            alpha: AlphaMode::Opaque,
            double_sided: false,
            emissive: [0.0; 3],
            toon: None,
        }
    }
}

/// sRGB-encoded (VRM 0.x colour properties are Unity gamma colours) to linear.
fn srgb_to_linear(c: f32) -> f32 {
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

fn rgb(v: &Value, key: &str) -> Option<[f32; 3]> {
    numbers::<3>(v, key).or_else(|| numbers::<4>(v, key).map(|c| [c[0], c[1], c[2]]))
}

/// `KHR_texture_transform` of a texture-info object.
fn uv_transform(info: &Value) -> UvTransform {
    let Some(t) = info.pointer("/extensions/KHR_texture_transform") else {
        return UvTransform::default();
    };
    UvTransform {
        offset: numbers::<2>(t, "offset").unwrap_or([0.0; 2]),
        scale: numbers::<2>(t, "scale").unwrap_or([1.0; 2]),
        rotation: number(t, "rotation").unwrap_or(0.0),
    }
}

/// VRM 1.0 MToon.
fn mtoon1(m: &Value) -> Toon {
    let toony = number(m, "shadingToonyFactor")
        .unwrap_or(0.9)
        .clamp(0.0, 1.0);
    let shift = number(m, "shadingShiftFactor").unwrap_or(0.0);
    let width = number(m, "outlineWidthFactor").unwrap_or(0.0).max(0.0);
    let outline = match m.get("outlineWidthMode").and_then(Value::as_str) {
        Some("worldCoordinates") if width > 0.0 => OutlineWidth::World(width),
        Some("screenCoordinates") if width > 0.0 => OutlineWidth::Screen(width),
        _ => OutlineWidth::None,
    };
    Toon {
        shade_color: rgb(m, "shadeColorFactor").unwrap_or([0.0; 3]),
        shade_textured: m.get("shadeMultiplyTexture").is_some(),
        // dot + shift in linearstep(-1 + toony, 1 - toony): the step moves by -shift.
        step: [-1.0 + toony - shift, 1.0 - toony - shift],
        rim_color: rgb(m, "parametricRimColorFactor").unwrap_or([0.0; 3]),
        rim_fresnel_power: number(m, "parametricRimFresnelPowerFactor").unwrap_or(5.0),
        rim_lift: number(m, "parametricRimLiftFactor").unwrap_or(0.0),
        outline,
        outline_color: rgb(m, "outlineColorFactor").unwrap_or([0.0; 3]),
        outline_lighting_mix: number(m, "outlineLightingMixFactor").unwrap_or(1.0),
    }
}

/// VRM 0.x `materialProperties[]` entry with shader `VRM/MToon`: its toon parameters, and the base
/// colour / emissive it overrides.
fn mtoon0(p: &Value, m: &mut Material) {
    let f = |k: &str| {
        p.pointer(&format!("/floatProperties/{k}"))
            .and_then(Value::as_f64)
            .map(|x| x as f32)
    };
    let c = |k: &str| {
        numbers::<4>(p.get("vectorProperties").unwrap_or(&Value::Null), k).map(|c| {
            [
                srgb_to_linear(c[0]),
                srgb_to_linear(c[1]),
                srgb_to_linear(c[2]),
                c[3],
            ]
        })
    };
    let toony = f("_ShadeToony").unwrap_or(0.9).clamp(0.0, 1.0);
    let shift = f("_ShadeShift").unwrap_or(0.0);
    // 0.x: lightIntensity = dot(N, L) (after its half-Lambert round trip), smoothstep(shift,
    // shift + 1 - toony, .); taken as a linear step over the same range.
    let step = [shift, shift + (1.0 - toony).max(1e-3)];
    let width_cm = f("_OutlineWidth").unwrap_or(0.0).max(0.0);
    let outline = match f("_OutlineWidthMode").unwrap_or(0.0) as i32 {
        1 if width_cm > 0.0 => OutlineWidth::World(width_cm * 0.01),
        2 if width_cm > 0.0 => OutlineWidth::Screen(width_cm * 0.01),
        _ => OutlineWidth::None,
    };
    let rgb3 = |x: [f32; 4]| [x[0], x[1], x[2]];
    if let Some(color) = c("_Color") {
        m.base_color = color;
    }
    if let Some(e) = c("_EmissionColor") {
        m.emissive = rgb3(e);
    }
    m.toon = Some(Toon {
        shade_color: c("_ShadeColor").map_or([0.5; 3], rgb3),
        shade_textured: p.pointer("/textureProperties/_ShadeTexture").is_some(),
        step,
        rim_color: c("_RimColor").map_or([0.0; 3], rgb3),
        rim_fresnel_power: f("_RimFresnelPower").unwrap_or(1.0),
        rim_lift: f("_RimLift").unwrap_or(0.0),
        outline,
        outline_color: c("_OutlineColor").map_or([0.0; 3], rgb3),
        outline_lighting_mix: f("_OutlineLightingMix").unwrap_or(1.0),
    });
    // UniVRM writes a texture's placement as vectorProperties[name] = (offset x, offset y,
    // scale x, scale y).
    if let Some(st) = numbers::<4>(
        p.get("vectorProperties").unwrap_or(&Value::Null),
        "_MainTex",
    ) {
        m.uv.offset = [st[0], st[1]];
        m.uv.scale = [st[2], st[3]];
    }
}

/// Every material of the file (texture indices mapped to images, `None` for a texture whose image
/// is missing), plus a default material last.
pub fn materials(g: &Gltf, image_count: usize) -> Vec<Material> {
    let json = &g.json;
    let image_of = |texture: usize| g.texture_image(texture).filter(|&i| i < image_count);
    let vrm0_props = json
        .pointer("/extensions/VRM/materialProperties")
        .and_then(Value::as_array);
    let mut out: Vec<Material> = array(json, "materials")
        .iter()
        .map(|m| {
            let pbr = m.get("pbrMetallicRoughness").unwrap_or(&Value::Null);
            let base_tex = pbr.get("baseColorTexture");
            let strength = m
                .pointer("/extensions/KHR_materials_emissive_strength/emissiveStrength")
                .and_then(Value::as_f64)
                .unwrap_or(1.0) as f32;
            let mut mat = Material {
                name: m
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                base_color: numbers::<4>(pbr, "baseColorFactor").unwrap_or([1.0; 4]),
                texture: base_tex.and_then(|t| index(t, "index")).and_then(image_of),
                uv: base_tex.map(uv_transform).unwrap_or_default(),
                unlit: m.pointer("/extensions/KHR_materials_unlit").is_some(),
                alpha: match m.get("alphaMode").and_then(Value::as_str) {
                    Some("MASK") => AlphaMode::Mask(number(m, "alphaCutoff").unwrap_or(0.5)),
                    Some("BLEND") => AlphaMode::Blend,
                    _ => AlphaMode::Opaque,
                },
                double_sided: m
                    .get("doubleSided")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                emissive: numbers::<3>(m, "emissiveFactor")
                    .unwrap_or([0.0; 3])
                    .map(|c| c * strength),
                toon: m.pointer("/extensions/VRMC_materials_mtoon").map(mtoon1),
            };
            if let Some(p) = vrm0_props.and_then(|props| {
                props.iter().find(|p| {
                    p.get("name").and_then(Value::as_str) == Some(mat.name.as_str())
                        && p.get("shader").and_then(Value::as_str) == Some("VRM/MToon")
                })
            }) {
                mtoon0(p, &mut mat);
                if let Some(t) = p
                    .pointer("/textureProperties/_MainTex")
                    .and_then(Value::as_u64)
                {
                    mat.texture = image_of(t as usize);
                }
            }
            mat
        })
        .collect();
    out.push(Material::default());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toon_steps_from_shade_to_lit() {
        let toon = Toon {
            shade_color: [0.2, 0.1, 0.1],
            step: [-0.1, 0.1],
            ..Toon::default()
        };
        let lit = [0.9, 0.8, 0.7];
        assert_eq!(toon.shade(lit, [1.0; 3], 1.0, 1.0, [0.0; 3]), lit);
        assert_eq!(
            toon.shade(lit, [1.0; 3], -1.0, 1.0, [0.0; 3]),
            [0.2, 0.1, 0.1]
        );
        let mid = toon.shade(lit, [1.0; 3], 0.0, 1.0, [0.0; 3]);
        assert!((mid[0] - 0.55).abs() < 1e-5);
    }

    #[test]
    fn vrm0_mtoon_properties_become_toon_parameters() {
        let json = r#"{"asset": {"version": "2.0"},
            "materials": [{"name": "Body"}, {"name": "Plain"}],
            "extensions": {"VRM": {"materialProperties": [
                {"name": "Body", "shader": "VRM/MToon",
                 "floatProperties": {"_ShadeToony": 0.5, "_ShadeShift": 0.1,
                    "_OutlineWidthMode": 1, "_OutlineWidth": 0.2, "_RimLift": 0.3},
                 "vectorProperties": {"_Color": [1, 0.5, 0.5, 1],
                    "_ShadeColor": [0.5, 0.25, 0.25, 1], "_MainTex": [0.25, 0, 0.5, 1]}},
                {"name": "Plain", "shader": "VRM_USE_GLTFSHADER"}]}}}"#;
        let g = Gltf::parse(std::path::Path::new("t.gltf"), json.as_bytes()).unwrap();
        let m = materials(&g, 0);
        assert_eq!(m.len(), 3, "two materials and the default");
        let toon = m[0].toon.expect("MToon");
        assert!((toon.step[0] - 0.1).abs() < 1e-6 && (toon.step[1] - 0.6).abs() < 1e-6);
        assert_eq!(toon.outline, OutlineWidth::World(0.002));
        assert!((toon.rim_lift - 0.3).abs() < 1e-6);
        // Unity gamma colours become linear.
        assert!((m[0].base_color[1] - 0.214).abs() < 1e-3);
        assert!((toon.shade_color[0] - 0.214).abs() < 1e-3);
        assert_eq!(m[0].uv.offset, [0.25, 0.0]);
        assert_eq!(m[0].uv.scale, [0.5, 1.0]);
        assert!(m[1].toon.is_none());
    }

    #[test]
    fn texture_transform_scales_then_offsets() {
        let t = UvTransform {
            offset: [0.5, 0.25],
            scale: [0.5, 0.5],
            rotation: 0.0,
        };
        assert_eq!(t.apply([1.0, 1.0]), [1.0, 0.75]);
    }
}
