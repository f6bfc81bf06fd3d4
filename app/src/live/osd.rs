//! The on-screen display: a few lines of text (fps, capture-to-display latency, drops, stages, the
//! latest message) drawn on the CPU with doppel's bitmap font into a small opaque image that the
//! present shader lays over the top-left corner of the window.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use image::{Rgba, RgbaImage};

use doppel_pipeline::font::{self, CELL_H, CELL_W};

/// The box colour (opaque, so the shader needs no blending and the CPU reference is exact).
pub const BACKGROUND: Rgba<u8> = Rgba([16, 16, 16, 255]);
/// The text colour.
pub const INK: Rgba<u8> = Rgba([255, 255, 255, 255]);
/// The colour of warning lines (source ended, errors).
pub const WARN: Rgba<u8> = Rgba([255, 200, 64, 255]);
/// Margin inside the box, in font pixels.
const PAD: u32 = 2;

/// One line of the display.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub text: String,
    pub warn: bool,
}

impl Line {
    pub fn plain(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            warn: false,
        }
    }

    pub fn warn(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            warn: true,
        }
    }
}

/// Draws `lines` at `scale` screen pixels per font pixel into an opaque box just large enough, its
/// width capped at `max_width` pixels (longer lines are cut). `None` for no lines.
pub fn render(lines: &[Line], scale: u32, max_width: u32) -> Option<RgbaImage> {
    let scale = scale.max(1);
    let cols = lines.iter().map(|l| l.text.chars().count()).max()? as u32;
    let cell_w = CELL_W * scale;
    let max_cols = (max_width.saturating_sub(2 * PAD * scale) / cell_w).max(1);
    let cols = cols.min(max_cols);
    let width = cols * cell_w + 2 * PAD * scale;
    let height = lines.len() as u32 * CELL_H * scale + 2 * PAD * scale;
    let mut img = RgbaImage::from_pixel(width, height, BACKGROUND);
    for (row, line) in lines.iter().enumerate() {
        let colour = if line.warn { WARN } else { INK };
        let y0 = PAD * scale + row as u32 * CELL_H * scale;
        font::draw(
            &mut img,
            (PAD * scale, y0),
            &line.text,
            scale,
            cols as usize,
            colour,
        );
    }
    Some(img)
}

/// Presented frames and their capture-to-display latencies over the last `span`, for the display's
/// live figures (the end-of-run figures use every sample).
#[derive(Debug)]
pub struct Rolling {
    span: Duration,
    samples: VecDeque<(Instant, f64)>,
}

impl Rolling {
    pub fn new(span: Duration) -> Self {
        Self {
            span,
            samples: VecDeque::new(),
        }
    }

    pub fn push(&mut self, at: Instant, latency_ms: f64) {
        self.samples.push_back((at, latency_ms));
        while let Some((t, _)) = self.samples.front() {
            if at.duration_since(*t) > self.span {
                self.samples.pop_front();
            } else {
                break;
            }
        }
    }

    /// Frames per second over the window (0 with fewer than two frames).
    pub fn fps(&self) -> f64 {
        match (self.samples.front(), self.samples.back()) {
            (Some((a, _)), Some((b, _))) if self.samples.len() > 1 => {
                let s = b.duration_since(*a).as_secs_f64();
                if s > 0.0 {
                    (self.samples.len() - 1) as f64 / s
                } else {
                    0.0
                }
            }
            _ => 0.0,
        }
    }

    /// Latency p50 and p99 over the window.
    pub fn latency(&self) -> (f64, f64) {
        let s = doppel_pipeline::graph::Summary::of(self.samples.iter().map(|(_, l)| *l).collect());
        (s.p50, s.p99)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_drawn_in_the_box() {
        let img = render(&[Line::plain("I"), Line::warn("-")], 2, 1000).unwrap();
        // One column, two rows, padding 2 font pixels at scale 2.
        assert_eq!(img.dimensions(), (6 * 2 + 8, 2 * 9 * 2 + 8));
        // The top bar of 'I' (.###.) starts one font pixel into the cell.
        assert_eq!(*img.get_pixel(4 + 2, 4), INK);
        assert_eq!(*img.get_pixel(4, 4), BACKGROUND);
        // The '-' is on the fourth glyph row of the second line, in the warning colour.
        assert_eq!(*img.get_pixel(4, 4 + 18 + 3 * 2), WARN);
        assert!(render(&[], 1, 100).is_none());
        // Long lines are cut at the width limit.
        let img = render(&[Line::plain("X".repeat(500))], 1, 100).unwrap();
        assert!(img.width() <= 100);
    }

    #[test]
    fn rolling_figures() {
        let mut r = Rolling::new(Duration::from_secs(1));
        let t0 = Instant::now();
        for i in 0..31u32 {
            r.push(t0 + Duration::from_millis(u64::from(i) * 33), f64::from(i));
        }
        // 31 frames 33 ms apart span 990 ms: 30 intervals.
        assert!((r.fps() - 30.0 / 0.99).abs() < 1e-6);
        assert_eq!(r.latency(), (15.0, 30.0));
        // Old samples fall out of the window.
        r.push(t0 + Duration::from_secs(5), 1.0);
        assert_eq!(r.latency(), (1.0, 1.0));
    }
}
