// Separable Gaussian blur of an RGBA8 image, premultiplied by alpha, edges clamped.
//
// Pass 1 (`horizontal`): src (rgba8unorm) -> mid (rgba32float), premultiplied, summed along x.
// Pass 2 (`vertical`):   mid -> dst (rgba8unorm), summed along y, un-premultiplied, rounded.
//
// The math is mirrored step by step by `gaussian_blur` in pipeline/src/gpu/blur.rs (the CPU
// reference); change both together. Pixel values are worked in 0..255 units: each texel is first
// rounded back to its exact byte value so that the GPU and CPU start from the same numbers.

const INV_255: f32 = 1.0 / 255.0;

struct Params {
    size: vec2<u32>,
    // Taps on each side of the centre; `taps` holds 2 * radius + 1 weights summing to 1.
    radius: u32,
    pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// The weights as the sliding runs use them (see `RUN` below): row j holds, for outputs 0..3 of a
// run, the weight of the window's texel j, that is taps[j], taps[j - 1], taps[j - 2], taps[j - 3],
// 0 outside the kernel. Room for radius 32. A uniform buffer rather than a storage buffer: on
// lavapipe this alone made the kernel ~3x faster.
@group(0) @binding(1) var<uniform> rows: array<vec4<f32>, 68>;
@group(0) @binding(2) var src: texture_2d<f32>;
// Horizontal pass only.
@group(0) @binding(3) var mid_out: texture_storage_2d<rgba32float, write>;
// Vertical pass only.
@group(0) @binding(4) var mid_in: texture_2d<f32>;
@group(0) @binding(5) var dst: texture_storage_2d<rgba8unorm, write>;

// The source texel as bytes (0..255, exact integers).
fn texel_bytes(p: vec2<i32>) -> vec4<f32> {
    return round(textureLoad(src, p, 0) * 255.0);
}

// The source texel premultiplied: (r * a, g * a, b * a, a) with colour in 0..255, alpha in 0..1.
fn premultiplied(p: vec2<i32>) -> vec4<f32> {
    let k = texel_bytes(p);
    let a = k.a * INV_255;
    return vec4<f32>(k.rgb * a, a);
}

// Each invocation blurs a run of `RUN` pixels along its pass's direction, sliding over the
// `RUN + 2 * radius` texels under them: every texel is loaded once per run instead of once per tap
// (at radius 2, 2 loads an output instead of 5). On lavapipe, where a texel load is a software
// routine and every invocation has a fixed cost, this made the kernel about 2x faster. Each output
// still sums its taps from -radius to +radius in order, as the CPU reference does (adding the
// zero weights outside its kernel changes no bit).
const RUN: i32 = 4;

@compute @workgroup_size(8, 8, 1)
fn horizontal(@builtin(global_invocation_id) id: vec3<u32>) {
    let x0 = i32(id.x) * RUN;
    let y = i32(id.y);
    if x0 >= i32(params.size.x) || y >= i32(params.size.y) {
        return;
    }
    let r = i32(params.radius);
    let last = i32(params.size.x) - 1;
    var s0 = vec4<f32>(0.0);
    var s1 = vec4<f32>(0.0);
    var s2 = vec4<f32>(0.0);
    var s3 = vec4<f32>(0.0);
    // Texel j of the window is x0 - r + j; it is tap j - k of output k.
    for (var j = 0; j < RUN + 2 * r; j++) {
        let p = premultiplied(vec2<i32>(clamp(x0 - r + j, 0, last), y));
        let w = rows[j];
        s0 += w.x * p;
        s1 += w.y * p;
        s2 += w.z * p;
        s3 += w.w * p;
    }
    textureStore(mid_out, vec2<i32>(x0, y), s0);
    if x0 + 1 <= last {
        textureStore(mid_out, vec2<i32>(x0 + 1, y), s1);
    }
    if x0 + 2 <= last {
        textureStore(mid_out, vec2<i32>(x0 + 2, y), s2);
    }
    if x0 + 3 <= last {
        textureStore(mid_out, vec2<i32>(x0 + 3, y), s3);
    }
}

// Un-premultiplies the sum at `p` and stores it. Where every pixel under the kernel is fully
// transparent the colour is undefined; keep the pixel's own colour so that nothing invents one.
fn store_vertical(p: vec2<i32>, sum: vec4<f32>) {
    var rgb: vec3<f32>;
    if sum.a > 0.0 {
        rgb = sum.rgb / sum.a;
    } else {
        rgb = texel_bytes(p).rgb;
    }
    let bytes = round(clamp(vec4<f32>(rgb, sum.a * 255.0), vec4<f32>(0.0), vec4<f32>(255.0)));
    textureStore(dst, p, bytes * INV_255);
}

@compute @workgroup_size(8, 8, 1)
fn vertical(@builtin(global_invocation_id) id: vec3<u32>) {
    let x = i32(id.x);
    let y0 = i32(id.y) * RUN;
    if x >= i32(params.size.x) || y0 >= i32(params.size.y) {
        return;
    }
    let r = i32(params.radius);
    let last = i32(params.size.y) - 1;
    var s0 = vec4<f32>(0.0);
    var s1 = vec4<f32>(0.0);
    var s2 = vec4<f32>(0.0);
    var s3 = vec4<f32>(0.0);
    for (var j = 0; j < RUN + 2 * r; j++) {
        let p = textureLoad(mid_in, vec2<i32>(x, clamp(y0 - r + j, 0, last)), 0);
        let w = rows[j];
        s0 += w.x * p;
        s1 += w.y * p;
        s2 += w.z * p;
        s3 += w.w * p;
    }
    store_vertical(vec2<i32>(x, y0), s0);
    if y0 + 1 <= last {
        store_vertical(vec2<i32>(x, y0 + 1), s1);
    }
    if y0 + 2 <= last {
        store_vertical(vec2<i32>(x, y0 + 2), s2);
    }
    if y0 + 3 <= last {
        store_vertical(vec2<i32>(x, y0 + 3), s3);
    }
}
