//! glTF 2.0 / VRM avatars: loading (`gltf` crate), the map from ARKit values and VRM expressions to
//! morph targets, and posing on the CPU (morph targets, node transforms with the head/neck turned,
//! linear blend skinning). The renderer uploads the posed vertices each frame.
//!
//! Expressions: a morph target named after an ARKit blendshape (`jawOpen`, `eyeBlinkLeft`, …; case
//! and any `prefix.` ignored) follows that value. VRM 0.x (`extensions.VRM.blendShapeMaster`) and
//! VRM 1.0 (`extensions.VRMC_vrm.expressions`) expressions are driven from the ARKit values:
//! blink/blinkLeft/blinkRight from the eye blinks, aa from jawOpen, ih/ee from mouth widening, ou/oh
//! from pucker/funnel, happy (VRM 0: joy) from the smile, surprised from the raised brows, lookUp/
//! Down/Left/Right from the gaze. Head and neck: VRM humanoid bones, else nodes named like `head`
//! and `neck`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use glam::{Mat4, Quat, Vec3};
use image::RgbaImage;
use serde_json::Value;

use super::state::AvatarState;
use crate::error::{Error, Result};
use crate::rig::find_preset;

/// How a material lets light through.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AlphaMode {
    Opaque,
    /// Cut out below this alpha.
    Mask(f32),
    Blend,
}

/// A material: base colour factor (linear) and texture, lit or unlit.
#[derive(Clone, Debug, PartialEq)]
pub struct Material {
    pub base_color: [f32; 4],
    /// Index into [`GltfAvatar::images`].
    pub texture: Option<usize>,
    pub unlit: bool,
    pub alpha: AlphaMode,
    pub double_sided: bool,
}

impl Default for Material {
    fn default() -> Self {
        Self {
            base_color: [1.0; 4],
            texture: None,
            unlit: false,
            alpha: AlphaMode::Opaque,
            double_sided: false,
        }
    }
}

/// Position and normal offsets of one morph target (normals empty when it has none).
pub type MorphTarget = (Vec<[f32; 3]>, Vec<[f32; 3]>);

/// One drawable piece: vertices, triangles and morph targets.
#[derive(Clone, Debug)]
pub struct Primitive {
    pub positions: Vec<[f32; 3]>,
    pub normals: Vec<[f32; 3]>,
    pub uvs: Vec<[f32; 2]>,
    pub indices: Vec<u32>,
    /// Per target: position and normal offsets (normals empty when the target has none).
    pub targets: Vec<MorphTarget>,
    /// Index into [`GltfAvatar::materials`] (the last one is the default material).
    pub material: usize,
    pub joints: Vec<[u16; 4]>,
    pub weights: Vec<[f32; 4]>,
}

#[derive(Clone, Debug)]
struct Mesh {
    primitives: Vec<Primitive>,
    default_weights: Vec<f32>,
}

#[derive(Clone, Debug)]
struct Node {
    parent: Option<usize>,
    translation: Vec3,
    rotation: Quat,
    scale: Vec3,
    mesh: Option<usize>,
    skin: Option<usize>,
}

#[derive(Clone, Debug)]
struct Skin {
    joints: Vec<usize>,
    inverse_bind: Vec<Mat4>,
}

/// What drives a morph target.
#[derive(Clone, Debug, PartialEq)]
enum Driver {
    Arkit(String),
    Vrm(String),
}

#[derive(Clone, Debug, PartialEq)]
struct Binding {
    mesh: usize,
    target: usize,
    driver: Driver,
    weight: f32,
}

/// One primitive posed for a frame, in world space.
#[derive(Clone, Debug)]
pub struct Posed<'a> {
    pub primitive: &'a Primitive,
    pub positions: Vec<[f32; 3]>,
    pub normals: Vec<[f32; 3]>,
}

/// A loaded glTF 2.0 / VRM avatar, ready to pose.
#[derive(Clone, Debug)]
pub struct GltfAvatar {
    pub path: PathBuf,
    nodes: Vec<Node>,
    /// Scene nodes in an order where parents come before children.
    order: Vec<usize>,
    meshes: Vec<Mesh>,
    skins: Vec<Skin>,
    pub materials: Vec<Material>,
    pub images: Vec<RgbaImage>,
    head: Option<usize>,
    neck: Option<usize>,
    bindings: Vec<Binding>,
    /// Applied above the root: VRM 0.x models face -Z and are turned to face the camera.
    root: Mat4,
    /// Head centre and height (world units, rest pose): what is framed to the tracked face.
    pub head_center: Vec3,
    pub head_height: f32,
}

fn input(path: &Path, message: impl Into<String>) -> Error {
    Error::input(path, format!("avatar model: {}", message.into()))
}

/// The part of a morph target name that can be an ARKit name: after the last `.` (Blender exports
/// `Body.jawOpen`-style names), lower-cased.
fn target_key(name: &str) -> String {
    name.rsplit('.')
        .next()
        .unwrap_or(name)
        .trim()
        .to_ascii_lowercase()
}

/// ARKit blendshape names (lower-cased) the avatar state provides.
const ARKIT: [&str; 24] = [
    "eyeblinkleft",
    "eyeblinkright",
    "jawopen",
    "mouthsmileleft",
    "mouthsmileright",
    "mouthstretchleft",
    "mouthstretchright",
    "browinnerup",
    "browouterupleft",
    "browouterupright",
    "browdownleft",
    "browdownright",
    "eyelookinleft",
    "eyelookinright",
    "eyelookoutleft",
    "eyelookoutright",
    "eyelookupleft",
    "eyelookupright",
    "eyelookdownleft",
    "eyelookdownright",
    "mouthpucker",
    "mouthfunnel",
    "mouthfrownleft",
    "mouthfrownright",
];

/// Component types (glTF `componentType`) each vertex attribute may have, by name prefix; the gltf
/// crate's readers panic on others.
const ATTRIBUTE_TYPES: [(&str, &[u64]); 5] = [
    ("JOINTS_", &[5121, 5123]),
    ("WEIGHTS_", &[5121, 5123, 5126]),
    ("TEXCOORD_", &[5121, 5123, 5126]),
    ("COLOR_", &[5121, 5123, 5126]),
    ("indices", &[5121, 5123, 5125]),
];

/// Checks what the gltf crate's validation leaves to its readers: every accessor a mesh primitive
/// names (attributes, indices, morph targets) exists and has a component type its reader handles,
/// and every image has the `mimeType` or `uri` its source needs.
fn check_structure(json: &Value) -> std::result::Result<(), String> {
    let accessors: &[Value] = json
        .get("accessors")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let count = accessors.len();
    let check = |what: String, index: &Value| -> std::result::Result<(), String> {
        let Some(accessor) = index.as_u64().and_then(|i| accessors.get(i as usize)) else {
            return Err(format!(
                "{what} names accessor {index}, but the file has {count} accessors"
            ));
        };
        let name = what.rsplit(' ').next().unwrap_or_default();
        if let Some((_, allowed)) = ATTRIBUTE_TYPES.iter().find(|(p, _)| name.starts_with(p)) {
            let kind = accessor.get("componentType").and_then(Value::as_u64);
            if !kind.is_some_and(|k| allowed.contains(&k)) {
                return Err(format!(
                    "{what}: accessor {index} has componentType {}, expected one of {allowed:?}",
                    kind.map_or("none".to_string(), |k| k.to_string())
                ));
            }
        }
        Ok(())
    };
    let meshes = json.get("meshes").and_then(Value::as_array);
    for (m, mesh) in meshes.into_iter().flatten().enumerate() {
        let primitives = mesh.get("primitives").and_then(Value::as_array);
        for (p, prim) in primitives.into_iter().flatten().enumerate() {
            let at = format!("mesh {m} primitive {p}");
            let maps = prim.get("attributes").into_iter().chain(
                prim.get("targets")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten(),
            );
            for map in maps {
                for (name, index) in map.as_object().into_iter().flatten() {
                    check(format!("{at} {name}"), index)?;
                }
            }
            if let Some(index) = prim.get("indices") {
                check(format!("{at} indices"), index)?;
            }
        }
    }
    let images = json.get("images").and_then(Value::as_array);
    for (i, image) in images.into_iter().flatten().enumerate() {
        let has = |key: &str| image.get(key).is_some_and(Value::is_string);
        let ok = if image.get("bufferView").is_some() {
            has("mimeType")
        } else {
            has("uri")
        };
        if !ok {
            return Err(format!(
                "image {i} needs a uri, or a bufferView with a mimeType"
            ));
        }
    }
    Ok(())
}

impl GltfAvatar {
    /// Loads `path` (`.glb`, `.gltf` or `.vrm`).
    ///
    /// # Errors
    /// [`Error::Input`] naming the file when it is missing, is not glTF 2.0, has no mesh, or has no
    /// morph target that a face value drives (with the target names it found).
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let json: Value = if bytes.starts_with(b"glTF") {
            let glb = gltf::Glb::from_slice(&bytes).map_err(|e| {
                input(
                    path,
                    format!("not a valid glTF 2.0 binary (.glb/.vrm): {e}"),
                )
            })?;
            serde_json::from_slice(&glb.json)
        } else {
            serde_json::from_slice(&bytes)
        }
        .map_err(|e| {
            input(
                path,
                format!("not a glTF 2.0 file (expected a .glb/.vrm binary or .gltf JSON): {e}"),
            )
        })?;
        check_structure(&json).map_err(|m| input(path, m))?;
        // The gltf crate trusts what its validation does not check (it indexes, unwraps and hits
        // `unreachable!` on such files: found by pipeline/tests/fuzz.rs). What it was seen to trip on
        // is checked above; a panic on anything else still becomes an error naming the file rather
        // than ending the stage's thread.
        std::panic::catch_unwind(|| {
            let (doc, buffers, images) = gltf::import(path)
                .map_err(|e| input(path, format!("not a valid glTF 2.0 file: {e}")))?;
            Self::build(path, &json, &doc, &buffers, &images)
        })
        .unwrap_or_else(|_| {
            Err(input(
                path,
                "not a valid glTF 2.0 file: the glTF reader failed on its structure",
            ))
        })
    }

    fn build(
        path: &Path,
        json: &Value,
        doc: &gltf::Document,
        buffers: &[gltf::buffer::Data],
        images: &[gltf::image::Data],
    ) -> Result<Self> {
        let images: Vec<RgbaImage> = images.iter().map(to_rgba).collect();
        let mut materials: Vec<Material> = doc
            .materials()
            .map(|m| {
                let pbr = m.pbr_metallic_roughness();
                Material {
                    base_color: pbr.base_color_factor(),
                    texture: pbr
                        .base_color_texture()
                        .map(|t| t.texture().source().index())
                        .filter(|&i| i < images.len()),
                    unlit: m.unlit(),
                    alpha: match m.alpha_mode() {
                        gltf::material::AlphaMode::Opaque => AlphaMode::Opaque,
                        gltf::material::AlphaMode::Mask => {
                            AlphaMode::Mask(m.alpha_cutoff().unwrap_or(0.5))
                        }
                        gltf::material::AlphaMode::Blend => AlphaMode::Blend,
                    },
                    double_sided: m.double_sided(),
                }
            })
            .collect();
        let default_material = materials.len();
        materials.push(Material::default());

        let mut meshes = Vec::new();
        for mesh in doc.meshes() {
            let mut primitives = Vec::new();
            for prim in mesh.primitives() {
                if prim.mode() != gltf::mesh::Mode::Triangles {
                    continue;
                }
                let reader = prim.reader(|b| buffers.get(b.index()).map(|d| &d.0[..]));
                let Some(positions) = reader.read_positions().map(|p| p.collect::<Vec<_>>()) else {
                    continue;
                };
                let n = positions.len();
                let indices: Vec<u32> = match reader.read_indices() {
                    Some(i) => i.into_u32().collect(),
                    None => (0..n as u32).collect(),
                };
                if indices.iter().any(|&i| i as usize >= n) {
                    return Err(input(
                        path,
                        format!(
                            "mesh '{}' has an index past its {n} vertices",
                            mesh.name().unwrap_or("?")
                        ),
                    ));
                }
                let normals = reader
                    .read_normals()
                    .map(|v| v.collect::<Vec<_>>())
                    .filter(|v| v.len() == n)
                    .unwrap_or_else(|| flat_normals(&positions, &indices));
                let uvs = reader
                    .read_tex_coords(0)
                    .map(|t| t.into_f32().collect::<Vec<_>>())
                    .filter(|v| v.len() == n)
                    .unwrap_or_else(|| vec![[0.0; 2]; n]);
                let targets = reader
                    .read_morph_targets()
                    .map(|(p, nrm, _)| {
                        let p = p.map(|p| p.collect::<Vec<_>>()).unwrap_or_default();
                        let p = if p.len() == n { p } else { vec![[0.0; 3]; n] };
                        let nrm = nrm.map(|v| v.collect::<Vec<_>>()).unwrap_or_default();
                        let nrm = if nrm.len() == n { nrm } else { Vec::new() };
                        (p, nrm)
                    })
                    .collect();
                let joints = reader
                    .read_joints(0)
                    .map(|j| j.into_u16().collect::<Vec<_>>())
                    .filter(|v| v.len() == n)
                    .unwrap_or_default();
                let weights = reader
                    .read_weights(0)
                    .map(|w| w.into_f32().collect::<Vec<_>>())
                    .filter(|v| v.len() == n)
                    .unwrap_or_default();
                primitives.push(Primitive {
                    positions,
                    normals,
                    uvs,
                    indices,
                    targets,
                    material: prim.material().index().unwrap_or(default_material),
                    joints,
                    weights,
                });
            }
            meshes.push(Mesh {
                primitives,
                default_weights: mesh.weights().map(<[f32]>::to_vec).unwrap_or_default(),
            });
        }
        if meshes.iter().all(|m| m.primitives.is_empty()) {
            return Err(input(path, "has no triangle mesh to draw"));
        }

        let mut nodes: Vec<Node> = doc
            .nodes()
            .map(|n| {
                let (t, r, s) = n.transform().decomposed();
                Node {
                    parent: None,
                    translation: Vec3::from(t),
                    rotation: Quat::from_array(r).normalize(),
                    scale: Vec3::from(s),
                    mesh: n.mesh().map(|m| m.index()),
                    skin: n.skin().map(|s| s.index()),
                }
            })
            .collect();
        for n in doc.nodes() {
            for c in n.children() {
                nodes[c.index()].parent = Some(n.index());
            }
        }
        // glTF requires the nodes to form trees; a file whose parents loop would hang every walk
        // up the hierarchy (found by the fuzz test), so it is refused here.
        for start in 0..nodes.len() {
            let mut cur = nodes[start].parent;
            let mut steps = 0;
            while let Some(c) = cur {
                steps += 1;
                if steps > nodes.len() {
                    return Err(input(
                        path,
                        format!("node {start}'s parents form a cycle; glTF nodes must form trees"),
                    ));
                }
                cur = nodes[c].parent;
            }
        }
        let scene = doc.default_scene().or_else(|| doc.scenes().next());
        let mut order = Vec::new();
        let mut stack: Vec<usize> = match &scene {
            Some(s) => s.nodes().map(|n| n.index()).collect(),
            None => (0..nodes.len())
                .filter(|&i| nodes[i].parent.is_none())
                .collect(),
        };
        stack.reverse();
        while let Some(i) = stack.pop() {
            if order.contains(&i) {
                continue;
            }
            order.push(i);
            if let Some(n) = doc.nodes().nth(i) {
                let mut kids: Vec<usize> = n.children().map(|c| c.index()).collect();
                kids.reverse();
                stack.extend(kids);
            }
        }

        let skins = doc
            .skins()
            .map(|s| {
                let reader = s.reader(|b| buffers.get(b.index()).map(|d| &d.0[..]));
                let joints: Vec<usize> = s.joints().map(|j| j.index()).collect();
                let mut inverse_bind: Vec<Mat4> = reader
                    .read_inverse_bind_matrices()
                    .map(|m| m.map(|c| Mat4::from_cols_array_2d(&c)).collect())
                    .unwrap_or_default();
                inverse_bind.resize(joints.len(), Mat4::IDENTITY);
                Skin {
                    joints,
                    inverse_bind,
                }
            })
            .collect();

        let ext = json.get("extensions");
        let vrm0 = ext.and_then(|e| e.get("VRM"));
        let vrm1 = ext.and_then(|e| e.get("VRMC_vrm"));
        let bone = |name: &str| -> Option<usize> {
            if let Some(v) = vrm1 {
                if let Some(i) = v
                    .pointer(&format!("/humanoid/humanBones/{name}/node"))
                    .and_then(Value::as_u64)
                {
                    return Some(i as usize);
                }
            }
            vrm0.and_then(|v| v.pointer("/humanoid/humanBones"))
                .and_then(Value::as_array)
                .and_then(|bones| {
                    bones.iter().find_map(|b| {
                        (b.get("bone").and_then(Value::as_str) == Some(name))
                            .then(|| b.get("node").and_then(Value::as_u64))
                            .flatten()
                    })
                })
                .map(|i| i as usize)
        };
        let named = |want: &str| {
            doc.nodes()
                .find(|n| {
                    n.name()
                        .map(|s| {
                            let s = s.to_ascii_lowercase();
                            s == want
                                || s.ends_with(&format!("_{want}"))
                                || s.ends_with(&format!(":{want}"))
                        })
                        .unwrap_or(false)
                })
                .map(|n| n.index())
        };
        let head = bone("head")
            .or_else(|| named("head"))
            .filter(|&i| i < nodes.len());
        let neck = bone("neck")
            .or_else(|| named("neck"))
            .filter(|&i| i < nodes.len());

        let bindings = bindings(json, doc, &meshes, vrm0, vrm1);
        if bindings.is_empty() {
            let mut names: Vec<String> = Vec::new();
            for (i, mesh) in meshes.iter().enumerate() {
                names.extend(target_names(json, i).into_iter().flatten());
                let _ = mesh;
            }
            let found = if names.is_empty() {
                "it has no morph targets at all".to_string()
            } else {
                format!("its morph targets are: {}", names.join(", "))
            };
            return Err(input(
                path,
                format!(
                    "has no face morph targets: expected targets named after ARKit blendshapes \
                     (jawOpen, eyeBlinkLeft, …) or VRM expressions (blink, aa, happy, …); {found}"
                ),
            ));
        }
        let root = if vrm0.is_some() {
            Mat4::from_rotation_y(std::f32::consts::PI)
        } else {
            Mat4::IDENTITY
        };
        let mut avatar = Self {
            path: path.to_path_buf(),
            nodes,
            order,
            meshes,
            skins,
            materials,
            images,
            head,
            neck,
            bindings,
            root,
            head_center: Vec3::ZERO,
            head_height: 1.0,
        };
        avatar.frame_head();
        Ok(avatar)
    }

    /// Names of the morph targets a face value drives, with what drives them (for `doppel` output).
    pub fn driven_targets(&self) -> Vec<String> {
        self.bindings
            .iter()
            .map(|b| match &b.driver {
                Driver::Arkit(n) => format!("mesh {} target {} <- {n}", b.mesh, b.target),
                Driver::Vrm(n) => format!("mesh {} target {} <- VRM {n}", b.mesh, b.target),
            })
            .collect()
    }

    /// Whether the avatar has a head (or neck) node that turns with the tracked head.
    pub fn has_head_bone(&self) -> bool {
        self.head.is_some() || self.neck.is_some()
    }

    /// The morph weights per mesh for `state`: each mesh's defaults, plus the driven targets.
    pub fn morph_weights(&self, state: &AvatarState) -> Vec<Vec<f32>> {
        let arkit: BTreeMap<String, f32> = state
            .arkit()
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        let a = |k: &str| arkit.get(k).copied().unwrap_or(0.0);
        let mut weights: Vec<Vec<f32>> = self
            .meshes
            .iter()
            .map(|m| {
                let n = m
                    .primitives
                    .iter()
                    .map(|p| p.targets.len())
                    .max()
                    .unwrap_or(0);
                let mut w = m.default_weights.clone();
                w.resize(n, 0.0);
                w
            })
            .collect();
        for b in &self.bindings {
            let value = match &b.driver {
                Driver::Arkit(name) => a(name),
                Driver::Vrm(name) => vrm_value(name, &a),
            };
            if let Some(w) = weights.get_mut(b.mesh).and_then(|w| w.get_mut(b.target)) {
                *w = (*w + value * b.weight).clamp(0.0, 1.0);
            }
        }
        weights
    }

    /// Local transforms of every node for `state`: the rest pose with the head turned (half of the
    /// turn at the neck when the model has one).
    fn world_transforms(&self, state: &AvatarState) -> Vec<Mat4> {
        // Yaw > 0 turns the nose to the image's right (+X, the camera looks down -Z), pitch > 0 up
        // (+Y), roll > 0 clockwise on screen (a negative turn about +Z, which points at the viewer).
        let turn = Quat::from_rotation_y(state.yaw.clamp(-80.0, 80.0).to_radians())
            * Quat::from_rotation_x(-state.pitch.clamp(-60.0, 60.0).to_radians())
            * Quat::from_rotation_z(-state.roll.clamp(-60.0, 60.0).to_radians());
        let split = match (self.neck, self.head) {
            (Some(_), Some(_)) => Quat::IDENTITY.slerp(turn, 0.5),
            _ => turn,
        };
        let mut world = vec![Mat4::IDENTITY; self.nodes.len()];
        for &i in &self.order {
            let n = &self.nodes[i];
            let parent = n.parent.map_or(self.root, |p| world[p]);
            let mut rotation = n.rotation;
            if Some(i) == self.neck || Some(i) == self.head {
                // The turn is in world space: conjugate it into the parent's frame.
                let (_, parent_rot, _) = parent.to_scale_rotation_translation();
                rotation = parent_rot.inverse() * split * parent_rot * n.rotation;
            }
            world[i] =
                parent * Mat4::from_scale_rotation_translation(n.scale, rotation, n.translation);
        }
        world
    }

    /// Every primitive posed for `state` (morphs, node transforms, skinning), in world space.
    pub fn pose(&self, state: &AvatarState) -> Vec<Posed<'_>> {
        self.pose_with(&self.world_transforms(state), &self.morph_weights(state))
    }

    fn pose_with(&self, world: &[Mat4], weights: &[Vec<f32>]) -> Vec<Posed<'_>> {
        let mut out = Vec::new();
        for &i in &self.order {
            let node = &self.nodes[i];
            let Some(mesh) = node.mesh.and_then(|m| self.meshes.get(m)) else {
                continue;
            };
            let w = node
                .mesh
                .and_then(|m| weights.get(m))
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let joints: Option<Vec<Mat4>> = node.skin.and_then(|s| self.skins.get(s)).map(|s| {
                s.joints
                    .iter()
                    .zip(&s.inverse_bind)
                    .map(|(&j, ib)| world.get(j).copied().unwrap_or(Mat4::IDENTITY) * *ib)
                    .collect()
            });
            for prim in &mesh.primitives {
                let mut pos = prim.positions.clone();
                let mut nrm = prim.normals.clone();
                for (t, (dp, dn)) in prim.targets.iter().enumerate() {
                    let k = w.get(t).copied().unwrap_or(0.0);
                    if k == 0.0 {
                        continue;
                    }
                    for (p, d) in pos.iter_mut().zip(dp) {
                        p[0] += k * d[0];
                        p[1] += k * d[1];
                        p[2] += k * d[2];
                    }
                    for (p, d) in nrm.iter_mut().zip(dn) {
                        p[0] += k * d[0];
                        p[1] += k * d[1];
                        p[2] += k * d[2];
                    }
                }
                let skinned = joints
                    .as_ref()
                    .filter(|_| !prim.joints.is_empty() && prim.weights.len() == pos.len());
                for v in 0..pos.len() {
                    let m = match skinned {
                        Some(js) => {
                            let mut m = Mat4::ZERO;
                            let mut total = 0.0;
                            for k in 0..4 {
                                let wk = prim.weights[v][k];
                                if wk > 0.0 {
                                    if let Some(j) = js.get(prim.joints[v][k] as usize) {
                                        m += *j * wk;
                                        total += wk;
                                    }
                                }
                            }
                            if total > 0.0 {
                                m * (1.0 / total)
                            } else {
                                world[i]
                            }
                        }
                        None => world[i],
                    };
                    let p = m.transform_point3(Vec3::from(pos[v]));
                    let n = m.transform_vector3(Vec3::from(nrm[v])).normalize_or_zero();
                    pos[v] = p.to_array();
                    nrm[v] = n.to_array();
                }
                out.push(Posed {
                    primitive: prim,
                    positions: pos,
                    normals: nrm,
                });
            }
        }
        out
    }

    /// Finds the head at rest: the vertices moved by the head node (or its skin joints and their
    /// children); without a head node, the top eighth of the model.
    fn frame_head(&mut self) {
        let rest = AvatarState::default();
        let world = self.world_transforms(&rest);
        let weights = self.morph_weights(&AvatarState {
            blink: [0.0; 2],
            jaw_open: 0.0,
            smile: [0.0; 2],
            ..rest.clone()
        });
        let posed = self.pose_with(&world, &weights);
        let in_head = |node: usize| {
            let mut cur = Some(node);
            while let Some(c) = cur {
                if Some(c) == self.head {
                    return true;
                }
                cur = self.nodes[c].parent;
            }
            false
        };
        let mut lo = Vec3::splat(f32::INFINITY);
        let mut hi = Vec3::splat(f32::NEG_INFINITY);
        let mut all_lo = lo;
        let mut all_hi = hi;
        // Which primitives belong to the head: walk nodes in the same order as pose_with.
        let mut k = 0;
        for &i in &self.order {
            let node = &self.nodes[i];
            let Some(mesh) = node.mesh.and_then(|m| self.meshes.get(m)) else {
                continue;
            };
            let skin = node.skin.and_then(|s| self.skins.get(s));
            for prim in &mesh.primitives {
                let posed_prim = &posed[k];
                k += 1;
                for (v, p) in posed_prim.positions.iter().enumerate() {
                    let p = Vec3::from(*p);
                    all_lo = all_lo.min(p);
                    all_hi = all_hi.max(p);
                    let head_vertex = match skin {
                        Some(s) if !prim.joints.is_empty() && prim.weights.len() > v => {
                            let mut w = 0.0;
                            for j in 0..4 {
                                if let Some(&node) = s.joints.get(prim.joints[v][j] as usize) {
                                    if in_head(node) {
                                        w += prim.weights[v][j];
                                    }
                                }
                            }
                            w > 0.5
                        }
                        _ => in_head(i),
                    };
                    if head_vertex {
                        lo = lo.min(p);
                        hi = hi.max(p);
                    }
                }
            }
        }
        if !lo.is_finite() || !hi.is_finite() || (hi - lo).y <= 0.0 {
            let h = (all_hi - all_lo).y;
            lo = Vec3::new(all_lo.x, all_hi.y - h / 8.0, all_lo.z);
            hi = all_hi;
        }
        self.head_center = 0.5 * (lo + hi);
        self.head_height = (hi - lo).y.max(1e-4);
    }
}

/// Value of a VRM expression preset from the ARKit values (`a` takes lower-case names), by the
/// table shared with VMC ([`crate::rig::expressions`]); 0 for a name the table lacks.
fn vrm_value(preset: &str, a: &dyn Fn(&str) -> f32) -> f32 {
    find_preset(preset).map_or(0.0, |p| p.value(|name| a(&name.to_ascii_lowercase())))
}

/// `mesh.extras.targetNames` of mesh `i` (or `None` per target without a name).
fn target_names(json: &Value, mesh: usize) -> Option<Vec<String>> {
    json.pointer(&format!("/meshes/{mesh}/extras/targetNames"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().unwrap_or("").to_string())
                .collect()
        })
}

fn bindings(
    json: &Value,
    doc: &gltf::Document,
    meshes: &[Mesh],
    vrm0: Option<&Value>,
    vrm1: Option<&Value>,
) -> Vec<Binding> {
    let mut out = Vec::new();
    for (m, mesh) in meshes.iter().enumerate() {
        let count = mesh
            .primitives
            .iter()
            .map(|p| p.targets.len())
            .max()
            .unwrap_or(0);
        let names = target_names(json, m).unwrap_or_default();
        for (t, name) in names.iter().enumerate().take(count) {
            let key = target_key(name);
            if let Some(arkit) = ARKIT.iter().find(|k| **k == key) {
                out.push(Binding {
                    mesh: m,
                    target: t,
                    driver: Driver::Arkit(arkit.to_string()),
                    weight: 1.0,
                });
            }
        }
    }
    let valid = |mesh: usize, target: usize| {
        meshes
            .get(mesh)
            .is_some_and(|m| m.primitives.iter().any(|p| target < p.targets.len()))
    };
    // VRM 1.0: expressions.preset.<name>.morphTargetBinds[{node, index, weight 0..1}].
    if let Some(presets) = vrm1
        .and_then(|v| v.pointer("/expressions/preset"))
        .and_then(Value::as_object)
    {
        for (name, expr) in presets {
            for bind in expr
                .get("morphTargetBinds")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let node = bind.get("node").and_then(Value::as_u64).map(|n| n as usize);
                let mesh = node
                    .and_then(|n| doc.nodes().nth(n))
                    .and_then(|n| n.mesh())
                    .map(|m| m.index());
                let target = bind
                    .get("index")
                    .and_then(Value::as_u64)
                    .map(|i| i as usize);
                let weight = bind.get("weight").and_then(Value::as_f64).unwrap_or(1.0) as f32;
                if let (Some(mesh), Some(target)) = (mesh, target) {
                    if valid(mesh, target) {
                        out.push(Binding {
                            mesh,
                            target,
                            driver: Driver::Vrm(name.clone()),
                            weight,
                        });
                    }
                }
            }
        }
    }
    // VRM 0.x: blendShapeMaster.blendShapeGroups[{presetName, binds[{mesh, index, weight 0..100}]}].
    if let Some(groups) = vrm0
        .and_then(|v| v.pointer("/blendShapeMaster/blendShapeGroups"))
        .and_then(Value::as_array)
    {
        for group in groups {
            let name = group
                .get("presetName")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty() && *s != "unknown")
                .or_else(|| group.get("name").and_then(Value::as_str))
                .unwrap_or("");
            for bind in group
                .get("binds")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let mesh = bind.get("mesh").and_then(Value::as_u64).map(|m| m as usize);
                let target = bind
                    .get("index")
                    .and_then(Value::as_u64)
                    .map(|i| i as usize);
                let weight =
                    bind.get("weight").and_then(Value::as_f64).unwrap_or(100.0) as f32 / 100.0;
                if let (Some(mesh), Some(target)) = (mesh, target) {
                    if valid(mesh, target) {
                        out.push(Binding {
                            mesh,
                            target,
                            driver: Driver::Vrm(name.to_string()),
                            weight,
                        });
                    }
                }
            }
        }
    }
    out
}

/// Face normals spread to vertices, for primitives without normals.
fn flat_normals(positions: &[[f32; 3]], indices: &[u32]) -> Vec<[f32; 3]> {
    let mut acc = vec![Vec3::ZERO; positions.len()];
    for tri in indices.chunks_exact(3) {
        let [a, b, c] = [tri[0], tri[1], tri[2]].map(|i| Vec3::from(positions[i as usize]));
        let n = (b - a).cross(c - a);
        for &i in tri {
            acc[i as usize] += n;
        }
    }
    acc.into_iter()
        .map(|n| n.normalize_or(Vec3::Z).to_array())
        .collect()
}

/// Any decoded glTF image as RGBA8.
fn to_rgba(img: &gltf::image::Data) -> RgbaImage {
    use gltf::image::Format;
    let (w, h) = (img.width, img.height);
    let px = &img.pixels;
    let n = (w * h) as usize;
    let mut out = Vec::with_capacity(n * 4);
    match img.format {
        Format::R8G8B8A8 => out.extend_from_slice(px),
        Format::R8G8B8 => px
            .chunks_exact(3)
            .for_each(|c| out.extend_from_slice(&[c[0], c[1], c[2], 255])),
        Format::R8G8 => px
            .chunks_exact(2)
            .for_each(|c| out.extend_from_slice(&[c[0], c[0], c[0], c[1]])),
        Format::R8 => px
            .iter()
            .for_each(|&c| out.extend_from_slice(&[c, c, c, 255])),
        // 16-bit and float formats: keep the high byte / scale to 0..255.
        Format::R16G16B16A16 => px
            .chunks_exact(8)
            .for_each(|c| out.extend_from_slice(&[c[1], c[3], c[5], c[7]])),
        Format::R16G16B16 => px
            .chunks_exact(6)
            .for_each(|c| out.extend_from_slice(&[c[1], c[3], c[5], 255])),
        Format::R16G16 => px
            .chunks_exact(4)
            .for_each(|c| out.extend_from_slice(&[c[1], c[1], c[1], c[3]])),
        Format::R16 => px
            .chunks_exact(2)
            .for_each(|c| out.extend_from_slice(&[c[1], c[1], c[1], 255])),
        Format::R32G32B32FLOAT | Format::R32G32B32A32FLOAT => {
            let ch = if img.format == Format::R32G32B32FLOAT {
                3
            } else {
                4
            };
            for c in px.chunks_exact(4 * ch) {
                let f = |i: usize| {
                    let v =
                        f32::from_le_bytes([c[4 * i], c[4 * i + 1], c[4 * i + 2], c[4 * i + 3]]);
                    (v.clamp(0.0, 1.0) * 255.0).round() as u8
                };
                out.extend_from_slice(&[f(0), f(1), f(2), if ch == 4 { f(3) } else { 255 }]);
            }
        }
    }
    out.resize(n * 4, 255);
    RgbaImage::from_raw(w, h, out)
        .unwrap_or_else(|| RgbaImage::from_pixel(1, 1, image::Rgba([255; 4])))
}
