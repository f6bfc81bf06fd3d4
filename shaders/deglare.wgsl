// Glare suppression, the shader method (see pipeline/src/enhance/deglare.rs for the math and
// `deglare_cpu`, the CPU reference that does the same arithmetic in the same order).
// Passes: reduce (full -> small grid), min_h, min_v (lower envelope), blur_h, blur_v (PSF spread of
// the light sources, smoothed envelope, estimate G), apply (full size: subtract G in linear light).

struct Params {
    full: vec2<u32>,        // frame width, height
    small: vec2<u32>,       // grid width, height
    factor: u32,            // cell side in pixels
    psf_radius: u32,        // taps[0 .. 2 psf_radius + 1]
    narrow_radius: u32,     // taps[2 psf_radius + 1 ..][0 .. 2 narrow_radius + 1]
    min_radius: u32,
    threshold: f32,         // linear
    gain: f32,
    bound: f32,
    strength: f32,
    knee: f32,              // linear envelope level where the cap is halved again
    max_darken: f32,        // largest fraction of a pixel's linear light removed
    _pad1: u32,
    _pad2: u32,
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> taps: array<f32>;
@group(0) @binding(2) var frame: texture_2d<f32>;
@group(0) @binding(3) var<storage, read_write> mean_img: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> src_img: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> tmp_a: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> tmp_b: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> envelope: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> glare: array<vec4<f32>>;
@group(0) @binding(9) var out_tex: texture_storage_2d<rgba8unorm, write>;

fn decode1(v: f32) -> f32 {
    if (v <= 0.04045) {
        return v / 12.92;
    }
    return pow((v + 0.055) / 1.055, 2.4);
}

fn decode(c: vec3<f32>) -> vec3<f32> {
    return vec3<f32>(decode1(c.r), decode1(c.g), decode1(c.b));
}

fn encode1(v: f32) -> f32 {
    let x = clamp(v, 0.0, 1.0);
    if (x <= 0.0031308) {
        return x * 12.92;
    }
    return 1.055 * pow(x, 1.0 / 2.4) - 0.055;
}

fn highlight(c: vec3<f32>) -> f32 {
    let m = max(max(c.r, c.g), c.b);
    return clamp((m - p.threshold) / (1.0 - p.threshold), 0.0, 1.0);
}

// `glare_cap` in deglare.rs: bound * e over a dark background, levelling off at bound * knee.
fn cap(e: vec3<f32>) -> vec3<f32> {
    return p.bound * e * p.knee / (p.knee + e);
}

fn idx(x: u32, y: u32) -> u32 {
    return y * p.small.x + x;
}

fn cx(x: i32) -> u32 {
    return u32(clamp(x, 0, i32(p.small.x) - 1));
}

fn cy(y: i32) -> u32 {
    return u32(clamp(y, 0, i32(p.small.y) - 1));
}

@compute @workgroup_size(8, 8, 1)
fn reduce(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.small.x || id.y >= p.small.y) {
        return;
    }
    var m = vec3<f32>(0.0);
    var s = vec3<f32>(0.0);
    var count = 0u;
    let y_end = min((id.y + 1u) * p.factor, p.full.y);
    let x_end = min((id.x + 1u) * p.factor, p.full.x);
    for (var y = id.y * p.factor; y < y_end; y++) {
        for (var x = id.x * p.factor; x < x_end; x++) {
            let c = decode(textureLoad(frame, vec2<i32>(i32(x), i32(y)), 0).rgb);
            let h = highlight(c);
            m += c;
            s += c * h;
            count++;
        }
    }
    let inv = 1.0 / f32(count);
    mean_img[idx(id.x, id.y)] = vec4<f32>(m * inv, 0.0);
    src_img[idx(id.x, id.y)] = vec4<f32>(s * inv, 0.0);
}

@compute @workgroup_size(8, 8, 1)
fn min_h(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.small.x || id.y >= p.small.y) {
        return;
    }
    let r = i32(p.min_radius);
    var v = vec3<f32>(3.4e38);
    for (var d = -r; d <= r; d++) {
        v = min(v, mean_img[idx(cx(i32(id.x) + d), id.y)].rgb);
    }
    tmp_a[idx(id.x, id.y)] = vec4<f32>(v, 0.0);
}

@compute @workgroup_size(8, 8, 1)
fn min_v(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.small.x || id.y >= p.small.y) {
        return;
    }
    let r = i32(p.min_radius);
    var v = vec3<f32>(3.4e38);
    for (var d = -r; d <= r; d++) {
        v = min(v, tmp_a[idx(id.x, cy(i32(id.y) + d))].rgb);
    }
    envelope[idx(id.x, id.y)] = vec4<f32>(v, 0.0);
}

@compute @workgroup_size(8, 8, 1)
fn blur_h(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.small.x || id.y >= p.small.y) {
        return;
    }
    let rp = i32(p.psf_radius);
    let rn = i32(p.narrow_radius);
    let base = u32(2 * rp + 1);
    var s = vec3<f32>(0.0);
    for (var k = 0; k <= 2 * rp; k++) {
        s += taps[k] * src_img[idx(cx(i32(id.x) + k - rp), id.y)].rgb;
    }
    var e = vec3<f32>(0.0);
    for (var k = 0; k <= 2 * rn; k++) {
        e += taps[base + u32(k)] * envelope[idx(cx(i32(id.x) + k - rn), id.y)].rgb;
    }
    tmp_a[idx(id.x, id.y)] = vec4<f32>(s, 0.0);
    tmp_b[idx(id.x, id.y)] = vec4<f32>(e, 0.0);
}

@compute @workgroup_size(8, 8, 1)
fn blur_v(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.small.x || id.y >= p.small.y) {
        return;
    }
    let rp = i32(p.psf_radius);
    let rn = i32(p.narrow_radius);
    let base = u32(2 * rp + 1);
    var s = vec3<f32>(0.0);
    for (var k = 0; k <= 2 * rp; k++) {
        s += taps[k] * tmp_a[idx(id.x, cy(i32(id.y) + k - rp))].rgb;
    }
    var e = vec3<f32>(0.0);
    for (var k = 0; k <= 2 * rn; k++) {
        e += taps[base + u32(k)] * tmp_b[idx(id.x, cy(i32(id.y) + k - rn))].rgb;
    }
    glare[idx(id.x, id.y)] = vec4<f32>(min(p.gain * s, cap(e)), 0.0);
}

// Bilinear taps of full-size coordinate `x` over `small` samples (pixel centres aligned), as
// `bilinear_taps` in pipeline/src/enhance/mod.rs: (i0, i1) and the weight of i1.
fn taps_of(x: u32, full: u32, small: u32) -> vec3<f32> {
    let u = max((f32(x) + 0.5) * (f32(small) / f32(full)) - 0.5, 0.0);
    let i0 = min(u32(floor(u)), small - 1u);
    let i1 = min(i0 + 1u, small - 1u);
    return vec3<f32>(f32(i0), f32(i1), u - floor(u));
}

// First pixel column (or row) whose left (top) tap may be cell `k` (one early, for rounding; the
// loop re-checks with `taps_of`). Cell 0 also takes the pixels before its centre (clamped taps).
fn run_start(k: u32, full: u32, small: u32) -> u32 {
    if (k == 0u) {
        return 0u;
    }
    let x = (f32(k) + 0.5) * (f32(full) / f32(small)) - 0.5;
    return u32(max(floor(x) - 1.0, 0.0));
}

// One invocation per grid column `id.x` and frame row `id.y`: the run of pixels whose left tap is
// that column shares its four glare samples (storage-buffer gathers are what costs on a CPU
// Vulkan), interpolated along y once, then along x per pixel.
@compute @workgroup_size(8, 8, 1)
fn apply(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.small.x || id.y >= p.full.y) {
        return;
    }
    let ty = taps_of(id.y, p.full.y, p.small.y);
    let x0 = id.x;
    let x1 = min(x0 + 1u, p.small.x - 1u);
    let y0 = u32(ty.x);
    let y1 = u32(ty.y);
    let a = glare[idx(x0, y0)].rgb;
    let b = glare[idx(x1, y0)].rgb;
    let c = glare[idx(x0, y1)].rgb;
    let d = glare[idx(x1, y1)].rgb;
    let left = a + (c - a) * ty.z;
    let right = b + (d - b) * ty.z;
    for (var x = run_start(x0, p.full.x, p.small.x); x < p.full.x; x++) {
        let tx = taps_of(x, p.full.x, p.small.x);
        if (u32(tx.x) < x0) {
            continue;
        }
        if (u32(tx.x) > x0) {
            break;
        }
        let g = left + (right - left) * tx.z;
        let at = vec2<i32>(i32(x), i32(id.y));
        let px = textureLoad(frame, at, 0);
        let lin = decode(px.rgb);
        let keep = 1.0 - highlight(lin);
        let v = max(lin - min(p.strength * g * keep, p.max_darken * lin), vec3<f32>(0.0));
        textureStore(out_tex, at, vec4<f32>(encode1(v.r), encode1(v.g), encode1(v.b), px.a));
    }
}
