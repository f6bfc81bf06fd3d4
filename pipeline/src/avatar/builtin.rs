//! The built-in avatar's layout: from an [`AvatarState`] and the rectangle it is drawn into, the
//! uniform block of `shaders/avatar_builtin.wgsl` (head placement, the rotation that maps the screen
//! onto the turning head, eye/brow/mouth values, shoulders and arms) and the quad to shade.

use bytemuck::{Pod, Zeroable};

use super::state::AvatarState;
use crate::rig::{skeleton, HumanBone, Rig};

/// Colours of the built-in avatar (sRGB bytes).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Palette {
    pub skin: [u8; 3],
    pub skin_shade: [u8; 3],
    pub hair: [u8; 3],
    pub hair_shade: [u8; 3],
    pub iris: [u8; 3],
    pub shirt: [u8; 3],
    pub shirt_shade: [u8; 3],
    pub line: [u8; 3],
}

impl Default for Palette {
    fn default() -> Self {
        Self {
            skin: [255, 224, 200],
            skin_shade: [240, 180, 160],
            hair: [108, 76, 170],
            hair_shade: [66, 44, 116],
            iris: [46, 170, 190],
            shirt: [255, 150, 82],
            shirt_shade: [220, 104, 60],
            line: [58, 36, 48],
        }
    }
}

/// How many quads the split passes can use (the shader's `parts` array).
pub const MAX_QUADS: usize = 128;

/// The uniform block of `avatar_builtin.wgsl` (field order and meaning as in the shader's `Avatar`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BuiltinUniform {
    pub quad: [f32; 4],
    pub target: [f32; 4],
    pub head: [f32; 4],
    pub roll: [f32; 4],
    pub rot: [[f32; 4]; 3],
    pub eyes: [f32; 4],
    pub brows: [f32; 4],
    pub mouth: [f32; 4],
    pub ears: [f32; 4],
    pub ear_width: [f32; 4],
    pub shoulders: [f32; 4],
    pub elbows: [f32; 4],
    pub wrists: [f32; 4],
    pub arms: [f32; 4],
    /// Frown, pucker, cheek puff, tongue out (0..1), as the shader's `mood`.
    pub mood: [f32; 4],
    /// Knuckle and tip of each finger (target pixels), thumb first, image-left hand then
    /// image-right.
    pub fingers: [[f32; 4]; 10],
    pub colors: [[f32; 4]; 8],
    /// Quads of the split passes, `[x0, y0, x1, y1]` in target pixels: see [`Draw`].
    pub parts: [[f32; 4]; MAX_QUADS],
    /// The side each quad draws (-1 image left, +1 image right), four to an entry.
    pub sides: [[f32; 4]; MAX_QUADS / 4],
}

impl Default for BuiltinUniform {
    fn default() -> Self {
        Zeroable::zeroed()
    }
}

/// The built-in avatar's split passes, drawn in this order, each over its own quads of
/// [`BuiltinUniform::parts`] (the shader's `fs_*` entry points). A CPU rasteriser such as lavapipe
/// runs every shape of a fragment shader on every pixel it covers (both sides of each branch, in
/// SIMD), so drawing each part over tight quads is what keeps the per-pixel work small, and the
/// `*Fill` passes shade the inside of an opaque shape with its colour alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The neck, from inside the head down to the shoulder line.
    Neck,
    /// The torso's edge and collar: the torso minus [`Part::TorsoFill`].
    Torso,
    /// Inside the torso: the shirt's colour only.
    TorsoFill,
    /// One arm (the quad's side), resting or tracked.
    Arms,
    /// One hand (the quad's side): palm and fingers.
    Hands,
    /// Back hair, ears and the head's skin, outside [`Part::HeadFill`].
    Head,
    /// Inside the head's outline: the skin's colour only.
    HeadFill,
    /// One cheek's blush (the quad's side).
    Blush,
    Nose,
    Mouth,
    /// One eye (the quad's side).
    Eye,
    /// One brow (the quad's side).
    Brow,
    /// The fringe and the hair over the head.
    Hair,
}

impl Part {
    pub const ALL: [Part; 13] = [
        Part::Neck,
        Part::Torso,
        Part::TorsoFill,
        Part::Arms,
        Part::Hands,
        Part::Head,
        Part::HeadFill,
        Part::Blush,
        Part::Nose,
        Part::Mouth,
        Part::Eye,
        Part::Brow,
        Part::Hair,
    ];

    /// The fragment entry point of `shaders/avatar_builtin.wgsl`.
    pub fn entry_point(self) -> &'static str {
        match self {
            Part::Neck => "fs_neck",
            Part::Torso => "fs_torso",
            Part::TorsoFill => "fs_torso_fill",
            Part::Arms => "fs_arms",
            Part::Hands => "fs_hands",
            Part::Head => "fs_head",
            Part::HeadFill => "fs_head_fill",
            Part::Blush => "fs_blush",
            Part::Nose => "fs_nose",
            Part::Mouth => "fs_mouth",
            Part::Eye => "fs_eye",
            Part::Brow => "fs_brow",
            Part::Hair => "fs_hair",
        }
    }

    /// Index into [`Part::ALL`] (which lists the parts in declaration order).
    pub fn index(self) -> usize {
        self as usize
    }
}

/// One split-pass draw: `part`'s shader over the quads `first..first + count` of
/// [`BuiltinUniform::parts`] (instances `first + 1..`, see the shader's `vs_main`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Draw {
    pub part: Part,
    pub first: u32,
    pub count: u32,
}

/// The built-in avatar for one frame: its uniform block and the split-pass draws, in order.
#[derive(Clone, Debug)]
pub struct Layout {
    pub uniform: BuiltinUniform,
    pub draws: Vec<Draw>,
}

/// Where the avatar is drawn: a rectangle of the target, in pixels (the whole frame, or the
/// picture-in-picture inset).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placement {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

impl Placement {
    pub fn full(width: u32, height: u32) -> Self {
        Self {
            x: 0.0,
            y: 0.0,
            width: width as f32,
            height: height as f32,
        }
    }

    /// A normalised point (0..1) of the rectangle, in target pixels.
    pub fn point(&self, p: [f32; 2]) -> [f32; 2] {
        [self.x + p[0] * self.width, self.y + p[1] * self.height]
    }
}

/// The head on screen: centre and radius in target pixels, for tests and overlays.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HeadGeometry {
    pub center: [f32; 2],
    pub radius: f32,
}

impl HeadGeometry {
    /// Head radius from the face height: the face box (forehead to chin) spans about 1.9 radii.
    pub fn new(state: &AvatarState, place: &Placement) -> Self {
        Self {
            center: place.point(state.center),
            radius: (state.scale * place.height / 1.9).max(2.0),
        }
    }

    /// A point of the front of the face in head units (x right, y down, 1 = radius; the eyes sit
    /// at (±0.36, 0.04), the mouth at (0, 0.5)) as drawn on screen for `state`'s pose.
    pub fn face_point(&self, state: &AvatarState, p: [f32; 2]) -> [f32; 2] {
        let z = (1.0 - p[0] * p[0] - p[1] * p[1]).max(0.0).sqrt();
        let v = rotate_head(state, [p[0], p[1], z]);
        let (s, c) = state.roll.to_radians().sin_cos();
        let (x, y) = (v[0] * c - v[1] * s, v[0] * s + v[1] * c);
        [
            self.center[0] + x * self.radius,
            self.center[1] + y * self.radius,
        ]
    }
}

/// Head frame -> view: yaw about the vertical axis (nose towards +x for yaw > 0), then pitch about
/// the horizontal axis (nose towards -y, up, for pitch > 0). Coordinates x right, y down, z towards
/// the viewer.
fn rotate_head(state: &AvatarState, v: [f32; 3]) -> [f32; 3] {
    let m = head_rotation(state);
    [
        m[0][0] * v[0] + m[0][1] * v[1] + m[0][2] * v[2],
        m[1][0] * v[0] + m[1][1] * v[1] + m[1][2] * v[2],
        m[2][0] * v[0] + m[2][1] * v[1] + m[2][2] * v[2],
    ]
}

/// The matrix of [`rotate_head`], rows first.
fn head_rotation(state: &AvatarState) -> [[f32; 3]; 3] {
    let (sy, cy) = state.yaw.clamp(-80.0, 80.0).to_radians().sin_cos();
    let (sp, cp) = state.pitch.clamp(-60.0, 60.0).to_radians().sin_cos();
    // Yaw: x' = x cy + z sy, z' = -x sy + z cy. Pitch: y'' = y cp - z' sp, z'' = y sp + z' cp.
    [
        [cy, 0.0, sy],
        [sy * sp, cp, -cy * sp],
        [-sy * cp, sp, cy * cp],
    ]
}

/// The distance between the upper arms' joints of the rest skeleton (metres).
fn shoulder_span() -> f32 {
    let x = |b: HumanBone| skeleton::local_position(b).map_or(0.0, |p| p[0]);
    2.0 * (x(HumanBone::LeftShoulder) + x(HumanBone::LeftUpperArm))
}

/// One arm from the rig (`person` 0 = the person's left, 1 = right), drawn from `shoulder`
/// (target pixels) at `per_metre` pixels per metre of the rest skeleton: the elbow, and the
/// forearm's vector from the elbow to the wrist. The rig's +x is the image's right, +y up.
fn rig_arm(rig: &Rig, person: usize, shoulder: [f32; 2], per_metre: f32) -> ([f32; 2], [f32; 2]) {
    let (bones, _, rest) = arm_bones(person);
    let length = |b: HumanBone| skeleton::local_position(b).map_or(0.0, |p| p[0].abs());
    let a = project(
        arm_global(rig, &bones, 1) * rest * length(bones[2]),
        per_metre,
    );
    let b = project(
        arm_global(rig, &bones, 2) * rest * length(bones[3]),
        per_metre,
    );
    ([shoulder[0] + a[0], shoulder[1] + a[1]], b)
}

/// The bones of one arm (`person` 0 = the person's left): shoulder, upper arm, lower arm, hand,
/// then each finger's three bones, thumb first; and the arm's rest direction in the rig.
fn arm_bones(person: usize) -> ([HumanBone; 4], [[HumanBone; 3]; 5], glam::Vec3) {
    use HumanBone::*;
    if person == 0 {
        (
            [LeftShoulder, LeftUpperArm, LeftLowerArm, LeftHand],
            [
                [LeftThumbProximal, LeftThumbIntermediate, LeftThumbDistal],
                [LeftIndexProximal, LeftIndexIntermediate, LeftIndexDistal],
                [LeftMiddleProximal, LeftMiddleIntermediate, LeftMiddleDistal],
                [LeftRingProximal, LeftRingIntermediate, LeftRingDistal],
                [LeftLittleProximal, LeftLittleIntermediate, LeftLittleDistal],
            ],
            glam::Vec3::X,
        )
    } else {
        (
            [RightShoulder, RightUpperArm, RightLowerArm, RightHand],
            [
                [RightThumbProximal, RightThumbIntermediate, RightThumbDistal],
                [RightIndexProximal, RightIndexIntermediate, RightIndexDistal],
                [
                    RightMiddleProximal,
                    RightMiddleIntermediate,
                    RightMiddleDistal,
                ],
                [RightRingProximal, RightRingIntermediate, RightRingDistal],
                [
                    RightLittleProximal,
                    RightLittleIntermediate,
                    RightLittleDistal,
                ],
            ],
            -glam::Vec3::X,
        )
    }
}

/// The global rotation of the arm's `n`-th bone (0 shoulder .. 3 hand) from the rig.
fn arm_global(rig: &Rig, bones: &[HumanBone; 4], n: usize) -> glam::Quat {
    bones[..=n].iter().fold(
        rig.rotation(HumanBone::Spine) * rig.rotation(HumanBone::Chest),
        |g, b| g * rig.rotation(*b),
    )
}

/// A rig-space vector (x = the image's right, y up) as target pixels at `per_metre`.
fn project(v: glam::Vec3, per_metre: f32) -> [f32; 2] {
    [v.x * per_metre, -v.y * per_metre]
}

/// Each finger of one hand (`person` 0 = the person's left) from the rig, drawn from the `wrist`
/// (target pixels) with the rest skeleton's proportions: `[knuckle x, y, tip x, y]`, thumb first.
/// A curled finger's tip comes back towards its knuckle.
fn rig_fingers(rig: &Rig, person: usize, wrist: [f32; 2], per_metre: f32) -> [[f32; 4]; 5] {
    let (arm, fingers, rest) = arm_bones(person);
    let hand = arm_global(rig, &arm, 3);
    let offset = |b: HumanBone| {
        let p = skeleton::local_position(b).unwrap_or([0.0; 3]);
        glam::Vec3::from(p)
    };
    let mut out = [[0.0; 4]; 5];
    for (f, bones) in fingers.iter().enumerate() {
        let knuckle = hand * offset(bones[0]);
        let mut g = hand * rig.rotation(bones[0]);
        let mut at = knuckle;
        for b in &bones[1..] {
            at += g * offset(*b);
            g *= rig.rotation(*b);
        }
        // The distal bone's own length: as long as the joint before it.
        let last = offset(bones[2]).length();
        let tip = at + g * rest * last;
        let [kx, ky] = project(knuckle, per_metre);
        let [tx, ty] = project(tip, per_metre);
        out[f] = [wrist[0] + kx, wrist[1] + ky, wrist[0] + tx, wrist[1] + ty];
    }
    out
}

fn color(c: [u8; 3]) -> [f32; 4] {
    [
        f32::from(c[0]) / 255.0,
        f32::from(c[1]) / 255.0,
        f32::from(c[2]) / 255.0,
        1.0,
    ]
}

/// The uniform block and split-pass draws for `state` drawn into `place` of a `target_w` x
/// `target_h` target.
pub fn layout(
    state: &AvatarState,
    place: &Placement,
    palette: &Palette,
    target_w: u32,
    target_h: u32,
) -> Layout {
    let head = HeadGeometry::new(state, place);
    let r = head.radius;
    let [cx, cy] = head.center;
    let m = head_rotation(state);
    let (sr, cr) = state.roll.to_radians().sin_cos();
    let mut u = BuiltinUniform {
        target: [target_w as f32, target_h as f32, 0.0, 0.0],
        // Outline: about 3% of the radius, at least 1.5 pixels.
        head: [cx, cy, r, (0.03f32).max(1.5 / r)],
        roll: [cr, sr, 0.0, 0.0],
        ..BuiltinUniform::default()
    };
    // View -> head frame is the transpose of head frame -> view.
    for (i, row) in u.rot.iter_mut().enumerate() {
        *row = [m[0][i], m[1][i], m[2][i], 0.0];
    }
    // Image-left = the person's right.
    let open = |b: f32| 1.0 - b.clamp(0.0, 1.0);
    u.eyes = [
        open(state.blink[1]),
        open(state.blink[0]),
        state.gaze[0],
        state.gaze[1],
    ];
    // Brows lower (mostly at the inner end: an angry slant) with `browDown`.
    let down = [
        state.expression("browDownLeft"),
        state.expression("browDownRight"),
    ];
    u.brows = [
        state.brow_inner_up - 0.8 * down[1],
        state.brow_outer_up[1] - 0.25 * down[1],
        state.brow_inner_up - 0.8 * down[0],
        state.brow_outer_up[0] - 0.25 * down[0],
    ]
    .map(|b| b.clamp(-1.0, 1.0));
    u.mouth = [
        state.jaw_open.clamp(0.0, 1.0),
        state.smile[1].clamp(0.0, 1.0),
        state.smile[0].clamp(0.0, 1.0),
        (0.5 * (state.stretch[0] + state.stretch[1])).clamp(0.0, 1.0),
    ];
    u.mood = [
        0.5 * (state.expression("mouthFrownLeft") + state.expression("mouthFrownRight")),
        state.expression("mouthPucker"),
        state.expression("cheekPuff"),
        state.expression("tongueOut"),
    ];
    // Ears: on the sides of the head, a little behind the centre; narrower as they turn away.
    for (k, side) in [-1.0f32, 1.0].into_iter().enumerate() {
        let e = rotate_head(state, [side, 0.08, -0.1]);
        u.ears[2 * k] = e[0];
        u.ears[2 * k + 1] = e[1];
        let facing = rotate_head(state, [side, 0.0, 0.0]);
        u.ear_width[k] = 0.05 + 0.11 * facing[0].abs();
    }
    let jaw = rotate_head(state, [0.0, 0.3, 0.25]);
    u.ear_width[2] = jaw[0];
    u.ear_width[3] = jaw[1] + 0.02;

    // Body: tracked shoulders when both are visible, else a torso under the head.
    let body = state.body.unwrap_or_default();
    let default_shoulder = |side: f32| [cx + side * 1.6 * r, cy + 1.8 * r];
    let (sl, sr_) = match body.shoulders {
        // Person's right shoulder = image left.
        [Some(left), Some(right)] => (place.point(right), place.point(left)),
        _ => (default_shoulder(-1.0), default_shoulder(1.0)),
    };
    u.shoulders = [sl[0], sl[1], sr_[0], sr_[1]];
    let torso_r = (0.45 * ((sr_[0] - sl[0]).hypot(sr_[1] - sl[1])) / 3.5).clamp(0.4 * r, 1.2 * r);
    u.arms[2] = torso_r;
    u.arms[3] = 0.3 * r;
    // Arms: image-left arm is the person's right (index 1). Joints the pose model saw are drawn
    // where it saw them; the rest follow the rig from the shoulder (resting at the sides when no
    // body is seen), with the rest skeleton's proportions scaled to the drawn shoulders.
    // A cartoon's limbs: 80% of the skeleton's length for the width of its shoulders.
    let per_metre = 0.8 * (sr_[0] - sl[0]).hypot(sr_[1] - sl[1]) / shoulder_span();
    for (k, person) in [1usize, 0].into_iter().enumerate() {
        let shoulder = if k == 0 { sl } else { sr_ };
        let tracked = state.body.is_some() && body.shoulders[person].is_some();
        let (fk_elbow, fk_forearm) = rig_arm(&state.rig, person, shoulder, per_metre);
        let e = match (tracked, body.elbows[person]) {
            (true, Some(elbow)) => place.point(elbow),
            _ => fk_elbow,
        };
        let w = match (tracked, body.wrists[person]) {
            (true, Some(wrist)) => place.point(wrist),
            _ => [e[0] + fk_forearm[0], e[1] + fk_forearm[1]],
        };
        u.elbows[2 * k] = e[0];
        u.elbows[2 * k + 1] = e[1];
        u.wrists[2 * k] = w[0];
        u.wrists[2 * k + 1] = w[1];
        u.arms[k] = 2.0;
        let fingers = rig_fingers(&state.rig, person, w, per_metre);
        u.fingers[5 * k..5 * k + 5].copy_from_slice(&fingers);
    }

    // The quad: the head with its hair, plus the body down to the bottom of the placement.
    let mut x0 = cx - 1.5 * r;
    let mut x1 = cx + 1.5 * r;
    let mut y0 = cy - 1.5 * r;
    let mut y1 = cy + 1.5 * r;
    let reach = torso_r * 1.2;
    let mut grow = |p: [f32; 2], pad: f32| {
        x0 = x0.min(p[0] - pad);
        x1 = x1.max(p[0] + pad);
        y0 = y0.min(p[1] - pad);
        y1 = y1.max(p[1] + pad);
    };
    grow(sl, reach);
    grow(sr_, reach);
    for k in 0..2 {
        if u.arms[k] > 0.5 {
            grow([u.elbows[2 * k], u.elbows[2 * k + 1]], reach);
        }
        if u.arms[k] > 1.5 {
            grow([u.wrists[2 * k], u.wrists[2 * k + 1]], reach);
            for f in &u.fingers[5 * k..5 * k + 5] {
                grow([f[0], f[1]], reach);
                grow([f[2], f[3]], reach);
            }
        }
    }
    y1 = y1.max(place.y + place.height);
    let clip = |v: f32, lo: f32, hi: f32| v.clamp(lo, hi);
    u.quad = [
        clip(x0.floor(), place.x, place.x + place.width),
        clip(y0.floor(), place.y, place.y + place.height),
        clip(x1.ceil(), place.x, place.x + place.width),
        clip(y1.ceil(), place.y, place.y + place.height),
    ];
    let p = palette;
    u.colors = [
        color(p.skin),
        color(p.skin_shade),
        color(p.hair),
        color(p.hair_shade),
        color(p.iris),
        color(p.shirt),
        color(p.shirt_shade),
        color(p.line),
    ];
    let draws = split(&mut u, place);
    Layout { uniform: u, draws }
}

/// Face features' extents in the head frame (x right, y down, unit = radius) for the values in
/// `u`, with the part and the side each one draws: `[x0, y0, x1, y1]` around everything the
/// shader's `blush`, `nose`, `mouth`, `eye` and `brow` can paint (outlines included; anti-aliasing
/// is added by [`frame_box`]).
fn features(u: &BuiltinUniform) -> [(Part, f32, [f32; 4]); 8] {
    // Mouth: `width` and `height` as the shader's, the corners bent by the smiles and the frown;
    // the tongue hangs below the lower lip.
    let [open, smile_l, smile_r, widen] = u.mouth;
    let [frown, pucker, puff, tongue] = u.mood;
    let avg = 0.5 * (smile_l + smile_r);
    let width =
        (0.19 + 0.09 * widen + 0.05 * avg - 0.03 * open) * (1.0 - 0.5 * pucker - 0.3 * puff);
    let height = 0.012 + 0.34 * open + 0.1 * pucker * (1.0 - open) + 0.08 * tongue;
    let bend_lo = avg * 0.02 - 0.11 * smile_l.max(smile_r) - 0.02 * frown;
    let bend_hi = avg * 0.02 + 0.1 * frown;
    let tongue_low = if tongue > 0.0 {
        0.02 + 0.03 + 0.12 * tongue
    } else {
        0.0
    };
    let mouth = [
        -width.max(0.06) - 0.01,
        0.5 + bend_lo - 0.25 * height - 0.01,
        width.max(0.06) + 0.01,
        0.5 + bend_hi + height + tongue_low + 0.01,
    ];
    // Blush: an ellipse that grows with the cheek puff.
    let (bx, by) = (0.2 + 0.08 * puff, 0.11 + 0.09 * puff);
    let blush = |s: f32| [s * 0.52 - bx, 0.3 - by, s * 0.52 + bx, 0.3 + by];
    // Eyes, in the eye's own frame (x towards the nose, y down): the outlined ellipse and the lash
    // flick at the outer corner while open enough, the closed arc while nearly shut.
    let eye = |s: f32, open: f32| {
        let ry = 0.21 * open;
        let (mut y0, mut y1) = (f32::MAX, f32::MIN);
        if ry > 0.012 {
            y0 = y0.min(-ry.max(ry * 0.62 + 0.03 + 0.016) - 0.01);
            y1 = y1.max(ry + 0.01);
        }
        if open < 0.3 {
            y0 = y0.min(0.0);
            y1 = y1.max(0.12);
        }
        // Outer corner (lash) at x = -0.22 of the eye frame; the eye frame's x is mirrored.
        let (x0, x1) = if s < 0.0 {
            (-0.58, -0.19)
        } else {
            (0.19, 0.58)
        };
        [x0, 0.04 + y0, x1, 0.04 + y1]
    };
    // Brows: two capsules through three points that move with the raise values.
    let brow = |s: f32, inner: f32, outer: f32| {
        let ys = [
            0.02 - inner * 0.13,
            0.05 - outer * 0.11,
            -0.035 - (inner + outer) * 0.06,
        ];
        let lo = ys.iter().fold(f32::MAX, |a, b| a.min(*b)) - 0.04;
        let hi = ys.iter().fold(f32::MIN, |a, b| a.max(*b)) + 0.04;
        let (x0, x1) = if s < 0.0 {
            (-0.58, -0.16)
        } else {
            (0.16, 0.58)
        };
        [x0, -0.3 + lo, x1, -0.3 + hi]
    };
    [
        (Part::Blush, -1.0, blush(-1.0)),
        (Part::Blush, 1.0, blush(1.0)),
        (Part::Nose, 0.0, [-0.05, 0.16, 0.08, 0.29]),
        (Part::Mouth, 0.0, mouth),
        (Part::Eye, -1.0, eye(-1.0, u.eyes[0])),
        (Part::Eye, 1.0, eye(1.0, u.eyes[1])),
        (Part::Brow, -1.0, brow(-1.0, u.brows[0], u.brows[1])),
        (Part::Brow, 1.0, brow(1.0, u.brows[2], u.brows[3])),
    ]
}

/// Quads kept free for the parts after a tiled one (face features, hair).
const RESERVED_QUADS: usize = 16;

/// Collects the split passes' quads into the uniform block, one [`Draw`] per run of quads of the
/// same part. Quads are whole pixels clipped to the placement, so quads that tile a region cover
/// each pixel once.
struct Quads<'a> {
    u: &'a mut BuiltinUniform,
    clip: [f32; 4],
    count: usize,
    draws: Vec<Draw>,
}

impl Quads<'_> {
    fn push(&mut self, part: Part, q: [f32; 4], side: f32) {
        let [cx0, cy0, cx1, cy1] = self.clip;
        let x0 = q[0].floor().clamp(cx0, cx1);
        let y0 = q[1].floor().clamp(cy0, cy1);
        let x1 = q[2].ceil().clamp(cx0, cx1);
        let y1 = q[3].ceil().clamp(cy0, cy1);
        if x1 <= x0 || y1 <= y0 || self.count == MAX_QUADS {
            return;
        }
        let k = self.count;
        self.u.parts[k] = [x0, y0, x1, y1];
        self.u.sides[k / 4][k % 4] = side;
        self.count += 1;
        match self.draws.last_mut() {
            Some(d) if d.part == part => d.count += 1,
            _ => self.draws.push(Draw {
                part,
                first: k as u32,
                count: 1,
            }),
        }
    }

    /// `region` cut into tiles without those `bare` proves empty (see [`tiled`]), or whole when
    /// the tiles would not leave room for the quads still to come.
    fn push_tiled(
        &mut self,
        part: Part,
        region: [f32; 4],
        tile: f32,
        bare: impl Fn([f32; 4]) -> bool,
    ) {
        let tiles = tiled(region, tile, bare);
        if self.count + tiles.len() + RESERVED_QUADS <= MAX_QUADS {
            for q in tiles {
                self.push(part, q, 0.0);
            }
        } else {
            self.push(part, region, 0.0);
        }
    }

    /// `region` with the shader of `edge`, except the rectangle `inside` (whole pixels, within
    /// `region`), which gets `fill`: the four quads around it, then it.
    fn with_inside(&mut self, edge: Part, fill: Part, region: [f32; 4], inside: [f32; 4]) {
        let [x0, y0, x1, y1] = region.map(f32::round);
        let [ix0, iy0, ix1, iy1] = inside;
        let ix0 = ix0.ceil().max(x0);
        let iy0 = iy0.ceil().max(y0);
        let ix1 = ix1.floor().min(x1);
        let iy1 = iy1.floor().min(y1);
        if ix1 <= ix0 || iy1 <= iy0 {
            self.push(edge, [x0, y0, x1, y1], 0.0);
            return;
        }
        self.push(edge, [x0, y0, x1, iy0], 0.0);
        self.push(edge, [x0, iy0, ix0, iy1], 0.0);
        self.push(edge, [ix1, iy0, x1, iy1], 0.0);
        self.push(edge, [x0, iy1, x1, y1], 0.0);
        self.push(fill, [ix0, iy0, ix1, iy1], 0.0);
    }
}

/// Horizontal slabs an arm's quad is cut into: a slanted arm fills a fraction of its bounding box.
const ARM_SLABS: usize = 4;

/// Quads (whole pixels, disjoint) covering every point within `reach` of the polyline `points`:
/// its bounding box cut into `n` horizontal slabs, each as wide as the polyline within `reach` of
/// the slab's rows.
fn polyline_slabs(points: &[[f32; 2]], reach: f32, n: usize) -> Vec<[f32; 4]> {
    let mut bounds = EMPTY;
    for p in points {
        grow(&mut bounds, p[0], p[1], reach);
    }
    if bounds[2] < bounds[0] || n == 0 {
        return Vec::new();
    }
    let (y0, y1) = (bounds[1].floor(), bounds[3].ceil());
    let rows: Vec<f32> = (0..=n)
        .map(|j| (y0 + (y1 - y0) * j as f32 / n as f32).round())
        .collect();
    let mut out = Vec::with_capacity(n);
    for pair in rows.windows(2) {
        let (lo, hi) = (pair[0] - reach, pair[1] + reach);
        let mut xs = EMPTY;
        for seg in points.windows(2) {
            let ([ax, ay], [bx, by]) = (seg[0], seg[1]);
            if ay.max(by) < lo || ay.min(by) > hi {
                continue;
            }
            let dy = by - ay;
            let (t0, t1) = if dy.abs() < 1e-6 {
                (0.0, 1.0)
            } else {
                (
                    ((lo - ay) / dy).clamp(0.0, 1.0),
                    ((hi - ay) / dy).clamp(0.0, 1.0),
                )
            };
            for t in [t0, t1] {
                grow(&mut xs, ax + (bx - ax) * t, lo, 0.0);
            }
        }
        if xs[2] >= xs[0] && pair[1] > pair[0] {
            out.push([xs[0] - reach, pair[0], xs[2] + reach, pair[1]]);
        }
    }
    out
}

fn grow(b: &mut [f32; 4], x: f32, y: f32, pad: f32) {
    b[0] = b[0].min(x - pad);
    b[1] = b[1].min(y - pad);
    b[2] = b[2].max(x + pad);
    b[3] = b[3].max(y + pad);
}

fn intersect(a: [f32; 4], b: [f32; 4]) -> [f32; 4] {
    [
        a[0].max(b[0]),
        a[1].max(b[1]),
        a[2].min(b[2]),
        a[3].min(b[3]),
    ]
}

const EMPTY: [f32; 4] = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];

/// The split passes for the layout `u` (its head, shoulders and arms already set): fills
/// `u.parts`/`u.sides` and returns the draws in drawing order.
fn split(u: &mut BuiltinUniform, place: &Placement) -> Vec<Draw> {
    let [cx, cy, r, wh] = u.head;
    let (cr, sr) = (u.roll[0], u.roll[1]);
    // Head space (roll removed, unit = radius) -> target pixels, as the shader's inverse.
    let screen = |q: [f32; 2]| {
        [
            cx + r * (q[0] * cr - q[1] * sr),
            cy + r * (q[0] * sr + q[1] * cr),
        ]
    };
    // A head-space box's outline on the target.
    let screen_box = |b: [f32; 4]| {
        let mut out = EMPTY;
        for (x, y) in [(b[0], b[1]), (b[2], b[1]), (b[0], b[3]), (b[2], b[3])] {
            let p = screen([x, y]);
            grow(&mut out, p[0], p[1], 0.0);
        }
        out
    };
    let arms_tracked = u.arms[0] + u.arms[1] > 0.0;
    let mut quads = Quads {
        clip: [
            place.x.floor().max(0.0),
            place.y.floor().max(0.0),
            (place.x + place.width).ceil().min(u.target[0]),
            (place.y + place.height).ceil().min(u.target[1]),
        ],
        u,
        count: 0,
        draws: Vec::new(),
    };
    let u = &*quads.u;
    let feature_boxes = features(u);
    let s = u.shoulders;
    let (rb, nw) = (u.arms[2], u.arms[3]);
    let elbows = u.elbows;
    let wrists = u.wrists;
    let fingers = u.fingers;
    let arms_kind = [u.arms[0], u.arms[1]];
    let (ears, ear_width, rot) = (u.ears, u.ear_width, u.rot);
    // The body's outline width (pixels), as the shader's.
    let w = (wh * r).max(1.5);
    // The body is only drawn below the head's centre unless an arm is raised (`in_body`).
    let body_top = if arms_tracked { f32::MIN } else { cy.floor() };

    // Neck: the capsule from inside the head to the shoulders' midpoint, with its edge.
    let mid = [0.5 * (s[0] + s[2]), 0.5 * (s[1] + s[3])];
    let mut neck = EMPTY;
    grow(&mut neck, cx, cy + 0.5 * r, nw + 2.0);
    grow(&mut neck, mid[0], mid[1], nw + 2.0);
    neck[1] = neck[1].max(body_top);
    quads.push(Part::Neck, neck, 0.0);

    // Torso: the shoulder capsule (radius rb) smoothly joined (by up to rb / 8) with the box
    // below the shoulders (half width `half` + rb / 5), down to the bottom.
    let half = 0.5 * (s[2] - s[0]).hypot(s[3] - s[1]) + 0.6 * rb;
    let edge = 0.2 * rb + 0.125 * rb + 2.0;
    let mut torso = EMPTY;
    grow(&mut torso, s[0], s[1], rb + edge);
    grow(&mut torso, s[2], s[3], rb + edge);
    grow(&mut torso, mid[0] - half, mid[1], edge);
    grow(&mut torso, mid[0] + half, mid[1], edge);
    torso[3] = place.y + place.height;
    torso[1] = torso[1].max(body_top);
    // Inside: within the box by the outline and a pixel and a half, and below the collar (an
    // ellipse whose approximate distance grows at min(rx, ry) / ry of the true one).
    let m = w + 1.5;
    let (crx, cry) = (1.5 * nw, 0.9 * rb);
    let collar_clear = mid[1] - 0.55 * rb + cry + 0.5 * cry / crx.min(cry).max(1e-3) + 1.0;
    let inside = [
        mid[0] - half - 0.2 * rb + m,
        (mid[1] - 0.2 * rb + m)
            .max(collar_clear)
            .max(body_top + 1.0),
        mid[0] + half + 0.2 * rb - m,
        torso[3],
    ];
    quads.with_inside(Part::Torso, Part::TorsoFill, torso, inside);

    // Arms: one quad per arm (its side picks the arm) around the shoulder, elbow and wrist with
    // the upper arm's reach, the image-left arm first as the one pass draws them; then one quad per
    // hand around the wrist and the fingers.
    let reach = rb * 0.62 + w + 2.0;
    let side = |k: usize| if k == 0 { -1.0 } else { 1.0 };
    for k in 0..2 {
        let mut points = Vec::new();
        if arms_kind[k] > 0.5 {
            points.push([s[2 * k], s[2 * k + 1]]);
            points.push([elbows[2 * k], elbows[2 * k + 1]]);
        }
        if arms_kind[k] > 1.5 {
            points.push([wrists[2 * k], wrists[2 * k + 1]]);
        }
        for slab in polyline_slabs(&points, reach, ARM_SLABS) {
            quads.push(Part::Arms, slab, side(k));
        }
    }
    for k in 0..2 {
        if arms_kind[k] > 1.5 {
            let mut hand = EMPTY;
            grow(&mut hand, wrists[2 * k], wrists[2 * k + 1], reach);
            for f in &fingers[5 * k..5 * k + 5] {
                grow(&mut hand, f[0], f[1], reach);
                grow(&mut hand, f[2], f[3], reach);
            }
            quads.push(Part::Hands, hand, side(k));
        }
    }

    // Head: back hair (around x = -jaw x / 2), ears and the skin (sphere joined with the jaw), in
    // head space, with room for smooth joins, outlines and approximate ellipse distances; within
    // the disc the shader's `in_head_disc` allows.
    let (jx, jy) = (ear_width[2], ear_width[3]);
    let back = -0.5 * jx;
    let pad = 0.07 + 4.0 / r;
    let hx0 = (back - 1.14)
        .min(ears[0] - ear_width[0])
        .min(ears[2] - ear_width[1])
        .min(jx - 0.74)
        .min(-1.0);
    let hx1 = (back + 1.14)
        .max(ears[0] + ear_width[0])
        .max(ears[2] + ear_width[1])
        .max(jx + 0.74)
        .max(1.0);
    let hy1 = 1.04f32.max(jy + 0.76).max(ears[1] + 0.2).max(ears[3] + 0.2);
    let disc = 1.45 * r + 1.0;
    let head = intersect(
        screen_box([hx0 - pad, -1.24 - pad, hx1 + pad, hy1 + pad]),
        [cx - disc, cy - disc, cx + disc, cy + disc],
    );
    // Inside the skin's outline (1.5 pixels in): a disc, tiled by slabs whose rectangles get the
    // skin's colour alone.
    let ri = r * (1.0 - wh) - 2.0;
    let mut fills = Vec::new();
    if ri > 4.0 {
        let t = [-0.97f32, -0.87, -0.64, -0.34, 0.0, 0.34, 0.64, 0.87, 0.97];
        let rows: Vec<f32> = t.iter().map(|t| (cy + ri * t).round()).collect();
        for pair in rows.windows(2) {
            let far = (pair[0] - cy).abs().max((pair[1] - cy).abs());
            let hw = (ri * ri - far * far).max(0.0).sqrt();
            fills.push([(cx - hw).ceil(), pair[0], (cx + hw).floor(), pair[1]]);
        }
    }
    let head_r = head.map(f32::round);
    let tile = (r / 8.0).round().max(8.0);
    let shapes = HeadShapes {
        back: -0.5 * jx,
        ears,
        ear_width,
    };
    let bare = |t: [f32; 4]| shapes.free(t, [cx, cy, r], [cr, sr]);
    match (fills.first(), fills.last()) {
        (Some(first), Some(last)) => {
            let mut edges = vec![[head_r[0], head_r[1], head_r[2], first[1]]];
            for f in &fills {
                edges.push([head_r[0], f[1], f[0].max(head_r[0]), f[3]]);
                edges.push([f[2].min(head_r[2]), f[1], head_r[2], f[3]]);
            }
            edges.push([head_r[0], last[3], head_r[2], head_r[3]]);
            for e in edges {
                quads.push_tiled(Part::Head, e, tile, bare);
            }
            for f in &fills {
                quads.push(Part::HeadFill, *f, 0.0);
            }
        }
        _ => quads.push(Part::Head, head_r, 0.0),
    }

    // Face features: each one's head-frame box on the turning head (see `frame_box`), rolled onto
    // the target, within the head disc.
    for (part, side, b) in feature_boxes {
        let f = frame_box(rot, [jx, jy], b, r);
        if f[2] > f[0] {
            let q = intersect(screen_box(f), [cx - disc, cy - disc, cx + disc, cy + disc]);
            quads.push(part, q, side);
        }
    }

    // Front hair: on the sphere only (radius 1), plus its anti-aliased edge; tiles proven bare
    // (the face below the fringe, the corners off the sphere) are left out.
    let hair = [cx - r - 3.0, cy - r - 3.0, cx + r + 3.0, cy + r + 3.0].map(f32::round);
    let tile = (r / 8.0).round().max(8.0);
    quads.push_tiled(Part::Hair, hair, tile, |t| {
        hair_free(t, [cx, cy, r], [cr, sr], rot)
    });
    quads.draws
}

/// An interval of reals.
#[derive(Clone, Copy, Debug)]
struct Span(f32, f32);

impl Span {
    fn scale(self, k: f32) -> Span {
        if k >= 0.0 {
            Span(self.0 * k, self.1 * k)
        } else {
            Span(self.1 * k, self.0 * k)
        }
    }
    fn add(self, o: Span) -> Span {
        Span(self.0 + o.0, self.1 + o.1)
    }
    /// The squares of the interval's values.
    fn sq(self) -> Span {
        let (a, b) = (self.0 * self.0, self.1 * self.1);
        if self.0 <= 0.0 && self.1 >= 0.0 {
            Span(0.0, a.max(b))
        } else {
            Span(a.min(b), a.max(b))
        }
    }
    fn abs_max(self) -> f32 {
        self.0.abs().max(self.1.abs())
    }
}

/// The head pass's shapes (head space): the back hair around x = `back`, the ears, and the skin
/// (sphere joined with the jaw); see the shader's `head_base`.
struct HeadShapes {
    back: f32,
    ears: [f32; 4],
    ear_width: [f32; 4],
}

impl HeadShapes {
    /// Whether `head_base` paints nothing anywhere in the target rectangle `t`: lower bounds of
    /// every shape's distance over the rectangle's head-space bounds (smooth joins taken off) are
    /// beyond the outline's anti-aliasing, or the rectangle lies outside the head disc.
    fn free(&self, t: [f32; 4], head: [f32; 3], roll: [f32; 2]) -> bool {
        let (qx, qy) = head_space_bounds(t, head, roll);
        // Distance from a point, and from a box, to the rectangle's bounds.
        let gap = |lo: f32, hi: f32, a: f32, b: f32| (lo - b).max(a - hi).max(0.0);
        let from_point =
            |c: [f32; 2]| gap(qx.0, qx.1, c[0], c[0]).hypot(gap(qy.0, qy.1, c[1], c[1]));
        let from_box = |b: [f32; 4]| gap(qx.0, qx.1, b[0], b[2]).hypot(gap(qy.0, qy.1, b[1], b[3]));
        // sd_ellipse is (|p / r| - 1) min(r): at least this far out.
        let ellipse =
            |c: [f32; 2], rx: f32, ry: f32| (from_point(c) / rx.max(ry) - 1.0) * rx.min(ry);
        if from_point([0.0, 0.0]) > 1.45 + 1e-3 {
            return true;
        }
        let reach = 0.5 / head[2] + 1e-3;
        let back = from_point([self.back, -0.1]) - 1.14;
        let bob = from_box([self.back - 1.02, -0.14, self.back + 1.02, 0.7]) - 0.1;
        let ears = ellipse([self.ears[0], self.ears[1]], self.ear_width[0], 0.2).min(ellipse(
            [self.ears[2], self.ears[3]],
            self.ear_width[1],
            0.2,
        ));
        let skin = (from_point([0.0, 0.0]) - 1.0).min(ellipse(
            [self.ear_width[2], self.ear_width[3]],
            0.74,
            0.76,
        ));
        back.min(bob) - 0.0625 >= reach && ears >= reach && skin - 0.05 >= reach
    }
}

/// Bounds of the head-space point (roll removed, unit = radius) over the target rectangle `t`.
fn head_space_bounds(t: [f32; 4], head: [f32; 3], roll: [f32; 2]) -> (Span, Span) {
    let [cx, cy, r] = head;
    let [cr, sr] = roll;
    let rx = Span((t[0] - cx) / r, (t[2] - cx) / r);
    let ry = Span((t[1] - cy) / r, (t[3] - cy) / r);
    // q = rotate(-roll) * rel, as head_space.
    (
        rx.scale(cr).add(ry.scale(sr)),
        rx.scale(-sr).add(ry.scale(cr)),
    )
}

/// Whether the shader's `front_hair` paints nothing anywhere in the target rectangle `t`: bounds
/// of the head-space point and its head-frame point over the rectangle (interval arithmetic on the
/// shader's own mapping) show it is off the sphere, or on the face below the fringe, clear of the
/// sides and of the back, by more than the anti-aliasing reaches.
fn hair_free(t: [f32; 4], head: [f32; 3], roll: [f32; 2], rot: [[f32; 4]; 3]) -> bool {
    let (qx, qy) = head_space_bounds(t, head, roll);
    let q2 = qx.sq().add(qy.sq());
    let px = 1.0 / head[2];
    // Off the sphere: the hair's cover(length(q) - 1, px) is zero.
    if q2.0.sqrt() - 1.0 >= 0.5 * px + 1e-3 {
        return true;
    }
    if q2.1 >= 1.0 {
        return false;
    }
    let z = Span((1.0 - q2.1).sqrt(), (1.0 - q2.0).sqrt());
    let frame = |row: [f32; 4]| qx.scale(row[0]).add(qy.scale(row[1])).add(z.scale(row[2]));
    let (hx, hy, hz) = (frame(rot[0]), frame(rot[1]), frame(rot[2]));
    // Half a foreshortened pixel, the most the shader's anti-aliasing reaches, and some slack.
    let aa = 0.5 * px / z.0.max(0.3) + 1e-3;
    // The fringe: the hairline lies at or above -0.3 + 0.22 x^2.
    let hairline = -0.3 + 0.22 * hx.sq().1;
    hz.0 - 0.1 >= aa && hy.0 - hairline >= aa && 0.86 - hx.abs_max() >= 2.0 * aa
}

/// `region` (whole pixels) cut into `tile`-pixel tiles, without the tiles `bare` proves empty;
/// tiles in a row are joined into runs, and equal runs of consecutive rows into one quad.
fn tiled(region: [f32; 4], tile: f32, bare: impl Fn([f32; 4]) -> bool) -> Vec<[f32; 4]> {
    let mut out: Vec<[f32; 4]> = Vec::new();
    // Runs of the row above, as indices into `out`, to extend downwards.
    let mut above: Vec<usize> = Vec::new();
    let mut y = region[1];
    while y < region[3] {
        let y1 = (y + tile).min(region[3]);
        let mut runs: Vec<[f32; 2]> = Vec::new();
        let mut x = region[0];
        while x < region[2] {
            let x1 = (x + tile).min(region[2]);
            if !bare([x, y, x1, y1]) {
                match runs.last_mut() {
                    Some(run) if run[1] == x => run[1] = x1,
                    _ => runs.push([x, x1]),
                }
            }
            x = x1;
        }
        let same = runs.len() == above.len()
            && runs
                .iter()
                .zip(&above)
                .all(|(run, &i)| out[i][0] == run[0] && out[i][2] == run[1]);
        if same {
            for &i in &above {
                out[i][3] = y1;
            }
        } else {
            above = runs
                .iter()
                .map(|run| {
                    out.push([run[0], y, run[1], y1]);
                    out.len() - 1
                })
                .collect();
        }
        y = y1;
    }
    out
}

/// The head-space box (roll removed) of the pixels whose head-frame point falls in `b`
/// (`[x0, y0, x1, y1]`, head frame) on the front of the head: the shader maps a pixel `q` inside
/// the unit disc to the sphere point under it turned by `rot` (view -> head frame rows), and one
/// outside (the jaw, around `jaw` with radii 0.74 x 0.76) to `rot` times `(q, 0)`. `EMPTY`-like
/// (x1 < x0) when nothing shows.
fn frame_box(rot: [[f32; 4]; 3], jaw: [f32; 2], b: [f32; 4], r: f32) -> [f32; 4] {
    // Anti-aliasing reaches half a foreshortened pixel (a pixel is up to 1 / (0.3 r) of the head
    // frame) beyond a shape.
    let aa = 2.0 / r;
    let [bx0, by0, bx1, by1] = [b[0] - aa, b[1] - aa, b[2] + aa, b[3] + aa];
    let inside = |h: [f32; 3]| h[0] >= bx0 && h[0] <= bx1 && h[1] >= by0 && h[1] <= by1;
    // Head frame -> view is the transpose of `rot`.
    let to_view = |h: [f32; 3]| {
        [
            rot[0][0] * h[0] + rot[1][0] * h[1] + rot[2][0] * h[2],
            rot[0][1] * h[0] + rot[1][1] * h[1] + rot[2][1] * h[2],
            rot[0][2] * h[0] + rot[1][2] * h[1] + rot[2][2] * h[2],
        ]
    };
    let to_frame = |v: [f32; 3]| {
        [
            rot[0][0] * v[0] + rot[0][1] * v[1] + rot[0][2] * v[2],
            rot[1][0] * v[0] + rot[1][1] * v[1] + rot[1][2] * v[2],
            rot[2][0] * v[0] + rot[2][1] * v[1] + rot[2][2] * v[2],
        ]
    };
    let mut out = EMPTY;
    // On the sphere, the region's outline is the box's edges (points beyond the unit circle taken
    // on its rim) and the view's silhouette where it crosses the box.
    let steps = 64;
    for i in 0..=steps {
        let t = i as f32 / steps as f32;
        let (x, y) = (bx0 + (bx1 - bx0) * t, by0 + (by1 - by0) * t);
        for [hx, hy] in [[x, by0], [x, by1], [bx0, y], [bx1, y]] {
            let len = hx.hypot(hy);
            let (hx, hy) = if len > 1.0 {
                (hx / len, hy / len)
            } else {
                (hx, hy)
            };
            let hz = (1.0 - hx * hx - hy * hy).max(0.0).sqrt();
            let v = to_view([hx, hy, hz]);
            if v[2] >= -0.05 {
                grow(&mut out, v[0], v[1], 0.0);
            }
        }
    }
    for i in 0..720 {
        let (sa, ca) = (i as f32 * std::f32::consts::PI / 360.0).sin_cos();
        let h = to_frame([ca, sa, 0.0]);
        if h[2] > 0.0 && inside(h) {
            grow(&mut out, ca, sa, 0.0);
        }
    }
    // Beyond the sphere (the jaw): rot (q, 0) in the box, a parallelogram of q.
    let jaw_box = [jaw[0] - 0.9, jaw[1] - 0.9, jaw[0] + 0.9, jaw[1] + 0.9];
    let (a, bb, c, d) = (rot[0][0], rot[0][1], rot[1][0], rot[1][1]);
    let det = a * d - bb * c;
    let mut beyond = jaw_box;
    if det.abs() > 1e-3 {
        let mut para = EMPTY;
        for (x, y) in [(bx0, by0), (bx1, by0), (bx0, by1), (bx1, by1)] {
            grow(
                &mut para,
                (d * x - bb * y) / det,
                (-c * x + a * y) / det,
                0.0,
            );
        }
        beyond = intersect(jaw_box, para);
    }
    if beyond[2] > beyond[0] && beyond[3] > beyond[1] {
        grow(&mut out, beyond[0], beyond[1], 0.0);
        grow(&mut out, beyond[2], beyond[3], 0.0);
    }
    if out[2] < out[0] {
        return out;
    }
    // Sampling slack and three pixels for anti-aliasing.
    let pad = 0.01 + 3.0 / r;
    [out[0] - pad, out[1] - pad, out[2] + pad, out[3] + pad]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slabs_cover_a_slanted_arm_and_less_than_its_box() {
        let points = [[100.0, 100.0], [200.0, 300.0], [150.0, 420.0]];
        let reach = 10.0;
        let slabs = polyline_slabs(&points, reach, ARM_SLABS);
        assert_eq!(slabs.len(), ARM_SLABS);
        // Every point within reach of the polyline is in one slab.
        let inside = |x: f32, y: f32| {
            slabs
                .iter()
                .filter(|q| x >= q[0] && x <= q[2] && y >= q[1] && y < q[3])
                .count()
        };
        for seg in points.windows(2) {
            for i in 0..=50 {
                let t = i as f32 / 50.0;
                let x = seg[0][0] + (seg[1][0] - seg[0][0]) * t;
                let y = seg[0][1] + (seg[1][1] - seg[0][1]) * t;
                for (dx, dy) in [(reach, 0.0), (-reach, 0.0), (0.0, 0.0), (0.0, reach * 0.99)] {
                    assert_eq!(inside(x + dx, y + dy), 1, "({x}, {y}) + ({dx}, {dy})");
                }
            }
        }
        let area: f32 = slabs.iter().map(|q| (q[2] - q[0]) * (q[3] - q[1])).sum();
        assert!(area < 0.8 * 120.0 * 340.0, "{area}");
    }

    #[test]
    fn parts_are_listed_in_declaration_order() {
        for (i, part) in Part::ALL.iter().enumerate() {
            assert_eq!(part.index(), i, "{part:?}");
        }
    }

    #[test]
    fn uniform_matches_the_shader_block_size() {
        // 14 vec4 fields + 3 rotation rows + 8 colours + 10 fingers + the quads and their sides,
        // 16 bytes each.
        assert_eq!(
            std::mem::size_of::<BuiltinUniform>(),
            (35 + MAX_QUADS + MAX_QUADS / 4) * 16
        );
    }

    #[test]
    fn yaw_moves_the_face_towards_the_nose() {
        let place = Placement::full(640, 480);
        let still = AvatarState::default();
        let turned = AvatarState {
            yaw: 30.0,
            ..AvatarState::default()
        };
        let g = HeadGeometry::new(&still, &place);
        let a = g.face_point(&still, [0.0, 0.5]);
        let b = g.face_point(&turned, [0.0, 0.5]);
        assert!(b[0] > a[0] + 0.3 * g.radius, "{a:?} -> {b:?}");
        let up = AvatarState {
            pitch: 20.0,
            ..AvatarState::default()
        };
        assert!(g.face_point(&up, [0.0, 0.5])[1] < a[1]);
    }

    #[test]
    fn quad_stays_inside_the_placement() {
        let place = Placement {
            x: 400.0,
            y: 300.0,
            width: 200.0,
            height: 150.0,
        };
        let u = layout(
            &AvatarState::default(),
            &place,
            &Palette::default(),
            640,
            480,
        )
        .uniform;
        assert!(u.quad[0] >= 400.0 && u.quad[2] <= 600.0, "{:?}", u.quad);
        assert!(u.quad[1] >= 300.0 && u.quad[3] <= 450.0, "{:?}", u.quad);
        assert!(u.quad[2] > u.quad[0] && u.quad[3] > u.quad[1]);
    }
}
