//! `EXT_meshopt_compression` buffer views, decoded as the extension's specification describes
//! (KhronosGroup/glTF `extensions/2.0/Vendor/EXT_meshopt_compression/README.md`, "Format
//! specification"): `ATTRIBUTES` (vertex codec, version 0: per-byte zigzag deltas in groups of 16
//! of 0/2/4/8 bits), `TRIANGLES` (index codec, versions 0 and 1: edge and vertex FIFOs plus
//! varint-coded free indices) and `INDICES` (varint deltas), then the filters `OCTAHEDRAL`,
//! `QUATERNION` and `EXPONENTIAL`. Every read is bounds-checked: a damaged stream is an error.

use serde_json::Value;

use super::gltf::{index, Res};

/// The decoded bytes of a buffer view with the extension object `ext` (`count` elements of
/// `byteStride` bytes), reading the compressed bytes from `buffers`.
pub fn decode_view(ext: &Value, buffers: &[Vec<u8>]) -> Res<Vec<u8>> {
    let b = index(ext, "buffer").unwrap_or(usize::MAX);
    let buffer = buffers
        .get(b)
        .ok_or_else(|| format!("names buffer {b}, the file has {}", buffers.len()))?;
    let start = index(ext, "byteOffset").unwrap_or(0);
    let len = index(ext, "byteLength").unwrap_or(0);
    let data = start
        .checked_add(len)
        .and_then(|end| buffer.get(start..end))
        .ok_or_else(|| format!("compressed bytes {start}..+{len} lie past buffer {b}"))?;
    let count = index(ext, "count").unwrap_or(0);
    let stride = index(ext, "byteStride").unwrap_or(0);
    if stride == 0 || stride > 256 || count > 1 << 25 {
        return Err(format!("byteStride {stride} / count {count} out of range"));
    }
    let mode = ext.get("mode").and_then(Value::as_str).unwrap_or("");
    let mut out = match mode {
        "ATTRIBUTES" => {
            if stride % 4 != 0 {
                return Err(format!(
                    "ATTRIBUTES byteStride {stride} is not a multiple of 4"
                ));
            }
            decode_vertices(data, count, stride)?
        }
        "TRIANGLES" => widen(&decode_triangles(data, count)?, stride)?,
        "INDICES" => widen(&decode_indices(data, count)?, stride)?,
        _ => {
            return Err(format!(
                "mode '{mode}', expected ATTRIBUTES, TRIANGLES or INDICES"
            ))
        }
    };
    match ext.get("filter").and_then(Value::as_str).unwrap_or("NONE") {
        "NONE" => {}
        "OCTAHEDRAL" => octahedral(&mut out, stride)?,
        "QUATERNION" => quaternion(&mut out, stride)?,
        "EXPONENTIAL" => exponential(&mut out, stride)?,
        f => {
            return Err(format!(
                "filter '{f}', expected NONE, OCTAHEDRAL, QUATERNION or EXPONENTIAL"
            ))
        }
    }
    Ok(out)
}

/// Indices as little-endian integers of `stride` bytes (2 or 4).
fn widen(indices: &[u32], stride: usize) -> Res<Vec<u8>> {
    match stride {
        2 => Ok(indices
            .iter()
            .flat_map(|&i| (i as u16).to_le_bytes())
            .collect()),
        4 => Ok(indices.iter().flat_map(|&i| i.to_le_bytes()).collect()),
        _ => Err(format!("index byteStride {stride}, expected 2 or 4")),
    }
}

/// A bounds-checked reader.
struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Res<u8> {
        let b = *self
            .data
            .get(self.at)
            .ok_or("the compressed stream ends early")?;
        self.at += 1;
        Ok(b)
    }

    fn bytes(&mut self, n: usize) -> Res<&[u8]> {
        let s = self
            .data
            .get(self.at..self.at + n)
            .ok_or("the compressed stream ends early")?;
        self.at += n;
        Ok(s)
    }

    /// A little-endian base-128 integer (up to 5 bytes).
    fn varint(&mut self) -> Res<u32> {
        let mut result = 0u32;
        for shift in (0..35).step_by(7) {
            let b = self.byte()?;
            result |= u32::from(b & 127) << shift;
            if b < 128 {
                break;
            }
        }
        Ok(result)
    }
}

fn unzigzag8(v: u8) -> u8 {
    (v >> 1) ^ (v & 1).wrapping_neg()
}

fn unzigzag32(v: u32) -> u32 {
    (v >> 1) ^ (v & 1).wrapping_neg()
}

/// One group of 16 byte deltas of `bits` bits (0, 2, 4 or 8); a value with all bits set is
/// followed by its full byte after the packed group.
fn byte_group(r: &mut Reader, bits: u32, out: &mut [u8; 16]) -> Res<()> {
    match bits {
        0 => *out = [0; 16],
        8 => out.copy_from_slice(r.bytes(16)?),
        _ => {
            let packed = r.bytes(2 * bits as usize)?.to_vec();
            let max = (1u8 << bits) - 1;
            let per_byte = 8 / bits as usize;
            for (i, o) in out.iter_mut().enumerate() {
                let byte = packed[i / per_byte];
                // Highest bits first.
                let shift = 8 - bits as usize * (i % per_byte + 1);
                let v = (byte >> shift) & max;
                *o = if v == max { r.byte()? } else { v };
            }
        }
    }
    Ok(())
}

/// The vertex codec (`ATTRIBUTES`, header 0xA0).
fn decode_vertices(data: &[u8], count: usize, stride: usize) -> Res<Vec<u8>> {
    let header = *data.first().ok_or("empty stream")?;
    if header != 0xA0 {
        return Err(format!(
            "vertex stream header 0x{header:02X}, expected 0xA0 (version 0)"
        ));
    }
    let tail = stride.max(32);
    if data.len() < 1 + tail {
        return Err("vertex stream shorter than its tail".into());
    }
    let body_end = data.len() - tail;
    // The densest encoding (all-zero groups) still takes 2 header bits per 16 bytes of output:
    // a count beyond that is a damaged file, refused before the output is allocated.
    if count.saturating_mul(stride) > body_end.saturating_mul(64) + 64 * 16 {
        return Err(format!(
            "{count} vertices of {stride} bytes cannot come from {body_end} compressed bytes"
        ));
    }
    let mut last: Vec<u8> = data[data.len() - stride..].to_vec();
    let mut r = Reader {
        data: &data[..body_end],
        at: 1,
    };
    let block = ((8192 / stride) & !15).min(256);
    let mut out = vec![0u8; count * stride];
    let mut deltas = vec![0u8; block.max(16)];
    let mut first = 0;
    while first < count {
        let n = block.min(count - first);
        let groups = n.div_ceil(16);
        for k in 0..stride {
            let header = r.bytes(groups.div_ceil(4))?.to_vec();
            for g in 0..groups {
                // Two bits per group, lowest bits first.
                let bits = [0, 2, 4, 8][usize::from((header[g / 4] >> ((g % 4) * 2)) & 3)];
                let mut group = [0u8; 16];
                byte_group(&mut r, bits, &mut group)?;
                deltas[g * 16..g * 16 + 16].copy_from_slice(&group);
            }
            let mut p = last[k];
            for (i, d) in deltas.iter().take(n).enumerate() {
                p = p.wrapping_add(unzigzag8(*d));
                out[(first + i) * stride + k] = p;
            }
        }
        last.copy_from_slice(&out[(first + n - 1) * stride..(first + n) * stride]);
        first += n;
    }
    if r.at != body_end {
        return Err(format!(
            "{} bytes left before the vertex stream's tail",
            body_end - r.at
        ));
    }
    Ok(out)
}

/// The triangle index codec (`TRIANGLES`, header 0xE0 or 0xE1).
fn decode_triangles(data: &[u8], count: usize) -> Res<Vec<u32>> {
    if count % 3 != 0 {
        return Err(format!("TRIANGLES count {count} is not a multiple of 3"));
    }
    let header = *data.first().ok_or("empty stream")?;
    if header & 0xF0 != 0xE0 || header & 0x0F > 1 {
        return Err(format!(
            "index stream header 0x{header:02X}, expected 0xE0 or 0xE1"
        ));
    }
    let version = header & 0x0F;
    let tris = count / 3;
    if data.len() < 1 + tris + 16 {
        return Err("index stream shorter than its codes and table".into());
    }
    let codes = &data[1..1 + tris];
    let aux_table = &data[data.len() - 16..];
    let mut r = Reader {
        data: &data[..data.len() - 16],
        at: 1 + tris,
    };
    let mut edges = [(u32::MAX, u32::MAX); 16];
    let mut verts = [u32::MAX; 16];
    let (mut eo, mut vo) = (0usize, 0usize);
    let (mut next, mut last) = (0u32, 0u32);
    let fecmax = if version >= 1 { 13 } else { 15 };
    let mut out = Vec::with_capacity(count);
    let push_v = |verts: &mut [u32; 16], vo: &mut usize, v: u32, cond: bool| {
        verts[*vo] = v;
        *vo = (*vo + usize::from(cond)) & 15;
    };
    let push_e = |edges: &mut [(u32, u32); 16], eo: &mut usize, a: u32, b: u32| {
        edges[*eo] = (a, b);
        *eo = (*eo + 1) & 15;
    };
    for &code in codes {
        if code < 0xF0 {
            let fe = usize::from(code >> 4);
            let (a, b) = edges[(eo + 15 - fe) & 15];
            let fec = usize::from(code & 15);
            if fec < fecmax {
                let c = if fec == 0 {
                    next
                } else {
                    verts[(vo + 15 - fec) & 15]
                };
                if fec == 0 {
                    next = next.wrapping_add(1);
                }
                out.extend_from_slice(&[a, b, c]);
                push_v(&mut verts, &mut vo, c, fec == 0);
                push_e(&mut edges, &mut eo, c, b);
                push_e(&mut edges, &mut eo, a, c);
            } else {
                let c = if fec != 15 {
                    // 13 and 14: the last free index minus or plus one.
                    if fec == 13 {
                        last.wrapping_sub(1)
                    } else {
                        last.wrapping_add(1)
                    }
                } else {
                    last.wrapping_add(unzigzag32(r.varint()?))
                };
                last = c;
                out.extend_from_slice(&[a, b, c]);
                push_v(&mut verts, &mut vo, c, true);
                push_e(&mut edges, &mut eo, c, b);
                push_e(&mut edges, &mut eo, a, c);
            }
        } else if code < 0xFE {
            let aux = aux_table[usize::from(code & 15)];
            let (feb, fec) = (usize::from(aux >> 4), usize::from(aux & 15));
            let a = next;
            next = next.wrapping_add(1);
            let b = if feb == 0 {
                next
            } else {
                verts[(vo + 16 - feb) & 15]
            };
            if feb == 0 {
                next = next.wrapping_add(1);
            }
            let c = if fec == 0 {
                next
            } else {
                verts[(vo + 16 - fec) & 15]
            };
            if fec == 0 {
                next = next.wrapping_add(1);
            }
            out.extend_from_slice(&[a, b, c]);
            push_v(&mut verts, &mut vo, a, true);
            push_v(&mut verts, &mut vo, b, feb == 0);
            push_v(&mut verts, &mut vo, c, fec == 0);
            push_e(&mut edges, &mut eo, b, a);
            push_e(&mut edges, &mut eo, c, b);
            push_e(&mut edges, &mut eo, a, c);
        } else {
            let aux = r.byte()?;
            let fea = if code == 0xFE { 0 } else { 15 };
            let (feb, fec) = (usize::from(aux >> 4), usize::from(aux & 15));
            if aux == 0 {
                next = 0;
            }
            let mut take = |fe: usize| -> u32 {
                if fe == 0 {
                    let v = next;
                    next = next.wrapping_add(1);
                    v
                } else {
                    verts[(vo + 16 - fe) & 15]
                }
            };
            let mut a = if fea == 0 { take(0) } else { 0 };
            let mut b = take(feb);
            let mut c = take(fec);
            if fea == 15 {
                a = last.wrapping_add(unzigzag32(r.varint()?));
                last = a;
            }
            if feb == 15 {
                b = last.wrapping_add(unzigzag32(r.varint()?));
                last = b;
            }
            if fec == 15 {
                c = last.wrapping_add(unzigzag32(r.varint()?));
                last = c;
            }
            out.extend_from_slice(&[a, b, c]);
            push_v(&mut verts, &mut vo, a, true);
            push_v(&mut verts, &mut vo, b, feb == 0 || feb == 15);
            push_v(&mut verts, &mut vo, c, fec == 0 || fec == 15);
            push_e(&mut edges, &mut eo, b, a);
            push_e(&mut edges, &mut eo, c, b);
            push_e(&mut edges, &mut eo, a, c);
        }
    }
    Ok(out)
}

/// The index sequence codec (`INDICES`, header 0xD0 or 0xD1): two interleaved delta chains.
fn decode_indices(data: &[u8], count: usize) -> Res<Vec<u32>> {
    let header = *data.first().ok_or("empty stream")?;
    if header & 0xF0 != 0xD0 || header & 0x0F > 1 {
        return Err(format!(
            "index sequence header 0x{header:02X}, expected 0xD0 or 0xD1"
        ));
    }
    // Each index takes at least one byte.
    if data.len() < 1 + 4 + count {
        return Err("index sequence shorter than its indices and tail".into());
    }
    let mut r = Reader {
        data: &data[..data.len() - 4],
        at: 1,
    };
    let mut last = [0u32; 2];
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let v = r.varint()?;
        let chain = (v & 1) as usize;
        let index = last[chain].wrapping_add(unzigzag32(v >> 1));
        last[chain] = index;
        out.push(index);
    }
    Ok(out)
}

fn i16_at(d: &[u8], at: usize) -> f32 {
    f32::from(i16::from_le_bytes([d[at], d[at + 1]]))
}

/// Octahedral normals/tangents: x, y and the "one" value packed in 8 or 16-bit components.
fn octahedral(d: &mut [u8], stride: usize) -> Res<()> {
    let (size, max) = match stride {
        4 => (1, 127.0f32),
        8 => (2, 32767.0f32),
        _ => return Err(format!("OCTAHEDRAL byteStride {stride}, expected 4 or 8")),
    };
    for e in d.chunks_exact_mut(stride) {
        let get = |k: usize| {
            if size == 1 {
                f32::from(e[k] as i8)
            } else {
                i16_at(e, 2 * k)
            }
        };
        let (mut x, mut y, one) = (get(0), get(1), get(2));
        let z = one - x.abs() - y.abs();
        let t = z.min(0.0);
        x += if x >= 0.0 { t } else { -t };
        y += if y >= 0.0 { t } else { -t };
        let l = (x * x + y * y + z * z).sqrt().max(1e-12);
        let s = max / l;
        let v = [x * s, y * s, z * s].map(|c| c.round());
        for (k, c) in v.into_iter().enumerate() {
            if size == 1 {
                e[k] = c as i8 as u8;
            } else {
                e[2 * k..2 * k + 2].copy_from_slice(&(c as i16).to_le_bytes());
            }
        }
    }
    Ok(())
}

/// Quaternions: three 16-bit components scaled by the largest one's index and scale, which is
/// rebuilt.
fn quaternion(d: &mut [u8], stride: usize) -> Res<()> {
    if stride != 8 {
        return Err(format!("QUATERNION byteStride {stride}, expected 8"));
    }
    for e in d.chunks_exact_mut(8) {
        let w_raw = i16::from_le_bytes([e[6], e[7]]);
        let sf = i32::from(w_raw) | 3;
        let ss = std::f32::consts::FRAC_1_SQRT_2 / sf as f32;
        let (x, y, z) = (i16_at(e, 0) * ss, i16_at(e, 2) * ss, i16_at(e, 4) * ss);
        let w = (1.0 - x * x - y * y - z * z).max(0.0).sqrt();
        let q = |c: f32| ((c * 32767.0).round() as i16).to_le_bytes();
        let qc = (w_raw & 3) as usize;
        let vals = [(qc + 1) & 3, (qc + 2) & 3, (qc + 3) & 3, qc];
        for (slot, v) in vals.into_iter().zip([x, y, z, w]) {
            e[2 * slot..2 * slot + 2].copy_from_slice(&q(v));
        }
    }
    Ok(())
}

/// Floats as a 24-bit signed mantissa and an 8-bit signed exponent.
fn exponential(d: &mut [u8], stride: usize) -> Res<()> {
    if stride % 4 != 0 {
        return Err(format!(
            "EXPONENTIAL byteStride {stride} is not a multiple of 4"
        ));
    }
    for e in d.chunks_exact_mut(4) {
        let v = i32::from_le_bytes([e[0], e[1], e[2], e[3]]);
        let exp = v >> 24;
        let mantissa = (v << 8) >> 8;
        let f = mantissa as f32 * 2f32.powi(exp);
        e.copy_from_slice(&f.to_le_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_zigzag_decode() {
        let mut r = Reader {
            data: &[0x7F, 0x80, 0x01, 0xFF, 0xFF, 0x03],
            at: 0,
        };
        assert_eq!(r.varint().unwrap(), 127);
        assert_eq!(r.varint().unwrap(), 128);
        assert_eq!(r.varint().unwrap(), 0xFFFF);
        assert_eq!(unzigzag8(1), 0xFF);
        assert_eq!(unzigzag8(2), 1);
        assert_eq!(unzigzag32(3), u32::MAX - 1);
        assert!(r.byte().is_err());
    }

    /// Streams encoded, and decoded for reference, by meshoptimizer's own encoder and decoder (npm
    /// `meshoptimizer` 1.3.0: `MeshoptEncoder.encodeFilterQuat/Exp/Oct` then `encodeGltfBuffer`,
    /// and `MeshoptDecoder.decodeGltfBuffer`): (name, count, stride, mode, filter, stream, output).
    const REFERENCE: [(&str, usize, usize, &str, &str, &str, &str); 5] = [
        (
            "quat",
            4,
            8,
            "ATTRIBUTES",
            "QUATERNION",
            "a0013f000000b1d421013f0000000a0503013f000000b1f43f01370000000a17013f000000b1e963013b0000000a0b013f00000005060500000000000000000000000000000000000000000000000000000000000000ff07",
            "000000000000ff7f0f40fa3ffa3ffa3f6417bc2e2046755d825a00007ea50000",
        ),
        (
            "exp",
            2,
            12,
            "ATTRIBUTES",
            "EXPONENTIAL",
            "a0013000000027000001300000000f0130000000d0013000000066012000000001300000000f0130000000fc01300000008b011000000001300000000f0000000000000000000000000000000000000000180000fcdcfffffc823e00fc",
            "0000c03f000010c000087a440000803a00104940000000bf",
        ),
        (
            "oct16",
            3,
            8,
            "ATTRIBUTES",
            "OCTAHEDRAL",
            "a0013c000000acaa013c0000000d0c013c000000a9a7013c0000000619000000000000000000000000000000000000000000000000000000005501aa02ff07ff7f",
            "30226044a966ff7f23b6dd4907b6ff7f000001800000ff7f",
        ),
        (
            "indices",
            12,
            4,
            "INDICES",
            "NONE",
            "d100040400020891030808b188110e0400000000",
            "000000000100000002000000020000000100000003000000640000000500000007000000701101000300000004000000",
        ),
        (
            "triangles",
            300,
            4,
            "TRIANGLES",
            "NONE",
            "e1fefffffffffffffffffffffffefffffffffffffffffffffffefffffffffffffffffffffffefffffffffffffffffffffffefffffffffffffffffffffffefffffffffffffffffffffffefffffffffffffffffffffffefffffffffffffffffffffffeffffffff7e43ff784343ff784343ff784343ff78437eff49437eff49437eff49437eff497e43ff497e43ff497e43ff497e43ff3443ff784343ff784343ff784343ff78437eff49437eff49437eff49437eff497e43ff497e43ff497e43ff497e43ff3443ff784343ff784343ff784343ff78437eff49437eff49437eff49437eff49437eff497e43ff497e43ff497e43ff3443ff784343ff784343ff784343ff78437eff49437eff49437eff49437eff49437eff497e43ff497e43ff497e43ff3443ff784343ff784343ff784343ff78437eff49437eff49437eff49437eff49437eff497e43ff497e43ff497e43ff3443ff784343ff784343ff784343ff784343ff78437eff49437eff49437eff49437eff497e43ff497e43ff497e43ff3443ff784343ff784343ff784343ff784343ff78437eff49437eff49437eff49437eff497e43ff497e43ff497e43ff3443ff784343ff784343ff784343ff784343ff78437eff49437eff49437eff49437eff497e43ff497e43ff497e43ff3443ff497e43ff784343ff784343007687566778a9866589689801690000",
            "000000003f0000001d000000590000003700000015000000510000002f0000000d000000490000002700000005000000410000001f0000005e000000390000001700000056000000310000000f0000004e00000029000000070000004600000021000000600000003e00000019000000580000003600000011000000500000002e00000009000000480000002600000001000000400000001e0000005a000000380000001600000052000000300000000e0000004a000000280000000600000042000000200000005f0000003a000000180000005700000032000000100000004f0000002a000000080000004700000022000000610000003f0000001a000000590000003700000012000000510000002f0000000a000000490000002700000002000000410000001f0000005b000000390000001700000053000000310000000f0000004b00000029000000070000004300000021000000600000003b00000019000000580000003300000011000000500000002b00000009000000480000002300000001000000400000001b0000005a000000380000001300000052000000300000000b0000004a000000280000000300000042000000200000005c0000003a000000180000005400000032000000100000004c0000002a000000080000004400000022000000610000003c0000001a000000590000003400000012000000510000002c0000000a000000490000002400000002000000410000001c0000005b000000390000001400000053000000310000000c0000004b000000290000000400000043000000210000005d0000003b000000190000005500000033000000110000004d0000002b000000090000004500000023000000620000003d0000001b0000005a0000003500000013000000520000002d0000000b0000004a0000002500000003000000420000001d0000005c0000003a0000001500000054000000320000000d0000004c0000002a0000000500000044000000220000005e0000003c0000001a0000005600000034000000120000004e0000002c0000000a0000004600000024000000020000003e0000001c0000005b0000003600000014000000530000002e0000000c0000004b0000002600000004000000430000001e0000005d0000003b0000001600000055000000330000000e0000004d0000002b0000000600000045000000230000005f0000003d0000001b0000005700000035000000130000004f0000002d0000000b0000004700000025000000030000003f0000001d0000005c0000003700000015000000540000002f0000000d0000004c0000002700000005000000440000001f0000005e0000003c0000001700000056000000340000000f0000004e0000002c000000070000004600000024000000600000003e0000001c000000580000003600000014000000500000002e0000000c000000480000002600000004000000400000001e0000005d000000380000001600000055000000300000000e0000004d000000280000000600000045000000200000005f0000003d000000180000005700000035000000100000004f0000002d000000080000004700000025000000000000003f0000001d000000590000003700000015000000510000002f0000000d000000",
        ),
    ];

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn streams_and_filters_decode_as_meshoptimizer_does() {
        for (name, count, stride, mode, filter, stream, output) in REFERENCE {
            let data = unhex(stream);
            let ext = serde_json::json!({
                "buffer": 0, "byteLength": data.len(), "byteStride": stride,
                "count": count, "mode": mode, "filter": filter
            });
            let got = decode_view(&ext, &[data]).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(got, unhex(output), "{name}");
        }
    }

    #[test]
    fn damaged_streams_are_errors() {
        let (_, count, stride, mode, filter, stream, _) = REFERENCE[4];
        let data = unhex(stream);
        for cut in [1, data.len() / 2, data.len() - 1] {
            let short = data[..cut].to_vec();
            let ext = serde_json::json!({
                "buffer": 0, "byteLength": short.len(), "byteStride": stride,
                "count": count, "mode": mode, "filter": filter
            });
            assert!(decode_view(&ext, &[short]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn exponential_filter_rebuilds_floats() {
        // mantissa 3, exponent -1 -> 1.5
        let mut d = ((-1i32 << 24) | 3).to_le_bytes().to_vec();
        exponential(&mut d, 4).unwrap();
        assert_eq!(f32::from_le_bytes([d[0], d[1], d[2], d[3]]), 1.5);
    }
}
