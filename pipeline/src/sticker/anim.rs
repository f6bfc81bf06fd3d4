//! Sticker animations: smooth loops that move the face itself, driven by its mesh. Each frame is the
//! still (stylized, cut-out) crop warped by moving least squares on the mesh points
//! ([`super::meshwarp`]): the points of the feature that moves go where the expression puts them,
//! the rest of the mesh and rings around the head hold everything else still. Every loop starts
//! and ends at rest so it plays seamlessly.
//!
//! - `wink`: the person's left upper eyelid comes down onto the lower one and goes back up;
//!   `blink`: both eyes.
//! - `smile`: the mouth corners rise and widen, the cheeks follow a little.
//! - `laugh`: the jaw drops (lower lip, chin and jaw line; the lip on a round profile), the
//!   opening is painted as a mouth: a shaded throat, the tongue, and a row of upper teeth when the
//!   mouth was closed; the corners rise.
//! - `nod`: the head pitches down and back (3D rotation of the mesh about the neck, so the nose
//!   moves more than the forehead); `tilt`: the head rolls side to side about the neck.
//! - `bounce`: the whole picture hops, then squashes on landing; `zoom`: a push in and back.

use image::RgbaImage;

use super::meshwarp::{warp_controls, Control};
use crate::track::Rect;

/// One animation of a sticker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Animation {
    Wink,
    Blink,
    Smile,
    Laugh,
    Nod,
    Tilt,
    Bounce,
    Zoom,
}

impl Animation {
    pub const ALL: [Animation; 8] = [
        Self::Wink,
        Self::Blink,
        Self::Smile,
        Self::Laugh,
        Self::Nod,
        Self::Tilt,
        Self::Bounce,
        Self::Zoom,
    ];
    pub const NAMES: [&'static str; 8] = [
        "wink", "blink", "smile", "laugh", "nod", "tilt", "bounce", "zoom",
    ];

    pub fn from_name(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name.trim()))
            .map(|i| Self::ALL[i])
    }

    pub fn name(self) -> &'static str {
        Self::NAMES[Self::ALL.iter().position(|a| *a == self).unwrap_or(0)]
    }
}

/// MediaPipe face-mesh eyelids (`leftEyeUpper0`/`leftEyeLower0` of the canonical mesh, "left" = the
/// person's left), as (upper, lower) pairs from the outer to the inner corner, and the crease
/// (`leftEyeUpper1`) above the lid.
pub const LEFT_LIDS: [(usize, usize); 7] = [
    (466, 249),
    (388, 390),
    (387, 373),
    (386, 374),
    (385, 380),
    (384, 381),
    (398, 382),
];
pub const LEFT_CREASE: [usize; 7] = [467, 260, 259, 257, 258, 286, 414];
/// The person's right eye, likewise (`rightEyeUpper0`/`rightEyeLower0`, `rightEyeUpper1`).
pub const RIGHT_LIDS: [(usize, usize); 7] = [
    (246, 7),
    (161, 163),
    (160, 144),
    (159, 145),
    (158, 153),
    (157, 154),
    (173, 155),
];
pub const RIGHT_CREASE: [usize; 7] = [247, 30, 29, 27, 28, 56, 190];
/// Eye corners (outer, inner): left 263/362, right 33/133.
pub const LEFT_CORNERS: (usize, usize) = (263, 362);
pub const RIGHT_CORNERS: (usize, usize) = (33, 133);

/// Lips: the mouth corners (the person's right, left), the inner contours from corner to corner
/// (upper through 13, lower through 14) and the outer upper lip.
const MOUTH_CORNERS: (usize, usize) = (61, 291);
const INNER_UPPER: [usize; 11] = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308];
const INNER_LOWER: [usize; 11] = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308];
const OUTER_UPPER: [usize; 11] = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291];
const OUTER_LOWER: [usize; 9] = [146, 91, 181, 84, 17, 314, 405, 321, 375];

/// The face oval, around the head.
const FACE_OVAL: [usize; 36] = [
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
    148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
];
const CHIN: usize = 152;
const MESH_POINTS: usize = 468;

/// The eye aspect ratio of one eye: lid openings at two places over the corner-to-corner width
/// (Soukupova and Cech, "Real-Time Eye Blink Detection using Facial Landmarks", 2016, on the
/// MediaPipe mesh's lid points). About 0.25-0.35 open, under 0.1 closed.
pub fn eye_aspect_ratio(mesh: &[[f32; 3]], left: bool) -> Option<f32> {
    let (lids, corners) = if left {
        (LEFT_LIDS, LEFT_CORNERS)
    } else {
        (RIGHT_LIDS, RIGHT_CORNERS)
    };
    let p = |i: usize| mesh.get(i).map(|p| (p[0], p[1]));
    let d = |a: usize, b: usize| -> Option<f32> {
        let (a, b) = (p(a)?, p(b)?);
        Some((a.0 - b.0).hypot(a.1 - b.1))
    };
    let open = d(lids[2].0, lids[2].1)? + d(lids[4].0, lids[4].1)?;
    let width = d(corners.0, corners.1)?;
    (width > 0.0).then(|| open / (2.0 * width))
}

/// An eyelid closing, as a wink squeezes it: per column of the eye, the upper lid comes down to
/// meet the lower one at a seam. Between the corners each column is remapped piecewise linearly:
/// the brow band comes down a little and the skin under it stretches down to the seam, the open
/// eye is squeezed into the seam (drawn over with the lashes' dark line), and the cheek under the
/// eye rises; the squeeze fades to nothing at the corners, where the lids meet, so the map is
/// continuous and the change stays around the eye.
struct Eyelid {
    /// (x, upper y, lower y) along the eye, sorted by x.
    line: Vec<(f32, f32, f32)>,
    /// Height of the skin band above the eye that stretches.
    band: f32,
    closed: f32,
}

impl Eyelid {
    fn new(
        mesh: &[[f32; 3]],
        lids: &[(usize, usize)],
        corners: (usize, usize),
        closed: f32,
    ) -> Option<Self> {
        let p = |i: usize| mesh.get(i).map(|p| (p[0], p[1]));
        let (a, b) = (p(corners.0)?, p(corners.1)?);
        let mut line = vec![(a.0, a.1, a.1), (b.0, b.1, b.1)];
        for &(u, l) in lids {
            let (u, l) = (p(u)?, p(l)?);
            line.push(((u.0 + l.0) / 2.0, u.1, l.1.max(u.1)));
        }
        line.sort_by(|a, b| a.0.total_cmp(&b.0));
        let gap = line.iter().map(|s| s.2 - s.1).fold(0.0, f32::max);
        (gap > 0.5 && closed > 0.0).then_some(Self {
            line,
            band: 1.5 * gap,
            closed,
        })
    }

    /// Upper and lower lid y at column `x`; `None` outside the eye.
    fn lids_at(&self, x: f32) -> Option<(f32, f32)> {
        let i = self
            .line
            .windows(2)
            .position(|w| x >= w[0].0 && x <= w[1].0)?;
        let (a, b) = (self.line[i], self.line[i + 1]);
        let t = if b.0 > a.0 {
            (x - a.0) / (b.0 - a.0)
        } else {
            0.0
        };
        Some((a.1 + (b.1 - a.1) * t, a.2 + (b.2 - a.2) * t))
    }

    /// Output and source y of the column map's knots at column `x` (ascending, the ends fixed):
    /// brow band, lid fold above, lid fold below, cheek band. `None` outside the eye.
    fn knots(&self, x: f32) -> Option<([f32; 6], [f32; 6])> {
        let (upper, lower) = self.lids_at(x)?;
        let gap = lower - upper;
        let g = self.band / 1.5;
        // How much of the squeeze this column gets: none at the corners, where the lids meet.
        let w = (gap / g).clamp(0.0, 1.0);
        let c = self.closed;
        // The lower lid's rim below its mesh points is folded into the seam with the open eye.
        let (eye_top, eye_bottom) = (upper, lower + RIM * gap);
        let seam = upper + SEAM * gap;
        let src = [
            upper - 2.5 * g,
            upper - 1.2 * g,
            eye_top,
            eye_bottom,
            lower + 1.0 * g,
            lower + 2.2 * g,
        ];
        // A wink squeezes: the brow comes down, the cheek rises, the lids meet at the seam.
        let out = [
            src[0],
            src[1] + BROW_DROP * g * c * w,
            eye_top + (seam - 0.02 * gap - eye_top) * c,
            eye_bottom + (seam + 0.02 * gap - eye_bottom) * c,
            src[4] - CHEEK_RISE * g * c * w,
            src[5],
        ];
        Some((out, src))
    }

    /// The source point of output point (x, y).
    fn source(&self, x: f32, y: f32) -> (f32, f32) {
        let Some((out, src)) = self.knots(x) else {
            return (x, y);
        };
        if y <= out[0] || y >= out[5] {
            return (x, y);
        }
        let i = (0..5).find(|&i| y <= out[i + 1]).unwrap_or(4);
        let t = (y - out[i]) / (out[i + 1] - out[i]).max(1e-3);
        (x, src[i] + t * (src[i + 1] - src[i]))
    }
}

/// The lower lid's rim below its mesh points, folded into the seam with the open eye (a part of
/// the opening).
const RIM: f32 = 0.1;
/// Where the lids meet, from the upper lid points down (a part of the opening): a little below the
/// middle, as in a real blink.
const SEAM: f32 = 0.9;
/// How far the brow comes down and the cheek rises in a full wink, in eye openings. With the lids
/// alone the mesh still read one closed eye as 0.54-0.61 of open (its eyes are coupled); the
/// squeeze of a real wink around the eye, and the lashes' dark line along the seam, bring it to
/// 0.3-0.47 on the test photos.
const BROW_DROP: f32 = 0.2;
const CHEEK_RISE: f32 = 1.0;
/// Darkness of the closed lashes' line along the seam (0..1).
const LASH_LINE: f32 = 0.8;

impl Eyelid {
    /// Where the closed lids meet at column `x` (output coordinates) and the lid gap there.
    fn seam_at(&self, x: f32) -> Option<(f32, f32)> {
        let (out, _) = self.knots(x)?;
        let (upper, lower) = self.lids_at(x)?;
        Some((0.5 * (out[2] + out[3]), lower - upper))
    }
}

/// The control points of the face at rest and where `animation` at strength `s` (0 = rest, 1 =
/// full) puts them, plus the parts of the picture to paint afterwards (the open mouth).
struct Pose {
    controls: Vec<Control>,
    mouth: Option<Mouth>,
}

/// A laughing mouth's opening: between the inner lower lip's rest line (`top`, what was above it
/// stays: teeth or closed lips) and the same points dropped with the jaw (`bottom`), corner to
/// corner. `teeth`: the mouth was closed at rest, so no teeth of the person's show and a row of
/// upper teeth is drawn under the top line.
struct Mouth {
    top: Vec<[f32; 2]>,
    bottom: Vec<[f32; 2]>,
    teeth: bool,
}

impl Mouth {
    /// y of polyline `line` (points in x order, either direction) at column `x`.
    fn y_at(line: &[[f32; 2]], x: f32) -> Option<f32> {
        line.windows(2).find_map(|w| {
            let (a, b) = if w[0][0] <= w[1][0] {
                (w[0], w[1])
            } else {
                (w[1], w[0])
            };
            (x >= a[0] && x <= b[0]).then(|| {
                let t = if b[0] > a[0] {
                    (x - a[0]) / (b[0] - a[0])
                } else {
                    0.0
                };
                a[1] + (b[1] - a[1]) * t
            })
        })
    }

    /// The colour of the opening at (x, y): a dark throat, shaded darker under the upper edge and
    /// towards the corners, the tongue's red at the bottom middle, and (closed at rest) a row of
    /// upper teeth along the top with faint gaps between them.
    fn colour(&self, x: f32, y: f32) -> [f32; 3] {
        let (Some(top), Some(bottom)) = (Self::y_at(&self.top, x), Self::y_at(&self.bottom, x))
        else {
            return [40.0, 12.0, 18.0];
        };
        let (x0, x1) = (
            self.top[0][0].min(self.top[self.top.len() - 1][0]),
            self.top[0][0].max(self.top[self.top.len() - 1][0]),
        );
        let half = (0.5 * (x1 - x0)).max(1.0);
        let u = ((x - 0.5 * (x0 + x1)) / half).clamp(-1.0, 1.0);
        let height = (bottom - top).max(1.0);
        let v = ((y - top) / height).clamp(0.0, 1.0);
        let smooth = |e0: f32, e1: f32, t: f32| {
            let k = ((t - e0) / (e1 - e0)).clamp(0.0, 1.0);
            k * k * (3.0 - 2.0 * k)
        };
        let mut c = [62.0, 18.0, 24.0];
        // The tongue: an ellipse across the lower middle.
        let tongue = smooth(
            0.0,
            0.35,
            1.0 - ((u / 0.7).powi(2) + ((v - 1.0) / 0.55).powi(2)),
        );
        for (ch, t) in c.iter_mut().zip([168.0, 72.0, 80.0]) {
            *ch += (t - *ch) * tongue;
        }
        // Shadow under the top edge and towards the corners.
        let shade = (1.0 - 0.55 * (1.0 - smooth(0.0, 0.45, v))) * (1.0 - 0.5 * u * u);
        for ch in &mut c {
            *ch *= shade;
        }
        if self.teeth {
            // Teeth as tall as a fifth of the opening (at most the upper lip's own scale), lit
            // from the front: bright in the middle, greyer towards the corners.
            let depth = (0.22 * height).min(0.09 * 2.0 * half);
            let d = y - top;
            if d < depth && u.abs() < 0.8 {
                let gap = ((u * 7.0).fract().abs() - 0.5).abs() < 0.04;
                let light = (1.0 - 0.45 * u * u) * (0.85 + 0.15 * (1.0 - d / depth));
                let tooth = if gap {
                    [150.0, 140.0, 130.0]
                } else {
                    [238.0, 232.0, 218.0]
                };
                let edge = smooth(0.75, 0.8, u.abs());
                for (ch, t) in c.iter_mut().zip(tooth) {
                    *ch = t * light * (1.0 - edge) + *ch * edge;
                }
            }
        }
        c
    }

    fn polygon(&self) -> Vec<[f32; 2]> {
        self.top
            .iter()
            .chain(self.bottom.iter().rev())
            .copied()
            .collect()
    }
}

fn pose(mesh: &[[f32; 3]], size: (u32, u32), animation: Animation, s: f32, signed: f32) -> Pose {
    let (w, h) = (size.0 as f32, size.1 as f32);
    let n = mesh.len().min(MESH_POINTS);
    let xy = |i: usize| [mesh[i][0], mesh[i][1]];
    let face = Rect::bounding(
        mesh[..n]
            .iter()
            .map(|p| crate::track::Point::new(p[0], p[1])),
    )
    .unwrap_or(Rect::new(0.0, 0.0, w, h));
    let c = [face.center().x, face.center().y];
    let (fw, fh) = (face.width().max(8.0), face.height().max(8.0));
    let mut to: Vec<[f32; 2]> = (0..n).map(xy).collect();
    let mut from: Vec<[f32; 2]> = to.clone();
    // Rings that hold the picture: around the head (hair, ears) moves with the head; further out
    // and the picture's border stay.
    let ring = |k: f32| -> Vec<[f32; 2]> {
        FACE_OVAL
            .iter()
            .filter(|&&i| i < n)
            .map(|&i| {
                let p = xy(i);
                [c[0] + (p[0] - c[0]) * k, c[1] + (p[1] - c[1]) * k]
            })
            .collect()
    };
    let head_ring = ring(1.35);
    let outer_ring = ring(2.1);
    let mut border = Vec::new();
    for i in 0..=8 {
        let t = i as f32 / 8.0;
        border.extend([[t * w, 0.0], [t * w, h], [0.0, t * h], [w, t * h]]);
    }
    let head_start = to.len();
    to.extend(head_ring.iter().copied());
    from.extend(head_ring.iter().copied());
    let mut mouth = None;
    let mut extra = Vec::new();
    let ok = n >= MESH_POINTS;
    match animation {
        Animation::Smile | Animation::Laugh if ok => {
            let (r, l) = (xy(MOUTH_CORNERS.0), xy(MOUTH_CORNERS.1));
            let mw = (l[0] - r[0]).abs().max(4.0);
            let lift = if animation == Animation::Smile {
                0.16
            } else {
                0.08
            };
            let lower_face = |p: [f32; 2]| p[1] > c[1] - 0.05 * fh;
            // Corners up and out; points near them follow with a Gaussian falloff.
            let sigma = 0.35 * mw;
            for (i, dest) in to.iter_mut().enumerate().take(n) {
                let p = xy(i);
                if !lower_face(p) {
                    continue;
                }
                for (corner, out) in [(r, -1.0f32), (l, 1.0)] {
                    let d2 = (p[0] - corner[0]).powi(2) + (p[1] - corner[1]).powi(2);
                    let g = (-d2 / (2.0 * sigma * sigma)).exp();
                    dest[0] += s * g * out * 0.07 * mw;
                    dest[1] -= s * g * lift * mw;
                }
            }
            if animation == Animation::Laugh {
                // The jaw drops: everything below the line between the corners (and the lower lip),
                // most at the middle of the chin, less towards the jaw's hinges.
                let drop = 0.16 * fh * s;
                let upper: Vec<usize> = INNER_UPPER.iter().chain(&OUTER_UPPER).copied().collect();
                let lower: Vec<usize> = INNER_LOWER.iter().chain(&OUTER_LOWER).copied().collect();
                for (i, dest) in to.iter_mut().enumerate().take(n) {
                    let p = xy(i);
                    let t = ((p[0] - r[0]) / (l[0] - r[0])).clamp(0.0, 1.0);
                    let line = r[1] + (l[1] - r[1]) * t;
                    let is_lower =
                        lower.contains(&i) || (!upper.contains(&i) && p[1] > line + 0.02 * fh);
                    if is_lower {
                        let mut k = (1.0 - (p[0] - c[0]).abs() / (0.65 * fw)).clamp(0.35, 1.0);
                        if lower.contains(&i) {
                            // The lower lip drops on a round profile, little at the corners, so the
                            // opening is a rounded mouth rather than a box.
                            let u = (2.0 * t - 1.0).abs();
                            k *= 0.12 + 0.88 * (1.0 - u * u).max(0.0).sqrt();
                        }
                        dest[1] += drop * k;
                    }
                }
                // The inner lower lip's rest line stays put (what was above it, teeth or closed
                // lips, keeps its size) and the band it opens to the moved lower lip is the mouth
                // opening, drawn dark.
                for &i in &INNER_LOWER[1..INNER_LOWER.len() - 1] {
                    extra.push(Control::fixed(xy(i)));
                }
                let closed = (xy(14)[1] - xy(13)[1]) < 0.08 * mw;
                mouth = Some(Mouth {
                    top: INNER_LOWER.iter().map(|&i| xy(i)).collect(),
                    bottom: INNER_LOWER.iter().map(|&i| to[i]).collect(),
                    teeth: closed,
                });
            }
        }
        Animation::Nod | Animation::Tilt if ok => {
            let chin = xy(CHIN);
            let pivot = [c[0], chin[1] + 0.15 * fh];
            let zc = mesh[..n].iter().map(|p| p[2]).sum::<f32>() / n as f32;
            let pivot_z = zc + 0.5 * fw;
            if animation == Animation::Nod {
                let a = (14.0f32).to_radians() * s;
                let (sin, cos) = a.sin_cos();
                for i in 0..n {
                    let (y, z) = (mesh[i][1] - pivot[1], mesh[i][2] - pivot_z);
                    to[i][1] = pivot[1] + y * cos - z * sin;
                }
                for (k, p) in head_ring.iter().enumerate() {
                    let (y, z) = (p[1] - pivot[1], zc - pivot_z);
                    to[head_start + k][1] = pivot[1] + y * cos - z * sin;
                }
            } else {
                let a = (12.0f32).to_radians() * signed;
                let (sin, cos) = a.sin_cos();
                let rot = |p: [f32; 2]| {
                    let (x, y) = (p[0] - pivot[0], p[1] - pivot[1]);
                    [pivot[0] + x * cos - y * sin, pivot[1] + x * sin + y * cos]
                };
                for p in to.iter_mut() {
                    *p = rot(*p);
                }
            }
        }
        _ => {}
    }
    let mut controls: Vec<Control> = from
        .into_iter()
        .zip(to)
        .map(|(from, to)| Control { from, to })
        .collect();
    controls.extend(outer_ring.into_iter().chain(border).map(Control::fixed));
    controls.extend(extra);
    Pose { controls, mouth }
}

/// Paints `polygon` over `image` in `colour(x, y)` (at the pixel's centre), with 4x4 supersampled
/// edges; alpha kept.
fn fill_polygon(
    image: &mut RgbaImage,
    polygon: &[[f32; 2]],
    colour: impl Fn(f32, f32) -> [f32; 3],
    opacity: f32,
) {
    let Some(bounds) = Rect::bounding(polygon.iter().map(|p| crate::track::Point::new(p[0], p[1])))
    else {
        return;
    };
    let inside = |x: f32, y: f32| {
        let mut odd = false;
        let mut j = polygon.len() - 1;
        for i in 0..polygon.len() {
            let (a, b) = (polygon[i], polygon[j]);
            if (a[1] > y) != (b[1] > y) && x < (b[0] - a[0]) * (y - a[1]) / (b[1] - a[1]) + a[0] {
                odd = !odd;
            }
            j = i;
        }
        odd
    };
    let (w, h) = image.dimensions();
    let x0 = bounds.x0.floor().max(0.0) as u32;
    let y0 = bounds.y0.floor().max(0.0) as u32;
    let x1 = (bounds.x1.ceil().max(0.0) as u32).min(w);
    let y1 = (bounds.y1.ceil().max(0.0) as u32).min(h);
    for y in y0..y1 {
        for x in x0..x1 {
            let mut hits = 0;
            for sy in 0..4 {
                for sx in 0..4 {
                    if inside(
                        x as f32 + (sx as f32 + 0.5) / 4.0,
                        y as f32 + (sy as f32 + 0.5) / 4.0,
                    ) {
                        hits += 1;
                    }
                }
            }
            if hits == 0 {
                continue;
            }
            let k = opacity * hits as f32 / 16.0;
            let colour = colour(x as f32 + 0.5, y as f32 + 0.5);
            let p = image.get_pixel_mut(x, y);
            for c in 0..3 {
                p[c] =
                    (f32::from(p[c]) * (1.0 - k) + colour[c].clamp(0.0, 255.0) * k).round() as u8;
            }
        }
    }
}

/// Samples `src` at `map(x, y)` (continuous source pixel coordinates of the output pixel's centre,
/// bilinear, edges repeat) for every pixel of a `w` x `h` output.
pub fn warp(src: &RgbaImage, w: u32, h: u32, map: impl Fn(f32, f32) -> (f32, f32)) -> RgbaImage {
    let (sw, sh) = (src.width() as f32, src.height() as f32);
    let raw = src.as_raw();
    let stride = src.width() as usize;
    RgbaImage::from_fn(w, h, |x, y| {
        let (sx, sy) = map(x as f32 + 0.5, y as f32 + 0.5);
        let fx = (sx - 0.5).clamp(0.0, sw - 1.0);
        let fy = (sy - 0.5).clamp(0.0, sh - 1.0);
        let (x0, y0) = (fx.floor() as usize, fy.floor() as usize);
        let (x1, y1) = (
            (x0 + 1).min(stride - 1),
            (y0 + 1).min(src.height() as usize - 1),
        );
        let (ax, ay) = (fx - x0 as f32, fy - y0 as f32);
        let at = |x: usize, y: usize, c: usize| f32::from(raw[(y * stride + x) * 4 + c]);
        let mut p = [0u8; 4];
        for (c, v) in p.iter_mut().enumerate() {
            let top = at(x0, y0, c) + ax * (at(x1, y0, c) - at(x0, y0, c));
            let bottom = at(x0, y1, c) + ax * (at(x1, y1, c) - at(x0, y1, c));
            *v = (top + ay * (bottom - top)).round().clamp(0.0, 255.0) as u8;
        }
        image::Rgba(p)
    })
}

/// The frames of `animation` on `base` (a face crop with its `mesh` in crop pixels), `frames` long.
pub fn animate(
    base: &RgbaImage,
    mesh: &[[f32; 3]],
    animation: Animation,
    frames: u32,
) -> Vec<RgbaImage> {
    (0..frames)
        .map(|i| frame_at(base, mesh, animation, i as f32 / frames.max(1) as f32))
        .collect()
}

/// One frame of `animation` at loop time `t` (0..1; 0 is the rest pose).
pub fn frame_at(base: &RgbaImage, mesh: &[[f32; 3]], animation: Animation, t: f32) -> RgbaImage {
    use std::f32::consts::{PI, TAU};
    let (w, h) = base.dimensions();
    let face = Rect::bounding(mesh.iter().map(|p| crate::track::Point::new(p[0], p[1])))
        .unwrap_or(Rect::new(0.0, 0.0, w as f32, h as f32));
    let (cx, cy) = (face.center().x, face.center().y);
    // 0 at the loop's ends, held near 1 in the middle.
    let held = (1.8 * (PI * t).sin().powi(2)).min(1.0);
    let eased = 0.5 - 0.5 * (TAU * t).cos();
    match animation {
        Animation::Wink | Animation::Blink => {
            let mut eyes = vec![(LEFT_LIDS, LEFT_CORNERS)];
            if animation == Animation::Blink {
                eyes.push((RIGHT_LIDS, RIGHT_CORNERS));
            }
            let mut out = base.clone();
            for (lids, corners) in eyes {
                if let Some(lid) = Eyelid::new(mesh, &lids, corners, held) {
                    out = warp(&out, w, h, |x, y| lid.source(x, y));
                    let line = LASH_LINE * held;
                    if line > 0.0 {
                        let (x0, x1) = (lid.line[0].0, lid.line[lid.line.len() - 1].0);
                        for x in x0.floor().max(0.0) as u32..(x1.ceil() as u32).min(w) {
                            let Some((seam, gap)) = lid.seam_at(x as f32 + 0.5) else {
                                continue;
                            };
                            let half = (0.12 * gap).max(0.8);
                            let y0 = (seam - 2.0 * half).floor().max(0.0) as u32;
                            let y1 = ((seam + 2.0 * half).ceil() as u32).min(h);
                            for y in y0..y1 {
                                let d = ((y as f32 + 0.5 - seam) / half).abs();
                                let a = line * (1.0 - d / 2.0).clamp(0.0, 1.0);
                                let p = out.get_pixel_mut(x, y);
                                for c in 0..3 {
                                    p[c] = (f32::from(p[c]) * (1.0 - a) + 30.0 * a).round() as u8;
                                }
                            }
                        }
                    }
                }
            }
            out
        }
        Animation::Smile | Animation::Laugh => {
            let p = pose(mesh, (w, h), animation, held, 0.0);
            let mut out = warp_controls(base, &p.controls);
            if let Some(mouth) = &p.mouth {
                let polygon = mouth.polygon();
                fill_polygon(&mut out, &polygon, |x, y| mouth.colour(x, y), held.min(1.0));
            }
            out
        }
        Animation::Nod => {
            // Down and back once in a loop.
            let s = (PI * t).sin().powi(2);
            warp_controls(base, &pose(mesh, (w, h), animation, s, 0.0).controls)
        }
        Animation::Tilt => {
            let signed = (TAU * t).sin();
            warp_controls(base, &pose(mesh, (w, h), animation, 1.0, signed).controls)
        }
        Animation::Bounce => {
            // Up and down in the first 80% of the loop, then a squash on landing.
            let (hop, squash) = if t < 0.8 {
                ((PI * t / 0.8).sin(), 1.0)
            } else {
                (0.0, 1.0 + 0.07 * (PI * (t - 0.8) / 0.2).sin())
            };
            let lift = 0.08 * h as f32 * hop;
            warp(base, w, h, |x, y| {
                let sx = w as f32 / 2.0 + (x - w as f32 / 2.0) / squash;
                let sy = h as f32 - (h as f32 - y) * squash;
                (sx, sy + lift)
            })
        }
        Animation::Zoom => {
            let s = 1.0 + 0.15 * eased;
            warp(base, w, h, |x, y| (cx + (x - cx) / s, cy + (y - cy) / s))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loops_start_at_rest_and_move_in_the_middle() {
        let base = RgbaImage::from_fn(64, 64, |x, y| {
            image::Rgba([(x * 4) as u8, (y * 4) as u8, 90, 255])
        });
        // A fake mesh: 468 points spread over the centre.
        let mut mesh: Vec<[f32; 3]> = (0..468)
            .map(|i| [16.0 + (i % 32) as f32, 14.0 + (i / 16) as f32, 0.0])
            .collect();
        // Open eyes: lids 6 px apart between their corners.
        for (lids, corners, x0) in [
            (LEFT_LIDS, LEFT_CORNERS, 36.0),
            (RIGHT_LIDS, RIGHT_CORNERS, 14.0),
        ] {
            mesh[corners.0] = [x0 - 2.0, 23.0, 0.0];
            mesh[corners.1] = [x0 + 14.0, 23.0, 0.0];
            for (k, (u, l)) in lids.iter().enumerate() {
                let x = x0 + 1.5 * k as f32;
                mesh[*u] = [x, 20.0, 0.0];
                mesh[*l] = [x, 26.0, 0.0];
            }
        }
        for a in Animation::ALL {
            let frames = animate(&base, &mesh, a, 12);
            assert_eq!(frames.len(), 12);
            assert_eq!(frames[0], base, "{a:?} starts at rest");
            assert!(frames.iter().any(|f| *f != base), "{a:?} moves");
            assert_eq!(Animation::from_name(a.name()), Some(a));
        }
        assert_eq!(Animation::from_name("spin"), None);
    }
}
