// The edges of the super-resolution net on the GPU: RGBA8 pixels to planar RGB f32 (0..1), and the
// net's 3 * s * s channels, pixel-shuffled (PyTorch pixel_shuffle / ONNX DepthToSpace CRD), back to
// RGBA8. Both entry points share one layout: `pixels` is the RGBA8 side (packed u32, R in the low
// byte), `planes` the f32 side.

struct Params {
    // Low-resolution size.
    width: u32,
    height: u32,
    scale: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> pixels: array<u32>;
@group(0) @binding(2) var<storage, read_write> planes: array<f32>;

// pixels: width x height RGBA8 -> planes: [3][height][width], value / 255 as the ONNX path's input.
@compute @workgroup_size(8, 8, 1)
fn unpack(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.width || id.y >= p.height) {
        return;
    }
    let plane = p.width * p.height;
    let i = id.y * p.width + id.x;
    let v = pixels[i];
    planes[i] = f32(v & 0xffu) / 255.0;
    planes[plane + i] = f32((v >> 8u) & 0xffu) / 255.0;
    planes[2u * plane + i] = f32((v >> 16u) & 0xffu) / 255.0;
}

fn to_byte(v: f32) -> u32 {
    // Round half away from zero, then clamp: as the ONNX path's 0..1 decoding.
    return u32(clamp(floor(v * 255.0 + 0.5), 0.0, 255.0));
}

// planes: [3 * s * s][height][width] -> pixels: (s * width) x (s * height) RGBA8, alpha 255.
@compute @workgroup_size(8, 8, 1)
fn pack(@builtin(global_invocation_id) id: vec3<u32>) {
    let s = p.scale;
    let out_w = p.width * s;
    if (id.x >= out_w || id.y >= p.height * s) {
        return;
    }
    let plane = p.width * p.height;
    let x = id.x / s;
    let y = id.y / s;
    let phase = (id.y % s) * s + id.x % s;
    let at = y * p.width + x;
    let r = to_byte(planes[(0u * s * s + phase) * plane + at]);
    let g = to_byte(planes[(1u * s * s + phase) * plane + at]);
    let b = to_byte(planes[(2u * s * s + phase) * plane + at]);
    pixels[id.y * out_w + id.x] = r | (g << 8u) | (b << 16u) | (255u << 24u);
}
