// A variant of shaders/lowlight.wgsl with an invocation per pixel (9 texel loads each) and the sRGB curve read from the CPU reference's tables,
// timed against it on a CPU rasterizer (pipeline/benches/deglare/per_pixel.rs). Not used by the stage.
// Low-light enhancement, the application at full size (see pipeline/src/enhance/lowlight.rs for the
// math and `apply_gain_cpu`, the CPU reference that does the same arithmetic in the same order).
// Per pixel: the gain k from the small gain map (bilinear, along y then x) and `strength`; where
// k = 1 the pixel as it is; else in linear light, a 3x3 range-weighted mean of the neighbours mixed
// in by b = clamp((k - 1) / full_gain, 0, 1) when b >= min_blend (denoise where brightened); then
// out = c * min(k, 1 / max(c)), one factor for R, G and B (chroma kept, nothing clips into a new hue).
// The denoise averages the 8-bit codes (integer weights range - d, as the CPU reference), then one
// decode per pixel. Decoding and encoding read the CPU reference's tables (`tables`: the 256 codes'
// linear values, then the encoder's 4097 samples over sqrt(v)): no `pow` per channel, which costs
// most of the kernel on a CPU rasterizer, and the same values as the reference.

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
@group(0) @binding(4) var<storage, read> tables: array<f32>;

const DECODE_SIZE: u32 = 256u;
const ENCODE_SAMPLES: u32 = 4096u;

// As `bilinear_taps` in pipeline/src/enhance/mod.rs: (i0, i1, weight of i1).
fn taps_of(x: u32, full: u32, small: u32) -> vec3<f32> {
    let u = max((f32(x) + 0.5) * (f32(small) / f32(full)) - 0.5, 0.0);
    let i0 = min(u32(floor(u)), small - 1u);
    let i1 = min(i0 + 1u, small - 1u);
    return vec3<f32>(f32(i0), f32(i1), u - floor(u));
}

// As `Encoder::srgb`.
fn encode1(v: f32) -> f32 {
    let t = sqrt(clamp(v, 0.0, 1.0)) * f32(ENCODE_SAMPLES);
    let i = min(u32(t), ENCODE_SAMPLES - 1u);
    let a = tables[DECODE_SIZE + i];
    return a + (tables[DECODE_SIZE + i + 1u] - a) * (t - f32(i));
}

// As `decode_code`: the linear value of a fractional 8-bit code.
fn decode1(q: f32) -> f32 {
    let i = min(u32(max(q, 0.0)), 254u);
    return tables[i] + (tables[i + 1u] - tables[i]) * (q - f32(i));
}

// The 8-bit codes of the pixel at `at`, clamped to the frame.
fn codes(at: vec2<i32>) -> vec3<i32> {
    let c = clamp(at, vec2<i32>(0), vec2<i32>(p.full) - vec2<i32>(1));
    return vec3<i32>(round(textureLoad(frame, c, 0).rgb * 255.0));
}

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.full.x || id.y >= p.full.y) {
        return;
    }
    let tx = taps_of(id.x, p.full.x, p.small.x);
    let ty = taps_of(id.y, p.full.y, p.small.y);
    let x0 = u32(tx.x);
    let x1 = u32(tx.y);
    let y0 = u32(ty.x);
    let y1 = u32(ty.y);
    let sw = p.small.x;
    let left = gain[y0 * sw + x0] + (gain[y1 * sw + x0] - gain[y0 * sw + x0]) * ty.z;
    let right = gain[y0 * sw + x1] + (gain[y1 * sw + x1] - gain[y0 * sw + x1]) * ty.z;
    var k = 1.0 + p.strength * (left + (right - left) * tx.z - 1.0);
    let at = vec2<i32>(i32(id.x), i32(id.y));
    let texel = textureLoad(frame, at, 0);
    if (k <= 1.0) {
        textureStore(out_tex, at, texel);
        return;
    }
    let q = vec3<i32>(round(texel.rgb * 255.0));
    var code = vec3<f32>(q);
    let b = clamp((k - 1.0) / p.full_gain, 0.0, 1.0);
    if (b >= p.min_blend) {
        var sum = vec3<f32>(0.0);
        var total = 0.0;
        for (var dy = -1; dy <= 1; dy++) {
            for (var dx = -1; dx <= 1; dx++) {
                let n = codes(at + vec2<i32>(dx, dy));
                let diff = abs(n - q);
                let wt = max(p.range - f32(max(max(diff.r, diff.g), diff.b)), 0.0);
                sum += wt * vec3<f32>(n);
                total += wt;
            }
        }
        code += b * (sum / total - code);
    }
    let c = vec3<f32>(decode1(code.r), decode1(code.g), decode1(code.b));
    let m = max(max(c.r, c.g), c.b);
    if (m > 0.0) {
        k = min(k, 1.0 / m);
    }
    let v = c * k;
    textureStore(out_tex, at, vec4<f32>(encode1(v.r), encode1(v.g), encode1(v.b), texel.a));
}
