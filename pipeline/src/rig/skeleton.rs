//! A rest skeleton for the rig: each bone's local position (metres, in its parent's frame, in the
//! rig's glTF space), an adult humanoid of about 1.65 m. The VMC sender reports these positions and
//! the built-in avatar draws its fingers with these proportions.
//!
//! VMC's `/VMC/Ext/Bone/Pos` carries a local position with each local rotation. doppel tracks
//! rotations only and does not know the receiver's model, so it sends the positions of this fixed
//! rest skeleton: a receiver that applies bone positions gets a plausible humanoid instead of
//! bones collapsed onto their parents (all zeros), and one that applies rotations only (the usual
//! case for everything but the hips) is unaffected. Proportions are typical, not measured.

use super::HumanBone;

/// The bone's rest position relative to its parent (Hips: relative to the root), right-handed
/// glTF space (x = the avatar's left, y up, z forwards); `None` for a bone doppel does not send.
pub fn local_position(bone: HumanBone) -> Option<[f32; 3]> {
    use HumanBone::*;
    let left = |p: [f32; 3]| Some(p);
    // The right side mirrors the left.
    let right = |p: [f32; 3]| Some([-p[0], p[1], p[2]]);
    match bone {
        Hips => Some([0.0, 0.95, 0.0]),
        Spine => Some([0.0, 0.08, 0.0]),
        Chest => Some([0.0, 0.12, 0.0]),
        // With no upper chest, the neck and shoulders hang from the chest.
        Neck => Some([0.0, 0.24, -0.01]),
        Head => Some([0.0, 0.1, 0.01]),
        LeftEye => left([0.032, 0.07, 0.08]),
        RightEye => right([0.032, 0.07, 0.08]),
        LeftShoulder => left([0.04, 0.19, -0.01]),
        RightShoulder => right([0.04, 0.19, -0.01]),
        LeftUpperArm => left([0.12, 0.0, 0.0]),
        RightUpperArm => right([0.12, 0.0, 0.0]),
        LeftLowerArm => left([0.27, 0.0, 0.0]),
        RightLowerArm => right([0.27, 0.0, 0.0]),
        LeftHand => left([0.25, 0.0, 0.0]),
        RightHand => right([0.25, 0.0, 0.0]),
        LeftThumbProximal => left([0.025, -0.01, 0.025]),
        RightThumbProximal => right([0.025, -0.01, 0.025]),
        LeftThumbIntermediate => left([0.03, 0.0, 0.02]),
        RightThumbIntermediate => right([0.03, 0.0, 0.02]),
        LeftThumbDistal => left([0.025, 0.0, 0.015]),
        RightThumbDistal => right([0.025, 0.0, 0.015]),
        LeftIndexProximal => left([0.09, 0.0, 0.025]),
        RightIndexProximal => right([0.09, 0.0, 0.025]),
        LeftMiddleProximal => left([0.09, 0.0, 0.005]),
        RightMiddleProximal => right([0.09, 0.0, 0.005]),
        LeftRingProximal => left([0.085, 0.0, -0.015]),
        RightRingProximal => right([0.085, 0.0, -0.015]),
        LeftLittleProximal => left([0.075, 0.0, -0.035]),
        RightLittleProximal => right([0.075, 0.0, -0.035]),
        LeftIndexIntermediate | LeftMiddleIntermediate | LeftRingIntermediate => {
            left([0.04, 0.0, 0.0])
        }
        RightIndexIntermediate | RightMiddleIntermediate | RightRingIntermediate => {
            right([0.04, 0.0, 0.0])
        }
        LeftLittleIntermediate => left([0.03, 0.0, 0.0]),
        RightLittleIntermediate => right([0.03, 0.0, 0.0]),
        LeftIndexDistal | LeftMiddleDistal | LeftRingDistal | LeftLittleDistal => {
            left([0.025, 0.0, 0.0])
        }
        RightIndexDistal | RightMiddleDistal | RightRingDistal | RightLittleDistal => {
            right([0.025, 0.0, 0.0])
        }
        UpperChest | Jaw | LeftUpperLeg | LeftLowerLeg | LeftFoot | RightUpperLeg
        | RightLowerLeg | RightFoot => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rig::solve::driven_bones;

    #[test]
    fn every_driven_bone_has_a_position_and_sides_mirror() {
        for bone in driven_bones() {
            assert!(local_position(bone).is_some(), "{bone:?}");
        }
        let l = local_position(HumanBone::LeftLowerArm).unwrap();
        let r = local_position(HumanBone::RightLowerArm).unwrap();
        assert_eq!([-l[0], l[1], l[2]], r);
        assert!(l[0] > 0.0, "the avatar's left is +x in glTF space");
    }
}
