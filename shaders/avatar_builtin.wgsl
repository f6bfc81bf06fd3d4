// doppel's built-in cartoon avatar, drawn with signed distance fields. No external art: head, hair,
// eyes, brows, mouth, body are shapes. Drawn as one pass per part over tight quads (neck, torso,
// arms, head, each face feature, front hair), so that each pixel evaluates only the shapes that can
// reach it; `fs_main` draws it all in one pass (the reference).
//
// Spaces (all set up on the CPU by pipeline/src/avatar/builtin.rs, see `BuiltinUniform`):
// - target pixels (`p`): the body (torso, neck, arms) is drawn here;
// - head space (`q`): origin at the head centre, unit = head radius, roll removed, y down;
// - head frame (`h`): the point of a unit sphere under `q`, turned back by yaw and pitch, so that
//   eyes, brows, mouth and hairline are drawn on the turning head with true foreshortening.
// Colours are sRGB-encoded values (as the frame's bytes); the output is premultiplied alpha.

struct Avatar {
    quad: vec4<f32>,        // x0, y0, x1, y1 of the drawn quad, target pixels
    target_size: vec4<f32>, // target width, height, -, -
    head: vec4<f32>,        // centre x, y (px), radius R (px), outline width (head units)
    roll: vec4<f32>,        // cos, sin of roll, -, -
    rot0: vec4<f32>,        // rows of the view -> head-frame rotation
    rot1: vec4<f32>,
    rot2: vec4<f32>,
    eyes: vec4<f32>,        // openness of the image-left eye, image-right eye; gaze x (image right +), y (up +)
    brows: vec4<f32>,       // inner, outer raise of the image-left brow; inner, outer of the image-right
    mouth: vec4<f32>,       // open, smile image-left corner, smile image-right corner, widening
    ears: vec4<f32>,        // head-space centres: image-left x, y, image-right x, y
    ear_width: vec4<f32>,   // half widths image-left, image-right; jaw centre x, y (head space)
    shoulders: vec4<f32>,   // image-left x, y, image-right x, y (px)
    elbows: vec4<f32>,
    wrists: vec4<f32>,
    arms: vec4<f32>,        // image-left arm, image-right arm (0 none, 1 upper arm, 2 whole arm), torso radius px, neck half width px
    mood: vec4<f32>,        // frown, pucker, cheek puff, tongue out (0..1)
    // Fingers: knuckle x, y, tip x, y (px), thumb to little finger, of the image-left hand then
    // the image-right one.
    fingers: array<vec4<f32>, 10>,
    skin: vec4<f32>,
    skin_shade: vec4<f32>,
    hair: vec4<f32>,
    hair_shade: vec4<f32>,
    iris: vec4<f32>,
    shirt: vec4<f32>,
    shirt_shade: vec4<f32>,
    line: vec4<f32>,
    // Quads of the split passes (x0, y0, x1, y1, target pixels), see `Part` in builtin.rs, and the
    // side each one draws (-1 image left, +1 image right; eyes, brows, blush), four to a vec4.
    parts: array<vec4<f32>, 128>,
    sides: array<vec4<f32>, 32>,
}

@group(0) @binding(0) var<uniform> av: Avatar;

struct VsOut {
    @builtin(position) pos: vec4<f32>,
    @location(0) @interpolate(flat) side: f32,
}

@vertex
fn vs_main(@builtin(vertex_index) i: u32, @builtin(instance_index) part: u32) -> VsOut {
    // Instance 0 covers the whole avatar (`quad`), instance k the split pass quad k - 1 (`parts`).
    var quad = av.quad;
    var side = 0.0;
    if part > 0u {
        let k = min(part, 128u) - 1u;
        quad = av.parts[k];
        side = av.sides[k / 4u][k % 4u];
    }
    // Two triangles: (0,0) (1,0) (0,1) / (0,1) (1,0) (1,1).
    var corners = array<vec2<f32>, 6>(
        vec2<f32>(0.0, 0.0), vec2<f32>(1.0, 0.0), vec2<f32>(0.0, 1.0),
        vec2<f32>(0.0, 1.0), vec2<f32>(1.0, 0.0), vec2<f32>(1.0, 1.0),
    );
    let c = corners[i];
    let px = mix(quad.xy, quad.zw, c);
    let ndc = vec2<f32>(px.x / av.target_size.x * 2.0 - 1.0, 1.0 - px.y / av.target_size.y * 2.0);
    var out: VsOut;
    out.pos = vec4<f32>(ndc, 0.0, 1.0);
    out.side = side;
    return out;
}

// ---- distance helpers -------------------------------------------------------------------------

fn sd_circle(p: vec2<f32>, r: f32) -> f32 {
    return length(p) - r;
}

// A cheap ellipse distance, exact on the axes and close enough elsewhere for drawing.
fn sd_ellipse(p: vec2<f32>, r: vec2<f32>) -> f32 {
    let k = length(p / r);
    return (k - 1.0) * min(r.x, r.y);
}

fn sd_capsule(p: vec2<f32>, a: vec2<f32>, b: vec2<f32>, r: f32) -> f32 {
    let pa = p - a;
    let ba = b - a;
    let t = clamp(dot(pa, ba) / max(dot(ba, ba), 1e-6), 0.0, 1.0);
    return length(pa - ba * t) - r;
}

fn sd_box(p: vec2<f32>, b: vec2<f32>) -> f32 {
    let d = abs(p) - b;
    return length(max(d, vec2<f32>(0.0))) + min(max(d.x, d.y), 0.0);
}

// Smooth union (polynomial smooth minimum).
fn smin(a: f32, b: f32, k: f32) -> f32 {
    let h = clamp(0.5 + 0.5 * (b - a) / k, 0.0, 1.0);
    return mix(b, a, h) - k * h * (1.0 - h);
}

// Coverage of a shape with distance `d`, anti-aliased over one pixel of size `px` (same units).
fn cover(d: f32, px: f32) -> f32 {
    return clamp(0.5 - d / px, 0.0, 1.0);
}

// Paints colour `c` with coverage `a` over the premultiplied accumulator.
fn over(acc: vec4<f32>, c: vec3<f32>, a: f32) -> vec4<f32> {
    return vec4<f32>(c * a, a) + acc * (1.0 - a);
}

// A filled shape with an outline of width `w` just inside its edge.
fn outlined(acc: vec4<f32>, d: f32, px: f32, w: f32, fill: vec3<f32>) -> vec4<f32> {
    let a = over(acc, av.line.rgb, cover(d, px));
    return over(a, fill, cover(d + w, px));
}

// Two-tone (toon) shading with a soft terminator.
fn toon(base: vec3<f32>, shade: vec3<f32>, light: f32) -> vec3<f32> {
    return mix(shade, base, smoothstep(0.05, 0.2, light));
}

const LIGHT: vec3<f32> = vec3<f32>(-0.42, -0.55, 0.72);

// ---- body -------------------------------------------------------------------------------------

// An arm: upper arm (kind 1), plus forearm (kind 2). A part the arm lacks is moved out of
// reach (an infinite distance paints nothing) rather than skipped by a branch: lavapipe compiles a
// shader again for the uniform values its branches test.
fn arm(acc: vec4<f32>, p: vec2<f32>, shoulder: vec2<f32>, elbow: vec2<f32>, wrist: vec2<f32>,
       kind: f32, r: f32, px: f32, w: f32) -> vec4<f32> {
    let whole = kind > 1.5;
    let d_fore = select(1e9, sd_capsule(p, elbow, wrist, r * 0.8), whole);
    let a = outlined(acc, d_fore, px, w, av.skin.rgb);
    let d_upper = select(1e9, sd_capsule(p, shoulder, elbow, r), kind > 0.5);
    let along = elbow - shoulder;
    let lit = toon(av.shirt.rgb, av.shirt_shade.rgb, dot(along / max(length(along), 1e-6), vec2<f32>(0.0, -1.0)) + 0.3);
    return outlined(a, d_upper, px, w, lit);
}

// A hand (with a whole arm): the palm from the wrist to the knuckles and the fingers from their
// knuckles to their tips, `av.fingers[first..first + 5]`.
fn hand(acc: vec4<f32>, p: vec2<f32>, wrist: vec2<f32>, kind: f32, r: f32, px: f32, w: f32,
        first: u32) -> vec4<f32> {
    var knuckles = vec2<f32>(0.0);
    for (var i = 1u; i < 5u; i += 1u) {
        knuckles += 0.25 * av.fingers[first + i].xy;
    }
    var d = sd_capsule(p, wrist, knuckles, r * 0.95);
    for (var i = 0u; i < 5u; i += 1u) {
        let f = av.fingers[first + i];
        d = min(d, sd_capsule(p, f.xy, f.zw, r * 0.5));
    }
    return outlined(acc, select(1e9, d, kind > 1.5), px, w, av.skin.rgb);
}

// The neck: from inside the head down to the shoulder line.
fn neck(acc: vec4<f32>, p: vec2<f32>) -> vec4<f32> {
    let c = av.head.xy;
    let mid = 0.5 * (av.shoulders.xy + av.shoulders.zw);
    let w = max(av.head.w * av.head.z, 1.5);
    let neck_top = c + vec2<f32>(0.0, av.head.z * 0.5);
    let d_neck = sd_capsule(p, neck_top, mid, av.arms.w);
    let neck_shadow = smoothstep(av.head.z * 0.6, av.head.z * 1.0, p.y - c.y);
    return outlined(acc, d_neck, 1.0, w, mix(av.skin_shade.rgb, av.skin.rgb, neck_shadow));
}

// The shirt's two-tone colour across the torso (lit from the image left).
fn shirt_color(p: vec2<f32>) -> vec3<f32> {
    let sl = av.shoulders.xy;
    let sr = av.shoulders.zw;
    let mid = 0.5 * (sl + sr);
    let half = 0.5 * length(sr - sl) + av.arms.z * 0.6;
    let side = clamp((p.x - mid.x) / max(half, 1.0), -1.0, 1.0);
    return toon(av.shirt.rgb, av.shirt_shade.rgb, 0.35 - side * 0.5);
}

// The torso: the shoulder line as a capsule, merged with everything below it, and a round collar
// opening showing the neck.
fn torso(acc: vec4<f32>, p: vec2<f32>) -> vec4<f32> {
    var a = acc;
    let sl = av.shoulders.xy;
    let sr = av.shoulders.zw;
    let rb = av.arms.z;
    let w = max(av.head.w * av.head.z, 1.5);
    let mid = 0.5 * (sl + sr);
    let half = 0.5 * length(sr - sl) + rb * 0.6;
    let deep = av.target_size.y * 2.0;
    let d_low = sd_box(p - vec2<f32>(mid.x, mid.y + deep), vec2<f32>(half, deep)) - rb * 0.2;
    let d_torso = smin(sd_capsule(p, sl, sr, rb), d_low, rb * 0.5);
    a = outlined(a, d_torso, 1.0, w, shirt_color(p));
    let d_collar = sd_ellipse(p - (mid + vec2<f32>(0.0, -rb * 0.55)), vec2<f32>(av.arms.w * 1.5, rb * 0.9));
    let in_torso = cover(d_torso + w, 1.0);
    a = over(a, av.line.rgb, cover(d_collar, 1.0) * in_torso);
    return over(a, av.skin_shade.rgb, cover(d_collar + w, 1.0) * in_torso);
}

fn body(acc: vec4<f32>, p: vec2<f32>) -> vec4<f32> {
    return torso(neck(acc, p), p);
}

// One arm or hand: `k` = -1 the image-left one, +1 the image-right one (picked per fragment by
// `select`, not by a branch on a uniform).
fn side_arm(acc: vec4<f32>, p: vec2<f32>, k: f32) -> vec4<f32> {
    let w = max(av.head.w * av.head.z, 1.5);
    let left = k < 0.0;
    let shoulder = select(av.shoulders.zw, av.shoulders.xy, left);
    let elbow = select(av.elbows.zw, av.elbows.xy, left);
    let wrist = select(av.wrists.zw, av.wrists.xy, left);
    let kind = select(av.arms.y, av.arms.x, left);
    return arm(acc, p, shoulder, elbow, wrist, kind, av.arms.z * 0.62, 1.0, w);
}

fn side_hand(acc: vec4<f32>, p: vec2<f32>, k: f32) -> vec4<f32> {
    let w = max(av.head.w * av.head.z, 1.5);
    let left = k < 0.0;
    let wrist = select(av.wrists.zw, av.wrists.xy, left);
    let kind = select(av.arms.y, av.arms.x, left);
    return hand(acc, p, wrist, kind, av.arms.z * 0.62, 1.0, w, select(5u, 0u, left));
}

// Both arms, the image-left one first, then both hands (in front of the arms).
fn arms(acc: vec4<f32>, p: vec2<f32>) -> vec4<f32> {
    let a = side_arm(side_arm(acc, p, -1.0), p, 1.0);
    return side_hand(side_hand(a, p, -1.0), p, 1.0);
}

// ---- face features (head frame) ---------------------------------------------------------------

// One eye; `s` = -1 for the image-left eye, +1 for the image-right one. `e` has +x towards the nose.
fn eye(acc: vec4<f32>, hxy: vec2<f32>, s: f32, open: f32, px: f32) -> vec4<f32> {
    var a = acc;
    var e = hxy - vec2<f32>(s * 0.36, 0.04);
    e.x = e.x * -s;
    let rx = 0.165;
    // The open eye shows while the lids are apart: its coverages are gated by `shown` rather than
    // by a branch (lavapipe compiles a shader again for the uniform values its branches test).
    let shown = select(0.0, 1.0, 0.21 * open > 0.012);
    let ry = max(0.21 * open, 0.012);
    let lid = av.line.rgb;
    let d_eye = sd_ellipse(e, vec2<f32>(rx, ry));
    let w = 0.02 + 0.035 * clamp(-e.y / ry, 0.0, 1.0);
    a = over(a, lid, cover(d_eye, px) * shown);
    let inside = cover(d_eye + w, px) * shown;
    a = over(a, vec3<f32>(0.99, 0.98, 0.97), inside);
    let g = vec2<f32>(av.eyes.z * -s * 0.065, -av.eyes.w * 0.07);
    let ic = g + vec2<f32>(0.0, 0.01);
    let d_iris = sd_circle(e - ic, 0.115);
    let iris_col = mix(av.iris.rgb * 0.55, av.iris.rgb, smoothstep(-0.1, 0.09, e.y - ic.y));
    a = over(a, iris_col, cover(d_iris, px) * inside);
    a = over(a, vec3<f32>(0.08, 0.06, 0.1), cover(sd_circle(e - ic, 0.058), px) * inside);
    // Upper lid shadow across the top of the eye.
    a = over(a, av.skin_shade.rgb * 0.8, 0.35 * smoothstep(-ry * 0.35, -ry, e.y) * inside);
    let hl = ic + vec2<f32>(-0.045 * -s, -0.05);
    a = over(a, vec3<f32>(1.0), cover(sd_circle(e - hl, 0.034), px) * inside);
    a = over(a, vec3<f32>(1.0), 0.8 * cover(sd_circle(e - ic - vec2<f32>(0.04 * -s, 0.045), 0.016), px) * inside);
    // A lash flick at the outer corner.
    let d_lash = sd_capsule(e, vec2<f32>(-rx * 0.92, -ry * 0.35), vec2<f32>(-rx * 1.22, -ry * 0.62 - 0.03), 0.016);
    a = over(a, lid, cover(d_lash, px) * shown);
    // Closed: a relaxed downward arc, fading in as the eye shuts.
    let closed = 1.0 - smoothstep(0.08, 0.3, open);
    let t = clamp(e.x / rx, -1.0, 1.0);
    let y = 0.03 + 0.06 * (1.0 - t * t);
    let d_arc = max(abs(e.y - y) - 0.024, abs(e.x) - rx);
    return over(a, lid, closed * cover(d_arc, px));
}

fn brow(acc: vec4<f32>, hxy: vec2<f32>, s: f32, inner: f32, outer: f32, px: f32) -> vec4<f32> {
    var e = hxy - vec2<f32>(s * 0.37, -0.3);
    e.x = e.x * -s;
    let pin = vec2<f32>(0.15, 0.02 - inner * 0.13);
    let pout = vec2<f32>(-0.17, 0.05 - outer * 0.11);
    let pmid = vec2<f32>(-0.01, -0.035 - (inner + outer) * 0.06);
    let d = min(sd_capsule(e, pin, pmid, 0.034), sd_capsule(e, pmid, pout, 0.026));
    return over(acc, av.hair_shade.rgb * 0.8, cover(d, px));
}

fn mouth(acc: vec4<f32>, hxy: vec2<f32>, px: f32) -> vec4<f32> {
    var a = acc;
    let m = hxy - vec2<f32>(0.0, 0.5);
    let open = av.mouth.x;
    let frown = av.mood.x;
    let pucker = av.mood.y;
    let puff = av.mood.z;
    let tongue_out = av.mood.w;
    let smile_avg = 0.5 * (av.mouth.y + av.mouth.z);
    // A pucker (and puffed cheeks, lips pressed) narrow the mouth; a pucker rounds it.
    let width = (0.19 + 0.09 * av.mouth.w + 0.05 * smile_avg - 0.03 * open) * (1.0 - 0.5 * pucker - 0.3 * puff);
    let t = clamp(m.x / width, -1.0, 1.0);
    let smile = select(av.mouth.z, av.mouth.y, m.x < 0.0);
    // Smiles lift the corners, a frown pulls them down.
    let bend = -smile * 0.11 * t * t + smile_avg * 0.02 + frown * (0.1 * t * t - 0.02);
    let env = sqrt(max(1.0 - t * t, 0.0));
    let height = 0.012 + 0.34 * open + 0.1 * pucker * (1.0 - open) + 0.08 * tongue_out;
    let top = bend - height * 0.25 * env;
    let bottom = bend + height * env;
    let d = max(max(top - m.y, m.y - bottom), abs(m.x) - width);
    let w = 0.026;
    a = over(a, av.line.rgb, cover(d - 0.004, px));
    let inside = cover(d + w, px);
    a = over(a, vec3<f32>(0.45, 0.1, 0.16), inside);
    // Tongue at the bottom, teeth at the top, once the mouth is open enough to show them.
    let d_tongue = sd_ellipse(m - vec2<f32>(0.0, bottom + 0.02), vec2<f32>(width * 0.6, height * 0.55));
    a = over(a, vec3<f32>(0.94, 0.45, 0.5), cover(d_tongue, px) * inside);
    let teeth = smoothstep(0.08, 0.2, open) * cover(m.y - (top + 0.045 + height * 0.08), px);
    a = over(a, vec3<f32>(1.0, 1.0, 0.98), teeth * inside);
    // Tongue out: over the lower lip and below it (its upper half stays inside the mouth).
    let shown = smoothstep(0.05, 0.2, tongue_out);
    // A capsule (an exact distance, so its anti-aliasing stays within the mouth's quad where the
    // face turns away) hanging from the middle of the mouth.
    let c_out = vec2<f32>(0.0, bend + height * 0.5);
    let r_out = vec2<f32>(max(width * 0.55, 0.06), bottom - c_out.y + 0.03 + 0.12 * tongue_out);
    let tip = c_out + vec2<f32>(0.0, max(r_out.y - r_out.x, 0.0));
    let d_out = max(sd_capsule(m, c_out, tip, r_out.x), c_out.y - m.y);
    a = over(a, av.line.rgb, cover(d_out, px) * shown);
    a = over(a, vec3<f32>(0.94, 0.45, 0.5), cover(d_out + 0.02, px) * shown);
    return a;
}

fn hairline(x: f32) -> f32 {
    // Pointed locks across the forehead, longer at the temples.
    return -0.3 - 0.13 * abs(sin(x * 4.4 + 0.4)) + 0.22 * x * x;
}

// ---- head -------------------------------------------------------------------------------------

// Where a target pixel lies on the head: every head part starts from this.
struct HeadSpace {
    q: vec2<f32>,   // head space (roll removed, unit = radius)
    z: f32,         // depth of the unit sphere under q (0 outside it)
    px: f32,        // one pixel in head units
    pxh: f32,       // one pixel on the turning face (foreshortened)
    hf: vec3<f32>,  // the head-frame point under q
    n: vec3<f32>,   // shading normal
    d_head: f32,    // distance to the head outline (sphere with a softer jaw)
}

fn head_space(p: vec2<f32>) -> HeadSpace {
    var s: HeadSpace;
    let r = av.head.z;
    let rel = (p - av.head.xy) / r;
    // Undo roll: q = rotate(-roll) * rel.
    let q = vec2<f32>(av.roll.x * rel.x + av.roll.y * rel.y, -av.roll.y * rel.x + av.roll.x * rel.y);
    s.q = q;
    s.px = 1.0 / r;
    s.z = sqrt(max(1.0 - dot(q, q), 0.0));
    s.n = normalize(vec3<f32>(q, s.z + 0.25));
    s.d_head = smin(sd_circle(q, 1.0), sd_ellipse(q - av.ear_width.zw, vec2<f32>(0.74, 0.76)), 0.2);
    let v = vec3<f32>(q, s.z);
    s.hf = vec3<f32>(dot(av.rot0.xyz, v), dot(av.rot1.xyz, v), dot(av.rot2.xyz, v));
    s.pxh = s.px / max(s.z, 0.3);
    return s;
}

// The head's skin, toon-shaded on the sphere.
fn skin_color(s: HeadSpace) -> vec3<f32> {
    let light = dot(s.n, normalize(LIGHT));
    return toon(av.skin.rgb, av.skin_shade.rgb, light + 0.25);
}

// Back hair, ears and the head's skin.
fn head_base(acc: vec4<f32>, s: HeadSpace) -> vec4<f32> {
    var a = acc;
    let q = s.q;
    let px = s.px;
    let w = av.head.w;

    // Back hair: a rounded bob behind the head.
    let back_shift = vec2<f32>(-0.5 * av.ear_width.z, 0.0);
    let d_back = smin(sd_circle(q - back_shift - vec2<f32>(0.0, -0.1), 1.14),
                      sd_box(q - back_shift - vec2<f32>(0.0, 0.28), vec2<f32>(1.02, 0.42)) - 0.1, 0.25);
    let back_col = toon(av.hair.rgb, av.hair_shade.rgb, dot(normalize(vec3<f32>(q, 0.6)), normalize(LIGHT)) - 0.1);
    a = outlined(a, d_back, px, w, back_col);

    // Ears behind the head.
    let d_el = sd_ellipse(q - av.ears.xy, vec2<f32>(av.ear_width.x, 0.2));
    let d_er = sd_ellipse(q - av.ears.zw, vec2<f32>(av.ear_width.y, 0.2));
    a = outlined(a, min(d_el, d_er), px, w, av.skin_shade.rgb);

    // Head: a sphere with a softer jaw.
    return outlined(a, s.d_head, px, w, skin_color(s));
}

// Blush on the cheek of side `k` (-1 image left, +1 image right), a little stronger with a smile;
// puffed cheeks blush larger and rounder, with a highlight on top.
fn blush(acc: vec4<f32>, hxy: vec2<f32>, k: f32) -> vec4<f32> {
    let puff = av.mood.z;
    let strength = 0.32 + 0.3 * 0.5 * (av.mouth.y + av.mouth.z) + 0.35 * puff;
    let c = vec2<f32>(k * 0.52, 0.3);
    let b = length((hxy - c) / vec2<f32>(0.2 + 0.08 * puff, 0.11 + 0.09 * puff));
    let a = over(acc, vec3<f32>(1.0, 0.55, 0.58), min(strength, 0.9) * (1.0 - smoothstep(0.2, 1.0, b)));
    let hl = length((hxy - c - vec2<f32>(-k * 0.04, -0.06)) / vec2<f32>(0.09, 0.05));
    return over(a, vec3<f32>(1.0, 0.95, 0.93), 0.6 * puff * (1.0 - smoothstep(0.3, 1.0, hl)));
}

// Nose: a small shadow under a highlight.
fn nose(acc: vec4<f32>, hxy: vec2<f32>, pxh: f32) -> vec4<f32> {
    let a = over(acc, av.skin_shade.rgb * 0.92, 0.85 * cover(sd_ellipse(hxy - vec2<f32>(0.025, 0.25), vec2<f32>(0.045, 0.028)), pxh));
    return over(a, vec3<f32>(1.0, 0.97, 0.94), 0.6 * cover(sd_circle(hxy - vec2<f32>(-0.02, 0.19), 0.022), pxh));
}

// How much of the face shows at this pixel: on the front of the turning sphere, inside the head.
fn face_front(s: HeadSpace) -> f32 {
    return smoothstep(0.0, 0.25, s.hf.z) * cover(s.d_head + av.head.w, s.px);
}

// The face (blush, nose, mouth, eyes, brows), drawn on the turning sphere.
fn face(acc: vec4<f32>, s: HeadSpace) -> vec4<f32> {
    let hxy = s.hf.xy;
    let pxh = s.pxh;
    let front = face_front(s);
    var f = vec4<f32>(0.0);
    for (var k = -1.0; k <= 1.0; k += 2.0) {
        f = blush(f, hxy, k);
    }
    f = nose(f, hxy, pxh);
    f = mouth(f, hxy, pxh);
    f = eye(f, hxy, -1.0, av.eyes.x, pxh);
    f = eye(f, hxy, 1.0, av.eyes.y, pxh);
    f = brow(f, hxy, -1.0, av.brows.x, av.brows.y, pxh);
    f = brow(f, hxy, 1.0, av.brows.z, av.brows.w, pxh);
    return f * front + acc * (1.0 - f.a * front);
}

// Front hair: the fringe above the hairline and everything on the back of the sphere.
fn front_hair(acc: vec4<f32>, s: HeadSpace) -> vec4<f32> {
    var a = acc;
    let hxy = s.hf.xy;
    let pxh = s.pxh;
    let d_fringe = min(hxy.y - hairline(hxy.x), s.hf.z - 0.1);
    let d_side = 0.86 - abs(hxy.x) + max(hxy.y - 0.15, 0.0) * 3.0;
    let d_hair = min(d_fringe, d_side * 0.5);
    let hair_light = dot(s.n, normalize(LIGHT));
    var hair_col = toon(av.hair.rgb, av.hair_shade.rgb, hair_light + 0.1);
    // An anime-style highlight band.
    let band = abs(hxy.y + 0.62 + 0.035 * sin(hxy.x * 22.0)) - 0.035;
    hair_col = mix(hair_col, min(av.hair.rgb * 1.45 + 0.08, vec3<f32>(1.0)), cover(band, pxh) * smoothstep(-0.2, 0.3, -hxy.x));
    // Only on the sphere: below it (the jaw) the mapping to the head frame means nothing.
    // Over the head's own outline too, so that front and back hair join without a seam.
    let hair_cover = cover(s.d_head, s.px) * cover(length(s.q) - 1.0, s.px);
    a = over(a, av.line.rgb, cover(d_hair, pxh) * hair_cover);
    return over(a, hair_col, cover(d_hair + av.head.w * 0.8, pxh) * hair_cover);
}

fn in_body(p: vec2<f32>) -> bool {
    // The body sits below the head, except for raised arms.
    return p.y > av.head.y || av.arms.x + av.arms.y > 0.0;
}

fn in_head_disc(p: vec2<f32>) -> bool {
    return length(p - av.head.xy) < av.head.z * 1.45;
}

// The whole avatar in one pass over `quad`: the reference the split passes below are checked
// against (pipeline/tests/avatar.rs). Every pixel evaluates every shape here; on CPU drivers such as
// lavapipe, which run both sides of a branch in SIMD, that is the cost the split avoids.
@fragment
fn fs_main(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let p = pos.xy;
    var a = vec4<f32>(0.0);
    if in_body(p) {
        a = arms(body(a, p), p);
    }
    if in_head_disc(p) {
        let s = head_space(p);
        a = front_hair(face(head_base(a, s), s), s);
    }
    return a;
}

// The split passes, each over its own quads (`parts`), blended over one another in the order of
// `Part` in builtin.rs: neck, torso, arms, hands, head, blush, nose, mouth, eyes, brows, front hair. Every
// part is "over" the ones before, so the sum equals fs_main. The `*_fill` passes cover only the
// inside of an opaque shape (quads the CPU proves lie there) with its colour alone: what the full
// pass computes there, without the shapes it hides.

@fragment
fn fs_neck(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    if in_body(pos.xy) {
        return neck(vec4<f32>(0.0), pos.xy);
    }
    return vec4<f32>(0.0);
}

@fragment
fn fs_torso(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    if in_body(pos.xy) {
        return torso(vec4<f32>(0.0), pos.xy);
    }
    return vec4<f32>(0.0);
}

@fragment
fn fs_torso_fill(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    return vec4<f32>(shirt_color(pos.xy), 1.0);
}

@fragment
fn fs_arms(in: VsOut) -> @location(0) vec4<f32> {
    if in_body(in.pos.xy) {
        return side_arm(vec4<f32>(0.0), in.pos.xy, in.side);
    }
    return vec4<f32>(0.0);
}

@fragment
fn fs_hands(in: VsOut) -> @location(0) vec4<f32> {
    if in_body(in.pos.xy) {
        return side_hand(vec4<f32>(0.0), in.pos.xy, in.side);
    }
    return vec4<f32>(0.0);
}

@fragment
fn fs_head(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    if in_head_disc(pos.xy) {
        return head_base(vec4<f32>(0.0), head_space(pos.xy));
    }
    return vec4<f32>(0.0);
}

@fragment
fn fs_head_fill(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let s = head_space(pos.xy);
    return vec4<f32>(skin_color(s), 1.0);
}

@fragment
fn fs_blush(in: VsOut) -> @location(0) vec4<f32> {
    if in_head_disc(in.pos.xy) {
        let s = head_space(in.pos.xy);
        return blush(vec4<f32>(0.0), s.hf.xy, in.side) * face_front(s);
    }
    return vec4<f32>(0.0);
}

@fragment
fn fs_nose(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    if in_head_disc(pos.xy) {
        let s = head_space(pos.xy);
        return nose(vec4<f32>(0.0), s.hf.xy, s.pxh) * face_front(s);
    }
    return vec4<f32>(0.0);
}

@fragment
fn fs_mouth(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    if in_head_disc(pos.xy) {
        let s = head_space(pos.xy);
        return mouth(vec4<f32>(0.0), s.hf.xy, s.pxh) * face_front(s);
    }
    return vec4<f32>(0.0);
}

@fragment
fn fs_eye(in: VsOut) -> @location(0) vec4<f32> {
    if in_head_disc(in.pos.xy) {
        let s = head_space(in.pos.xy);
        let open = select(av.eyes.y, av.eyes.x, in.side < 0.0);
        return eye(vec4<f32>(0.0), s.hf.xy, in.side, open, s.pxh) * face_front(s);
    }
    return vec4<f32>(0.0);
}

@fragment
fn fs_brow(in: VsOut) -> @location(0) vec4<f32> {
    if in_head_disc(in.pos.xy) {
        let s = head_space(in.pos.xy);
        let raise = select(av.brows.zw, av.brows.xy, in.side < 0.0);
        return brow(vec4<f32>(0.0), s.hf.xy, in.side, raise.x, raise.y, s.pxh) * face_front(s);
    }
    return vec4<f32>(0.0);
}

@fragment
fn fs_hair(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    if in_head_disc(pos.xy) {
        return front_hair(vec4<f32>(0.0), head_space(pos.xy));
    }
    return vec4<f32>(0.0);
}
