//! Tiling: upscales a frame in overlapping tiles so memory stays bounded (a 4K output from a 1080p
//! frame, a large model, a GPU binding limit), with seamless joins.
//!
//! The frame is cut into a grid of core tiles of at most `tile` x `tile` input pixels. Each core is
//! run with `overlap` extra pixels of real context on every side (less at the frame's edges, where
//! the model sees the same edge as in a whole-frame run), and only the core's part of the output is
//! kept. When `overlap` is at least the model's receptive radius, every output pixel sees exactly the
//! input it would see in one whole-frame run, so tiled and untiled results agree up to floating-point
//! summation order: no seams to blend.

use image::RgbaImage;

use crate::error::{Error, Result};

/// How a frame is cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tiling {
    /// Core tile side in input pixels (>= 1).
    pub tile: u32,
    /// Context pixels on each side of a core.
    pub overlap: u32,
}

/// Upscales `src` by `scale` with `run`, one tile at a time; a frame that fits one tile is run whole.
///
/// # Errors
/// [`Error::Spec`] when `tile` is 0 or `run` gives an output that is not `scale` times its input;
/// any error of `run`.
pub fn upscale_tiled(
    src: &RgbaImage,
    scale: u32,
    tiling: Tiling,
    mut run: impl FnMut(&RgbaImage) -> Result<RgbaImage>,
) -> Result<RgbaImage> {
    let (w, h) = src.dimensions();
    if tiling.tile == 0 {
        return Err(Error::Spec(
            "superres: tile size must be at least 1".to_string(),
        ));
    }
    let checked = |input: (u32, u32), out: &RgbaImage| {
        if out.dimensions() == (input.0 * scale, input.1 * scale) {
            Ok(())
        } else {
            Err(Error::size(
                format!(
                    "superres model output for a {}x{} input at x{scale}",
                    input.0, input.1
                ),
                (input.0 * scale, input.1 * scale),
                out.dimensions(),
            ))
        }
    };
    if w <= tiling.tile && h <= tiling.tile {
        let out = run(src)?;
        checked((w, h), &out)?;
        return Ok(out);
    }
    let mut out = crate::bufpool::image(w * scale, h * scale);
    let raw: &mut [u8] = &mut out;
    let row_bytes = (w * scale * 4) as usize;
    for y0 in (0..h).step_by(tiling.tile as usize) {
        for x0 in (0..w).step_by(tiling.tile as usize) {
            let (x1, y1) = ((x0 + tiling.tile).min(w), (y0 + tiling.tile).min(h));
            let (ex0, ey0) = (
                x0.saturating_sub(tiling.overlap),
                y0.saturating_sub(tiling.overlap),
            );
            let (ex1, ey1) = ((x1 + tiling.overlap).min(w), (y1 + tiling.overlap).min(h));
            let crop = image::imageops::crop_imm(src, ex0, ey0, ex1 - ex0, ey1 - ey0).to_image();
            let tile_out = run(&crop)?;
            checked(crop.dimensions(), &tile_out)?;
            // Copy the core's rows of the tile output into place.
            let tile_row = (tile_out.width() * 4) as usize;
            let core_x = ((x0 - ex0) * scale * 4) as usize;
            let core_len = ((x1 - x0) * scale * 4) as usize;
            for row in 0..(y1 - y0) * scale {
                let ty = ((y0 - ey0) * scale + row) as usize;
                let src_at = ty * tile_row + core_x;
                let dst_at = (y0 * scale + row) as usize * row_bytes + (x0 * scale * 4) as usize;
                raw[dst_at..dst_at + core_len]
                    .copy_from_slice(&tile_out.as_raw()[src_at..src_at + core_len]);
            }
            crate::bufpool::recycle(tile_out.into_raw());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A "model" whose output pixel depends on its input neighbourhood (radius 1): nearest upscaling
    /// of a 3-tap horizontal sum, edges clamped. Tiled with overlap >= 1 it must equal the whole run.
    fn model(src: &RgbaImage) -> Result<RgbaImage> {
        let (w, h) = src.dimensions();
        Ok(RgbaImage::from_fn(w * 2, h * 2, |x, y| {
            let (sx, sy) = (x / 2, y / 2);
            let left = src.get_pixel(sx.saturating_sub(1), sy)[0] as u32;
            let mid = src.get_pixel(sx, sy)[0] as u32;
            let right = src.get_pixel((sx + 1).min(w - 1), sy)[0] as u32;
            image::Rgba([((left + mid + right) / 3) as u8, 0, 0, 255])
        }))
    }

    #[test]
    fn tiles_join_without_seams() {
        let src = RgbaImage::from_fn(37, 23, |x, y| {
            image::Rgba([(x * 7 + y * 13) as u8, 0, 0, 255])
        });
        let whole = upscale_tiled(
            &src,
            2,
            Tiling {
                tile: 64,
                overlap: 0,
            },
            model,
        )
        .unwrap();
        for tile in [1, 5, 8, 16] {
            let tiled = upscale_tiled(&src, 2, Tiling { tile, overlap: 1 }, model).unwrap();
            assert!(tiled == whole, "tile {tile}");
        }
        // Without overlap the seams show.
        let seams = upscale_tiled(
            &src,
            2,
            Tiling {
                tile: 8,
                overlap: 0,
            },
            model,
        )
        .unwrap();
        assert!(seams != whole);
    }

    #[test]
    fn wrong_output_size_is_an_error() {
        let src = RgbaImage::new(10, 10);
        let e = upscale_tiled(
            &src,
            4,
            Tiling {
                tile: 4,
                overlap: 1,
            },
            model,
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                Error::Size {
                    expected: (20, 20),
                    got: (10, 10),
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().ends_with("expected 20x20, got 10x10"), "{e}");
    }
}
