//! [`AvatarState`]: everything the renderer needs to pose an avatar for one frame, built from the
//! tracking meta by one function ([`AvatarState::from_meta`]) or by hand (tests, other drivers).
//!
//! Sides follow the person, as ARKit does: `left` is the person's left, which is the image's right
//! in an unmirrored frame (`track::types` uses the same convention for its keypoints).

use std::collections::BTreeMap;

use crate::frame::FrameMeta;
use crate::rig::solve::{self, RigInput};
use crate::rig::{HumanBone, Rig};
use crate::track::types::{LEFT_EYE, RIGHT_EYE};
use crate::track::{Body, Face};

/// Visibility a body keypoint needs before the avatar's arms and shoulders follow it.
pub use crate::rig::solve::MIN_VISIBILITY;

/// Shoulders, elbows and wrists in normalised frame coordinates (0..1, x right, y down); a joint is
/// `None` when the pose model did not see it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BodyPose {
    /// `[left, right]` (the person's).
    pub shoulders: [Option<[f32; 2]>; 2],
    pub elbows: [Option<[f32; 2]>; 2],
    pub wrists: [Option<[f32; 2]>; 2],
}

/// The pose and expression of the avatar for one frame. Angles in degrees with the conventions of
/// [`crate::track::HeadPose`]; expression values 0..1; positions normalised to the frame (0..1).
#[derive(Clone, Debug, PartialEq)]
pub struct AvatarState {
    /// Whether a face drove this state (false = the neutral default).
    pub tracked: bool,
    /// Head centre, normalised (0..1, x right, y down).
    pub center: [f32; 2],
    /// Face height (forehead to chin) as a fraction of the frame height.
    pub scale: f32,
    /// > 0: the nose points to the image's right.
    pub yaw: f32,
    /// > 0: the nose points up.
    pub pitch: f32,
    /// > 0: the head tilts clockwise on screen.
    pub roll: f32,
    /// Eye closure `[left, right]`, 0 open .. 1 closed.
    pub blink: [f32; 2],
    /// Gaze: x > 0 looks towards the image's right, y > 0 looks up; each -1..1.
    pub gaze: [f32; 2],
    /// Inner brow raise (both brows).
    pub brow_inner_up: f32,
    /// Outer brow raise `[left, right]`.
    pub brow_outer_up: [f32; 2],
    pub jaw_open: f32,
    /// Smile `[left, right]`.
    pub smile: [f32; 2],
    /// Mouth widening `[left, right]` (ARKit `mouthStretch`).
    pub stretch: [f32; 2],
    /// Shoulders and arms, when a body was tracked.
    pub body: Option<BodyPose>,
    /// Every ARKit value the tracker gave (and those measured from the mesh), for avatars with
    /// morph targets beyond the fields above; read with [`AvatarState::expression`].
    pub expressions: BTreeMap<String, f32>,
    /// Humanoid bone rotations (head, neck, spine, eyes, arms, hands, fingers) for avatars with a
    /// skeleton, the built-in avatar's arms and VMC; see [`crate::rig`] and
    /// [`crate::rig::solve`]. Without a body the arms rest at the sides ([`solve::resting`]).
    pub rig: Rig,
}

impl Default for AvatarState {
    /// A neutral face in the middle of the frame, filling about 40% of its height.
    fn default() -> Self {
        Self {
            tracked: false,
            center: [0.5, 0.42],
            scale: 0.4,
            yaw: 0.0,
            pitch: 0.0,
            roll: 0.0,
            blink: [0.0; 2],
            gaze: [0.0; 2],
            brow_inner_up: 0.0,
            brow_outer_up: [0.0; 2],
            jaw_open: 0.0,
            smile: [0.0; 2],
            stretch: [0.0; 2],
            body: None,
            expressions: BTreeMap::new(),
            rig: solve::resting(),
        }
    }
}

/// Mesh indices (MediaPipe face mesh topology) used when the tracker gave no expression values.
mod mesh_idx {
    pub const UPPER_INNER_LIP: usize = 13;
    pub const LOWER_INNER_LIP: usize = 14;
    pub const MOUTH_RIGHT: usize = 61;
    pub const MOUTH_LEFT: usize = 291;
    pub const FOREHEAD: usize = 10;
    pub const CHIN: usize = 152;
    /// (outer corner, inner corner, upper lid, lower lid) of the person's right eye.
    pub const RIGHT_EYE: [usize; 4] = [33, 133, 159, 145];
    pub const LEFT_EYE: [usize; 4] = [263, 362, 386, 374];
}

impl AvatarState {
    /// The state for the largest face (and first body) of a frame of `width` x `height` pixels;
    /// [`AvatarState::default`] when no face was tracked.
    ///
    /// Head pose comes from `Face::pose` when the tracker computed it; otherwise roll comes from the
    /// eye line and yaw/pitch from where the nose tip sits between the eyes and mouth (a coarse
    /// estimate). Expression values come from `Face::expressions`; names it lacks (or all of them
    /// while the tracker computes none) are measured from the 468-point mesh: lip gap for
    /// `jawOpen`, lid gap for the blinks, mouth width for `mouthStretch*`.
    pub fn from_meta(meta: &FrameMeta, width: u32, height: u32) -> Self {
        let (w, h) = (width.max(1) as f32, height.max(1) as f32);
        let mut state = Self::default();
        let body = meta.bodies.first();
        if let Some(body) = body {
            state.body = Some(body_pose(body, w, h));
        }
        if let Some(face) = meta
            .faces
            .iter()
            .max_by(|a, b| a.rect.area().total_cmp(&b.rect.area()))
        {
            state.follow_face(face, w, h);
        }
        state.rig = solve::solve(&RigInput {
            head: state
                .tracked
                .then_some([state.yaw, state.pitch, state.roll]),
            gaze: state.gaze,
            body,
            hands: &meta.hands,
        });
        state
    }

    /// Head placement, pose and expression values from `face` in a `w` x `h` frame.
    fn follow_face(&mut self, face: &Face, w: f32, h: f32) {
        let state = self;
        state.tracked = true;
        let centre = face.rect.center();
        state.center = [centre.x / w, centre.y / h];
        state.scale = (face.rect.height() / h).clamp(0.01, 4.0);
        match face.pose {
            Some(pose) => {
                state.yaw = pose.yaw;
                state.pitch = pose.pitch;
                state.roll = pose.roll;
                if pose.translation[0].is_finite() && pose.translation[1].is_finite() {
                    state.center = [pose.translation[0] / w, pose.translation[1] / h];
                }
            }
            None => {
                let [yaw, pitch, roll] = pose_from_keypoints(face);
                (state.yaw, state.pitch, state.roll) = (yaw, pitch, roll);
            }
        }
        let measured = measure_mesh(face);
        let value = |name: &str| {
            face.expressions
                .get(name)
                .or_else(|| measured.get(name))
                .copied()
                .unwrap_or(0.0)
                .clamp(0.0, 1.0)
        };
        state.blink = [value("eyeBlinkLeft"), value("eyeBlinkRight")];
        state.jaw_open = value("jawOpen");
        state.smile = [value("mouthSmileLeft"), value("mouthSmileRight")];
        state.stretch = [value("mouthStretchLeft"), value("mouthStretchRight")];
        state.brow_inner_up = value("browInnerUp");
        state.brow_outer_up = [value("browOuterUpLeft"), value("browOuterUpRight")];
        // The person's left eye looking "out" looks to the image's right; the right eye "in" too.
        let gx = 0.5
            * ((value("eyeLookOutLeft") - value("eyeLookInLeft"))
                + (value("eyeLookInRight") - value("eyeLookOutRight")));
        let gy = 0.5
            * ((value("eyeLookUpLeft") - value("eyeLookDownLeft"))
                + (value("eyeLookUpRight") - value("eyeLookDownRight")));
        state.gaze = [gx.clamp(-1.0, 1.0), gy.clamp(-1.0, 1.0)];
        state.expressions = measured;
        for (k, v) in &face.expressions {
            state.expressions.insert(k.clone(), *v);
        }
    }

    /// An ARKit-named expression value (0..1) of this state; 0 when the tracker gave none.
    pub fn expression(&self, name: &str) -> f32 {
        self.expressions
            .get(name)
            .copied()
            .unwrap_or(0.0)
            .clamp(0.0, 1.0)
    }

    /// Takes `target`'s body and the bones the body and hands drive (spine, chest, arms, hands,
    /// fingers), keeping this state's face, head and eyes: how the avatar follows a body while no
    /// face is tracked.
    pub fn follow_body(&mut self, target: &AvatarState) {
        self.body = target.body;
        for (bone, q) in &target.rig.bones {
            if !matches!(
                bone,
                HumanBone::Neck | HumanBone::Head | HumanBone::LeftEye | HumanBone::RightEye
            ) {
                self.rig.bones.insert(*bone, *q);
            }
        }
    }

    /// The ARKit-named values of this state (the fields above, plus any other values the tracker
    /// gave), for avatars whose morph targets carry ARKit names.
    pub fn arkit(&self) -> BTreeMap<String, f32> {
        let mut out = self.expressions.clone();
        let mut set = |k: &str, v: f32| {
            out.insert(k.to_string(), v.clamp(0.0, 1.0));
        };
        set("eyeBlinkLeft", self.blink[0]);
        set("eyeBlinkRight", self.blink[1]);
        set("jawOpen", self.jaw_open);
        set("mouthSmileLeft", self.smile[0]);
        set("mouthSmileRight", self.smile[1]);
        set("mouthStretchLeft", self.stretch[0]);
        set("mouthStretchRight", self.stretch[1]);
        set("browInnerUp", self.brow_inner_up);
        set("browOuterUpLeft", self.brow_outer_up[0]);
        set("browOuterUpRight", self.brow_outer_up[1]);
        let [gx, gy] = self.gaze;
        set("eyeLookOutLeft", gx.max(0.0));
        set("eyeLookInLeft", (-gx).max(0.0));
        set("eyeLookInRight", gx.max(0.0));
        set("eyeLookOutRight", (-gx).max(0.0));
        for side in ["Left", "Right"] {
            set(&format!("eyeLookUp{side}"), gy.max(0.0));
            set(&format!("eyeLookDown{side}"), (-gy).max(0.0));
        }
        out
    }

    /// Moves this state towards `target` by `1 - smoothing` (0 = jump to the target, 0.9 = slow):
    /// a first-order low-pass that steadies jittery tracking.
    pub fn smooth_towards(&mut self, target: &AvatarState, smoothing: f32) {
        let k = (1.0 - smoothing).clamp(0.0, 1.0);
        let lerp = |a: &mut f32, b: f32| *a += (b - *a) * k;
        lerp(&mut self.center[0], target.center[0]);
        lerp(&mut self.center[1], target.center[1]);
        lerp(&mut self.scale, target.scale);
        lerp(&mut self.yaw, target.yaw);
        lerp(&mut self.pitch, target.pitch);
        lerp(&mut self.roll, target.roll);
        for i in 0..2 {
            lerp(&mut self.blink[i], target.blink[i]);
            lerp(&mut self.gaze[i], target.gaze[i]);
            lerp(&mut self.brow_outer_up[i], target.brow_outer_up[i]);
            lerp(&mut self.smile[i], target.smile[i]);
            lerp(&mut self.stretch[i], target.stretch[i]);
        }
        lerp(&mut self.brow_inner_up, target.brow_inner_up);
        lerp(&mut self.jaw_open, target.jaw_open);
        self.tracked = target.tracked;
        self.body = target.body;
        // Values the target lacks are dropped; new ones start from 0.
        let mut expressions = BTreeMap::new();
        for (name, to) in &target.expressions {
            let mut v = self.expressions.get(name).copied().unwrap_or(0.0);
            lerp(&mut v, *to);
            expressions.insert(name.clone(), v);
        }
        self.expressions = expressions;
        // Bones turn along the shortest arc (slerp); a bone the target lacks goes back to rest.
        let mut bones = BTreeMap::new();
        for (bone, to) in &target.rig.bones {
            bones.insert(*bone, self.rig.rotation(*bone).slerp(*to, k).normalize());
        }
        self.rig.bones = bones;
    }
}

fn body_pose(body: &Body, w: f32, h: f32) -> BodyPose {
    let point = |i: usize| {
        body.keypoints
            .get(i)
            .filter(|k| k.visibility >= MIN_VISIBILITY && k.x.is_finite() && k.y.is_finite())
            .map(|k| [k.x / w, k.y / h])
    };
    // BlazePose order: 11/12 shoulders, 13/14 elbows, 15/16 wrists (left, right).
    BodyPose {
        shoulders: [point(11), point(12)],
        elbows: [point(13), point(14)],
        wrists: [point(15), point(16)],
    }
}

/// `[yaw, pitch, roll]` in degrees from the six keypoints: roll from the eye line, yaw from the nose
/// tip's offset from the eye midpoint along it, pitch from the nose tip's height between the eyes
/// and the mouth (about 0.45 of the way down when level).
fn pose_from_keypoints(face: &Face) -> [f32; 3] {
    let k = &face.keypoints;
    let (right, left, nose, mouth) = (k[RIGHT_EYE], k[LEFT_EYE], k[2], k[3]);
    let (dx, dy) = (left.x - right.x, left.y - right.y);
    let eye_dist = dx.hypot(dy);
    if eye_dist < 1e-3 {
        return [0.0; 3];
    }
    let roll = dy.atan2(dx).to_degrees();
    let (ux, uy) = (dx / eye_dist, dy / eye_dist);
    let mid = right.midpoint(left);
    let along = ((nose.x - mid.x) * ux + (nose.y - mid.y) * uy) / (0.5 * eye_dist);
    let yaw = along.clamp(-1.0, 1.0).asin().to_degrees();
    let down = (mouth.x - mid.x) * -uy + (mouth.y - mid.y) * ux;
    let pitch = if down > 1e-3 {
        let nose_down = (nose.x - mid.x) * -uy + (nose.y - mid.y) * ux;
        ((0.45 - nose_down / down) * 2.5)
            .clamp(-1.0, 1.0)
            .asin()
            .to_degrees()
    } else {
        0.0
    };
    [yaw, pitch, roll]
}

/// Expression values measured from the mesh geometry (empty when the mesh is not 468 points).
fn measure_mesh(face: &Face) -> BTreeMap<String, f32> {
    let mut out = BTreeMap::new();
    if face.mesh.len() < 468 {
        return out;
    }
    let p = |i: usize| face.point(i).unwrap_or_default();
    let face_h = p(mesh_idx::FOREHEAD).distance(p(mesh_idx::CHIN));
    if face_h < 1.0 {
        return out;
    }
    // Lips apart by 0.18 of the face height = fully open.
    let gap = p(mesh_idx::UPPER_INNER_LIP).distance(p(mesh_idx::LOWER_INNER_LIP));
    out.insert(
        "jawOpen".into(),
        ((gap / face_h - 0.01) / 0.17).clamp(0.0, 1.0),
    );
    // An open eye's lid gap is ~0.3 of its width; below 0.1 it reads as closed.
    for (name, [outer, inner, upper, lower]) in [
        ("eyeBlinkRight", mesh_idx::RIGHT_EYE),
        ("eyeBlinkLeft", mesh_idx::LEFT_EYE),
    ] {
        let width = p(outer).distance(p(inner)).max(1.0);
        let open = p(upper).distance(p(lower)) / width;
        out.insert(name.into(), (1.0 - (open - 0.1) / 0.18).clamp(0.0, 1.0));
    }
    // Mouth width: ~0.38 of the face height at rest, ~0.5 stretched.
    let width = p(mesh_idx::MOUTH_LEFT).distance(p(mesh_idx::MOUTH_RIGHT)) / face_h;
    let stretch = ((width - 0.4) / 0.12).clamp(0.0, 1.0);
    out.insert("mouthStretchLeft".into(), stretch);
    out.insert("mouthStretchRight".into(), stretch);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::{BodyKeypoint, HeadPose, Point, Rect, Roi};

    fn face(rect: Rect) -> Face {
        let c = rect.center();
        let (w, h) = (rect.width(), rect.height());
        Face {
            rect,
            score: 1.0,
            mesh: Vec::new(),
            keypoints: [
                Point::new(c.x - 0.2 * w, c.y - 0.1 * h),
                Point::new(c.x + 0.2 * w, c.y - 0.1 * h),
                Point::new(c.x, c.y + 0.05 * h),
                Point::new(c.x, c.y + 0.25 * h),
                Point::new(c.x - 0.45 * w, c.y),
                Point::new(c.x + 0.45 * w, c.y),
            ],
            detection: None,
            roi: Roi::default(),
            pose: None,
            expressions: BTreeMap::new(),
        }
    }

    #[test]
    fn no_face_is_the_neutral_default() {
        let s = AvatarState::from_meta(&FrameMeta::default(), 640, 480);
        assert_eq!(s, AvatarState::default());
        assert!(!s.tracked);
    }

    #[test]
    fn face_position_pose_and_expressions_carry_over() {
        let mut f = face(Rect::new(100.0, 50.0, 300.0, 290.0));
        f.pose = Some(HeadPose {
            yaw: 20.0,
            pitch: -5.0,
            roll: 8.0,
            translation: [210.0, 160.0, 50.0],
        });
        for (k, v) in [
            ("eyeBlinkLeft", 0.9),
            ("jawOpen", 0.6),
            ("mouthSmileRight", 0.4),
            ("eyeLookOutLeft", 0.5),
            ("eyeLookInRight", 0.5),
            ("eyeLookUpLeft", 0.2),
            ("eyeLookUpRight", 0.2),
            ("cheekPuff", 0.3),
        ] {
            f.expressions.insert(k.to_string(), v);
        }
        let meta = FrameMeta {
            faces: vec![face(Rect::new(0.0, 0.0, 10.0, 10.0)), f],
            ..FrameMeta::default()
        };
        let s = AvatarState::from_meta(&meta, 400, 400);
        assert!(s.tracked);
        assert_eq!((s.yaw, s.pitch, s.roll), (20.0, -5.0, 8.0));
        assert_eq!(s.center, [210.0 / 400.0, 160.0 / 400.0]);
        assert!((s.scale - 0.6).abs() < 1e-6);
        assert_eq!(s.blink, [0.9, 0.0]);
        assert_eq!(s.jaw_open, 0.6);
        assert_eq!(s.smile, [0.0, 0.4]);
        assert!((s.gaze[0] - 0.5).abs() < 1e-6 && (s.gaze[1] - 0.2).abs() < 1e-6);
        let arkit = s.arkit();
        assert_eq!(arkit["cheekPuff"], 0.3);
        assert_eq!(arkit["eyeBlinkLeft"], 0.9);
    }

    #[test]
    fn keypoints_give_roll_and_yaw_without_a_pose() {
        let mut f = face(Rect::new(100.0, 100.0, 200.0, 200.0));
        // Left eye (image right) 10 px lower than the right: clockwise tilt.
        f.keypoints[LEFT_EYE].y += 10.0;
        let s = AvatarState::from_meta(
            &FrameMeta {
                faces: vec![f.clone()],
                ..Default::default()
            },
            300,
            300,
        );
        assert!(s.roll > 5.0 && s.roll < 20.0, "roll {}", s.roll);
        f.keypoints[LEFT_EYE].y -= 10.0;
        f.keypoints[2].x += 12.0; // nose towards the image's right
        let s = AvatarState::from_meta(
            &FrameMeta {
                faces: vec![f],
                ..Default::default()
            },
            300,
            300,
        );
        assert!(s.yaw > 20.0, "yaw {}", s.yaw);
        assert!(s.pitch.abs() < 10.0, "pitch {}", s.pitch);
    }

    #[test]
    fn visible_body_keypoints_become_joints() {
        let mut keypoints = vec![BodyKeypoint::default(); 33];
        keypoints[11] = BodyKeypoint {
            x: 300.0,
            y: 400.0,
            z: 0.0,
            visibility: 0.9,
        };
        keypoints[12] = BodyKeypoint {
            x: 100.0,
            y: 400.0,
            z: 0.0,
            visibility: 0.9,
        };
        keypoints[13] = BodyKeypoint {
            x: 350.0,
            y: 300.0,
            z: 0.0,
            visibility: 0.2,
        };
        let meta = FrameMeta {
            bodies: vec![Body {
                rect: Rect::default(),
                score: 1.0,
                keypoints,
            }],
            ..Default::default()
        };
        let body = AvatarState::from_meta(&meta, 400, 500).body.unwrap();
        assert_eq!(body.shoulders, [Some([0.75, 0.8]), Some([0.25, 0.8])]);
        assert_eq!(body.elbows, [None, None]);
    }

    #[test]
    fn smoothing_moves_part_way() {
        let mut s = AvatarState::default();
        let t = AvatarState {
            yaw: 10.0,
            jaw_open: 1.0,
            ..AvatarState::default()
        };
        s.smooth_towards(&t, 0.5);
        assert_eq!((s.yaw, s.jaw_open), (5.0, 0.5));
        s.smooth_towards(&t, 0.0);
        assert_eq!(s.yaw, 10.0);
    }

    #[test]
    fn the_rig_follows_the_face_and_rests_without_a_body() {
        let mut f = face(Rect::new(100.0, 50.0, 300.0, 290.0));
        f.pose = Some(HeadPose {
            yaw: 30.0,
            pitch: 0.0,
            roll: 0.0,
            translation: [200.0, 170.0, 50.0],
        });
        let meta = FrameMeta {
            faces: vec![f],
            ..FrameMeta::default()
        };
        let s = AvatarState::from_meta(&meta, 400, 400);
        let head = s.rig.rotation(HumanBone::Neck) * s.rig.rotation(HumanBone::Head);
        assert!(((head * glam::Vec3::Z).x - 0.5).abs() < 1e-4);
        // No body: the arms rest as in the default state (never the T-pose).
        let rest = AvatarState::default().rig;
        assert_eq!(
            s.rig.rotation(HumanBone::LeftUpperArm),
            rest.rotation(HumanBone::LeftUpperArm)
        );
        assert!(
            rest.rotation(HumanBone::LeftUpperArm)
                .angle_between(glam::Quat::IDENTITY)
                > 1.0
        );
    }

    #[test]
    fn smoothing_turns_bones_part_way_and_eases_expressions() {
        let mut s = AvatarState::default();
        let mut t = AvatarState::default();
        let turned = glam::Quat::from_rotation_y(40f32.to_radians());
        t.rig.bones.insert(HumanBone::Head, turned);
        t.expressions.insert("cheekPuff".into(), 1.0);
        s.smooth_towards(&t, 0.5);
        let half = s
            .rig
            .rotation(HumanBone::Head)
            .angle_between(glam::Quat::IDENTITY);
        assert!(
            (half.to_degrees() - 20.0).abs() < 1e-3,
            "{}",
            half.to_degrees()
        );
        assert_eq!(s.expression("cheekPuff"), 0.5);
        s.smooth_towards(&t, 0.0);
        assert!(s.rig.rotation(HumanBone::Head).abs_diff_eq(turned, 1e-6));
        // Following a body keeps the head.
        let mut body = AvatarState::default();
        body.rig
            .bones
            .insert(HumanBone::LeftUpperArm, glam::Quat::IDENTITY);
        s.follow_body(&body);
        assert!(s.rig.rotation(HumanBone::Head).abs_diff_eq(turned, 1e-6));
        assert_eq!(
            s.rig.rotation(HumanBone::LeftUpperArm),
            glam::Quat::IDENTITY
        );
    }
}
