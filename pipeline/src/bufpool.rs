//! A process-wide pool of pixel buffers. A 720p RGBA frame is 3.7 MB: allocating it fresh for every
//! frame costs an mmap, ~900 page faults and an munmap with cross-core TLB shootdowns, which measured
//! ~25% of pipeline throughput on a 2-core machine (see `doppel bench --only overhead`). Sinks give
//! buffers back after writing; sources and resizing stages take them again.

use std::sync::OnceLock;

use crossbeam_channel::{bounded, Receiver, Sender};

/// Buffers kept at most; beyond that, returned buffers are freed.
const CAPACITY: usize = 24;

/// Both ends of the pool's queue.
type Queue = (Sender<Vec<u8>>, Receiver<Vec<u8>>);

fn pool() -> &'static Queue {
    static POOL: OnceLock<Queue> = OnceLock::new();
    POOL.get_or_init(|| bounded(CAPACITY))
}

/// A buffer of exactly `len` bytes. Its contents are unspecified (old pixels or zeros): callers
/// overwrite all of it.
pub fn take(len: usize) -> Vec<u8> {
    let (_, rx) = pool();
    // Look at a few pooled buffers for one that is large enough; smaller ones (another frame size)
    // are freed so the pool adapts when sizes change.
    for _ in 0..4 {
        match rx.try_recv() {
            Ok(mut buf) if buf.capacity() >= len => {
                buf.resize(len, 0);
                return buf;
            }
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    vec![0; len]
}

/// Gives a buffer back for reuse.
pub fn recycle(buf: Vec<u8>) {
    if buf.capacity() >= 4096 {
        let (tx, _) = pool();
        let _ = tx.try_send(buf);
    }
}

/// An RGBA image of `width` x `height` on a pooled buffer (contents unspecified).
pub fn image(width: u32, height: u32) -> image::RgbaImage {
    let len = width as usize * height as usize * 4;
    // from_raw only fails when the buffer is shorter than width*height*4, which `take` rules out.
    image::RgbaImage::from_raw(width, height, take(len))
        .unwrap_or_else(|| image::RgbaImage::new(width, height))
}

/// Replaces `slot` with `new` and gives the old pixels back to the pool.
pub fn replace_image(slot: &mut image::RgbaImage, new: image::RgbaImage) {
    let old = std::mem::replace(slot, new);
    recycle(old.into_raw());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_and_resizes() {
        let mut buf = take(1 << 20);
        assert_eq!(buf.len(), 1 << 20);
        buf[0] = 7;
        recycle(buf);
        let again = take(1000);
        assert_eq!(again.len(), 1000);
    }
}
