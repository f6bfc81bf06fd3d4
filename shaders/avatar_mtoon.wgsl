// MToon-like toon shading and the inverted-hull outline of VRM materials (VRMC_materials_mtoon-1.0,
// VRM 0.x "VRM/MToon"), appended to avatar_mesh.wgsl (its Camera, MaterialParams and VertexOut).
// `Toon::shade` in pipeline/src/avatar/material.rs computes the same colour on the CPU (tested).

// Lit colour `lit` (base factor x texture), shade colour from `material.shade` (x the base texture
// when flagged), a linear step from shade to lit over material.toon.xy of N.L, plus the parametric
// rim and the emissive colour. Linear RGB.
fn toon_shade(lit: vec3<f32>, texel: vec3<f32>, n_dot_l: f32, n_dot_v: f32) -> vec3<f32> {
    let t = clamp((n_dot_l - material.toon.x) / max(material.toon.y - material.toon.x, 1e-4), 0.0, 1.0);
    let shade = material.shade.rgb * select(vec3<f32>(1.0), texel, material.rim.w > 0.5);
    let rim_base = max(clamp(1.0 - n_dot_v + material.toon.w, 0.0, 1.0), 1e-6);
    let rim = pow(rim_base, max(material.toon.z, 1e-3)) * material.rim.rgb;
    return mix(shade, lit, t) + rim + material.emissive.rgb;
}

// The outline hull: the surface pushed out along its normal, drawn with front faces culled so only
// the rim around the silhouette shows. World mode: outline_width.x world units; screen mode: that
// fraction of the output height.
@vertex
fn vs_outline(@location(0) position: vec3<f32>, @location(1) normal: vec3<f32>, @location(2) uv: vec2<f32>) -> VertexOut {
    var out: VertexOut;
    let n = normalize(normal);
    let width = material.outline_width.x;
    let world = camera.view_proj * vec4<f32>(position + n * width, 1.0);
    let flat_clip = camera.view_proj * vec4<f32>(position, 1.0);
    let dir = (camera.view_proj * vec4<f32>(n, 0.0)).xy;
    let len = max(length(vec2<f32>(dir.x / max(camera.light.w, 1e-4), dir.y)), 1e-6);
    // `len` measures the direction in pixels (x rescaled by width / height); NDC spans 2 over the
    // height, so `width` of the height is 2 x width along the unit pixel direction.
    let screen = flat_clip + vec4<f32>(dir / len * 2.0 * width * flat_clip.w, 0.0, 0.0);
    out.clip = select(world, screen, material.outline_width.y > 1.5);
    out.normal = n;
    out.uv = place_uv(uv);
    return out;
}

@fragment
fn fs_outline(in: VertexOut) -> @location(0) vec4<f32> {
    let n_dot_l = max(dot(normalize(in.normal), normalize(camera.light.xyz)), 0.0);
    let light = min(0.38 + 0.75 * n_dot_l, 1.0);
    let rgb = material.outline.rgb * mix(1.0, light, material.outline.w);
    return vec4<f32>(to_srgb(clamp(rgb, vec3<f32>(0.0), vec3<f32>(1.0))), 1.0);
}
