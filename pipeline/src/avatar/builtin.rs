//! The built-in avatar's layout: from an [`AvatarState`] and the rectangle it is drawn into, the
//! uniform block of `shaders/avatar_builtin.wgsl` (head placement, the rotation that maps the screen
//! onto the turning head, eye/brow/mouth values, shoulders and arms) and the quad to shade.

use bytemuck::{Pod, Zeroable};

use super::state::AvatarState;

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

/// The uniform block of `avatar_builtin.wgsl` (field order and meaning as in the shader's `Avatar`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
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
    pub colors: [[f32; 4]; 8],
    /// Quads of the split passes, `[x0, y0, x1, y1]` in target pixels: see [`Part`].
    pub parts: [[f32; 4]; 5],
}

/// The built-in avatar's split passes, drawn in this order, each over its own quad of
/// [`BuiltinUniform::parts`] (the shader's `fs_body`, `fs_arms`, `fs_head`, `fs_face`, `fs_hair`;
/// an empty quad is not drawn). A CPU
/// rasteriser such as lavapipe runs every shape of a fragment shader on every pixel it covers
/// (both sides of each branch, in SIMD), so drawing the parts apart over tight quads is what keeps
/// the per-pixel work small.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// Neck and torso: from the shoulders down to the bottom.
    Body,
    /// The tracked arms (empty when none is).
    Arms,
    /// Back hair, ears and the head's skin.
    Head,
    /// Blush, nose, mouth, eyes and brows on the turning head.
    Face,
    /// The fringe and the hair over the head.
    Hair,
}

impl Part {
    pub const ALL: [Part; 5] = [Part::Body, Part::Arms, Part::Head, Part::Face, Part::Hair];

    /// The fragment entry point of `shaders/avatar_builtin.wgsl`.
    pub fn entry_point(self) -> &'static str {
        match self {
            Part::Body => "fs_body",
            Part::Arms => "fs_arms",
            Part::Head => "fs_head",
            Part::Face => "fs_face",
            Part::Hair => "fs_hair",
        }
    }
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

fn color(c: [u8; 3]) -> [f32; 4] {
    [
        f32::from(c[0]) / 255.0,
        f32::from(c[1]) / 255.0,
        f32::from(c[2]) / 255.0,
        1.0,
    ]
}

/// The uniform block for `state` drawn into `place` of a `target_w` x `target_h` target.
pub fn layout(
    state: &AvatarState,
    place: &Placement,
    palette: &Palette,
    target_w: u32,
    target_h: u32,
) -> BuiltinUniform {
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
    u.brows = [
        state.brow_inner_up,
        state.brow_outer_up[1],
        state.brow_inner_up,
        state.brow_outer_up[0],
    ];
    u.mouth = [
        state.jaw_open.clamp(0.0, 1.0),
        state.smile[1].clamp(0.0, 1.0),
        state.smile[0].clamp(0.0, 1.0),
        (0.5 * (state.stretch[0] + state.stretch[1])).clamp(0.0, 1.0),
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
    // Arms: image-left arm is the person's right (index 1).
    for (k, person) in [1usize, 0].into_iter().enumerate() {
        let tracked = state.body.is_some() && body.shoulders[person].is_some();
        let (Some(elbow), true) = (body.elbows[person], tracked) else {
            continue;
        };
        let e = place.point(elbow);
        u.elbows[2 * k] = e[0];
        u.elbows[2 * k + 1] = e[1];
        u.arms[k] = 1.0;
        if let Some(wrist) = body.wrists[person] {
            let w = place.point(wrist);
            u.wrists[2 * k] = w[0];
            u.wrists[2 * k + 1] = w[1];
            u.arms[k] = 2.0;
        }
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
    u.parts = part_quads(state, &u, place);
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
    u
}

/// The face's extent in the head frame (x right, y down, unit = radius): blush x ±0.72, brows up
/// to y -0.5, the widest open mouth down to 0.86, with a little room for anti-aliasing.
const FACE_BOX: [f32; 4] = [-0.78, -0.58, 0.78, 0.92];

/// The quads of [`Part::ALL`] for the layout `u` (its head, shoulders and arms already set).
fn part_quads(state: &AvatarState, u: &BuiltinUniform, place: &Placement) -> [[f32; 4]; 5] {
    let [cx, cy, r, _] = u.head;
    let (cr, sr) = (u.roll[0], u.roll[1]);
    let clip = |b: [f32; 4]| -> [f32; 4] {
        let (px0, py0) = (place.x, place.y);
        let (px1, py1) = (place.x + place.width, place.y + place.height);
        let x0 = b[0].floor().clamp(px0, px1);
        let y0 = b[1].floor().clamp(py0, py1);
        [
            x0,
            y0,
            b[2].ceil().clamp(x0, px1),
            b[3].ceil().clamp(y0, py1),
        ]
    };
    let around = |x: f32, y: f32, half: f32| [x - half, y - half, x + half, y + half];
    // Head space (roll removed, unit = radius) -> target pixels, as the shader's inverse.
    let screen = |q: [f32; 2]| {
        [
            cx + r * (q[0] * cr - q[1] * sr),
            cy + r * (q[0] * sr + q[1] * cr),
        ]
    };

    // Body: shoulders and neck with the torso's reach, down to the bottom; only below the head's
    // centre unless an arm is raised (the shader's `in_body`). Arms: shoulders, elbows and wrists
    // with the same reach, when an arm is tracked.
    let reach = u.arms[2] * 1.2 + 2.0;
    let mut body = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
    let grow = |b: &mut [f32; 4], x: f32, y: f32, pad: f32| {
        b[0] = b[0].min(x - pad);
        b[1] = b[1].min(y - pad);
        b[2] = b[2].max(x + pad);
        b[3] = b[3].max(y + pad);
    };
    let s = u.shoulders;
    grow(&mut body, s[0], s[1], reach);
    grow(&mut body, s[2], s[3], reach);
    grow(&mut body, cx, cy + 0.5 * r, u.arms[3] + 0.1 * r + 2.0);
    body[3] = body[3].max(place.y + place.height);
    let mut arms = [0.0; 4];
    if u.arms[0] + u.arms[1] <= 0.0 {
        body[1] = body[1].max(cy.floor());
    } else {
        arms = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
        for k in 0..2 {
            if u.arms[k] > 0.5 {
                grow(&mut arms, s[2 * k], s[2 * k + 1], reach);
                grow(&mut arms, u.elbows[2 * k], u.elbows[2 * k + 1], reach);
            }
            if u.arms[k] > 1.5 {
                grow(&mut arms, u.wrists[2 * k], u.wrists[2 * k + 1], reach);
            }
        }
    }

    // Head: the disc the shader's `in_head_disc` allows.
    let head = around(cx, cy, 1.45 * r + 1.0);
    // Hair: on the sphere only (radius 1), plus its anti-aliased edge.
    let hair = around(cx, cy, r + 3.0);

    // Face: the face box of the head frame, turned with the head (the box's outline, points
    // outside the sphere taken on its rim), joined with the jaw below the sphere (where the shader
    // still maps pixels onto the head frame), then rolled onto the target.
    let mut fq = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
    let steps = 48;
    let [bx0, by0, bx1, by1] = FACE_BOX;
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
            let v = rotate_head(state, [hx, hy, hz]);
            grow(&mut fq, v[0], v[1], 0.0);
        }
    }
    let jaw = [u.ear_width[2], u.ear_width[3]];
    grow(&mut fq, jaw[0] - 0.8, jaw[1] - 0.8, 0.0);
    grow(&mut fq, jaw[0] + 0.8, jaw[1] + 0.8, 0.0);
    // Three pixels of room for anti-aliasing.
    let pad = 3.0 / r;
    let [x0, y0, x1, y1] = [fq[0] - pad, fq[1] - pad, fq[2] + pad, fq[3] + pad];
    let mut face = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
    for (x, y) in [(x0, y0), (x1, y0), (x0, y1), (x1, y1)] {
        let p = screen([x, y]);
        grow(&mut face, p[0], p[1], 0.0);
    }
    // Nothing of the face lies outside the head disc.
    face = [
        face[0].max(head[0]),
        face[1].max(head[1]),
        face[2].min(head[2]),
        face[3].min(head[3]),
    ];
    [clip(body), clip(arms), clip(head), clip(face), clip(hair)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_matches_the_shader_block_size() {
        // 13 vec4 fields + 3 rotation rows + 8 colours + 5 part quads, 16 bytes each.
        assert_eq!(std::mem::size_of::<BuiltinUniform>(), 29 * 16);
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
        );
        assert!(u.quad[0] >= 400.0 && u.quad[2] <= 600.0, "{:?}", u.quad);
        assert!(u.quad[1] >= 300.0 && u.quad[3] <= 450.0, "{:?}", u.quad);
        assert!(u.quad[2] > u.quad[0] && u.quad[3] > u.quad[1]);
    }
}
