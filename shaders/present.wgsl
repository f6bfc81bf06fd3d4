// Presents a frame in the live window: the frame letterboxed into the target (black bars), and the
// on-screen display (an opaque CPU-drawn text box) over its top-left corner.
//
// One full-screen triangle (`fs_main`); the fragment stage works in target pixels (`@builtin(position)` is the
// pixel centre, x + 0.5). Textures are sRGB views when the target is sRGB, so bytes pass through
// unchanged. The CPU reference is `compose_cpu` in app/src/live/present.rs; change both together.
//
// When the frame has the target's size the window writes its pixels straight into the surface and
// draws only the display with `fs_osd`, scissored to its box: no shader pass over the whole frame.

struct Params {
    // Where the frame goes, in target pixels: x0, y0, x1, y1 (x1, y1 exclusive).
    frame_rect: vec4<f32>,
    // Where the display goes; empty (x1 <= x0) when it is hidden.
    osd_rect: vec4<f32>,
    // x > 0.5: the frame is shown mirrored left to right (the preview's mirror; the display is not).
    mirror: vec4<f32>,
}

@group(0) @binding(0) var frame_tex: texture_2d<f32>;
@group(0) @binding(1) var frame_sampler: sampler;
@group(0) @binding(2) var osd_tex: texture_2d<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@vertex
fn vs_main(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
    // (-1,-1), (3,-1), (-1,3): one triangle that covers the whole target.
    let x = f32(i32(i & 1u) * 4 - 1);
    let y = f32(i32(i >> 1u) * 4 - 1);
    return vec4<f32>(x, y, 0.0, 1.0);
}

fn inside(p: vec2<f32>, r: vec4<f32>) -> bool {
    return p.x >= r.x && p.y >= r.y && p.x < r.z && p.y < r.w;
}

@fragment
fn fs_main(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let p = pos.xy;
    if inside(p, params.osd_rect) {
        let texel = vec2<i32>(floor(p - params.osd_rect.xy));
        let c = textureLoad(osd_tex, texel, 0);
        if c.a > 0.5 {
            return vec4<f32>(c.rgb, 1.0);
        }
    }
    if inside(p, params.frame_rect) {
        var uv = (p - params.frame_rect.xy) / (params.frame_rect.zw - params.frame_rect.xy);
        if params.mirror.x > 0.5 {
            uv.x = 1.0 - uv.x;
        }
        // An explicit level: sampling in non-uniform control flow needs no derivatives then.
        let c = textureSampleLevel(frame_tex, frame_sampler, uv, 0.0);
        return vec4<f32>(c.rgb, 1.0);
    }
    return vec4<f32>(0.0, 0.0, 0.0, 1.0);
}

// The display alone, over a target that already holds the frame (drawn scissored to `osd_rect`).
@fragment
fn fs_osd(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let c = textureLoad(osd_tex, vec2<i32>(floor(pos.xy - params.osd_rect.xy)), 0);
    if c.a <= 0.5 {
        discard;
    }
    return vec4<f32>(c.rgb, 1.0);
}
