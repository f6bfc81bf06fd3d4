//! The VMC sink over real UDP: a frame with a known head pose and known expressions is sent to a
//! receiver here, whose own OSC decoder checks every address and value.

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::time::Duration;

use doppel_pipeline::sink::vmc::VmcSink;
use doppel_pipeline::sink::Sink;
use doppel_pipeline::track::{Face, HeadPose, Point, Rect, Roi};
use doppel_pipeline::{Frame, Rational, Timestamp};

#[derive(Debug, Clone, PartialEq)]
enum Value {
    I(i32),
    F(f32),
    S(String),
}

fn osc_string(b: &[u8], at: &mut usize) -> String {
    let end = b[*at..].iter().position(|&c| c == 0).expect("NUL") + *at;
    let s = String::from_utf8(b[*at..end].to_vec()).expect("ascii");
    *at = (end + 4) & !3;
    s
}

/// Decodes an OSC bundle into (address, arguments) pairs.
fn decode_bundle(b: &[u8]) -> Vec<(String, Vec<Value>)> {
    assert_eq!(&b[..8], b"#bundle\0");
    assert_eq!(
        u64::from_be_bytes(b[8..16].try_into().unwrap()),
        1,
        "immediately"
    );
    let mut at = 16;
    let mut out = Vec::new();
    while at < b.len() {
        let size = u32::from_be_bytes(b[at..at + 4].try_into().unwrap()) as usize;
        let m = &b[at + 4..at + 4 + size];
        let mut p = 0;
        let address = osc_string(m, &mut p);
        let tags = osc_string(m, &mut p);
        let mut args = Vec::new();
        for t in tags.trim_start_matches(',').chars() {
            let word: [u8; 4] = m[p..p + 4].try_into().unwrap();
            args.push(match t {
                'i' => {
                    p += 4;
                    Value::I(i32::from_be_bytes(word))
                }
                'f' => {
                    p += 4;
                    Value::F(f32::from_be_bytes(word))
                }
                's' => Value::S(osc_string(m, &mut p)),
                other => panic!("type tag {other}"),
            });
        }
        assert_eq!(p, m.len());
        out.push((address, args));
        at += 4 + size;
    }
    out
}

fn face(pose: HeadPose, expressions: &[(&str, f32)]) -> Face {
    Face {
        rect: Rect::new(10.0, 10.0, 50.0, 60.0),
        score: 0.99,
        mesh: vec![[30.0, 35.0, 0.0]; 468],
        keypoints: [Point::new(30.0, 35.0); 6],
        detection: None,
        roi: Roi::default(),
        pose: Some(pose),
        expressions: expressions
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect::<BTreeMap<_, _>>(),
    }
}

fn floats(values: &[Value]) -> Vec<f32> {
    values
        .iter()
        .map(|v| match v {
            Value::F(f) => *f,
            other => panic!("expected a float, got {other:?}"),
        })
        .collect()
}

#[test]
fn known_pose_and_expressions_arrive_as_vmc() {
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    receiver
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut sink = VmcSink::open(&receiver.local_addr().unwrap().to_string()).unwrap();

    let mut frame = Frame::new(
        45,
        Timestamp::new(45, Rational::new(1, 30)),
        image::RgbaImage::new(64, 64),
    );
    frame.meta.faces.push(face(
        HeadPose {
            yaw: 30.0,
            pitch: 0.0,
            roll: 0.0,
            translation: [32.0, 32.0, 60.0],
        },
        &[
            ("eyeBlinkLeft", 0.75),
            ("eyeBlinkRight", 0.25),
            ("jawOpen", 0.5),
            ("mouthSmileLeft", 0.2),
            ("mouthSmileRight", 0.4),
        ],
    ));
    sink.write(&frame).unwrap();

    let mut buf = vec![0u8; 65536];
    let n = receiver.recv(&mut buf).expect("a datagram");
    let messages = decode_bundle(&buf[..n]);
    let addresses: Vec<&str> = messages.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(addresses[0], "/VMC/Ext/Root/Pos");
    assert_eq!(addresses[1], "/VMC/Ext/Bone/Pos");
    let apply = addresses
        .iter()
        .position(|a| *a == "/VMC/Ext/Blend/Apply")
        .expect("Apply");
    assert!(addresses[2..apply]
        .iter()
        .all(|a| *a == "/VMC/Ext/Blend/Val"));
    assert_eq!(&addresses[apply + 1..], ["/VMC/Ext/OK", "/VMC/Ext/T"]);

    // Head: yaw 30° to the person's left = -30° about Unity's +y: (0, sin(-15°), 0, cos(15°)).
    let (name, head) = messages[1].1.split_at(1);
    assert_eq!(name, [Value::S("Head".into())]);
    let head = floats(head);
    let want = [
        0.0,
        0.0,
        0.0,
        0.0,
        -(15f32.to_radians().sin()),
        0.0,
        15f32.to_radians().cos(),
    ];
    for (g, w) in head.iter().zip(want) {
        assert!((g - w).abs() < 1e-6, "head {head:?}, want {want:?}");
    }

    // Blendshapes: VRM presets from the ARKit values, and the ARKit values themselves.
    let blend: BTreeMap<String, f32> = messages[2..apply]
        .iter()
        .map(|(_, args)| match &args[..] {
            [Value::S(k), Value::F(v)] => (k.clone(), *v),
            other => panic!("Blend/Val arguments {other:?}"),
        })
        .collect();
    let want = [
        ("Blink_L", 0.75),
        ("Blink_R", 0.25),
        ("A", 0.5),
        ("Joy", 0.3),
        ("eyeBlinkLeft", 0.75),
        ("eyeBlinkRight", 0.25),
        ("jawOpen", 0.5),
        ("mouthSmileLeft", 0.2),
        ("mouthSmileRight", 0.4),
    ];
    assert_eq!(blend.len(), want.len(), "{blend:?}");
    for (k, v) in want {
        assert!((blend[k] - v).abs() < 1e-6, "{k}: {} vs {v}", blend[k]);
    }
    assert_eq!(messages[apply + 1].1, [1, 3, 0, 1].map(Value::I));
    assert_eq!(floats(&messages[apply + 2].1), [1.5]);
    assert_eq!(sink.finish().unwrap().frames, 1);
}
