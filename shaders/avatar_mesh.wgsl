// glTF / VRM avatar meshes: vertices arrive posed in world space (morphs and skinning are done on
// the CPU, see pipeline/src/avatar/model.rs); this maps them to the target with an orthographic
// camera that frames the avatar's head onto the tracked face, and shades them with the base colour
// (factor x texture), lit by one directional light plus ambient, or unlit. Lighting is computed in
// linear light and written sRGB-encoded (the frame's bytes); output is premultiplied alpha.

struct Camera {
    // world -> clip
    view_proj: mat4x4<f32>,
    // direction towards the light (world), w unused
    light: vec4<f32>,
}

struct MaterialParams {
    base_color: vec4<f32>,
    // x: 1 = unlit; y: alpha cutoff (0 = none); z: 1 = has texture
    flags: vec4<f32>,
}

@group(0) @binding(0) var<uniform> camera: Camera;
@group(1) @binding(0) var<uniform> material: MaterialParams;
@group(1) @binding(1) var base_tex: texture_2d<f32>;
@group(1) @binding(2) var base_smp: sampler;

struct VertexOut {
    @builtin(position) clip: vec4<f32>,
    @location(0) normal: vec3<f32>,
    @location(1) uv: vec2<f32>,
}

@vertex
fn vs_main(@location(0) position: vec3<f32>, @location(1) normal: vec3<f32>, @location(2) uv: vec2<f32>) -> VertexOut {
    var out: VertexOut;
    out.clip = camera.view_proj * vec4<f32>(position, 1.0);
    out.normal = normal;
    out.uv = uv;
    return out;
}

fn to_srgb(c: vec3<f32>) -> vec3<f32> {
    let lo = c * 12.92;
    let hi = 1.055 * pow(max(c, vec3<f32>(0.0)), vec3<f32>(1.0 / 2.4)) - 0.055;
    return select(hi, lo, c <= vec3<f32>(0.0031308));
}

// The lit (or unlit) colour of a fragment of base colour `base`, premultiplied.
fn shade(base: vec4<f32>, in: VertexOut, front: bool) -> vec4<f32> {
    // Both shadings, chosen by select: no branch tests a uniform alone, because lavapipe
    // specialises a shader for the uniform values its branches test and compiled this one again
    // at every material change (half the frame's time).
    var n = normalize(in.normal);
    n = select(-n, n, front);
    let diffuse = max(dot(n, normalize(camera.light.xyz)), 0.0);
    let rgb = select(base.rgb * (0.38 + 0.75 * diffuse), base.rgb, material.flags.x > 0.5);
    let a = select(base.a, 1.0, material.flags.w > 0.5);
    return vec4<f32>(to_srgb(clamp(rgb, vec3<f32>(0.0), vec3<f32>(1.0))) * a, a);
}

// Materials with a base colour texture. Alpha below the cutoff (flags.y; 0 = none) is cut out.
@fragment
fn fs_textured(in: VertexOut, @builtin(front_facing) front: bool) -> @location(0) vec4<f32> {
    // Level 0: the textures have no mip chain, and an explicit level spares the derivatives.
    let base = material.base_color * textureSampleLevel(base_tex, base_smp, in.uv, 0.0);
    if base.a < material.flags.y {
        discard;
    }
    return shade(base, in, front);
}

// Materials without a texture: one colour, nothing to sample (a texture fetch is a large part of a
// CPU driver's per-pixel work). A constant alpha below the cutoff hides the whole primitive, which
// the renderer then does not draw.
@fragment
fn fs_plain(in: VertexOut, @builtin(front_facing) front: bool) -> @location(0) vec4<f32> {
    return shade(material.base_color, in, front);
}
