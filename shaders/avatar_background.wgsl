// The backdrop under an avatar: a solid colour, or a texture (an image, the camera frame, a small
// blurred copy of it) sampled bilinearly over the viewport, optionally mixed with a fill colour by
// the person mask. Drawn as one full-viewport triangle. Mirrored by `compose::background_pixel`
// in pipeline/src/avatar/compose.rs (the CPU reference); change both together.
//
// One entry point per mode rather than a branch on `mode`: CPU drivers (lavapipe) run both sides of
// a branch, so a solid fill would pay for the texture sampling.

struct Params {
    // Viewport in target pixels: x, y, width, height.
    viewport: vec4<f32>,
    // Fill colour, 0..1 (sRGB-encoded values, as the frame's bytes).
    fill: vec4<f32>,
    // 0 = fill colour, 1 = texture, 2 = texture where the mask is 0, fill where it is 1.
    mode: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var src: texture_2d<f32>;
@group(0) @binding(2) var mask: texture_2d<f32>;
@group(0) @binding(3) var smp: sampler;

@vertex
fn vs_main(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
    // One triangle that covers the viewport.
    let x = f32((i << 1u) & 2u) * 2.0 - 1.0;
    let y = f32(i & 2u) * 2.0 - 1.0;
    return vec4<f32>(x, y, 0.0, 1.0);
}

fn uv_of(pos: vec4<f32>) -> vec2<f32> {
    return (pos.xy - params.viewport.xy) / params.viewport.zw;
}

// Mode 0.
@fragment
fn fs_fill(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    return vec4<f32>(params.fill.rgb, 1.0);
}

// Mode 1.
@fragment
fn fs_texture(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    return vec4<f32>(textureSampleLevel(src, smp, uv_of(pos), 0.0).rgb, 1.0);
}

// Mode 2.
@fragment
fn fs_masked(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let uv = uv_of(pos);
    let texel = textureSampleLevel(src, smp, uv, 0.0);
    let m = textureSampleLevel(mask, smp, uv, 0.0).r;
    return vec4<f32>(mix(texel.rgb, params.fill.rgb, m), 1.0);
}
