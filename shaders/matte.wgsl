// The background composite at full resolution (`matte::composite`): per pixel, the matte from the
// guided filter's coefficients (alpha = a * luma + b, a and b bilinear from the working grid), the
// person's colour decontaminated towards the grid's foreground estimate where alpha is partial,
// the new background behind, and a light wrap of the background over the person's rim.
//
// The CPU reference is `composite_cpu` in pipeline/src/matte/composite.rs; change both together.
// Every interpolation is written out as `a + (b - a) * t` in both, so they round alike.

struct Params {
    frame: vec2<u32>,
    grid: vec2<u32>,
    background: vec2<u32>,
    wrap: f32,
    // 1: write the person with alpha = matte (mode=transparent); 0: composite over the background.
    transparent: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var src: texture_2d<f32>;
@group(0) @binding(2) var background: texture_2d<f32>;
// Two vec4 per grid cell: (a, b, blurred alpha, 0), (foreground r, g, b, 0).
@group(0) @binding(3) var<storage, read> cells: array<vec4<f32>>;
@group(0) @binding(4) var dst: texture_storage_2d<rgba8unorm, write>;

const LUMA = vec3<f32>(0.299, 0.587, 0.114);

// Output sample i of out_len in a source of src_len samples, pixel centres aligned, edges clamped:
// (first index, second index, weight of the second). `grid::bilinear_index` on the CPU.
fn grid_index(i: u32, out_len: u32, src_len: u32) -> vec3<f32> {
    let last = f32(src_len - 1u);
    let pos = clamp((f32(i) + 0.5) * f32(src_len) / f32(out_len) - 0.5, 0.0, last);
    let i0 = min(floor(pos), last);
    let i1 = min(i0 + 1.0, last);
    return vec3<f32>(i0, i1, pos - i0);
}

fn lerp4(a: vec4<f32>, b: vec4<f32>, t: f32) -> vec4<f32> {
    return a + (b - a) * t;
}

fn cell(x: f32, y: f32, half: u32) -> vec4<f32> {
    return cells[(u32(y) * params.grid.x + u32(x)) * 2u + half];
}

fn bilinear_cell(ix: vec3<f32>, iy: vec3<f32>, half: u32) -> vec4<f32> {
    let top = lerp4(cell(ix.x, iy.x, half), cell(ix.y, iy.x, half), ix.z);
    let bottom = lerp4(cell(ix.x, iy.y, half), cell(ix.y, iy.y, half), ix.z);
    return lerp4(top, bottom, iy.z);
}

fn texel(x: f32, y: f32) -> vec4<f32> {
    return round(textureLoad(background, vec2<i32>(i32(x), i32(y)), 0) * 255.0) / 255.0;
}

@compute @workgroup_size(8, 8, 1)
fn composite(@builtin(global_invocation_id) id: vec3<u32>) {
    if id.x >= params.frame.x || id.y >= params.frame.y {
        return;
    }
    let p = vec2<i32>(id.xy);
    let s = round(textureLoad(src, p, 0) * 255.0) / 255.0;
    // The guide: luma averaged over 3x3 pixels (edges repeated), which keeps edges to a pixel
    // but divides the camera's per-pixel noise by 3, as the matte multiplies it by `a`.
    let last = vec2<i32>(params.frame) - vec2<i32>(1);
    var luma = 0.0;
    for (var dy = -1; dy <= 1; dy++) {
        var row = 0.0;
        for (var dx = -1; dx <= 1; dx++) {
            let q = clamp(p + vec2<i32>(dx, dy), vec2<i32>(0), last);
            let t = round(textureLoad(src, q, 0).rgb * 255.0);
            row += LUMA.x * t.r + LUMA.y * t.g + LUMA.z * t.b;
        }
        luma += row;
    }
    luma = luma / (9.0 * 255.0);
    let gx = grid_index(id.x, params.frame.x, params.grid.x);
    let gy = grid_index(id.y, params.frame.y, params.grid.y);
    let coef = bilinear_cell(gx, gy, 0u);
    let fg = bilinear_cell(gx, gy, 1u);
    let alpha = clamp(coef.x * luma + coef.y, 0.0, 1.0);
    let t = alpha * alpha;
    let person = fg.rgb + (s.rgb - fg.rgb) * t;
    var out: vec4<f32>;
    if params.transparent == 1u {
        out = vec4<f32>(person, alpha);
    } else {
        let bx = grid_index(id.x, params.frame.x, params.background.x);
        let by = grid_index(id.y, params.frame.y, params.background.y);
        let btop = lerp4(texel(bx.x, by.x), texel(bx.y, by.x), bx.z);
        let bbottom = lerp4(texel(bx.x, by.y), texel(bx.y, by.y), bx.z);
        let back = lerp4(btop, bbottom, by.z).rgb;
        let over = back + (person - back) * alpha;
        let wrap = clamp(params.wrap * alpha * (1.0 - coef.z), 0.0, 1.0);
        out = vec4<f32>(over + (back - over) * wrap, s.a);
    }
    textureStore(dst, p, round(clamp(out, vec4<f32>(0.0), vec4<f32>(1.0)) * 255.0) / 255.0);
}
