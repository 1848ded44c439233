//! How big glibc's `regcomp` would make a POSIX extended regular expression, estimated before
//! compiling it: glibc copies a repeated subexpression once per repetition (`a{500}` is 500
//! copies, `a+` is `aa*`), so stacked or nested repetitions such as `a++++…` or `(a{99}){99}`
//! grow exponentially and can take gigabytes of the PBX's memory from a pattern of a few bytes
//! (found by fuzzing the eventfilter and Hangup `/regex/` paths).
#![forbid(unsafe_code)]

/// The largest estimated tree accepted: far above any real eventfilter or channel pattern (a
/// pattern's size is about its length unless it repeats), far below what hurts the PBX.
pub const MAX_NODES: u64 = 20_000;

/// Why `pattern` must not reach `regcomp`, if it must not: repetition operators in a row
/// (`a++`, `a*?`, `a{2}+`; POSIX leaves them undefined, and glibc's epsilon closures over them
/// take seconds to gigabytes), or an expansion over [`MAX_NODES`].
pub fn refusal(pattern: &str) -> Option<String> {
    let mut p = Parser { b: pattern.as_bytes(), i: 0, stacked: false };
    let nodes = p.total();
    if p.stacked {
        return Some(
            "repetition operators in a row (such as '++' or '*?') are not accepted".into(),
        );
    }
    (nodes > MAX_NODES)
        .then(|| format!("its repetitions expand to about {nodes} nodes (at most {MAX_NODES})"))
}

/// The estimated number of tree nodes glibc builds for `pattern` (saturating).
pub fn estimated_nodes(pattern: &str) -> u64 {
    Parser { b: pattern.as_bytes(), i: 0, stacked: false }.total()
}

impl Parser<'_> {
    fn total(&mut self) -> u64 {
        let p = self;
        let mut total = p.alternation();
        // An unbalanced ')' ends a group we never opened: regcomp refuses it; count the rest.
        while p.i < p.b.len() {
            p.i += 1;
            total = total.saturating_add(p.alternation());
        }
        total
    }
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    /// A repetition operator followed another on the same atom.
    stacked: bool,
}

impl Parser<'_> {
    /// Branches separated by `|`, up to a `)` or the end.
    fn alternation(&mut self) -> u64 {
        let mut total = self.concatenation();
        while self.b.get(self.i) == Some(&b'|') {
            self.i += 1;
            total = total.saturating_add(1).saturating_add(self.concatenation());
        }
        total
    }

    /// Atoms, each with its repetitions, up to a `|`, a `)` or the end.
    fn concatenation(&mut self) -> u64 {
        let mut total: u64 = 0;
        while let Some(&c) = self.b.get(self.i) {
            if c == b'|' || c == b')' {
                break;
            }
            let mut size = self.atom();
            let mut repeats = 0;
            while let Some(copies) = self.repetition() {
                size = size.saturating_mul(copies).saturating_add(1);
                repeats += 1;
            }
            self.stacked |= repeats > 1;
            total = total.saturating_add(size).saturating_add(1);
        }
        total
    }

    /// One atom: a group, a bracket expression, an escaped or plain character.
    fn atom(&mut self) -> u64 {
        match self.b[self.i] {
            b'(' => {
                self.i += 1;
                let inner = self.alternation();
                if self.b.get(self.i) == Some(&b')') {
                    self.i += 1;
                }
                inner.saturating_add(1)
            }
            b'[' => {
                self.skip_bracket();
                1
            }
            b'\\' => {
                self.i = (self.i + 2).min(self.b.len());
                1
            }
            _ => {
                self.i += 1;
                1
            }
        }
    }

    /// `[...]`, with `]` first (or after `^`) literal and `[:class:]`, `[=x=]`, `[.x.]` inside.
    fn skip_bracket(&mut self) {
        self.i += 1;
        if self.b.get(self.i) == Some(&b'^') {
            self.i += 1;
        }
        if self.b.get(self.i) == Some(&b']') {
            self.i += 1;
        }
        while let Some(&c) = self.b.get(self.i) {
            if c == b'[' && matches!(self.b.get(self.i + 1), Some(b':' | b'=' | b'.')) {
                let close = self.b[self.i + 1];
                self.i += 2;
                while self.i + 1 < self.b.len()
                    && !(self.b[self.i] == close && self.b[self.i + 1] == b']')
                {
                    self.i += 1;
                }
                self.i = (self.i + 2).min(self.b.len());
                continue;
            }
            self.i += 1;
            if c == b']' {
                return;
            }
        }
    }

    /// A repetition after an atom and how many copies glibc makes of it: `*` and `?` keep one,
    /// `+` two (`aa*`), `{m,n}` the larger bound (`{m,}` m + 1). `None`: no repetition here
    /// (a `{` that does not start a bound is an ordinary character to us).
    fn repetition(&mut self) -> Option<u64> {
        match self.b.get(self.i)? {
            b'*' | b'?' => {
                self.i += 1;
                Some(1)
            }
            b'+' => {
                self.i += 1;
                Some(2)
            }
            b'{' => {
                let rest = &self.b[self.i + 1..];
                let end = rest.iter().position(|&c| c == b'}')?;
                let inside = std::str::from_utf8(&rest[..end]).ok()?;
                let (lo, hi) = match inside.split_once(',') {
                    Some((lo, hi)) => (lo, Some(hi)),
                    None => (inside, None),
                };
                let lo: u64 = if lo.is_empty() { 0 } else { lo.parse().ok()? };
                let copies = match hi {
                    None => lo,
                    Some("") => lo + 1,
                    Some(hi) => hi.parse::<u64>().ok()?.max(lo),
                };
                self.i += end + 2;
                Some(copies.max(1))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_patterns_cost_about_their_length() {
        for p in [
            "^Event: Newchannel",
            "Channel: PJSIP/10[0-9]-",
            "(Newstate|Hangup)",
            "[[:alpha:]]+_[]x]*",
            "Uniqueid: [0-9.]{1,32}",
            "a{2,}b?c*\\.",
        ] {
            let n = estimated_nodes(p);
            assert!(n < 200, "{p}: {n}");
        }
    }

    #[test]
    fn stacked_and_nested_repetitions_are_counted_as_glibc_copies_them() {
        assert!(estimated_nodes(&format!("Event:{} Newchannel", "+".repeat(78))) > MAX_NODES);
        assert!(estimated_nodes("((a{99}){99}){99}") > MAX_NODES);
        assert!(estimated_nodes("(x{255}){255}") > MAX_NODES);
        assert!(estimated_nodes("a{255}") < MAX_NODES);
        assert!(estimated_nodes("a++") < 20);
    }

    #[test]
    fn refused_patterns_say_why() {
        // From the fuzzer: 0.24 s of regcomp natively (14 s under ASan) at 2,151 nodes.
        let slow = "```````++/+++++++++?e;tn??++++++++et++++ontains)++++iqueid";
        assert!(refusal(slow).is_some_and(|r| r.contains("in a row")));
        assert!(refusal("a*?").is_some());
        assert!(refusal("a{2}+").is_some());
        assert!(refusal("((a{99}){99}){99}").is_some_and(|r| r.contains("nodes")));
        for ok in ["^Event: (Newchannel|Hangup)$", "(a*)*", "(a?){255}", "x{1,255}", "a+b+"] {
            assert_eq!(refusal(ok), None, "{ok}");
        }
    }

    #[test]
    fn malformed_patterns_do_not_panic() {
        for p in [
            "(",
            ")",
            "((",
            "[",
            "[^",
            "[]",
            "\\",
            "a{",
            "a{9",
            "a{,}",
            "a{99999999999999999999}",
            "[[:",
            "|)|(",
        ] {
            let _ = estimated_nodes(p);
        }
    }
}
