//! Still images as a source: one file, every image in a folder, or a glob (`shots/*.jpg`), in name
//! order. A sequence plays at a chosen frame rate; all its images must share one size.

use std::path::{Path, PathBuf};

use super::{Source, SourceInfo};
use crate::error::{Error, Result};
use crate::frame::{Frame, Rational, Timestamp};

/// File extensions read as images (lower case).
pub const IMAGE_EXTENSIONS: [&str; 7] = ["png", "jpg", "jpeg", "webp", "bmp", "gif", "tiff"];

/// True when `path` has an image extension.
pub fn is_image_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Images read one by one, decoded when asked for.
pub struct ImageSource {
    files: Vec<PathBuf>,
    info: SourceInfo,
    next: usize,
}

impl ImageSource {
    /// Opens a file, a folder of images or a glob pattern; `fps` paces sequences.
    pub fn open(input: &str, fps: u32) -> Result<Self> {
        let path = Path::new(input);
        let files = if input.contains(['*', '?', '[']) {
            let pattern = glob::glob(input)
                .map_err(|e| Error::input(input, format!("not a valid glob pattern: {e}")))?;
            let mut files: Vec<PathBuf> = pattern
                .filter_map(std::result::Result::ok)
                .filter(|p| is_image_path(p))
                .collect();
            files.sort();
            files
        } else if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|e| Error::io(path, e))?;
            let mut files: Vec<PathBuf> = entries
                .filter_map(std::result::Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file() && is_image_path(p))
                .collect();
            files.sort();
            files
        } else if path.is_file() {
            vec![path.to_path_buf()]
        } else {
            return Err(Error::input(input, "no such file or folder"));
        };
        let Some(first) = files.first() else {
            return Err(Error::input(
                input,
                format!(
                    "no images found (looked for {})",
                    IMAGE_EXTENSIONS.join(", ")
                ),
            ));
        };
        let (width, height) = image::image_dimensions(first)
            .map_err(|e| Error::input(first, format!("not a readable image: {e}")))?;
        let fps = fps.clamp(1, 1000) as i32;
        let info = SourceInfo {
            name: input.to_string(),
            path: (files.len() == 1).then(|| files[0].clone()),
            width,
            height,
            frame_rate: Some(Rational::new(fps, 1)),
            time_base: Rational::new(1, fps),
            frame_count: Some(files.len() as u64),
            has_audio: false,
            live: false,
            trim: None,
        };
        Ok(Self {
            files,
            info,
            next: 0,
        })
    }
}

impl Source for ImageSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        let Some(path) = self.files.get(self.next) else {
            return Ok(None);
        };
        let seq = self.next as u64;
        self.next += 1;
        let image = image::open(path)
            .map_err(|e| Error::input(path, format!("not a readable image: {e}")))?
            .to_rgba8();
        if image.dimensions() != (self.info.width, self.info.height) {
            return Err(Error::input(
                path,
                format!(
                    "is {}x{} but the sequence is {}x{}; all images of a sequence must share one size",
                    image.width(),
                    image.height(),
                    self.info.width,
                    self.info.height
                ),
            ));
        }
        Ok(Some(Frame::new(
            seq,
            Timestamp::new(seq as i64, self.info.time_base),
            image,
        )))
    }
}
