//! The glTF 2.0 container, read by doppel itself: the GLB chunks or the JSON, the buffers (GLB
//! binary chunk, `data:` URIs, files beside the model), buffer views (`EXT_meshopt_compression`
//! decoded by [`super::meshopt`]), accessors of every component type
//! (normalized integers of `KHR_mesh_quantization`, sparse accessors) and images (PNG, JPEG and the
//! WebP of `EXT_texture_webp`).
//!
//! Why not the `gltf` crate: it reads positions and normals as `f32` only (quantized meshes), has
//! no meshopt decoder, refuses files that require extensions it does not know and panics on some
//! malformed files (`pipeline/tests/fuzz.rs`). Every read here is bounds-checked and fails with a
//! message naming what is wrong; the caller adds the file name.

use std::path::Path;

use image::RgbaImage;
use serde_json::Value;

/// Extensions a file may list in `extensionsRequired` (doppel reads all of them).
pub const SUPPORTED_REQUIRED: [&str; 6] = [
    "KHR_materials_unlit",
    "KHR_texture_transform",
    "KHR_mesh_quantization",
    "KHR_materials_emissive_strength",
    "EXT_texture_webp",
    "EXT_meshopt_compression",
];

/// The most elements one accessor may hold (a guard against absurd counts in broken files).
const MAX_COUNT: usize = 1 << 25;
/// The most elements of an accessor without a buffer view (all zeros, or sparse over zeros).
const MAX_ZEROS: usize = 1 << 22;

/// A result whose error is a message; the loader adds the file name ([`crate::Error::Input`]).
pub type Res<T> = std::result::Result<T, String>;

/// A parsed glTF: the JSON and the bytes of every buffer view.
pub struct Gltf {
    pub json: Value,
    views: Vec<Vec<u8>>,
}

/// `json[key]` as an array (empty when absent).
pub fn array<'a>(json: &'a Value, key: &str) -> &'a [Value] {
    json.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// `v[key]` as an index.
pub fn index(v: &Value, key: &str) -> Option<usize> {
    v.get(key).and_then(Value::as_u64).map(|i| i as usize)
}

/// `v[key]` as a number.
pub fn number(v: &Value, key: &str) -> Option<f32> {
    v.get(key).and_then(Value::as_f64).map(|x| x as f32)
}

/// `v[key]` as `N` numbers (`None` when absent or of another length).
pub fn numbers<const N: usize>(v: &Value, key: &str) -> Option<[f32; N]> {
    let a = v.get(key)?.as_array()?;
    if a.len() != N {
        return None;
    }
    let mut out = [0.0; N];
    for (o, x) in out.iter_mut().zip(a) {
        *o = x.as_f64()? as f32;
    }
    Some(out)
}

/// Splits a GLB (`glTF` magic, version 2) into its JSON and optional binary chunk.
fn glb_chunks(bytes: &[u8]) -> Res<(&[u8], Option<&[u8]>)> {
    let word = |at: usize| -> Option<u32> {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let version = word(4).ok_or("truncated GLB: the 12-byte header is incomplete")?;
    if version != 2 {
        return Err(format!("GLB version {version}, expected 2 (glTF 2.0)"));
    }
    let total = word(8).ok_or("truncated GLB: the 12-byte header is incomplete")? as usize;
    if total > bytes.len() {
        return Err(format!(
            "truncated GLB: the header says {total} bytes, the file has {}",
            bytes.len()
        ));
    }
    let mut at = 12;
    let mut json = None;
    let mut bin = None;
    while at + 8 <= total {
        let (Some(len), Some(kind)) = (word(at), word(at + 4)) else {
            break;
        };
        let start = at + 8;
        let end = start
            .checked_add(len as usize)
            .filter(|&e| e <= total)
            .ok_or_else(|| {
                format!("truncated GLB: a chunk of {len} bytes at byte {at} runs past the end")
            })?;
        match kind {
            0x4E4F_534A if json.is_none() => json = Some(&bytes[start..end]),
            0x004E_4942 if bin.is_none() => bin = Some(&bytes[start..end]),
            _ => {}
        }
        at = end;
    }
    Ok((json.ok_or("GLB without a JSON chunk")?, bin))
}

/// Decodes standard base64 (the payload of a `data:` URI).
fn base64(text: &str) -> Res<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' | b'\n' | b'\r' | b' ' => continue,
            _ => return Err(format!("a data URI holds '{}', not base64", c as char)),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}

/// The bytes a `uri` names: a base64 `data:` URI or a file beside the model.
fn uri_bytes(path: &Path, uri: &str) -> Res<Vec<u8>> {
    if let Some(rest) = uri.strip_prefix("data:") {
        let (_, payload) = rest
            .split_once(";base64,")
            .ok_or_else(|| "a data URI that is not base64".to_string())?;
        return base64(payload);
    }
    let name = percent_decode(uri);
    let file = path.parent().unwrap_or(Path::new(".")).join(&name);
    std::fs::read(&file)
        .map_err(|e| format!("cannot read '{}' beside the model: {e}", file.display()))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Bytes per component of a glTF `componentType`.
fn component_size(kind: u64) -> Option<usize> {
    match kind {
        5120 | 5121 => Some(1),
        5122 | 5123 => Some(2),
        5125 | 5126 => Some(4),
        _ => None,
    }
}

fn components(kind: &str) -> Option<usize> {
    match kind {
        "SCALAR" => Some(1),
        "VEC2" => Some(2),
        "VEC3" => Some(3),
        "VEC4" => Some(4),
        "MAT4" => Some(16),
        _ => None,
    }
}

/// One component as a float: integers as they are, or mapped to -1..1 / 0..1 when `normalized`
/// (glTF 2.0 section 3.11, the formulas `KHR_mesh_quantization` uses).
fn component(b: &[u8], kind: u64, normalized: bool) -> f32 {
    match (kind, b) {
        (5126, [a, b, c, d, ..]) => f32::from_le_bytes([*a, *b, *c, *d]),
        (5125, [a, b, c, d, ..]) => u32::from_le_bytes([*a, *b, *c, *d]) as f32,
        (5120, [a, ..]) if normalized => (f32::from(*a as i8) / 127.0).max(-1.0),
        (5120, [a, ..]) => f32::from(*a as i8),
        (5121, [a, ..]) if normalized => f32::from(*a) / 255.0,
        (5121, [a, ..]) => f32::from(*a),
        (5122, [a, b, ..]) if normalized => {
            (f32::from(i16::from_le_bytes([*a, *b])) / 32767.0).max(-1.0)
        }
        (5122, [a, b, ..]) => f32::from(i16::from_le_bytes([*a, *b])),
        (5123, [a, b, ..]) if normalized => f32::from(u16::from_le_bytes([*a, *b])) / 65535.0,
        (5123, [a, b, ..]) => f32::from(u16::from_le_bytes([*a, *b])),
        _ => 0.0,
    }
}

/// An integer component (indices, joints, sparse indices).
fn integer(b: &[u8], kind: u64) -> u32 {
    match (kind, b) {
        (5125, [a, b, c, d, ..]) => u32::from_le_bytes([*a, *b, *c, *d]),
        (5123 | 5122, [a, b, ..]) => u32::from(u16::from_le_bytes([*a, *b])),
        (5121 | 5120, [a, ..]) => u32::from(*a),
        (5126, [a, b, c, d, ..]) => f32::from_le_bytes([*a, *b, *c, *d]).max(0.0) as u32,
        _ => 0,
    }
}

/// Where an accessor's elements lie: `count` elements of `comps` components of `kind`, each
/// starting `stride` bytes after the previous one in `bytes`.
struct Layout<'a> {
    bytes: &'a [u8],
    count: usize,
    comps: usize,
    kind: u64,
    stride: usize,
}

impl Layout<'_> {
    fn element(&self, i: usize) -> &[u8] {
        let at = i * self.stride;
        &self.bytes[at..at + self.comps * component_size(self.kind).unwrap_or(4)]
    }
}

impl Gltf {
    /// Parses `bytes` (a GLB or glTF JSON) read from `path` (for files beside it).
    pub fn parse(path: &Path, bytes: &[u8]) -> Res<Self> {
        let (json_bytes, bin) = if bytes.starts_with(b"glTF") {
            glb_chunks(bytes)
                .map_err(|e| format!("not a valid glTF 2.0 binary (.glb/.vrm): {e}"))?
        } else {
            (bytes, None)
        };
        let json: Value = serde_json::from_slice(json_bytes).map_err(|e| {
            let what = if bytes.starts_with(b"\x89PNG") {
                "it is a PNG image".to_string()
            } else {
                e.to_string()
            };
            format!("not a glTF 2.0 file (expected a .glb/.vrm binary or .gltf JSON): {what}")
        })?;
        if !json.is_object() {
            return Err("not a glTF 2.0 file: the JSON is not an object".into());
        }
        let version = json.pointer("/asset/version").and_then(Value::as_str);
        if !version.is_some_and(|v| v.starts_with("2.")) {
            return Err(format!(
                "not a glTF 2.0 file: asset.version is {}, expected \"2.0\"",
                version.unwrap_or("missing")
            ));
        }
        for name in array(&json, "extensionsRequired") {
            let name = name.as_str().unwrap_or("?");
            if !SUPPORTED_REQUIRED.contains(&name) {
                return Err(format!(
                    "requires the glTF extension {name}, which doppel does not read (it reads {})",
                    SUPPORTED_REQUIRED.join(", ")
                ));
            }
        }
        let mut buffers = Vec::new();
        for (i, b) in array(&json, "buffers").iter().enumerate() {
            let data = match b.get("uri").and_then(Value::as_str) {
                Some(uri) => uri_bytes(path, uri).map_err(|e| format!("buffer {i}: {e}"))?,
                None if i == 0 && bin.is_some() => bin.unwrap_or_default().to_vec(),
                // A meshopt fallback buffer carries no data: its views are decoded instead.
                None if b.pointer("/extensions/EXT_meshopt_compression/fallback")
                    == Some(&Value::Bool(true)) =>
                {
                    Vec::new()
                }
                None => {
                    return Err(format!(
                        "buffer {i} has no uri and is not the GLB's binary chunk"
                    ))
                }
            };
            let need = index(b, "byteLength").unwrap_or(0);
            if data.len() < need && !data.is_empty() {
                return Err(format!(
                    "buffer {i} holds {} bytes, its byteLength says {need} (truncated file?)",
                    data.len()
                ));
            }
            buffers.push(data);
        }
        let mut views = Vec::new();
        for (i, v) in array(&json, "bufferViews").iter().enumerate() {
            // Compressed views are always decoded (their fallback buffer may hold no data).
            if let Some(m) = v.pointer("/extensions/EXT_meshopt_compression") {
                let data = super::meshopt::decode_view(m, &buffers)
                    .map_err(|e| format!("bufferView {i} (EXT_meshopt_compression): {e}"))?;
                views.push(data);
                continue;
            }
            let b = index(v, "buffer").unwrap_or(usize::MAX);
            let buffer = buffers.get(b).ok_or_else(|| {
                format!(
                    "bufferView {i} names buffer {b}, the file has {}",
                    buffers.len()
                )
            })?;
            let start = index(v, "byteOffset").unwrap_or(0);
            let len = index(v, "byteLength").unwrap_or(0);
            let bytes = start
                .checked_add(len)
                .and_then(|end| buffer.get(start..end))
                .ok_or_else(|| {
                    format!(
                        "bufferView {i}: bytes {start}..{} lie past buffer {b}'s {} bytes",
                        start.saturating_add(len),
                        buffer.len()
                    )
                })?;
            views.push(bytes.to_vec());
        }
        Ok(Self { json, views })
    }

    /// The bytes of buffer view `i`.
    pub fn view(&self, i: usize) -> Res<&[u8]> {
        self.views
            .get(i)
            .map(Vec::as_slice)
            .ok_or_else(|| format!("names bufferView {i}, the file has {}", self.views.len()))
    }

    fn layout<'a>(
        &'a self,
        a: &Value,
        at: &str,
        count: usize,
        comps: usize,
        kind: u64,
    ) -> Res<Option<Layout<'a>>> {
        let Some(v) = index(a, "bufferView") else {
            return Ok(None);
        };
        let bytes = self.view(v).map_err(|e| format!("{at} {e}"))?;
        let size = component_size(kind)
            .ok_or_else(|| format!("{at}: componentType {kind} is not a glTF component type"))?;
        let elem = comps * size;
        let stride = self
            .json
            .pointer(&format!("/bufferViews/{v}/byteStride"))
            .and_then(Value::as_u64)
            .map_or(elem, |s| s as usize)
            .max(elem);
        let offset = index(a, "byteOffset").unwrap_or(0);
        let need = if count == 0 {
            0
        } else {
            offset
                .saturating_add((count - 1).saturating_mul(stride))
                .saturating_add(elem)
        };
        if need > bytes.len() {
            return Err(format!(
                "{at}: {count} elements of {elem} bytes (stride {stride}, offset {offset}) need {need} bytes, bufferView {v} has {}",
                bytes.len()
            ));
        }
        Ok(Some(Layout {
            bytes: &bytes[offset..],
            count,
            comps,
            kind,
            stride,
        }))
    }

    /// Accessor `i`'s JSON with its name for messages and its element count (bounded).
    fn accessor(&self, i: usize) -> Res<(String, &Value, usize)> {
        let at = format!("accessor {i}");
        let a = array(&self.json, "accessors").get(i).ok_or_else(|| {
            format!(
                "{at} is named, the file has {} accessors",
                array(&self.json, "accessors").len()
            )
        })?;
        let count = index(a, "count").unwrap_or(0);
        if count > MAX_COUNT {
            return Err(format!("{at}: count {count} exceeds {MAX_COUNT}"));
        }
        Ok((at, a, count))
    }

    /// Accessor `i` as floats, `comps` per element (its type), with its sparse substitution applied.
    pub fn floats(&self, i: usize) -> Res<(Vec<f32>, usize)> {
        let (at, a, count) = self.accessor(i)?;
        let kind = a.get("componentType").and_then(Value::as_u64).unwrap_or(0);
        if component_size(kind).is_none() {
            return Err(format!(
                "{at}: componentType {kind} is not a glTF component type"
            ));
        }
        let ty = a.get("type").and_then(Value::as_str).unwrap_or("");
        let comps = components(ty).ok_or_else(|| {
            format!("{at}: type '{ty}', expected SCALAR, VEC2, VEC3, VEC4 or MAT4")
        })?;
        let normalized = a
            .get("normalized")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let csize = component_size(kind).unwrap_or(4);
        // The layout is checked against the view's bytes before anything is allocated; an
        // accessor without a view (zeros, perhaps with sparse values) is held to MAX_ZEROS.
        let layout = self.layout(a, &at, count, comps, kind)?;
        if layout.is_none() && count > MAX_ZEROS {
            return Err(format!(
                "{at}: {count} elements without a bufferView (at most {MAX_ZEROS})"
            ));
        }
        let mut out = vec![0.0f32; count * comps];
        if let Some(l) = layout {
            for e in 0..count {
                let el = l.element(e);
                for c in 0..comps {
                    out[e * comps + c] = component(&el[c * csize..], kind, normalized);
                }
            }
        }
        if let Some(s) = a.get("sparse") {
            let n = index(s, "count").unwrap_or(0).min(count);
            let idx = s
                .get("indices")
                .ok_or_else(|| format!("{at}: sparse without indices"))?;
            let ik = idx
                .get("componentType")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            let il = self
                .layout(idx, &format!("{at} sparse indices"), n, 1, ik)?
                .ok_or_else(|| format!("{at}: sparse indices without a bufferView"))?;
            let vals = s
                .get("values")
                .ok_or_else(|| format!("{at}: sparse without values"))?;
            let vl = self
                .layout(vals, &format!("{at} sparse values"), n, comps, kind)?
                .ok_or_else(|| format!("{at}: sparse values without a bufferView"))?;
            for k in 0..il.count {
                let target = integer(il.element(k), ik) as usize;
                if target >= count {
                    return Err(format!(
                        "{at}: sparse index {target} past its {count} elements"
                    ));
                }
                let el = vl.element(k);
                for c in 0..comps {
                    out[target * comps + c] = component(&el[c * csize..], kind, normalized);
                }
            }
        }
        Ok((out, comps))
    }

    /// Accessor `i` as `N`-component elements (an error if its type has another size).
    pub fn vecs<const N: usize>(&self, i: usize) -> Res<Vec<[f32; N]>> {
        let (flat, comps) = self.floats(i)?;
        if comps != N {
            return Err(format!(
                "accessor {i} has {comps} components per element, expected {N}"
            ));
        }
        Ok(flat
            .chunks_exact(N)
            .map(|c| {
                let mut a = [0.0; N];
                a.copy_from_slice(c);
                a
            })
            .collect())
    }

    /// Accessor `i` as unsigned integers (indices, joint numbers), read exactly.
    pub fn integers(&self, i: usize) -> Res<(Vec<u32>, usize)> {
        let (at, a, count) = self.accessor(i)?;
        let kind = a.get("componentType").and_then(Value::as_u64).unwrap_or(0);
        if !matches!(kind, 5121 | 5123 | 5125) {
            return Err(format!("{at}: componentType {kind}, expected an unsigned integer type (5121, 5123 or 5125)"));
        }
        let ty = a.get("type").and_then(Value::as_str).unwrap_or("");
        let comps = components(ty)
            .ok_or_else(|| format!("{at}: type '{ty}' is not a glTF accessor type"))?;
        let csize = component_size(kind).unwrap_or(4);
        // The layout is checked against the view's bytes before anything is allocated; an
        // accessor without a view (zeros, perhaps with sparse values) is held to MAX_ZEROS.
        let layout = self.layout(a, &at, count, comps, kind)?;
        if layout.is_none() && count > MAX_ZEROS {
            return Err(format!(
                "{at}: {count} elements without a bufferView (at most {MAX_ZEROS})"
            ));
        }
        let mut out = vec![0u32; count * comps];
        if let Some(l) = layout {
            for e in 0..count {
                let el = l.element(e);
                for c in 0..comps {
                    out[e * comps + c] = integer(&el[c * csize..], kind);
                }
            }
        }
        if a.get("sparse").is_some() {
            // Sparse integer accessors: read through the float path (exact below 2^24).
            let (f, _) = self.floats(i)?;
            out = f.into_iter().map(|x| x.max(0.0) as u32).collect();
        }
        Ok((out, comps))
    }

    /// Every image decoded to RGBA8; an image that cannot be read or decoded is an error naming it.
    pub fn images(&self, path: &Path) -> Res<Vec<RgbaImage>> {
        let mut out = Vec::new();
        for (i, img) in array(&self.json, "images").iter().enumerate() {
            let bytes = if let Some(v) = index(img, "bufferView") {
                self.view(v).map_err(|e| format!("image {i} {e}"))?.to_vec()
            } else if let Some(uri) = img.get("uri").and_then(Value::as_str) {
                uri_bytes(path, uri).map_err(|e| format!("image {i}: {e}"))?
            } else {
                return Err(format!(
                    "image {i} needs a uri, or a bufferView with a mimeType"
                ));
            };
            // The format is read from the bytes (PNG, JPEG, WebP), whatever mimeType says.
            let decoded = image::load_from_memory(&bytes).map_err(|e| {
                format!(
                    "image {i} ({}) cannot be decoded: {e}",
                    img.get("mimeType")
                        .and_then(Value::as_str)
                        .unwrap_or("no mimeType")
                )
            })?;
            out.push(decoded.to_rgba8());
        }
        Ok(out)
    }

    /// The image texture `t` shows: its `EXT_texture_webp` source when it has one, else `source`.
    pub fn texture_image(&self, t: usize) -> Option<usize> {
        let tex = array(&self.json, "textures").get(t)?;
        tex.pointer("/extensions/EXT_texture_webp/source")
            .and_then(Value::as_u64)
            .map(|i| i as usize)
            .or_else(|| index(tex, "source"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalized_components_follow_the_gltf_formulas() {
        assert_eq!(component(&[127], 5120, true), 1.0);
        assert_eq!(component(&[0x80], 5120, true), -1.0);
        assert_eq!(component(&[255], 5121, true), 1.0);
        assert_eq!(component(&[0xff, 0x7f], 5122, true), 1.0);
        assert_eq!(component(&[0x00, 0x80], 5122, true), -1.0);
        assert_eq!(component(&[0x00, 0x80], 5122, false), -32768.0);
        assert_eq!(component(&[0xff, 0xff], 5123, true), 1.0);
        assert_eq!(integer(&[1, 2, 0, 0], 5125), 0x0201);
    }

    #[test]
    fn base64_decodes() {
        assert_eq!(base64("aGVsbG8=").unwrap(), b"hello");
        assert!(base64("a*b").is_err());
        assert_eq!(percent_decode("a%20b.bin"), "a b.bin");
    }
}
