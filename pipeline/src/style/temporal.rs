//! Temporal stability of stylized video.
//!
//! Style networks redraw every frame from scratch, so sensor noise and compression noise in the input
//! turn into brush strokes that change from frame to frame: the result flickers even where nothing
//! moves. [`FlickerMeter`] measures it: the mean absolute change between consecutive output frames
//! over the static part of the picture (pixels whose input changed by less than
//! [`STATIC_THRESHOLD`]), divided by the same figure for the input. 1.0 = the output flickers as much
//! as the input moves there; the stylized video should stay at or below that.
//!
//! [`Stabilizer`] reduces it by blending each stylized frame with the previous result, guided by how
//! much the *input* changed at each pixel: where the input is still (change below `low`), the output
//! moves only by `1 - strength` of the new stylization (an exponential moving average); where it
//! changed by more than `high` the new stylization is taken as is, so motion does not smear; in
//! between the weight rises linearly. The input change is the 3x3 mean of the per-pixel RGB change,
//! so single-pixel noise does not count as motion. The previous result is kept in f32 so that small
//! weights still converge instead of rounding to no change.

use image::RgbaImage;

/// Input change (mean over RGB, 0..255) below which a pixel counts as static for the flicker figure.
pub const STATIC_THRESHOLD: f32 = 12.0;

/// Measures output flicker relative to input change over static regions, frame pair by frame pair.
#[derive(Debug, Default)]
pub struct FlickerMeter {
    prev: Option<(RgbaImage, RgbaImage)>,
    input_sum: f64,
    output_sum: f64,
    pixels: u64,
}

impl FlickerMeter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one frame: `input` and the `output` drawn from it (same size; pairs of other sizes are
    /// not counted).
    pub fn push(&mut self, input: &RgbaImage, output: &RgbaImage) {
        if let Some((pi, po)) = &self.prev {
            let sizes = [pi, po, input, output].map(RgbaImage::dimensions);
            if sizes.iter().all(|s| *s == sizes[0]) {
                for ((a, b), (c, d)) in pi
                    .pixels()
                    .zip(input.pixels())
                    .zip(po.pixels().zip(output.pixels()))
                {
                    let din = rgb_diff(&a.0, &b.0);
                    if din >= STATIC_THRESHOLD {
                        continue;
                    }
                    self.input_sum += f64::from(din);
                    self.output_sum += f64::from(rgb_diff(&c.0, &d.0));
                    self.pixels += 1;
                }
            }
        }
        self.prev = Some((input.clone(), output.clone()));
    }

    /// Mean absolute change of the output over static pixels, 0..255.
    pub fn output_change(&self) -> f64 {
        self.output_sum / self.pixels.max(1) as f64
    }

    /// Mean absolute change of the input over the same pixels, 0..255.
    pub fn input_change(&self) -> f64 {
        self.input_sum / self.pixels.max(1) as f64
    }

    /// Output change / input change over static pixels (`None` before two frames, or when the input
    /// did not change at all).
    pub fn ratio(&self) -> Option<f64> {
        (self.pixels > 0 && self.input_sum > 0.0).then(|| self.output_sum / self.input_sum)
    }

    /// Static pixels counted so far (over all frame pairs).
    pub fn static_pixels(&self) -> u64 {
        self.pixels
    }
}

fn rgb_diff(a: &[u8; 4], b: &[u8; 4]) -> f32 {
    (0..3)
        .map(|c| (f32::from(a[c]) - f32::from(b[c])).abs())
        .sum::<f32>()
        / 3.0
}

/// Blends stylized frames with the previous result where the input is still (see the module).
#[derive(Debug)]
pub struct Stabilizer {
    strength: f32,
    low: f32,
    high: f32,
    prev_input: Option<RgbaImage>,
    prev_output: Vec<[f32; 3]>,
    change: Vec<f32>,
}

impl Stabilizer {
    /// `strength` 0..1: how much of the previous result static pixels keep (0 = off). `low`/`high`:
    /// input change (0..255) where blending starts to fade and where it stops.
    pub fn new(strength: f32, low: f32, high: f32) -> Self {
        Self {
            strength: strength.clamp(0.0, 1.0),
            low,
            high: high.max(low + 1e-3),
            prev_input: None,
            prev_output: Vec::new(),
            change: Vec::new(),
        }
    }

    /// Defaults measured on noisy still and moving clips: blending fades out between an input change
    /// of 4 and 24 (out of 255).
    pub fn with_strength(strength: f32) -> Self {
        Self::new(strength, 4.0, 24.0)
    }

    pub fn strength(&self) -> f32 {
        self.strength
    }

    /// Forgets the previous frame (use at a cut or between unrelated images).
    pub fn reset(&mut self) {
        self.prev_input = None;
        self.prev_output.clear();
    }

    /// Blends `output` (stylized from `input`, same size) in place with the previous result.
    pub fn apply(&mut self, input: &RgbaImage, output: &mut RgbaImage) {
        if self.strength <= 0.0 || input.dimensions() != output.dimensions() {
            return;
        }
        let (w, h) = (input.width() as usize, input.height() as usize);
        let fresh = self
            .prev_input
            .as_ref()
            .is_none_or(|p| p.dimensions() != input.dimensions());
        if fresh {
            self.prev_output = output
                .pixels()
                .map(|p| [f32::from(p[0]), f32::from(p[1]), f32::from(p[2])])
                .collect();
            self.prev_input = Some(input.clone());
            return;
        }
        let Some(prev_in) = self.prev_input.as_mut() else {
            return;
        };
        // Per-pixel input change, then its 3x3 mean.
        let raw: Vec<f32> = prev_in
            .pixels()
            .zip(input.pixels())
            .map(|(a, b)| rgb_diff(&a.0, &b.0))
            .collect();
        self.change.resize(w * h, 0.0);
        for y in 0..h {
            let (y0, y1) = (y.saturating_sub(1), (y + 1).min(h - 1));
            for x in 0..w {
                let (x0, x1) = (x.saturating_sub(1), (x + 1).min(w - 1));
                let mut sum = 0.0;
                for yy in y0..=y1 {
                    sum += raw[yy * w + x0..=yy * w + x1].iter().sum::<f32>();
                }
                self.change[y * w + x] = sum / ((y1 - y0 + 1) * (x1 - x0 + 1)) as f32;
            }
        }
        let floor = 1.0 - self.strength;
        for ((p, prev), &d) in output
            .pixels_mut()
            .zip(self.prev_output.iter_mut())
            .zip(&self.change)
        {
            let t = ((d - self.low) / (self.high - self.low)).clamp(0.0, 1.0);
            let weight = floor + (1.0 - floor) * t;
            for c in 0..3 {
                let v = prev[c] + weight * (f32::from(p[c]) - prev[c]);
                prev[c] = v;
                p[c] = v.round().clamp(0.0, 255.0) as u8;
            }
        }
        prev_in.copy_from_slice(input.as_raw());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meter_compares_output_change_with_input_change() {
        let a = RgbaImage::from_pixel(4, 4, image::Rgba([100, 100, 100, 255]));
        let b = RgbaImage::from_pixel(4, 4, image::Rgba([103, 103, 103, 255]));
        let o1 = RgbaImage::from_pixel(4, 4, image::Rgba([50, 50, 50, 255]));
        let o2 = RgbaImage::from_pixel(4, 4, image::Rgba([56, 56, 56, 255]));
        let mut m = FlickerMeter::new();
        m.push(&a, &o1);
        assert_eq!(m.ratio(), None);
        m.push(&b, &o2);
        assert!((m.ratio().unwrap() - 2.0).abs() < 1e-9);
        // A big input change is motion, not counted.
        let c = RgbaImage::from_pixel(4, 4, image::Rgba([200, 200, 200, 255]));
        m.push(&c, &o1);
        assert_eq!(m.static_pixels(), 16);
    }

    #[test]
    fn stabilizer_holds_still_pixels_and_follows_motion() {
        let still = RgbaImage::from_pixel(8, 8, image::Rgba([100, 100, 100, 255]));
        let mut s = Stabilizer::with_strength(0.8);
        let mut o = RgbaImage::from_pixel(8, 8, image::Rgba([50, 50, 50, 255]));
        s.apply(&still, &mut o);
        let mut o2 = RgbaImage::from_pixel(8, 8, image::Rgba([60, 60, 60, 255]));
        s.apply(&still, &mut o2);
        assert_eq!(o2.get_pixel(3, 3)[0], 52, "static: 20% of the new value");
        let moved = RgbaImage::from_pixel(8, 8, image::Rgba([200, 200, 200, 255]));
        let mut o3 = RgbaImage::from_pixel(8, 8, image::Rgba([90, 90, 90, 255]));
        s.apply(&moved, &mut o3);
        assert_eq!(o3.get_pixel(3, 3)[0], 90, "motion: the new value");
        let mut off = Stabilizer::with_strength(0.0);
        let mut o4 = o2.clone();
        off.apply(&still, &mut o4);
        off.apply(&still, &mut o4);
        assert_eq!(o4, o2);
    }
}
