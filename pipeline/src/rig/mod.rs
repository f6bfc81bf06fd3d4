//! Retargeting: what the trackers saw, expressed as a humanoid avatar understands it. One place
//! shared by every consumer (the VRM/glTF renderer, the built-in avatar, the VMC sender):
//! - [`bones`]: the humanoid bones by Unity, VRM 0.x and VRM 1.0 names;
//! - [`expressions`]: the 52 ARKit names and the one table from them to VRM expressions;
//! - [`Rig`]: local bone rotations for one frame;
//! - [`solve`]: the rig from tracking; [`skeleton`]: a rest skeleton's bone positions.
//!
//! # Conventions of [`Rig`]
//! glTF / VRM 1.0 "normalized" space: right-handed, +Y up, the avatar faces +Z (towards the
//! camera), so the avatar's left is +X. At rest (every rotation identity) the avatar stands in the
//! T-pose with every bone's axes aligned with the root's. A bone's rotation is local: relative to its
//! parent bone, in that rest frame. Left and right are the avatar's, which are the person's (an
//! avatar mirrors nothing: raising one's left hand raises the avatar's left hand). Consumers
//! convert to their own space: the VRM loader to the model's raw bones, VMC to Unity's left-handed
//! space.

pub mod bones;
pub mod expressions;
pub mod skeleton;
pub mod solve;

use std::collections::BTreeMap;

use glam::Quat;

pub use bones::HumanBone;
pub use expressions::{find_preset, Preset, ARKIT_NAMES, PRESETS};

/// Local rotations of the humanoid bones for one frame (see the module notes); a bone absent from
/// the map stays at rest.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rig {
    pub bones: BTreeMap<HumanBone, Quat>,
}

impl Rig {
    /// The bone's local rotation; identity (rest) when not driven.
    pub fn rotation(&self, bone: HumanBone) -> Quat {
        self.bones.get(&bone).copied().unwrap_or(Quat::IDENTITY)
    }
}
