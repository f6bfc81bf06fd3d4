// Unsharp mask: out = src + amount * (src - blurred) where |src - blurred| >= threshold, per colour
// channel, in 0..255 units; alpha is the source's. `blurred` is the Gaussian blur of `src`
// (`blur.wgsl`), recorded before this pass in the same submission.
//
// The CPU reference is `unsharp_cpu` in pipeline/src/gpu/blend.rs; change both together. Texels are
// first rounded back to their exact byte values so that the GPU and CPU start from the same numbers.

struct Params {
    size: vec2<u32>,
    amount: f32,
    threshold: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var src: texture_2d<f32>;
@group(0) @binding(2) var blurred: texture_2d<f32>;
@group(0) @binding(3) var dst: texture_storage_2d<rgba8unorm, write>;

@compute @workgroup_size(8, 8, 1)
fn unsharp(@builtin(global_invocation_id) id: vec3<u32>) {
    if id.x >= params.size.x || id.y >= params.size.y {
        return;
    }
    let p = vec2<i32>(id.xy);
    let s = round(textureLoad(src, p, 0) * 255.0);
    let b = round(textureLoad(blurred, p, 0) * 255.0);
    let d = s.rgb - b.rgb;
    let keep = abs(d) < vec3<f32>(params.threshold);
    let sharp = select(s.rgb + params.amount * d, s.rgb, keep);
    let rgb = round(clamp(sharp, vec3<f32>(0.0), vec3<f32>(255.0)));
    textureStore(dst, p, vec4<f32>(rgb, s.a) / 255.0);
}
