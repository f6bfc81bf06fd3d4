//! The humanoid skeleton doppel drives, by Unity's `HumanBodyBones` names (what VMC sends) with their
//! VRM 0.x and VRM 1.0 `humanBones` names.

/// A humanoid bone. The order is parents before children.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HumanBone {
    Hips,
    Spine,
    Chest,
    UpperChest,
    Neck,
    Head,
    LeftEye,
    RightEye,
    Jaw,
    LeftShoulder,
    LeftUpperArm,
    LeftLowerArm,
    LeftHand,
    RightShoulder,
    RightUpperArm,
    RightLowerArm,
    RightHand,
    LeftUpperLeg,
    LeftLowerLeg,
    LeftFoot,
    RightUpperLeg,
    RightLowerLeg,
    RightFoot,
    LeftThumbProximal,
    LeftThumbIntermediate,
    LeftThumbDistal,
    LeftIndexProximal,
    LeftIndexIntermediate,
    LeftIndexDistal,
    LeftMiddleProximal,
    LeftMiddleIntermediate,
    LeftMiddleDistal,
    LeftRingProximal,
    LeftRingIntermediate,
    LeftRingDistal,
    LeftLittleProximal,
    LeftLittleIntermediate,
    LeftLittleDistal,
    RightThumbProximal,
    RightThumbIntermediate,
    RightThumbDistal,
    RightIndexProximal,
    RightIndexIntermediate,
    RightIndexDistal,
    RightMiddleProximal,
    RightMiddleIntermediate,
    RightMiddleDistal,
    RightRingProximal,
    RightRingIntermediate,
    RightRingDistal,
    RightLittleProximal,
    RightLittleIntermediate,
    RightLittleDistal,
}

use HumanBone::*;

/// Every bone with its Unity, VRM 0.x and VRM 1.0 names. VRM 1.0 names the thumb's three bones
/// metacarpal, proximal, distal where Unity and VRM 0.x say proximal, intermediate, distal.
const TABLE: [(HumanBone, &str, &str, &str); 53] = [
    (Hips, "Hips", "hips", "hips"),
    (Spine, "Spine", "spine", "spine"),
    (Chest, "Chest", "chest", "chest"),
    (UpperChest, "UpperChest", "upperChest", "upperChest"),
    (Neck, "Neck", "neck", "neck"),
    (Head, "Head", "head", "head"),
    (LeftEye, "LeftEye", "leftEye", "leftEye"),
    (RightEye, "RightEye", "rightEye", "rightEye"),
    (Jaw, "Jaw", "jaw", "jaw"),
    (LeftShoulder, "LeftShoulder", "leftShoulder", "leftShoulder"),
    (LeftUpperArm, "LeftUpperArm", "leftUpperArm", "leftUpperArm"),
    (LeftLowerArm, "LeftLowerArm", "leftLowerArm", "leftLowerArm"),
    (LeftHand, "LeftHand", "leftHand", "leftHand"),
    (
        RightShoulder,
        "RightShoulder",
        "rightShoulder",
        "rightShoulder",
    ),
    (
        RightUpperArm,
        "RightUpperArm",
        "rightUpperArm",
        "rightUpperArm",
    ),
    (
        RightLowerArm,
        "RightLowerArm",
        "rightLowerArm",
        "rightLowerArm",
    ),
    (RightHand, "RightHand", "rightHand", "rightHand"),
    (LeftUpperLeg, "LeftUpperLeg", "leftUpperLeg", "leftUpperLeg"),
    (LeftLowerLeg, "LeftLowerLeg", "leftLowerLeg", "leftLowerLeg"),
    (LeftFoot, "LeftFoot", "leftFoot", "leftFoot"),
    (
        RightUpperLeg,
        "RightUpperLeg",
        "rightUpperLeg",
        "rightUpperLeg",
    ),
    (
        RightLowerLeg,
        "RightLowerLeg",
        "rightLowerLeg",
        "rightLowerLeg",
    ),
    (RightFoot, "RightFoot", "rightFoot", "rightFoot"),
    (
        LeftThumbProximal,
        "LeftThumbProximal",
        "leftThumbProximal",
        "leftThumbMetacarpal",
    ),
    (
        LeftThumbIntermediate,
        "LeftThumbIntermediate",
        "leftThumbIntermediate",
        "leftThumbProximal",
    ),
    (
        LeftThumbDistal,
        "LeftThumbDistal",
        "leftThumbDistal",
        "leftThumbDistal",
    ),
    (
        LeftIndexProximal,
        "LeftIndexProximal",
        "leftIndexProximal",
        "leftIndexProximal",
    ),
    (
        LeftIndexIntermediate,
        "LeftIndexIntermediate",
        "leftIndexIntermediate",
        "leftIndexIntermediate",
    ),
    (
        LeftIndexDistal,
        "LeftIndexDistal",
        "leftIndexDistal",
        "leftIndexDistal",
    ),
    (
        LeftMiddleProximal,
        "LeftMiddleProximal",
        "leftMiddleProximal",
        "leftMiddleProximal",
    ),
    (
        LeftMiddleIntermediate,
        "LeftMiddleIntermediate",
        "leftMiddleIntermediate",
        "leftMiddleIntermediate",
    ),
    (
        LeftMiddleDistal,
        "LeftMiddleDistal",
        "leftMiddleDistal",
        "leftMiddleDistal",
    ),
    (
        LeftRingProximal,
        "LeftRingProximal",
        "leftRingProximal",
        "leftRingProximal",
    ),
    (
        LeftRingIntermediate,
        "LeftRingIntermediate",
        "leftRingIntermediate",
        "leftRingIntermediate",
    ),
    (
        LeftRingDistal,
        "LeftRingDistal",
        "leftRingDistal",
        "leftRingDistal",
    ),
    (
        LeftLittleProximal,
        "LeftLittleProximal",
        "leftLittleProximal",
        "leftLittleProximal",
    ),
    (
        LeftLittleIntermediate,
        "LeftLittleIntermediate",
        "leftLittleIntermediate",
        "leftLittleIntermediate",
    ),
    (
        LeftLittleDistal,
        "LeftLittleDistal",
        "leftLittleDistal",
        "leftLittleDistal",
    ),
    (
        RightThumbProximal,
        "RightThumbProximal",
        "rightThumbProximal",
        "rightThumbMetacarpal",
    ),
    (
        RightThumbIntermediate,
        "RightThumbIntermediate",
        "rightThumbIntermediate",
        "rightThumbProximal",
    ),
    (
        RightThumbDistal,
        "RightThumbDistal",
        "rightThumbDistal",
        "rightThumbDistal",
    ),
    (
        RightIndexProximal,
        "RightIndexProximal",
        "rightIndexProximal",
        "rightIndexProximal",
    ),
    (
        RightIndexIntermediate,
        "RightIndexIntermediate",
        "rightIndexIntermediate",
        "rightIndexIntermediate",
    ),
    (
        RightIndexDistal,
        "RightIndexDistal",
        "rightIndexDistal",
        "rightIndexDistal",
    ),
    (
        RightMiddleProximal,
        "RightMiddleProximal",
        "rightMiddleProximal",
        "rightMiddleProximal",
    ),
    (
        RightMiddleIntermediate,
        "RightMiddleIntermediate",
        "rightMiddleIntermediate",
        "rightMiddleIntermediate",
    ),
    (
        RightMiddleDistal,
        "RightMiddleDistal",
        "rightMiddleDistal",
        "rightMiddleDistal",
    ),
    (
        RightRingProximal,
        "RightRingProximal",
        "rightRingProximal",
        "rightRingProximal",
    ),
    (
        RightRingIntermediate,
        "RightRingIntermediate",
        "rightRingIntermediate",
        "rightRingIntermediate",
    ),
    (
        RightRingDistal,
        "RightRingDistal",
        "rightRingDistal",
        "rightRingDistal",
    ),
    (
        RightLittleProximal,
        "RightLittleProximal",
        "rightLittleProximal",
        "rightLittleProximal",
    ),
    (
        RightLittleIntermediate,
        "RightLittleIntermediate",
        "rightLittleIntermediate",
        "rightLittleIntermediate",
    ),
    (
        RightLittleDistal,
        "RightLittleDistal",
        "rightLittleDistal",
        "rightLittleDistal",
    ),
];

impl HumanBone {
    /// Every bone, parents before children.
    pub const ALL: [HumanBone; 53] = {
        let mut all = [Hips; 53];
        let mut i = 0;
        while i < TABLE.len() {
            all[i] = TABLE[i].0;
            i += 1;
        }
        all
    };

    fn row(self) -> &'static (HumanBone, &'static str, &'static str, &'static str) {
        &TABLE[self as usize]
    }

    /// Unity's `HumanBodyBones` name (VMC's `/VMC/Ext/Bone/Pos` names).
    pub fn unity_name(self) -> &'static str {
        self.row().1
    }

    /// The VRM 0.x `humanoid.humanBones[].bone` name.
    pub fn vrm0_name(self) -> &'static str {
        self.row().2
    }

    /// The VRM 1.0 `humanoid.humanBones` key.
    pub fn vrm1_name(self) -> &'static str {
        self.row().3
    }

    /// The bone a VRM 0.x or 1.0 name means (`vrm1` picks the table; names compare ignoring case).
    pub fn from_vrm_name(name: &str, vrm1: bool) -> Option<HumanBone> {
        TABLE
            .iter()
            .find(|r| (if vrm1 { r.3 } else { r.2 }).eq_ignore_ascii_case(name))
            .map(|r| r.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows_match_their_bones() {
        for (i, row) in TABLE.iter().enumerate() {
            assert_eq!(row.0 as usize, i, "{}", row.1);
            assert_eq!(format!("{:?}", row.0), row.1);
        }
        assert_eq!(
            HumanBone::from_vrm_name("leftThumbMetacarpal", true),
            Some(LeftThumbProximal)
        );
        assert_eq!(
            HumanBone::from_vrm_name("leftThumbProximal", false),
            Some(LeftThumbProximal)
        );
        assert_eq!(HumanBone::from_vrm_name("HEAD", true), Some(Head));
        assert_eq!(RightLittleDistal.unity_name(), "RightLittleDistal");
    }
}
