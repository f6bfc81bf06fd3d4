//! The VMC protocol (Virtual Motion Capture, OSC over UDP) as VSeeFace, VNyan, Warudo and other
//! VTuber apps receive it: head pose and blendshape values from doppel's tracking, one bundle per
//! frame. The UDP sink is [`crate::sink::vmc::VmcSink`].
//!
//! Messages per frame (VMC protocol v2.x, "performer" side):
//! - `/VMC/Ext/Root/Pos` `"root"` px py pz qx qy qz qw — the avatar root, left at the origin with
//!   no rotation (doppel tracks the head, not where the body stands);
//! - `/VMC/Ext/Bone/Pos` `"Head"` px py pz qx qy qz qw — the head's local rotation (position 0) when
//!   a face is tracked and has a pose;
//! - `/VMC/Ext/Blend/Val` name value — every ARKit value the tracker produced, under its ARKit name,
//!   and the VRM 0.x presets derived from them ([`vrm_blendshapes`], the table shared with the
//!   avatar); then `/VMC/Ext/Blend/Apply`;
//! - `/VMC/Ext/OK` loaded=1 calibration_state=3 calibration_mode=0 tracking=1|0 and `/VMC/Ext/T` time
//!   in seconds (the frame's timestamp).
//!
//! Coordinates are Unity's (left-handed: x right, y up, z forward; an avatar faces +z towards the
//! camera). The head rotation is the person's, not a mirror image: turning to one's left turns the
//! avatar to its left. VTuber apps mirror on their side when asked to.

pub mod osc;

use std::collections::BTreeMap;

use crate::frame::Frame;
use crate::rig::PRESETS;
use crate::track::{Face, HeadPose};
use osc::{Arg, Message};

/// The port VMC receivers listen on by default.
pub const DEFAULT_PORT: u16 = 39539;

/// A rotation as a unit quaternion (x, y, z, w).
pub type Quat = [f32; 4];

fn axis_angle(axis: [f32; 3], degrees: f32) -> Quat {
    let half = degrees.to_radians() * 0.5;
    let (s, c) = half.sin_cos();
    [axis[0] * s, axis[1] * s, axis[2] * s, c]
}

/// The Hamilton product `a * b` (rotate by `b`, then by `a`).
pub fn quat_mul(a: Quat, b: Quat) -> Quat {
    let [ax, ay, az, aw] = a;
    let [bx, by, bz, bw] = b;
    [
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    ]
}

/// The head's rotation in Unity's frame from doppel's [`HeadPose`] (degrees, image conventions).
///
/// - yaw > 0 (nose towards the image's right = the person's left) turns the avatar to its left:
///   a negative rotation about +y (Unity's positive yaw turns +z towards +x, the avatar's right);
/// - pitch > 0 (nose up) is a negative rotation about +x (Unity's positive pitch looks down);
/// - roll > 0 (clockwise on the unmirrored image: the head leans towards the person's left
///   shoulder) is a positive rotation about +z (which lowers the avatar's left side, -x).
///
/// Composed as Unity composes Euler angles: roll first, then pitch, then yaw (`q = y * x * z`).
pub fn head_rotation(pose: &HeadPose) -> Quat {
    let qy = axis_angle([0.0, 1.0, 0.0], -pose.yaw);
    let qx = axis_angle([1.0, 0.0, 0.0], -pose.pitch);
    let qz = axis_angle([0.0, 0.0, 1.0], pose.roll);
    quat_mul(qy, quat_mul(qx, qz))
}

/// The VRM 0.x presets derived from ARKit-named values (the shared table in
/// [`crate::rig::expressions`]), each 0..1. A preset is sent only when the tracker produced at least
/// one of its sources.
pub fn vrm_blendshapes(arkit: &BTreeMap<String, f32>) -> Vec<(&'static str, f32)> {
    PRESETS
        .iter()
        .filter(|p| p.sources.iter().any(|(n, _)| arkit.contains_key(*n)))
        .map(|p| (p.vrm0, p.value(|n| arkit.get(n).copied().unwrap_or(0.0))))
        .collect()
}

fn bone(address: &str, name: &str, position: [f32; 3], rotation: Quat) -> Message {
    let mut args = vec![Arg::Str(name.to_string())];
    args.extend(
        position
            .iter()
            .chain(rotation.iter())
            .map(|v| Arg::Float(*v)),
    );
    Message::new(address, args)
}

/// The face VMC describes: the first one the tracker lists.
pub fn primary_face(frame: &Frame) -> Option<&Face> {
    frame.meta.faces.first()
}

/// The messages of one frame, in the order listed in the module notes.
pub fn frame_messages(frame: &Frame) -> Vec<Message> {
    let face = primary_face(frame);
    let mut out = vec![bone(
        "/VMC/Ext/Root/Pos",
        "root",
        [0.0; 3],
        [0.0, 0.0, 0.0, 1.0],
    )];
    if let Some(pose) = face.and_then(|f| f.pose.as_ref()) {
        out.push(bone(
            "/VMC/Ext/Bone/Pos",
            "Head",
            [0.0; 3],
            head_rotation(pose),
        ));
    }
    if let Some(face) = face {
        let blend = |name: &str, v: f32| {
            Message::new(
                "/VMC/Ext/Blend/Val",
                vec![Arg::Str(name.to_string()), Arg::Float(v)],
            )
        };
        for (name, v) in vrm_blendshapes(&face.expressions) {
            out.push(blend(name, v));
        }
        for (name, v) in &face.expressions {
            out.push(blend(name, v.clamp(0.0, 1.0)));
        }
        out.push(Message::new("/VMC/Ext/Blend/Apply", Vec::new()));
    }
    out.push(Message::new(
        "/VMC/Ext/OK",
        vec![
            Arg::Int(1),
            Arg::Int(3),
            Arg::Int(0),
            Arg::Int(i32::from(face.is_some())),
        ],
    ));
    out.push(Message::new(
        "/VMC/Ext/T",
        vec![Arg::Float(frame.pts.seconds() as f32)],
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rotate(q: Quat, v: [f32; 3]) -> [f32; 3] {
        let p = [v[0], v[1], v[2], 0.0];
        let conj = [-q[0], -q[1], -q[2], q[3]];
        let r = quat_mul(quat_mul(q, p), conj);
        [r[0], r[1], r[2]]
    }

    fn pose(yaw: f32, pitch: f32, roll: f32) -> HeadPose {
        HeadPose {
            yaw,
            pitch,
            roll,
            translation: [0.0; 3],
        }
    }

    #[test]
    fn head_turns_the_documented_way() {
        let forward = [0.0, 0.0, 1.0];
        // Turning to the person's left: the nose moves to -x (the avatar's left).
        let n = rotate(head_rotation(&pose(30.0, 0.0, 0.0)), forward);
        assert!(n[0] < -0.49 && n[0] > -0.51 && n[2] > 0.86, "{n:?}");
        // Nose up: +y.
        let n = rotate(head_rotation(&pose(0.0, 20.0, 0.0)), forward);
        assert!(n[1] > 0.34 && n[1] < 0.35, "{n:?}");
        // Lean towards the left shoulder: the avatar's right ear (+x) goes up.
        let e = rotate(head_rotation(&pose(0.0, 0.0, 10.0)), [1.0, 0.0, 0.0]);
        assert!(e[1] > 0.17 && e[1] < 0.18, "{e:?}");
        // Unit length.
        let q = head_rotation(&pose(12.0, -7.0, 33.0));
        let norm: f32 = q.iter().map(|v| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-5);
    }

    #[test]
    fn vrm_presets_average_their_sources() {
        let mut arkit = BTreeMap::new();
        arkit.insert("eyeBlinkLeft".to_string(), 0.9);
        arkit.insert("mouthSmileLeft".to_string(), 0.2);
        arkit.insert("mouthSmileRight".to_string(), 0.6);
        arkit.insert("jawOpen".to_string(), 1.4);
        let got = vrm_blendshapes(&arkit);
        assert_eq!(
            got,
            vec![("Blink", 0.45), ("Blink_L", 0.9), ("A", 1.0), ("Joy", 0.4)]
        );
    }
}
