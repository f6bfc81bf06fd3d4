//! The `deglare` and `lowlight` stages with the real models, the real shaders (lavapipe here) and
//! real photos.
//!
//! Data:
//! - `pipeline/tests/fixtures/deglare/*_{glare,clean}.png`: the held-out synthetic pairs written by
//!   `scripts/train_deglare.py --fixtures` from photos the training never saw (split by file, see the
//!   script; licences in the folder's README).
//! - Real photos from Debian's `lomiri-wallpapers-16.04`, fetched by `scripts/fetch-night-photos.sh`
//!   into `target/test-data/night-photos/`: three with real glare around bright lights (sun, lamps)
//!   and two without bright lights. Without them these tests fail (never skip) and say what to run.
//!
//! Measures:
//! - PSNR in dB over RGB (8-bit).
//! - Halo energy: the mean linear luminance in a ring 6..=48 px (Chebyshev distance, at 640 px width)
//!   around the input's highlights (pixels with a channel >= 250), the highlights themselves
//!   excluded. Glare is light added around the sources, so removing it lowers this energy.
//!
//! Side-by-side PNGs (input | gpu | onnx | clean-or-cpu) go to `target/test-output/deglare/`.

use doppel_pipeline::enhance::deglare::{deglare_cpu, GlareParams, GlareScratch};
use doppel_pipeline::enhance::deglare_gpu::GpuDeglare;
use doppel_pipeline::enhance::lowlight::{apply_curves_cpu, apply_gain_cpu, CurveModel};
use doppel_pipeline::enhance::lowlight_gpu::GpuLowlight;
use doppel_pipeline::gpu::GpuContext;
use doppel_pipeline::infer::{ImageModel, ImageSpec, SessionConfig};
use doppel_pipeline::options::StageOptions;
use doppel_pipeline::stages::deglare::Deglare;
use doppel_pipeline::stages::lowlight::Lowlight;
use doppel_pipeline::stages::BuildContext;
use doppel_pipeline::Mode;
use image::{Rgba, RgbaImage};

mod common;
use common::{dilate, max_diff, model, model_arg, output_dir, psnr, root, side_by_side};

/// GPU vs CPU reference: largest difference allowed per channel (the GPU's `pow` and unorm rounding
/// differ from the CPU's in the last bits).
const TOLERANCE: u8 = 1;

fn fixture(name: &str) -> RgbaImage {
    let path = root().join("pipeline/tests/fixtures/deglare").join(name);
    image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgba8()
}

/// The held-out synthetic pairs: (name, with glare, clean).
fn held_out() -> Vec<(String, RgbaImage, RgbaImage)> {
    ["life", "wine", "dragonfly"]
        .iter()
        .flat_map(|n| (0..2).map(move |k| format!("{n}_{k}")))
        .map(|stem| {
            let glare = fixture(&format!("{stem}_glare.png"));
            let clean = fixture(&format!("{stem}_clean.png"));
            (stem, glare, clean)
        })
        .collect()
}

/// A photo from `lomiri-wallpapers-16.04`, resized to 640 px wide.
fn photo(name: &str) -> RgbaImage {
    let path = root()
        .join("target/test-data/night-photos/lomiri-wallpapers-16.04/usr/share/backgrounds")
        .join(name);
    if !path.is_file() {
        panic!(
            "test photo {} is missing: run `scripts/fetch-night-photos.sh` (from the repository root) \
             to fetch it from Debian's lomiri-wallpapers-16.04",
            path.display()
        );
    }
    let img = image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgba8();
    let h = (640.0 * img.height() as f64 / img.width() as f64).round() as u32;
    image::imageops::resize(&img, 640, h, image::imageops::FilterType::Triangle)
}

fn save_side_by_side(name: &str, images: &[&RgbaImage]) {
    side_by_side(images)
        .save(output_dir("deglare").join(format!("{name}.png")))
        .expect("write side-by-side png");
}

fn stage(backend: &str) -> Deglare {
    let path = model_arg("deglare.onnx");
    Deglare::from_options(
        &StageOptions::from_pairs("deglare", &[("backend", backend), ("model", &path)]),
        &BuildContext::new(Mode::Offline),
    )
    .unwrap_or_else(|e| panic!("deglare:backend={backend}: {e}"))
}

fn lowlight(backend: &str, strength: &str) -> Lowlight {
    let path = model_arg("zero_dce_curves_neuro.onnx");
    Lowlight::from_options(
        &StageOptions::from_pairs(
            "lowlight",
            &[
                ("backend", backend),
                ("model", &path),
                ("strength", strength),
            ],
        ),
        &BuildContext::new(Mode::Offline),
    )
    .unwrap_or_else(|e| panic!("lowlight:backend={backend}: {e}"))
}

fn srgb_to_linear(v: u8) -> f64 {
    let v = f64::from(v) / 255.0;
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

/// The ring around `input`'s highlights (see the module docs) and how many pixels it has.
fn halo_ring(input: &RgbaImage) -> (Vec<bool>, usize) {
    let (w, h) = (input.width() as usize, input.height() as usize);
    let lights: Vec<bool> = input
        .pixels()
        .map(|p| p[0].max(p[1]).max(p[2]) >= 250)
        .collect();
    let inner = dilate(&lights, w, h, 6);
    let outer = dilate(&lights, w, h, 48);
    let ring: Vec<bool> = inner.iter().zip(&outer).map(|(i, o)| *o && !*i).collect();
    let n = ring.iter().filter(|&&r| r).count();
    (ring, n)
}

fn halo_energy(img: &RgbaImage, ring: &[bool]) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for (p, &r) in img.pixels().zip(ring) {
        if r {
            sum += 0.2126 * srgb_to_linear(p[0])
                + 0.7152 * srgb_to_linear(p[1])
                + 0.0722 * srgb_to_linear(p[2]);
            n += 1;
        }
    }
    sum / n.max(1) as f64
}

#[test]
fn deglare_improves_psnr_on_the_held_out_synthetic_set() {
    let (mut gpu, mut onnx) = (stage("gpu"), stage("onnx"));
    let (mut before, mut after_gpu, mut after_onnx) = (0.0, 0.0, 0.0);
    let pairs = held_out();
    for (name, glare, clean) in &pairs {
        let g = gpu.apply(glare).unwrap();
        let o = onnx.apply(glare).unwrap();
        let (b, pg, po) = (psnr(glare, clean), psnr(&g, clean), psnr(&o, clean));
        println!("{name}: input {b:.2} dB, gpu {pg:.2} dB, onnx {po:.2} dB");
        before += b;
        after_gpu += pg;
        after_onnx += po;
        save_side_by_side(&format!("heldout_{name}"), &[glare, &g, &o, clean]);
    }
    let n = pairs.len() as f64;
    let (before, after_gpu, after_onnx) = (before / n, after_gpu / n, after_onnx / n);
    println!(
        "held-out synthetic mean PSNR: input {before:.2} dB, gpu {after_gpu:.2} dB, onnx {after_onnx:.2} dB"
    );
    // Since issue 18 the learned layer is held under the shader method's estimate (no harm on
    // real photos without glare): measured +0.6 dB, as the shader method (uncapped it gained
    // +3.1 dB here but smeared up to 87 levels into a white cup).
    assert!(
        after_onnx >= before + 0.3,
        "the learned model should gain >= 0.3 dB: {before:.2} -> {after_onnx:.2}"
    );
    assert!(
        after_gpu >= before + 0.3,
        "the shader method should gain >= 0.3 dB: {before:.2} -> {after_gpu:.2}"
    );
}

#[test]
fn deglare_reduces_halo_energy_on_real_photos_with_lights() {
    let (mut gpu, mut onnx) = (stage("gpu"), stage("onnx"));
    let mut reductions = Vec::new();
    for name in [
        "sunset_by_Aitzol_Berasategi.jpg",
        "free_by_Peter_Nerlich.jpg",
        "seeding_by_Clements_Engelhardt.jpg",
    ] {
        let input = photo(name);
        let (ring, n) = halo_ring(&input);
        assert!(
            n > 1000,
            "{name}: only {n} ring pixels: no bright light found"
        );
        let g = gpu.apply(&input).unwrap();
        let o = onnx.apply(&input).unwrap();
        let e_in = halo_energy(&input, &ring);
        let (e_gpu, e_onnx) = (halo_energy(&g, &ring), halo_energy(&o, &ring));
        let (r_gpu, r_onnx) = (1.0 - e_gpu / e_in, 1.0 - e_onnx / e_in);
        println!(
            "{name}: halo energy {e_in:.4} -> gpu {e_gpu:.4} ({:.1}% less), onnx {e_onnx:.4} ({:.1}% less); \
             PSNR vs input gpu {:.1} dB, onnx {:.1} dB",
            100.0 * r_gpu,
            100.0 * r_onnx,
            psnr(&g, &input),
            psnr(&o, &input)
        );
        save_side_by_side(
            &format!("real_{}", name.split('_').next().unwrap_or(name)),
            &[&input, &g, &o],
        );
        reductions.push((name, r_gpu, r_onnx));
    }
    // Thresholds: these are daylight photos whose rings lie on bright sky or walls (0.28..0.39
    // linear on average). Both methods remove at most bound * knee = 0.015 linear there by
    // design (no dark patch on a bright sky, no harm to bright objects without glare: issue 18),
    // i.e. at most 4..5.5% of the ring energy: each must achieve at least 2.5% on each photo.
    // Before issue 18 (knee 0.05, the learned layer uncapped): gpu 4.2..5.7%, onnx 9..11%, at
    // the price of up to 87 levels of dark smear on a white cup (`tests/night.rs`).
    for (name, r_gpu, r_onnx) in reductions {
        assert!(
            r_gpu >= 0.025 && r_onnx >= 0.025,
            "{name}: halo energy reduced by only {:.1}% (gpu), {:.1}% (onnx)",
            100.0 * r_gpu,
            100.0 * r_onnx
        );
    }
}

#[test]
fn frames_without_bright_lights_stay_nearly_unchanged() {
    let (mut gpu, mut onnx) = (stage("gpu"), stage("onnx"));
    for name in [
        "analogpattern_by_Peter_Nerlich.jpg",
        "friends_by_Aitzol_Berasategi.jpg",
    ] {
        let day = photo(name);
        // the same scene at night: a third of the light, no light sources
        let night = RgbaImage::from_fn(day.width(), day.height(), |x, y| {
            let p = day.get_pixel(x, y);
            Rgba([p[0] / 3, p[1] / 3, p[2] / 3, 255])
        });
        for (variant, input) in [("day", &day), ("night", &night)] {
            let g = gpu.apply(input).unwrap();
            let o = onnx.apply(input).unwrap();
            let (pg, po) = (psnr(&g, input), psnr(&o, input));
            println!("{name} ({variant}): PSNR vs input gpu {pg:.1} dB, onnx {po:.1} dB");
            save_side_by_side(
                &format!(
                    "nolights_{}_{variant}",
                    name.split('_').next().unwrap_or(name)
                ),
                &[input, &g, &o],
            );
            // the bar, for both backends, day and night
            assert!(pg >= 40.0, "{name} ({variant}): gpu changed it: {pg:.1} dB");
            assert!(
                po >= 40.0,
                "{name} ({variant}): onnx changed it: {po:.1} dB"
            );
        }
    }
}

fn luminance(p: &Rgba<u8>) -> f64 {
    0.2126 * srgb_to_linear(p[0]) + 0.7152 * srgb_to_linear(p[1]) + 0.0722 * srgb_to_linear(p[2])
}

/// On a bright sky the shader method must compress, not cut into it: around the setting sun,
/// bright background pixels (linear luminance >= 0.2, not light cores) keep >= 85% of their
/// luminance (1st percentile). Its cap (`glare_cap`: at most bound * knee = 0.015 linear removed
/// on a bright background) allows at most 7.5% at luminance 0.2; before the cap it removed up to
/// half the sky's light, a dark disc around the sun. The learned model's layer has the same
/// ceiling since issue 18 (`enhance::deglare::constrain_layer`; measured 90.7%, before 75%+), so
/// it is held to 85% too.
#[test]
fn bright_sky_around_the_sun_is_compressed_not_cut_into() {
    let input = photo("sunset_by_Aitzol_Berasategi.jpg");
    let mut sheet = vec![input.clone()];
    for backend in ["gpu", "onnx"] {
        let out = stage(backend).apply(&input).unwrap();
        let mut ratios: Vec<f64> = input
            .pixels()
            .zip(out.pixels())
            .filter(|(p, _)| p[0].max(p[1]).max(p[2]) < 242 && luminance(p) >= 0.2)
            .map(|(p, q)| luminance(q) / luminance(p))
            .collect();
        assert!(ratios.len() > 5000, "{} bright sky pixels", ratios.len());
        ratios.sort_by(f64::total_cmp);
        let p1 = ratios[ratios.len() / 100];
        let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
        println!(
            "sunset sky ({backend}): {} bright background pixels keep {:.1}% of their luminance \
             on average, >= {:.1}% for 99%, min {:.1}%",
            ratios.len(),
            100.0 * mean,
            100.0 * p1,
            100.0 * ratios[0]
        );
        let floor = 0.85;
        assert!(
            p1 >= floor,
            "{backend}: the sky loses up to {:.1}%",
            100.0 * (1.0 - p1)
        );
        sheet.push(out);
    }
    let refs: Vec<&RgbaImage> = sheet.iter().collect();
    save_side_by_side("sky_sunset_input_gpu_onnx", &refs);
}

#[test]
fn deglare_gpu_shader_matches_its_cpu_reference() {
    let ctx = GpuContext::shared().expect("a GPU adapter (lavapipe on CPUs)");
    let mut gpu = GpuDeglare::new(ctx).unwrap();
    let mut scratch = GlareScratch::default();
    let mut images: Vec<(String, RgbaImage)> = held_out()
        .into_iter()
        .map(|(name, glare, _)| (name, glare))
        .collect();
    images.push(("sunset".into(), photo("sunset_by_Aitzol_Berasategi.jpg")));
    // odd sizes: partial cells at the edges, a grid factor of 1, a tall frame
    images.push((
        "odd".into(),
        image::imageops::crop_imm(&images[0].1, 3, 5, 333, 97).to_image(),
    ));
    images.push((
        "tall".into(),
        image::imageops::rotate90(&photo("free_by_Peter_Nerlich.jpg")),
    ));
    // 1280x720: 8 pixels a cell, so each apply invocation covers a run of pixels, edges included
    images.push(("hd".into(), hd(&images[0].1)));
    for params in [
        GlareParams::default(),
        GlareParams {
            strength: 0.5,
            threshold: 0.8,
            gain: 100.0,
            knee: 0.2,
            ..GlareParams::default()
        },
    ] {
        for (name, img) in &images {
            let mut on_gpu = RgbaImage::new(img.width(), img.height());
            let mut on_cpu = RgbaImage::new(img.width(), img.height());
            gpu.run(img, &mut on_gpu, &params).unwrap();
            deglare_cpu(img, &mut on_cpu, &params, &mut scratch).unwrap();
            let d = max_diff(&on_gpu, &on_cpu);
            assert!(
                d <= TOLERANCE,
                "{name} {params:?}: GPU and CPU differ by {d}"
            );
            assert_ne!(&on_cpu, img, "{name}: nothing was removed");
            if name == "sunset" && params == GlareParams::default() {
                save_side_by_side("parity_sunset_input_gpu_cpu", &[img, &on_gpu, &on_cpu]);
            }
        }
    }
    // the stage's cpu backend is the same reference
    let (_, glare, _) = &held_out()[0];
    let a = stage("cpu").apply(glare).unwrap();
    let b = stage("gpu").apply(glare).unwrap();
    assert!(max_diff(&a, &b) <= TOLERANCE);
}

/// `img` stretched to 1280x720.
fn hd(img: &RgbaImage) -> RgbaImage {
    image::imageops::resize(img, 1280, 720, image::imageops::FilterType::Triangle)
}

/// A dark version of a photo: sRGB^2.2 x 0.35, as a night shot with the exposure too short.
fn darken(img: &RgbaImage) -> RgbaImage {
    RgbaImage::from_fn(img.width(), img.height(), |x, y| {
        let p = img.get_pixel(x, y);
        let f = |v: u8| ((f64::from(v) / 255.0).powf(2.2) * 0.35 * 255.0).round() as u8;
        Rgba([f(p[0]), f(p[1]), f(p[2]), 255])
    })
}

fn mean_luma(img: &RgbaImage) -> f64 {
    img.pixels()
        .map(|p| 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]))
        .sum::<f64>()
        / f64::from(img.width() * img.height())
}

fn clipped_fraction(img: &RgbaImage) -> f64 {
    img.pixels()
        .filter(|p| p[0].max(p[1]).max(p[2]) == 255)
        .count() as f64
        / f64::from(img.width() * img.height())
}

#[test]
fn lowlight_brightens_a_dark_frame_without_clipping() {
    let original = photo("life_by_Aitzol_Berasategi.jpg");
    let dark = darken(&original);
    let mut gpu = lowlight("gpu", "0.7");
    let mut full = lowlight("cpu", "1");
    let bright = gpu.apply(&dark).unwrap();
    let full_strength = full.apply(&dark).unwrap();
    let (l_dark, l_bright, l_full) = (
        mean_luma(&dark),
        mean_luma(&bright),
        mean_luma(&full_strength),
    );
    let (c_dark, c_bright) = (clipped_fraction(&dark), clipped_fraction(&bright));
    println!(
        "lowlight: mean luma {l_dark:.1} -> {l_bright:.1} (strength 0.7), {l_full:.1} (strength 1); \
         clipped {:.3}% -> {:.3}%; PSNR vs the original photo: dark {:.2} dB, lowlight {:.2} dB",
        100.0 * c_dark,
        100.0 * c_bright,
        psnr(&dark, &original),
        psnr(&bright, &original)
    );
    save_side_by_side(
        "lowlight_dark_gpu07_cpu1_original",
        &[&dark, &bright, &full_strength, &original],
    );
    assert!(
        l_bright >= 1.8 * l_dark,
        "not brighter: {l_dark:.1} -> {l_bright:.1}"
    );
    assert!(l_full > l_bright, "strength 1 should be brighter than 0.7");
    assert!(
        c_bright <= c_dark + 0.005,
        "clips {:.3}% of pixels (input {:.3}%)",
        100.0 * c_bright,
        100.0 * c_dark
    );
    assert!(
        psnr(&bright, &original) > psnr(&dark, &original),
        "closer to the well-exposed photo"
    );
}

#[test]
fn lowlight_gpu_matches_its_cpu_reference_and_the_curves_the_full_zero_dce_model() {
    let session = SessionConfig::default();
    let ctx = GpuContext::shared().expect("a GPU adapter (lavapipe on CPUs)");
    let mut gpu = GpuLowlight::new(ctx).unwrap();
    let mut curves = CurveModel::load(model("zero_dce_curves_neuro.onnx"), &session, 160).unwrap();
    for (name, img) in [
        ("life", darken(&photo("life_by_Aitzol_Berasategi.jpg"))),
        (
            "odd",
            darken(
                &image::imageops::crop_imm(&fixture("wine_0_glare.png"), 1, 2, 301, 77).to_image(),
            ),
        ),
        // 1280x720, frame edges included
        ("hd", darken(&hd(&fixture("life_0_glare.png")))),
    ] {
        let map = curves.plan(&img).unwrap();
        assert!(
            map.data.iter().any(|&g| g > 2.0),
            "{name}: a dark frame gets a gain"
        );
        for strength in [0.0, 0.6, 1.0] {
            let mut on_gpu = RgbaImage::new(img.width(), img.height());
            let mut on_cpu = RgbaImage::new(img.width(), img.height());
            gpu.run(&img, &mut on_gpu, &map, strength).unwrap();
            apply_gain_cpu(&img, &mut on_cpu, &map, strength).unwrap();
            let d = max_diff(&on_gpu, &on_cpu);
            assert!(
                d <= TOLERANCE,
                "{name} strength {strength}: GPU and CPU differ by {d}"
            );
            if strength == 0.0 {
                assert_eq!(on_cpu, img, "strength 0 is the input");
            }
        }
    }
    // At the curve size itself (no upsampling) the 8 curve steps give the full Zero-DCE++ model's
    // image: checks the formula and its sign.
    let small = image::imageops::resize(
        &darken(&photo("life_by_Aitzol_Berasategi.jpg")),
        160,
        107,
        image::imageops::FilterType::Triangle,
    );
    let c = curves.estimate(&small).unwrap();
    assert_eq!((c.width, c.height), (160, 107));
    let mut mine = RgbaImage::new(160, 107);
    apply_curves_cpu(&small, &mut mine, &c, 1.0).unwrap();
    let mut full = ImageModel::load(
        model("zero_dce_pp_neuro.onnx"),
        &session,
        &ImageSpec::default(),
    )
    .unwrap();
    let (reference, _) = full.run(&small, None).unwrap();
    let d = max_diff(&mine, &reference);
    assert!(d <= 1, "curves applied here vs zero_dce_pp_neuro.onnx: {d}");
}

#[test]
fn bad_input_is_named() {
    let err = Deglare::from_options(
        &StageOptions::from_pairs(
            "deglare",
            &[
                ("backend", "onnx"),
                ("model", &model_arg("zero_dce_curves_neuro.onnx")),
            ],
        ),
        &BuildContext::new(Mode::Offline),
    )
    .err()
    .expect("a curve model is not a deglare model")
    .to_string();
    assert!(
        err.contains("zero_dce_curves_neuro.onnx") && err.contains("[1,3,h,w]"),
        "{err}"
    );
    let err = Lowlight::from_options(
        &StageOptions::from_pairs(
            "lowlight",
            &[("backend", "cpu"), ("model", &model_arg("deglare.onnx"))],
        ),
        &BuildContext::new(Mode::Offline),
    )
    .err()
    .expect("a deglare model is not a curve model")
    .to_string();
    assert!(
        err.contains("deglare.onnx") && err.contains("[1,24,h,w]"),
        "{err}"
    );
    let err = Lowlight::from_options(
        &StageOptions::from_pairs("lowlight", &[("size", "4")]),
        &BuildContext::new(Mode::Offline),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("size") && err.contains("16 to 640"), "{err}");
    // any frame size, down to one pixel
    let mut s = stage("cpu");
    let mut o = stage("onnx");
    let mut l = lowlight("cpu", "0.7");
    for (w, h) in [(1, 1), (7, 3), (3, 700)] {
        let img = RgbaImage::from_pixel(w, h, Rgba([250, 40, 30, 255]));
        assert_eq!(s.apply(&img).unwrap().dimensions(), (w, h));
        assert_eq!(o.apply(&img).unwrap().dimensions(), (w, h));
        assert_eq!(l.apply(&img).unwrap().dimensions(), (w, h));
    }
}
