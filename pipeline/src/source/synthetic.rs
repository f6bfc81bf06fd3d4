//! A deterministic synthetic source: a moving colour pattern with a drawn face-like figure (head,
//! eyes that blink, a mouth that opens). For tests, benchmarks and machines without a camera.
//!
//! The same settings always give the same pixels, so tests can compare frames exactly.

use image::{Rgba, RgbaImage};

use super::spec::InputSpec;
use super::{Source, SourceInfo};
use crate::error::{Error, Result};
use crate::frame::{Frame, Rational, Timestamp};

/// Settings of the synthetic source.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntheticConfig {
    pub width: u32,
    pub height: u32,
    /// Frames per second (whole numbers).
    pub fps: u32,
    /// Frames to produce; `None` runs until stopped.
    pub frames: Option<u64>,
    /// Behave as a real-time device (live pacing is then the consumer's job).
    pub live: bool,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        Self {
            width: 1280,
            height: 720,
            fps: 30,
            frames: Some(300),
            live: false,
        }
    }
}

impl SyntheticConfig {
    /// Parses `synthetic[:key=value...]` with keys `width`, `height`, `fps`, `frames` (0 = endless),
    /// e.g. `synthetic:width=640:height=480:frames=90`.
    pub fn parse(text: &str) -> Result<Self> {
        let mut config = Self::default();
        let spec = InputSpec::parse(text)?;
        if spec.head != "synthetic" || !spec.values.is_empty() {
            return Err(Error::input(
                text,
                "a synthetic source is written synthetic[:width=W:height=H:fps=F:frames=N]",
            ));
        }
        for (key, value) in &spec.settings {
            match key.as_str() {
                "width" => config.width = spec.number(key, value, 2..=8192)? as u32,
                "height" => config.height = spec.number(key, value, 2..=8192)? as u32,
                "fps" => config.fps = spec.number(key, value, 1..=240)? as u32,
                "frames" => {
                    let n = spec.number(key, value, 0..=u64::MAX)?;
                    config.frames = (n > 0).then_some(n);
                }
                _ => return Err(spec.unknown(key, "width, height, fps or frames")),
            }
        }
        Ok(config)
    }
}

/// The synthetic source.
pub struct SyntheticSource {
    config: SyntheticConfig,
    info: SourceInfo,
    next: u64,
}

impl SyntheticSource {
    pub fn new(config: SyntheticConfig) -> Self {
        let info = SourceInfo {
            name: format!(
                "synthetic {}x{}@{}",
                config.width, config.height, config.fps
            ),
            path: None,
            width: config.width,
            height: config.height,
            frame_rate: Some(Rational::new(config.fps as i32, 1)),
            time_base: Rational::new(1, config.fps as i32),
            frame_count: config.frames,
            has_audio: false,
            live: config.live,
            trim: None,
        };
        Self {
            config,
            info,
            next: 0,
        }
    }
}

impl Source for SyntheticSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        if self.config.frames.is_some_and(|n| self.next >= n) {
            return Ok(None);
        }
        let seq = self.next;
        self.next += 1;
        let image = render(&self.config, seq);
        Ok(Some(Frame::new(
            seq,
            Timestamp::new(seq as i64, self.info.time_base),
            image,
        )))
    }
}

/// Draws frame `seq`: a diagonal gradient scrolling right, and a face that sways, blinks every 2 s
/// and opens its mouth on a 1.5 s cycle.
pub fn render(config: &SyntheticConfig, seq: u64) -> RgbaImage {
    let (w, h) = (config.width, config.height);
    let t = seq as f32 / config.fps as f32;
    let shift = (seq * 4) as u32;
    // The pattern: red runs along x (wrapping every 256 pixels, moving 4 per frame), green down y.
    // Written row by row (a per-pixel closure costs a live 720p run several ms a frame).
    let mut img = crate::bufpool::image(w, h);
    let shift = shift % 256;
    for (y, row) in img.chunks_exact_mut(4 * w as usize).enumerate() {
        let v = y as u32 * 255 / h.max(1);
        let mut u = shift;
        for px in row.chunks_exact_mut(4) {
            px.copy_from_slice(&[u as u8, v as u8, ((u + v) / 2) as u8 ^ 0x40, 255]);
            u = (u + 1) & 255;
        }
    }
    let size = w.min(h) as f32;
    let cx = w as f32 * 0.5 + (t * 1.3).sin() * size * 0.1;
    let cy = h as f32 * 0.5;
    let (rx, ry) = (size * 0.22, size * 0.3);
    let skin = Rgba([224, 172, 140, 255]);
    let dark = Rgba([40, 28, 24, 255]);
    let lips = Rgba([150, 50, 60, 255]);
    fill_ellipse(&mut img, cx, cy, rx, ry, skin);
    let blink = (t % 2.0) < 0.15;
    let eye_ry = if blink { size * 0.005 } else { size * 0.03 };
    for side in [-1.0f32, 1.0] {
        let ex = cx + side * rx * 0.42;
        let ey = cy - ry * 0.2;
        fill_ellipse(
            &mut img,
            ex,
            ey,
            size * 0.045,
            eye_ry,
            Rgba([250, 250, 250, 255]),
        );
        if !blink {
            fill_ellipse(&mut img, ex, ey, size * 0.018, size * 0.018, dark);
        }
        fill_ellipse(
            &mut img,
            ex,
            ey - ry * 0.22,
            size * 0.05,
            size * 0.008,
            dark,
        );
    }
    let open = ((t / 1.5 * std::f32::consts::TAU).sin() * 0.5 + 0.5) * size * 0.05;
    fill_ellipse(
        &mut img,
        cx,
        cy + ry * 0.45,
        size * 0.08,
        size * 0.012 + open,
        lips,
    );
    img
}

fn fill_ellipse(img: &mut RgbaImage, cx: f32, cy: f32, rx: f32, ry: f32, color: Rgba<u8>) {
    if rx <= 0.0 || ry <= 0.0 {
        return;
    }
    let (w, h) = img.dimensions();
    let x0 = (cx - rx).floor().max(0.0) as u32;
    let x1 = ((cx + rx).ceil().max(0.0) as u32).min(w);
    let y0 = (cy - ry).floor().max(0.0) as u32;
    let y1 = ((cy + ry).ceil().max(0.0) as u32).min(h);
    for y in y0..y1 {
        for x in x0..x1 {
            let dx = (x as f32 + 0.5 - cx) / rx;
            let dy = (y as f32 + 0.5 - cy) / ry;
            if dx * dx + dy * dy <= 1.0 {
                img.put_pixel(x, y, color);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_counted() {
        let config = SyntheticConfig::parse("synthetic:width=64:height=48:frames=3").unwrap();
        let mut a = SyntheticSource::new(config.clone());
        let mut b = SyntheticSource::new(config);
        let mut n = 0;
        while let Some(fa) = a.next_frame().unwrap() {
            let fb = b.next_frame().unwrap().unwrap();
            assert_eq!(fa.cpu_image().unwrap(), fb.cpu_image().unwrap());
            assert_eq!(fa.cpu_image().unwrap().dimensions(), (64, 48));
            assert_eq!(fa.seq, n);
            n += 1;
        }
        assert_eq!(n, 3);
    }

    #[test]
    fn frames_move() {
        let config = SyntheticConfig::parse("synthetic:width=64:height=48").unwrap();
        assert_ne!(render(&config, 0), render(&config, 1));
    }

    #[test]
    fn rejects_bad_settings() {
        for bad in [
            "synthetic:width=1",
            "synthetic:fps=0",
            "synthetic:size=3",
            "synthetic:width",
        ] {
            assert!(SyntheticConfig::parse(bad).is_err(), "{bad}");
        }
    }
}
