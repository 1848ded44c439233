//! Pure AMI text handling with main/manager.c's rules: splitting an action into header lines as
//! `ast_hook_send_action` does, reading headers as `astman_get_header` does, and the
//! `authority_to_str` privilege text.
#![forbid(unsafe_code)]

/// `ARRAY_LEN(m.headers)`: the most header lines an action keeps.
pub const MAX_HEADERS: usize = 128;

/// An action as the manager sees it: at most 128 header lines, in order.
#[derive(Debug, Default, Clone)]
pub struct Message {
    pub headers: Vec<String>,
}

/// Splits action text into header lines: CRLF or a bare LF ends a line, empty lines are skipped,
/// text after the last line end is ignored, and lines past the 128th are silently dropped.
pub fn parse(msg: &[u8]) -> Message {
    let mut headers = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < msg.len() {
        let cr = if msg[i] == b'\r' && msg.get(i + 1) == Some(&b'\n') {
            2
        } else if msg[i] == b'\n' {
            1
        } else {
            i += 1;
            continue;
        };
        if i > start && headers.len() < MAX_HEADERS {
            headers.push(String::from_utf8_lossy(&msg[start..i]).into_owned());
        }
        i += cr;
        start = i;
    }
    Message { headers }
}

impl Message {
    /// The value of the first header called `name` (case-insensitive), leading blanks skipped;
    /// "" when absent.
    pub fn get(&self, name: &str) -> &str {
        self.headers.iter().find_map(|h| value_of(h, name)).unwrap_or("")
    }

    /// Every `Variable:` header value split into `name=value` pairs (comma separated).
    pub fn variables(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for h in &self.headers {
            let Some(v) = value_of(h, "Variable") else { continue };
            for part in v.split(',') {
                if let Some((k, val)) = part.split_once('=') {
                    out.push((k.trim().to_string(), val.to_string()));
                }
            }
        }
        out
    }
}

fn value_of<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    let l = name.len();
    let head = header.get(..l)?;
    if !head.eq_ignore_ascii_case(name) || header.as_bytes().get(l) != Some(&b':') {
        return None;
    }
    header.get(l + 1..).map(|v| v.trim_start_matches([' ', '\t']))
}

/// `perms[]` of manager.c, without the trailing `all` / `none` entries.
pub const PERMS: &[(i32, &str)] = &[
    (1 << 0, "system"),
    (1 << 1, "call"),
    (1 << 2, "log"),
    (1 << 3, "verbose"),
    (1 << 4, "command"),
    (1 << 5, "agent"),
    (1 << 6, "user"),
    (1 << 7, "config"),
    (1 << 8, "dtmf"),
    (1 << 9, "reporting"),
    (1 << 10, "cdr"),
    (1 << 11, "dialplan"),
    (1 << 12, "originate"),
    (1 << 13, "agi"),
    (1 << 15, "cc"),
    (1 << 16, "aoc"),
    (1 << 17, "test"),
    (1 << 18, "security"),
    (1 << 30, "message"),
];

/// `authority_to_str`: every class with a bit in common, then `all` (which shares a bit with any
/// non-zero authority); `<none>` for 0. Used for `Privilege:` and `[Privilege]`.
pub fn authority_to_str(authority: i32) -> String {
    let mut names: Vec<&str> =
        PERMS.iter().filter(|(bit, _)| authority & bit != 0).map(|(_, n)| *n).collect();
    if authority & i32::MAX != 0 {
        names.push("all");
    }
    if names.is_empty() { "<none>".to_string() } else { names.join(",") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_end_at_crlf_or_bare_lf_and_empty_lines_are_skipped() {
        let m = parse(b"Action: Ping\nActionID: 1\r\n\r\n\nX: y\r\ntrailing");
        assert_eq!(m.headers, ["Action: Ping", "ActionID: 1", "X: y"]);
        assert_eq!(m.get("action"), "Ping");
        assert_eq!(m.get("ActionID"), "1");
        assert_eq!(m.get("Act"), "");
        let lone_cr = parse(b"A: 1\rB: 2\n");
        assert_eq!(lone_cr.headers, ["A: 1\rB: 2"]);
    }

    #[test]
    fn only_128_headers_are_kept() {
        let mut text = String::from("Action: UserEvent\r\n");
        for i in 0..200 {
            text.push_str(&format!("H{i}: {i}\r\n"));
        }
        let m = parse(text.as_bytes());
        assert_eq!(m.headers.len(), MAX_HEADERS);
        assert_eq!(m.headers.last().map(String::as_str), Some("H126: 126"));
    }

    #[test]
    fn authority_text_is_as_manager_show_command_prints_it() {
        assert_eq!(authority_to_str(1 << 12), "originate,all");
        assert_eq!(authority_to_str(0), "<none>");
        assert_eq!(authority_to_str(1 | 2 | 512), "system,call,reporting,all");
    }

    #[test]
    fn variables_split_on_commas() {
        let m = parse(b"Variable: A=1,B=2\r\nVariable: C=x=y\r\n\r\n");
        let v = m.variables();
        assert_eq!(v.len(), 3);
        assert_eq!(v[2], ("C".to_string(), "x=y".to_string()));
    }
}
