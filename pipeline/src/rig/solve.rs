//! The rig from tracking: head and neck from the head pose, a little spine/chest lean from the
//! shoulder line, the eyes from the gaze, shoulders, arms and hands from the body keypoints and the
//! hands' landmarks, the fingers from the hands. One function, [`solve`], called by
//! `AvatarState::from_meta`; [`resting`] is the rig with no body seen (arms at the sides, never a
//! T-pose).
//!
//! Tracking space -> rig space: frame pixels are x right, y down, z away from the camera; the rig
//! (see the module notes of [`crate::rig`]) is x = the avatar's left, y up, z towards the camera.
//! The person faces the camera, so their left is the image's right: `(x, y, z) -> (x, -y, -z)`, a
//! half turn about x (no mirror).
//!
//! Limbs are solved as chains of directions: each bone turns its rest direction (T-pose: arms along
//! ±x, fingers along the hand) onto the measured one by the shortest arc, taken in its parent's
//! frame so that the parent's twist carries down the chain.

use glam::{Mat3, Quat, Vec3};

use super::{HumanBone, Rig};
use crate::meta::{Body, Hand, Handedness};

/// Visibility a body keypoint needs before an arm follows it (the same bar the avatar's 2D body
/// uses).
pub const MIN_VISIBILITY: f32 = 0.5;

/// How far the resting arms hang below the T-pose (degrees).
pub const REST_ARM_DOWN: f32 = 72.0;
/// How far the resting elbows bend forwards (degrees).
pub const REST_ELBOW_BEND: f32 = 15.0;

/// Share of the head's rotation the neck takes (the head the rest).
const NECK_SHARE: f32 = 0.4;
/// Eye bone rotation at a gaze of 1 (ARKit `eyeLook*` = 1): horizontal, vertical (degrees).
const EYE_RANGE: [f32; 2] = [25.0, 20.0];
/// The spine and chest lean with the shoulder line, each taking this share of its tilt and turn,
/// clamped to `LEAN_LIMIT` degrees in all.
const LEAN_SHARE: f32 = 0.35;
const LEAN_LIMIT: [f32; 2] = [15.0, 25.0];

/// What the solver reads from one frame.
#[derive(Clone, Copy, Debug, Default)]
pub struct RigInput<'a> {
    /// Head `[yaw, pitch, roll]` in degrees with [`crate::meta::HeadPose`]'s conventions, when a
    /// face was tracked.
    pub head: Option<[f32; 3]>,
    /// Gaze: x > 0 looks towards the image's right, y > 0 up; each -1..1.
    pub gaze: [f32; 2],
    /// The body, when one was tracked (33 BlazePose keypoints).
    pub body: Option<&'a Body>,
    /// The hands (at most one of each side is used: the first).
    pub hands: &'a [Hand],
}

/// The bones the solver always sets (identity where nothing drives them this frame): the upper
/// body, the eyes, the arms, the hands and all 30 finger bones.
pub fn driven_bones() -> impl Iterator<Item = HumanBone> {
    HumanBone::ALL.into_iter().filter(|b| {
        !matches!(
            b,
            HumanBone::UpperChest
                | HumanBone::Jaw
                | HumanBone::LeftUpperLeg
                | HumanBone::LeftLowerLeg
                | HumanBone::LeftFoot
                | HumanBone::RightUpperLeg
                | HumanBone::RightLowerLeg
                | HumanBone::RightFoot
        )
    })
}

/// The person's side, as the rig's bones and the tracker's keypoints name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Left,
    Right,
}

impl Side {
    /// +1 for the left (the rig's +x), -1 for the right.
    fn sign(self) -> f32 {
        match self {
            Side::Left => 1.0,
            Side::Right => -1.0,
        }
    }

    /// BlazePose indices of the shoulder, elbow and wrist.
    fn arm_keypoints(self) -> [usize; 3] {
        match self {
            Side::Left => [11, 13, 15],
            Side::Right => [12, 14, 16],
        }
    }

    /// Shoulder, upper arm, lower arm, hand.
    fn arm_bones(self) -> [HumanBone; 4] {
        use HumanBone::*;
        match self {
            Side::Left => [LeftShoulder, LeftUpperArm, LeftLowerArm, LeftHand],
            Side::Right => [RightShoulder, RightUpperArm, RightLowerArm, RightHand],
        }
    }

    /// The finger bones, thumb to little finger, each proximal, intermediate, distal.
    fn finger_bones(self) -> [[HumanBone; 3]; 5] {
        use HumanBone::*;
        match self {
            Side::Left => [
                [LeftThumbProximal, LeftThumbIntermediate, LeftThumbDistal],
                [LeftIndexProximal, LeftIndexIntermediate, LeftIndexDistal],
                [LeftMiddleProximal, LeftMiddleIntermediate, LeftMiddleDistal],
                [LeftRingProximal, LeftRingIntermediate, LeftRingDistal],
                [LeftLittleProximal, LeftLittleIntermediate, LeftLittleDistal],
            ],
            Side::Right => [
                [RightThumbProximal, RightThumbIntermediate, RightThumbDistal],
                [RightIndexProximal, RightIndexIntermediate, RightIndexDistal],
                [
                    RightMiddleProximal,
                    RightMiddleIntermediate,
                    RightMiddleDistal,
                ],
                [RightRingProximal, RightRingIntermediate, RightRingDistal],
                [
                    RightLittleProximal,
                    RightLittleIntermediate,
                    RightLittleDistal,
                ],
            ],
        }
    }

    /// The arm's (and fingers') direction in the T-pose.
    fn rest_dir(self) -> Vec3 {
        Vec3::X * self.sign()
    }

    /// The thumb's direction in the T-pose: half way between along the hand and forwards, as
    /// humanoid rigs model it.
    fn thumb_rest_dir(self) -> Vec3 {
        Vec3::new(self.sign(), 0.0, 1.0).normalize()
    }
}

/// MediaPipe hand landmark chains: thumb (CMC, MCP, IP, tip), then index, middle, ring and little
/// finger (MCP, PIP, DIP, tip). Unity's thumb proximal bone is the CMC -> MCP segment.
const FINGER_CHAINS: [[usize; 4]; 5] = [
    [1, 2, 3, 4],
    [5, 6, 7, 8],
    [9, 10, 11, 12],
    [13, 14, 15, 16],
    [17, 18, 19, 20],
];

/// Tracking space (x right, y down, z away) -> rig space (see the module notes).
fn to_rig(x: f32, y: f32, z: f32) -> Vec3 {
    Vec3::new(x, -y, -z)
}

/// The rig with nothing tracked: arms hanging at the sides, elbows slightly bent, everything else
/// at rest.
pub fn resting() -> Rig {
    // Only the arms: a bone left out is at rest (identity) for every consumer, and a renderer can
    // tell "no head in the rig" (a state built by hand from yaw/pitch/roll) from "head straight".
    let mut rig = Rig::default();
    for side in [Side::Left, Side::Right] {
        rest_arm(&mut rig, side);
    }
    rig
}

/// The resting upper arm (down from the T-pose about z) and lower arm (bent forwards about the
/// upper arm's y).
fn rest_arm(rig: &mut Rig, side: Side) {
    let [_, upper, lower, _] = side.arm_bones();
    let s = side.sign();
    rig.bones.insert(
        upper,
        Quat::from_rotation_z(-s * REST_ARM_DOWN.to_radians()),
    );
    rig.bones.insert(
        lower,
        Quat::from_rotation_y(-s * REST_ELBOW_BEND.to_radians()),
    );
}

/// The rig for one frame (see the module notes).
pub fn solve(input: &RigInput) -> Rig {
    let mut rig = resting();
    let chest = input.body.map_or(Quat::IDENTITY, |b| lean(&mut rig, b));
    if let Some([yaw, pitch, roll]) = input.head {
        // The head's rotation relative to the camera, split between the neck and the head, both
        // relative to the leaning chest.
        let global = head_rotation(yaw, pitch, roll);
        let local = chest.inverse() * global;
        let neck = Quat::IDENTITY.slerp(local, NECK_SHARE);
        rig.bones.insert(HumanBone::Neck, neck);
        rig.bones.insert(HumanBone::Head, neck.inverse() * local);
        let [gx, gy] = input.gaze.map(|g| g.clamp(-1.0, 1.0));
        // Looking towards the image's right (the avatar's +x) turns +z towards +x: about +y.
        // Looking up turns +z towards +y: a negative turn about +x.
        let eye = Quat::from_rotation_y(gx * EYE_RANGE[0].to_radians())
            * Quat::from_rotation_x(-gy * EYE_RANGE[1].to_radians());
        rig.bones.insert(HumanBone::LeftEye, eye);
        rig.bones.insert(HumanBone::RightEye, eye);
    }
    for side in [Side::Left, Side::Right] {
        let lower_global = match input.body.and_then(|b| arm_points(b, side)) {
            Some(points) => solve_arm(&mut rig, side, chest, points),
            None => {
                let [_, upper, lower, _] = side.arm_bones();
                chest * rig.rotation(upper) * rig.rotation(lower)
            }
        };
        let hand = input.hands.iter().find(|h| {
            matches!(
                (h.handedness, side),
                (Handedness::Left, Side::Left) | (Handedness::Right, Side::Right)
            )
        });
        if let Some(hand) = hand {
            solve_hand(&mut rig, side, lower_global, hand);
        }
    }
    rig
}

/// The head's rotation in the rig's space from [`crate::meta::HeadPose`] angles (degrees):
/// - yaw > 0 (nose to the image's right, the avatar's +x) is a turn about +y;
/// - pitch > 0 (nose up) a negative turn about +x;
/// - roll > 0 (clockwise on screen: the top of the head towards the image's right, +x) a
///   negative turn about +z.
///
/// Roll first, then pitch, then yaw.
pub fn head_rotation(yaw: f32, pitch: f32, roll: f32) -> Quat {
    Quat::from_rotation_y(yaw.to_radians())
        * Quat::from_rotation_x(-pitch.to_radians())
        * Quat::from_rotation_z(-roll.to_radians())
}

/// The spine and chest lean with the shoulder line (tilt and turn, a share of each); returns the
/// chest's global rotation.
fn lean(rig: &mut Rig, body: &Body) -> Quat {
    let (Some(left), Some(right)) = (keypoint(body, 11), keypoint(body, 12)) else {
        return Quat::IDENTITY;
    };
    let d = left - right;
    if d.length() < 1e-3 {
        return Quat::IDENTITY;
    }
    // The left shoulder higher (+y) tilts the chest about +z; further from the camera (-z) turns
    // it about +y.
    let tilt = (LEAN_SHARE * d.y.atan2(d.x).to_degrees()).clamp(-LEAN_LIMIT[0], LEAN_LIMIT[0]);
    let turn = (LEAN_SHARE * (-d.z).atan2(d.x).to_degrees()).clamp(-LEAN_LIMIT[1], LEAN_LIMIT[1]);
    let half = Quat::from_rotation_y(0.5 * turn.to_radians())
        * Quat::from_rotation_z(0.5 * tilt.to_radians());
    rig.bones.insert(HumanBone::Spine, half);
    rig.bones.insert(HumanBone::Chest, half);
    half * half
}

/// Keypoint `i` in rig space when the pose model saw it.
fn keypoint(body: &Body, i: usize) -> Option<Vec3> {
    body.keypoints
        .get(i)
        .filter(|k| {
            k.visibility >= MIN_VISIBILITY && k.x.is_finite() && k.y.is_finite() && k.z.is_finite()
        })
        .map(|k| to_rig(k.x, k.y, k.z))
}

/// Shoulder, elbow and (when seen) wrist of one arm; `None` unless the shoulder and elbow were seen.
fn arm_points(body: &Body, side: Side) -> Option<(Vec3, Vec3, Option<Vec3>)> {
    let [s, e, w] = side.arm_keypoints();
    Some((keypoint(body, s)?, keypoint(body, e)?, keypoint(body, w)))
}

/// The upper arm (and the lower arm when the wrist was seen) from the keypoints; returns the
/// lower arm's global rotation.
fn solve_arm(rig: &mut Rig, side: Side, chest: Quat, points: (Vec3, Vec3, Option<Vec3>)) -> Quat {
    let [_, upper, lower, _] = side.arm_bones();
    let (shoulder, elbow, wrist) = points;
    let Some(d_upper) = direction(shoulder, elbow) else {
        return chest * rig.rotation(upper) * rig.rotation(lower);
    };
    let mut dirs = vec![d_upper];
    if let Some(d) = wrist.and_then(|w| direction(elbow, w)) {
        dirs.push(d);
    }
    let locals = chain(chest, side.rest_dir(), &dirs);
    rig.bones.insert(upper, locals[0]);
    if let Some(l) = locals.get(1) {
        rig.bones.insert(lower, *l);
    }
    chest * rig.rotation(upper) * rig.rotation(lower)
}

/// The unit direction from `a` to `b`; `None` when they coincide.
fn direction(a: Vec3, b: Vec3) -> Option<Vec3> {
    (b - a).try_normalize()
}

/// Local rotations of a chain of bones whose parent's global rotation is `parent`: bone `i` turns
/// the rest direction `rest` onto `dirs[i]` (global, unit). The first bone takes the shortest arc
/// in the parent's frame; each next one the shortest arc from its parent's direction, so the
/// chain's twist follows the parent's.
fn chain(parent: Quat, rest: Vec3, dirs: &[Vec3]) -> Vec<Quat> {
    let mut out = Vec::with_capacity(dirs.len());
    let Some(first) = dirs.first() else {
        return out;
    };
    let local = Quat::from_rotation_arc(rest, (parent.inverse() * *first).normalize());
    out.push(local);
    let mut global = parent * local;
    for pair in dirs.windows(2) {
        let next = Quat::from_rotation_arc(pair[0], pair[1]) * global;
        out.push((global.inverse() * next).normalize());
        global = next;
    }
    out
}

/// The hand (wrist rotation relative to the lower arm) and its 15 finger bones.
fn solve_hand(rig: &mut Rig, side: Side, lower_global: Quat, hand: &Hand) {
    // World points (metres) where the tracker gave them, else the image landmarks.
    let points: Vec<Vec3> = if hand.world.len() >= 21 {
        hand.world
            .iter()
            .map(|p| to_rig(p[0], p[1], p[2]))
            .collect()
    } else if hand.landmarks.len() >= 21 {
        hand.landmarks
            .iter()
            .map(|p| to_rig(p[0], p[1], p[2]))
            .collect()
    } else {
        return;
    };
    if points.iter().any(|p| !p.is_finite()) {
        return;
    }
    let Some(global) = hand_rotation(side, &points) else {
        return;
    };
    let [_, _, _, hand_bone] = side.arm_bones();
    rig.bones
        .insert(hand_bone, (lower_global.inverse() * global).normalize());
    for (f, (bones, joints)) in side.finger_bones().iter().zip(FINGER_CHAINS).enumerate() {
        let dirs: Option<Vec<Vec3>> = joints
            .windows(2)
            .map(|j| direction(points[j[0]], points[j[1]]))
            .collect();
        let Some(dirs) = dirs else {
            continue;
        };
        let rest = if f == 0 {
            side.thumb_rest_dir()
        } else {
            side.rest_dir()
        };
        for (bone, local) in bones.iter().zip(chain(global, rest, &dirs)) {
            rig.bones.insert(*bone, local);
        }
    }
}

/// The hand's global rotation: the T-pose hand (fingers along ±x, palm down, thumb side towards
/// +z) turned onto the measured one (wrist -> middle-finger knuckle along, little-finger knuckle
/// -> index knuckle across). `None` for a degenerate hand.
fn hand_rotation(side: Side, p: &[Vec3]) -> Option<Quat> {
    let frame = |along: Vec3, across: Vec3| -> Option<Mat3> {
        let a = along.try_normalize()?;
        let c = (across - a * across.dot(a)).try_normalize()?;
        Some(Mat3::from_cols(a, c.cross(a), c))
    };
    let measured = frame(p[9] - p[0], p[5] - p[17])?;
    let rest = frame(side.rest_dir(), Vec3::Z)?;
    Some(Quat::from_mat3(&(measured * rest.transpose())).normalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{BodyKeypoint, Rect, Roi};

    fn angle(q: Quat) -> f32 {
        q.normalize().angle_between(Quat::IDENTITY).to_degrees()
    }

    /// A body facing the camera with shoulders at y = 300 (x 400 / 200 for the person's left /
    /// right: the left is the image's right), and the given elbows and wrists (pixels).
    fn body(elbows: [[f32; 2]; 2], wrists: [[f32; 2]; 2]) -> Body {
        let mut keypoints = vec![BodyKeypoint::default(); 33];
        let mut set = |i: usize, x: f32, y: f32| {
            keypoints[i] = BodyKeypoint {
                x,
                y,
                z: 0.0,
                visibility: 0.95,
            }
        };
        set(11, 400.0, 300.0);
        set(12, 200.0, 300.0);
        set(13, elbows[0][0], elbows[0][1]);
        set(14, elbows[1][0], elbows[1][1]);
        set(15, wrists[0][0], wrists[0][1]);
        set(16, wrists[1][0], wrists[1][1]);
        Body {
            rect: Rect::default(),
            score: 1.0,
            keypoints,
        }
    }

    fn solve_body(b: &Body) -> Rig {
        solve(&RigInput {
            body: Some(b),
            ..RigInput::default()
        })
    }

    /// The global direction of a bone's rest axis (±x), through its parents from the chest.
    fn arm_dirs(rig: &Rig, side: Side) -> (Vec3, Vec3) {
        let [_, upper, lower, _] = side.arm_bones();
        let chest = rig.rotation(HumanBone::Spine) * rig.rotation(HumanBone::Chest);
        let g1 = chest * rig.rotation(upper);
        let g2 = g1 * rig.rotation(lower);
        (g1 * side.rest_dir(), g2 * side.rest_dir())
    }

    #[test]
    fn arms_raised_sideways_are_the_t_pose() {
        let b = body(
            [[550.0, 300.0], [50.0, 300.0]],
            [[700.0, 300.0], [-100.0, 300.0]],
        );
        let rig = solve_body(&b);
        for bone in [
            HumanBone::LeftUpperArm,
            HumanBone::LeftLowerArm,
            HumanBone::RightUpperArm,
            HumanBone::RightLowerArm,
        ] {
            assert!(angle(rig.rotation(bone)) < 1.0, "{bone:?}");
        }
    }

    #[test]
    fn arms_down_turn_down_and_the_elbow_bend_is_the_lower_arm_angle() {
        // Left arm straight down; right upper arm down with the forearm bent 90° towards the
        // image's left (the person's right, the rig's -x).
        let b = body(
            [[400.0, 450.0], [200.0, 450.0]],
            [[400.0, 600.0], [50.0, 450.0]],
        );
        let rig = solve_body(&b);
        let (up_l, low_l) = arm_dirs(&rig, Side::Left);
        assert!(up_l.abs_diff_eq(-Vec3::Y, 1e-4), "{up_l}");
        assert!(low_l.abs_diff_eq(-Vec3::Y, 1e-4), "{low_l}");
        assert!((angle(rig.rotation(HumanBone::LeftUpperArm)) - 90.0).abs() < 0.5);
        assert!(angle(rig.rotation(HumanBone::LeftLowerArm)) < 0.5);
        let (up_r, low_r) = arm_dirs(&rig, Side::Right);
        assert!(up_r.abs_diff_eq(-Vec3::Y, 1e-4), "{up_r}");
        assert!(low_r.abs_diff_eq(-Vec3::X, 1e-4), "{low_r}");
        assert!((angle(rig.rotation(HumanBone::RightLowerArm)) - 90.0).abs() < 0.5);
    }

    #[test]
    fn unseen_arms_and_no_body_rest_at_the_sides() {
        let rest = resting();
        assert_eq!(solve(&RigInput::default()), rest);
        for side in [Side::Left, Side::Right] {
            let (up, low) = arm_dirs(&rest, side);
            // 72° below the T-pose, towards the body's side, not up and not straight down.
            let down = up.dot(-Vec3::Y).asin().to_degrees();
            assert!((down - REST_ARM_DOWN).abs() < 0.5, "{side:?} {down}");
            assert!(up.x * side.sign() > 0.0);
            assert!(low.z > 0.1, "elbow bends forwards: {low}");
        }
        // A body whose left elbow was not seen: that arm rests, the other follows.
        let mut b = body(
            [[550.0, 300.0], [50.0, 300.0]],
            [[700.0, 300.0], [-100.0, 300.0]],
        );
        b.keypoints[13].visibility = 0.1;
        let rig = solve_body(&b);
        assert_eq!(
            rig.rotation(HumanBone::LeftUpperArm),
            rest.rotation(HumanBone::LeftUpperArm)
        );
        assert!(angle(rig.rotation(HumanBone::RightUpperArm)) < 1.0);
    }

    #[test]
    fn head_splits_between_neck_and_head_and_eyes_follow_the_gaze() {
        let rig = solve(&RigInput {
            head: Some([30.0, 0.0, 0.0]),
            gaze: [1.0, 0.0],
            ..RigInput::default()
        });
        let total = rig.rotation(HumanBone::Neck) * rig.rotation(HumanBone::Head);
        let nose = total * Vec3::Z;
        // Turned to the image's right (+x), 30°.
        assert!((nose.x - 0.5).abs() < 1e-4 && nose.z > 0.86, "{nose}");
        assert!((angle(rig.rotation(HumanBone::Neck)) - 12.0).abs() < 0.1);
        let look = rig.rotation(HumanBone::LeftEye) * Vec3::Z;
        assert!(look.x > 0.4, "{look}");
        // Nose up, head tilted clockwise on screen (top towards +x).
        let rig = solve(&RigInput {
            head: Some([0.0, 20.0, 10.0]),
            ..RigInput::default()
        });
        let total = rig.rotation(HumanBone::Neck) * rig.rotation(HumanBone::Head);
        assert!((total * Vec3::Z).y > 0.3);
        assert!((total * Vec3::Y).x > 0.15);
    }

    #[test]
    fn shoulder_tilt_leans_the_spine_a_little() {
        let mut b = body(
            [[550.0, 300.0], [50.0, 300.0]],
            [[700.0, 300.0], [-100.0, 300.0]],
        );
        // The left shoulder (image right) 40 px higher than the right over 200 px: 11.3°.
        b.keypoints[11].y -= 40.0;
        let rig = solve_body(&b);
        let chest = rig.rotation(HumanBone::Spine) * rig.rotation(HumanBone::Chest);
        let tilt = (chest * Vec3::X).y.asin().to_degrees();
        assert!((tilt - LEAN_SHARE * 11.31).abs() < 0.2, "{tilt}");
    }

    /// A left or right hand in world points (x right, y down, z away, metres) with the palm
    /// towards the camera, fingers up, each finger's joints bent by `curl` degrees (0 = open).
    fn hand(handedness: Handedness, curl: f32) -> Hand {
        // The person's left hand, palm to the camera: the thumb is on the image's left (-x).
        let s = if handedness == Handedness::Left {
            -1.0
        } else {
            1.0
        };
        let mut world = vec![[0.0f32; 3]; 21];
        let bases = [
            [s * 0.03, -0.02],
            [s * 0.025, -0.09],
            [0.0, -0.095],
            [-s * 0.022, -0.09],
            [-s * 0.04, -0.08],
        ];
        for (f, chain) in FINGER_CHAINS.iter().enumerate() {
            let [bx, by] = bases[f];
            world[chain[0]] = [bx, by, 0.0];
            // Each segment turns by `curl` more than the one before, towards the palm's side (-z,
            // the camera); the thumb points out sideways and up.
            let mut dir = if f == 0 {
                Vec3::new(s * 0.7, -0.7, 0.0).normalize()
            } else {
                -Vec3::Y
            };
            let axis = dir.cross(Vec3::Z).normalize();
            let mut at = Vec3::new(bx, by, 0.0);
            for j in &chain[1..] {
                dir = Quat::from_axis_angle(axis, -curl.to_radians()) * dir;
                at += dir * 0.03;
                world[*j] = at.to_array();
            }
        }
        Hand {
            rect: Rect::default(),
            score: 1.0,
            handedness,
            handedness_score: 1.0,
            landmarks: Vec::new(),
            world,
            roi: Roi::default(),
        }
    }

    fn finger_curl(rig: &Rig, side: Side) -> f32 {
        side.finger_bones()[1..]
            .iter()
            .flatten()
            .map(|b| angle(rig.rotation(*b)))
            .sum::<f32>()
            / 4.0
    }

    #[test]
    fn open_hands_are_flat_and_fists_curl_the_fingers() {
        for (h, side) in [
            (Handedness::Left, Side::Left),
            (Handedness::Right, Side::Right),
        ] {
            let open = solve(&RigInput {
                hands: &[hand(h, 0.0)],
                ..RigInput::default()
            });
            let fist = solve(&RigInput {
                hands: &[hand(h, 80.0)],
                ..RigInput::default()
            });
            let open_curl = finger_curl(&open, side);
            let fist_curl = finger_curl(&fist, side);
            assert!(open_curl < 3.0, "{side:?} open {open_curl}");
            assert!(fist_curl > 150.0, "{side:?} fist {fist_curl}");
            // Fingers curl towards the palm: the index tip's direction ends up pointing back
            // against the fingers' rest direction.
            let [_, _, _, hand_bone] = side.arm_bones();
            assert!(angle(open.rotation(hand_bone)) > 10.0, "the hand is posed");
        }
    }

    #[test]
    fn a_hand_points_its_fingers_where_the_landmarks_do() {
        // Fingers up, palm to the camera; with the arm resting, the hand's global rotation turns
        // the fingers' rest direction (+x for the left) up.
        let rig = solve(&RigInput {
            hands: &[hand(Handedness::Left, 0.0)],
            ..RigInput::default()
        });
        let chest = Quat::IDENTITY;
        let g = chest
            * rig.rotation(HumanBone::LeftUpperArm)
            * rig.rotation(HumanBone::LeftLowerArm)
            * rig.rotation(HumanBone::LeftHand);
        let fingers = g * Vec3::X;
        assert!(fingers.y > 0.99, "{fingers}");
        // Palm towards the camera: the palm's normal (-y at rest) faces +z.
        let palm = g * -Vec3::Y;
        assert!(palm.z > 0.9, "{palm}");
    }
}
