//! Stickers from real photos: face crop with the tracker, stylization, mesh-driven animation, and
//! looping GIF / APNG / WebP files that decode with the expected frame count, size and loop flag.
//! Files go to `target/test-output/sticker/` (open the GIFs to look at them).

use std::path::{Path, PathBuf};

use doppel_pipeline::sticker::{self, loop_count, Animation, Format};
use doppel_pipeline::style::{Style, StyleWeights, Stylizer, StylizerConfig};
use doppel_pipeline::track::{FaceTracker, TrackerConfig};
use image::{AnimationDecoder, RgbaImage};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn photo(name: &str) -> RgbaImage {
    let path = root().join("target/test-data/faces").join(name);
    assert!(
        path.is_file(),
        "test photo {} is missing: run `scripts/fetch-test-faces.sh` from the repository root",
        path.display()
    );
    image::open(&path).expect("photo decodes").to_rgba8()
}

fn out_dir() -> PathBuf {
    let dir = root().join("target/test-output/sticker");
    std::fs::create_dir_all(&dir).expect("output folder");
    dir
}

fn tracker() -> FaceTracker {
    FaceTracker::load(&TrackerConfig {
        detector_model: root().join("models/face_detection_short_range.onnx"),
        mesh_model: root().join("models/face_landmark.onnx"),
        ..TrackerConfig::default()
    })
    .expect("tracker loads")
}

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

#[test]
fn sticker_files_loop_with_the_expected_frames_and_size() {
    let input = photo("astronaut.png");
    let crop = sticker::crop_face(&input, Path::new("astronaut.png"), &mut tracker(), 256)
        .expect("face found");
    assert_eq!(crop.image.dimensions(), (256, 256));
    assert_eq!(crop.mesh.len(), 468);
    let mut stylizer = Stylizer::new(StylizerConfig {
        multistyle_model: root().join("models/multistyle26.onnx"),
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
        let path = out_dir().join(format!(
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
            .save(out_dir().join(format!("astronaut_{}_middle.png", animation.name())))
            .expect("png");
    }
    base.save(out_dir().join("astronaut_base.png"))
        .expect("png");
}

#[test]
fn wink_closes_the_eye_region_only() {
    let input = photo("grace_hopper.jpg");
    let crop = sticker::crop_face(&input, Path::new("grace_hopper.jpg"), &mut tracker(), 320)
        .expect("face found");
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
        .save(out_dir().join("hopper_wink_open_closed.png"))
        .expect("png");
}

#[test]
fn photo_without_a_face_is_a_clear_error() {
    let blank = RgbaImage::from_pixel(400, 300, image::Rgba([120, 160, 200, 255]));
    let err = sticker::crop_face(&blank, Path::new("blank.png"), &mut tracker(), 256)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("blank.png") && err.contains("no face found"),
        "{err}"
    );
    let err = sticker::crop_face(&blank, Path::new("blank.png"), &mut tracker(), 1000)
        .unwrap_err()
        .to_string();
    assert!(err.contains("32 to 512"), "{err}");
}
