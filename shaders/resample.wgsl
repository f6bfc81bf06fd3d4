// Bilinear resampling of a source rectangle into a whole output image: resize (up or down), crop and
// zoom (`autoframe`), mirror (`flip`: a negative width).
//
// Pixel centres sit at +0.5: output pixel x samples the source at
// sx = (x + 0.5) * scale.x - 0.5 + offset.x, clamped to 0..=width-1 (edges repeat); a plain resize
// has offset 0 and scale = source side / output side, a mirror scale -1 and offset = width (so
// output x reads source width-1-x exactly). The four neighbours are mixed first along x, then along
// y, in 0..255 units, then rounded (half to even) and clamped. `resample_bilinear` in
// pipeline/src/gpu/resample.rs (the CPU reference) does the same steps in the same order; change
// both together.

const INV_255: f32 = 1.0 / 255.0;

struct Params {
    src_size: vec2<u32>,
    dst_size: vec2<u32>,
    // Source pixels per output pixel and the rectangle's origin, computed once on the CPU so both
    // paths use the same f32.
    scale: vec2<f32>,
    offset: vec2<f32>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var src: texture_2d<f32>;
@group(0) @binding(2) var dst: texture_storage_2d<rgba8unorm, write>;

fn texel(x: i32, y: i32) -> vec4<f32> {
    return round(textureLoad(src, vec2<i32>(x, y), 0) * 255.0);
}

// Source coordinate, left/top neighbour and the fraction towards the right/bottom one.
fn axis(i: u32, scale: f32, offset: f32, size: u32) -> vec3<f32> {
    let last = f32(size - 1u);
    let s = clamp((f32(i) + 0.5) * scale - 0.5 + offset, 0.0, last);
    let lo = floor(s);
    return vec3<f32>(lo, min(lo + 1.0, last), s - lo);
}

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    if id.x >= params.dst_size.x || id.y >= params.dst_size.y {
        return;
    }
    let ax = axis(id.x, params.scale.x, params.offset.x, params.src_size.x);
    let ay = axis(id.y, params.scale.y, params.offset.y, params.src_size.y);
    let x0 = i32(ax.x);
    let x1 = i32(ax.y);
    let y0 = i32(ay.x);
    let y1 = i32(ay.y);
    let p00 = texel(x0, y0);
    let p10 = texel(x1, y0);
    let p01 = texel(x0, y1);
    let p11 = texel(x1, y1);
    let top = p00 + ax.z * (p10 - p00);
    let bottom = p01 + ax.z * (p11 - p01);
    let v = top + ay.z * (bottom - top);
    let bytes = round(clamp(v, vec4<f32>(0.0), vec4<f32>(255.0)));
    textureStore(dst, vec2<i32>(id.xy), bytes * INV_255);
}
