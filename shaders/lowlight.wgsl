// Low-light enhancement, the application at full size (see pipeline/src/enhance/lowlight.rs for the
// math and `apply_gain_cpu`, the CPU reference that does the same arithmetic in the same order).
// Per pixel: the gain k from the small gain map (bilinear, along y then x) and `strength`; where
// k = 1 the pixel as it is; else in linear light, a 3x3 range-weighted mean of the neighbours mixed
// in by b = clamp((k - 1) / full_gain, 0, 1) when b >= min_blend (denoise where brightened); then
// out = c * min(k, 1 / max(c)), one factor for R, G and B (chroma kept, nothing clips into a new hue).
// The denoise averages the 8-bit codes (integer weights range - d, as the CPU reference), then one
// decode per pixel.
// Speed: on a CPU Vulkan (lavapipe) every gather (texel or storage load) costs about as much as a
// pixel's arithmetic, and `pow` is arithmetic. So one invocation takes one frame row of the pixels
// that share their gain-map column (about full / small of them): the two y-interpolated gains once,
// then a 3x3 window that slides along the row (3 texel loads a pixel instead of 9); the sRGB curve is
// computed, and the gain is applied in the encoded domain (`scaled`: one `pow` a pixel instead of
// six where the channels are above the curve's linear toe). Measured at 1280x720
// (pipeline/benches/deglare): an invocation per pixel took 107 ms with `pow`, 126 ms reading the
// CPU's tables, 158 ms with a 16x16 workgroup tile of texels.

struct Params {
    full: vec2<u32>,    // frame width, height
    small: vec2<u32>,   // gain map width, height
    strength: f32,
    full_gain: f32,     // DENOISE_FULL_GAIN
    range: f32,         // DENOISE_RANGE, in 8-bit codes
    min_blend: f32,     // DENOISE_MIN_BLEND
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gain: array<f32>;
@group(0) @binding(2) var frame: texture_2d<f32>;
@group(0) @binding(3) var out_tex: texture_storage_2d<rgba8unorm, write>;

// As `bilinear_taps` in pipeline/src/enhance/mod.rs: (i0, i1, weight of i1).
fn taps_of(x: u32, full: u32, small: u32) -> vec3<f32> {
    let u = max((f32(x) + 0.5) * (f32(small) / f32(full)) - 0.5, 0.0);
    let i0 = min(u32(floor(u)), small - 1u);
    let i1 = min(i0 + 1u, small - 1u);
    return vec3<f32>(f32(i0), f32(i1), u - floor(u));
}

// First pixel column whose left tap may be cell `k` (one early, for rounding; the loop re-checks
// with `taps_of`). Cell 0 also takes the pixels before its centre (clamped taps).
fn run_start(k: u32, full: u32, small: u32) -> u32 {
    if (k == 0u) {
        return 0u;
    }
    let x = (f32(k) + 0.5) * (f32(full) / f32(small)) - 0.5;
    return u32(max(floor(x) - 1.0, 0.0));
}

fn encode1(v: f32) -> f32 {
    let x = clamp(v, 0.0, 1.0);
    if (x <= 0.0031308) {
        return x * 12.92;
    }
    return 1.055 * pow(x, 1.0 / 2.4) - 0.055;
}

// encode(k * decode(v)) of one channel's sRGB value v, k >= 1, s = k^(1/2.4) (for v on the
// curve's power segment). On that segment decode(v) = ((v + 0.055) / 1.055)^2.4, and k * decode(v)
// stays on it (k >= 1), so the encode undoes the power: k^(1/2.4) (v + 0.055) - 0.055, exactly,
// without a `pow` per channel. The linear segment (v <= 0.04045) decodes by a division.
fn scaled(v: f32, k: f32, s: f32) -> f32 {
    if (v > 0.04045) {
        return clamp(s * (v + 0.055) - 0.055, 0.0, 1.0);
    }
    return encode1(k * v / 12.92);
}

// The three texels of column `x` (clamped) in rows y - 1, y, y + 1 (clamped), as 8-bit codes (whole
// numbers held in f32: every sum below stays exact, as the CPU reference's integers); the middle
// texel also as it was loaded, for the pixels left as they are.
struct Column {
    up: vec3<f32>,
    mid: vec3<f32>,
    down: vec3<f32>,
    texel: vec4<f32>,
};

fn column(x: i32, y: i32) -> Column {
    let cx = clamp(x, 0, i32(p.full.x) - 1);
    let last = i32(p.full.y) - 1;
    let up = textureLoad(frame, vec2<i32>(cx, max(y - 1, 0)), 0).rgb;
    let mid = textureLoad(frame, vec2<i32>(cx, y), 0);
    let down = textureLoad(frame, vec2<i32>(cx, min(y + 1, last)), 0).rgb;
    return Column(round(up * 255.0), round(mid.rgb * 255.0), round(down * 255.0), mid);
}

// Adds the neighbour `n` to the range-weighted sum around `q`.
fn gather(n: vec3<f32>, q: vec3<f32>, acc: vec4<f32>) -> vec4<f32> {
    let diff = abs(n - q);
    let wt = max(p.range - max(max(diff.r, diff.g), diff.b), 0.0);
    return acc + vec4<f32>(wt * n, wt);
}

// x: the gain map's column, y: the frame's row.
@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.small.x || id.y >= p.full.y) {
        return;
    }
    let x0 = id.x;
    let y = id.y;
    let ty = taps_of(y, p.full.y, p.small.y);
    let y0 = u32(ty.x);
    let y1 = u32(ty.y);
    let x1 = min(x0 + 1u, p.small.x - 1u);
    let sw = p.small.x;
    let left = gain[y0 * sw + x0] + (gain[y1 * sw + x0] - gain[y0 * sw + x0]) * ty.z;
    let right = gain[y0 * sw + x1] + (gain[y1 * sw + x1] - gain[y0 * sw + x1]) * ty.z;
    // the first pixel of the run
    var x = run_start(x0, p.full.x, p.small.x);
    loop {
        if (x >= p.full.x || u32(taps_of(x, p.full.x, p.small.x).x) >= x0) {
            break;
        }
        x++;
    }
    let iy = i32(y);
    var prev = column(i32(x) - 1, iy);
    var here = column(i32(x), iy);
    for (; x < p.full.x; x++) {
        let tx = taps_of(x, p.full.x, p.small.x);
        if (u32(tx.x) > x0) {
            break;
        }
        let next = column(i32(x) + 1, iy);
        var k = 1.0 + p.strength * (left + (right - left) * tx.z - 1.0);
        let at = vec2<i32>(i32(x), iy);
        if (k <= 1.0) {
            textureStore(out_tex, at, here.texel);
        } else {
            let q = here.mid;
            var code = q;
            let b = clamp((k - 1.0) / p.full_gain, 0.0, 1.0);
            if (b >= p.min_blend) {
                var acc = vec4<f32>(0.0);
                acc = gather(prev.up, q, acc);
                acc = gather(here.up, q, acc);
                acc = gather(next.up, q, acc);
                acc = gather(prev.mid, q, acc);
                acc = gather(q, q, acc);
                acc = gather(next.mid, q, acc);
                acc = gather(prev.down, q, acc);
                acc = gather(here.down, q, acc);
                acc = gather(next.down, q, acc);
                code += b * (acc.xyz / acc.w - code);
            }
            let v = code / 255.0;
            let top = max(max(v.r, v.g), v.b);
            // the gain in the encoded domain, s = k^(1/2.4), capped where the brightest channel
            // would clip (k <= 1 / decode(top)); k follows the cap
            var s = 1.0;
            if (top > 0.04045) {
                s = pow(k, 1.0 / 2.4);
                let cap = 1.055 / (top + 0.055);
                if (s > cap) {
                    s = cap;
                    k = pow(cap, 2.4);
                }
            } else if (top > 0.0) {
                k = min(k, 12.92 / top);
            }
            let out = vec3<f32>(scaled(v.r, k, s), scaled(v.g, k, s), scaled(v.b, k, s));
            textureStore(out_tex, at, vec4<f32>(out, here.texel.a));
        }
        prev = here;
        here = next;
    }
}
