//! Stickers from real photos: face crop with the tracker, stylization, mesh-driven animation, and
//! looping GIF / APNG / WebP files that decode with the expected frame count, size and loop flag.
//! Files go to `target/test-output/sticker/` (open the GIFs to look at them).

use std::path::Path;

use doppel_pipeline::sticker::anim::{
    eye_aspect_ratio, frame_at, LEFT_CORNERS, LEFT_LIDS, RIGHT_CORNERS,
};
use doppel_pipeline::sticker::cutout::{self, Cutout, Look};
use doppel_pipeline::sticker::{
    self, clip, ffenc, loop_count, Animation, FaceCrop, Format, Preset,
};
use doppel_pipeline::style::{Style, StyleWeights, Stylizer, StylizerConfig};
use doppel_pipeline::track::segment::SegmentConfig;
use doppel_pipeline::track::FaceTracker;
use image::{AnimationDecoder, RgbaImage};

mod common;
use common::{face_data, face_photo, grid, mesh_tracker, model, output_dir, still_tracker};

fn decode(path: &Path, format: Format) -> Vec<RgbaImage> {
    let file = std::io::BufReader::new(std::fs::File::open(path).expect("sticker file"));
    let frames = match format {
        Format::Gif => image::codecs::gif::GifDecoder::new(file)
            .expect("gif")
            .into_frames()
            .collect_frames(),
        Format::Apng => image::codecs::png::PngDecoder::new(file)
            .expect("png")
            .apng()
            .expect("apng")
            .into_frames()
            .collect_frames(),
        Format::Webp => image::codecs::webp::WebPDecoder::new(file)
            .expect("webp")
            .into_frames()
            .collect_frames(),
    };
    frames
        .expect("frames decode")
        .into_iter()
        .map(image::Frame::into_buffer)
        .collect()
}

/// The sticker crop of the face in a face photo, at `size`.
fn face_crop(name: &str, tracker: &mut FaceTracker, size: u32) -> FaceCrop {
    sticker::crop_face(&face_photo(name), Path::new(name), tracker, size).expect("face found")
}

#[test]
fn sticker_files_loop_with_the_expected_frames_and_size() {
    let crop = face_crop("astronaut.png", &mut mesh_tracker(), 256);
    assert_eq!(crop.image.dimensions(), (256, 256));
    assert_eq!(crop.mesh.len(), 468);
    let mut stylizer = Stylizer::new(StylizerConfig {
        multistyle_model: model("multistyle26.onnx"),
        ..StylizerConfig::default()
    });
    stylizer
        .set_style(&Style::Weights(StyleWeights::one(19).expect("19")))
        .expect("style");
    let base = stylizer.run(&crop.image).expect("stylize");
    for (animation, format, frames) in [
        (Animation::Wink, Format::Gif, 16),
        (Animation::Nod, Format::Apng, 12),
        (Animation::Bounce, Format::Webp, 20),
        (Animation::Zoom, Format::Gif, 24),
    ] {
        let list = sticker::animate(&base, &crop.mesh, animation, frames);
        let path = output_dir("sticker").join(format!(
            "astronaut_{}.{}",
            animation.name(),
            format.extension()
        ));
        sticker::write_animation(&path, &list, 70, format).expect("written");
        let bytes = std::fs::read(&path).expect("read back");
        assert_eq!(
            loop_count(&bytes, format),
            Some(0),
            "{path:?} loops forever"
        );
        let decoded = decode(&path, format);
        assert_eq!(decoded.len(), frames as usize, "{path:?}");
        assert!(
            decoded.iter().all(|f| f.dimensions() == (256, 256)),
            "{path:?}"
        );
        if format != Format::Gif {
            // Lossless formats give the frames back exactly.
            assert_eq!(
                decoded[frames as usize / 2],
                list[frames as usize / 2],
                "{path:?}"
            );
        }
        // The middle of the loop differs from its start; the loop ends near where it began.
        let change = |a: &RgbaImage, b: &RgbaImage| {
            a.as_raw()
                .iter()
                .zip(b.as_raw())
                .map(|(x, y)| f64::from(x.abs_diff(*y)))
                .sum::<f64>()
                / a.as_raw().len() as f64
        };
        assert!(
            change(&list[0], &list[frames as usize / 2]) > 0.05,
            "{animation:?} moves"
        );
        assert!(
            change(&list[0], &list[frames as usize - 1])
                < change(&list[0], &list[frames as usize / 2])
        );
        list[frames as usize / 2]
            .save(output_dir("sticker").join(format!("astronaut_{}_middle.png", animation.name())))
            .expect("png");
    }
    base.save(output_dir("sticker").join("astronaut_base.png"))
        .expect("png");
}

#[test]
fn wink_closes_the_eye_region_only() {
    let crop = face_crop("grace_hopper.jpg", &mut mesh_tracker(), 320);
    let frames = sticker::animate(&crop.image, &crop.mesh, Animation::Wink, 16);
    let closed = &frames[8];
    // Pixels far below the eyes (the chin) do not move; the left-eye region does.
    let eye = crop.mesh[386];
    let chin = crop.mesh[152];
    let at = |img: &RgbaImage, p: [f32; 3]| *img.get_pixel(p[0] as u32, p[1] as u32);
    assert_eq!(at(closed, chin), at(&crop.image, chin));
    let region_change: u32 = (-6..=6)
        .flat_map(|dy| (-6..=6).map(move |dx| (dx, dy)))
        .map(|(dx, dy)| {
            let p = [eye[0] + dx as f32, eye[1] + 4.0 + dy as f32, 0.0];
            let (a, b) = (at(closed, p), at(&crop.image, p));
            (0..3).map(|c| u32::from(a[c].abs_diff(b[c]))).sum::<u32>()
        })
        .sum();
    assert!(
        region_change > 500,
        "the eye region barely changed ({region_change})"
    );
    let mut sheet = RgbaImage::new(640, 320);
    image::imageops::replace(&mut sheet, &crop.image, 0, 0);
    image::imageops::replace(&mut sheet, closed, 320, 0);
    sheet
        .save(output_dir("sticker").join("hopper_wink_open_closed.png"))
        .expect("png");
}

#[test]
fn photo_without_a_face_is_a_clear_error() {
    let blank = RgbaImage::from_pixel(400, 300, image::Rgba([120, 160, 200, 255]));
    let err = sticker::crop_face(&blank, Path::new("blank.png"), &mut mesh_tracker(), 256)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("blank.png") && err.contains("no face found"),
        "{err}"
    );
    let err = sticker::crop_face(&blank, Path::new("blank.png"), &mut mesh_tracker(), 1000)
        .unwrap_err()
        .to_string();
    assert!(err.contains("32 to 512"), "{err}");
}

fn mesh_of(tracker: &mut FaceTracker, image: &RgbaImage) -> Vec<[f32; 3]> {
    tracker.reset();
    let faces = tracker.process(image).expect("tracking runs");
    faces
        .into_iter()
        .max_by(|a, b| a.rect.area().total_cmp(&b.rect.area()))
        .expect("the face is still found")
        .mesh
}

fn cutout() -> Cutout {
    Cutout::load(
        &SegmentConfig {
            square_model: model("selfie_segmentation.onnx"),
            landscape_model: model("selfie_segmentation_landscape.onnx"),
            ..SegmentConfig::default()
        },
        0.0,
    )
    .expect("segmenter loads")
}

/// A picture on a grey checkerboard, so that transparency shows in a contact sheet.
fn on_checks(img: &RgbaImage) -> RgbaImage {
    let mut out = RgbaImage::from_fn(img.width(), img.height(), |x, y| {
        let v = if (x / 16 + y / 16) % 2 == 0 { 200 } else { 150 };
        image::Rgba([v, v, v, 255])
    });
    image::imageops::overlay(&mut out, img, 0, 0);
    out
}

/// Rows of pictures on checks (transparency shows), each scaled to `cell` pixels square.
fn sheet(rows: &[Vec<RgbaImage>], cell: u32) -> RgbaImage {
    let checked: Vec<Vec<RgbaImage>> = rows
        .iter()
        .map(|row| row.iter().map(on_checks).collect())
        .collect();
    grid(&checked, cell)
}

#[test]
fn crop_stays_inside_a_photo_whose_face_is_near_the_top() {
    // single_face.jpg: the face sits high in the picture, so a crop grown for hair reaches past
    // the top edge unless it is kept inside.
    let input = face_photo("single_face.jpg");
    let crop = face_crop("single_face.jpg", &mut still_tracker(), 512);
    let (w, h) = (input.width() as f32, input.height() as f32);
    let s = crop.source;
    assert!(
        s.x0 >= 0.0 && s.y0 >= 0.0 && s.x1 <= w && s.y1 <= h,
        "crop {s:?} leaves the {w}x{h} photo"
    );
    // Streaks are runs of identical rows or columns where an edge is repeated: none at any edge.
    let img = &crop.image;
    let row = |y: u32| {
        (0..img.width())
            .map(|x| *img.get_pixel(x, y))
            .collect::<Vec<_>>()
    };
    let col = |x: u32| {
        (0..img.height())
            .map(|y| *img.get_pixel(x, y))
            .collect::<Vec<_>>()
    };
    let n = img.width();
    for k in 0..24 {
        assert_ne!(row(k), row(k + 1), "rows {k} and {} are identical", k + 1);
        assert_ne!(row(n - 1 - k), row(n - 2 - k), "bottom rows repeat");
        assert_ne!(
            col(k),
            col(k + 1),
            "columns {k} and {} are identical",
            k + 1
        );
        assert_ne!(col(n - 1 - k), col(n - 2 - k), "right columns repeat");
    }
    img.save(output_dir("sticker").join("single_face_crop.png"))
        .expect("png");
}

#[test]
fn person_is_cut_out_on_a_transparent_background_with_an_outline() {
    let crop = face_crop("single_face.jpg", &mut still_tracker(), 512);
    let alpha = cutout().alpha(&crop.image).expect("alpha");
    let mut cut = crop.image.clone();
    cutout::apply_alpha(&mut cut, &alpha);
    for (x, y) in [(2, 2), (509, 2)] {
        assert_eq!(cut.get_pixel(x, y)[3], 0, "corner ({x}, {y}) is background");
    }
    // The face is person: the nose tip and the points between the eyes are opaque.
    for i in [1usize, 168, 152] {
        let p = crop.mesh[i];
        assert_eq!(
            cut.get_pixel(p[0] as u32, p[1] as u32)[3],
            255,
            "mesh point {i}"
        );
    }
    let outlined = cutout::compose(
        &cut,
        &Look {
            background: None,
            outline: Some(([255, 255, 255], 8.0)),
        },
    );
    assert_eq!(
        outlined.get_pixel(2, 2)[3],
        0,
        "outline leaves the corner clear"
    );
    // More opaque pixels with the outline than without, all of them white.
    let opaque = |img: &RgbaImage| img.pixels().filter(|p| p[3] == 255).count();
    assert!(opaque(&outlined) > opaque(&cut) + 2000);
    let coloured = cutout::compose(
        &cut,
        &Look {
            background: Some([40, 90, 230]),
            outline: Some(([255, 255, 255], 8.0)),
        },
    );
    assert_eq!(*coloured.get_pixel(2, 2), image::Rgba([40, 90, 230, 255]));
    sheet(&[vec![crop.image.clone(), cut, outlined, coloured]], 256)
        .save(output_dir("sticker").join("cutout_sheet.png"))
        .expect("png");
}

/// Mean distance between mesh points `idx` of `a` and `b`.
fn moved(a: &[[f32; 3]], b: &[[f32; 3]], idx: impl Iterator<Item = usize>) -> (f32, f32) {
    let d: Vec<f32> = idx
        .map(|i| (a[i][0] - b[i][0]).hypot(a[i][1] - b[i][1]))
        .collect();
    let mean = d.iter().sum::<f32>() / d.len().max(1) as f32;
    (mean, d.iter().copied().fold(0.0, f32::max))
}

/// Measures each face animation at its peak by running the mesh again on the warped picture.
/// Bounds (from runs on these photos, with margin): blink halves both eyes' aspect ratio; a wink
/// halves the left eye's (measured 0.29x and 0.47x; the mesh model couples the eyes, so a shut lid
/// alone read 0.54-0.61x: the wink also squeezes brow and cheek and draws the lashes' line) while
/// the right eye stays within 20% (the same coupling) and mesh points farther than 0.6 IOD from
/// the left eye move under 2% of the IOD on average and 6% at most (tracking noise alone is ~1% /
/// 2%); smile
/// lifts both mouth corners by 5% of the IOD or more; laugh opens the lips by 30% of the IOD or
/// more; nod moves the nose down by 15% of the IOD or more; tilt moves it sideways as much.
#[test]
fn face_animations_move_the_features_the_mesh_sees() {
    let mut report = String::new();
    for name in ["single_face.jpg", "grace_hopper.jpg"] {
        report += &animations_of(name);
    }
    eprintln!("{report}");
    std::fs::write(output_dir("sticker").join("animations.txt"), &report).expect("report");
}

fn animations_of(name: &str) -> String {
    let input = face_photo(name);
    let stem = name.trim_end_matches(".jpg");
    let mut tracker = still_tracker();
    let crop = sticker::crop_face(&input, Path::new(name), &mut tracker, 512).expect("face found");
    let rest = mesh_of(&mut tracker, &crop.image);
    let iod = {
        let (l, r) = (rest[473], rest[468]);
        (l[0] - r[0]).hypot(l[1] - r[1])
    };
    let eye = [
        (rest[263][0] + rest[362][0]) / 2.0,
        (rest[263][1] + rest[362][1]) / 2.0,
    ];
    let far_from_left_eye: Vec<usize> = (0..468)
        .filter(|&i| (rest[i][0] - eye[0]).hypot(rest[i][1] - eye[1]) > 0.6 * iod)
        .collect();
    let mut rows = Vec::new();
    let mut report = format!("{name}:\n");
    for animation in [
        Animation::Wink,
        Animation::Blink,
        Animation::Smile,
        Animation::Laugh,
        Animation::Nod,
        Animation::Tilt,
    ] {
        let frames: Vec<RgbaImage> = [0.0, 0.15, 0.3, 0.5, 0.75]
            .iter()
            .map(|&t| frame_at(&crop.image, &crop.mesh, animation, t))
            .collect();
        let peak_t = if animation == Animation::Tilt {
            0.25
        } else {
            0.5
        };
        let peak = frame_at(&crop.image, &crop.mesh, animation, peak_t);
        let m = mesh_of(&mut tracker, &peak);
        let (x0, y0) = (
            (eye[0] - 1.6 * iod).max(0.0) as u32,
            (eye[1] - 0.5 * iod).max(0.0) as u32,
        );
        let zoom = |img: &RgbaImage| {
            image::imageops::crop_imm(img, x0, y0, (2.2 * iod) as u32, (2.2 * iod) as u32)
                .to_image()
        };
        sheet(&[vec![zoom(&crop.image), zoom(&peak)]], 400)
            .save(output_dir("sticker").join(format!("{stem}_{}_peak_zoom.png", animation.name())))
            .expect("png");
        // The same with the re-run mesh's eyelid points drawn on (green: upper lid, magenta:
        // lower lid), to see where the mesh puts the lids of the warped eye.
        let mark = |img: &RgbaImage, mesh: &[[f32; 3]]| {
            let mut img = img.clone();
            for (lids, _) in [
                (LEFT_LIDS, LEFT_CORNERS),
                (doppel_pipeline::sticker::anim::RIGHT_LIDS, RIGHT_CORNERS),
            ] {
                for &(u, l) in &lids {
                    for (i, colour) in [(u, [0, 255, 0, 255]), (l, [255, 0, 255, 255])] {
                        let (x, y) = (mesh[i][0] as i64, mesh[i][1] as i64);
                        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (-1, 0), (0, -1)] {
                            let (px, py) = (x + dx, y + dy);
                            if px >= 0
                                && py >= 0
                                && (px as u32) < img.width()
                                && (py as u32) < img.height()
                            {
                                img.put_pixel(px as u32, py as u32, image::Rgba(colour));
                            }
                        }
                    }
                }
            }
            img
        };
        if matches!(animation, Animation::Wink | Animation::Blink) {
            sheet(
                &[vec![
                    zoom(&mark(&crop.image, &rest)),
                    zoom(&mark(&peak, &m)),
                ]],
                400,
            )
            .save(output_dir("sticker").join(format!("{stem}_{}_peak_mesh.png", animation.name())))
            .expect("png");
        }
        let ear = |mesh: &[[f32; 3]], left| eye_aspect_ratio(mesh, left).expect("ear");
        let (far_mean, far_max) = moved(&rest, &m, far_from_left_eye.iter().copied());
        report += &format!(
            "{:>6}: EAR left {:.3} -> {:.3}, right {:.3} -> {:.3}; points away from the left eye \
             moved mean {:.1}% max {:.1}% of IOD; mouth corners y {:.1},{:.1} -> {:.1},{:.1}; \
             lips gap {:.1} -> {:.1}; nose {:.1},{:.1} -> {:.1},{:.1}\n",
            animation.name(),
            ear(&rest, true),
            ear(&m, true),
            ear(&rest, false),
            ear(&m, false),
            100.0 * far_mean / iod,
            100.0 * far_max / iod,
            rest[61][1],
            rest[291][1],
            m[61][1],
            m[291][1],
            rest[14][1] - rest[13][1],
            m[14][1] - m[13][1],
            rest[1][0],
            rest[1][1],
            m[1][0],
            m[1][1],
        );
        rows.push(frames);
        let (l0, l1, r0, r1) = (
            ear(&rest, true),
            ear(&m, true),
            ear(&rest, false),
            ear(&m, false),
        );
        let up = |i: usize| (rest[i][1] - m[i][1]) / iod;
        let gap = |mesh: &[[f32; 3]]| (mesh[14][1] - mesh[13][1]) / iod;
        let nose = ((m[1][0] - rest[1][0]) / iod, (m[1][1] - rest[1][1]) / iod);
        match animation {
            Animation::Blink => assert!(l1 <= 0.5 * l0 && r1 <= 0.5 * r0, "{name}: {report}"),
            Animation::Wink => {
                assert!(l1 <= 0.5 * l0, "{name} left eye: {report}");
                assert!((r1 - r0).abs() <= 0.2 * r0, "{name} right eye: {report}");
                assert!(
                    far_mean <= 0.02 * iod && far_max <= 0.06 * iod,
                    "{name} far: {report}"
                );
            }
            Animation::Smile => assert!(up(61) >= 0.05 && up(291) >= 0.05, "{name}: {report}"),
            Animation::Laugh => assert!(gap(&m) - gap(&rest) >= 0.3, "{name}: {report}"),
            Animation::Nod => assert!(nose.1 >= 0.15, "{name}: {report}"),
            Animation::Tilt => assert!(nose.0.abs() >= 0.15, "{name}: {report}"),
            _ => {}
        }
    }
    sheet(&rows, 200)
        .save(output_dir("sticker").join(format!("{stem}_animations_sheet.png")))
        .expect("png");
    report
}

/// The frames of an animated WebP and its total duration in milliseconds.
fn webp_frames(bytes: &[u8]) -> (Vec<RgbaImage>, u32) {
    let frames = image::codecs::webp::WebPDecoder::new(std::io::Cursor::new(bytes))
        .expect("webp")
        .into_frames()
        .collect_frames()
        .expect("frames decode");
    let ms = frames
        .iter()
        .map(|f| {
            let (n, d) = f.delay().numer_denom_ms();
            n / d.max(1)
        })
        .sum();
    (
        frames.into_iter().map(image::Frame::into_buffer).collect(),
        ms,
    )
}

/// Checks a preset file by decoding it: size, frame size, alpha 0 in the corners and opaque at the
/// face centre, loop flag, duration. Returns a summary line.
fn check_preset(path: &Path, bytes: &[u8], preset: Preset, frames: usize, delay: u32) -> String {
    assert!(
        bytes.len() <= preset.max_bytes(),
        "{path:?}: {} bytes",
        bytes.len()
    );
    let decoded = match preset {
        Preset::Whatsapp => {
            assert_eq!(&bytes[8..12], b"WEBP", "{path:?} is a WebP");
            assert_eq!(
                loop_count(bytes, Format::Webp),
                Some(0),
                "{path:?} loops forever"
            );
            // libwebp merges frames that do not change (the rest pose) into longer ones: the
            // total duration is what is kept.
            let (decoded, ms) = webp_frames(bytes);
            assert!(decoded.len() <= frames, "{path:?}");
            assert!(
                ms.abs_diff(frames as u32 * delay) <= frames as u32,
                "{path:?}: {ms} ms"
            );
            decoded
        }
        Preset::Telegram => {
            assert_eq!(
                &bytes[..4],
                &[0x1a, 0x45, 0xdf, 0xa3],
                "{path:?} is EBML (WebM)"
            );
            assert!(
                bytes.windows(4).any(|w| w == b"webm"),
                "{path:?} doctype webm"
            );
            assert!(frames as u32 * delay <= 3000, "{path:?} at most 3 s");
            let decoded = ffenc::decode_rgba(path).expect("webm decodes");
            assert_eq!(decoded.len(), frames, "{path:?} frames");
            decoded
        }
    };
    for f in &decoded {
        assert_eq!(f.dimensions(), (512, 512), "{path:?}");
        for (x, y) in [(1, 1), (510, 1)] {
            // VP9's 4:2:0 alpha is lossy: near zero, not exactly.
            assert!(
                f.get_pixel(x, y)[3] <= 8,
                "{path:?}: corner alpha {}",
                f.get_pixel(x, y)[3]
            );
        }
        assert!(f.get_pixel(256, 256)[3] >= 240, "{path:?}: centre opaque");
    }
    format!(
        "{}: {} bytes, {} frames of {} ms, {}x{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("?"),
        bytes.len(),
        decoded.len(),
        delay,
        decoded[0].width(),
        decoded[0].height()
    )
}

#[test]
fn messaging_presets_fit_their_limits_with_a_transparent_background() {
    let crop = face_crop("single_face.jpg", &mut still_tracker(), 512);
    let alpha = cutout().alpha(&crop.image).expect("alpha");
    let look = Look {
        background: None,
        outline: Some(([255, 255, 255], 8.0)),
    };
    let mut lines = Vec::new();
    for (animation, preset) in [
        (Animation::Wink, Preset::Whatsapp),
        (Animation::Laugh, Preset::Telegram),
    ] {
        let frames =
            sticker::photo_frames(&crop.image, Some(&alpha), &crop.mesh, animation, 16, &look);
        let path = output_dir("sticker").join(format!(
            "single_face_{}.{}",
            animation.name(),
            preset.extension()
        ));
        let encoded = sticker::encode_preset(&path, &frames, 70, preset).expect("encodes");
        std::fs::write(&path, &encoded.bytes).expect("written");
        lines.push(format!(
            "{} (quality {})",
            check_preset(&path, &encoded.bytes, preset, encoded.frames, 70),
            encoded.quality
        ));
        if animation == Animation::Laugh {
            sheet(&[frames.iter().step_by(3).cloned().collect()], 200)
                .save(output_dir("sticker").join("single_face_laugh_sticker_sheet.png"))
                .expect("png");
        }
    }
    eprintln!("{}", lines.join("\n"));
    std::fs::write(output_dir("sticker").join("presets.txt"), lines.join("\n")).expect("report");
}

/// A sticker from a real clip (a woman crying, her head moving all the time): the loop is chosen
/// where the ends match; the seam (last frame against first, mean absolute difference of 48x48
/// thumbnails, 0..255) must be no larger than 1.5x the loop's median frame-to-frame difference, so
/// the eye sees no jump at the wrap. Where no forward loop wraps that well (this clip: the person
/// never comes back to a pose within 3 s), the loop plays forward and back; its two turns are
/// then the seam.
#[test]
fn clip_sticker_loops_where_the_ends_match() {
    let path = face_data("WolfgangLanger_Pexels.mp4");
    let mut source = doppel_pipeline::source::video::VideoSource::open(&path).expect("clip opens");
    let clip = clip::read_clip(&mut source, &path, 6.0, 15.0).expect("frames");
    let crops = clip::crop_clip(&clip.frames, &path, &mut mesh_tracker(), 512).expect("face found");
    let max_len = (3000 / clip.delay_ms) as usize;
    let chosen = clip::best_loop(&crops, max_len / 3, max_len).expect("a loop");
    let report = format!(
        "clip: {} frames of {} ms read; loop from {} for {} frames (boomerang {}); seam {:.2}, median step {:.2}",
        clip.frames.len(),
        clip.delay_ms,
        chosen.start,
        chosen.len,
        chosen.boomerang,
        chosen.seam,
        chosen.step
    );
    eprintln!("{report}");
    assert!(
        chosen.seam <= 1.5 * chosen.step.max(1.0) && chosen.seam < 6.0,
        "{report}"
    );
    let mut cut = cutout();
    let frames = sticker::clip_frames(
        &chosen.take(&crops),
        Some(&mut cut),
        &Look {
            background: None,
            outline: Some(([255, 255, 255], 8.0)),
        },
    )
    .expect("cut out");
    let out = output_dir("sticker").join("clip_whatsapp.webp");
    let encoded =
        sticker::encode_preset(&out, &frames, clip.delay_ms, Preset::Whatsapp).expect("encodes");
    std::fs::write(&out, &encoded.bytes).expect("written");
    let line = check_preset(
        &out,
        &encoded.bytes,
        Preset::Whatsapp,
        frames.len(),
        clip.delay_ms,
    );
    let tg = output_dir("sticker").join("clip_telegram.webm");
    let encoded =
        sticker::encode_preset(&tg, &frames, clip.delay_ms, Preset::Telegram).expect("encodes");
    std::fs::write(&tg, &encoded.bytes).expect("written");
    let line2 = check_preset(
        &tg,
        &encoded.bytes,
        Preset::Telegram,
        encoded.frames,
        clip.delay_ms,
    );
    std::fs::write(
        output_dir("sticker").join("clip.txt"),
        format!("{report}\n{line}\n{line2}\n"),
    )
    .expect("report");
    let n = frames.len();
    sheet(
        &[vec![
            frames[0].clone(),
            frames[n / 4].clone(),
            frames[n / 2].clone(),
            frames[3 * n / 4].clone(),
            frames[n - 1].clone(),
        ]],
        200,
    )
    .save(output_dir("sticker").join("clip_sheet.png"))
    .expect("png");
}
