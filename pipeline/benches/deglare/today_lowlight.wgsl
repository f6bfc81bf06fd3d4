// The lowlight kernel as it was when issue 18 was filed (commit 37d4576, shaders/lowlight.wgsl):
// Zero-DCE curves applied at full size. The benchmark's "today" baseline; not used by the stage.
// Low-light enhancement: Zero-DCE curve maps estimated on a small frame, applied at full size (see
// pipeline/src/enhance/lowlight.rs for the math and `apply_curves_cpu`, the CPU reference that does
// the same arithmetic in the same order). Per pixel: eight steps x <- x - a x (1 - x) on RGB at
// once, `a` bilinearly upsampled (along y, then x), then out = in + strength (x - in). The curves
// come interleaved (`curves[cell * 8 + step]` = the step's R, G, B factors).
// Speed: on a CPU Vulkan (lavapipe) each storage-buffer gather costs about as much as a pixel's
// arithmetic, so one invocation handles the block of pixels that share their four curve cells: 32
// vec4 loads per block of ~(full/small)^2 pixels rather than 96 scalar loads per pixel.

struct Params {
    full: vec2<u32>,    // frame width, height
    small: vec2<u32>,   // curve maps width, height
    strength: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> curves: array<vec4<f32>>;
@group(0) @binding(2) var frame: texture_2d<f32>;
@group(0) @binding(3) var out_tex: texture_storage_2d<rgba8unorm, write>;

// As `bilinear_taps` in pipeline/src/enhance/mod.rs: (i0, i1, weight of i1).
fn taps_of(x: u32, full: u32, small: u32) -> vec3<f32> {
    let u = max((f32(x) + 0.5) * (f32(small) / f32(full)) - 0.5, 0.0);
    let i0 = min(u32(floor(u)), small - 1u);
    let i1 = min(i0 + 1u, small - 1u);
    return vec3<f32>(f32(i0), f32(i1), u - floor(u));
}

// First pixel column (or row) whose left (top) tap may be cell `k` (one early, for rounding; the
// loop re-checks with `taps_of`). Cell 0 also takes the pixels before its centre (clamped taps).
fn run_start(k: u32, full: u32, small: u32) -> u32 {
    if (k == 0u) {
        return 0u;
    }
    let x = (f32(k) + 0.5) * (f32(full) / f32(small)) - 0.5;
    return u32(max(floor(x) - 1.0, 0.0));
}

// The 8 steps' factors (RGB) of one curve cell, or an interpolation of cells. A struct of named
// members, not an array: lavapipe keeps a private array in memory and gathers from it per lane.
struct Cell {
    s0: vec3<f32>, s1: vec3<f32>, s2: vec3<f32>, s3: vec3<f32>,
    s4: vec3<f32>, s5: vec3<f32>, s6: vec3<f32>, s7: vec3<f32>,
};

fn load_cell(i: u32) -> Cell {
    let b = i * 8u;
    return Cell(curves[b].rgb, curves[b + 1u].rgb, curves[b + 2u].rgb, curves[b + 3u].rgb,
                curves[b + 4u].rgb, curves[b + 5u].rgb, curves[b + 6u].rgb, curves[b + 7u].rgb);
}

// a + (b - a) t, per step: the bilinear arithmetic of `apply_curves_cpu`.
fn mix_cell(a: Cell, b: Cell, t: f32) -> Cell {
    return Cell(a.s0 + (b.s0 - a.s0) * t, a.s1 + (b.s1 - a.s1) * t, a.s2 + (b.s2 - a.s2) * t,
                a.s3 + (b.s3 - a.s3) * t, a.s4 + (b.s4 - a.s4) * t, a.s5 + (b.s5 - a.s5) * t,
                a.s6 + (b.s6 - a.s6) * t, a.s7 + (b.s7 - a.s7) * t);
}

fn curve_step(v: vec3<f32>, a: vec3<f32>) -> vec3<f32> {
    return v - a * v * (1.0 - v);
}

fn curves_at(input: vec3<f32>, c: Cell) -> vec3<f32> {
    var v = curve_step(input, c.s0);
    v = curve_step(v, c.s1);
    v = curve_step(v, c.s2);
    v = curve_step(v, c.s3);
    v = curve_step(v, c.s4);
    v = curve_step(v, c.s5);
    v = curve_step(v, c.s6);
    return curve_step(v, c.s7);
}

// One invocation per curve cell (x0, y0): the block of pixels whose top-left tap it is. Four cell
// loads (32 gathers) per block of about (full/small)^2 pixels.
@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.small.x || id.y >= p.small.y) {
        return;
    }
    let x0 = id.x;
    let y0 = id.y;
    let x1 = min(x0 + 1u, p.small.x - 1u);
    let y1 = min(y0 + 1u, p.small.y - 1u);
    let c00 = load_cell(y0 * p.small.x + x0);
    let c01 = load_cell(y0 * p.small.x + x1);
    let c10 = load_cell(y1 * p.small.x + x0);
    let c11 = load_cell(y1 * p.small.x + x1);
    for (var y = run_start(y0, p.full.y, p.small.y); y < p.full.y; y++) {
        let ty = taps_of(y, p.full.y, p.small.y);
        if (u32(ty.x) < y0) {
            continue;
        }
        if (u32(ty.x) > y0) {
            break;
        }
        // along y once per row, then along x per pixel
        let left = mix_cell(c00, c10, ty.z);
        let right = mix_cell(c01, c11, ty.z);
        for (var x = run_start(x0, p.full.x, p.small.x); x < p.full.x; x++) {
            let tx = taps_of(x, p.full.x, p.small.x);
            if (u32(tx.x) < x0) {
                continue;
            }
            if (u32(tx.x) > x0) {
                break;
            }
            let at = vec2<i32>(i32(x), i32(y));
            let px = textureLoad(frame, at, 0);
            let v = curves_at(px.rgb, mix_cell(left, right, tx.z));
            textureStore(out_tex, at, vec4<f32>(px.rgb + p.strength * (v - px.rgb), px.a));
        }
    }
}
