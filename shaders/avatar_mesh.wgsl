// glTF / VRM avatar meshes: vertices arrive posed in world space (morphs and skinning are done on
// the CPU, see pipeline/src/avatar/model.rs); this maps them to the target with an orthographic
// camera that frames the avatar's head onto the tracked face, and shades them with the base colour
// (factor x texture, the texture placed by KHR_texture_transform / VRM texture transform binds):
// lit by one directional light plus ambient, unlit, or toon-shaded (MToon, avatar_mtoon.wgsl,
// appended to this source). Emissive adds to all three. Lighting is computed in linear light and
// written sRGB-encoded (the frame's bytes); output is premultiplied alpha.

struct Camera {
    // world -> clip
    view_proj: mat4x4<f32>,
    // xyz: direction towards the light (world); w: output height / width (screen outlines)
    light: vec4<f32>,
}

// Mirrors `material_params` in pipeline/src/avatar/render.rs.
struct MaterialParams {
    base_color: vec4<f32>,
    // x: 1 = unlit; y: alpha cutoff (0 = none); z: 1 = has texture; w: 1 = opaque
    flags: vec4<f32>,
    // rgb: MToon shade colour; w: 1 = toon-shaded
    shade: vec4<f32>,
    // x, y: the shading step lo..hi; z: rim fresnel power; w: rim lift
    toon: vec4<f32>,
    // rgb: parametric rim colour; w: 1 = shade colour x base texture
    rim: vec4<f32>,
    // rgb: emissive (linear, strength applied)
    emissive: vec4<f32>,
    // rgb: outline colour; w: outline lighting mix
    outline: vec4<f32>,
    // x: outline width; y: 1 = world units, 2 = fraction of the screen height
    outline_width: vec4<f32>,
    // xy: texture offset; zw: texture scale
    uv: vec4<f32>,
    // x: texture rotation (radians)
    uv_rotation: vec4<f32>,
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

// KHR_texture_transform: offset + rotation * (scale * uv).
fn place_uv(uv: vec2<f32>) -> vec2<f32> {
    let s = uv * material.uv.zw;
    let c = cos(material.uv_rotation.x);
    let n = sin(material.uv_rotation.x);
    return material.uv.xy + vec2<f32>(c * s.x + n * s.y, -n * s.x + c * s.y);
}

@vertex
fn vs_main(@location(0) position: vec3<f32>, @location(1) normal: vec3<f32>, @location(2) uv: vec2<f32>) -> VertexOut {
    var out: VertexOut;
    out.clip = camera.view_proj * vec4<f32>(position, 1.0);
    out.normal = normal;
    out.uv = place_uv(uv);
    return out;
}

fn to_srgb(c: vec3<f32>) -> vec3<f32> {
    let lo = c * 12.92;
    let hi = 1.055 * pow(max(c, vec3<f32>(0.0)), vec3<f32>(1.0 / 2.4)) - 0.055;
    return select(hi, lo, c <= vec3<f32>(0.0031308));
}

// The colour of a fragment of base colour `base` (factor x texture; `texel` the texture alone),
// premultiplied.
fn shade(base: vec4<f32>, texel: vec3<f32>, in: VertexOut, front: bool) -> vec4<f32> {
    // Every shading is computed and one chosen by select: no branch tests a uniform alone, because
    // lavapipe specialises a shader for the uniform values its branches test and compiled this one
    // again at every material change (half the frame's time).
    var n = normalize(in.normal);
    n = select(-n, n, front);
    let n_dot_l = dot(n, normalize(camera.light.xyz));
    let lambert = base.rgb * (0.38 + 0.75 * max(n_dot_l, 0.0));
    let plain = select(lambert, base.rgb, material.flags.x > 0.5);
    // The orthographic camera looks down -Z: the viewer is towards +Z.
    let toon = toon_shade(base.rgb, texel, n_dot_l, max(n.z, 0.0));
    let rgb = select(plain + material.emissive.rgb, toon, material.shade.w > 0.5);
    let a = select(base.a, 1.0, material.flags.w > 0.5);
    return vec4<f32>(to_srgb(clamp(rgb, vec3<f32>(0.0), vec3<f32>(1.0))) * a, a);
}

// Materials with a base colour texture. Alpha below the cutoff (flags.y; 0 = none) is cut out.
@fragment
fn fs_textured(in: VertexOut, @builtin(front_facing) front: bool) -> @location(0) vec4<f32> {
    // Level 0: the textures have no mip chain, and an explicit level spares the derivatives.
    let texel = textureSampleLevel(base_tex, base_smp, in.uv, 0.0);
    let base = material.base_color * texel;
    if base.a < material.flags.y {
        discard;
    }
    return shade(base, texel.rgb, in, front);
}

// Materials without a texture: one colour, nothing to sample (a texture fetch is a large part of a
// CPU driver's per-pixel work). A constant alpha below the cutoff hides the whole primitive, which
// the renderer then does not draw.
@fragment
fn fs_plain(in: VertexOut, @builtin(front_facing) front: bool) -> @location(0) vec4<f32> {
    return shade(material.base_color, vec3<f32>(1.0), in, front);
}
