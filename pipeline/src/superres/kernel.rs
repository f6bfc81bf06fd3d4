//! Writes the WGSL of one layer of the GPU twin: `shaders/superres_conv.wgsl` (bindings, helpers)
//! with the layer's entry point `main` after it, as straight-line code for one slice of the layer's
//! output channels.
//!
//! Why generated: the inner loops (taps x input channels x output vec4s) must be unrolled so the
//! accumulators stay in registers. The same kernel written with loops over pipeline-overridable
//! shape constants (the weights in a uniform buffer) measured no faster than the naive kernel on
//! lavapipe: wgpu guards each loop with a counter, which hides the trip count from the driver's
//! unroller. The weights are written into the code as f32 literals (exact: shortest round-trip
//! digits); reading them from a uniform buffer at constant indices ran at the same speed but took
//! lavapipe minutes to compile. Staging each 8x8 block plus halo in workgroup memory (one barrier)
//! measured 2.3x slower on lavapipe than reading the storage buffers directly, so inputs are read
//! at clamped coordinates.

use std::fmt::Write;
use std::ops::Range;

use super::net::Conv;

const SHARED: &str = doppel_shaders::SUPERRES_CONV;
/// The kernels' workgroup side (8 x 8 invocations).
pub const TILE: u32 = 8;

const ENTRY: &str = "@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.width || id.y >= p.height) {
        return;
    }
    let plane = p.width * p.height;
";

fn prelude() -> String {
    format!("{SHARED}\n{ENTRY}")
}

/// Appends the clamped input index of every tap of `conv`, named `{input}_i{tap}`.
fn indices(code: &mut String, conv: &Conv, input: &str) {
    let r = conv.k / 2;
    for ky in 0..conv.k {
        for kx in 0..conv.k {
            let _ = writeln!(
                code,
                "    let {input}_i{} = clamped(vec2<i32>(id.xy) - vec2<i32>({r}), {kx}u, {ky}u);",
                ky * conv.k + kx
            );
        }
    }
}

/// Appends `acc{a} += input value * weights` for every tap and input channel of `conv`, where
/// accumulator `a` takes weight group `groups[a]`; `input` prefixes the names of the indices
/// ([`indices`]) and loaded values; `from_pixels`: the input is the RGBA8 frame, else features.
fn accumulate(code: &mut String, conv: &Conv, input: &str, groups: &[usize], from_pixels: bool) {
    for ky in 0..conv.k {
        for kx in 0..conv.k {
            let tap = ky * conv.k + kx;
            for ci in 0..conv.cin {
                let value = if from_pixels {
                    format!("channel(pixels[{input}_i{tap}], {ci}u)")
                } else {
                    format!("src[{ci}u * plane + {input}_i{tap}]")
                };
                let _ = writeln!(code, "    let {input}{tap}_{ci} = {value};");
                for (a, g) in groups.iter().enumerate() {
                    let w = weight_literal(conv, tap, ci, *g);
                    let _ = writeln!(code, "    acc{a} += {input}{tap}_{ci} * {w};");
                }
            }
        }
    }
}

/// The module for output vec4 groups `groups` of a body conv: bias, optional ReLU, planar f32 out.
/// `from_pixels`: the conv reads the RGBA8 input (conv1).
pub fn conv_source(conv: &Conv, from_pixels: bool, relu: bool, groups: Range<usize>) -> String {
    let mut code = prelude();
    indices(&mut code, conv, "x");
    let list: Vec<usize> = groups.collect();
    for (a, g) in list.iter().enumerate() {
        let _ = writeln!(code, "    var acc{a} = {};", bias_literal(conv, *g));
    }
    accumulate(&mut code, conv, "x", &list, from_pixels);
    code.push_str("    let o = id.y * p.width + id.x;\n");
    for (a, g) in list.iter().enumerate() {
        let value = if relu {
            format!("max(acc{a}, vec4<f32>(0.0))")
        } else {
            format!("acc{a}")
        };
        let _ = writeln!(code, "    let out{a} = {value};");
        for (lane, component) in ["x", "y", "z", "w"].iter().enumerate() {
            let channel = 4 * g + lane;
            let _ = writeln!(
                code,
                "    dst[{channel}u * plane + o] = out{a}.{component};"
            );
        }
    }
    code.push_str("}\n");
    code
}

/// The head module for pixel-shuffle phase quads `quads` (phases `4q..4q+3`, three colours each):
/// `last` (the last body conv, from features) and `skip` (from the RGB input) added, shuffled into
/// `scale` x `scale` output pixels and rounded to RGBA8.
pub fn head_source(last: &Conv, skip: &Conv, scale: u32, quads: Range<usize>) -> String {
    let s = scale as usize;
    let per_colour = s * s / 4;
    let mut code = prelude();
    indices(&mut code, last, "x");
    indices(&mut code, skip, "s");
    let quads: Vec<usize> = quads.collect();
    // Accumulator c * quads.len() + i: colour c, quad quads[i]; its vec4 group in the output
    // channels (colour * scale^2 + phase).
    let groups: Vec<usize> = (0..3)
        .flat_map(|c| quads.iter().map(move |q| c * per_colour + q))
        .collect();
    // Both biases first: the graph adds the two convs' outputs; the summation order differs only
    // in rounding.
    for (a, g) in groups.iter().enumerate() {
        let _ = writeln!(
            code,
            "    var acc{a} = {} + {};",
            bias_literal(last, *g),
            bias_literal(skip, *g)
        );
    }
    accumulate(&mut code, last, "x", &groups, false);
    accumulate(&mut code, skip, "s", &groups, true);
    let _ = writeln!(code, "    let out_w = p.width * {s}u;");
    let n = quads.len();
    for (i, q) in quads.iter().enumerate() {
        for (lane, component) in ["x", "y", "z", "w"].iter().enumerate() {
            let phase = 4 * q + lane;
            let (dx, dy) = (phase % s, phase / s);
            let _ = writeln!(
                code,
                "    out_pixels[(id.y * {s}u + {dy}u) * out_w + id.x * {s}u + {dx}u] = \
                 to_byte(acc{i}.{component}) | (to_byte(acc{}.{component}) << 8u) | \
                 (to_byte(acc{}.{component}) << 16u) | (255u << 24u);",
                n + i,
                2 * n + i
            );
        }
    }
    code.push_str("}\n");
    code
}

/// An f32 as a WGSL literal that parses back to the same value (shortest round-trip digits, `f`
/// suffix: no detour through f64).
fn float(v: f32) -> String {
    format!("{v:?}f")
}

/// Outputs `4g..4g+3` of `conv` for input channel `ci` at kernel tap `tap`.
fn weight_literal(conv: &Conv, tap: usize, ci: usize, g: usize) -> String {
    let kk = conv.k * conv.k;
    let lanes: Vec<String> = (0..4)
        .map(|l| float(conv.weight[((4 * g + l) * conv.cin + ci) * kk + tap]))
        .collect();
    format!("vec4<f32>({})", lanes.join(", "))
}

/// Biases `4g..4g+3` of `conv`.
fn bias_literal(conv: &Conv, g: usize) -> String {
    let lanes: Vec<String> = conv.bias[4 * g..4 * g + 4]
        .iter()
        .map(|&b| float(b))
        .collect();
    format!("vec4<f32>({})", lanes.join(", "))
}
