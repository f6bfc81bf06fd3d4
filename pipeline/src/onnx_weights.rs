//! Reads the weights (initializers), metadata and node list of an ONNX file without ONNX Runtime, so
//! GPU kernels can run a network from the same file the ONNX path loads (`ort` does not expose
//! initializers).
//!
//! An ONNX file is a protobuf `ModelProto`. Only the fields needed here are decoded; every other field
//! is skipped by its wire type, so files from any exporter parse. The field numbers are those of
//! `onnx/onnx.proto` (ONNX 1.x):
//!
//! ```text
//! ModelProto      7 graph (GraphProto)          14 metadata_props (StringStringEntryProto)
//! GraphProto      1 node (NodeProto)            5 initializer (TensorProto)
//! NodeProto       1 input  2 output  3 name  4 op_type
//! TensorProto     1 dims (int64, packed or not) 2 data_type  4 float_data (packed or not)
//!                 8 name  9 raw_data (little-endian)  14 data_location (1 = external)
//! StringStringEntryProto  1 key  2 value
//! ```
//!
//! Only float32 tensors (data_type 1) stored inside the file are decoded; others are listed with their
//! shape and no values, so a caller asking for them gets a clear error.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// One initializer: a named constant tensor of the graph.
#[derive(Clone, Debug, PartialEq)]
pub struct Initializer {
    pub name: String,
    pub dims: Vec<usize>,
    /// ONNX `TensorProto.DataType` (1 = float32).
    pub data_type: i32,
    /// The values for float32 tensors held in the file; empty otherwise.
    pub data: Vec<f32>,
}

/// A graph node: its operator and the names of its inputs and outputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub op_type: String,
    pub name: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
}

/// What [`OnnxFile::read`] decodes from a model.
#[derive(Clone, Debug, Default)]
pub struct OnnxFile {
    pub path: PathBuf,
    pub initializers: Vec<Initializer>,
    pub nodes: Vec<Node>,
    /// `metadata_props` key/value pairs, in file order.
    pub metadata: Vec<(String, String)>,
}

/// A protobuf decoding problem, with the byte offset where it happened.
#[derive(Debug)]
struct Malformed(String);

type Parse<T> = std::result::Result<T, Malformed>;

/// A cursor over protobuf bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

/// One field's payload.
enum Value<'a> {
    Varint(u64),
    Fixed64,
    Bytes(&'a [u8]),
    Fixed32(u32),
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    fn varint(&mut self) -> Parse<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.bytes.get(self.pos) else {
                return Err(Malformed(format!(
                    "varint runs past the end at byte {}",
                    self.pos
                )));
            };
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Malformed(format!(
            "varint longer than 10 bytes at byte {}",
            self.pos
        )))
    }

    fn take(&mut self, len: usize) -> Parse<&'a [u8]> {
        let end = self.pos.checked_add(len).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(Malformed(format!(
                "a field of {len} bytes at byte {} runs past the end ({} bytes)",
                self.pos,
                self.bytes.len()
            )));
        };
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    /// The next field as (number, value), or `None` at the end.
    fn field(&mut self) -> Parse<Option<(u64, Value<'a>)>> {
        if self.pos >= self.bytes.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = key >> 3;
        let value = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Value::Fixed64
            }
            2 => {
                let len = usize::try_from(self.varint()?)
                    .map_err(|_| Malformed("length does not fit in memory".to_string()))?;
                Value::Bytes(self.take(len)?)
            }
            5 => {
                let b = self.take(4)?;
                Value::Fixed32(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }
            other => {
                return Err(Malformed(format!(
                    "wire type {other} (field {number}) at byte {} is not valid protobuf",
                    self.pos
                )))
            }
        };
        Ok(Some((number, value)))
    }
}

fn string(bytes: &[u8]) -> Parse<String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| Malformed("a string is not UTF-8".to_string()))
}

fn model(bytes: &[u8], out: &mut OnnxFile) -> Parse<()> {
    let mut r = Reader::new(bytes);
    while let Some((number, value)) = r.field()? {
        match (number, value) {
            (7, Value::Bytes(b)) => graph(b, out)?,
            (14, Value::Bytes(b)) => {
                let mut entry = Reader::new(b);
                let (mut key, mut val) = (String::new(), String::new());
                while let Some((n, v)) = entry.field()? {
                    match (n, v) {
                        (1, Value::Bytes(s)) => key = string(s)?,
                        (2, Value::Bytes(s)) => val = string(s)?,
                        _ => {}
                    }
                }
                out.metadata.push((key, val));
            }
            _ => {}
        }
    }
    Ok(())
}

fn graph(bytes: &[u8], out: &mut OnnxFile) -> Parse<()> {
    let mut r = Reader::new(bytes);
    while let Some((number, value)) = r.field()? {
        match (number, value) {
            (1, Value::Bytes(b)) => out.nodes.push(node(b)?),
            (5, Value::Bytes(b)) => out.initializers.push(tensor(b)?),
            _ => {}
        }
    }
    Ok(())
}

fn node(bytes: &[u8]) -> Parse<Node> {
    let mut n = Node {
        op_type: String::new(),
        name: String::new(),
        inputs: Vec::new(),
        outputs: Vec::new(),
    };
    let mut r = Reader::new(bytes);
    while let Some((number, value)) = r.field()? {
        match (number, value) {
            (1, Value::Bytes(b)) => n.inputs.push(string(b)?),
            (2, Value::Bytes(b)) => n.outputs.push(string(b)?),
            (3, Value::Bytes(b)) => n.name = string(b)?,
            (4, Value::Bytes(b)) => n.op_type = string(b)?,
            _ => {}
        }
    }
    Ok(n)
}

/// Decodes a TensorProto. Repeated scalars may come packed (one length-delimited field) or one per
/// field; both are accepted, as protobuf requires.
fn tensor(bytes: &[u8]) -> Parse<Initializer> {
    let mut t = Initializer {
        name: String::new(),
        dims: Vec::new(),
        data_type: 0,
        data: Vec::new(),
    };
    let mut raw: Option<&[u8]> = None;
    let mut external = false;
    let mut r = Reader::new(bytes);
    let dim = |v: u64| {
        usize::try_from(v).map_err(|_| Malformed(format!("dimension {v} does not fit in memory")))
    };
    while let Some((number, value)) = r.field()? {
        match (number, value) {
            (1, Value::Varint(v)) => t.dims.push(dim(v)?),
            (1, Value::Bytes(b)) => {
                let mut packed = Reader::new(b);
                while packed.pos < b.len() {
                    t.dims.push(dim(packed.varint()?)?);
                }
            }
            (2, Value::Varint(v)) => t.data_type = v as i32,
            (4, Value::Fixed32(v)) => t.data.push(f32::from_bits(v)),
            (4, Value::Bytes(b)) => {
                if b.len() % 4 != 0 {
                    return Err(Malformed(
                        "packed float_data is not a multiple of 4 bytes".into(),
                    ));
                }
                t.data.extend(
                    b.chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                );
            }
            (8, Value::Bytes(b)) => t.name = string(b)?,
            (9, Value::Bytes(b)) => raw = Some(b),
            (14, Value::Varint(1)) => external = true,
            _ => {}
        }
    }
    if t.data_type != 1 || external {
        t.data.clear();
        return Ok(t);
    }
    if let Some(b) = raw {
        if b.len() % 4 != 0 {
            return Err(Malformed(format!(
                "tensor '{}': raw_data of {} bytes is not float32",
                t.name,
                b.len()
            )));
        }
        t.data = b
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
    }
    let count: usize = t.dims.iter().product();
    if t.data.len() != count {
        return Err(Malformed(format!(
            "tensor '{}' has shape {:?} ({count} values) but holds {}",
            t.name,
            t.dims,
            t.data.len()
        )));
    }
    Ok(t)
}

impl OnnxFile {
    /// Reads and decodes `path`.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; [`Error::Model`] naming the file and the byte offset
    /// when it is not a valid protobuf (or a tensor's data does not match its shape).
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&bytes, path)
    }

    /// Decodes an ONNX model held in memory; `path` names it in errors.
    ///
    /// # Errors
    /// [`Error::Model`] as for [`OnnxFile::read`].
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Self> {
        let mut out = OnnxFile {
            path: path.to_path_buf(),
            ..Default::default()
        };
        model(bytes, &mut out).map_err(|Malformed(m)| {
            Error::model(path, format!("not a readable ONNX protobuf: {m}"))
        })?;
        if out.nodes.is_empty() {
            return Err(Error::model(
                path,
                "not an ONNX model: the file holds no graph nodes",
            ));
        }
        Ok(out)
    }

    /// A metadata value by key.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The float32 initializer `name`, checked to have `rank` dimensions.
    ///
    /// # Errors
    /// [`Error::Model`] naming the file and the tensor when it is missing, not float32 (or stored
    /// outside the file) or of another rank.
    pub fn f32_tensor(&self, name: &str, rank: usize) -> Result<&Initializer> {
        let t = self
            .initializers
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| Error::model(&self.path, format!("has no initializer '{name}'")))?;
        if t.data_type != 1 || (t.data.is_empty() && t.dims.iter().product::<usize>() > 0) {
            return Err(Error::model(
                &self.path,
                format!(
                    "initializer '{name}' is not float32 data held in the file (data type {})",
                    t.data_type
                ),
            ));
        }
        if t.dims.len() != rank {
            return Err(Error::model(
                &self.path,
                format!(
                    "initializer '{name}' has shape {:?}; expected rank {rank}",
                    t.dims
                ),
            ));
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    fn bytes_field(number: u64, payload: &[u8], out: &mut Vec<u8>) {
        varint(number << 3 | 2, out);
        varint(payload.len() as u64, out);
        out.extend_from_slice(payload);
    }

    fn varint_field(number: u64, v: u64, out: &mut Vec<u8>) {
        varint(number << 3, out);
        varint(v, out);
    }

    /// A model with one node, a raw-data tensor, a float_data tensor (unpacked, one field per value),
    /// and a metadata entry; unknown fields of every wire type in between.
    fn sample() -> Vec<u8> {
        let mut raw_tensor = Vec::new();
        bytes_field(1, &[2, 3], &mut raw_tensor); // packed dims
        varint_field(2, 1, &mut raw_tensor);
        bytes_field(8, b"w", &mut raw_tensor);
        let values: Vec<u8> = (0..6)
            .flat_map(|i| (i as f32 * 0.5).to_le_bytes())
            .collect();
        bytes_field(9, &values, &mut raw_tensor);

        let mut float_tensor = Vec::new();
        varint_field(1, 2, &mut float_tensor); // unpacked dims
        varint_field(2, 1, &mut float_tensor);
        for v in [1.5f32, -2.0] {
            varint(4 << 3 | 5, &mut float_tensor);
            float_tensor.extend_from_slice(&v.to_le_bytes());
        }
        bytes_field(8, b"b", &mut float_tensor);

        let mut node = Vec::new();
        bytes_field(1, b"x", &mut node);
        bytes_field(1, b"w", &mut node);
        bytes_field(2, b"y", &mut node);
        bytes_field(4, b"Conv", &mut node);
        varint(10 << 3 | 1, &mut node); // an unknown fixed64 field
        node.extend_from_slice(&[0; 8]);

        let mut graph = Vec::new();
        bytes_field(1, &node, &mut graph);
        bytes_field(2, b"graph name", &mut graph);
        bytes_field(5, &raw_tensor, &mut graph);
        bytes_field(5, &float_tensor, &mut graph);

        let mut meta = Vec::new();
        bytes_field(1, b"doppel.superres.scale", &mut meta);
        bytes_field(2, b"2", &mut meta);

        let mut model = Vec::new();
        varint_field(1, 8, &mut model); // ir_version
        bytes_field(7, &graph, &mut model);
        bytes_field(14, &meta, &mut model);
        model
    }

    #[test]
    fn decodes_nodes_tensors_and_metadata() {
        let file = OnnxFile::parse(&sample(), Path::new("sample.onnx")).unwrap();
        assert_eq!(file.nodes.len(), 1);
        assert_eq!(file.nodes[0].op_type, "Conv");
        assert_eq!(file.nodes[0].inputs, ["x", "w"]);
        let w = file.f32_tensor("w", 2).unwrap();
        assert_eq!(w.dims, [2, 3]);
        assert_eq!(w.data, [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]);
        let b = file.f32_tensor("b", 1).unwrap();
        assert_eq!(b.data, [1.5, -2.0]);
        assert_eq!(file.meta("doppel.superres.scale"), Some("2"));
        assert_eq!(file.meta("other"), None);
    }

    #[test]
    fn errors_name_the_problem() {
        let file = OnnxFile::parse(&sample(), Path::new("sample.onnx")).unwrap();
        let e = file.f32_tensor("missing", 1).unwrap_err().to_string();
        assert!(e.contains("sample.onnx") && e.contains("missing"), "{e}");
        let e = file.f32_tensor("w", 4).unwrap_err().to_string();
        assert!(e.contains("[2, 3]") && e.contains("rank 4"), "{e}");

        // Every truncation of a valid file is an error or a smaller valid prefix, never a panic.
        let bytes = sample();
        for len in 0..bytes.len() {
            let _ = OnnxFile::parse(&bytes[..len], Path::new("cut.onnx"));
        }
        let e = OnnxFile::parse(&bytes[..bytes.len() - 3], Path::new("cut.onnx"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cut.onnx") && e.contains("past the end"), "{e}");
        let e = OnnxFile::parse(b"hello, world", Path::new("text.onnx"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("text.onnx"), "{e}");
    }
}
