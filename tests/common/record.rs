//! What reached the stand-in core, read back through its CLI: every text passed to
//! `ast_hook_send_action` (`standin show actions`) and what Originate System or a dangerous
//! dialplan function would have run (`standin show executed`).

use super::StandIn;

/// One text the module passed to `ast_hook_send_action`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookText {
    /// Header lines the core kept from it (at most 128).
    pub headers: usize,
    /// The text as sent.
    pub text: String,
}

impl HookText {
    /// The value of the first header `name` (ASCII case ignored), split the way the core splits
    /// lines (CRLF or a bare LF).
    pub fn header(&self, name: &str) -> Option<String> {
        self.text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim_start().to_string())
        })
    }

    /// The `Action` header.
    pub fn action(&self) -> String {
        self.header("Action").unwrap_or_default()
    }
}

/// Every text that reached `ast_hook_send_action` so far, in order.
pub fn hook_texts(s: &StandIn) -> Vec<HookText> {
    let out = s.rx("standin show actions");
    let mut lines = out.lines();
    let count: usize = lines
        .next()
        .and_then(|l| l.strip_prefix("actions: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("unexpected 'standin show actions' output: {out}"));
    let list: Vec<HookText> = lines
        .filter_map(|l| {
            let rest = l.strip_prefix("headers ")?;
            let (n, text) = rest.split_once(": ")?;
            Some(HookText { headers: n.parse().ok()?, text: unescape(text) })
        })
        .collect();
    assert_eq!(list.len(), count, "malformed 'standin show actions' output: {out}");
    list
}

/// Number of texts that reached `ast_hook_send_action` so far.
pub fn hook_count(s: &StandIn) -> usize {
    let out = s.rx("standin show actions");
    out.lines()
        .next()
        .and_then(|l| l.strip_prefix("actions: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("unexpected 'standin show actions' output: {out}"))
}

/// What Originate System and dangerous functions would have run so far.
pub fn executed(s: &StandIn) -> Vec<String> {
    let out = s.rx("standin show executed");
    let mut lines = out.lines();
    let count: usize = lines
        .next()
        .and_then(|l| l.strip_prefix("executed: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("unexpected 'standin show executed' output: {out}"));
    let list: Vec<String> = lines.map(str::to_string).collect();
    assert_eq!(list.len(), count, "malformed 'standin show executed' output: {out}");
    list
}

/// Undoes Rust's `escape_debug` (`\r`, `\n`, `\t`, `\\`, `\"`, `\'`, `\0`, `\u{..}`).
pub fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('0') => out.push('\0'),
            Some('u') => {
                let hex: String = chars.by_ref().skip(1).take_while(|c| *c != '}').collect();
                let ch = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32);
                out.push(ch.unwrap_or('\u{fffd}'));
            }
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}
