//! An AMI message as an ordered list of headers, with AMI text encoding and parsing.
#![forbid(unsafe_code)]

/// Header name given to a line that has no `:` when AMI text is parsed.
///
/// Asterisk's own AMI-to-XML/HTML converter (manager.c, the `mxml`/`rawman` HTTP output) files
/// such lines under this name; we do the same so that nothing the core printed is lost.
pub const OPAQUE_DATA: &str = "Opaque-data";

/// One AMI message (action, response or event): headers in their original order.
///
/// Names keep their case and may repeat (several `Variable:` headers, a `UserEvent` with a
/// repeated field). Lookups ignore ASCII case, like Asterisk's `astman_get_header`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// `(name, value)` pairs in order.
    pub headers: Vec<(String, String)>,
}

impl Message {
    /// An empty message.
    pub fn new() -> Self {
        Self::default()
    }

    /// A message from (name, value) pairs, in order.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Message {
            headers: pairs.iter().map(|(n, v)| ((*n).to_string(), (*v).to_string())).collect(),
        }
    }

    /// Appends a header at the end.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.headers.push((name.into(), value.into()));
    }

    /// The value of the first header called `name` (ASCII case ignored), as AMI's
    /// `astman_get_header` picks it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The value of header `name` as AMI's `astman_get_header` returns it to an action: the
    /// first header of that name (ASCII case ignored) with its leading blanks (bytes up to
    /// space) skipped; "" when absent.
    pub fn header(&self, name: &str) -> &str {
        self.get(name).map_or("", skip_blanks)
    }

    /// Every value of the headers called `name` (ASCII case ignored), in order.
    pub fn get_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The value of the first `Action` header.
    pub fn action(&self) -> Option<&str> {
        self.get("Action")
    }

    /// The value of the first `ActionID` header.
    pub fn action_id(&self) -> Option<&str> {
        self.get("ActionID")
    }

    /// Number of headers.
    pub fn len(&self) -> usize {
        self.headers.len()
    }

    /// True when the message has no header.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }

    /// Size in bytes of [`Message::to_ami_text`], without building it.
    pub fn ami_text_len(&self) -> usize {
        self.headers.iter().map(|(n, v)| n.len() + v.len() + 4).sum::<usize>() + 2
    }

    /// The AMI wire form: one `Name: value\r\n` line per header, then `\r\n`.
    ///
    /// This does not check anything: values must have been validated (no CR, LF or NUL, see
    /// `validate::validate_action`) before the text is handed to Asterisk.
    pub fn to_ami_text(&self) -> String {
        let mut out = String::with_capacity(self.ami_text_len());
        for (name, value) in &self.headers {
            out.push_str(name);
            out.push_str(": ");
            out.push_str(value);
            out.push_str("\r\n");
        }
        out.push_str("\r\n");
        out
    }
}

/// `ast_skip_blanks`: the value without its leading bytes up to space (tabs, spaces, ...).
pub fn skip_blanks(value: &str) -> &str {
    value.trim_start_matches(|c: char| c <= ' ')
}

/// Splits concatenated AMI text (for example every piece of one hook response, joined) into
/// messages.
///
/// - Lines end with `\r\n` or a bare `\n` (as Asterisk's readers accept both); a final line
///   without an end is still read.
/// - A blank line (empty or only bytes up to space) ends a message; several blank lines in a
///   row never make an empty message; a last message without a blank line is kept.
/// - A header line is split at its first `:`; the name is everything before it, unchanged; the
///   value is the rest with leading blanks (bytes below `!`) skipped, as `astman_get_header`
///   does, and trailing bytes kept.
/// - A line without `:` becomes a header named [`OPAQUE_DATA`] whose value is the whole line.
/// - Bytes that are not UTF-8 are replaced with U+FFFD.
pub fn parse_ami_text(bytes: &[u8]) -> Vec<Message> {
    let mut messages = Vec::new();
    let mut current = Message::new();
    for line in lines(bytes) {
        if line.iter().all(|&b| b <= b' ') {
            if !current.is_empty() {
                messages.push(std::mem::take(&mut current));
            }
            continue;
        }
        let (name, value) = split_header(line);
        current.push(name, value);
    }
    if !current.is_empty() {
        messages.push(current);
    }
    messages
}

/// Lines of `bytes` without their `\n` or `\r\n` end; no line at all for empty input.
pub(crate) fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let split = (!bytes.is_empty()).then(|| body.split(|&b| b == b'\n'));
    split.into_iter().flatten().map(|l| l.strip_suffix(b"\r").unwrap_or(l))
}

/// Splits one header line as AMI reads it (see [`parse_ami_text`]).
fn split_header(line: &[u8]) -> (String, String) {
    match line.iter().position(|&b| b == b':') {
        Some(colon) => {
            let (name, rest) = line.split_at(colon);
            let rest = rest.get(1..).unwrap_or_default();
            let start = rest.iter().position(|&b| b > b' ').unwrap_or(rest.len());
            let value = rest.get(start..).unwrap_or_default();
            (utf8(name), utf8(value))
        }
        None => (OPAQUE_DATA.to_string(), utf8(line)),
    }
}

fn utf8(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(pairs: &[(&str, &str)]) -> Message {
        Message::from_pairs(pairs)
    }

    #[test]
    fn header_reads_like_astman_get_header() {
        let m = msg(&[("ActionID", " \t 7 "), ("variable", "X"), ("Variable", "Y"), ("E", "")]);
        assert_eq!(m.header("actionid"), "7 ");
        assert_eq!(m.header("Variable"), "X");
        assert_eq!(m.header("E"), "");
        assert_eq!(m.header("Missing"), "");
        assert_eq!(skip_blanks("\u{1}\u{1f} a b"), "a b");
    }

    #[test]
    fn get_is_first_match_and_case_insensitive() {
        let m = msg(&[("Action", "UserEvent"), ("Foo", "bar"), ("foo", "baz"), ("FOO", "")]);
        assert_eq!(m.get("foo"), Some("bar"));
        assert_eq!(m.get("FOO"), Some("bar"));
        assert_eq!(m.get("Fo"), None);
        assert_eq!(m.get("Foo "), None);
        assert_eq!(m.get_all("Foo"), vec!["bar", "baz", ""]);
        assert!(m.get_all("nope").is_empty());
        assert_eq!(m.action(), Some("UserEvent"));
        assert_eq!(m.action_id(), None);
        assert_eq!(m.len(), 4);
    }

    #[test]
    fn action_and_action_id() {
        let m = msg(&[("actionid", "7"), ("ACTION", "Ping"), ("Action", "Originate")]);
        assert_eq!(m.action(), Some("Ping"));
        assert_eq!(m.action_id(), Some("7"));
        assert!(Message::new().action().is_none());
        assert!(Message::new().is_empty());
    }

    #[test]
    fn to_ami_text_keeps_order_case_and_repeats() {
        let m =
            msg(&[("Action", "UserEvent"), ("UserEvent", "Probe"), ("Foo", "bar"), ("Foo", "")]);
        let text = m.to_ami_text();
        assert_eq!(text, "Action: UserEvent\r\nUserEvent: Probe\r\nFoo: bar\r\nFoo: \r\n\r\n");
        assert_eq!(text.len(), m.ami_text_len());
        assert_eq!(Message::new().to_ami_text(), "\r\n");
        assert_eq!(Message::new().ami_text_len(), 2);
    }

    #[test]
    fn parse_round_trips_to_ami_text() {
        let m = msg(&[
            ("Event", "UserEvent"),
            ("Privilege", "user,all"),
            ("Foo", "a: b"),
            ("Foo", "c"),
        ]);
        assert_eq!(parse_ami_text(m.to_ami_text().as_bytes()), vec![m]);
    }

    #[test]
    fn parse_reassembled_hook_response_pieces() {
        // The three pieces of a Ping answer and a list action, as recorded from Asterisk 22.
        let pieces: &[&str] = &[
            "Response: Success\r\n",
            "ActionID: p1\r\n",
            "Ping: Pong\r\nTimestamp: 1795299369.212004\r\n\r\n",
            "Response: Success\r\nActionID: csc1\r\nEventList: start\r\n",
            "Message: Channels will follow\r\n\r\n",
            "Event: CoreShowChannelsComplete\r\nActionID: csc1\r\nEventList: Complete\r\n",
            "ListItems: 0\r\n\r\n",
        ];
        let joined: String = pieces.concat();
        let got = parse_ami_text(joined.as_bytes());
        assert_eq!(got.len(), 3);
        assert_eq!(
            got[0],
            msg(&[
                ("Response", "Success"),
                ("ActionID", "p1"),
                ("Ping", "Pong"),
                ("Timestamp", "1795299369.212004")
            ])
        );
        assert_eq!(got[1].get("EventList"), Some("start"));
        assert_eq!(got[1].get("Message"), Some("Channels will follow"));
        assert_eq!(got[2].get("Event"), Some("CoreShowChannelsComplete"));
        assert_eq!(got[2].get("ListItems"), Some("0"));
    }

    #[test]
    fn parse_command_output_lines() {
        let text = "Response: Success\r\nActionID: c1\r\nMessage: Command output follows\r\n\
                    Output: System uptime: 16 seconds\r\nOutput: Last reload: 16 seconds\r\n\r\n";
        let got = parse_ami_text(text.as_bytes());
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].get_all("Output"),
            vec!["System uptime: 16 seconds", "Last reload: 16 seconds"]
        );
    }

    #[test]
    fn parse_line_rules_table() {
        // (input, expected messages as header lists)
        type Case = (&'static [u8], &'static [&'static [(&'static str, &'static str)]]);
        let cases: &[Case] = &[
            (b"", &[]),
            (b"\r\n\r\n\n", &[]),
            (b"A: 1\nB: 2\n\nC: 3\n", &[&[("A", "1"), ("B", "2")], &[("C", "3")]]),
            (b"A: 1\r\n\r\n\r\n\r\nB: 2", &[&[("A", "1")], &[("B", "2")]]),
            (b"A:1\r\n", &[&[("A", "1")]]),
            (b"A:   \t 1 \r\n", &[&[("A", "1 ")]]),
            (b"A:\r\n", &[&[("A", "")]]),
            (b"A : 1\r\n", &[&[("A ", "1")]]),
            (b":x\r\n", &[&[("", "x")]]),
            (b"A: b: c\r\n", &[&[("A", "b: c")]]),
            (b"no colon here\r\nA: 1\r\n", &[&[(OPAQUE_DATA, "no colon here"), ("A", "1")]]),
            (b"A: 1\r\n  \t\r\nB: 2\r\n", &[&[("A", "1")], &[("B", "2")]]),
            (b"A: x\ry\r\n", &[&[("A", "x\ry")]]),
            (b"A: x\r\r\n", &[&[("A", "x\r")]]),
            (b"A: \xff\xfe\r\n", &[&[("A", "\u{fffd}\u{fffd}")]]),
            (b"A: \xe2\x80\xa8\r\n", &[&[("A", "\u{2028}")]]),
        ];
        for (input, want) in cases {
            let got = parse_ami_text(input);
            let want: Vec<Message> = want.iter().map(|m| msg(m)).collect();
            assert_eq!(got, want, "input {:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn lines_handles_ends() {
        let l: Vec<&[u8]> = lines(b"a\r\nb\nc").collect();
        assert_eq!(l, vec![&b"a"[..], b"b", b"c"]);
        let l: Vec<&[u8]> = lines(b"a\n").collect();
        assert_eq!(l, vec![&b"a"[..]]);
        let l: Vec<&[u8]> = lines(b"\n").collect();
        assert_eq!(l, vec![&b""[..]]);
        assert_eq!(lines(b"").count(), 0);
    }
}
