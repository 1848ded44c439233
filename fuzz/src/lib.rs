//! Helpers shared by the fuzz targets: a config file from fuzz bytes, an in-memory socket.
#![forbid(unsafe_code)]

use std::io::{self, Read, Write};

use res_ami_websocket::rawconf::{RawConfig, Section};

/// A config as Asterisk's config API would hand it over, from `[name]` and `key = value` (or
/// `key => value`) lines; other lines are ignored. Asterisk's own file syntax (includes,
/// templates, comments) is Asterisk's parser, not ours: the module only ever sees this shape.
pub fn raw_config(text: &str) -> RawConfig {
    let mut raw = RawConfig::default();
    for line in text.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.split(']').next()) {
            raw.sections.push(Section { name: name.to_string(), entries: Vec::new() });
        } else if let Some((k, v)) = line.split_once('=') {
            let (k, v) = (k.trim(), v.trim_start_matches('>').trim());
            if let Some(section) = raw.sections.last_mut() {
                section.entries.push((k.to_string(), v.to_string()));
            }
        }
    }
    raw
}

/// A socket that reads `input` then reports WouldBlock, and keeps what is written.
#[derive(Debug, Default)]
pub struct MemStream {
    /// Bytes the peer sent.
    pub input: Vec<u8>,
    /// How many of them were read.
    pub pos: usize,
    /// Bytes written to the peer.
    pub output: Vec<u8>,
}

impl Read for MemStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = &self.input[self.pos..];
        if rest.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }
}

impl Write for MemStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
