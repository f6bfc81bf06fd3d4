// Low-light enhancement: Zero-DCE curve maps estimated on a small frame, applied at full size (see
// pipeline/src/enhance/lowlight.rs for the math and `apply_curves_cpu`, the CPU reference that does
// the same arithmetic in the same order). Per pixel and channel: eight steps x <- x - a x (1 - x),
// `a` bilinearly upsampled from map 3 * step + channel, then out = in + strength (x - in).

struct Params {
    full: vec2<u32>,    // frame width, height
    small: vec2<u32>,   // curve maps width, height
    strength: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> curves: array<f32>;
@group(0) @binding(2) var frame: texture_2d<f32>;
@group(0) @binding(3) var out_tex: texture_storage_2d<rgba8unorm, write>;

// As `bilinear_taps` in pipeline/src/enhance/mod.rs: (i0, i1, weight of i1).
fn taps_of(x: u32, full: u32, small: u32) -> vec3<f32> {
    let u = max((f32(x) + 0.5) * (f32(small) / f32(full)) - 0.5, 0.0);
    let i0 = min(u32(floor(u)), small - 1u);
    let i1 = min(i0 + 1u, small - 1u);
    return vec3<f32>(f32(i0), f32(i1), u - floor(u));
}

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.full.x || id.y >= p.full.y) {
        return;
    }
    let tx = taps_of(id.x, p.full.x, p.small.x);
    let ty = taps_of(id.y, p.full.y, p.small.y);
    let i00 = u32(ty.x) * p.small.x + u32(tx.x);
    let i01 = u32(ty.x) * p.small.x + u32(tx.y);
    let i10 = u32(ty.y) * p.small.x + u32(tx.x);
    let i11 = u32(ty.y) * p.small.x + u32(tx.y);
    let plane = p.small.x * p.small.y;
    let px = textureLoad(frame, vec2<i32>(id.xy), 0);
    var out = px;
    for (var c = 0u; c < 3u; c++) {
        let input = px[c];
        var v = input;
        for (var step = 0u; step < 8u; step++) {
            let base = (3u * step + c) * plane;
            let top = curves[base + i00] + (curves[base + i01] - curves[base + i00]) * tx.z;
            let bottom = curves[base + i10] + (curves[base + i11] - curves[base + i10]) * tx.z;
            let a = top + (bottom - top) * ty.z;
            v -= a * v * (1.0 - v);
        }
        out[c] = input + p.strength * (v - input);
    }
    textureStore(out_tex, vec2<i32>(id.xy), out);
}
