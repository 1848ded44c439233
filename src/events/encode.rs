//! Encoders from AMI message text to what clients receive: one JSON object, or normalised AMI text.
//!
//! Both take the raw bytes Asterisk produced (which may hold invalid UTF-8: such sequences become
//! U+FFFD) plus `extra` headers of our own (`WsSeq`, or an `ActionID` for a response). An extra
//! header replaces every body header whose name matches it ignoring ASCII case, and goes last, so
//! an event cannot smuggle its own `WsSeq`. Neither encoder panics on any input.
#![forbid(unsafe_code)]

use std::borrow::Cow;

use super::headers::{headers, lines, split_header};

/// JSON object for one AMI message: the header names as keys, in order, string values; a name
/// that occurs more than once becomes an array of its values in order (names compared exactly);
/// then the `extra` pairs. Escapes per RFC 8259, and U+2028/U+2029 too (safe inside `<script>`).
///
/// `Event: UserEvent\r\nFoo: bar\r\nFoo: baz\r\n\r\n` with `[("WsSeq", "7")]` gives
/// `{"Event":"UserEvent","Foo":["bar","baz"],"WsSeq":"7"}`.
pub fn ami_to_json(body: &[u8], extra: &[(&str, &str)]) -> String {
    // One validation pass; afterwards every slice cut at an ASCII byte is valid UTF-8 too.
    let text = lossy(body);
    let spans = scan(text.as_bytes(), extra);
    let mut out = Vec::with_capacity(body.len() + body.len() / 8 + 16 + extra_len(extra));
    out.push(b'{');
    let mut comma = false;
    for (i, span) in spans.iter().enumerate() {
        if span.first != i {
            continue;
        }
        if comma {
            out.push(b',');
        }
        comma = true;
        push_json_str(&mut out, span.name);
        out.push(b':');
        if span.repeated {
            out.push(b'[');
            let mut inner = false;
            for later in spans.iter().skip(i).filter(|s| s.first == i) {
                if inner {
                    out.push(b',');
                }
                inner = true;
                push_json_str(&mut out, later.value);
            }
            out.push(b']');
        } else {
            push_json_str(&mut out, span.value);
        }
    }
    for (name, value) in extra {
        if comma {
            out.push(b',');
        }
        comma = true;
        push_json_str(&mut out, name.as_bytes());
        out.push(b':');
        push_json_str(&mut out, value.as_bytes());
    }
    out.push(b'}');
    into_string(out)
}

/// The AMI text of one message with every line ending CRLF, the `extra` headers as the last lines
/// and one blank line at the end. Invalid UTF-8 becomes U+FFFD (text frames must be UTF-8). CR, LF
/// and NUL inside an `extra` name or value become spaces: they could not be told apart from framing.
pub fn ami_to_text(body: &[u8], extra: &[(&str, &str)]) -> String {
    let text = lossy(body);
    let mut out = Vec::with_capacity(body.len() + 8 + extra_len(extra));
    for line in lines(text.as_bytes()) {
        if is_replaced(split_header(line).0, extra) {
            continue;
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    for (name, value) in extra {
        push_text_safe(&mut out, name.as_bytes());
        out.extend_from_slice(b": ");
        push_text_safe(&mut out, value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    into_string(out)
}

/// `bytes` as UTF-8, borrowed when valid (checked by the fast validator), else with U+FFFD.
pub fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(valid) => Cow::Borrowed(valid),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Output built from valid UTF-8 pieces split at ASCII bytes is valid; the fallback never runs.
fn into_string(out: Vec<u8>) -> String {
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// One header of the message being encoded.
struct Span<'a> {
    name: &'a [u8],
    value: &'a [u8],
    /// [`name_key`] of `name`: a cheap filter before comparing names.
    key: u64,
    /// Index of the first header with this name (itself when it is the first).
    first: usize,
    /// On a first occurrence: whether the name occurs again later.
    repeated: bool,
}

/// Splits the message into headers (dropping those an extra replaces) and links repeats to their
/// first occurrence. Cost: headers x distinct names, with no map.
fn scan<'a>(body: &'a [u8], extra: &[(&str, &str)]) -> Vec<Span<'a>> {
    let mut spans: Vec<Span<'a>> = Vec::with_capacity(32);
    for (name, value) in headers(body) {
        if is_replaced(name, extra) {
            continue;
        }
        // Scanning from the start, the first span with this name is its first occurrence.
        let key = name_key(name);
        let first = match spans.iter().position(|s| s.key == key && s.name == name) {
            Some(f) => {
                if let Some(head) = spans.get_mut(f) {
                    head.repeated = true;
                }
                f
            }
            None => spans.len(),
        };
        spans.push(Span { name, value, key, first, repeated: false });
    }
    spans
}

/// Length (low byte) and first seven bytes of a header name: equal names give equal keys, and
/// AMI's distinct names almost never share one.
fn name_key(name: &[u8]) -> u64 {
    let prefix = name.iter().take(7).enumerate();
    prefix.fold(name.len() as u64 & 0xff, |k, (i, &b)| k | u64::from(b) << (8 * (i + 1)))
}

fn is_replaced(name: &[u8], extra: &[(&str, &str)]) -> bool {
    extra.iter().any(|(key, _)| key.as_bytes().eq_ignore_ascii_case(name))
}

fn extra_len(extra: &[(&str, &str)]) -> usize {
    extra.iter().map(|(n, v)| n.len() + v.len() + 8).sum()
}

fn push_text_safe(out: &mut Vec<u8>, s: &[u8]) {
    out.extend(s.iter().map(|&b| if matches!(b, b'\r' | b'\n' | 0) { b' ' } else { b }));
}

/// For each byte: 0 when it needs no escape, else the letter after the backslash (`u` for
/// `\u00XX`), or `L` for 0xE2, the lead byte of U+2028 and U+2029.
static ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table[0xe2] = b'L';
    table
};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends valid UTF-8 as a quoted JSON string; runs that need no escape are copied in one piece.
fn push_json_str(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    let mut run = 0;
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        if s.get(i..i + 8).is_some_and(plain_word) {
            i += 8;
            continue;
        }
        let kind = ESCAPE[usize::from(b)];
        let (skip, last) = match kind {
            0 => {
                i += 1;
                continue;
            }
            b'L' => match s.get(i + 1..i + 3) {
                Some(&[0x80, last @ (0xa8 | 0xa9)]) => (3, last),
                _ => {
                    i += 1;
                    continue;
                }
            },
            _ => (1, 0),
        };
        out.extend_from_slice(s.get(run..i).unwrap_or_default());
        match kind {
            b'u' => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0x0f)]);
            }
            b'L' => out.extend_from_slice(if last == 0xa8 { b"\\u2028" } else { b"\\u2029" }),
            letter => out.extend_from_slice(&[b'\\', letter]),
        }
        i += skip;
        run = i;
    }
    out.extend_from_slice(s.get(run..).unwrap_or_default());
    out.push(b'"');
}

/// Whether none of these 8 bytes may need an escape: no control byte, `"`, `\\` or 0xE2.
fn plain_word(word: &[u8]) -> bool {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut bytes = [0u8; 8];
    if word.len() != 8 {
        return false;
    }
    bytes.copy_from_slice(word);
    let x = u64::from_le_bytes(bytes);
    // Non-zero iff some byte of v is zero (resp. below n, for n <= 0x80).
    let has_zero = |v: u64| v.wrapping_sub(LOW) & !v & HIGH;
    let below = x.wrapping_sub(LOW * 0x20) & !x & HIGH;
    below
        | has_zero(x ^ (LOW * u64::from(b'"')))
        | has_zero(x ^ (LOW * u64::from(b'\\')))
        | has_zero(x ^ (LOW * 0xe2))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn brief_example_with_repeated_header() {
        let body = b"Event: UserEvent\r\nFoo: bar\r\nFoo: baz\r\n\r\n";
        assert_eq!(
            ami_to_json(body, &[("WsSeq", "7")]),
            r#"{"Event":"UserEvent","Foo":["bar","baz"],"WsSeq":"7"}"#
        );
    }

    #[test]
    fn repeats_interleaved_with_other_headers_keep_first_position_and_order() {
        let body = b"A: 1\r\nB: 2\r\nA: 3\r\nC: 4\r\nB: 5\r\nA: 6\r\n\r\n";
        assert_eq!(ami_to_json(body, &[]), r#"{"A":["1","3","6"],"B":["2","5"],"C":"4"}"#);
    }

    #[test]
    fn repeats_compare_names_exactly() {
        assert_eq!(ami_to_json(b"Foo: 1\nfoo: 2\n", &[]), r#"{"Foo":"1","foo":"2"}"#);
    }

    #[test]
    fn escapes_quotes_backslashes_controls_and_line_separators() {
        let body = "K: a\"b\\c\td\u{1}e\u{7f}f\u{2028}g\u{2029}h\u{e9}\u{1f600}\r\n\r\n".as_bytes();
        let json = ami_to_json(body, &[]);
        assert_eq!(
            json,
            "{\"K\":\"a\\\"b\\\\c\\td\\u0001e\u{7f}f\\u2028g\\u2029h\u{e9}\u{1f600}\"}"
        );
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["K"], "a\"b\\c\td\u{1}e\u{7f}f\u{2028}g\u{2029}h\u{e9}\u{1f600}");
    }

    #[test]
    fn every_control_byte_round_trips() {
        let value: Vec<u8> = (0u8..0x20).filter(|b| *b != b'\n' && *b != b'\r').collect();
        let mut body = b"K: ".to_vec();
        body.extend_from_slice(&value);
        let v: Value = serde_json::from_str(&ami_to_json(&body, &[])).unwrap();
        assert_eq!(v["K"].as_str().unwrap().as_bytes(), &value[..]);
    }

    #[test]
    fn each_special_char_at_each_position_is_escaped_exactly_once() {
        for special in ["\"", "\\", "\u{0}", "\u{1f}", "\t", "\u{2028}", "\u{2029}", "\u{2027}"] {
            for at in 0..20 {
                let value = format!("{}{special}{}", "a".repeat(at), "b".repeat(20 - at));
                let mut out = Vec::new();
                push_json_str(&mut out, value.as_bytes());
                let json = String::from_utf8(out).unwrap();
                let back: String = serde_json::from_str(&json).unwrap();
                assert_eq!(back, value);
                assert!(
                    !json.contains(['\u{0}', '\u{1f}', '\t', '\u{2028}', '\u{2029}']),
                    "{json}"
                );
                assert_eq!(json.len(), value.len() + 2 + json_escape_growth(special), "{json}");
            }
        }
    }

    fn json_escape_growth(special: &str) -> usize {
        match special {
            "\"" | "\\" | "\t" => 1,
            "\u{0}" | "\u{1f}" => 5,
            "\u{2028}" | "\u{2029}" => 3,
            _ => 0,
        }
    }

    #[test]
    fn invalid_utf8_becomes_replacement_char_in_both_encodings() {
        let body = b"Na\xffme: x\xe2\x80y\xc0\r\nT: \xe2\r\n\r\n";
        let v: Value = serde_json::from_str(&ami_to_json(body, &[])).unwrap();
        assert_eq!(v["Na\u{fffd}me"], "x\u{fffd}y\u{fffd}");
        assert_eq!(v["T"], "\u{fffd}");
        assert_eq!(
            ami_to_text(body, &[]),
            "Na\u{fffd}me: x\u{fffd}y\u{fffd}\r\nT: \u{fffd}\r\n\r\n"
        );
    }

    #[test]
    fn extra_replaces_body_header_of_same_name_ignoring_case() {
        let body = b"Event: UserEvent\r\nwsseq: 999\r\nWsSeq: 998\r\nX: 1\r\n\r\n";
        assert_eq!(
            ami_to_json(body, &[("WsSeq", "3")]),
            r#"{"Event":"UserEvent","X":"1","WsSeq":"3"}"#
        );
        assert_eq!(
            ami_to_text(body, &[("WsSeq", "3")]),
            "Event: UserEvent\r\nX: 1\r\nWsSeq: 3\r\n\r\n"
        );
    }

    #[test]
    fn text_inserts_extra_before_blank_line_and_normalises_to_crlf() {
        let body = b"Event: Hangup\nPrivilege: call,all\r\nCause: 16\n\n";
        assert_eq!(
            ami_to_text(body, &[("WsSeq", "42")]),
            "Event: Hangup\r\nPrivilege: call,all\r\nCause: 16\r\nWsSeq: 42\r\n\r\n"
        );
    }

    #[test]
    fn text_keeps_lines_exactly_including_spacing() {
        let body = b"Response: Success\r\nSystemName: \r\nOdd:no-space\r\n\r\n";
        assert_eq!(
            ami_to_text(body, &[]),
            "Response: Success\r\nSystemName: \r\nOdd:no-space\r\n\r\n"
        );
    }

    #[test]
    fn text_extra_with_framing_bytes_cannot_add_lines() {
        let text = ami_to_text(b"A: 1\r\n\r\n", &[("ActionID", "x\r\nAction: Originate\0")]);
        assert_eq!(text, "A: 1\r\nActionID: x  Action: Originate \r\n\r\n");
    }

    #[test]
    fn empty_body_gives_only_extras() {
        assert_eq!(ami_to_json(b"", &[("WsSeq", "1")]), r#"{"WsSeq":"1"}"#);
        assert_eq!(ami_to_json(b"\r\n", &[]), "{}");
        assert_eq!(ami_to_text(b"", &[("WsSeq", "1")]), "WsSeq: 1\r\n\r\n");
    }

    #[test]
    fn extra_keys_and_values_are_escaped_in_json() {
        let json = ami_to_json(b"A: 1\n", &[("ActionID", "q\"\n")]);
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["ActionID"], "q\"\n");
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_always_give_valid_json() {
        // A cheap deterministic generator over bytes that matter: framing, escapes, UTF-8 leads.
        let alphabet = b"ab:: \r\n\t\"\\\x00\x1f\xe2\x80\xa8\xa9\xc3\xff\xf0\x9f";
        let mut state = 0x2545_f491_u32;
        for len in 0..400 {
            let body: Vec<u8> = (0..len % 97)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    alphabet[state as usize % alphabet.len()]
                })
                .collect();
            let json = ami_to_json(&body, &[("WsSeq", "1")]);
            let v: Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json}: {e}"));
            assert_eq!(v.as_object().unwrap().keys().next_back().unwrap(), "WsSeq");
            let text = ami_to_text(&body, &[]);
            assert!(text.ends_with("\r\n"));
            assert!(!text.contains("\r\n\r\n") || text.ends_with("\r\n\r\n"));
        }
    }
}
