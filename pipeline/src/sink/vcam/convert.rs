//! RGBA8 to the virtual camera's pixel formats.
//!
//! YUYV uses ITU-R BT.601 with limited ("TV") range, what webcams send and browsers assume:
//! `Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255`,
//! `Cb = 128 + (-37.797 R - 74.203 G + 112 B) / 255`,
//! `Cr = 128 + (112 R - 93.786 G - 18.214 B) / 255`, in 16.16 fixed point with rounding. Each pair of
//! pixels shares one Cb/Cr, computed from the pair's mean colour. Alpha is ignored (frames are
//! opaque by the time they leave the pipeline).

use image::RgbaImage;

// The coefficients above times 65536 / 255, rounded.
const YR: i32 = 16829;
const YG: i32 = 33039;
const YB: i32 = 6416;
const UR: i32 = -9714;
const UG: i32 = -19070;
const UB: i32 = 28784;
const VR: i32 = 28784;
const VG: i32 = -24103;
const VB: i32 = -4681;
const HALF: i32 = 1 << 15;

/// BT.601 limited-range luma of one RGB pixel.
pub fn luma(r: u8, g: u8, b: u8) -> u8 {
    let y = (16 << 16) + YR * i32::from(r) + YG * i32::from(g) + YB * i32::from(b) + HALF;
    (y >> 16).clamp(0, 255) as u8
}

/// BT.601 limited-range chroma (Cb, Cr) of a colour given as sums of `n` pixels' channels.
fn chroma_of_sum(r: i32, g: i32, b: i32, n: i32) -> (u8, u8) {
    // Dividing the fixed-point sum by n averages the pixels with one rounding.
    let u = ((128 << 16) * n + UR * r + UG * g + UB * b + HALF * n).div_euclid(n << 16);
    let v = ((128 << 16) * n + VR * r + VG * g + VB * b + HALF * n).div_euclid(n << 16);
    (u.clamp(0, 255) as u8, v.clamp(0, 255) as u8)
}

/// BT.601 limited-range chroma (Cb, Cr) of one RGB pixel.
pub fn chroma(r: u8, g: u8, b: u8) -> (u8, u8) {
    chroma_of_sum(i32::from(r), i32::from(g), i32::from(b), 1)
}

/// Writes `src` as YUYV 4:2:2 into `dst`, rows `pitch` bytes apart (padding bytes are left as they
/// are). `src` must have an even width; `dst` must hold `pitch * height` bytes.
///
/// # Panics
/// Never for frames the sink prepared; the sizes are checked and a mismatch writes nothing.
pub fn rgba_to_yuyv(src: &RgbaImage, dst: &mut [u8], pitch: usize) -> bool {
    let (w, h) = (src.width() as usize, src.height() as usize);
    if w % 2 != 0 || pitch < 2 * w || dst.len() < pitch * h {
        return false;
    }
    for (row_in, row_out) in src.as_raw().chunks_exact(4 * w).zip(dst.chunks_mut(pitch)) {
        for (px, out) in row_in.chunks_exact(8).zip(row_out.chunks_exact_mut(4)) {
            let (r0, g0, b0) = (px[0], px[1], px[2]);
            let (r1, g1, b1) = (px[4], px[5], px[6]);
            let (u, v) = chroma_of_sum(
                i32::from(r0) + i32::from(r1),
                i32::from(g0) + i32::from(g1),
                i32::from(b0) + i32::from(b1),
                2,
            );
            out[0] = luma(r0, g0, b0);
            out[1] = u;
            out[2] = luma(r1, g1, b1);
            out[3] = v;
        }
    }
    true
}

/// Writes `src` as packed RGB24 into `dst`, rows `pitch` bytes apart; `false` (nothing written) when
/// the sizes do not fit.
pub fn rgba_to_rgb24(src: &RgbaImage, dst: &mut [u8], pitch: usize) -> bool {
    let (w, h) = (src.width() as usize, src.height() as usize);
    if pitch < 3 * w || dst.len() < pitch * h {
        return false;
    }
    for (row_in, row_out) in src.as_raw().chunks_exact(4 * w).zip(dst.chunks_mut(pitch)) {
        for (px, out) in row_in.chunks_exact(4).zip(row_out.chunks_exact_mut(3)) {
            out.copy_from_slice(&px[..3]);
        }
    }
    true
}

/// Where a 4:2:0 frame's chroma goes: separate U and V planes (I420) or one plane of U, V pairs
/// (NV12).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chroma420 {
    Planar,
    Interleaved,
}

/// Writes `src` as YUV 4:2:0 into `dst`: the Y plane with rows `pitch` bytes apart, then the chroma
/// (`layout`), each 2x2 block sharing the Cb/Cr of its mean colour. I420's chroma rows are
/// `pitch / 2` bytes apart, NV12's `pitch`. `src` must have an even width and height; `false`
/// (nothing written) when the sizes do not fit.
pub fn rgba_to_yuv420(src: &RgbaImage, dst: &mut [u8], pitch: usize, layout: Chroma420) -> bool {
    let (w, h) = (src.width() as usize, src.height() as usize);
    if w % 2 != 0 || h % 2 != 0 || pitch < w || dst.len() < pitch * h + pitch * (h / 2) {
        return false;
    }
    let raw = src.as_raw();
    let (luma_plane, chroma) = dst.split_at_mut(pitch * h);
    for (row_in, row_out) in raw.chunks_exact(4 * w).zip(luma_plane.chunks_mut(pitch)) {
        for (px, out) in row_in.chunks_exact(4).zip(row_out.iter_mut()) {
            *out = luma(px[0], px[1], px[2]);
        }
    }
    let (cw, ch) = (w / 2, h / 2);
    // I420: the V plane follows the U plane.
    let v_start = pitch / 2 * ch;
    for by in 0..ch {
        for bx in 0..cw {
            let (mut r, mut g, mut b) = (0, 0, 0);
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let at = ((2 * by + dy) * w + 2 * bx + dx) * 4;
                r += i32::from(raw[at]);
                g += i32::from(raw[at + 1]);
                b += i32::from(raw[at + 2]);
            }
            let (u, v) = chroma_of_sum(r, g, b, 4);
            match layout {
                Chroma420::Planar => {
                    chroma[by * (pitch / 2) + bx] = u;
                    chroma[v_start + by * (pitch / 2) + bx] = v;
                }
                Chroma420::Interleaved => {
                    chroma[by * pitch + 2 * bx] = u;
                    chroma[by * pitch + 2 * bx + 1] = v;
                }
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    #[test]
    fn yuv420_blocks_share_the_mean_chroma_in_both_layouts() {
        // 4x2: a red/blue block on the left, a white block on the right.
        let mut img = RgbaImage::from_pixel(4, 2, Rgba([255, 255, 255, 255]));
        img.put_pixel(0, 0, Rgba([255, 0, 0, 255]));
        img.put_pixel(1, 0, Rgba([255, 0, 0, 255]));
        img.put_pixel(0, 1, Rgba([0, 0, 255, 255]));
        img.put_pixel(1, 1, Rgba([0, 0, 255, 255]));
        let pitch = 4;
        let mut i420 = vec![0u8; pitch * 2 + pitch];
        assert!(rgba_to_yuv420(&img, &mut i420, pitch, Chroma420::Planar));
        assert_eq!(&i420[..4], &[81, 81, 235, 235]);
        assert_eq!(&i420[4..8], &[41, 41, 235, 235]);
        let (left, white) = (chroma_of_sum(510, 0, 510, 4), chroma(255, 255, 255));
        // U plane then V plane, one value per block.
        assert_eq!(&i420[8..12], &[left.0, white.0, left.1, white.1]);
        let mut nv12 = vec![0u8; pitch * 2 + pitch];
        assert!(rgba_to_yuv420(
            &img,
            &mut nv12,
            pitch,
            Chroma420::Interleaved
        ));
        assert_eq!(&nv12[..8], &i420[..8]);
        assert_eq!(&nv12[8..12], &[left.0, left.1, white.0, white.1]);
        // Odd sizes and short buffers write nothing.
        assert!(!rgba_to_yuv420(
            &RgbaImage::new(3, 2),
            &mut nv12,
            3,
            Chroma420::Planar
        ));
        assert!(!rgba_to_yuv420(
            &img,
            &mut [0u8; 8],
            pitch,
            Chroma420::Planar
        ));
    }

    #[test]
    fn primaries_match_the_bt601_tables() {
        // (R, G, B) -> (Y, Cb, Cr) for 100% colours, ITU-R BT.601 limited range (rounded).
        let table = [
            ((255, 255, 255), (235, 128, 128)),
            ((0, 0, 0), (16, 128, 128)),
            ((255, 0, 0), (81, 90, 240)),
            ((0, 255, 0), (145, 54, 34)),
            ((0, 0, 255), (41, 240, 110)),
            ((255, 255, 0), (210, 16, 146)),
            ((0, 255, 255), (170, 166, 16)),
            ((255, 0, 255), (106, 202, 222)),
            // 75% grey.
            ((191, 191, 191), (180, 128, 128)),
        ];
        for ((r, g, b), (y, cb, cr)) in table {
            assert_eq!(luma(r, g, b), y, "Y of {r},{g},{b}");
            assert_eq!(chroma(r, g, b), (cb, cr), "CbCr of {r},{g},{b}");
        }
    }

    #[test]
    fn yuyv_pairs_share_the_mean_chroma() {
        let mut img = RgbaImage::new(4, 2);
        img.put_pixel(0, 0, Rgba([255, 0, 0, 255]));
        img.put_pixel(1, 0, Rgba([0, 0, 255, 255]));
        img.put_pixel(2, 0, Rgba([255, 255, 255, 255]));
        img.put_pixel(3, 0, Rgba([255, 255, 255, 255]));
        let pitch = 12; // 8 bytes of pixels + 4 of padding
        let mut out = vec![0xAAu8; pitch * 2];
        assert!(rgba_to_yuyv(&img, &mut out, pitch));
        let (u, v) = chroma(128, 0, 128); // mean of red and blue, rounded up
        assert_eq!(&out[..4], &[81, u, 41, v]);
        assert_eq!(&out[4..8], &[235, 128, 235, 128]);
        assert_eq!(&out[8..12], &[0xAA; 4], "padding untouched");
        assert_eq!(&out[12..16], &[16, 128, 16, 128], "row 2 is black");
        // Odd widths and short buffers are refused.
        assert!(!rgba_to_yuyv(&RgbaImage::new(3, 1), &mut [0; 64], 6));
        assert!(!rgba_to_yuyv(&img, &mut [0; 10], pitch));
    }

    #[test]
    fn rgb24_drops_alpha() {
        let img = RgbaImage::from_raw(2, 1, vec![1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        let mut out = vec![0; 6];
        assert!(rgba_to_rgb24(&img, &mut out, 6));
        assert_eq!(out, vec![1, 2, 3, 5, 6, 7]);
        assert!(!rgba_to_rgb24(&img, &mut out, 5));
    }
}
