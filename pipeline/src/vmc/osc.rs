//! A small OSC 1.0 encoder: messages with int32, float32 and string arguments, and bundles.
//!
//! Wire format (OSC 1.0 specification): an address pattern (OSC-string: ASCII, NUL-terminated,
//! padded with NULs to a multiple of 4 bytes), a type tag string (`,` then one letter per argument,
//! padded the same way), then the arguments big-endian (`i` int32, `f` float32, `s` OSC-string). A
//! bundle is the OSC-string `#bundle`, a 64-bit NTP time tag (1 = "immediately"), then each element
//! as an int32 byte size followed by its bytes.

/// One OSC argument.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    Int(i32),
    Float(f32),
    Str(String),
}

/// One OSC message: an address and its arguments.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub address: String,
    pub args: Vec<Arg>,
}

impl Message {
    pub fn new(address: &str, args: Vec<Arg>) -> Self {
        Self {
            address: address.to_string(),
            args,
        }
    }

    /// Appends the encoded message to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        push_string(out, &self.address);
        let mut tags = String::with_capacity(self.args.len() + 1);
        tags.push(',');
        for arg in &self.args {
            tags.push(match arg {
                Arg::Int(_) => 'i',
                Arg::Float(_) => 'f',
                Arg::Str(_) => 's',
            });
        }
        push_string(out, &tags);
        for arg in &self.args {
            match arg {
                Arg::Int(v) => out.extend_from_slice(&v.to_be_bytes()),
                Arg::Float(v) => out.extend_from_slice(&v.to_be_bytes()),
                Arg::Str(s) => push_string(out, s),
            }
        }
    }

    /// The encoded message.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }
}

/// The time tag that means "immediately" (OSC 1.0).
pub const IMMEDIATELY: u64 = 1;

/// Encodes `messages` as one bundle with time tag `time_tag` into `out` (cleared first).
pub fn encode_bundle(messages: &[Message], time_tag: u64, out: &mut Vec<u8>) {
    out.clear();
    push_string(out, "#bundle");
    out.extend_from_slice(&time_tag.to_be_bytes());
    for message in messages {
        let at = out.len();
        out.extend_from_slice(&[0; 4]);
        message.encode_into(out);
        // Message sizes are small (a UDP datagram holds at most 64 KiB), so the size fits an i32.
        let size = (out.len() - at - 4) as i32;
        out[at..at + 4].copy_from_slice(&size.to_be_bytes());
    }
}

/// Encodes `messages` in order as bundles of at most `max_bytes` bytes each (a message too large
/// for one goes alone in its own), reusing the buffers of `out` (truncated to the bundles made).
pub fn encode_bundles(
    messages: &[Message],
    time_tag: u64,
    max_bytes: usize,
    out: &mut Vec<Vec<u8>>,
) {
    // Bundle header: "#bundle" (8 bytes) and the time tag (8); each element: a size (4) and bytes.
    const HEADER: usize = 16;
    let mut used = 0;
    let mut scratch = Vec::new();
    for message in messages {
        scratch.clear();
        message.encode_into(&mut scratch);
        let fits = used > 0 && out[used - 1].len() + 4 + scratch.len() <= max_bytes;
        if !fits {
            if out.len() == used {
                out.push(Vec::new());
            }
            let b = &mut out[used];
            b.clear();
            push_string(b, "#bundle");
            b.extend_from_slice(&time_tag.to_be_bytes());
            debug_assert_eq!(b.len(), HEADER);
            used += 1;
        }
        let b = &mut out[used - 1];
        // Message sizes are small (a UDP datagram holds at most 64 KiB), so the size fits an i32.
        b.extend_from_slice(&(scratch.len() as i32).to_be_bytes());
        b.extend_from_slice(&scratch);
    }
    out.truncate(used);
}

/// An OSC-string: the bytes, a NUL, then NULs up to a multiple of 4. Non-ASCII characters are
/// replaced by `?` (OSC 1.0 strings are ASCII).
fn push_string(out: &mut Vec<u8>, s: &str) {
    out.extend(s.chars().map(|c| if c.is_ascii() { c as u8 } else { b'?' }));
    out.push(0);
    while out.len() % 4 != 0 {
        out.push(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_layout_matches_the_specification() {
        // The example from the OSC 1.0 specification: "/oscillator/4/frequency" ,f 440.0
        let m = Message::new("/oscillator/4/frequency", vec![Arg::Float(440.0)]);
        let bytes = m.encode();
        let mut want = b"/oscillator/4/frequency\0".to_vec();
        want.extend_from_slice(b",f\0\0");
        want.extend_from_slice(&[0x43, 0xdc, 0x00, 0x00]);
        assert_eq!(bytes, want);

        // "/foo" ,iisff 1000 -1 "hello" 1.234 5.678
        let m = Message::new(
            "/foo",
            vec![
                Arg::Int(1000),
                Arg::Int(-1),
                Arg::Str("hello".into()),
                Arg::Float(1.234),
                Arg::Float(5.678),
            ],
        );
        let bytes = m.encode();
        let want: Vec<u8> = [
            &b"/foo\0\0\0\0"[..],
            b",iisff\0\0",
            &[0, 0, 0x03, 0xe8],
            &[0xff, 0xff, 0xff, 0xff],
            b"hello\0\0\0",
            &[0x3f, 0x9d, 0xf3, 0xb6],
            &[0x40, 0xb5, 0xb2, 0x2d],
        ]
        .concat();
        assert_eq!(bytes, want);
    }

    #[test]
    fn bundle_sizes_each_element() {
        let a = Message::new("/a", vec![Arg::Int(7)]);
        let b = Message::new("/bb", Vec::new());
        let mut out = Vec::new();
        encode_bundle(&[a.clone(), b.clone()], IMMEDIATELY, &mut out);
        assert_eq!(&out[..8], b"#bundle\0");
        assert_eq!(&out[8..16], &1u64.to_be_bytes());
        let ea = a.encode();
        assert_eq!(&out[16..20], &(ea.len() as i32).to_be_bytes());
        assert_eq!(&out[20..20 + ea.len()], &ea[..]);
        let rest = &out[20 + ea.len()..];
        let eb = b.encode();
        assert_eq!(&rest[..4], &(eb.len() as i32).to_be_bytes());
        assert_eq!(&rest[4..], &eb[..]);
        assert_eq!(out.len() % 4, 0);
    }

    #[test]
    fn bundles_split_at_the_size_limit_in_order() {
        let messages: Vec<Message> = (0..10)
            .map(|i| Message::new("/abc", vec![Arg::Int(i)]))
            .collect();
        // Each message is 16 bytes, 20 with its size; a bundle of 64 bytes holds two.
        let mut out = vec![Vec::new(); 7];
        encode_bundles(&messages, IMMEDIATELY, 64, &mut out);
        assert_eq!(out.len(), 5);
        for (k, b) in out.iter().enumerate() {
            let mut want = Vec::new();
            encode_bundle(&messages[2 * k..2 * k + 2], IMMEDIATELY, &mut want);
            assert_eq!(b, &want);
        }
        encode_bundles(&messages, IMMEDIATELY, 1 << 16, &mut out);
        assert_eq!(out.len(), 1);
    }
}
