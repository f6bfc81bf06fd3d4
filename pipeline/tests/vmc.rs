//! The VMC sink over real UDP: frames with a known head pose, expressions, body and hand are sent
//! to a receiver here, which decodes the datagrams with the `rosc` crate (an OSC implementation
//! independent of doppel's encoder) and checks the bones, names and values.

use std::collections::{BTreeMap, BTreeSet};
use std::net::UdpSocket;
use std::time::Duration;

use doppel_pipeline::meta::{Body, BodyKeypoint, Hand, Handedness};
use doppel_pipeline::rig::solve::driven_bones;
use doppel_pipeline::rig::{ARKIT_NAMES, PRESETS};
use doppel_pipeline::sink::vmc::{VmcSink, MAX_DATAGRAM};
use doppel_pipeline::sink::Sink;
use doppel_pipeline::track::{Face, HeadPose, Point, Rect, Roi};
use doppel_pipeline::{Frame, Rational, Timestamp};
use glam::{Quat, Vec3};
use rosc::{OscPacket, OscType};

/// One decoded message: address and arguments.
type Msg = (String, Vec<OscType>);

fn flatten(packet: OscPacket, out: &mut Vec<Msg>) {
    match packet {
        OscPacket::Message(m) => out.push((m.addr, m.args)),
        OscPacket::Bundle(b) => {
            for p in b.content {
                flatten(p, out);
            }
        }
    }
}

/// Sends `frame` through a `VmcSink` to a local socket and decodes every datagram of it (the
/// frame ends with `/VMC/Ext/T`).
fn send_and_receive(frame: &Frame) -> Vec<Msg> {
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    receiver
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut sink = VmcSink::open(&receiver.local_addr().unwrap().to_string()).unwrap();
    sink.write(frame).unwrap();
    assert_eq!(sink.finish().unwrap().frames, 1);
    let mut buf = vec![0u8; 65536];
    let mut out = Vec::new();
    let mut sizes = Vec::new();
    while out.last().map(|(a, _): &Msg| a.as_str()) != Some("/VMC/Ext/T") {
        let n = receiver.recv(&mut buf).expect("a datagram");
        assert!(n <= MAX_DATAGRAM, "datagram of {n} bytes");
        sizes.push(n);
        let (rest, packet) = rosc::decoder::decode_udp(&buf[..n]).expect("valid OSC");
        assert!(rest.is_empty());
        assert!(matches!(packet, OscPacket::Bundle(_)), "bundles only");
        flatten(packet, &mut out);
    }
    eprintln!("datagrams of {sizes:?} bytes");
    out
}

fn frame() -> Frame {
    Frame::new(
        45,
        Timestamp::new(45, Rational::new(1, 30)),
        image::RgbaImage::new(640, 480),
    )
}

fn face(pose: HeadPose, expressions: &[(&str, f32)]) -> Face {
    Face {
        rect: Rect::new(250.0, 100.0, 390.0, 260.0),
        score: 0.99,
        mesh: Vec::new(),
        keypoints: [Point::new(320.0, 180.0); 6],
        detection: None,
        roi: Roi::default(),
        pose: Some(pose),
        expressions: expressions
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect::<BTreeMap<_, _>>(),
    }
}

/// A body with both arms raised sideways (the T-pose): shoulders at y = 300, the person's left
/// (the image's right) at x = 400.
fn t_pose_body() -> Body {
    let mut keypoints = vec![BodyKeypoint::default(); 33];
    for (i, x) in [
        (11, 400.0),
        (12, 240.0),
        (13, 480.0),
        (14, 160.0),
        (15, 560.0),
        (16, 80.0),
    ] {
        keypoints[i] = BodyKeypoint {
            x,
            y: 300.0,
            z: 0.0,
            visibility: 0.9,
        };
    }
    Body {
        rect: Rect::default(),
        score: 1.0,
        keypoints,
    }
}

/// A left hand making a fist (world points, metres, x right, y down, z away): fingers up from the
/// knuckles, then curled towards the camera.
fn fist() -> Hand {
    let mut world = vec![[0.0f32; 3]; 21];
    for (f, x) in [-0.03f32, -0.025, 0.0, 0.022, 0.04].into_iter().enumerate() {
        let base = if f == 0 { 1 } else { 1 + 4 * f };
        world[base] = [x, -0.09, 0.0];
        world[base + 1] = [x, -0.12, 0.0];
        world[base + 2] = [x, -0.12, -0.03];
        world[base + 3] = [x, -0.09, -0.03];
    }
    Hand {
        rect: Rect::default(),
        score: 1.0,
        handedness: Handedness::Left,
        handedness_score: 1.0,
        landmarks: Vec::new(),
        world,
        roi: Roi::default(),
    }
}

fn floats(args: &[OscType]) -> Vec<f32> {
    args.iter()
        .map(|v| match v {
            OscType::Float(f) => *f,
            other => panic!("expected a float, got {other:?}"),
        })
        .collect()
}

/// `/VMC/Ext/Bone/Pos` by bone name: (position, rotation as a quaternion).
fn bones(messages: &[Msg]) -> BTreeMap<String, ([f32; 3], Quat)> {
    messages
        .iter()
        .filter(|(a, _)| a == "/VMC/Ext/Bone/Pos")
        .map(|(_, args)| {
            let OscType::String(name) = &args[0] else {
                panic!("bone name {:?}", args[0]);
            };
            let v = floats(&args[1..]);
            assert_eq!(v.len(), 7, "{name}");
            (
                name.clone(),
                ([v[0], v[1], v[2]], Quat::from_xyzw(v[3], v[4], v[5], v[6])),
            )
        })
        .collect()
}

fn blends(messages: &[Msg]) -> BTreeMap<String, f32> {
    messages
        .iter()
        .filter(|(a, _)| a == "/VMC/Ext/Blend/Val")
        .map(|(_, args)| match &args[..] {
            [OscType::String(k), OscType::Float(v)] => (k.clone(), *v),
            other => panic!("Blend/Val arguments {other:?}"),
        })
        .collect()
}

#[test]
fn tracked_face_body_and_hand_arrive_as_the_full_vmc_skeleton() {
    let mut f = frame();
    f.meta.calibration = Some(doppel_pipeline::meta::Calibration::Personal);
    f.meta.faces.push(face(
        HeadPose {
            yaw: 30.0,
            pitch: 0.0,
            roll: 0.0,
            translation: [320.0, 180.0, 60.0],
        },
        &[
            ("eyeBlinkLeft", 0.75),
            ("eyeBlinkRight", 0.25),
            ("jawOpen", 0.5),
            ("mouthSmileLeft", 0.2),
            ("mouthSmileRight", 0.4),
            ("mouthFrownLeft", 0.6),
            ("mouthFrownRight", 0.8),
            ("mouthPucker", 0.3),
            ("browDownLeft", 0.9),
            ("browDownRight", 0.7),
            ("cheekPuff", 0.4),
            ("tongueOut", 0.2),
        ],
    ));
    f.meta.bodies.push(t_pose_body());
    f.meta.hands.push(fist());
    let messages = send_and_receive(&f);
    let addresses: Vec<&str> = messages.iter().map(|(a, _)| a.as_str()).collect();

    // Order: root, bones, blend values, Apply, OK, T.
    assert_eq!(addresses[0], "/VMC/Ext/Root/Pos");
    let n_bones = driven_bones().count();
    assert_eq!(n_bones, 45);
    assert!(addresses[1..=n_bones]
        .iter()
        .all(|a| *a == "/VMC/Ext/Bone/Pos"));
    let apply = addresses
        .iter()
        .position(|a| *a == "/VMC/Ext/Blend/Apply")
        .expect("Apply");
    assert!(addresses[n_bones + 1..apply]
        .iter()
        .all(|a| *a == "/VMC/Ext/Blend/Val"));
    assert_eq!(&addresses[apply + 1..], ["/VMC/Ext/OK", "/VMC/Ext/T"]);

    // Every driven bone by its Unity name, with the finger bones among them.
    let bones = bones(&messages);
    let names: BTreeSet<&str> = bones.keys().map(String::as_str).collect();
    let want: BTreeSet<&str> = driven_bones().map(|b| b.unity_name()).collect();
    assert_eq!(names, want);
    for name in [
        "Hips",
        "Spine",
        "Chest",
        "Neck",
        "Head",
        "LeftEye",
        "RightEye",
        "LeftShoulder",
        "RightShoulder",
        "LeftUpperArm",
        "RightLowerArm",
        "LeftHand",
        "RightHand",
        "LeftThumbProximal",
        "LeftIndexIntermediate",
        "RightLittleDistal",
    ] {
        assert!(names.contains(name), "{name}");
    }
    // Hips stand at a humanoid's height; the left arm hangs off to Unity's -x (the avatar's left).
    assert!(bones["Hips"].0[1] > 0.8);
    assert!(bones["LeftLowerArm"].0[0] < 0.0 && bones["RightLowerArm"].0[0] > 0.0);

    // Head: yaw 30° to the person's left is -30° about Unity's +y, split between neck and head
    // (the left-handed conversion of the rig's +30° about glTF's +y).
    let total = bones["Neck"].1 * bones["Head"].1;
    let want = Quat::from_xyzw(
        0.0,
        -(15f32.to_radians().sin()),
        0.0,
        15f32.to_radians().cos(),
    );
    assert!(total.abs_diff_eq(want, 1e-5), "{total:?} vs {want:?}");
    assert!(bones["Neck"].1.angle_between(Quat::IDENTITY) > 0.1);

    // Arms raised sideways: the T-pose (identity). The fist curls the left fingers.
    for arm in [
        "LeftUpperArm",
        "LeftLowerArm",
        "RightUpperArm",
        "RightLowerArm",
    ] {
        let a = bones[arm].1.angle_between(Quat::IDENTITY).to_degrees();
        assert!(a < 1.0, "{arm}: {a}°");
    }
    let curl: f32 = ["Index", "Middle", "Ring", "Little"]
        .iter()
        .flat_map(|f| ["Proximal", "Intermediate", "Distal"].map(|j| format!("Left{f}{j}")))
        .map(|b| bones[&b].1.angle_between(Quat::IDENTITY).to_degrees())
        .sum::<f32>()
        / 4.0;
    assert!(curl > 150.0, "fist curl {curl}°");
    // The right hand was not seen: its fingers stay at rest.
    assert!(bones["RightIndexProximal"]
        .1
        .abs_diff_eq(Quat::IDENTITY, 1e-6));

    // Blend values: ARKit names (only real ones), VRM 0.x and VRM 1.0 presets from the one table.
    let blend = blends(&messages);
    for k in blend.keys() {
        let known =
            ARKIT_NAMES.contains(&k.as_str()) || PRESETS.iter().any(|p| p.vrm0 == k || p.vrm1 == k);
        assert!(known, "unknown blend name {k}");
    }
    for name in [
        "A",
        "I",
        "U",
        "E",
        "O",
        "Blink",
        "Blink_L",
        "Blink_R",
        "Joy",
        "Angry",
        "Sorrow",
        "Fun",
        "Surprised",
        "LookUp",
        "LookDown",
        "LookLeft",
        "LookRight",
        "aa",
        "ih",
        "ou",
        "ee",
        "oh",
        "blink",
        "blinkLeft",
        "blinkRight",
        "happy",
        "angry",
        "sad",
        "relaxed",
        "surprised",
        "lookUp",
        "lookDown",
        "lookLeft",
        "lookRight",
    ] {
        assert!(blend.contains_key(name), "{name} missing");
    }
    let near = |k: &str, v: f32| assert!((blend[k] - v).abs() < 1e-6, "{k}: {} vs {v}", blend[k]);
    near("eyeBlinkLeft", 0.75);
    near("mouthFrownRight", 0.8);
    near("tongueOut", 0.2);
    near("cheekPuff", 0.4);
    near("Blink_L", 0.75);
    near("blinkRight", 0.25);
    near("A", 0.5);
    near("Joy", 0.3);
    near("Sorrow", 0.7);
    near("sad", 0.7);
    near("U", 0.3);
    near("Angry", 0.8);

    // OK: loaded, calibrated (the frame says the person's own neutral face), normal mode,
    // tracking; T: the frame's time.
    assert_eq!(
        messages[apply + 1].1,
        [1, 3, 0, 1].map(OscType::Int).to_vec()
    );
    assert_eq!(floats(&messages[apply + 2].1), [1.5]);
}

#[test]
fn without_a_face_or_body_the_arms_rest_and_tracking_is_off() {
    let messages = send_and_receive(&frame());
    let bones = bones(&messages);
    assert_eq!(bones.len(), driven_bones().count());
    assert!(blends(&messages).is_empty());
    assert!(!messages.iter().any(|(a, _)| a == "/VMC/Ext/Blend/Apply"));
    // The left upper arm (rest direction Unity -x) hangs down by about 72°, not the T-pose.
    let down = bones["LeftUpperArm"].1 * -Vec3::X;
    let angle = (-down.y).asin().to_degrees();
    assert!((65.0..80.0).contains(&angle), "{down}");
    assert!(down.x < 0.0, "towards the avatar's left side: {down}");
    let right = bones["RightUpperArm"].1 * Vec3::X;
    assert!(right.y < -0.9 && right.x > 0.0, "{right}");
    // The head stays at rest.
    assert!(bones["Head"].1.abs_diff_eq(Quat::IDENTITY, 1e-6));
    let ok = messages
        .iter()
        .find(|(a, _)| a == "/VMC/Ext/OK")
        .expect("OK");
    // No tracker ran: uncalibrated.
    assert_eq!(ok.1, [1, 0, 0, 0].map(OscType::Int).to_vec());
}
