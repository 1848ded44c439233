//! The client side of the NATS wire protocol: the frames we send and a bounded parser of
//! what a server sends (<https://docs.nats.io/reference/reference-protocols/nats-protocol>).
#![forbid(unsafe_code)]

/// Longest control line (`INFO {...}`, `MSG ...`, `-ERR ...`) we accept from a server.
pub const MAX_CONTROL_LINE: usize = 64 * 1024;
/// Largest message payload we accept (JetStream acks are well under 1 KiB).
pub const MAX_PAYLOAD: usize = 1024 * 1024;

/// One operation sent by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerOp {
    /// `INFO {json}`: server facts, first thing after connect (and again on cluster changes).
    Info(String),
    /// `MSG` or `HMSG`: a message on a subscription (for us: JetStream acks on our inbox).
    Msg {
        /// Subject it was published to.
        subject: String,
        /// The headers block (`NATS/1.0 503\r\n...`), empty for `MSG`.
        headers: Vec<u8>,
        /// The payload.
        payload: Vec<u8>,
    },
    /// `PING`: answer `PONG`.
    Ping,
    /// `PONG`: the answer to our `PING`.
    Pong,
    /// `+OK` (verbose mode only).
    Ok,
    /// `-ERR 'reason'`.
    Err(String),
}

/// Why the server's byte stream cannot be used any more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn perr<T>(msg: impl Into<String>) -> Result<T, ProtocolError> {
    Err(ProtocolError(msg.into()))
}

/// Parses one operation from the start of `buf`. `Ok(None)`: more bytes are needed.
/// On success, also returns how many bytes it used.
pub fn parse(buf: &[u8]) -> Result<Option<(ServerOp, usize)>, ProtocolError> {
    let Some(eol) = buf.windows(2).position(|w| w == b"\r\n") else {
        if buf.len() > MAX_CONTROL_LINE {
            return perr("control line too long");
        }
        return Ok(None);
    };
    if eol > MAX_CONTROL_LINE {
        return perr("control line too long");
    }
    let line = std::str::from_utf8(&buf[..eol])
        .map_err(|_| ProtocolError("control line is not UTF-8".into()))?;
    let after = eol + 2;
    let (op, rest) = line.split_once([' ', '\t']).unwrap_or((line, ""));
    let rest = rest.trim();
    match op.to_ascii_uppercase().as_str() {
        "PING" => Ok(Some((ServerOp::Ping, after))),
        "PONG" => Ok(Some((ServerOp::Pong, after))),
        "+OK" => Ok(Some((ServerOp::Ok, after))),
        "-ERR" => Ok(Some((ServerOp::Err(rest.trim_matches('\'').to_string()), after))),
        "INFO" => Ok(Some((ServerOp::Info(rest.to_string()), after))),
        "MSG" => message(buf, rest, after, false),
        "HMSG" => message(buf, rest, after, true),
        _ => perr(format!("unknown operation {op:?}")),
    }
}

fn size(word: Option<&str>, what: &str) -> Result<usize, ProtocolError> {
    match word.and_then(|w| w.parse::<usize>().ok()) {
        Some(n) if n <= MAX_PAYLOAD => Ok(n),
        Some(_) => perr(format!("{what} too large")),
        None => perr(format!("bad {what}")),
    }
}

/// `MSG <subject> <sid> [reply] <bytes>` / `HMSG <subject> <sid> [reply] <hdr> <total>`.
fn message(
    buf: &[u8],
    args: &str,
    body_at: usize,
    with_headers: bool,
) -> Result<Option<(ServerOp, usize)>, ProtocolError> {
    let words: Vec<&str> = args.split_ascii_whitespace().collect();
    let sizes = if with_headers { 2 } else { 1 };
    if words.len() < 2 + sizes || words.len() > 3 + sizes {
        return perr("bad MSG arguments");
    }
    let subject = words[0].to_string();
    let (hdr_len, total) = if with_headers {
        let h = size(words.get(words.len() - 2).copied(), "header size")?;
        let t = size(words.last().copied(), "message size")?;
        if h > t {
            return perr("header size exceeds message size");
        }
        (h, t)
    } else {
        (0, size(words.last().copied(), "message size")?)
    };
    let end = body_at + total;
    if buf.len() < end + 2 {
        return Ok(None);
    }
    if &buf[end..end + 2] != b"\r\n" {
        return perr("message not followed by CRLF");
    }
    let headers = buf[body_at..body_at + hdr_len].to_vec();
    let payload = buf[body_at + hdr_len..end].to_vec();
    Ok(Some((ServerOp::Msg { subject, headers, payload }, end + 2)))
}

/// The status code of a headers block such as `NATS/1.0 503\r\n\r\n` (None: no status).
pub fn status_of(headers: &[u8]) -> Option<u16> {
    let line = headers.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim();
    let code = line.strip_prefix("NATS/1.0")?.split_ascii_whitespace().next()?;
    code.parse().ok()
}

/// Appends `HPUB subject [reply] hdr total\r\nheaders\r\n\r\npayload\r\n` (one header,
/// `Nats-Msg-Id`, which JetStream uses to drop duplicates of a re-sent message) to `out`.
pub fn push_hpub(out: &mut Vec<u8>, subject: &str, reply: &str, msg_id: &str, payload: &[u8]) {
    let headers_len = "NATS/1.0\r\nNats-Msg-Id: \r\n\r\n".len() + msg_id.len();
    let total = headers_len + payload.len();
    out.extend_from_slice(b"HPUB ");
    out.extend_from_slice(subject.as_bytes());
    if !reply.is_empty() {
        out.push(b' ');
        out.extend_from_slice(reply.as_bytes());
    }
    out.extend_from_slice(
        format!(" {headers_len} {total}\r\nNATS/1.0\r\nNats-Msg-Id: ").as_bytes(),
    );
    out.extend_from_slice(msg_id.as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\r\n");
}

/// Appends `PUB subject [reply] len\r\npayload\r\n` (for servers without header support).
pub fn push_pub(out: &mut Vec<u8>, subject: &str, reply: &str, payload: &[u8]) {
    out.extend_from_slice(b"PUB ");
    out.extend_from_slice(subject.as_bytes());
    if !reply.is_empty() {
        out.push(b' ');
        out.extend_from_slice(reply.as_bytes());
    }
    out.extend_from_slice(format!(" {}\r\n", payload.len()).as_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(mut buf: &[u8]) -> Vec<ServerOp> {
        let mut ops = Vec::new();
        while let Some((op, used)) = parse(buf).unwrap() {
            ops.push(op);
            buf = &buf[used..];
        }
        ops
    }

    #[test]
    fn control_lines_and_messages() {
        let ops = all(
            b"INFO {\"headers\":true}\r\nPING\r\npong\r\n+OK\r\n-ERR 'Authorization Violation'\r\n\
              MSG _INBOX.a.1 1 5\r\nhello\r\nHMSG _INBOX.a.2 1 16 18\r\nNATS/1.0 503\r\n\r\nhi\r\n",
        );
        assert_eq!(ops[0], ServerOp::Info("{\"headers\":true}".into()));
        assert_eq!(ops[1..4], [ServerOp::Ping, ServerOp::Pong, ServerOp::Ok]);
        assert_eq!(ops[4], ServerOp::Err("Authorization Violation".into()));
        assert_eq!(
            ops[5],
            ServerOp::Msg {
                subject: "_INBOX.a.1".into(),
                headers: vec![],
                payload: b"hello".to_vec()
            }
        );
        let ServerOp::Msg { headers, payload, .. } = &ops[6] else { panic!() };
        assert_eq!(status_of(headers), Some(503));
        assert_eq!(payload, b"hi");
    }

    #[test]
    fn partial_input_waits_for_more() {
        let full = b"MSG s 1 r 5\r\nhello\r\n";
        for cut in 0..full.len() {
            assert_eq!(parse(&full[..cut]).unwrap(), None, "cut at {cut}");
        }
        assert!(parse(full).unwrap().is_some());
    }

    #[test]
    fn bad_input_is_refused_with_a_reason() {
        for bad in [
            &b"WHAT\r\n"[..],
            b"MSG s 1\r\n",
            b"MSG s 1 x\r\n",
            b"MSG s 1 3\r\nabcXY",
            b"HMSG s 1 9 3\r\n",
            b"MSG s 1 99999999999\r\n",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        assert!(parse(&vec![b'x'; MAX_CONTROL_LINE + 1]).is_err());
    }

    #[test]
    fn publish_frames_have_exact_sizes() {
        let mut out = Vec::new();
        push_hpub(&mut out, "ami.pbx.call.Hangup", "_INBOX.x.7", "pbx-1-7", b"{}");
        let text = String::from_utf8(out).unwrap();
        let (line, rest) = text.split_once("\r\n").unwrap();
        let words: Vec<&str> = line.split(' ').collect();
        assert_eq!(words[..3], ["HPUB", "ami.pbx.call.Hangup", "_INBOX.x.7"]);
        let hdr: usize = words[3].parse().unwrap();
        let total: usize = words[4].parse().unwrap();
        assert_eq!(&rest[..hdr], "NATS/1.0\r\nNats-Msg-Id: pbx-1-7\r\n\r\n");
        assert_eq!(&rest[hdr..total], "{}");
        assert_eq!(&rest[total..], "\r\n");
        let mut out = Vec::new();
        push_pub(&mut out, "a.b", "", b"xyz");
        assert_eq!(out, b"PUB a.b 3\r\nxyz\r\n");
    }
}
