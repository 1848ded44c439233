//! Client actions from JSON or raw AMI text, and messages to JSON (one flat object per message).
#![forbid(unsafe_code)]

use std::collections::HashMap;

use super::message::{Message, lines};
use super::validate::{ActionError, Limits, validate_action};

/// Reads one action sent as a JSON object and checks it with [`validate_action`].
///
/// Keys are header names, kept in order. A value is a string, or a non-empty array of strings
/// (the header repeated, in order). Refused with an [`ActionError`]: input over
/// `limits.max_input` bytes (checked before parsing); anything but one object; numbers,
/// booleans, null, objects and nested arrays as values (the error names the key); a key given
/// twice, ASCII case ignored (a repeated header must be an array); more headers than the limit
/// (parsing stops there). Objects are never nested, so parsing needs no recursion.
pub fn action_from_json(text: &str, limits: &Limits) -> Result<Message, ActionError> {
    if text.len() > limits.max_input {
        return Err(ActionError::InputTooLarge { len: text.len(), limit: limits.max_input });
    }
    let msg = FlatObject { text, pos: 0, limit: limits.header_limit() }.parse()?;
    validate_action(&msg, limits)?;
    Ok(msg)
}

/// Reads one action sent as raw AMI text (`Name: value` lines) and checks it with
/// [`validate_action`].
///
/// Lines end with `\r\n` or `\n`. Blank lines before the headers and at the end are ignored; a
/// blank line followed by more headers is refused (one action per message: the hook would run
/// them as one). Each line must hold a `:`; the name is what comes before it and must be a
/// valid name; the value is the rest with leading spaces and tabs skipped. A stray CR inside a
/// line is refused by the validation (never stripped).
pub fn text_action_parse(text: &str, limits: &Limits) -> Result<Message, ActionError> {
    if text.len() > limits.max_input {
        return Err(ActionError::InputTooLarge { len: text.len(), limit: limits.max_input });
    }
    let limit = limits.header_limit();
    let mut msg = Message::new();
    let mut ended = false;
    for (index, line) in lines(text.as_bytes()).enumerate() {
        if line.iter().all(|&b| b == b' ' || b == b'\t') {
            ended = !msg.is_empty();
            continue;
        }
        if ended {
            return Err(ActionError::SeveralMessages);
        }
        if msg.len() == limit {
            return Err(ActionError::TooManyHeaders { limit });
        }
        let line = String::from_utf8_lossy(line);
        let (name, value) = line.split_once(':').ok_or(ActionError::BadLine { line: index + 1 })?;
        msg.push(name, value.trim_start_matches([' ', '\t']));
    }
    if msg.is_empty() {
        return Err(ActionError::Empty);
    }
    validate_action(&msg, limits)?;
    Ok(msg)
}

/// A strict reader of one JSON object whose values are strings or arrays of strings.
struct FlatObject<'a> {
    text: &'a str,
    pos: usize,
    limit: usize,
}

impl FlatObject<'_> {
    fn parse(mut self) -> Result<Message, ActionError> {
        self.skip_ws();
        match self.peek() {
            None => return Err(ActionError::Empty),
            Some(b'{') => self.pos += 1,
            Some(_) => return Err(self.not_an_object()),
        }
        let mut msg = Message::new();
        let mut keys: Vec<String> = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                self.skip_ws();
                if self.peek() != Some(b'"') {
                    return Err(self.syntax("expected a string key"));
                }
                let key = self.string()?;
                if keys.iter().any(|k| k.eq_ignore_ascii_case(&key)) {
                    return Err(ActionError::DuplicateKey { key });
                }
                self.skip_ws();
                self.expect(b':', "expected ':' after a key")?;
                self.skip_ws();
                for value in self.value(&key)? {
                    if msg.len() == self.limit {
                        return Err(ActionError::TooManyHeaders { limit: self.limit });
                    }
                    msg.push(key.as_str(), value);
                }
                keys.push(key);
                self.skip_ws();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.syntax("expected ',' or '}'")),
                }
            }
        }
        self.skip_ws();
        if self.pos != self.text.len() {
            return Err(self.syntax("unexpected data after the object"));
        }
        Ok(msg)
    }

    /// A value: a string, or a non-empty array of strings.
    fn value(&mut self, key: &str) -> Result<Vec<String>, ActionError> {
        match self.peek() {
            Some(b'"') => Ok(vec![self.string()?]),
            Some(b'[') => {
                self.pos += 1;
                let mut values = Vec::new();
                self.skip_ws();
                if self.peek() == Some(b']') {
                    return Err(ActionError::EmptyArray { key: key.to_string() });
                }
                loop {
                    self.skip_ws();
                    match self.peek() {
                        Some(b'"') => values.push(self.string()?),
                        Some(b'[') => return Err(bad_type(key, "a nested array")),
                        other => return Err(self.wrong_type(key, other)),
                    }
                    if values.len() > self.limit {
                        return Err(ActionError::TooManyHeaders { limit: self.limit });
                    }
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(values);
                        }
                        _ => return Err(self.syntax("expected ',' or ']'")),
                    }
                }
            }
            other => Err(self.wrong_type(key, other)),
        }
    }

    /// A JSON string starting at the current `"`, decoded by serde_json (escapes, surrogate
    /// pairs, raw control characters refused).
    fn string(&mut self) -> Result<String, ActionError> {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let mut i = start + 1;
        loop {
            match bytes.get(i) {
                None => return Err(self.syntax("unterminated string")),
                Some(b'\\') => i += 2,
                Some(b'"') => break,
                Some(_) => i += 1,
            }
        }
        // Both ends are ASCII quotes, hence character boundaries.
        let raw = self.text.get(start..=i).ok_or_else(|| self.syntax("invalid string"))?;
        let decoded = serde_json::from_str::<String>(raw).map_err(|e| {
            ActionError::BadJson(format!("invalid string at byte {start}: {}", string_error(&e)))
        })?;
        self.pos = i + 1;
        Ok(decoded)
    }

    fn wrong_type(&self, key: &str, next: Option<u8>) -> ActionError {
        match next {
            Some(b'{') => bad_type(key, "an object"),
            Some(b't' | b'f') => bad_type(key, "a boolean"),
            Some(b'n') => bad_type(key, "null"),
            Some(b'-' | b'0'..=b'9') => bad_type(key, "a number"),
            _ => self.syntax("expected a value"),
        }
    }

    fn not_an_object(&self) -> ActionError {
        match self.peek() {
            Some(b'[' | b'"' | b't' | b'f' | b'n' | b'-' | b'0'..=b'9') => ActionError::NotAnObject,
            _ => self.syntax("expected '{'"),
        }
    }

    fn expect(&mut self, byte: u8, what: &str) -> Result<(), ActionError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.syntax(what))
        }
    }

    fn syntax(&self, what: &str) -> ActionError {
        ActionError::BadJson(format!("{what} at byte {}", self.pos))
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        let rest = self.text.as_bytes().get(self.pos..).unwrap_or_default();
        self.pos += rest.iter().take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')).count();
    }
}

fn bad_type(key: &str, found: &'static str) -> ActionError {
    ActionError::BadValueType { key: key.to_string(), found }
}

/// Short, position-free text for a serde_json string error.
fn string_error(e: &serde_json::Error) -> &'static str {
    let text = e.to_string();
    if text.contains("control character") {
        "raw control character (escape it)"
    } else if text.contains("surrogate") {
        "invalid unicode surrogate"
    } else if text.contains("escape") {
        "invalid escape"
    } else {
        "invalid string"
    }
}

/// The JSON form of a message: one object, keys in order of first appearance, string values;
/// a header that repeats becomes an array of its values in order (names compared exactly).
pub fn message_to_json(msg: &Message) -> String {
    let mut out = String::with_capacity(msg.ami_text_len() + 8 * msg.len() + 2);
    write_message_json(&mut out, msg, &[]);
    out
}

/// Appends the JSON form of `msg` (see [`message_to_json`]) to `out`, with `tail` pairs added
/// as the last string members (for example the event sequence number). The caller keeps tail
/// names distinct from the message's own.
pub fn write_message_json(out: &mut String, msg: &Message, tail: &[(&str, &str)]) {
    let headers = &msg.headers;
    let (is_first, next_same) = repeat_chains(headers);
    let mut members = 0;
    out.push('{');
    for (i, (name, value)) in headers.iter().enumerate() {
        if !is_first.get(i).copied().unwrap_or(false) {
            continue;
        }
        if members > 0 {
            out.push(',');
        }
        members += 1;
        push_json_str(out, name);
        out.push(':');
        let mut next = next_same.get(i).copied().flatten();
        if next.is_none() {
            push_json_str(out, value);
            continue;
        }
        out.push('[');
        push_json_str(out, value);
        while let Some(j) = next {
            out.push(',');
            push_json_str(out, headers.get(j).map(|(_, v)| v.as_str()).unwrap_or_default());
            next = next_same.get(j).copied().flatten();
        }
        out.push(']');
    }
    for (name, value) in tail {
        if members > 0 {
            out.push(',');
        }
        members += 1;
        push_json_str(out, name);
        out.push(':');
        push_json_str(out, value);
    }
    out.push('}');
}

/// For each header: whether it is the first with its exact name, and the index of the next
/// header with the same name. Linear time (a hash map past 16 headers).
fn repeat_chains(headers: &[(String, String)]) -> (Vec<bool>, Vec<Option<usize>>) {
    let mut is_first = vec![true; headers.len()];
    let mut next_same = vec![None; headers.len()];
    let mut link = |earlier: usize, later: usize| {
        if let Some(n) = next_same.get_mut(earlier) {
            *n = Some(later);
        }
        if let Some(f) = is_first.get_mut(later) {
            *f = false;
        }
    };
    if headers.len() <= 16 {
        for (j, (name, _)) in headers.iter().enumerate() {
            if let Some(i) = headers.iter().take(j).rposition(|(n, _)| n == name) {
                link(i, j);
            }
        }
    } else {
        let mut last: HashMap<&str, usize> = HashMap::with_capacity(headers.len());
        for (j, (name, _)) in headers.iter().enumerate() {
            if let Some(i) = last.insert(name.as_str(), j) {
                link(i, j);
            }
        }
    }
    (is_first, next_same)
}

/// Appends `s` as a JSON string literal: `"` and `\` escaped, every control character
/// escaped (`\n`, `\r`, `\t`, `\b`, `\f` or `\u00XX`, DEL as `\u007f`), and U+2028 / U+2029
/// escaped so the text is also a valid JavaScript literal.
pub fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    let mut plain = 0;
    for (i, c) in s.char_indices() {
        let escape = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            '\u{8}' => "\\b",
            '\u{c}' => "\\f",
            '\u{0}'..='\u{1f}' | '\u{7f}' | '\u{2028}' | '\u{2029}' => "",
            _ => continue,
        };
        out.push_str(s.get(plain..i).unwrap_or_default());
        if escape.is_empty() {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push_str(escape);
        }
        plain = i + c.len_utf8();
    }
    out.push_str(s.get(plain..).unwrap_or_default());
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(pairs: &[(&str, &str)]) -> Message {
        Message::from_pairs(pairs)
    }

    fn from_json(text: &str) -> Result<Message, ActionError> {
        action_from_json(text, &Limits::default())
    }

    fn bad_type(key: &str, found: &'static str) -> Result<Message, ActionError> {
        Err(ActionError::BadValueType { key: key.into(), found })
    }

    #[test]
    fn json_action_keeps_order_and_expands_arrays() {
        let got = from_json(
            r#" { "Action" : "Originate", "ActionID":"7", "Variable":["A=1","B=2"],
                 "Channel":"Local/100@default", "Empty":"" } "#,
        );
        let want = msg(&[
            ("Action", "Originate"),
            ("ActionID", "7"),
            ("Variable", "A=1"),
            ("Variable", "B=2"),
            ("Channel", "Local/100@default"),
            ("Empty", ""),
        ]);
        assert_eq!(got, Ok(want));
    }

    #[test]
    fn json_string_escapes_are_decoded() {
        let got = from_json(
            r#"{"Action":"UserEvent","Body":"caf\u00e9 \"q\" \\ \/ \ud83d\ude00 \u2028 \t"}"#,
        );
        assert_eq!(
            got.map(|m| m.get("Body").map(str::to_string)),
            Ok(Some("caf\u{e9} \"q\" \\ / \u{1F600} \u{2028} \t".to_string()))
        );
        // Keys are decoded too.
        let got = from_json(r#"{"\u0041ction":"Ping"}"#);
        assert_eq!(got, Ok(msg(&[("Action", "Ping")])));
    }

    #[test]
    fn json_rejects_wrong_shapes() {
        // ROBUSTNESS.md row 21 and 23 (non-string values).
        let cases: &[(&str, Result<Message, ActionError>)] = &[
            ("", Err(ActionError::Empty)),
            ("  \n ", Err(ActionError::Empty)),
            ("[]", Err(ActionError::NotAnObject)),
            (r#""Action""#, Err(ActionError::NotAnObject)),
            ("42", Err(ActionError::NotAnObject)),
            ("null", Err(ActionError::NotAnObject)),
            ("{}", Err(ActionError::MissingAction)),
            (r#"{"Action":"Ping","Timeout":30}"#, bad_type("Timeout", "a number")),
            (r#"{"Action":"Ping","Timeout":-1}"#, bad_type("Timeout", "a number")),
            (r#"{"Action":"Ping","Async":true}"#, bad_type("Async", "a boolean")),
            (r#"{"Action":"Ping","Async":false}"#, bad_type("Async", "a boolean")),
            (r#"{"Action":"Ping","X":null}"#, bad_type("X", "null")),
            (r#"{"Action":"Ping","X":{"a":"b"}}"#, bad_type("X", "an object")),
            (r#"{"Action":"Ping","X":[["a"]]}"#, bad_type("X", "a nested array")),
            (r#"{"Action":"Ping","X":["a",1]}"#, bad_type("X", "a number")),
            (r#"{"Action":"Ping","X":["a",{}]}"#, bad_type("X", "an object")),
            (r#"{"Action":"Ping","X":[]}"#, Err(ActionError::EmptyArray { key: "X".into() })),
            (r#"{"Action":1}"#, bad_type("Action", "a number")),
            (
                r#"{"Action":"Ping","Action":"Originate"}"#,
                Err(ActionError::DuplicateKey { key: "Action".into() }),
            ),
            (
                r#"{"Action":"Ping","X":"1","x":"2"}"#,
                Err(ActionError::DuplicateKey { key: "x".into() }),
            ),
            (r#"{"Action":["Ping","Originate"]}"#, Err(ActionError::SeveralActions)),
            (r#"{"Action":["Ping"]}"#, Ok(msg(&[("Action", "Ping")]))),
        ];
        for (text, want) in cases {
            assert_eq!(&from_json(text), want, "{text}");
        }
    }

    #[test]
    fn json_syntax_errors() {
        let bad = [
            "{",
            "{\"Action\"",
            "{\"Action\":",
            "{\"Action\":\"Ping\"",
            "{\"Action\":\"Ping\",}",
            "{\"Action\":\"Ping\" \"X\":\"1\"}",
            "{\"Action\":\"Ping\"}}",
            "{\"Action\":\"Ping\"} {}",
            "{\"Action\":\"Ping\"}x",
            "{Action:\"Ping\"}",
            "{'Action':'Ping'}",
            "{\"Action\":\"Pi\nng\"}",
            "{\"Action\":\"Ping\\x\"}",
            "{\"Action\":\"Ping\\ud800\"}",
            "{\"Action\":\"Ping\\u12\"}",
            "{\"Action\":\"Ping\",\"X\":[\"a\" \"b\"]}",
            "{\"Action\":\"Ping\",\"X\":[\"a\",]}",
            "{\"Action\":\"Ping\",\"X\":[\"a\"}",
            "{\"Action\":\"Ping\",\"X\":undefined}",
            "{\"Action\":\"Ping\\",
            "\u{feff}{\"Action\":\"Ping\"}",
            "<xml/>",
        ];
        for text in bad {
            match from_json(text) {
                Err(ActionError::BadJson(what)) => assert!(what.contains("at byte"), "{what}"),
                other => panic!("{text:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn json_deep_nesting_is_cheap_and_refused() {
        // ROBUSTNESS.md row 21: 100k levels deep; no recursion happens at all.
        let deep =
            format!("{{\"Action\":\"Ping\",\"X\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        let limits = Limits { max_input: 1 << 20, ..Limits::default() };
        assert_eq!(
            action_from_json(&deep, &limits),
            Err(ActionError::BadValueType { key: "X".into(), found: "a nested array" })
        );
        let deep_obj = "{\"a\":".repeat(100_000);
        assert!(matches!(
            action_from_json(&deep_obj, &limits),
            Err(ActionError::BadValueType { .. })
        ));
        let arrays = "[".repeat(100_000);
        assert_eq!(action_from_json(&arrays, &limits), Err(ActionError::NotAnObject));
    }

    #[test]
    fn json_injection_in_values_is_refused() {
        // ROBUSTNESS.md rows 22 and 23, in their JSON form.
        let cases: &[(&str, &str)] = &[
            (
                r#"{"Action":"Ping","ActionID":"x\r\nAction: Originate\r\nApplication: System\r\nData: id"}"#,
                "CR",
            ),
            (r#"{"Action":"Ping","ActionID":"x\nAction: Originate"}"#, "LF"),
            (r#"{"Action":"Ping","ActionID":"x\u0000"}"#, "NUL"),
            (r#"{"Action":"Ping","ActionID":["ok","x\r\ny"]}"#, "CR"),
            (r#"{"Action":"Ping\r\nAction: Originate"}"#, "CR"),
        ];
        for (text, what) in cases {
            match from_json(text) {
                Err(ActionError::BadValueChar { what: w, .. }) => assert_eq!(&w, what, "{text}"),
                other => panic!("{text} gave {other:?}"),
            }
        }
        let names = [
            r#"{"Action":"Ping","A:B":"1"}"#,
            r#"{"Action":"Ping","A B":"1"}"#,
            r#"{"Action":"Ping","A\rB":"1"}"#,
        ];
        for text in names {
            assert!(matches!(from_json(text), Err(ActionError::BadHeaderName { .. })), "{text}");
        }
        // U+2028 is allowed (decided in validate.rs): it holds no CR or LF byte.
        assert!(from_json(r#"{"Action":"Ping","ActionID":"a\u2028b"}"#).is_ok());
    }

    #[test]
    fn json_limits() {
        // ROBUSTNESS.md row 24.
        let l = Limits::default();
        let huge = format!("{{\"Action\":\"Ping\",\"X\":\"{}\"}}", "a".repeat(1 << 20));
        assert_eq!(
            from_json(&huge),
            Err(ActionError::InputTooLarge { len: huge.len(), limit: l.max_input })
        );
        let long = format!("{{\"Action\":\"Ping\",\"X\":\"{}\"}}", "a".repeat(1001));
        assert!(matches!(from_json(&long), Err(ActionError::ValueTooLong { len: 1001, .. })));
        let fields: Vec<String> = (0..128).map(|i| format!("\"H{i}\":\"v\"")).collect();
        let json = format!("{{\"Action\":\"Ping\",{}}}", fields.join(","));
        assert_eq!(from_json(&json), Err(ActionError::TooManyHeaders { limit: 128 }));
        let json = format!("{{\"Action\":\"Ping\",{}}}", fields[..127].join(","));
        assert_eq!(from_json(&json).map(|m| m.len()), Ok(128));
        let many: Vec<String> = (0..200).map(|i| format!("\"v{i}\"")).collect();
        let json = format!("{{\"Action\":\"Ping\",\"X\":[{}]}}", many.join(","));
        assert_eq!(from_json(&json), Err(ActionError::TooManyHeaders { limit: 128 }));
    }

    #[test]
    fn text_action_parse_table() {
        let l = Limits::default();
        let cases: &[(&str, Result<Message, ActionError>)] = &[
            (
                "Action: Ping\r\nActionID: 1\r\n\r\n",
                Ok(msg(&[("Action", "Ping"), ("ActionID", "1")])),
            ),
            ("Action: Ping\nActionID: 1\n", Ok(msg(&[("Action", "Ping"), ("ActionID", "1")]))),
            ("\r\n\r\nAction:Ping\r\n\r\n\r\n", Ok(msg(&[("Action", "Ping")]))),
            ("Action: \t Ping", Ok(msg(&[("Action", "Ping")]))),
            ("Action: Ping\r\nData: a: b \r\n", Ok(msg(&[("Action", "Ping"), ("Data", "a: b ")]))),
            ("Action: Ping\r\nData:\r\n", Ok(msg(&[("Action", "Ping"), ("Data", "")]))),
            ("", Err(ActionError::Empty)),
            ("\r\n\r\n", Err(ActionError::Empty)),
            ("Action: Ping\r\nno colon\r\n", Err(ActionError::BadLine { line: 2 })),
            ("Action: Ping\r\n\r\nAction: Originate\r\n", Err(ActionError::SeveralMessages)),
            ("Action: Ping\r\n \r\nX: 1\r\n", Err(ActionError::SeveralMessages)),
            (
                "Action: Ping\r\nX: a\rAction: Originate\r\n",
                Err(ActionError::BadValueChar { name: "X".into(), what: "CR" }),
            ),
            (
                "Action: Ping\r\nX: a\0b\r\n",
                Err(ActionError::BadValueChar { name: "X".into(), what: "NUL" }),
            ),
            ("Action: Ping\r\nX Y: 1\r\n", Err(ActionError::BadHeaderName { name: "X Y".into() })),
            ("Action : Ping\r\n", Err(ActionError::BadHeaderName { name: "Action ".into() })),
            ("ActionID: 1\r\n", Err(ActionError::MissingAction)),
            ("Action: Ping\r\naction: Originate\r\n", Err(ActionError::SeveralActions)),
        ];
        for (text, want) in cases {
            assert_eq!(&text_action_parse(text, &l), want, "{text:?}");
        }
        let huge = "X: y\r\n".repeat(30_000);
        assert!(matches!(text_action_parse(&huge, &l), Err(ActionError::InputTooLarge { .. })));
        let many = format!("Action: Ping\r\n{}", "X: y\r\n".repeat(128));
        assert_eq!(text_action_parse(&many, &l), Err(ActionError::TooManyHeaders { limit: 128 }));
    }

    #[test]
    fn json_output_groups_repeats_in_order() {
        let m = msg(&[
            ("Event", "UserEvent"),
            ("Foo", "bar"),
            ("UserEvent", "Probe"),
            ("Foo", "baz"),
            ("foo", "other case"),
            ("Foo", "qux"),
        ]);
        assert_eq!(
            message_to_json(&m),
            r#"{"Event":"UserEvent","Foo":["bar","baz","qux"],"UserEvent":"Probe","foo":"other case"}"#
        );
        assert_eq!(message_to_json(&Message::new()), "{}");
        let mut out = String::new();
        write_message_json(&mut out, &msg(&[("Event", "X")]), &[("WsSeq", "42")]);
        assert_eq!(out, r#"{"Event":"X","WsSeq":"42"}"#);
        let mut out = String::new();
        write_message_json(&mut out, &Message::new(), &[("WsSeq", "1"), ("B", "2")]);
        assert_eq!(out, r#"{"WsSeq":"1","B":"2"}"#);
    }

    #[test]
    fn json_output_groups_large_messages_the_same_way() {
        // Past 16 headers the grouping uses a hash map; the result must not change.
        let mut m = Message::new();
        let mut want = Vec::new();
        for i in 0..40 {
            m.push(format!("K{}", i % 7), i.to_string());
        }
        for k in 0..7 {
            let values: Vec<String> =
                (0..40).filter(|i| i % 7 == k).map(|i| format!("\"{i}\"")).collect();
            want.push(format!("\"K{k}\":[{}]", values.join(",")));
        }
        m.push("Single", "s");
        want.push("\"Single\":\"s\"".to_string());
        assert_eq!(message_to_json(&m), format!("{{{}}}", want.join(",")));
        let small: Message = Message { headers: m.headers[..10].to_vec() };
        let value: serde_json::Value =
            serde_json::from_str(&message_to_json(&small)).unwrap_or_default();
        assert_eq!(value["K0"], serde_json::json!(["0", "7"]));
        assert_eq!(value["K3"], "3");
    }

    #[test]
    fn json_output_escaping() {
        let cases: &[(&str, &str)] = &[
            ("plain", r#""plain""#),
            ("", r#""""#),
            ("q\"b\\s/", r#""q\"b\\s/""#),
            ("a\r\nb\tc", r#""a\r\nb\tc""#),
            ("\u{0}\u{1}\u{8}\u{c}\u{1b}\u{1f}\u{7f}", r#""\u0000\u0001\b\f\u001b\u001f\u007f""#),
            ("\u{2028}x\u{2029}", r#""\u2028x\u2029""#),
            ("caf\u{e9} \u{1F600} \u{85}", "\"caf\u{e9} \u{1F600} \u{85}\""),
            ("</script>", r#""</script>""#),
        ];
        for (input, want) in cases {
            let mut out = String::new();
            push_json_str(&mut out, input);
            assert_eq!(&out, want, "{input:?}");
            // serde_json reads back exactly the input.
            assert_eq!(serde_json::from_str::<String>(&out).ok().as_deref(), Some(*input));
        }
    }

    #[test]
    fn json_output_reads_back_as_the_same_message() {
        let nasty = "x\r\nAction: Originate\0\u{2028}\"\\";
        let m = msg(&[("Event", "T"), ("A", nasty), ("B", "1"), ("A", "2")]);
        let json = message_to_json(&m);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(value["Event"], "T");
        assert_eq!(value["A"], serde_json::json!([nasty, "2"]));
        assert_eq!(value["B"], "1");
        let keys: Vec<&String> = value.as_object().map(|o| o.keys().collect()).unwrap_or_default();
        assert_eq!(keys, ["Event", "A", "B"]);
    }

    #[test]
    fn json_round_trip_of_an_action() {
        let m = msg(&[
            ("Action", "Originate"),
            ("Variable", "A=1"),
            ("Variable", "B=\"2\""),
            ("X", "\u{2028}"),
        ]);
        assert_eq!(from_json(&message_to_json(&m)), Ok(m));
    }
}
