// One convolution layer of doppel's super-resolution net (scripts/train_superres.py), the GPU twin of
// the ONNX graph. Planar f32 tensors: channel c of a width x height map starts at c * width * height.
// Each invocation computes four output channels of one pixel. Edges repeat (clamped coordinates), as
// the ONNX graph's Pad(mode=edge). Weights are repacked on the CPU as vec4 groups of four output
// channels: index (group * cin + ci) * k * k + ky * k + kx.

struct Params {
    width: u32,
    height: u32,
    cin: u32,
    // Output channels, a multiple of 4.
    cout: u32,
    k: u32,
    // Bit 0: ReLU after the bias. Bit 1: add into dst instead of overwriting it.
    flags: u32,
    // Where this layer's weights and biases start in `weights` / `biases` (in vec4s).
    weight_offset: u32,
    bias_offset: u32,
}

const RELU: u32 = 1u;
const ACCUMULATE: u32 = 2u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> weights: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> biases: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> src: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(8, 8, 1)
fn conv(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.width || id.y >= p.height || id.z * 4u >= p.cout) {
        return;
    }
    let plane = p.width * p.height;
    let r = i32(p.k / 2u);
    let kk = p.k * p.k;
    let group_base = p.weight_offset + id.z * p.cin * kk;
    var acc = biases[p.bias_offset + id.z];
    for (var ky = 0u; ky < p.k; ky++) {
        let sy = u32(clamp(i32(id.y) + i32(ky) - r, 0, i32(p.height) - 1));
        for (var kx = 0u; kx < p.k; kx++) {
            let sx = u32(clamp(i32(id.x) + i32(kx) - r, 0, i32(p.width) - 1));
            let s = sy * p.width + sx;
            let tap = ky * p.k + kx;
            for (var ci = 0u; ci < p.cin; ci++) {
                acc += src[ci * plane + s] * weights[group_base + ci * kk + tap];
            }
        }
    }
    if ((p.flags & RELU) != 0u) {
        acc = max(acc, vec4<f32>(0.0));
    }
    let o = id.z * 4u * plane + id.y * p.width + id.x;
    for (var i = 0u; i < 4u; i++) {
        if ((p.flags & ACCUMULATE) != 0u) {
            dst[o + i * plane] += acc[i];
        } else {
            dst[o + i * plane] = acc[i];
        }
    }
}
