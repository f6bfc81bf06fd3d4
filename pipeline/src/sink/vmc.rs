//! Sends each frame's tracking as VMC protocol messages (OSC over UDP) to a VTuber app; see
//! [`crate::vmc`] for the messages. Pixels are ignored. A frame's messages go out as OSC bundles
//! of at most [`MAX_DATAGRAM`] bytes, in order (root and bones, then blend values and `Apply`,
//! then `OK` and `T`): 3.8 KB in one bundle without a face, 6.4 KB in two with one (45 bones, the
//! ARKit values and 34 preset names; `pipeline/tests/vmc.rs`).
//! No smoothing here: the trackers filter their points, and receivers smooth on their side.
//!
//! The target is `HOST:PORT` or `HOST` (port 39539, the VMC default). UDP is fire and forget: a
//! receiver that is not running yet is not an error (datagrams are sent unconnected, so Linux reports
//! no "connection refused"); the count of datagrams sent is in the summary.
//!
//! Example: `doppel live --stages track --vmc 127.0.0.1:39539`

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};

use super::{Sink, SinkSummary};
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::vmc::{self, osc};

/// Parses `HOST:PORT`, `HOST` (default port) or `[IPv6]:PORT` and resolves it.
///
/// # Errors
/// [`Error::Output`] naming the target and what was expected.
pub fn parse_target(target: &str) -> Result<SocketAddr> {
    let bad = |message: String| Error::output(format!("VMC target {target}"), message);
    let text = target.trim();
    if text.is_empty() {
        return Err(bad("expected HOST:PORT, e.g. 127.0.0.1:39539".into()));
    }
    // A bare host or IPv6 address without brackets gets the default port.
    let with_port = match text.rsplit_once(':') {
        _ if text.starts_with('[') && text.ends_with(']') => {
            format!("{text}:{}", vmc::DEFAULT_PORT)
        }
        Some((host, port)) if !host.contains(':') || host.ends_with(']') => {
            if port.parse::<u16>().map_or(true, |p| p == 0) {
                return Err(bad(format!(
                    "port '{port}' is not a UDP port; expected 1..=65535"
                )));
            }
            text.to_string()
        }
        Some(_) => format!("[{text}]:{}", vmc::DEFAULT_PORT),
        None => format!("{text}:{}", vmc::DEFAULT_PORT),
    };
    with_port
        .to_socket_addrs()
        .map_err(|e| bad(format!("cannot resolve the host: {e}")))?
        .next()
        .ok_or_else(|| bad("the host resolves to no address".into()))
}

/// The largest datagram the sink sends: well under UDP's 65,507-byte limit and within the 8 KiB
/// receive buffers of common OSC receivers, so no receiver truncates a bundle.
pub const MAX_DATAGRAM: usize = 4096;

/// The VMC sink.
pub struct VmcSink {
    socket: UdpSocket,
    target: SocketAddr,
    packets: Vec<Vec<u8>>,
    sent: u64,
}

impl VmcSink {
    /// What the stages before it must provide: it sends the tracked face (resolve with it, see
    /// [`crate::stages::resolve`], and `track` is added when missing).
    pub const NEEDS: crate::stage::MetaSet = crate::stage::MetaSet::FACES;

    /// A sink sending to `target` (see [`parse_target`]).
    ///
    /// # Errors
    /// [`Error::Output`] for a bad target or when no UDP socket can be opened.
    pub fn open(target: &str) -> Result<Self> {
        let addr = parse_target(target)?;
        let local: SocketAddr = if addr.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            ([0u16; 8], 0).into()
        };
        let socket = UdpSocket::bind(local).map_err(|e| {
            Error::output(
                format!("VMC target {target}"),
                format!("cannot open a UDP socket: {e}"),
            )
        })?;
        Ok(Self {
            socket,
            target: addr,
            packets: Vec::new(),
            sent: 0,
        })
    }

    pub fn target(&self) -> SocketAddr {
        self.target
    }
}

impl Sink for VmcSink {
    /// Tracking data only: a GPU frame is never read back for it.
    fn pixels(&self) -> super::PixelNeed {
        super::PixelNeed::None
    }

    fn write(&mut self, frame: &Frame) -> Result<()> {
        let messages = vmc::messages_for(frame);
        osc::encode_bundles(&messages, osc::IMMEDIATELY, MAX_DATAGRAM, &mut self.packets);
        for packet in &self.packets {
            match self.socket.send_to(packet, self.target) {
                Ok(_) => {}
                // A full send buffer or an unreachable network is transient for a live stream:
                // the next frame carries a fresher pose anyway.
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::ConnectionRefused
                            | std::io::ErrorKind::NetworkUnreachable
                            | std::io::ErrorKind::HostUnreachable
                    ) =>
                {
                    return Ok(());
                }
                Err(e) => {
                    return Err(Error::output(
                        format!("VMC target {}", self.target),
                        format!("cannot send: {e}"),
                    ))
                }
            }
        }
        self.sent += 1;
        Ok(())
    }

    fn finish(&mut self) -> Result<SinkSummary> {
        Ok(SinkSummary {
            frames: self.sent,
            target: format!("VMC {}", self.target),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            parse_target("127.0.0.1:40000").unwrap(),
            "127.0.0.1:40000".parse().unwrap()
        );
        assert_eq!(parse_target("127.0.0.1").unwrap().port(), vmc::DEFAULT_PORT);
        assert_eq!(parse_target("[::1]:5").unwrap(), "[::1]:5".parse().unwrap());
        assert_eq!(parse_target("::1").unwrap().port(), vmc::DEFAULT_PORT);
        assert_eq!(parse_target("[::1]").unwrap().port(), vmc::DEFAULT_PORT);
        for bad in ["", "127.0.0.1:0", "127.0.0.1:99999", "127.0.0.1:x"] {
            let e = parse_target(bad).unwrap_err().to_string();
            assert!(e.contains("VMC target"), "{e}");
        }
    }
}
