//! What VRM adds to glTF, read from the file's JSON: the humanoid skeleton (VRM 0.x / 1.0
//! `humanoid.humanBones`, or bones guessed from node names in plain glTF), the expressions (VRM 1.0
//! `expressions.preset`/`custom` with morph target, material colour and texture transform binds,
//! `isBinary` and the override flags; VRM 0.x `blendShapeMaster` groups with binds and material
//! values) and lookAt (VRM 1.0 `lookAt`, VRM 0.x `firstPerson.lookAt*`).
//!
//! Specification: vrm-c/vrm-specification, `VRMC_vrm-1.0` (humanoid.md, expressions.md,
//! lookAt.md) and `0.0` (README).

use std::collections::BTreeMap;

use serde_json::Value;

use super::gltf::{array, index, number, numbers};
use crate::rig::{HumanBone, ARKIT_NAMES};

/// The humanoid parent of `bone` in the VRM skeleton (`None` for the hips): a rig rotation of a
/// bone the model lacks is carried by its nearest child the model has.
pub fn humanoid_parent(bone: HumanBone) -> Option<HumanBone> {
    use HumanBone::*;
    let all = HumanBone::ALL;
    let i = bone as usize;
    Some(match bone {
        Hips => return None,
        Spine | LeftUpperLeg | RightUpperLeg => Hips,
        Chest => Spine,
        UpperChest => Chest,
        Neck | LeftShoulder | RightShoulder => UpperChest,
        Head => Neck,
        LeftEye | RightEye | Jaw => Head,
        LeftUpperArm => LeftShoulder,
        RightUpperArm => RightShoulder,
        LeftLowerArm | RightLowerArm | LeftHand | RightHand => all[i - 1],
        LeftLowerLeg | RightLowerLeg | LeftFoot | RightFoot => all[i - 1],
        LeftThumbProximal | LeftIndexProximal | LeftMiddleProximal | LeftRingProximal
        | LeftLittleProximal => LeftHand,
        RightThumbProximal | RightIndexProximal | RightMiddleProximal | RightRingProximal
        | RightLittleProximal => RightHand,
        // Intermediate and distal finger bones follow the one before them in the table.
        _ => all[i - 1],
    })
}

/// `humanoid.humanBones` of a VRM 1.0 (`vrm1`) or 0.x (`vrm0`) extension, or bones guessed from the
/// node names; nodes past `node_count` are dropped.
pub fn humanoid(
    vrm0: Option<&Value>,
    vrm1: Option<&Value>,
    names: &[String],
) -> BTreeMap<HumanBone, usize> {
    let mut out = BTreeMap::new();
    if let Some(bones) = vrm1
        .and_then(|v| v.pointer("/humanoid/humanBones"))
        .and_then(Value::as_object)
    {
        for (name, b) in bones {
            if let (Some(bone), Some(node)) =
                (HumanBone::from_vrm_name(name, true), index(b, "node"))
            {
                out.insert(bone, node);
            }
        }
    } else if let Some(bones) = vrm0
        .and_then(|v| v.pointer("/humanoid/humanBones"))
        .and_then(Value::as_array)
    {
        for b in bones {
            let name = b.get("bone").and_then(Value::as_str).unwrap_or("");
            if let (Some(bone), Some(node)) =
                (HumanBone::from_vrm_name(name, false), index(b, "node"))
            {
                out.entry(bone).or_insert(node);
            }
        }
    } else {
        for (node, name) in names.iter().enumerate() {
            if let Some(bone) = guess_bone(name) {
                out.entry(bone).or_insert(node);
            }
        }
    }
    out.retain(|_, n| *n < names.len());
    out
}

/// The humanoid bone a plain glTF node name most likely is: `Head`, `neck_01`, `LeftUpperArm`,
/// `upperarm_l`, `mixamorig:LeftArm`, `J_Bip_L_UpperArm`, `Bip01 L Forearm`, `thigh.R`, …
pub fn guess_bone(name: &str) -> Option<HumanBone> {
    use HumanBone::*;
    let mut s = name.to_ascii_lowercase();
    for prefix in [
        "mixamorig:",
        "mixamorig_",
        "mixamorig1:",
        "armature|",
        "def-",
        "def_",
    ] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest.to_string();
        }
    }
    // Words split at separators and case boundaries are overkill; side tokens are what matter.
    let words: Vec<&str> = s
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let mut side = None;
    let mut core = String::new();
    for w in &words {
        match *w {
            "l" | "left" => side = Some(0),
            "r" | "right" => side = Some(1),
            "j" | "bip" | "bip01" | "bip001" | "c" | "b" => {}
            _ => core.push_str(w),
        }
    }
    for (tag, k) in [("left", 0), ("right", 1)] {
        if let Some(rest) = core.strip_prefix(tag) {
            side = Some(k);
            core = rest.to_string();
        }
    }
    // Trailing digits of unsided names (`spine1`, `neck_01`) matter for the spine only.
    let pick = |l: HumanBone, r: HumanBone| side.map(|k| if k == 0 { l } else { r });
    Some(match core.as_str() {
        "hips" | "hip" | "pelvis" if side.is_none() => Hips,
        "spine" | "spine0" | "spine00" | "spine01" if side.is_none() => Spine,
        "chest" | "spine1" | "spine02" if side.is_none() => Chest,
        "upperchest" | "spine2" | "spine03" if side.is_none() => UpperChest,
        "neck" | "neck0" | "neck01" | "neck1" if side.is_none() => Neck,
        "head" if side.is_none() => Head,
        "jaw" if side.is_none() => Jaw,
        "eye" => pick(LeftEye, RightEye)?,
        "shoulder" | "clavicle" => pick(LeftShoulder, RightShoulder)?,
        "upperarm" | "arm" => pick(LeftUpperArm, RightUpperArm)?,
        "lowerarm" | "forearm" => pick(LeftLowerArm, RightLowerArm)?,
        "hand" => pick(LeftHand, RightHand)?,
        "upperleg" | "upleg" | "thigh" => pick(LeftUpperLeg, RightUpperLeg)?,
        "lowerleg" | "leg" | "calf" | "shin" => pick(LeftLowerLeg, RightLowerLeg)?,
        "foot" => pick(LeftFoot, RightFoot)?,
        _ => return None,
    })
}

/// How an expression suppresses the blink, lookAt or mouth expressions while it is on.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Override {
    #[default]
    None,
    /// Their weights become 0 while this one is above 0.
    Block,
    /// Their weights are multiplied by 1 - this one's.
    Blend,
}

impl Override {
    fn parse(v: Option<&Value>) -> Self {
        match v.and_then(Value::as_str) {
            Some("block") => Override::Block,
            Some("blend") => Override::Blend,
            _ => Override::None,
        }
    }

    /// The factor the overridden expressions get from an expression of weight `w`.
    pub fn factor(self, w: f32) -> f32 {
        match self {
            Override::None => 1.0,
            Override::Block => {
                if w > 0.0 {
                    0.0
                } else {
                    1.0
                }
            }
            Override::Blend => 1.0 - w.clamp(0.0, 1.0),
        }
    }
}

/// Which material colour a bind changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorKind {
    Base,
    Shade,
    Emission,
    Rim,
    Outline,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MorphBind {
    pub mesh: usize,
    pub target: usize,
    /// 0..1 at full expression weight.
    pub weight: f32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ColorBind {
    pub material: usize,
    pub kind: ColorKind,
    /// Linear RGBA the colour moves to at full weight.
    pub target: [f32; 4],
}

#[derive(Clone, Debug, PartialEq)]
pub struct UvBind {
    pub material: usize,
    pub scale: [f32; 2],
    pub offset: [f32; 2],
}

/// One VRM expression (1.0 preset or custom; 0.x blend shape group).
#[derive(Clone, Debug, PartialEq)]
pub struct Expression {
    /// The VRM 1.0 preset name (`happy`, `blinkLeft`, …) or 0.x preset (`joy`, `blink_l`), or a
    /// custom name.
    pub name: String,
    pub is_binary: bool,
    pub override_blink: Override,
    pub override_look_at: Override,
    pub override_mouth: Override,
    pub morphs: Vec<MorphBind>,
    pub colors: Vec<ColorBind>,
    pub uvs: Vec<UvBind>,
}

/// Which overridable group an expression belongs to (VRM 1.0 names; 0.x names map to them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Blink,
    LookAt,
    Mouth,
    Other,
}

impl Expression {
    pub fn group(&self) -> Group {
        match self.name.to_ascii_lowercase().as_str() {
            "blink" | "blinkleft" | "blinkright" | "blink_l" | "blink_r" => Group::Blink,
            "lookup" | "lookdown" | "lookleft" | "lookright" => Group::LookAt,
            "aa" | "ih" | "ou" | "ee" | "oh" | "a" | "i" | "u" | "e" | "o" => Group::Mouth,
            _ => Group::Other,
        }
    }

    /// Whether the expression changes anything.
    pub fn is_empty(&self) -> bool {
        self.morphs.is_empty() && self.colors.is_empty() && self.uvs.is_empty()
    }
}

fn srgb_to_linear(c: f32) -> f32 {
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// The ARKit name `name` is (case ignored), for Perfect Sync expressions named after ARKit.
pub fn arkit_name(name: &str) -> Option<&'static str> {
    ARKIT_NAMES
        .iter()
        .copied()
        .find(|a| a.eq_ignore_ascii_case(name))
}

/// The expressions of a VRM 1.0 (`vrm1`) or 0.x (`vrm0`) file. `node_mesh` maps a node to its mesh,
/// `material_names` finds 0.x material values by name; `valid` says whether a mesh has a target.
pub fn expressions(
    vrm0: Option<&Value>,
    vrm1: Option<&Value>,
    node_mesh: &dyn Fn(usize) -> Option<usize>,
    material_names: &[String],
    valid: &dyn Fn(usize, usize) -> bool,
) -> Vec<Expression> {
    let mut out = Vec::new();
    if let Some(ex) = vrm1.and_then(|v| v.get("expressions")) {
        for kind in ["preset", "custom"] {
            for (name, e) in ex
                .get(kind)
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let morphs = array(e, "morphTargetBinds")
                    .iter()
                    .filter_map(|b| {
                        let mesh = index(b, "node").and_then(node_mesh)?;
                        let target = index(b, "index")?;
                        valid(mesh, target).then(|| MorphBind {
                            mesh,
                            target,
                            weight: number(b, "weight").unwrap_or(1.0).clamp(0.0, 1.0),
                        })
                    })
                    .collect();
                let colors = array(e, "materialColorBinds")
                    .iter()
                    .filter_map(|b| {
                        let kind = match b.get("type").and_then(Value::as_str)? {
                            "color" => ColorKind::Base,
                            "emissionColor" => ColorKind::Emission,
                            "shadeColor" => ColorKind::Shade,
                            "rimColor" => ColorKind::Rim,
                            "outlineColor" => ColorKind::Outline,
                            _ => return None,
                        };
                        let target = numbers::<4>(b, "targetValue").or_else(|| {
                            numbers::<3>(b, "targetValue").map(|c| [c[0], c[1], c[2], 1.0])
                        })?;
                        Some(ColorBind {
                            material: index(b, "material")?,
                            kind,
                            target,
                        })
                    })
                    .collect();
                let uvs = array(e, "textureTransformBinds")
                    .iter()
                    .filter_map(|b| {
                        Some(UvBind {
                            material: index(b, "material")?,
                            scale: numbers::<2>(b, "scale").unwrap_or([1.0; 2]),
                            offset: numbers::<2>(b, "offset").unwrap_or([0.0; 2]),
                        })
                    })
                    .collect();
                out.push(Expression {
                    name: name.clone(),
                    is_binary: e.get("isBinary").and_then(Value::as_bool).unwrap_or(false),
                    override_blink: Override::parse(e.get("overrideBlink")),
                    override_look_at: Override::parse(e.get("overrideLookAt")),
                    override_mouth: Override::parse(e.get("overrideMouth")),
                    morphs,
                    colors,
                    uvs,
                });
            }
        }
        return out;
    }
    let groups = vrm0
        .and_then(|v| v.pointer("/blendShapeMaster/blendShapeGroups"))
        .and_then(Value::as_array);
    for g in groups.into_iter().flatten() {
        let name = g
            .get("presetName")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case("unknown"))
            .or_else(|| g.get("name").and_then(Value::as_str))
            .unwrap_or("")
            .to_string();
        let morphs = array(g, "binds")
            .iter()
            .filter_map(|b| {
                let mesh = index(b, "mesh")?;
                let target = index(b, "index")?;
                valid(mesh, target).then(|| MorphBind {
                    mesh,
                    target,
                    weight: (number(b, "weight").unwrap_or(100.0) / 100.0).clamp(0.0, 1.0),
                })
            })
            .collect();
        let mut colors = Vec::new();
        let mut uvs = Vec::new();
        for v in array(g, "materialValues") {
            let Some(material) = v
                .get("materialName")
                .and_then(Value::as_str)
                .and_then(|n| material_names.iter().position(|m| m == n))
            else {
                continue;
            };
            let Some(t) = numbers::<4>(v, "targetValue") else {
                continue;
            };
            let prop = v.get("propertyName").and_then(Value::as_str).unwrap_or("");
            let kind = match prop {
                "_Color" => ColorKind::Base,
                "_ShadeColor" => ColorKind::Shade,
                "_EmissionColor" => ColorKind::Emission,
                "_RimColor" => ColorKind::Rim,
                "_OutlineColor" => ColorKind::Outline,
                "_MainTex_ST" => {
                    // Unity's _ST: (scale x, scale y, offset x, offset y).
                    uvs.push(UvBind {
                        material,
                        scale: [t[0], t[1]],
                        offset: [t[2], t[3]],
                    });
                    continue;
                }
                _ => continue,
            };
            // 0.x colours are Unity gamma-space colours.
            colors.push(ColorBind {
                material,
                kind,
                target: [
                    srgb_to_linear(t[0]),
                    srgb_to_linear(t[1]),
                    srgb_to_linear(t[2]),
                    t[3],
                ],
            });
        }
        out.push(Expression {
            name,
            is_binary: g.get("isBinary").and_then(Value::as_bool).unwrap_or(false),
            override_blink: Override::None,
            override_look_at: Override::None,
            override_mouth: Override::None,
            morphs,
            colors,
            uvs,
        });
    }
    out
}

/// Applies `isBinary` and the override flags to raw expression values (same order as `exprs`):
/// binary expressions snap to 0 or 1 (above 0.5), then each expression with an override scales the
/// blink / lookAt / mouth group by its factor (the smallest factor wins), using the overriding
/// expression's binary value. A binary expression that is overridden at all is suppressed
/// completely (VRMC_vrm-1.0 expressions.md, "Interaction between override and isBinary"; the
/// specification's isBinary_Overrides / _Overridden test files check both).
pub fn resolve(exprs: &[Expression], raw: &[f32]) -> Vec<f32> {
    let mut w: Vec<f32> = exprs
        .iter()
        .zip(raw)
        .map(|(e, &v)| {
            let v = v.clamp(0.0, 1.0);
            if e.is_binary {
                if v > 0.5 {
                    1.0
                } else {
                    0.0
                }
            } else {
                v
            }
        })
        .collect();
    let mut factor = [1.0f32; 3];
    for (e, &v) in exprs.iter().zip(&w) {
        for (k, o) in [e.override_blink, e.override_look_at, e.override_mouth]
            .into_iter()
            .enumerate()
        {
            factor[k] = factor[k].min(o.factor(v));
        }
    }
    for (e, v) in exprs.iter().zip(w.iter_mut()) {
        let f = match e.group() {
            Group::Blink => factor[0],
            Group::LookAt => factor[1],
            Group::Mouth => factor[2],
            Group::Other => 1.0,
        };
        *v = if e.is_binary && f < 1.0 { 0.0 } else { *v * f };
    }
    w
}

/// Degrees of eye turn per unit of [`crate::avatar::AvatarState::gaze`] (gaze 1 = looking 30
/// degrees aside, about as far as eyes turn without the head).
pub const GAZE_DEGREES: f32 = 30.0;

/// A lookAt range map: input degrees up to `input_max` map linearly to `0..output_scale` (degrees
/// for bone lookAt, expression weight for expression lookAt).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RangeMap {
    pub input_max: f32,
    pub output_scale: f32,
}

impl RangeMap {
    pub fn map(&self, degrees: f32) -> f32 {
        (degrees.abs().min(self.input_max) / self.input_max.max(1e-3)) * self.output_scale
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookAtKind {
    Bone,
    Expression,
}

/// The model's lookAt.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LookAt {
    pub kind: LookAtKind,
    pub horizontal_inner: RangeMap,
    pub horizontal_outer: RangeMap,
    pub vertical_down: RangeMap,
    pub vertical_up: RangeMap,
}

impl LookAt {
    /// VRM 1.0 `lookAt` or VRM 0.x `firstPerson` (its curves taken as straight lines).
    pub fn parse(vrm0: Option<&Value>, vrm1: Option<&Value>) -> Option<Self> {
        if let Some(l) = vrm1.and_then(|v| v.get("lookAt")) {
            let map = |k: &str| {
                let m = l.get(k).unwrap_or(&Value::Null);
                RangeMap {
                    input_max: number(m, "inputMaxValue").unwrap_or(90.0),
                    output_scale: number(m, "outputScale").unwrap_or(10.0),
                }
            };
            return Some(LookAt {
                kind: match l.get("type").and_then(Value::as_str) {
                    Some("expression") => LookAtKind::Expression,
                    _ => LookAtKind::Bone,
                },
                horizontal_inner: map("rangeMapHorizontalInner"),
                horizontal_outer: map("rangeMapHorizontalOuter"),
                vertical_down: map("rangeMapVerticalDown"),
                vertical_up: map("rangeMapVerticalUp"),
            });
        }
        let fp = vrm0.and_then(|v| v.get("firstPerson"))?;
        let map = |k: &str| {
            let m = fp.get(k).unwrap_or(&Value::Null);
            RangeMap {
                input_max: number(m, "xRange").unwrap_or(90.0),
                output_scale: number(m, "yRange").unwrap_or(10.0),
            }
        };
        Some(LookAt {
            kind: match fp.get("lookAtTypeName").and_then(Value::as_str) {
                Some("BlendShape") => LookAtKind::Expression,
                _ => LookAtKind::Bone,
            },
            horizontal_inner: map("lookAtHorizontalInner"),
            horizontal_outer: map("lookAtHorizontalOuter"),
            vertical_down: map("lookAtVerticalDown"),
            vertical_up: map("lookAtVerticalUp"),
        })
    }

    /// Eye rotations `[left, right]` (normalized space: yaw about +Y towards the avatar's left,
    /// pitch up) for a gaze of `yaw`/`pitch` degrees, yaw > 0 towards the avatar's left (+X, the
    /// image's right).
    pub fn eye_angles(&self, yaw: f32, pitch: f32) -> [[f32; 2]; 2] {
        let vertical = if pitch >= 0.0 {
            self.vertical_up.map(pitch)
        } else {
            -self.vertical_down.map(pitch)
        };
        // Towards the avatar's left the left eye turns outwards and the right eye inwards.
        let (left, right) = if yaw >= 0.0 {
            (
                self.horizontal_outer.map(yaw),
                self.horizontal_inner.map(yaw),
            )
        } else {
            (
                -self.horizontal_inner.map(yaw),
                -self.horizontal_outer.map(yaw),
            )
        };
        [[left, vertical], [right, vertical]]
    }

    /// Weights of lookLeft / lookRight / lookUp / lookDown (expression lookAt) for the gaze.
    pub fn expression_weights(&self, yaw: f32, pitch: f32) -> [(&'static str, f32); 4] {
        [
            (
                "lookLeft",
                if yaw > 0.0 {
                    self.horizontal_outer.map(yaw)
                } else {
                    0.0
                },
            ),
            (
                "lookRight",
                if yaw < 0.0 {
                    self.horizontal_outer.map(yaw)
                } else {
                    0.0
                },
            ),
            (
                "lookUp",
                if pitch > 0.0 {
                    self.vertical_up.map(pitch)
                } else {
                    0.0
                },
            ),
            (
                "lookDown",
                if pitch < 0.0 {
                    self.vertical_down.map(pitch)
                } else {
                    0.0
                },
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use HumanBone::*;

    #[test]
    fn common_node_names_are_guessed() {
        for (name, bone) in [
            ("Head", Head),
            ("neck_01", Neck),
            ("mixamorig:LeftArm", LeftUpperArm),
            ("mixamorig:RightForeArm", RightLowerArm),
            ("upperarm_l", LeftUpperArm),
            ("J_Bip_R_UpperArm", RightUpperArm),
            ("thigh.R", RightUpperLeg),
            ("Bip01 L Forearm", LeftLowerArm),
            ("mixamorig:Spine1", Chest),
            ("LeftHand", LeftHand),
        ] {
            assert_eq!(guess_bone(name), Some(bone), "{name}");
        }
        assert_eq!(guess_bone("Cube"), None);
        assert_eq!(guess_bone("arm"), None);
    }

    #[test]
    fn parents_lead_to_the_hips() {
        for bone in HumanBone::ALL {
            let mut cur = Some(bone);
            let mut steps = 0;
            while let Some(b) = cur {
                cur = humanoid_parent(b);
                steps += 1;
                assert!(steps <= 12, "{bone:?}");
            }
        }
        assert_eq!(
            humanoid_parent(LeftIndexIntermediate),
            Some(LeftIndexProximal)
        );
        assert_eq!(humanoid_parent(RightThumbProximal), Some(RightHand));
        assert_eq!(humanoid_parent(LeftFoot), Some(LeftLowerLeg));
    }

    fn expr(name: &str) -> Expression {
        Expression {
            name: name.into(),
            is_binary: false,
            override_blink: Override::None,
            override_look_at: Override::None,
            override_mouth: Override::None,
            morphs: vec![],
            colors: vec![],
            uvs: vec![],
        }
    }

    #[test]
    fn binary_and_overrides_follow_the_spec() {
        let mut happy = expr("happy");
        happy.is_binary = true;
        happy.override_blink = Override::Blend;
        let mut angry = expr("angry");
        angry.override_mouth = Override::Block;
        let exprs = [happy, angry, expr("blink"), expr("aa")];
        // happy 0.6 -> 1 (binary) -> blink * 0; angry 0.1 blocks the mouth.
        assert_eq!(
            resolve(&exprs, &[0.6, 0.1, 0.8, 0.9]),
            vec![1.0, 0.1, 0.0, 0.0]
        );
        // happy 0.4 -> 0: nothing overridden.
        assert_eq!(
            resolve(&exprs, &[0.4, 0.0, 0.8, 0.9]),
            vec![0.0, 0.0, 0.8, 0.9]
        );
        let mut blend = expr("surprised");
        blend.override_blink = Override::Blend;
        let mut binary_blink = expr("blinkLeft");
        let w = resolve(&[blend.clone(), binary_blink.clone()], &[0.25, 1.0]);
        assert!((w[1] - 0.75).abs() < 1e-6);
        // An overridden binary expression is suppressed by any override.
        binary_blink.is_binary = true;
        assert_eq!(
            resolve(&[blend.clone(), binary_blink.clone()], &[0.1, 1.0])[1],
            0.0
        );
        assert_eq!(resolve(&[blend, binary_blink], &[0.0, 1.0])[1], 1.0);
    }
}
