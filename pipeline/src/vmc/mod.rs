//! The VMC protocol (Virtual Motion Capture, OSC over UDP) as VSeeFace, VNyan, Warudo and other
//! VTuber apps receive it: the rig and expression values from doppel's tracking, every frame. The
//! UDP sink is [`crate::sink::vmc::VmcSink`]; what it sends is [`frame_messages`] of the frame's
//! [`AvatarState`] (the same state and rig the avatar renderer uses).
//!
//! Messages per frame (VMC protocol v2.x, "performer" side, <https://protocol.vmc.info>):
//! - `/VMC/Ext/Root/Pos` `"root"` px py pz qx qy qz qw: the avatar root, at the origin with no
//!   rotation (doppel tracks the upper body, not where the person stands);
//! - `/VMC/Ext/Bone/Pos` name px py pz qx qy qz qw, for every bone the rig drives
//!   ([`crate::rig::solve::driven_bones`]: Hips, Spine, Chest, Neck, Head, LeftEye/RightEye,
//!   shoulders, upper/lower arms, hands and the 30 finger bones) by Unity `HumanBodyBones` name:
//!   the bone's local rotation and its local position in the rest skeleton of
//!   [`crate::rig::skeleton`]
//!   (the spec's local transform; see there why fixed positions are sent). Sent whether or not a
//!   face or body is seen: without a body the arms rest at the sides;
//! - `/VMC/Ext/Blend/Val` name value: while a face is tracked, the 52 ARKit values (those the
//!   tracker gave, plus the ones `AvatarState` derives: blinks, gaze, jaw, smile, stretch, brows),
//!   then every VRM preset from the one shared table [`crate::rig::expressions`] under its VRM 0.x
//!   name (`A`, `Blink_L`, `Joy`, `Sorrow`, `LookUp`, …) and its VRM 1.0 name (`aa`, `blinkLeft`,
//!   `happy`, `sad`, `lookUp`, …); then `/VMC/Ext/Blend/Apply`;
//! - `/VMC/Ext/OK` loaded calibration_state calibration_mode tracking (v2.7's four ints):
//!   loaded = 1 (doppel always has its rig), calibration state from the face tracker's neutral-face
//!   calibration in the frame meta ([`calibration_state`]: 0 uncalibrated = typical neutral face
//!   or no tracker, 2 calibrating, 3 calibrated = the person's own), calibration mode 0 = normal, tracking = 1 when a face was tracked this frame, else 0; and
//!   `/VMC/Ext/T` time in seconds (the frame's timestamp).
//!
//! Coordinates are Unity's (left-handed: x right, y up, z forward; an avatar faces +z towards the
//! camera). The rig is glTF's right-handed space with the avatar's left at +x, so x is mirrored:
//! position (x, y, z) -> (-x, y, z), rotation (x, y, z, w) -> (x, -y, -z, w) ([`to_unity`]). Sides
//! stay the person's: turning to one's left turns the avatar to its left; VTuber apps mirror on
//! their side when asked to.

pub mod osc;

use glam::Quat;

use crate::avatar::AvatarState;
use crate::frame::Frame;
use crate::meta::Calibration;
use crate::rig::{ARKIT_NAMES, PRESETS};
use osc::{Arg, Message};

/// The port VMC receivers listen on by default.
pub const DEFAULT_PORT: u16 = 39539;

/// A position and rotation `(x, y, z, w)` from the rig's right-handed glTF space to Unity's
/// left-handed one (x mirrored).
pub fn to_unity(position: [f32; 3], rotation: Quat) -> ([f32; 3], [f32; 4]) {
    let q = rotation.normalize();
    (
        [-position[0], position[1], position[2]],
        [q.x, -q.y, -q.z, q.w],
    )
}

/// The blend values of a tracked `state`: its ARKit values under their ARKit names, then each VRM
/// preset (but `Neutral`) under its VRM 0.x and its VRM 1.0 name, each 0..1.
pub fn blend_values(state: &AvatarState) -> Vec<(&'static str, f32)> {
    let arkit = state.arkit();
    let value = |name: &str| arkit.get(name).copied().unwrap_or(0.0).clamp(0.0, 1.0);
    let mut out: Vec<(&'static str, f32)> = ARKIT_NAMES
        .iter()
        .filter(|n| arkit.contains_key(**n))
        .map(|n| (*n, value(n)))
        .collect();
    for p in PRESETS.iter().filter(|p| !p.sources.is_empty()) {
        let v = p.value(value);
        out.push((p.vrm0, v));
        out.push((p.vrm1, v));
    }
    out
}

fn transform(address: &str, name: &str, position: [f32; 3], rotation: [f32; 4]) -> Message {
    let mut args = vec![Arg::Str(name.to_string())];
    args.extend(
        position
            .iter()
            .chain(rotation.iter())
            .map(|v| Arg::Float(*v)),
    );
    Message::new(address, args)
}

/// VMC's calibration state (0 uncalibrated, 1 waiting, 2 calibrating, 3 calibrated) for the face
/// tracker's calibration.
pub fn calibration_state(calibration: Option<Calibration>) -> i32 {
    match calibration {
        None | Some(Calibration::Typical) => 0,
        Some(Calibration::Calibrating) => 2,
        Some(Calibration::Personal) => 3,
    }
}

/// The messages of one frame, in the order listed in the module notes.
pub fn frame_messages(
    state: &AvatarState,
    calibration: Option<Calibration>,
    seconds: f64,
) -> Vec<Message> {
    let mut out = vec![transform(
        "/VMC/Ext/Root/Pos",
        "root",
        [0.0; 3],
        [0.0, 0.0, 0.0, 1.0],
    )];
    for bone in crate::rig::solve::driven_bones() {
        let Some(position) = crate::rig::skeleton::local_position(bone) else {
            continue;
        };
        let (p, q) = to_unity(position, state.rig.rotation(bone));
        out.push(transform("/VMC/Ext/Bone/Pos", bone.unity_name(), p, q));
    }
    if state.tracked {
        for (name, v) in blend_values(state) {
            out.push(Message::new(
                "/VMC/Ext/Blend/Val",
                vec![Arg::Str(name.to_string()), Arg::Float(v)],
            ));
        }
        out.push(Message::new("/VMC/Ext/Blend/Apply", Vec::new()));
    }
    out.push(Message::new(
        "/VMC/Ext/OK",
        vec![
            Arg::Int(1),
            Arg::Int(calibration_state(calibration)),
            Arg::Int(0),
            Arg::Int(i32::from(state.tracked)),
        ],
    ));
    out.push(Message::new("/VMC/Ext/T", vec![Arg::Float(seconds as f32)]));
    out
}

/// The messages of one frame from its meta (see [`AvatarState::from_meta`]).
pub fn messages_for(frame: &Frame) -> Vec<Message> {
    let state = AvatarState::from_meta(&frame.meta, frame.width(), frame.height());
    frame_messages(&state, frame.meta.calibration, frame.pts.seconds())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rig::HumanBone;

    #[test]
    fn x_is_mirrored_into_unity_space() {
        // A turn about +y of 30° in glTF (the nose to the avatar's left, +x) is -30° about +y in
        // Unity (the nose to the avatar's left, -x).
        let (p, q) = to_unity([0.1, 0.2, 0.3], Quat::from_rotation_y(30f32.to_radians()));
        assert_eq!(p, [-0.1, 0.2, 0.3]);
        let h = 15f32.to_radians();
        let want = [0.0, -h.sin(), 0.0, h.cos()];
        for (g, w) in q.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{q:?}");
        }
    }

    #[test]
    fn presets_go_out_under_both_vrm_names() {
        let mut s = AvatarState {
            tracked: true,
            smile: [0.2, 0.6],
            ..AvatarState::default()
        };
        s.expressions.insert("mouthFrownLeft".into(), 0.5);
        s.expressions.insert("mouthFrownRight".into(), 0.7);
        let v: std::collections::BTreeMap<_, _> = blend_values(&s).into_iter().collect();
        assert!((v["Joy"] - 0.4).abs() < 1e-6 && (v["happy"] - 0.4).abs() < 1e-6);
        assert!((v["Sorrow"] - 0.6).abs() < 1e-6 && (v["sad"] - 0.6).abs() < 1e-6);
        assert!(!v.contains_key("Neutral"));
        let msgs = frame_messages(&s, None, 0.0);
        let bones = msgs
            .iter()
            .filter(|m| m.address == "/VMC/Ext/Bone/Pos")
            .count();
        assert_eq!(bones, crate::rig::solve::driven_bones().count());
        assert!(HumanBone::ALL.len() > bones);
    }
}
