//! Splits AMI message text into header lines (`Name: value`), tolerant of bare LF and odd bytes.
#![forbid(unsafe_code)]

/// The lines of one AMI message: each without its line ending (`\r\n` or a bare `\n`), ending at
/// the first blank line or at the end of the text, whichever comes first.
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    rest: &'a [u8],
}

/// Iterates the header lines of `body` (see [`Lines`]); anything after the blank line is ignored.
pub fn lines(body: &[u8]) -> Lines<'_> {
    Lines { rest: body }
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let (line, rest) = match find_byte(self.rest, b'\n') {
            Some(lf) => {
                let (line, tail) = self.rest.split_at(lf);
                (line, tail.get(1..).unwrap_or_default())
            }
            None => (self.rest, &[][..]),
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            self.rest = &[];
            return None;
        }
        self.rest = rest;
        Some(line)
    }
}

/// Index of the first `needle` in `hay`, eight bytes at a time (lines run ~40 bytes).
pub fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let pattern = LOW * u64::from(needle);
    let mut chunks = hay.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ pattern;
        // Exact test for a zero byte: (x - LOW) & !x & HIGH is non-zero iff some byte of x is 0,
        // and its lowest set bit marks the first one.
        let found = x.wrapping_sub(LOW) & !x & HIGH;
        if found != 0 {
            return Some(offset + (found.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks.remainder().iter().position(|&b| b == needle).map(|i| offset + i)
}

/// Splits one header line at its first `:` into name and value; the value loses the blanks
/// (spaces, tabs) that follow the colon. A line without a colon is all name, with an empty value.
pub fn split_header(line: &[u8]) -> (&[u8], &[u8]) {
    match find_byte(line, b':') {
        Some(colon) => {
            let (name, tail) = line.split_at(colon);
            let value = tail.get(1..).unwrap_or_default();
            let blanks = value.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
            (name, value.get(blanks..).unwrap_or_default())
        }
        None => (line, &[][..]),
    }
}

/// The `(name, value)` pairs of one AMI message, in order (see [`lines`] and [`split_header`]).
pub fn headers(body: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    lines(body).map(split_header)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(body: &[u8]) -> Vec<(String, String)> {
        headers(body)
            .map(|(n, v)| {
                (String::from_utf8_lossy(n).into_owned(), String::from_utf8_lossy(v).into_owned())
            })
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    #[test]
    fn crlf_message_stops_at_blank_line() {
        let body = b"Event: Hangup\r\nPrivilege: call,all\r\n\r\nEvent: Other\r\n\r\n";
        assert_eq!(collect(body), pairs(&[("Event", "Hangup"), ("Privilege", "call,all")]));
    }

    #[test]
    fn bare_lf_and_missing_final_blank_line() {
        let body = b"Event: A\nFoo: 1\r\nBar: 2";
        assert_eq!(collect(body), pairs(&[("Event", "A"), ("Foo", "1"), ("Bar", "2")]));
    }

    #[test]
    fn value_keeps_inner_colons_and_trailing_blanks_but_not_leading_ones() {
        let body = b"Uniqueid:\t 17:3 \r\nEmpty: \r\nNoSpace:x\r\n\r\n";
        assert_eq!(collect(body), pairs(&[("Uniqueid", "17:3 "), ("Empty", ""), ("NoSpace", "x")]));
    }

    #[test]
    fn line_without_colon_is_a_name_with_empty_value() {
        assert_eq!(collect(b"--END COMMAND--\r\n\r\n"), pairs(&[("--END COMMAND--", "")]));
    }

    #[test]
    fn only_one_cr_is_stripped_and_lone_cr_inside_is_kept() {
        let got: Vec<&[u8]> = lines(b"A: x\ry\r\r\nB: z\r\n").collect();
        assert_eq!(got, vec![&b"A: x\ry\r"[..], &b"B: z"[..]]);
    }

    #[test]
    fn find_byte_agrees_with_position_everywhere() {
        let hay: Vec<u8> = (0..70u8).map(|i| i.wrapping_mul(37) | 1).collect();
        for len in 0..hay.len() {
            for needle in [b'\n', b':', 0x80, 0xff, 0x01, 0x7f, hay[len.saturating_sub(1)]] {
                let slice = &hay[..len];
                assert_eq!(find_byte(slice, needle), slice.iter().position(|&b| b == needle));
            }
        }
        let mut h = [b'a'; 24];
        for at in 0..24 {
            h[at] = b'\n';
            assert_eq!(find_byte(&h, b'\n'), Some(at));
            h[at] = 0x0a ^ 0x01; // a byte one bit away from the needle
            assert_eq!(find_byte(&h, b'\n'), None);
            h[at] = b'a';
        }
    }

    #[test]
    fn empty_and_blank_inputs_have_no_lines() {
        assert_eq!(lines(b"").count(), 0);
        assert_eq!(lines(b"\r\n").count(), 0);
        assert_eq!(lines(b"\n\nA: b\n").count(), 0);
    }
}
