//! The one table from ARKit blendshape values to VRM expressions, shared by the avatar renderer and
//! the VMC sender (so the two never disagree on what drives `E`).
//!
//! Values are ARKit-named (the person's left/right, as ARKit and VRM name them), each 0..1; a preset
//! is the weighted sum of its sources, clamped to 0..1. Where the sources come from is
//! `Face::expressions` (see `crate::meta::Face`).

/// The 52 ARKit blendshape names, in the order MediaPipe's blendshape model outputs them (its
/// `_neutral` left out) followed by `tongueOut` (from the face mesh v2 model's tongue output).
pub const ARKIT_NAMES: [&str; 52] = [
    "browDownLeft",
    "browDownRight",
    "browInnerUp",
    "browOuterUpLeft",
    "browOuterUpRight",
    "cheekPuff",
    "cheekSquintLeft",
    "cheekSquintRight",
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
    "eyeSquintLeft",
    "eyeSquintRight",
    "eyeWideLeft",
    "eyeWideRight",
    "jawForward",
    "jawLeft",
    "jawOpen",
    "jawRight",
    "mouthClose",
    "mouthDimpleLeft",
    "mouthDimpleRight",
    "mouthFrownLeft",
    "mouthFrownRight",
    "mouthFunnel",
    "mouthLeft",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthPressLeft",
    "mouthPressRight",
    "mouthPucker",
    "mouthRight",
    "mouthRollLower",
    "mouthRollUpper",
    "mouthShrugLower",
    "mouthShrugUpper",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthStretchLeft",
    "mouthStretchRight",
    "mouthUpperUpLeft",
    "mouthUpperUpRight",
    "noseSneerLeft",
    "noseSneerRight",
    "tongueOut",
];

/// A VRM expression and the ARKit values that drive it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Preset {
    /// The VRM 0.x `blendShapeMaster` preset name (as VMC sends it).
    pub vrm0: &'static str,
    /// The VRM 1.0 `expressions.preset` name.
    pub vrm1: &'static str,
    /// `(ARKit name, weight)`: the preset's value is the weighted sum, clamped to 0..1.
    pub sources: &'static [(&'static str, f32)],
}

impl Preset {
    /// The preset's value from ARKit values (`arkit` returns 0 for a name it lacks).
    pub fn value(&self, arkit: impl Fn(&str) -> f32) -> f32 {
        self.sources
            .iter()
            .map(|(name, w)| w * arkit(name))
            .sum::<f32>()
            .clamp(0.0, 1.0)
    }
}

const fn preset(
    vrm0: &'static str,
    vrm1: &'static str,
    sources: &'static [(&'static str, f32)],
) -> Preset {
    Preset {
        vrm0,
        vrm1,
        sources,
    }
}

/// Every VRM preset doppel drives. Vowels follow the mouth shape that makes them: `A` the open jaw,
/// `I` the lips pulled wide, `U` the pucker, `E` the lower lip pulled down (teeth showing), `O` the
/// funnel. Left and right are the avatar's, which are the person's (see the module notes).
pub const PRESETS: [Preset; 18] = [
    preset(
        "Blink",
        "blink",
        &[("eyeBlinkLeft", 0.5), ("eyeBlinkRight", 0.5)],
    ),
    preset("Blink_L", "blinkLeft", &[("eyeBlinkLeft", 1.0)]),
    preset("Blink_R", "blinkRight", &[("eyeBlinkRight", 1.0)]),
    preset("A", "aa", &[("jawOpen", 1.0)]),
    preset(
        "I",
        "ih",
        &[("mouthStretchLeft", 0.5), ("mouthStretchRight", 0.5)],
    ),
    preset("U", "ou", &[("mouthPucker", 1.0)]),
    preset(
        "E",
        "ee",
        &[("mouthLowerDownLeft", 0.5), ("mouthLowerDownRight", 0.5)],
    ),
    preset("O", "oh", &[("mouthFunnel", 1.0)]),
    preset(
        "Joy",
        "happy",
        &[("mouthSmileLeft", 0.5), ("mouthSmileRight", 0.5)],
    ),
    preset(
        "Angry",
        "angry",
        &[("browDownLeft", 0.5), ("browDownRight", 0.5)],
    ),
    preset(
        "Sorrow",
        "sad",
        &[("mouthFrownLeft", 0.5), ("mouthFrownRight", 0.5)],
    ),
    preset(
        "Fun",
        "relaxed",
        &[("cheekSquintLeft", 0.5), ("cheekSquintRight", 0.5)],
    ),
    preset("Surprised", "surprised", &[("browInnerUp", 1.0)]),
    preset(
        "LookUp",
        "lookUp",
        &[("eyeLookUpLeft", 0.5), ("eyeLookUpRight", 0.5)],
    ),
    preset(
        "LookDown",
        "lookDown",
        &[("eyeLookDownLeft", 0.5), ("eyeLookDownRight", 0.5)],
    ),
    // Looking to the avatar's (and person's) left: the left eye looks out, the right eye in.
    preset(
        "LookLeft",
        "lookLeft",
        &[("eyeLookOutLeft", 0.5), ("eyeLookInRight", 0.5)],
    ),
    preset(
        "LookRight",
        "lookRight",
        &[("eyeLookInLeft", 0.5), ("eyeLookOutRight", 0.5)],
    ),
    preset("Neutral", "neutral", &[]),
];

/// The preset a VRM 0.x or 1.0 name means, ignoring case (`joy` and `happy` are the same preset).
pub fn find_preset(name: &str) -> Option<&'static Preset> {
    PRESETS
        .iter()
        .find(|p| p.vrm0.eq_ignore_ascii_case(name) || p.vrm1.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_is_an_arkit_name_and_names_are_unique() {
        for p in &PRESETS {
            for (s, _) in p.sources {
                assert!(ARKIT_NAMES.contains(s), "{} reads unknown {s}", p.vrm0);
            }
        }
        let mut names = ARKIT_NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 52);
    }

    #[test]
    fn vrm0_and_vrm1_names_find_the_same_preset() {
        assert_eq!(find_preset("joy"), find_preset("HAPPY"));
        assert_eq!(find_preset("E").map(|p| p.vrm1), Some("ee"));
        assert_eq!(find_preset("sorrow").map(|p| p.vrm1), Some("sad"));
        assert!(find_preset("wink").is_none());
        let v = find_preset("Joy")
            .unwrap()
            .value(|n| if n == "mouthSmileLeft" { 0.4 } else { 0.8 });
        assert!((v - 0.6).abs() < 1e-6);
    }
}
