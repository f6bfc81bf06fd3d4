//! VRM 0.x / 1.0 and glTF avatars on a real wgpu device (lavapipe on machines without a GPU): every
//! third-party file in `pipeline/tests/fixtures/avatars/` loads and renders (PNGs in
//! `target/test-output/avatars/` for a person to look at), humanoid bones follow a hand-built
//! `Rig`, VRM 1.0 expressions (the specification's isBinary / override test files) and VRM 0.x
//! blend shape groups, bone lookAt, glTF extensions (files generated here: quantized, WebP,
//! texture transform, emissive strength, meshopt fallback, unknown required extensions), MToon
//! colours against the CPU reference and its outline, and clear errors for broken files.
//!
//! Run with `xvfb-run -a cargo test --release -p doppel-pipeline --test avatar_vrm`.

use std::path::{Path, PathBuf};

use doppel_pipeline::avatar::material::Toon;
use doppel_pipeline::avatar::render::LIGHT;
use doppel_pipeline::avatar::{AvatarModel, AvatarState, Composition, GltfAvatar, Renderer};
use doppel_pipeline::gpu::GpuContext;
use doppel_pipeline::rig::{HumanBone, Rig};
use glam::{Quat, Vec3};
use image::{Rgba, RgbaImage};
use serde_json::{json, Value};

mod common;
use common::{output_dir, side_by_side};

const W: u32 = 480;
const H: u32 = 360;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/avatars")
}

fn fixture(name: &str) -> PathBuf {
    fixtures().join(name)
}

fn renderer() -> Renderer {
    let ctx = GpuContext::shared()
        .unwrap_or_else(|e| panic!("these tests need a wgpu adapter (lavapipe will do): {e}"));
    Renderer::new(ctx, W, H).expect("renderer builds")
}

fn draw(r: &mut Renderer, s: &AvatarState) -> RgbaImage {
    r.render_image(s, &Composition::default(), None, None)
        .expect("render")
}

/// Pixels whose largest channel difference exceeds 24, and the mean x of those pixels.
fn changed(a: &RgbaImage, b: &RgbaImage) -> (usize, f32) {
    let mut n = 0;
    let mut sx = 0.0;
    for (x, y, p) in a.enumerate_pixels() {
        let q = b.get_pixel(x, y);
        if (0..3).any(|c| p[c].abs_diff(q[c]) > 24) {
            n += 1;
            sx += x as f32;
        }
    }
    (n, if n > 0 { sx / n as f32 } else { 0.0 })
}

/// Pixels that differ from the backdrop colour (the top-left pixel).
fn drawn(img: &RgbaImage) -> usize {
    let bg = *img.get_pixel(0, 0);
    img.pixels()
        .filter(|p| (0..3).any(|c| p[c].abs_diff(bg[c]) > 8))
        .count()
}

/// The whole figure in frame: the head small, a little above the centre.
/// The whole model in view, in its T-pose (an empty rig: the default state rests the arms).
fn whole_body() -> AvatarState {
    AvatarState {
        scale: 0.08,
        center: [0.5, 0.3],
        rig: Rig::default(),
        ..AvatarState::default()
    }
}

const THIRD_PARTY: [&str; 8] = [
    "three-vrm_sphere.vrm",
    "vrmaddon_simple_morph_vrm0.vrm",
    "vrmaddon_modifier_shapekey_vrm0.vrm",
    "vrmaddon_debug_robot_vrm1.vrm",
    "VRMC_vrm_expressions_isBinary_Overrides.vrm",
    "VRMC_vrm_expressions_isBinary_Overridden.vrm",
    "VRMC_materials_mtoon_UV_Animation_Test.vrm",
    "AnimatedMorphCube/AnimatedMorphCube.gltf",
];

#[test]
fn every_third_party_avatar_loads_renders_and_faces_the_camera() {
    let mut r = renderer();
    for name in THIRD_PARTY {
        let model = GltfAvatar::load(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let version = model.vrm_version();
        if version.is_some() {
            assert!(model.has_head_bone(), "{name}: a VRM has a head bone");
            assert!(model.still().is_none(), "{name} follows the face");
        }
        let rest = AvatarState::default();
        // Facing the camera (+Z): the avatar's left arm is at +X.
        if let (Some(l), Some(rt)) = (
            model.bone_position(&rest, HumanBone::LeftUpperArm),
            model.bone_position(&rest, HumanBone::RightUpperArm),
        ) {
            assert!(
                l.x > rt.x,
                "{name}: left arm at x {} right at {}",
                l.x,
                rt.x
            );
        }
        r.set_model(AvatarModel::Gltf(Box::new(model)))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let posed = AvatarState {
            yaw: 30.0,
            jaw_open: 1.0,
            smile: [0.8; 2],
            blink: [1.0; 2],
            gaze: [0.8, 0.3],
            ..AvatarState::default()
        };
        let images = [
            draw(&mut r, &rest),
            draw(&mut r, &posed),
            draw(&mut r, &whole_body()),
        ];
        let file = name.replace('/', "_");
        side_by_side(&images.iter().collect::<Vec<_>>())
            .save(output_dir("avatars").join(format!("{file}.png")))
            .expect("write PNG");
        // At rest and whole (the posed picture may legitimately be empty: the morph of the
        // add-on's test triangle folds it onto its back, which a single-sided material hides).
        for i in [0, 2] {
            let n = drawn(&images[i]);
            assert!(n > 200, "{name} image {i}: {n} pixels drawn");
        }
    }
}

/// A rig with the avatar's left upper arm lowered 70 degrees (about +Z: +X turns towards -Y).
fn left_arm_down() -> AvatarState {
    let mut rig = Rig::default();
    rig.bones.insert(
        HumanBone::LeftUpperArm,
        Quat::from_rotation_z(-70f32.to_radians()),
    );
    AvatarState {
        rig,
        ..whole_body()
    }
}

#[test]
fn rig_lowers_the_left_arm_of_vrm0_and_vrm1_models() {
    for name in [
        "vrmaddon_debug_robot_vrm1.vrm",
        "three-vrm_sphere.vrm",
        "vrmaddon_simple_morph_vrm0.vrm",
    ] {
        let model = GltfAvatar::load(&fixture(name)).expect("loads");
        let rest = whole_body();
        let down = left_arm_down();
        let shoulder = model
            .bone_position(&rest, HumanBone::LeftUpperArm)
            .expect("arm");
        let hand0 = model
            .bone_position(&rest, HumanBone::LeftHand)
            .expect("hand");
        let hand1 = model
            .bone_position(&down, HumanBone::LeftHand)
            .expect("hand");
        let (a, b) = (hand0 - shoulder, hand1 - shoulder);
        let angle = a.angle_between(b).to_degrees();
        assert!(
            (angle - 70.0).abs() < 2.0,
            "{name}: arm turned {angle} degrees"
        );
        assert!(
            b.y < a.y - 0.5 * a.length(),
            "{name}: the hand went down ({a} -> {b})"
        );
        // The other arm stays.
        let right0 = model
            .bone_position(&rest, HumanBone::RightHand)
            .expect("hand");
        let right1 = model
            .bone_position(&down, HumanBone::RightHand)
            .expect("hand");
        assert!(
            right0.distance(right1) < 1e-4,
            "{name}: the right hand moved"
        );
    }
    // On screen (the robot's limbs are rigid meshes on the bones): pixels change on the image's
    // right, where the avatar's left arm is.
    let mut r = renderer();
    let model = GltfAvatar::load(&fixture("vrmaddon_debug_robot_vrm1.vrm")).expect("loads");
    r.set_model(AvatarModel::Gltf(Box::new(model)))
        .expect("uploads");
    let (a, b) = (draw(&mut r, &whole_body()), draw(&mut r, &left_arm_down()));
    side_by_side(&[&a, &b])
        .save(output_dir("avatars").join("robot_left_arm_down.png"))
        .expect("write PNG");
    let (n, mean_x) = changed(&a, &b);
    assert!(n > 100, "lowering the arm changed {n} pixels");
    assert!(mean_x > W as f32 / 2.0, "changes centred at x {mean_x}");
}

#[test]
fn head_follows_the_rig_or_the_head_pose_and_eyes_follow_the_gaze() {
    let model = GltfAvatar::load(&fixture("vrmaddon_debug_robot_vrm1.vrm")).expect("loads");
    let forward = |q: Quat| q * Vec3::Z;
    // Without rig head bones, yaw turns the head (nose towards +X = the image's right).
    let yawed = AvatarState {
        yaw: 40.0,
        ..AvatarState::default()
    };
    let head = model.bone_turn(&yawed, HumanBone::Head).expect("head");
    let f = forward(head);
    assert!(
        (f.x.atan2(f.z).to_degrees() - 40.0).abs() < 1.0,
        "head yaw {f}"
    );
    // With the rig's head, the rig wins.
    let mut rig = Rig::default();
    rig.bones
        .insert(HumanBone::Head, Quat::from_rotation_x(-20f32.to_radians()));
    let pitched = AvatarState {
        rig,
        ..yawed.clone()
    };
    let f = forward(model.bone_turn(&pitched, HumanBone::Head).expect("head"));
    assert!(f.x.abs() < 1e-3 && f.y > 0.3, "rig head pitch up: {f}");
    // Bone lookAt: gaze to the image's right turns both eyes towards +X by the range map
    // (30 degrees of gaze, 90 -> 10 degrees: 3.3 degrees).
    let looking = AvatarState {
        gaze: [1.0, 0.0],
        ..AvatarState::default()
    };
    for eye in [HumanBone::LeftEye, HumanBone::RightEye] {
        let f = forward(model.bone_turn(&looking, eye).expect("eye"));
        let deg = f.x.atan2(f.z).to_degrees();
        assert!((deg - 30.0 / 90.0 * 10.0).abs() < 0.2, "{eye:?} yaw {deg}");
    }
}

fn weight(model: &GltfAvatar, state: &AvatarState, name: &str) -> f32 {
    model
        .expression_weights(state)
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no expression {name}"))
        .1
}

#[test]
fn vrm1_expressions_follow_is_binary_and_override_flags() {
    let smiling = |smile: f32| AvatarState {
        smile: [smile; 2],
        blink: [1.0; 2],
        ..AvatarState::default()
    };
    // happy: isBinary, overrideBlink blend.
    let m =
        GltfAvatar::load(&fixture("VRMC_vrm_expressions_isBinary_Overrides.vrm")).expect("loads");
    assert_eq!(weight(&m, &smiling(0.6), "happy"), 1.0);
    assert_eq!(weight(&m, &smiling(0.6), "blink"), 0.0);
    assert_eq!(weight(&m, &smiling(0.4), "happy"), 0.0);
    assert_eq!(weight(&m, &smiling(0.4), "blink"), 1.0);
    // happy: overrideBlink blend; blink: isBinary.
    let n =
        GltfAvatar::load(&fixture("VRMC_vrm_expressions_isBinary_Overridden.vrm")).expect("loads");
    assert!((weight(&n, &smiling(0.6), "happy") - 0.6).abs() < 1e-5);
    // blink is binary and overridden: any override suppresses it completely.
    assert_eq!(weight(&n, &smiling(0.6), "blink"), 0.0);
    assert_eq!(weight(&n, &smiling(0.0), "blink"), 1.0);
    // textureTransformBinds move material 0's texture window.
    let rest = m.material_frames(&AvatarState::default());
    let happy = m.material_frames(&smiling(0.6));
    assert_eq!(happy[0].uv.offset, [0.875, 0.0]);
    assert_ne!(rest[0].uv, happy[0].uv);
    // On screen: the files are validation windows that show green ticks while the expression
    // values are within what the specification allows and red crosses otherwise.
    let mut r = renderer();
    let mut images = Vec::new();
    for model in [m, n] {
        r.set_model(AvatarModel::Gltf(Box::new(model)))
            .expect("uploads");
        let mut row = Vec::new();
        for smile in [0.0, 0.3, 0.6, 1.0] {
            for blink in [0.0, 0.4, 1.0] {
                let s = AvatarState {
                    scale: 0.3,
                    smile: [smile; 2],
                    blink: [blink; 2],
                    ..AvatarState::default()
                };
                let img = draw(&mut r, &s);
                let count = |f: &dyn Fn(&Rgba<u8>) -> bool| img.pixels().filter(|p| f(p)).count();
                let red = count(&|p| p[0] > 150 && p[1] < 110 && p[2] < 90);
                let green = count(&|p| p[1] > 100 && p[0] < 90 && p[2] < 60);
                row.push(img);
                assert!(
                    red == 0 && green > 500,
                    "smile {smile} blink {blink}: {red} red, {green} green pixels"
                );
            }
        }
        let (changed_px, _) = changed(&row[0], &row[8]);
        assert!(changed_px > 50, "expressions changed {changed_px} pixels");
        images.extend(row);
    }
    let crops: Vec<RgbaImage> = images
        .iter()
        .map(|i| image::imageops::crop_imm(i, W / 2 - 60, 40, 120, 140).to_image())
        .collect();
    side_by_side(&crops.iter().collect::<Vec<_>>())
        .save(output_dir("avatars").join("vrm1_is_binary_overrides.png"))
        .expect("write PNG");
}

#[test]
fn vrm0_blend_shape_groups_drive_their_morphs() {
    for name in [
        "vrmaddon_simple_morph_vrm0.vrm",
        "vrmaddon_modifier_shapekey_vrm0.vrm",
    ] {
        let m = GltfAvatar::load(&fixture(name)).expect("loads");
        let open = AvatarState {
            jaw_open: 0.7,
            ..AvatarState::default()
        };
        // Group "A" (preset a) binds morph A of mesh 0 at weight 100, driven by jawOpen.
        assert!((m.morph_weights(&open)[0][0] - 0.7).abs() < 1e-5, "{name}");
        assert_eq!(
            m.morph_weights(&AvatarState::default())[0][0],
            0.0,
            "{name}"
        );
    }
}

// ---- generated glTF files -----------------------------------------------------------------------

/// A GLB of `json` and `bin` (`buffers[0]` is set to the binary chunk).
fn glb(mut json: Value, bin: &[u8]) -> Vec<u8> {
    json["buffers"] = json!([{ "byteLength": bin.len() }]);
    glb_raw(&json, bin)
}

/// A GLB of `json` (its buffers as they are) and `bin`.
fn glb_raw(json: &Value, bin: &[u8]) -> Vec<u8> {
    let mut j = serde_json::to_vec(json).expect("json");
    while j.len() % 4 != 0 {
        j.push(b' ');
    }
    let mut b = bin.to_vec();
    while b.len() % 4 != 0 {
        b.push(0);
    }
    let total = 12 + 8 + j.len() + 8 + b.len();
    let mut out = Vec::new();
    out.extend_from_slice(b"glTF");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&(j.len() as u32).to_le_bytes());
    out.extend_from_slice(b"JSON");
    out.extend_from_slice(&j);
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b"BIN\0");
    out.extend_from_slice(&b);
    out
}

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = output_dir("avatars").join("generated");
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

/// Appends `bytes` to `bin` (4-aligned) as a new buffer view; returns its index.
fn view(bin: &mut Vec<u8>, views: &mut Vec<Value>, bytes: &[u8]) -> usize {
    while bin.len() % 4 != 0 {
        bin.push(0);
    }
    views.push(json!({"buffer": 0, "byteOffset": bin.len(), "byteLength": bytes.len()}));
    bin.extend_from_slice(bytes);
    views.len() - 1
}

fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A UV sphere of radius 1 (smooth normals), as float positions/normals, u16 indices.
fn sphere(rings: u32, segments: u32) -> (Vec<f32>, Vec<u16>) {
    let mut pos = Vec::new();
    for r in 0..=rings {
        let theta = std::f32::consts::PI * r as f32 / rings as f32;
        for s in 0..=segments {
            let phi = 2.0 * std::f32::consts::PI * s as f32 / segments as f32;
            pos.extend_from_slice(&[
                theta.sin() * phi.sin(),
                theta.cos(),
                theta.sin() * phi.cos(),
            ]);
        }
    }
    let mut idx = Vec::new();
    let row = segments + 1;
    for r in 0..rings {
        for s in 0..segments {
            let a = (r * row + s) as u16;
            let b = a + row as u16;
            idx.extend_from_slice(&[a, b, a + 1, a + 1, b, b + 1]);
        }
    }
    (pos, idx)
}

/// A glTF with one mesh (float positions, normals = positions for the sphere) and `material`.
fn sphere_glb(material: Value, extensions_used: &[&str]) -> Vec<u8> {
    let (pos, idx) = sphere(24, 48);
    let mut bin = Vec::new();
    let mut views = Vec::new();
    let p = view(&mut bin, &mut views, &f32s(&pos));
    let i = view(
        &mut bin,
        &mut views,
        &idx.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<_>>(),
    );
    let n = pos.len() / 3;
    glb(
        json!({
            "asset": {"version": "2.0"},
            "extensionsUsed": extensions_used,
            "scene": 0, "scenes": [{"nodes": [0]}],
            "nodes": [{"mesh": 0, "name": "Head"}],
            "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "NORMAL": 0}, "indices": 1, "material": 0}]}],
            "materials": [material],
            "accessors": [
                {"bufferView": p, "componentType": 5126, "count": n, "type": "VEC3", "min": [-1, -1, -1], "max": [1, 1, 1]},
                {"bufferView": i, "componentType": 5123, "count": idx.len(), "type": "SCALAR"}
            ],
            "bufferViews": views,
        }),
        &bin,
    )
}

fn to_srgb8(c: f32) -> u8 {
    let c = c.clamp(0.0, 1.0);
    let s = if c <= 0.0031308 {
        c * 12.92
    } else {
        1.055 * c.powf(1.0 / 2.4) - 0.055
    };
    (s * 255.0).round() as u8
}

/// MToon colour tolerance: the GPU interpolates the normal across triangles of a 24x48 sphere, the
/// test finds the disc to a pixel and both round to 8 bits; 4 levels in sRGB.
const TOON_TOLERANCE: u8 = 4;

#[test]
fn mtoon_colours_match_the_cpu_reference_and_the_outline_rings_the_silhouette() {
    let mtoon = json!({
        "specVersion": "1.0",
        "shadeColorFactor": [0.1, 0.05, 0.3],
        "shadingToonyFactor": 0.9,
        "shadingShiftFactor": -0.3,
        "parametricRimColorFactor": [0.2, 0.4, 0.0],
        "parametricRimFresnelPowerFactor": 2.0,
        "parametricRimLiftFactor": 0.1,
        "outlineWidthMode": "worldCoordinates",
        "outlineWidthFactor": 0.04,
        "outlineColorFactor": [0.0, 1.0, 0.0],
        "outlineLightingMixFactor": 0.0
    });
    let material = json!({
        "pbrMetallicRoughness": {"baseColorFactor": [0.9, 0.5, 0.2, 1.0]},
        "emissiveFactor": [0.05, 0.0, 0.1],
        "extensions": {"VRMC_materials_mtoon": mtoon}
    });
    let path = write(
        "mtoon_sphere.glb",
        &sphere_glb(material, &["VRMC_materials_mtoon"]),
    );
    let model = GltfAvatar::load(&path).expect("loads");
    let toon: Toon = model.materials[0].toon.expect("MToon read");
    assert!((toon.step[0] - 0.2).abs() < 1e-5 && (toon.step[1] - 0.4).abs() < 1e-5);
    let mut r = renderer();
    r.set_model(AvatarModel::Gltf(Box::new(model)))
        .expect("uploads");
    let state = AvatarState {
        scale: 0.3,
        ..AvatarState::default()
    };
    let img = draw(&mut r, &state);
    img.save(output_dir("avatars").join("mtoon_sphere.png"))
        .expect("PNG");
    // Pixels inside the sphere: its normal is known from where the pixel lies on the disc.
    let (mut cx, mut cy, mut n, mut top, mut bottom) = (0.0, 0.0, 0usize, H, 0);
    let green = |p: &Rgba<u8>| p[1] > 200 && p[0] < 40 && p[2] < 40;
    for (x, y, p) in img.enumerate_pixels() {
        if (0..3).any(|c| p[c].abs_diff(img.get_pixel(0, 0)[c]) > 8) && !green(p) {
            cx += x as f32;
            cy += y as f32;
            n += 1;
            top = top.min(y);
            bottom = bottom.max(y);
        }
    }
    assert!(n > 1000, "sphere drawn ({n} pixels)");
    let (cx, cy) = (cx / n as f32, cy / n as f32);
    let radius = (bottom - top) as f32 / 2.0;
    let light = Vec3::from(LIGHT).normalize();
    let mut worst = 0u8;
    let mut checked = 0;
    // Points well inside the lit side (N.L above 0.4) or the shade side (below 0.2), where a pixel
    // of error in the measured disc does not cross the step.
    for (dx, dy) in [
        (0.0, 0.0),
        (-0.5, -0.3),
        (-0.2, 0.7),
        (0.7, 0.5),
        (0.0, -0.8),
    ] {
        let (px, py) = (cx + dx * radius, cy + dy * radius);
        // Screen y grows down; world y up.
        let nz = (1.0f32 - dx * dx - dy * dy).max(0.0).sqrt();
        let normal = Vec3::new(dx, -dy, nz);
        let expected = toon.shade(
            [0.9, 0.5, 0.2],
            [1.0; 3],
            normal.dot(light),
            normal.z,
            [0.05, 0.0, 0.1],
        );
        let got = img.get_pixel(px.round() as u32, py.round() as u32);
        for c in 0..3 {
            worst = worst.max(got[c].abs_diff(to_srgb8(expected[c])));
        }
        checked += 1;
        assert!(
            (0..3).all(|c| got[c].abs_diff(to_srgb8(expected[c])) <= TOON_TOLERANCE),
            "at ({dx}, {dy}): GPU {got:?}, CPU {:?}",
            expected.map(to_srgb8)
        );
    }
    eprintln!("MToon: {checked} points, largest difference {worst} levels");
    // The outline: green pixels around the disc, none in its middle.
    let ring = img.pixels().filter(|p| green(p)).count();
    assert!(ring > 200, "outline pixels: {ring}");
    assert!(!green(img.get_pixel(cx as u32, cy as u32)));
}

/// Quantized positions (normalized SHORT), normals (normalized BYTE) and uvs (normalized
/// UNSIGNED_SHORT), a WebP texture (EXT_texture_webp only, no PNG fallback) placed by
/// KHR_texture_transform, and KHR_materials_emissive_strength: all required.
fn extensions_glb() -> Vec<u8> {
    // A quad of 2 x 2 world units at z = 0: positions are -1..1 as SHORT / 32767, scaled by the node.
    let pos: [i16; 12] = [
        -32767, -32767, 0, 32767, -32767, 0, 32767, 32767, 0, -32767, 32767, 0,
    ];
    let nrm: [i8; 16] = [0, 0, 127, 0, 0, 0, 127, 0, 0, 0, 127, 0, 0, 0, 127, 0];
    let uv: [u16; 8] = [0, 65535, 65535, 65535, 65535, 0, 0, 0];
    let idx: [u16; 6] = [0, 1, 2, 0, 2, 3];
    // The texture: left half red, right half blue; the transform shows the right half only.
    let mut tex = RgbaImage::new(8, 8);
    for (x, _, p) in tex.enumerate_pixels_mut() {
        *p = if x < 4 {
            Rgba([255, 0, 0, 255])
        } else {
            Rgba([0, 0, 255, 255])
        };
    }
    let mut webp = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut webp)
        .encode(tex.as_raw(), 8, 8, image::ExtendedColorType::Rgba8)
        .expect("WebP encodes");
    let mut bin = Vec::new();
    let mut views = Vec::new();
    // Vertex attributes are 4-byte aligned: SHORT VEC3 elements are padded to 8 bytes.
    let padded: Vec<u8> = pos
        .chunks(3)
        .flat_map(|v| {
            let mut e: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            e.extend_from_slice(&[0, 0]);
            e
        })
        .collect();
    let p = view(&mut bin, &mut views, &padded);
    views[p]["byteStride"] = json!(8);
    let n = view(&mut bin, &mut views, &nrm.map(|x| x as u8));
    views[n]["byteStride"] = json!(4);
    let u = view(
        &mut bin,
        &mut views,
        &uv.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<_>>(),
    );
    let i = view(
        &mut bin,
        &mut views,
        &idx.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<_>>(),
    );
    let img = view(&mut bin, &mut views, &webp);
    let required = [
        "KHR_mesh_quantization",
        "EXT_texture_webp",
        "KHR_texture_transform",
        "KHR_materials_emissive_strength",
        "KHR_materials_unlit",
    ];
    glb(
        json!({
            "asset": {"version": "2.0"},
            "extensionsUsed": required,
            "extensionsRequired": required,
            "scene": 0, "scenes": [{"nodes": [0]}],
            "nodes": [{"mesh": 0, "name": "Head", "scale": [0.5, 0.5, 0.5]}],
            "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "NORMAL": 1, "TEXCOORD_0": 2}, "indices": 3, "material": 0}]}],
            "materials": [{
                "pbrMetallicRoughness": {"baseColorTexture": {"index": 0, "extensions": {
                    "KHR_texture_transform": {"offset": [0.5, 0.0], "scale": [0.5, 1.0]}}}},
                "emissiveFactor": [0.1, 0.2, 0.0],
                "extensions": {"KHR_materials_unlit": {}, "KHR_materials_emissive_strength": {"emissiveStrength": 3.0}}
            }],
            "textures": [{"extensions": {"EXT_texture_webp": {"source": 0}}}],
            "images": [{"bufferView": img, "mimeType": "image/webp"}],
            "accessors": [
                {"bufferView": p, "componentType": 5122, "normalized": true, "count": 4, "type": "VEC3", "min": [-32767, -32767, 0], "max": [32767, 32767, 0]},
                {"bufferView": n, "componentType": 5120, "normalized": true, "count": 4, "type": "VEC3"},
                {"bufferView": u, "componentType": 5123, "normalized": true, "count": 4, "type": "VEC2"},
                {"bufferView": i, "componentType": 5123, "count": 6, "type": "SCALAR"}
            ],
            "bufferViews": views,
        }),
        &bin,
    )
}

#[test]
fn gltf_extensions_real_exports_use_are_read() {
    let path = write("extensions.glb", &extensions_glb());
    let model = GltfAvatar::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let m = &model.materials[0];
    assert_eq!(m.uv.offset, [0.5, 0.0]);
    assert_eq!(m.uv.scale, [0.5, 1.0]);
    assert!((m.emissive[0] - 0.3).abs() < 1e-6 && (m.emissive[1] - 0.6).abs() < 1e-6);
    assert_eq!(model.images.len(), 1, "the WebP image decodes");
    assert_eq!(model.images[0].get_pixel(6, 3), &Rgba([0, 0, 255, 255]));
    let posed = model.pose(&AvatarState::default());
    let corner = Vec3::from(posed[0].positions[2]);
    assert!(
        corner.distance(Vec3::new(0.5, 0.5, 0.0)) < 1e-4,
        "dequantized corner {corner}"
    );
    assert!(Vec3::from(posed[0].normals[0]).distance(Vec3::Z) < 1e-4);
    let mut r = renderer();
    r.set_model(AvatarModel::Gltf(Box::new(model)))
        .expect("uploads");
    let img = draw(&mut r, &AvatarState::default());
    img.save(output_dir("avatars").join("extensions_quad.png"))
        .expect("PNG");
    // Unlit blue (the right half of the texture) plus emissive (0.3, 0.6, 0) in linear light.
    let c = img.get_pixel(W / 2, H / 2);
    let expected = [to_srgb8(0.3), to_srgb8(0.6), 255];
    assert!(
        (0..3).all(|k| c[k].abs_diff(expected[k]) <= 2),
        "centre {c:?}, expected {expected:?}"
    );
}

#[test]
fn required_extensions_and_meshopt_views_are_handled_or_named() {
    let base = extensions_glb();
    let (json, bin) = split_glb(&base);
    // An extension doppel does not read, required: refused, named with the file.
    let mut draco = json.clone();
    draco["extensionsRequired"] = json!(["KHR_draco_mesh_compression"]);
    let path = write("draco.glb", &glb(draco, &bin));
    let err = GltfAvatar::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("draco.glb") && err.contains("KHR_draco_mesh_compression"),
        "{err}"
    );
    // A damaged meshopt stream (its compressed bytes cut short): refused, named.
    let packed = std::fs::read(fixture("gltfpack/AnimatedMorphCube_meshopt.glb")).expect("fixture");
    let (mut json, bin) = split_glb(&packed);
    let ext = &mut json["bufferViews"][0]["extensions"]["EXT_meshopt_compression"];
    let len = ext["byteLength"].as_u64().expect("byteLength");
    ext["byteLength"] = json!(len / 2);
    let path = write("meshopt_damaged.glb", &glb_raw(&json, &bin));
    let err = GltfAvatar::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("meshopt_damaged.glb") && err.contains("EXT_meshopt_compression"),
        "{err}"
    );
}

/// Posed rest positions: bounding box, triangle count, and the normals.
fn geometry(m: &GltfAvatar) -> (Vec3, Vec3, usize, Vec<Vec3>) {
    let posed = m.pose(&AvatarState::default());
    let mut lo = Vec3::splat(f32::INFINITY);
    let mut hi = Vec3::splat(f32::NEG_INFINITY);
    let mut normals = Vec::new();
    for p in &posed {
        for v in &p.positions {
            lo = lo.min(Vec3::from(*v));
            hi = hi.max(Vec3::from(*v));
        }
        normals.extend(p.normals.iter().map(|n| Vec3::from(*n)));
    }
    let tris = posed.iter().map(|p| p.primitive.indices.len() / 3).sum();
    (lo, hi, tris, normals)
}

/// Files `gltfpack` (npm `gltfpack` 1.3.0) wrote from the fixtures with `-c` (meshopt vertex and
/// index codecs, quantized attributes) and `-cc` (plus the octahedral normal filter): they decode
/// to the originals' shapes.
#[test]
fn meshopt_files_from_gltfpack_decode_like_their_originals() {
    let original =
        GltfAvatar::load(&fixture("AnimatedMorphCube/AnimatedMorphCube.gltf")).expect("loads");
    let (lo, hi, tris, _) = geometry(&original);
    let size = (hi - lo).max_element();
    let mut r = renderer();
    let mut images = Vec::new();
    for name in [
        "gltfpack/AnimatedMorphCube_meshopt.glb",
        "gltfpack/AnimatedMorphCube_meshopt_filters.glb",
    ] {
        let m = GltfAvatar::load(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (l, h, t, normals) = geometry(&m);
        assert_eq!(t, tris, "{name}: triangles");
        assert!(
            l.distance(lo) < 0.01 * size && h.distance(hi) < 0.01 * size,
            "{name}: box {l}..{h}, original {lo}..{hi}"
        );
        // A cube's normals point along the axes (the octahedral filter rebuilds them).
        for n in &normals {
            assert!(n.abs().max_element() > 0.99, "{name}: normal {n}");
        }
        let morphs = m.morph_weights(&AvatarState::default());
        assert_eq!(morphs[0].len(), 2, "{name}: both morph targets");
        r.set_model(AvatarModel::Gltf(Box::new(m)))
            .expect("uploads");
        images.push(draw(&mut r, &whole_body()));
    }
    // A skinned VRM 0.x sphere re-packed as plain glTF (VRM extension dropped, node names kept):
    // the same shape turned back by 180 degrees, and its bones found by name.
    let vrm = GltfAvatar::load(&fixture("three-vrm_sphere.vrm")).expect("loads");
    let packed =
        GltfAvatar::load(&fixture("gltfpack/three-vrm_sphere_meshopt.glb")).expect("loads");
    let (vl, vh, vt, _) = geometry(&vrm);
    let (pl, ph, pt, _) = geometry(&packed);
    assert_eq!(vt, pt);
    let turned = (Vec3::new(-ph.x, pl.y, -ph.z), Vec3::new(-pl.x, ph.y, -pl.z));
    let size = (vh - vl).max_element();
    assert!(
        turned.0.distance(vl) < 0.01 * size && turned.1.distance(vh) < 0.01 * size,
        "{turned:?} vs {vl}..{vh}"
    );
    assert!(packed.has_head_bone(), "Head found by name");
    assert!(packed.humanoid().contains_key(&HumanBone::LeftUpperArm));
    r.set_model(AvatarModel::Gltf(Box::new(packed)))
        .expect("uploads");
    images.push(draw(&mut r, &whole_body()));
    side_by_side(&images.iter().collect::<Vec<_>>())
        .save(output_dir("avatars").join("meshopt_gltfpack.png"))
        .expect("write PNG");
}

fn split_glb(bytes: &[u8]) -> (Value, Vec<u8>) {
    let len = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes")) as usize;
    let json = serde_json::from_slice(&bytes[20..20 + len]).expect("GLB JSON");
    let at = 20 + len;
    let blen = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
    (json, bytes[at + 8..at + 8 + blen].to_vec())
}

#[test]
fn broken_avatar_files_give_clear_errors() {
    let robot = std::fs::read(fixture("vrmaddon_debug_robot_vrm1.vrm")).expect("fixture");
    // A VRM with 0 meshes.
    let (mut json, bin) = split_glb(&robot);
    json["meshes"] = json!([]);
    for n in json["nodes"].as_array_mut().expect("nodes") {
        n.as_object_mut().expect("node").remove("mesh");
    }
    let path = write("no_meshes.vrm", &glb(json, &bin));
    let err = GltfAvatar::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("no_meshes.vrm") && err.contains("no triangle mesh"),
        "{err}"
    );
    // Truncated.
    let path = write("truncated.vrm", &robot[..robot.len() / 2]);
    let err = GltfAvatar::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("truncated.vrm") && err.contains("truncated"),
        "{err}"
    );
    // A PNG named .vrm.
    let mut png = Vec::new();
    RgbaImage::new(4, 4)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("PNG");
    let path = write("picture.vrm", &png);
    let err = GltfAvatar::load(&path).unwrap_err().to_string();
    assert!(err.contains("picture.vrm") && err.contains("PNG"), "{err}");
    // An accessor that runs past its buffer view.
    let (mut json, bin) = split_glb(&robot);
    let pos = json["meshes"][0]["primitives"][0]["attributes"]["POSITION"]
        .as_u64()
        .expect("POSITION") as usize;
    json["accessors"][pos]["count"] = json!(1_000_000);
    let path = write("bad_accessor.vrm", &glb(json, &bin));
    let err = GltfAvatar::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("bad_accessor.vrm")
            && err.contains(&format!("accessor {pos}"))
            && err.contains("bufferView"),
        "{err}"
    );
}

/// FNV-1a 64 of `bytes`.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Every compressed buffer view of the gltfpack files decodes byte for byte as meshoptimizer's own
/// decoder does: the hashes were computed with `MeshoptDecoder.decodeGltfBuffer` of the npm package
/// `meshoptimizer` 1.3.0 (node, `target/npm`), over the same files.
#[test]
fn meshopt_decoding_matches_the_reference_decoder_byte_for_byte() {
    let expected: [(&str, usize, u64); 15] = [
        ("AnimatedMorphCube_meshopt.glb", 0, 0x26d3e9d54bab203d),
        ("AnimatedMorphCube_meshopt.glb", 1, 0x6e30d092ebe1244d),
        ("AnimatedMorphCube_meshopt.glb", 2, 0x38b7b89a9ff6b085),
        ("AnimatedMorphCube_meshopt.glb", 3, 0x4724f18bd062c3ed),
        (
            "AnimatedMorphCube_meshopt_filters.glb",
            0,
            0xf6900937e88bf2a5,
        ),
        (
            "AnimatedMorphCube_meshopt_filters.glb",
            1,
            0x6e30d092ebe1244d,
        ),
        (
            "AnimatedMorphCube_meshopt_filters.glb",
            2,
            0xc5c788ce8d8262bd,
        ),
        (
            "AnimatedMorphCube_meshopt_filters.glb",
            3,
            0x38b7b89a9ff6b085,
        ),
        (
            "AnimatedMorphCube_meshopt_filters.glb",
            4,
            0x4724f18bd062c3ed,
        ),
        ("three-vrm_sphere_meshopt.glb", 0, 0xbb6ee19600b26d85),
        ("three-vrm_sphere_meshopt.glb", 1, 0xabade653e95053f8),
        ("three-vrm_sphere_meshopt.glb", 2, 0x2db10bf22f490291),
        ("three-vrm_sphere_meshopt.glb", 3, 0x8b212fefff5c6e81),
        ("three-vrm_sphere_meshopt.glb", 4, 0x25c14b56d356d25),
        ("three-vrm_sphere_meshopt.glb", 5, 0xac04e6158be94621),
    ];
    for (name, view, hash) in expected {
        let path = fixture(&format!("gltfpack/{name}"));
        let bytes = std::fs::read(&path).expect("fixture");
        let g = doppel_pipeline::avatar::gltf::Gltf::parse(&path, &bytes).expect("parses");
        let decoded = g.view(view).expect("view");
        assert_eq!(fnv(decoded), hash, "{name} bufferView {view}");
    }
}

/// A VRM 1.0 sphere (humanoid: hips and head on one node each) whose `happy` turns the material
/// red (materialColorBinds) and whose expression lookAt drives `lookLeft` (an emission bind).
#[test]
fn vrm1_material_colour_binds_and_expression_look_at() {
    let material = json!({"pbrMetallicRoughness": {"baseColorFactor": [0.8, 0.8, 0.8, 1.0]},
        "extensions": {"KHR_materials_unlit": {}}});
    let (mut json, bin) = split_glb(&sphere_glb(material, &["KHR_materials_unlit", "VRMC_vrm"]));
    json["nodes"] = json!([{"name": "Root", "children": [1]}, {"name": "Head", "mesh": 0}]);
    json["scenes"] = json!([{"nodes": [0]}]);
    json["extensions"] = json!({"VRMC_vrm": {
        "specVersion": "1.0",
        "humanoid": {"humanBones": {"hips": {"node": 0}, "head": {"node": 1}}},
        "lookAt": {"type": "expression",
            "rangeMapHorizontalInner": {"inputMaxValue": 90, "outputScale": 1},
            "rangeMapHorizontalOuter": {"inputMaxValue": 90, "outputScale": 1},
            "rangeMapVerticalDown": {"inputMaxValue": 90, "outputScale": 1},
            "rangeMapVerticalUp": {"inputMaxValue": 90, "outputScale": 1}},
        "expressions": {"preset": {
            "happy": {"materialColorBinds": [
                {"material": 0, "type": "color", "targetValue": [1.0, 0.0, 0.0, 1.0]}]},
            "lookLeft": {"materialColorBinds": [
                {"material": 0, "type": "emissionColor", "targetValue": [0.0, 0.0, 0.9]}]}
        }}
    }});
    let path = write("color_binds.vrm", &glb(json, &bin));
    let model = GltfAvatar::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(model.vrm_version(), Some(1));
    let happy = AvatarState {
        smile: [1.0; 2],
        ..AvatarState::default()
    };
    assert_eq!(
        model.material_frames(&happy)[0].base_color,
        [1.0, 0.0, 0.0, 1.0]
    );
    // Gaze 1 = 30 degrees to the avatar's left; the range map 90 -> 1 gives lookLeft 1/3.
    let looking = AvatarState {
        gaze: [1.0, 0.0],
        ..AvatarState::default()
    };
    let w = weight(&model, &looking, "lookLeft");
    assert!((w - 1.0 / 3.0).abs() < 1e-4, "lookLeft {w}");
    assert!((model.material_frames(&looking)[0].emissive[2] - 0.3).abs() < 1e-4);
    let mut r = renderer();
    r.set_model(AvatarModel::Gltf(Box::new(model)))
        .expect("uploads");
    let a = draw(&mut r, &AvatarState::default());
    let b = draw(&mut r, &happy);
    side_by_side(&[&a, &b])
        .save(output_dir("avatars").join("vrm1_color_binds.png"))
        .expect("PNG");
    let centre = b.get_pixel(W / 2, (0.42 * H as f32) as u32);
    assert!(
        centre[0] > 240 && centre[1] < 10 && centre[2] < 10,
        "happy centre {centre:?}"
    );
}
