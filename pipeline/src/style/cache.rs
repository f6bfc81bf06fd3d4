//! Style vectors cached on disk by the content of the style picture, so `stylize:image=PATH` runs
//! the style encoder once per picture, not once per start. Files: `DIR/<hash>.json`, a JSON list of
//! 100 numbers. The key is FNV-1a 64 of the picture's bytes and of the encoder file's size (a new
//! encoder gives new keys); a cache that cannot be written only costs a recomputation.

use std::path::{Path, PathBuf};

/// The default folder: `$XDG_CACHE_HOME/doppel/styles`, else `~/.cache/doppel/styles`.
pub fn default_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("doppel")
        .join("styles")
}

/// FNV-1a, 64 bits: small, stable across builds and platforms (std's hasher is not promised to be).
pub fn fnv1a64(chunks: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for chunk in chunks {
        for &b in *chunk {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// A folder of cached style vectors.
#[derive(Clone, Debug)]
pub struct VectorCache {
    dir: PathBuf,
}

impl VectorCache {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key of a picture's bytes for an encoder of `model_len` bytes.
    pub fn key(picture: &[u8], model_len: u64) -> String {
        format!("{:016x}", fnv1a64(&[picture, &model_len.to_le_bytes()]))
    }

    fn file(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// The cached vector, if present and well-formed (`len` values).
    pub fn get(&self, key: &str, len: usize) -> Option<Vec<f32>> {
        let text = std::fs::read_to_string(self.file(key)).ok()?;
        let v: Vec<f32> = serde_json::from_str(&text).ok()?;
        (v.len() == len && v.iter().all(|x| x.is_finite())).then_some(v)
    }

    /// Stores a vector; returns whether it was written (failures are not errors: see the module).
    pub fn put(&self, key: &str, vector: &[f32]) -> bool {
        let Ok(text) = serde_json::to_string(vector) else {
            return false;
        };
        std::fs::create_dir_all(&self.dir).is_ok() && std::fs::write(self.file(key), text).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_is_stable_and_cache_round_trips() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a64(&[b""]), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(&[b"a"]), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(&[b"foo", b"bar"]), fnv1a64(&[b"foobar"]));
        let dir = std::env::temp_dir().join(format!("doppel-cache-test-{}", std::process::id()));
        let cache = VectorCache::new(&dir);
        let key = VectorCache::key(b"picture", 7);
        assert_ne!(key, VectorCache::key(b"picture", 8));
        assert!(cache.get(&key, 3).is_none());
        assert!(cache.put(&key, &[1.0, 2.5, -3.0]));
        assert_eq!(cache.get(&key, 3), Some(vec![1.0, 2.5, -3.0]));
        assert!(cache.get(&key, 4).is_none(), "wrong length is a miss");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
