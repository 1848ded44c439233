//! Checks an action from a client before it may become AMI text for Asterisk: names, bytes, sizes.
#![forbid(unsafe_code)]

use std::fmt;

use super::message::Message;

/// `AST_MAX_MANHEADERS` (include/asterisk/manager.h): the hook keeps at most this many header
/// lines of an action and silently drops the rest, so no limit may go above it.
pub const AST_MAX_MANHEADERS: usize = 128;

/// Size limits for one action from a client.
///
/// Every limit refuses (never truncates). Defaults:
/// - `max_input` 131072: bytes of the raw client message (JSON or AMI text), checked before
///   any parsing. JSON escapes can make the raw form up to six times the decoded one.
/// - `max_headers` 128: headers including `Action`. Values above [`AST_MAX_MANHEADERS`] are
///   treated as 128, because the hook would silently drop the extra lines.
/// - `max_name_len` 64: bytes of a header name (AMI's longest names are about 40).
/// - `max_value_len` 1000: bytes of one value. Asterisk's TCP reader refuses lines over
///   about 1022 bytes, so no AMI client can send more through a socket either.
/// - `max_total` 65536: bytes of the whole action as AMI text (`Name: value\r\n` lines and
///   the final `\r\n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of the raw client message.
    pub max_input: usize,
    /// Headers per action, `Action` included (never more than [`AST_MAX_MANHEADERS`]).
    pub max_headers: usize,
    /// Bytes per header name.
    pub max_name_len: usize,
    /// Bytes per header value.
    pub max_value_len: usize,
    /// Bytes of the action as AMI text.
    pub max_total: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_input: 128 * 1024,
            max_headers: AST_MAX_MANHEADERS,
            max_name_len: 64,
            max_value_len: 1000,
            max_total: 64 * 1024,
        }
    }
}

impl Limits {
    /// The header limit actually applied: `max_headers`, at most [`AST_MAX_MANHEADERS`].
    pub fn header_limit(&self) -> usize {
        self.max_headers.min(AST_MAX_MANHEADERS)
    }
}

/// Why an action from a client was refused. `Display` gives a one-line text fit for an AMI
/// `Message:` header: anything taken from the client is shortened and escaped, so the text
/// never holds CR, LF, NUL or other control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionError {
    /// The raw message is over `max_input` bytes.
    InputTooLarge { len: usize, limit: usize },
    /// Nothing but white space.
    Empty,
    /// JSON syntax error; the text says what and where (byte offset).
    BadJson(String),
    /// The JSON text is valid but not one object.
    NotAnObject,
    /// A JSON value is not a string or an array of strings.
    BadValueType { key: String, found: &'static str },
    /// A JSON value is an empty array.
    EmptyArray { key: String },
    /// A JSON key appears twice (ASCII case ignored); repeated headers must use an array.
    DuplicateKey { key: String },
    /// AMI text: a line without `:` (1-based line number).
    BadLine { line: usize },
    /// AMI text: a blank line followed by more headers (one action per message).
    SeveralMessages,
    /// More headers than the limit.
    TooManyHeaders { limit: usize },
    /// A header name is empty or has a byte outside `A-Z a-z 0-9 _ -`.
    BadHeaderName { name: String },
    /// A header name is over `max_name_len` bytes.
    HeaderNameTooLong { name: String, limit: usize },
    /// A value holds a forbidden character (`what` names it: CR, LF, NUL, ...).
    BadValueChar { name: String, what: &'static str },
    /// A value is over `max_value_len` bytes.
    ValueTooLong { name: String, len: usize, limit: usize },
    /// The action as AMI text is over `max_total` bytes.
    TooLarge { len: usize, limit: usize },
    /// No `Action` header.
    MissingAction,
    /// More than one `Action` header.
    SeveralActions,
    /// The `Action` value is empty, too long or has a byte outside `A-Z a-z 0-9 _ -`.
    BadActionName { name: String },
}

impl fmt::Display for ActionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ActionError as E;
        match self {
            E::InputTooLarge { len, limit } => {
                write!(f, "Message too large ({len} bytes, limit {limit})")
            }
            E::Empty => write!(f, "Empty message"),
            E::BadJson(what) => write!(f, "Invalid JSON: {}", shown(what)),
            E::NotAnObject => write!(f, "Invalid JSON: an action must be one JSON object"),
            E::BadValueType { key, found } => write!(
                f,
                "Invalid value for '{}': expected a string or an array of strings, found {found}",
                shown(key)
            ),
            E::EmptyArray { key } => write!(f, "Invalid value for '{}': empty array", shown(key)),
            E::DuplicateKey { key } => write!(
                f,
                "Duplicate key '{}': send a repeated header as an array of strings",
                shown(key)
            ),
            E::BadLine { line } => write!(f, "Invalid line {line}: expected 'Name: value'"),
            E::SeveralMessages => write!(f, "Only one action per message"),
            E::TooManyHeaders { limit } => write!(f, "Too many headers (limit {limit})"),
            E::BadHeaderName { name } => write!(
                f,
                "Invalid header name '{}': use only letters, digits, '_' and '-'",
                shown(name)
            ),
            E::HeaderNameTooLong { name, limit } => {
                write!(f, "Header name too long (limit {limit}): '{}'", shown(name))
            }
            E::BadValueChar { name, what } => write!(
                f,
                "Invalid value for '{}': contains {what} (CR, LF, NUL and control characters \
                 other than TAB are not allowed)",
                shown(name)
            ),
            E::ValueTooLong { name, len, limit } => {
                write!(f, "Value of '{}' too long ({len} bytes, limit {limit})", shown(name))
            }
            E::TooLarge { len, limit } => {
                write!(f, "Action too large ({len} bytes, limit {limit})")
            }
            E::MissingAction => write!(f, "Missing action in request"),
            E::SeveralActions => write!(f, "More than one Action header"),
            E::BadActionName { name } => write!(f, "Invalid action name '{}'", shown(name)),
        }
    }
}

impl std::error::Error for ActionError {}

/// At most this many characters of client text appear in an error.
const SHOWN_CHARS: usize = 48;

/// Client text made safe for an error line: control and line-separator characters escaped,
/// shortened to [`SHOWN_CHARS`] characters with `...` when cut.
pub(crate) fn shown(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == SHOWN_CHARS {
            out.push_str("...");
            break;
        }
        if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// True when `name` is a valid header or action name: non-empty, only `A-Z a-z 0-9 _ -`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The forbidden character in `value`, if any, named for an error.
///
/// CR, LF and NUL would end the header line inside Asterisk (the hook splits on `\n` and
/// `\r\n`, C strings end at NUL), letting a value smuggle headers or a second action; other C0
/// controls (and DEL) are refused too, since no AMI value needs them and they could reach logs
/// and consoles. TAB is allowed. Everything else is allowed, U+0085, U+2028 and U+2029
/// included: Asterisk reads bytes and none of them contains a CR or LF byte.
pub fn forbidden_char(value: &str) -> Option<&'static str> {
    value.bytes().find_map(|b| match b {
        b'\r' => Some("CR"),
        b'\n' => Some("LF"),
        0 => Some("NUL"),
        b'\t' => None,
        0x01..=0x1f | 0x7f => Some("a control character"),
        _ => None,
    })
}

/// Checks an action before it may be sent to Asterisk.
///
/// Refuses, in this order: more headers than [`Limits::header_limit`]; an invalid or too
/// long name; a value with a forbidden character ([`forbidden_char`]) or over
/// `max_value_len`; AMI text over `max_total`; no `Action` header, more than one (ASCII case
/// ignored), or an action name that is not a valid name of at most `max_name_len` bytes.
pub fn validate_action(msg: &Message, limits: &Limits) -> Result<(), ActionError> {
    let limit = limits.header_limit();
    if msg.len() > limit {
        return Err(ActionError::TooManyHeaders { limit });
    }
    for (name, value) in &msg.headers {
        if name.len() > limits.max_name_len {
            return Err(ActionError::HeaderNameTooLong {
                name: name.clone(),
                limit: limits.max_name_len,
            });
        }
        if !is_valid_name(name) {
            return Err(ActionError::BadHeaderName { name: name.clone() });
        }
        if let Some(what) = forbidden_char(value) {
            return Err(ActionError::BadValueChar { name: name.clone(), what });
        }
        if value.len() > limits.max_value_len {
            return Err(ActionError::ValueTooLong {
                name: name.clone(),
                len: value.len(),
                limit: limits.max_value_len,
            });
        }
    }
    let len = msg.ami_text_len();
    if len > limits.max_total {
        return Err(ActionError::TooLarge { len, limit: limits.max_total });
    }
    let mut actions = msg.get_all("Action").into_iter();
    let action = actions.next().ok_or(ActionError::MissingAction)?;
    if actions.next().is_some() {
        return Err(ActionError::SeveralActions);
    }
    if !is_valid_name(action) || action.len() > limits.max_name_len {
        return Err(ActionError::BadActionName { name: action.to_string() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(pairs: &[(&str, &str)]) -> Message {
        Message::from_pairs(pairs)
    }

    fn check(pairs: &[(&str, &str)]) -> Result<(), ActionError> {
        validate_action(&msg(pairs), &Limits::default())
    }

    #[test]
    fn accepts_ordinary_actions() {
        let ok: &[&[(&str, &str)]] = &[
            &[("Action", "Ping")],
            &[("Action", "Ping"), ("ActionID", "")],
            &[
                ("action", "Originate"),
                ("Channel", "Local/1@x"),
                ("Variable", "A=1"),
                ("Variable", "B=2"),
            ],
            &[("Action", "PJSIPShow_Endpoints-2"), ("X_y-Z9", "tab\there")],
            &[
                ("Action", "UserEvent"),
                ("Body", "caf\u{e9} \u{2028} \u{2029} \u{85} \u{1F600} \x7e"),
            ],
            &[("Action", "Ping"), ("Data", " leading and trailing ")],
        ];
        for pairs in ok {
            assert_eq!(check(pairs), Ok(()), "{pairs:?}");
        }
    }

    #[test]
    fn refuses_injection_and_bad_names() {
        // ROBUSTNESS.md rows 22 and 23: rejected, never stripped.
        type Case = (&'static [(&'static str, &'static str)], ActionError);
        let bad_char = |name: &str, what| ActionError::BadValueChar { name: name.into(), what };
        let bad_name = |name: &str| ActionError::BadHeaderName { name: name.into() };
        let cases: &[Case] = &[
            (
                &[
                    ("Action", "Ping"),
                    ("ActionID", "x\r\nAction: Originate\r\nApplication: System\r\nData: id"),
                ],
                bad_char("ActionID", "CR"),
            ),
            (
                &[("Action", "Ping"), ("ActionID", "x\nAction: Originate")],
                bad_char("ActionID", "LF"),
            ),
            (
                &[("Action", "Ping"), ("ActionID", "x\rAction: Originate")],
                bad_char("ActionID", "CR"),
            ),
            (&[("Action", "Ping"), ("ActionID", "x\0y")], bad_char("ActionID", "NUL")),
            (
                &[("Action", "Ping"), ("ActionID", "\u{1b}[31m")],
                bad_char("ActionID", "a control character"),
            ),
            (
                &[("Action", "Ping"), ("ActionID", "\x7f")],
                bad_char("ActionID", "a control character"),
            ),
            (&[("Action", "Ping\r\nAction: Originate")], bad_char("Action", "CR")),
            (&[("Action", "Ping"), ("A:B", "1")], bad_name("A:B")),
            (&[("Action", "Ping"), ("A B", "1")], bad_name("A B")),
            (&[("Action", "Ping"), ("A\rB", "1")], bad_name("A\rB")),
            (&[("Action", "Ping"), ("A\nB", "1")], bad_name("A\nB")),
            (&[("Action", "Ping"), ("", "1")], bad_name("")),
            (&[("Action", "Ping"), ("Caf\u{e9}", "1")], bad_name("Caf\u{e9}")),
            (&[("Action", "Ping"), ("A.B", "1")], bad_name("A.B")),
        ];
        for (pairs, want) in cases {
            assert_eq!(check(pairs).as_ref(), Err(want), "{pairs:?}");
        }
    }

    #[test]
    fn refuses_bad_action_headers() {
        let cases: &[(&[(&str, &str)], ActionError)] = &[
            (&[], ActionError::MissingAction),
            (&[("ActionID", "1")], ActionError::MissingAction),
            (&[("Action", "Ping"), ("ACTION", "Originate")], ActionError::SeveralActions),
            (&[("Action", "")], ActionError::BadActionName { name: String::new() }),
            (&[("Action", " Ping")], ActionError::BadActionName { name: " Ping".into() }),
            (&[("Action", "Ping Pong")], ActionError::BadActionName { name: "Ping Pong".into() }),
            (&[("Action", "Ping;")], ActionError::BadActionName { name: "Ping;".into() }),
        ];
        for (pairs, want) in cases {
            assert_eq!(check(pairs).as_ref(), Err(want), "{pairs:?}");
        }
        let long = "A".repeat(65);
        assert_eq!(check(&[("Action", &long)]), Err(ActionError::BadActionName { name: long }));
    }

    #[test]
    fn header_count_limit_is_capped_at_128() {
        // ROBUSTNESS.md row 24: more than 128 fields are refused, not truncated.
        let mut m = msg(&[("Action", "UserEvent")]);
        for i in 1..128 {
            m.push(format!("H{i}"), "v");
        }
        assert_eq!(m.len(), 128);
        assert_eq!(validate_action(&m, &Limits::default()), Ok(()));
        m.push("H128", "v");
        let want = Err(ActionError::TooManyHeaders { limit: 128 });
        assert_eq!(validate_action(&m, &Limits::default()), want);
        let generous = Limits { max_headers: 1000, ..Limits::default() };
        assert_eq!(validate_action(&m, &generous), want);
        let small = Limits { max_headers: 2, ..Limits::default() };
        let three = msg(&[("Action", "Ping"), ("A", "1"), ("B", "2")]);
        assert_eq!(validate_action(&three, &small), Err(ActionError::TooManyHeaders { limit: 2 }));
    }

    #[test]
    fn size_limits() {
        let l = Limits::default();
        let v1000 = "x".repeat(1000);
        let v1001 = "x".repeat(1001);
        assert_eq!(check(&[("Action", "Ping"), ("Data", &v1000)]), Ok(()));
        assert_eq!(
            check(&[("Action", "Ping"), ("Data", &v1001)]),
            Err(ActionError::ValueTooLong { name: "Data".into(), len: 1001, limit: 1000 })
        );
        // Multi-byte characters count in bytes.
        let e1000 = "\u{e9}".repeat(500);
        let e1001 = format!("{e1000}x");
        assert_eq!(check(&[("Action", "Ping"), ("Data", &e1000)]), Ok(()));
        assert!(matches!(
            check(&[("Action", "Ping"), ("Data", &e1001)]),
            Err(ActionError::ValueTooLong { len: 1001, .. })
        ));
        let name64 = "N".repeat(64);
        let name65 = "N".repeat(65);
        assert_eq!(check(&[("Action", "Ping"), (&name64, "")]), Ok(()));
        assert_eq!(
            check(&[("Action", "Ping"), (&name65, "")]),
            Err(ActionError::HeaderNameTooLong { name: name65, limit: 64 })
        );
        // Total: 100 values of 1000 bytes are over 64 KiB.
        let mut m = msg(&[("Action", "UserEvent")]);
        for i in 0..100 {
            m.push(format!("V{i}"), v1000.as_str());
        }
        let len = m.ami_text_len();
        assert!(len > l.max_total);
        assert_eq!(validate_action(&m, &l), Err(ActionError::TooLarge { len, limit: 65536 }));
        let big = Limits { max_total: len, ..l };
        assert_eq!(validate_action(&m, &big), Ok(()));
    }

    #[test]
    fn forbidden_char_table() {
        let cases: &[(&str, Option<&str>)] = &[
            ("", None),
            ("plain", None),
            ("tab\tok", None),
            ("\u{2028}\u{2029}\u{85}", None),
            ("a\rb", Some("CR")),
            ("a\nb", Some("LF")),
            ("a\0b", Some("NUL")),
            ("\x01", Some("a control character")),
            ("\x1f", Some("a control character")),
            ("\x7f", Some("a control character")),
            (" ", None),
        ];
        for (v, want) in cases {
            assert_eq!(forbidden_char(v), *want, "{v:?}");
        }
    }

    #[test]
    fn error_text_is_one_safe_line() {
        let nasty = "a\r\nAction: Originate\0\u{2028}\u{1b}".repeat(10);
        let errors = [
            ActionError::BadHeaderName { name: nasty.clone() },
            ActionError::BadValueChar { name: nasty.clone(), what: "CR" },
            ActionError::DuplicateKey { key: nasty.clone() },
            ActionError::BadActionName { name: nasty.clone() },
            ActionError::BadValueType { key: nasty.clone(), found: "a number" },
            ActionError::BadJson(nasty.clone()),
            ActionError::HeaderNameTooLong { name: nasty.clone(), limit: 64 },
            ActionError::ValueTooLong { name: nasty.clone(), len: 2, limit: 1 },
            ActionError::EmptyArray { key: nasty.clone() },
        ];
        for e in errors {
            let text = e.to_string();
            assert!(!text.chars().any(|c| c.is_control()), "{text:?}");
            assert!(!text.contains('\u{2028}'), "{text:?}");
            assert!(text.contains("..."), "long input is shortened: {text:?}");
            assert!(text.len() < 400, "{text:?}");
        }
        assert_eq!(shown("ok"), "ok");
        assert_eq!(shown("a\r\n"), "a\\r\\n");
        assert_eq!(
            ActionError::BadValueChar { name: "Data".into(), what: "LF" }.to_string(),
            "Invalid value for 'Data': contains LF (CR, LF, NUL and control characters other \
             than TAB are not allowed)"
        );
    }
}
