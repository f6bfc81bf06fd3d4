// doppel's super-resolution net (scripts/train_superres.py) as WGSL: the GPU twin of its ONNX graph.
// This file is the shared part of every layer's kernel; `pipeline/src/superres/kernel.rs` appends the
// layer's entry point `main`, straight-line code for one layer and a slice of its output channels:
// - a body conv: 3x3 conv + bias (+ ReLU), from the RGBA8 input (conv1) or from planar f32 features
//   ([c][height][width]) to planar f32 features;
// - the head: the last body conv and the skip conv (the learned bicubic path) added, pixel-shuffled
//   (ONNX DepthToSpace CRD) and rounded to RGBA8: the net's output pixels.
// One invocation per low-resolution pixel keeps its slice of output channels in vec4 registers and
// reads its inputs at clamped coordinates (edges repeat, as the graph's Pad(mode=edge)); the weights
// are literals in the generated code.

struct Params {
    // Low-resolution size.
    width: u32,
    height: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// RGBA8, R in the low byte.
@group(0) @binding(1) var<storage, read> pixels: array<u32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
// head only: the output pixels, (scale * width) x (scale * height).
@group(0) @binding(4) var<storage, read_write> out_pixels: array<u32>;

// The input index of pixel origin + (x, y), edges repeated.
fn clamped(origin: vec2<i32>, x: u32, y: u32) -> u32 {
    let sx = clamp(origin.x + i32(x), 0, i32(p.width) - 1);
    let sy = clamp(origin.y + i32(y), 0, i32(p.height) - 1);
    return u32(sy) * p.width + u32(sx);
}

fn channel(v: u32, c: u32) -> f32 {
    // value / 255, as the ONNX path's input.
    return f32((v >> (8u * c)) & 0xffu) / 255.0;
}

fn to_byte(v: f32) -> u32 {
    // Round half away from zero, then clamp: as the ONNX path's 0..1 decoding.
    return u32(clamp(floor(v * 255.0 + 0.5), 0.0, 255.0));
}
