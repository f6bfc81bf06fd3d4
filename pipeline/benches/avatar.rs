//! Avatar render + readback at 1280x720: the built-in avatar and the bundled glTF avatar, over a
//! solid colour, the camera frame and the blurred camera frame. `builtin_color_one_pass` is the
//! baseline: the built-in avatar drawn by its one-pass reference shader (every shape on every pixel
//! of the avatar's quad), measured in the same run as the split passes the renderer uses.
//!
//! `cargo bench -p doppel-pipeline --bench avatar`. Each iteration is what the `avatar` stage pays
//! per frame: the per-frame uploads, the render passes and the padded readback into an RGBA image.
//! Frames per second = 1 / (time per iteration). Skipped when no adapter exists.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use doppel_pipeline::avatar::{
    AvatarModel, AvatarState, Backdrop, Composition, GltfAvatar, Renderer,
};
use doppel_pipeline::gpu::GpuContext;
use doppel_pipeline::source::synthetic::{render, SyntheticConfig};
use image::RgbaImage;

const AVATAR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../assets/avatars/doppel-head.glb"
);

fn avatar(c: &mut Criterion) {
    let ctx = match GpuContext::shared() {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("skipping avatar benchmarks: {e}");
            return;
        }
    };
    eprintln!("GPU: {}", ctx.describe());
    let camera = render(&SyntheticConfig::default(), 10);
    let (w, h) = camera.dimensions();
    let Ok(mut renderer) = Renderer::new(ctx, w, h) else {
        eprintln!("skipping avatar benchmarks: the renderer does not build");
        return;
    };
    let mut out = RgbaImage::new(w, h);
    let state = AvatarState {
        yaw: 15.0,
        jaw_open: 0.4,
        ..AvatarState::default()
    };
    let solid = Composition::default();
    let blur = Composition {
        backdrop: Backdrop::Blur,
        pip: None,
    };
    let cam = Composition {
        backdrop: Backdrop::Camera,
        pip: None,
    };
    let mut group = c.benchmark_group("avatar_1280x720");
    group.sample_size(20);
    for (name, comp, one_pass) in [
        ("builtin_color_one_pass", &solid, true),
        ("builtin_color", &solid, false),
        ("builtin_camera", &cam, false),
        ("builtin_blur", &blur, false),
    ] {
        renderer.set_single_pass(one_pass);
        group.bench_function(name, |b| {
            b.iter(|| {
                renderer
                    .render(&state, comp, Some(&camera), None, &mut out)
                    .map_err(|e| e.to_string())
            })
        });
    }
    match GltfAvatar::load(Path::new(AVATAR)) {
        Ok(model) => {
            if renderer
                .set_model(AvatarModel::Gltf(Box::new(model)))
                .is_ok()
            {
                // Two expressions in turn, so that the morphed vertices change (and are sent to
                // the GPU) every frame, as they do live.
                let other = AvatarState {
                    jaw_open: 0.1,
                    ..state.clone()
                };
                let mut flip = false;
                group.bench_function("gltf_color", |b| {
                    b.iter(|| {
                        flip = !flip;
                        renderer
                            .render(
                                if flip { &state } else { &other },
                                &solid,
                                Some(&camera),
                                None,
                                &mut out,
                            )
                            .map_err(|e| e.to_string())
                    })
                });
            }
        }
        Err(e) => eprintln!("skipping the glTF benchmark: {e}"),
    }
    group.finish();
}

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/avatars/");

/// VRM posing on the CPU (expressions, humanoid bones from the rig, skinning), per frame: what
/// decides whether skinning should move to the GPU. The rig turns an arm and the head each frame
/// so that every skinned vertex moves. `vrm1_robot_render` is the whole frame (pose, upload, draw,
/// readback) at 1280x720 for comparison.
fn vrm_pose(c: &mut Criterion) {
    use doppel_pipeline::rig::{HumanBone, Rig};
    use glam::Quat;
    let mut group = c.benchmark_group("avatar_vrm_pose");
    group.sample_size(30);
    let state = |t: f32| {
        let mut rig = Rig::default();
        rig.bones
            .insert(HumanBone::LeftUpperArm, Quat::from_rotation_z(-1.2 * t));
        rig.bones
            .insert(HumanBone::Head, Quat::from_rotation_y(0.3 * t));
        AvatarState {
            rig,
            jaw_open: t,
            ..AvatarState::default()
        }
    };
    let (a, b) = (state(0.2), state(0.8));
    for (name, file) in [
        ("vrm0_sphere_skinned", "three-vrm_sphere.vrm"),
        ("vrm1_robot_53_bones", "vrmaddon_debug_robot_vrm1.vrm"),
    ] {
        let Ok(model) = GltfAvatar::load(Path::new(&format!("{FIXTURES}{file}"))) else {
            eprintln!("skipping {name}: {file} does not load");
            continue;
        };
        eprintln!("{name}: {} vertices", model.vertex_count());
        let mut flip = false;
        group.bench_function(name, |bench| {
            bench.iter(|| {
                flip = !flip;
                model.pose(if flip { &a } else { &b }).len()
            })
        });
    }
    if let (Ok(ctx), Ok(model)) = (
        GpuContext::shared(),
        GltfAvatar::load(Path::new(&format!(
            "{FIXTURES}vrmaddon_debug_robot_vrm1.vrm"
        ))),
    ) {
        if let Ok(mut renderer) = Renderer::new(ctx, 1280, 720) {
            if renderer
                .set_model(AvatarModel::Gltf(Box::new(model)))
                .is_ok()
            {
                let mut out = RgbaImage::new(1280, 720);
                let solid = Composition::default();
                let mut flip = false;
                group.bench_function("vrm1_robot_render", |bench| {
                    bench.iter(|| {
                        flip = !flip;
                        renderer
                            .render(if flip { &a } else { &b }, &solid, None, None, &mut out)
                            .map_err(|e| e.to_string())
                    })
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, avatar, vrm_pose);
criterion_main!(benches);
