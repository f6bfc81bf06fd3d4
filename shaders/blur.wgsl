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
// The weights, four to a vec4 (uniform arrays have a 16-byte stride); room for radius 32.
// A uniform buffer rather than a storage buffer: on lavapipe this alone made the kernel ~3x faster.
@group(0) @binding(1) var<uniform> taps: array<vec4<f32>, 17>;
@group(0) @binding(2) var src: texture_2d<f32>;
// Horizontal pass only.
@group(0) @binding(3) var mid_out: texture_storage_2d<rgba32float, write>;
// Vertical pass only.
@group(0) @binding(4) var mid_in: texture_2d<f32>;
@group(0) @binding(5) var dst: texture_storage_2d<rgba8unorm, write>;

fn tap(i: i32) -> f32 {
    return taps[i / 4][i % 4];
}

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

@compute @workgroup_size(8, 8, 1)
fn horizontal(@builtin(global_invocation_id) id: vec3<u32>) {
    if id.x >= params.size.x || id.y >= params.size.y {
        return;
    }
    let r = i32(params.radius);
    let last = i32(params.size.x) - 1;
    let x = i32(id.x);
    let y = i32(id.y);
    var sum = vec4<f32>(0.0);
    for (var i = -r; i <= r; i++) {
        let sx = clamp(x + i, 0, last);
        sum += tap(i + r) * premultiplied(vec2<i32>(sx, y));
    }
    textureStore(mid_out, vec2<i32>(x, y), sum);
}

@compute @workgroup_size(8, 8, 1)
fn vertical(@builtin(global_invocation_id) id: vec3<u32>) {
    if id.x >= params.size.x || id.y >= params.size.y {
        return;
    }
    let r = i32(params.radius);
    let last = i32(params.size.y) - 1;
    let x = i32(id.x);
    let y = i32(id.y);
    var sum = vec4<f32>(0.0);
    for (var i = -r; i <= r; i++) {
        let sy = clamp(y + i, 0, last);
        sum += tap(i + r) * textureLoad(mid_in, vec2<i32>(x, sy), 0);
    }
    // Un-premultiply. Where every pixel under the kernel is fully transparent the colour is
    // undefined; keep the pixel's own colour so that nothing invents one.
    var rgb: vec3<f32>;
    if sum.a > 0.0 {
        rgb = sum.rgb / sum.a;
    } else {
        rgb = texel_bytes(vec2<i32>(x, y)).rgb;
    }
    let bytes = round(clamp(vec4<f32>(rgb, sum.a * 255.0), vec4<f32>(0.0), vec4<f32>(255.0)));
    textureStore(dst, vec2<i32>(x, y), bytes * INV_255);
}
