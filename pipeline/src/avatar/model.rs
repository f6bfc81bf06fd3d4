//! glTF 2.0 / VRM avatars: loading (the container in [`super::gltf`], materials in
//! [`super::material`], the VRM humanoid, expressions and lookAt in [`super::vrm`]) and posing on
//! the CPU: morph targets, the humanoid bones from the frame's [`crate::rig::Rig`], node
//! transforms and linear blend skinning. The renderer uploads the posed vertices each frame.
//!
//! Expressions: a morph target named after an ARKit blendshape (`jawOpen`, `eyeBlinkLeft`, …; case
//! and any `prefix.` ignored; "Perfect Sync") follows that value. VRM expressions (1.0 presets and
//! custom ones, 0.x blend shape groups) are driven from the ARKit values by the one table shared
//! with VMC ([`crate::rig::expressions`]); a custom expression named after an ARKit blendshape
//! follows that value. Their binds move morph targets, material colours and texture transforms.
//!
//! Bones: the rig's rotations live in VRM 1.0 *normalized* space (every bone's rest frame aligned
//! with the root, the avatar facing +Z). A humanoid bone with rest world rotation `W` whose parent
//! node rests at world rotation `P` gets the raw local rotation `P⁻¹ · q · W` for the rig's local
//! rotation `q` (what three-vrm's normalized rig does). VRM 0.x models face -Z and are turned 180
//! degrees about +Y above their root, so `W` and `P` include that turn and both versions face the
//! camera. While the rig drives neither head nor neck, the head follows the state's yaw, pitch and
//! roll (half at the neck when the model has one).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use glam::{Mat4, Quat, Vec3};
use image::RgbaImage;
use serde_json::Value;

use super::gltf::{array, index, Gltf};
pub use super::material::{AlphaMode, Material, OutlineWidth, Toon, UvTransform};
use super::state::AvatarState;
use super::vrm::{self, ColorKind, Expression, LookAt, LookAtKind, GAZE_DEGREES};
use crate::error::{Error, Result};
use crate::rig::{find_preset, HumanBone, ARKIT_NAMES};

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

/// A morph target named after an ARKit blendshape.
#[derive(Clone, Debug, PartialEq)]
struct ArkitTarget {
    mesh: usize,
    target: usize,
    /// Lower-cased ARKit name.
    name: String,
}

/// One primitive posed for a frame, in world space.
#[derive(Clone, Debug)]
pub struct Posed<'a> {
    pub primitive: &'a Primitive,
    pub positions: Vec<[f32; 3]>,
    pub normals: Vec<[f32; 3]>,
}

/// The material values expressions change, for one frame (linear colours).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MaterialFrame {
    pub base_color: [f32; 4],
    pub shade: [f32; 3],
    pub emissive: [f32; 3],
    pub rim: [f32; 3],
    pub outline: [f32; 3],
    pub uv: UvTransform,
}

impl MaterialFrame {
    fn rest(m: &Material) -> Self {
        let toon = m.toon.unwrap_or_default();
        Self {
            base_color: m.base_color,
            shade: toon.shade_color,
            emissive: m.emissive,
            rim: toon.rim_color,
            outline: toon.outline_color,
            uv: m.uv,
        }
    }
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
    /// `HumanBone -> node`: VRM `humanoid.humanBones`, or guessed from node names.
    humanoid: BTreeMap<HumanBone, usize>,
    /// Rest world rotation of every node (the VRM 0.x turn included).
    rest_world: Vec<Quat>,
    arkit_targets: Vec<ArkitTarget>,
    expressions: Vec<Expression>,
    look_at: Option<LookAt>,
    /// `0` (VRM 0.x), `1` (VRM 1.0) or `None` (plain glTF).
    vrm_version: Option<u8>,
    /// Applied above the root: VRM 0.x models face -Z and are turned to face the camera.
    root: Mat4,
    /// Why nothing in the model follows the face, when nothing does.
    still: Option<String>,
    /// Head centre and height (world units, rest pose): what is framed to the tracked face.
    pub head_center: Vec3,
    pub head_height: f32,
    /// The farthest rest vertex from `head_center` (world units): what the camera's depth range
    /// must hold whichever way the model turns.
    pub radius: f32,
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

/// `mesh.extras.targetNames` of mesh `i` (or `""` per target without a name).
fn target_names(json: &Value, mesh: usize) -> Vec<String> {
    json.pointer(&format!("/meshes/{mesh}/extras/targetNames"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Value of a VRM expression from the ARKit values (`a` takes lower-case names): an expression
/// named after an ARKit blendshape follows it, a preset follows the table shared with VMC
/// ([`crate::rig::expressions`]); 0 otherwise.
fn vrm_value(name: &str, a: &dyn Fn(&str) -> f32) -> f32 {
    if let Some(arkit) = vrm::arkit_name(name) {
        return a(&arkit.to_ascii_lowercase());
    }
    find_preset(name).map_or(0.0, |p| p.value(|n| a(&n.to_ascii_lowercase())))
}

/// A node's local transform from `matrix` or `translation`/`rotation`/`scale`.
fn node_transform(n: &Value) -> (Vec3, Quat, Vec3) {
    if let Some(m) = super::gltf::numbers::<16>(n, "matrix") {
        let (s, r, t) = Mat4::from_cols_array(&m).to_scale_rotation_translation();
        if s.is_finite() && r.is_finite() && t.is_finite() {
            return (t, r.normalize(), s);
        }
    }
    let t = super::gltf::numbers::<3>(n, "translation").map_or(Vec3::ZERO, Vec3::from);
    let r = super::gltf::numbers::<4>(n, "rotation")
        .map(Quat::from_array)
        .filter(|q| q.is_finite() && q.length() > 1e-6)
        .map_or(Quat::IDENTITY, Quat::normalize);
    let s = super::gltf::numbers::<3>(n, "scale").map_or(Vec3::ONE, Vec3::from);
    (t, r, s)
}

/// The triangle primitives of mesh `m` (`at` names it in errors).
fn read_mesh(
    g: &Gltf,
    mesh: &Value,
    at: &str,
    default_material: usize,
) -> std::result::Result<Mesh, String> {
    let mut primitives = Vec::new();
    for (p, prim) in array(mesh, "primitives").iter().enumerate() {
        let at = format!("{at} primitive {p}");
        // Points and lines are not drawn (mode 4 = triangles, the default).
        if index(prim, "mode").unwrap_or(4) != 4 {
            continue;
        }
        let attrs = prim.get("attributes").unwrap_or(&Value::Null);
        let attr = |name: &str| index(attrs, name);
        let Some(pos) = attr("POSITION") else {
            continue;
        };
        let err = |what: &str, e: String| format!("{at} {what}: {e}");
        let positions = g.vecs::<3>(pos).map_err(|e| err("POSITION", e))?;
        let n = positions.len();
        let indices: Vec<u32> = match index(prim, "indices") {
            Some(i) => g.integers(i).map_err(|e| err("indices", e))?.0,
            None => (0..n as u32).collect(),
        };
        if let Some(bad) = indices.iter().find(|&&i| i as usize >= n) {
            return Err(format!("{at} has index {bad} past its {n} vertices"));
        }
        let indices: Vec<u32> = indices[..indices.len() / 3 * 3].to_vec();
        let same = |v: &Vec<[f32; 3]>| v.len() == n;
        let normals = match attr("NORMAL") {
            Some(i) => Some(g.vecs::<3>(i).map_err(|e| err("NORMAL", e))?),
            None => None,
        }
        .filter(same)
        .unwrap_or_else(|| flat_normals(&positions, &indices));
        let uvs = match attr("TEXCOORD_0") {
            Some(i) => g.vecs::<2>(i).map_err(|e| err("TEXCOORD_0", e))?,
            None => Vec::new(),
        };
        let uvs = if uvs.len() == n {
            uvs
        } else {
            vec![[0.0; 2]; n]
        };
        let mut targets = Vec::new();
        for (t, target) in array(prim, "targets").iter().enumerate() {
            let read = |name: &str| -> std::result::Result<Vec<[f32; 3]>, String> {
                match index(target, name) {
                    Some(i) => g
                        .vecs::<3>(i)
                        .map_err(|e| err(&format!("target {t} {name}"), e)),
                    None => Ok(Vec::new()),
                }
            };
            let dp = read("POSITION")?;
            let dn = read("NORMAL")?;
            targets.push((
                if dp.len() == n { dp } else { vec![[0.0; 3]; n] },
                if dn.len() == n { dn } else { Vec::new() },
            ));
        }
        let joints: Vec<[u16; 4]> = match attr("JOINTS_0") {
            Some(i) => {
                let (j, comps) = g.integers(i).map_err(|e| err("JOINTS_0", e))?;
                if comps != 4 {
                    return Err(format!("{at} JOINTS_0 has {comps} components, expected 4"));
                }
                j.chunks_exact(4)
                    .map(|c| [c[0], c[1], c[2], c[3]].map(|x| x.min(u32::from(u16::MAX)) as u16))
                    .collect()
            }
            None => Vec::new(),
        };
        let weights = match attr("WEIGHTS_0") {
            Some(i) => g.vecs::<4>(i).map_err(|e| err("WEIGHTS_0", e))?,
            None => Vec::new(),
        };
        let (joints, weights) = if joints.len() == n && weights.len() == n {
            (joints, weights)
        } else {
            (Vec::new(), Vec::new())
        };
        primitives.push(Primitive {
            positions,
            normals,
            uvs,
            indices,
            targets,
            material: index(prim, "material").unwrap_or(default_material),
            joints,
            weights,
        });
    }
    let default_weights = mesh
        .get("weights")
        .and_then(Value::as_array)
        .map(|w| w.iter().map(|x| x.as_f64().unwrap_or(0.0) as f32).collect())
        .unwrap_or_default();
    Ok(Mesh {
        primitives,
        default_weights,
    })
}

impl GltfAvatar {
    /// Loads `path` (`.glb`, `.gltf` or `.vrm`).
    ///
    /// # Errors
    /// [`Error::Input`] naming the file and what is wrong when it is missing, is not glTF 2.0
    /// (truncated, another format), requires an extension doppel does not read, has a broken
    /// accessor, buffer or image, or has no triangle mesh. A model that nothing in it follows the
    /// face loads; [`GltfAvatar::still`] says why.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let g = Gltf::parse(path, &bytes).map_err(|m| input(path, m))?;
        Self::build(path, &g).map_err(|m| input(path, m))
    }

    fn build(path: &Path, g: &Gltf) -> std::result::Result<Self, String> {
        let json = &g.json;
        let images = g.images(path)?;
        let materials = super::material::materials(g, images.len());
        let default_material = materials.len() - 1;
        let mut meshes = Vec::new();
        for (m, mesh) in array(json, "meshes").iter().enumerate() {
            let name = mesh.get("name").and_then(Value::as_str).unwrap_or("");
            meshes.push(read_mesh(
                g,
                mesh,
                &format!("mesh {m} '{name}'"),
                default_material,
            )?);
        }
        for mesh in &mut meshes {
            for p in &mut mesh.primitives {
                if p.material >= materials.len() {
                    p.material = default_material;
                }
            }
        }
        if meshes.iter().all(|m| m.primitives.is_empty()) {
            return Err(format!(
                "has no triangle mesh to draw ({} meshes, none with triangles)",
                meshes.len()
            ));
        }

        let json_nodes = array(json, "nodes");
        let mut nodes: Vec<Node> = json_nodes
            .iter()
            .map(|n| {
                let (translation, rotation, scale) = node_transform(n);
                Node {
                    parent: None,
                    translation,
                    rotation,
                    scale,
                    mesh: index(n, "mesh").filter(|&m| m < meshes.len()),
                    skin: index(n, "skin"),
                }
            })
            .collect();
        for (i, n) in json_nodes.iter().enumerate() {
            for c in array(n, "children") {
                if let Some(c) = c.as_u64().map(|c| c as usize).filter(|&c| c < nodes.len()) {
                    nodes[c].parent = Some(i);
                }
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
                    return Err(format!(
                        "node {start}'s parents form a cycle; glTF nodes must form trees"
                    ));
                }
                cur = nodes[c].parent;
            }
        }
        let scene = index(json, "scene")
            .and_then(|s| array(json, "scenes").get(s))
            .or_else(|| array(json, "scenes").first());
        let mut stack: Vec<usize> = match scene {
            Some(s) => array(s, "nodes")
                .iter()
                .filter_map(|n| n.as_u64().map(|n| n as usize))
                .filter(|&n| n < nodes.len())
                .collect(),
            None => (0..nodes.len())
                .filter(|&i| nodes[i].parent.is_none())
                .collect(),
        };
        stack.reverse();
        let mut seen = vec![false; nodes.len()];
        let mut order = Vec::new();
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            order.push(i);
            let mut kids: Vec<usize> = array(&json_nodes[i], "children")
                .iter()
                .filter_map(|c| c.as_u64().map(|c| c as usize))
                .filter(|&c| c < nodes.len() && nodes[c].parent == Some(i))
                .collect();
            kids.reverse();
            stack.extend(kids);
        }

        let mut skins = Vec::new();
        for (s, skin) in array(json, "skins").iter().enumerate() {
            let mut joints = Vec::new();
            for j in array(skin, "joints") {
                match j.as_u64().map(|j| j as usize).filter(|&j| j < nodes.len()) {
                    Some(j) => joints.push(j),
                    None => {
                        return Err(format!(
                            "skin {s} names joint {j}, expected a node index below {}",
                            nodes.len()
                        ))
                    }
                }
            }
            let mut inverse_bind: Vec<Mat4> = match index(skin, "inverseBindMatrices") {
                Some(i) => g
                    .vecs::<16>(i)
                    .map_err(|e| format!("skin {s} inverseBindMatrices: {e}"))?
                    .iter()
                    .map(Mat4::from_cols_array)
                    .collect(),
                None => Vec::new(),
            };
            inverse_bind.resize(joints.len(), Mat4::IDENTITY);
            skins.push(Skin {
                joints,
                inverse_bind,
            });
        }

        let ext = json.get("extensions");
        let vrm1 = ext.and_then(|e| e.get("VRMC_vrm"));
        let vrm0 = ext.and_then(|e| e.get("VRM")).filter(|_| vrm1.is_none());
        let names: Vec<String> = json_nodes
            .iter()
            .map(|n| {
                n.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        let humanoid = vrm::humanoid(vrm0, vrm1, &names);

        let mut arkit_targets = Vec::new();
        let mut all_targets = Vec::new();
        for (m, mesh) in meshes.iter().enumerate() {
            let count = mesh
                .primitives
                .iter()
                .map(|p| p.targets.len())
                .max()
                .unwrap_or(0);
            for (t, name) in target_names(json, m).iter().enumerate().take(count) {
                all_targets.push(name.clone());
                let key = target_key(name);
                if ARKIT_NAMES.iter().any(|a| a.eq_ignore_ascii_case(&key)) {
                    arkit_targets.push(ArkitTarget {
                        mesh: m,
                        target: t,
                        name: key,
                    });
                }
            }
        }
        let node_mesh = |n: usize| nodes.get(n).and_then(|n| n.mesh);
        let valid = |mesh: usize, target: usize| {
            meshes
                .get(mesh)
                .is_some_and(|m| m.primitives.iter().any(|p| target < p.targets.len()))
        };
        let material_names: Vec<String> = materials.iter().map(|m| m.name.clone()).collect();
        let mut expressions = vrm::expressions(vrm0, vrm1, &node_mesh, &material_names, &valid);
        for e in &mut expressions {
            e.colors.retain(|c| c.material < materials.len());
            e.uvs.retain(|u| u.material < materials.len());
        }
        let look_at = vrm::LookAt::parse(vrm0, vrm1);
        let follows = !arkit_targets.is_empty()
            || expressions.iter().any(|e| !e.is_empty())
            || humanoid.contains_key(&HumanBone::Head)
            || humanoid.contains_key(&HumanBone::Neck);
        // A model nothing drives still loads (a prop, a test cube): it is drawn as it is, and
        // the stage tells the user why it does not move.
        let still = (!follows).then(|| {
            let found = if all_targets.is_empty() {
                "it has no morph targets at all".to_string()
            } else {
                format!("its morph targets are: {}", all_targets.join(", "))
            };
            format!(
                "nothing in it follows the face: expected morph targets named after ARKit \
                 blendshapes (jawOpen, eyeBlinkLeft, …), VRM expressions (blink, aa, happy, …) \
                 or a head/neck bone (VRM humanoid, or a node named like Head or Neck); {found}"
            )
        });
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
            humanoid,
            rest_world: Vec::new(),
            arkit_targets,
            expressions,
            look_at,
            vrm_version: if vrm1.is_some() {
                Some(1)
            } else if vrm0.is_some() {
                Some(0)
            } else {
                None
            },
            root,
            still,
            head_center: Vec3::ZERO,
            head_height: 1.0,
            radius: 1.0,
        };
        avatar.rest_world = avatar
            .transforms(&BTreeMap::new())
            .iter()
            .map(|m| m.to_scale_rotation_translation().1)
            .collect();
        avatar.frame_head();
        Ok(avatar)
    }

    /// What follows the face, for `doppel` output: ARKit-named morph targets, VRM expressions with
    /// what they bind, the humanoid bones.
    pub fn driven_targets(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .arkit_targets
            .iter()
            .map(|b| format!("mesh {} target {} <- {}", b.mesh, b.target, b.name))
            .collect();
        for e in self.expressions.iter().filter(|e| !e.is_empty()) {
            out.push(format!(
                "VRM expression {} ({} morph, {} colour, {} texture binds)",
                e.name,
                e.morphs.len(),
                e.colors.len(),
                e.uvs.len()
            ));
        }
        if !self.humanoid.is_empty() {
            out.push(format!("{} humanoid bones", self.humanoid.len()));
        }
        out
    }

    /// Why the model does not follow the face (it has no ARKit-named morph target, no VRM
    /// expression with binds and no head or neck bone); `None` when something follows.
    pub fn still(&self) -> Option<&str> {
        self.still.as_deref()
    }

    /// Whether the avatar has a head (or neck) bone that turns with the tracked head.
    pub fn has_head_bone(&self) -> bool {
        self.humanoid.contains_key(&HumanBone::Head) || self.humanoid.contains_key(&HumanBone::Neck)
    }

    /// Vertices of all primitives (what the CPU morphs and skins each frame).
    pub fn vertex_count(&self) -> usize {
        self.meshes
            .iter()
            .flat_map(|m| &m.primitives)
            .map(|p| p.positions.len())
            .sum()
    }

    /// The humanoid bones the model has, with their node indices.
    pub fn humanoid(&self) -> &BTreeMap<HumanBone, usize> {
        &self.humanoid
    }

    /// The VRM version (`Some(0)` for 0.x, `Some(1)` for 1.0), `None` for plain glTF.
    pub fn vrm_version(&self) -> Option<u8> {
        self.vrm_version
    }

    /// The model's VRM expressions (1.0 presets and custom, 0.x groups).
    pub fn expressions(&self) -> &[Expression] {
        &self.expressions
    }

    /// The model's lookAt, if it declares one.
    pub fn look_at(&self) -> Option<&LookAt> {
        self.look_at.as_ref()
    }

    /// The turn of `bone` from its rest pose for `state`, in world (= normalized) space: its world
    /// rotation times its rest world rotation's inverse (`None` when the model lacks it).
    pub fn bone_turn(&self, state: &AvatarState, bone: HumanBone) -> Option<Quat> {
        let node = *self.humanoid.get(&bone)?;
        let world = self.world_transforms(state);
        let rot = world.get(node)?.to_scale_rotation_translation().1;
        Some(rot * self.rest_world.get(node)?.inverse())
    }

    /// The world position of `bone` for `state` (`None` when the model lacks it).
    pub fn bone_position(&self, state: &AvatarState, bone: HumanBone) -> Option<Vec3> {
        let node = *self.humanoid.get(&bone)?;
        self.world_transforms(state)
            .get(node)
            .map(|m| m.transform_point3(Vec3::ZERO))
    }

    /// The gaze of `state` in degrees: yaw > 0 towards the avatar's left (the image's right).
    fn gaze_degrees(state: &AvatarState) -> (f32, f32) {
        (state.gaze[0] * GAZE_DEGREES, state.gaze[1] * GAZE_DEGREES)
    }

    /// Every expression's weight for `state` after `isBinary` and the overrides, by name.
    pub fn expression_weights(&self, state: &AvatarState) -> Vec<(String, f32)> {
        self.expressions
            .iter()
            .zip(self.resolved_weights(state))
            .map(|(e, w)| (e.name.clone(), w))
            .collect()
    }

    fn resolved_weights(&self, state: &AvatarState) -> Vec<f32> {
        if self.expressions.is_empty() {
            return Vec::new();
        }
        let arkit: BTreeMap<String, f32> = state
            .arkit()
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        let a = |k: &str| arkit.get(k).copied().unwrap_or(0.0);
        // Expression lookAt: the look expressions follow the gaze through the range maps.
        let look = self
            .look_at
            .filter(|l| l.kind == LookAtKind::Expression)
            .map(|l| {
                let (yaw, pitch) = Self::gaze_degrees(state);
                l.expression_weights(yaw, pitch)
            });
        let raw: Vec<f32> = self
            .expressions
            .iter()
            .map(|e| {
                let looked = look.and_then(|l| {
                    let preset = find_preset(&e.name)?;
                    l.iter().find(|(n, _)| *n == preset.vrm1).map(|(_, w)| *w)
                });
                looked.unwrap_or_else(|| vrm_value(&e.name, &a))
            })
            .collect();
        vrm::resolve(&self.expressions, &raw)
    }

    /// The morph weights per mesh for `state`: each mesh's defaults, plus the ARKit-named targets
    /// and the VRM expressions' binds.
    pub fn morph_weights(&self, state: &AvatarState) -> Vec<Vec<f32>> {
        self.morph_weights_with(state, &self.resolved_weights(state))
    }

    fn morph_weights_with(&self, state: &AvatarState, expr: &[f32]) -> Vec<Vec<f32>> {
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
        if !self.arkit_targets.is_empty() {
            let arkit: BTreeMap<String, f32> = state
                .arkit()
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect();
            for b in &self.arkit_targets {
                let v = arkit.get(&b.name).copied().unwrap_or(0.0);
                if let Some(w) = weights.get_mut(b.mesh).and_then(|w| w.get_mut(b.target)) {
                    *w = (*w + v).clamp(0.0, 1.0);
                }
            }
        }
        for (e, &v) in self.expressions.iter().zip(expr) {
            if v == 0.0 {
                continue;
            }
            for b in &e.morphs {
                if let Some(w) = weights.get_mut(b.mesh).and_then(|w| w.get_mut(b.target)) {
                    *w = (*w + v * b.weight).clamp(0.0, 1.0);
                }
            }
        }
        weights
    }

    /// The material values for `state`: the rest values moved towards the expressions' colour and
    /// texture transform binds by their weights (one entry per [`GltfAvatar::materials`]).
    pub fn material_frames(&self, state: &AvatarState) -> Vec<MaterialFrame> {
        let mut out: Vec<MaterialFrame> = self.materials.iter().map(MaterialFrame::rest).collect();
        if self
            .expressions
            .iter()
            .all(|e| e.colors.is_empty() && e.uvs.is_empty())
        {
            return out;
        }
        let rest = out.clone();
        for (e, w) in self.expressions.iter().zip(self.resolved_weights(state)) {
            if w == 0.0 {
                continue;
            }
            for c in &e.colors {
                let (Some(f), Some(r)) = (out.get_mut(c.material), rest.get(c.material)) else {
                    continue;
                };
                let mix = |dst: &mut [f32], base: &[f32]| {
                    for (k, d) in dst.iter_mut().enumerate() {
                        *d += (c.target[k] - base[k]) * w;
                    }
                };
                match c.kind {
                    ColorKind::Base => mix(&mut f.base_color, &r.base_color),
                    ColorKind::Shade => mix(&mut f.shade, &r.shade),
                    ColorKind::Emission => mix(&mut f.emissive, &r.emissive),
                    ColorKind::Rim => mix(&mut f.rim, &r.rim),
                    ColorKind::Outline => mix(&mut f.outline, &r.outline),
                }
            }
            for u in &e.uvs {
                let (Some(f), Some(r)) = (out.get_mut(u.material), rest.get(u.material)) else {
                    continue;
                };
                for k in 0..2 {
                    f.uv.scale[k] += (u.scale[k] - r.uv.scale[k]) * w;
                    f.uv.offset[k] += (u.offset[k] - r.uv.offset[k]) * w;
                }
            }
        }
        out
    }

    /// The normalized-space local rotations for `state`: the rig, plus the head turn while the rig
    /// drives neither head nor neck, plus bone lookAt while it drives neither eye.
    fn rig_rotations(&self, state: &AvatarState) -> BTreeMap<HumanBone, Quat> {
        use HumanBone::{Head, LeftEye, Neck, RightEye};
        let mut bones = state.rig.bones.clone();
        if !bones.contains_key(&Head) && !bones.contains_key(&Neck) {
            // Yaw > 0 turns the nose to the image's right (+X, the camera looks down -Z), pitch
            // > 0 up (+Y), roll > 0 clockwise on screen (a negative turn about +Z, which points at
            // the viewer).
            let turn = Quat::from_rotation_y(state.yaw.clamp(-80.0, 80.0).to_radians())
                * Quat::from_rotation_x(-state.pitch.clamp(-60.0, 60.0).to_radians())
                * Quat::from_rotation_z(-state.roll.clamp(-60.0, 60.0).to_radians());
            if self.humanoid.contains_key(&Neck) && self.humanoid.contains_key(&Head) {
                let half = Quat::IDENTITY.slerp(turn, 0.5);
                bones.insert(Neck, half);
                bones.insert(Head, half);
            } else if self.humanoid.contains_key(&Head) {
                bones.insert(Head, turn);
            } else {
                bones.insert(Neck, turn);
            }
        }
        if let Some(l) = self.look_at.filter(|l| l.kind == LookAtKind::Bone) {
            if !bones.contains_key(&LeftEye) && !bones.contains_key(&RightEye) {
                let (yaw, pitch) = Self::gaze_degrees(state);
                for (bone, [y, p]) in [LeftEye, RightEye]
                    .into_iter()
                    .zip(l.eye_angles(yaw, pitch))
                {
                    bones.insert(
                        bone,
                        Quat::from_rotation_y(y.to_radians())
                            * Quat::from_rotation_x(-p.to_radians()),
                    );
                }
            }
        }
        bones
    }

    /// World transforms of every node with the humanoid bones at `rig` (normalized-space local
    /// rotations; see the module notes). With an empty `rig`, the rest pose.
    fn transforms(&self, rig: &BTreeMap<HumanBone, Quat>) -> Vec<Mat4> {
        let mut local: Vec<Quat> = self.nodes.iter().map(|n| n.rotation).collect();
        let root_rotation = self.root.to_scale_rotation_translation().1;
        for (&bone, &node) in &self.humanoid {
            // A rotation of a bone the model lacks is carried by its nearest child it has.
            let mut q = rig.get(&bone).copied().unwrap_or(Quat::IDENTITY);
            let mut up = vrm::humanoid_parent(bone);
            while let Some(b) = up {
                if self.humanoid.contains_key(&b) {
                    break;
                }
                q = rig.get(&b).copied().unwrap_or(Quat::IDENTITY) * q;
                up = vrm::humanoid_parent(b);
            }
            if q.abs_diff_eq(Quat::IDENTITY, 1e-7) || self.rest_world.len() != self.nodes.len() {
                continue;
            }
            let parent = self.nodes[node]
                .parent
                .map_or(root_rotation, |p| self.rest_world[p]);
            local[node] = (parent.inverse() * q * self.rest_world[node]).normalize();
        }
        let mut world = vec![Mat4::IDENTITY; self.nodes.len()];
        for &i in &self.order {
            let n = &self.nodes[i];
            let parent = n.parent.map_or(self.root, |p| world[p]);
            world[i] =
                parent * Mat4::from_scale_rotation_translation(n.scale, local[i], n.translation);
        }
        world
    }

    fn world_transforms(&self, state: &AvatarState) -> Vec<Mat4> {
        self.transforms(&self.rig_rotations(state))
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
        let world = self.transforms(&BTreeMap::new());
        let weights = self.morph_weights(&AvatarState {
            blink: [0.0; 2],
            jaw_open: 0.0,
            smile: [0.0; 2],
            ..rest.clone()
        });
        let posed = self.pose_with(&world, &weights);
        let head = self.humanoid.get(&HumanBone::Head).copied();
        let in_head = |node: usize| {
            let mut cur = Some(node);
            while let Some(c) = cur {
                if Some(c) == head {
                    return true;
                }
                cur = self.nodes.get(c).and_then(|n| n.parent);
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
            // The box of the vertices in the top eighth (not the whole width: the top of a
            // slanted shape is off its centre).
            let h = (all_hi - all_lo).y;
            let floor = all_hi.y - h / 8.0;
            lo = Vec3::splat(f32::INFINITY);
            hi = Vec3::splat(f32::NEG_INFINITY);
            for p in posed.iter().flat_map(|p| &p.positions) {
                let p = Vec3::from(*p);
                if p.y >= floor {
                    lo = lo.min(p);
                    hi = hi.max(p);
                }
            }
            if !lo.is_finite() || !hi.is_finite() {
                (lo, hi) = (all_lo, all_hi);
            }
            lo.y = lo.y.min(floor);
        }
        let center = 0.5 * (lo + hi);
        let radius = posed
            .iter()
            .flat_map(|p| &p.positions)
            .map(|p| Vec3::from(*p).distance(center))
            .fold(0.0, f32::max);
        self.head_center = center;
        self.head_height = (hi - lo).y.max(1e-4);
        self.radius = radius;
    }
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
