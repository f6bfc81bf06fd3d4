//! `overlay` — draws what the tracking stages found onto the frame, for people to look at (a debugging
//! view, drawn on the CPU).
//!
//! Inputs: any RGBA frame and its meta, as `track`, `pose`, `hands` and `segment` leave it (absent
//! parts are simply not drawn).
//! Outputs: the same frame with, bottom to top: the person mask tinted (`meta.mask`), each body's
//! skeleton (MediaPipe's 35 pose connections; keypoints at or above `min_visibility` in colour — the
//! person's left side orange, right side cyan — the others thin and grey), each hand's 21 landmarks
//! and bones (MediaPipe's 21 hand connections; the person's left hand orange, right cyan), each face's
//! 468 mesh points,
//! its box with a face-present score bar above it (green, full width = 1), the detector's six keypoints
//! (eyes blue, nose red, mouth magenta, ears yellow) and, when `face.pose` is set, the head axes from the
//! nose tip (x red, y green — up, z blue — towards the camera). Meta unchanged.
//! Options: `mask`, `body`, `hands`, `mesh`, `box`, `keypoints`, `axes` (all true): which layers to draw;
//! `mask_opacity` (0.45): tint strength 0..1; `min_visibility` (0.5): body keypoints below it are grey.
//!
//! Example: `doppel process talk.mp4 -o debug.mp4 --stages track,pose,segment,overlay:mask_opacity=0.3`

use image::RgbaImage;

use super::{BuildContext, StageEntry};
use crate::error::Result;
use crate::frame::{Frame, FrameMeta};
use crate::meta::{Hand, Handedness};
use crate::options::StageOptions;
use crate::options::{OptKind, OptSpec};
use crate::stage::{Contract, MetaSet, Stage, StageDoc};
use crate::track::draw::{bar, disc, line, outline, tint, Colour};
use crate::track::{Body, Face, HeadPose, Point};

const OPT_MASK: OptSpec = OptSpec {
    name: "mask",
    kind: OptKind::Bool(true),
    help: "tint the person mask (from segment)",
};
const OPT_BODY: OptSpec = OptSpec {
    name: "body",
    kind: OptKind::Bool(true),
    help: "draw body skeletons (from pose)",
};
const OPT_HANDS: OptSpec = OptSpec {
    name: "hands",
    kind: OptKind::Bool(true),
    help: "draw hand landmarks and bones (from hands)",
};
const OPT_MESH: OptSpec = OptSpec {
    name: "mesh",
    kind: OptKind::Bool(true),
    help: "draw the 468 face mesh points (from track)",
};
const OPT_BOX: OptSpec = OptSpec {
    name: "box",
    kind: OptKind::Bool(true),
    help: "draw face boxes with a score bar (from track)",
};
const OPT_KEYPOINTS: OptSpec = OptSpec {
    name: "keypoints",
    kind: OptKind::Bool(true),
    help: "draw the face detector's 6 keypoints (from track)",
};
const OPT_AXES: OptSpec = OptSpec {
    name: "axes",
    kind: OptKind::Bool(true),
    help: "draw head axes where the head pose is known (from track)",
};
const OPT_MASK_OPACITY: OptSpec = OptSpec {
    name: "mask_opacity",
    kind: OptKind::F32 {
        default: 0.45,
        min: 0.0,
        max: 1.0,
    },
    help: "mask tint strength",
};
const OPT_MIN_VISIBILITY: OptSpec = OptSpec {
    name: "min_visibility",
    kind: OptKind::F32 {
        default: 0.5,
        min: 0.0,
        max: 1.0,
    },
    help: "body keypoints below this visibility are drawn grey",
};

pub const DOC: StageDoc = StageDoc {
    name: "overlay",
    summary:
        "draws faces (mesh, box, keypoints, head axes), body skeletons, hands and the person mask",
    options: &[
        OPT_MASK,
        OPT_BODY,
        OPT_HANDS,
        OPT_MESH,
        OPT_BOX,
        OPT_KEYPOINTS,
        OPT_AXES,
        OPT_MASK_OPACITY,
        OPT_MIN_VISIBILITY,
    ],
    example: "track,pose,segment,overlay:mesh=false:mask_opacity=0.3",
    contract,
};

pub const ENTRY: StageEntry = StageEntry {
    doc: &DOC,
    build: |options: &StageOptions, _: &BuildContext| Ok(Box::new(Overlay::from_options(options)?)),
};

/// It draws whatever of its layers' meta is there, so it needs at least one of them: with none it
/// would leave every frame as it is.
fn contract(options: &StageOptions) -> Result<Contract> {
    let config = OverlayConfig::from_options(options)?;
    let face_layers = config.mesh || config.boxes || config.keypoints || config.axes;
    let mut any = MetaSet::NONE;
    for (on, meta) in [
        (face_layers, MetaSet::FACES),
        (config.body, MetaSet::BODIES),
        (config.hands, MetaSet::HANDS),
        (config.mask, MetaSet::MASK),
    ] {
        if on {
            any = any | meta;
        }
    }
    Ok(Contract {
        needs_any: any,
        ..Contract::NONE
    })
}

/// MediaPipe's pose connections (pairs of [`crate::track::BODY_KEYPOINT_NAMES`] indices).
pub const POSE_CONNECTIONS: [(usize, usize); 35] = [
    (0, 1),
    (1, 2),
    (2, 3),
    (3, 7),
    (0, 4),
    (4, 5),
    (5, 6),
    (6, 8),
    (9, 10),
    (11, 12),
    (11, 13),
    (13, 15),
    (15, 17),
    (15, 19),
    (15, 21),
    (17, 19),
    (12, 14),
    (14, 16),
    (16, 18),
    (16, 20),
    (16, 22),
    (18, 20),
    (11, 23),
    (12, 24),
    (23, 24),
    (23, 25),
    (24, 26),
    (25, 27),
    (26, 28),
    (27, 29),
    (28, 30),
    (29, 31),
    (30, 32),
    (27, 31),
    (28, 32),
];

/// MediaPipe's hand connections (pairs of [`crate::meta::HAND_LANDMARK_NAMES`] indices): each
/// finger from the wrist or palm to its tip, and the palm's outline.
pub const HAND_CONNECTIONS: [(usize, usize); 21] = [
    (0, 1),
    (1, 2),
    (2, 3),
    (3, 4),
    (0, 5),
    (5, 6),
    (6, 7),
    (7, 8),
    (5, 9),
    (9, 10),
    (10, 11),
    (11, 12),
    (9, 13),
    (13, 14),
    (14, 15),
    (15, 16),
    (13, 17),
    (0, 17),
    (17, 18),
    (18, 19),
    (19, 20),
];

const LEFT: Colour = [255, 140, 0];
const RIGHT: Colour = [0, 220, 255];
const CENTRE: Colour = [255, 255, 255];
const HIDDEN: Colour = [110, 110, 110];
const MASK: Colour = [40, 220, 90];
const MESH: Colour = [230, 230, 230];
const BOX: Colour = [60, 230, 60];
const KEYPOINTS: [Colour; 6] = [
    [60, 120, 255],
    [60, 120, 255],
    [255, 40, 40],
    [230, 60, 230],
    [255, 230, 0],
    [255, 230, 0],
];

/// Which layers to draw and how.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OverlayConfig {
    pub mask: bool,
    pub body: bool,
    pub hands: bool,
    pub mesh: bool,
    pub boxes: bool,
    pub keypoints: bool,
    pub axes: bool,
    pub mask_opacity: f32,
    pub min_visibility: f32,
}

impl Default for OverlayConfig {
    /// The options' defaults.
    fn default() -> Self {
        Self {
            mask: OPT_MASK.kind.default_bool(),
            body: OPT_BODY.kind.default_bool(),
            hands: OPT_HANDS.kind.default_bool(),
            mesh: OPT_MESH.kind.default_bool(),
            boxes: OPT_BOX.kind.default_bool(),
            keypoints: OPT_KEYPOINTS.kind.default_bool(),
            axes: OPT_AXES.kind.default_bool(),
            mask_opacity: OPT_MASK_OPACITY.kind.default_f32(),
            min_visibility: OPT_MIN_VISIBILITY.kind.default_f32(),
        }
    }
}

impl OverlayConfig {
    /// The configuration the options give.
    pub fn from_options(options: &StageOptions) -> Result<Self> {
        Ok(Self {
            mask: options.bool(&OPT_MASK)?,
            body: options.bool(&OPT_BODY)?,
            hands: options.bool(&OPT_HANDS)?,
            mesh: options.bool(&OPT_MESH)?,
            boxes: options.bool(&OPT_BOX)?,
            keypoints: options.bool(&OPT_KEYPOINTS)?,
            axes: options.bool(&OPT_AXES)?,
            mask_opacity: options.f32(&OPT_MASK_OPACITY)?,
            min_visibility: options.f32(&OPT_MIN_VISIBILITY)?,
        })
    }
}

/// Side colour of body keypoint `i` (see [`crate::track::BODY_KEYPOINT_NAMES`]): 1-3 the left eye,
/// 4-6 the right eye, then from 7 on odd = the person's left, even = right; 0 (nose) the centre.
fn side_colour(i: usize) -> Colour {
    match i {
        0 => CENTRE,
        1..=3 => LEFT,
        4..=6 => RIGHT,
        i if i % 2 == 1 => LEFT,
        _ => RIGHT,
    }
}

/// Draws `meta` onto `image` as `config` says.
pub fn draw(image: &mut RgbaImage, meta: &FrameMeta, config: &OverlayConfig) {
    // Line widths and dot sizes follow the frame so that a 4K frame is as readable as a VGA one.
    let unit = (image.width().min(image.height()) as f32 / 360.0).max(1.0);
    if config.mask {
        if let Some(mask) = &meta.mask {
            tint(image, mask, MASK, config.mask_opacity);
        }
    }
    if config.body {
        for body in &meta.bodies {
            draw_body(image, body, config.min_visibility, unit);
        }
    }
    if config.hands {
        for hand in &meta.hands {
            draw_hand(image, hand, unit);
        }
    }
    for face in &meta.faces {
        draw_face(image, face, config, unit);
    }
}

fn draw_hand(image: &mut RgbaImage, hand: &Hand, unit: f32) {
    let colour = match hand.handedness {
        Handedness::Left => LEFT,
        Handedness::Right => RIGHT,
    };
    for &(a, b) in &HAND_CONNECTIONS {
        if let (Some(pa), Some(pb)) = (hand.point(a), hand.point(b)) {
            line(image, pa, pb, 1.5 * unit, colour);
        }
    }
    for i in 0..hand.landmarks.len() {
        if let Some(p) = hand.point(i) {
            disc(image, p, 2.5 * unit, CENTRE);
            disc(image, p, 1.5 * unit, colour);
        }
    }
}

fn draw_body(image: &mut RgbaImage, body: &Body, min_visibility: f32, unit: f32) {
    let k = &body.keypoints;
    let seen = |i: usize| k.get(i).is_some_and(|p| p.visibility >= min_visibility);
    let at = |i: usize| k.get(i).map(|p| Point::new(p.x, p.y));
    for &(a, b) in &POSE_CONNECTIONS {
        let (Some(pa), Some(pb)) = (at(a), at(b)) else {
            continue;
        };
        if seen(a) && seen(b) {
            let colour = if side_colour(a) == side_colour(b) {
                side_colour(a)
            } else {
                CENTRE
            };
            line(image, pa, pb, 2.0 * unit, colour);
        } else {
            line(image, pa, pb, unit, HIDDEN);
        }
    }
    for i in 0..k.len() {
        if let Some(p) = at(i) {
            let (colour, r) = if seen(i) {
                (side_colour(i), 2.5 * unit)
            } else {
                (HIDDEN, 1.5 * unit)
            };
            disc(image, p, r, colour);
        }
    }
}

fn draw_face(image: &mut RgbaImage, face: &Face, config: &OverlayConfig, unit: f32) {
    if config.mesh {
        let r = (face.rect.width() / 250.0).clamp(0.5, 2.0 * unit);
        for p in &face.mesh {
            disc(image, Point::new(p[0], p[1]), r, MESH);
        }
    }
    if config.boxes {
        outline(image, &face.rect, 1.5 * unit, BOX);
        let h = 4.0 * unit;
        bar(
            image,
            face.rect.x0,
            face.rect.y0 - h - 2.0 * unit,
            face.rect.width(),
            h,
            face.score,
            BOX,
        );
    }
    if config.keypoints {
        for (p, colour) in face.keypoints.iter().zip(KEYPOINTS) {
            disc(image, *p, 3.0 * unit, colour);
        }
    }
    if config.axes {
        if let Some(pose) = &face.pose {
            let origin = face.point(1).unwrap_or_else(|| face.rect.center());
            let length = face.rect.width().max(face.rect.height()) * 0.6;
            for (axis, colour) in
                head_axes(pose)
                    .into_iter()
                    .zip([[255, 40, 40], [40, 255, 40], [60, 90, 255]])
            {
                let tip = Point::new(origin.x + axis[0] * length, origin.y + axis[1] * length);
                line(image, origin, tip, 2.0 * unit, colour);
            }
        }
    }
}

/// The head's x (towards the image's +x on a frontal face), up and forward (towards the camera) axes
/// projected on the image (x right, y down; orthographic), following [`HeadPose`]'s conventions: the
/// rotation is roll (in the image plane) · yaw (about the vertical) · pitch (about the horizontal).
pub fn head_axes(pose: &HeadPose) -> [[f32; 2]; 3] {
    let (sy, cy) = pose.yaw.to_radians().sin_cos();
    let (sp, cp) = pose.pitch.to_radians().sin_cos();
    let (sr, cr) = pose.roll.to_radians().sin_cos();
    // Camera axes: x right, y down, z towards the camera. Columns below are R applied to each axis.
    let rotate = |v: [f32; 3]| -> [f32; 2] {
        // Pitch about x: forward (0,0,1) -> (0, -sin p, cos p): the nose goes up for pitch > 0.
        let (x, y, z) = (v[0], cp * v[1] - sp * v[2], sp * v[1] + cp * v[2]);
        // Yaw about y: forward -> (sin y, 0, cos y): the nose goes to +x for yaw > 0.
        // (Depth is dropped by the orthographic projection.)
        let x = cy * x + sy * z;
        // Roll in the image plane: +x turns towards +y for roll > 0.
        [cr * x - sr * y, sr * x + cr * y]
    };
    [
        rotate([1.0, 0.0, 0.0]),
        rotate([0.0, -1.0, 0.0]),
        rotate([0.0, 0.0, 1.0]),
    ]
}

/// The overlay stage.
pub struct Overlay {
    config: OverlayConfig,
}

impl Overlay {
    /// Reads the options.
    ///
    /// # Errors
    /// [`crate::Error::Option`] for a bad value.
    pub fn from_options(options: &StageOptions) -> Result<Self> {
        Ok(Self::new(OverlayConfig::from_options(options)?))
    }

    pub fn new(config: OverlayConfig) -> Self {
        Self { config }
    }
}

impl Stage for Overlay {
    fn name(&self) -> &str {
        DOC.name
    }

    fn process(&mut self, mut frame: Frame) -> Result<Frame> {
        draw(frame.pixels.image_mut()?, &frame.meta, &self.config);
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_axes_follow_the_pose_conventions() {
        let close =
            |a: [f32; 2], b: [f32; 2]| (a[0] - b[0]).abs() < 1e-5 && (a[1] - b[1]).abs() < 1e-5;
        let frontal = head_axes(&HeadPose::default());
        assert!(close(frontal[0], [1.0, 0.0]) && close(frontal[1], [0.0, -1.0]));
        assert!(close(frontal[2], [0.0, 0.0]));
        let turned = head_axes(&HeadPose {
            yaw: 90.0,
            ..HeadPose::default()
        });
        assert!(close(turned[2], [1.0, 0.0]), "nose to +x: {turned:?}");
        let up = head_axes(&HeadPose {
            pitch: 90.0,
            ..HeadPose::default()
        });
        assert!(close(up[2], [0.0, -1.0]), "nose up: {up:?}");
        let rolled = head_axes(&HeadPose {
            roll: 90.0,
            ..HeadPose::default()
        });
        assert!(close(rolled[0], [0.0, 1.0]), "eye line to +y: {rolled:?}");
    }

    #[test]
    fn connections_pair_left_with_left() {
        for &(a, b) in &POSE_CONNECTIONS {
            assert!(a < 33 && b < 33);
            // Limb connections (from the shoulders down) stay on one side except across the body.
            if a >= 11 && side_colour(a) != side_colour(b) {
                assert!(matches!((a, b), (11, 12) | (23, 24)), "{a}-{b}");
            }
        }
    }
}
