//! Pure CLI text handling, with main/cli.c's rules: splitting a command line into words
//! (`parse_args`), matching typed words against an entry's words (`word_match`, `find_cli`),
//! and the uptime text of `core show uptime`.
#![forbid(unsafe_code)]

/// Characters with a meaning in an entry's words: `[opt]`, `{a|b}`, `%` (any word).
pub const CLI_RSVD: &[u8] = b"[]{}|*%";

/// `AST_MAX_ARGS`: the most words a command line is split into.
pub const MAX_ARGS: usize = 64;

/// Splits a line into words: blanks separate, `"..."` quotes, `\` escapes the next character.
/// Returns the words and, when the line had too many, the text where it was truncated.
pub fn parse_args(line: &str) -> (Vec<String>, Option<String>) {
    let mut args: Vec<String> = Vec::new();
    let (mut quoted, mut escaped, mut whitespace) = (false, false, true);
    let start = line.trim_start_matches(|c: char| c.is_ascii_whitespace());
    for (i, c) in start.char_indices() {
        if args.len() >= MAX_ARGS - 1 {
            return (args, Some(start[i..].to_string()));
        }
        if c == '"' && !escaped {
            quoted = !quoted;
            if quoted && whitespace {
                args.push(String::new());
                whitespace = false;
            }
        } else if (c == ' ' || c == '\t') && !(quoted || escaped) {
            whitespace = true;
        } else if c == '\\' && !escaped {
            escaped = true;
        } else {
            if whitespace {
                args.push(String::new());
                whitespace = false;
            }
            if let Some(last) = args.last_mut() {
                last.push(c);
            }
            escaped = false;
        }
    }
    (args, None)
}

fn is_rsvd(b: Option<&u8>) -> bool {
    // strchr(cli_rsvd, c) also finds the terminating NUL: the end of a word counts as reserved.
    b.is_none_or(|b| CLI_RSVD.contains(b))
}

/// Whether a typed word matches one word of an entry: plain words compare case-insensitively,
/// `%` takes any word, `[a|b]` / `{a|b}` take one of their alternatives.
pub fn word_match(cmd: Option<&str>, cli_word: Option<&str>) -> bool {
    let (Some(cmd), Some(cli_word)) = (cmd, cli_word) else { return false };
    if cmd.is_empty() || cli_word.is_empty() {
        return false;
    }
    let first = cli_word.as_bytes()[0];
    if !CLI_RSVD.contains(&first) {
        return cmd.eq_ignore_ascii_case(cli_word);
    }
    if first == b'%' {
        return true;
    }
    let hay = cli_word.to_ascii_lowercase();
    let needle = cmd.to_ascii_lowercase();
    let bytes = hay.as_bytes();
    let mut from = 0;
    while let Some(off) = hay.get(from..).and_then(|h| h.find(&needle)) {
        let pos = from + off;
        if pos != 0 && is_rsvd(bytes.get(pos - 1)) && is_rsvd(bytes.get(pos + needle.len())) {
            return true;
        }
        from = pos + 1;
    }
    false
}

fn word(words: &[String], i: usize) -> Option<&str> {
    words.get(i).map(String::as_str).filter(|w| !w.is_empty())
}

/// Finds the entry for typed words. `match_type` 0: the typed words may be longer than the entry
/// (arguments); 1: only an exact match; -1: a mismatch on the last word is accepted.
/// Returns the index of the first exact match, else of the longest candidate.
pub fn find_cli(entries: &[Vec<String>], cmds: &[String], match_type: i32) -> Option<usize> {
    let mut matchlen: isize = -1;
    let mut cand = None;
    for (i, dst) in entries.iter().enumerate() {
        let mut k = 0;
        while word_match(word(cmds, k), word(dst, k)) {
            k += 1;
        }
        let src_done = word(cmds, k).is_none();
        let dst_done = match word(dst, k) {
            None => true,
            Some(w) => w.starts_with('[') && word(dst, k + 1).is_none(),
        };
        if dst_done {
            if src_done {
                return Some(i);
            }
            if match_type != 0 {
                continue;
            }
        } else {
            if src_done {
                continue;
            }
            if match_type != -1 || word(cmds, k + 1).is_some() || word(dst, k + 1).is_some() {
                continue;
            }
        }
        if k as isize > matchlen {
            matchlen = k as isize;
            cand = Some(i);
        }
    }
    cand
}

/// The longest prefix of `cmds` that still names something, plus the first word that does not
/// (what `No such command ... (type 'core show help X' ...)` suggests).
pub fn find_best(entries: &[Vec<String>], cmds: &[String]) -> String {
    let mut taken: Vec<String> = Vec::new();
    for w in cmds {
        taken.push(w.clone());
        if find_cli(entries, &taken, -1).is_none() {
            break;
        }
    }
    let mut out = taken.join(" ");
    out.truncate(79);
    out
}

/// Splits an entry's `command` text into its words (blank separated, at most 15).
pub fn command_words(command: &str) -> Vec<String> {
    command.split_ascii_whitespace().take(15).map(str::to_string).collect()
}

/// `print_uptimestr`
pub fn uptime_str(prefix: &str, mut secs: u64, printsec: bool) -> String {
    if printsec {
        return format!("{prefix}{secs}\n");
    }
    let units = [
        ("year", 365 * 86400),
        ("week", 7 * 86400),
        ("day", 86400),
        ("hour", 3600),
        ("minute", 60),
    ];
    let mut parts = Vec::new();
    for (name, size) in units {
        if secs > size {
            let x = secs / size;
            secs -= x * size;
            parts.push(format!("{x} {name}{}", if x == 1 { "" } else { "s" }));
        }
    }
    if secs > 0 || parts.is_empty() {
        parts.push(format!("{secs} second{}", if secs == 1 { "" } else { "s" }));
    }
    format!("{prefix}{}\n", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        parse_args(s).0
    }

    #[test]
    fn lines_split_on_blanks_quotes_and_escapes() {
        assert_eq!(words("  module  load\tx.so"), ["module", "load", "x.so"]);
        assert_eq!(words(r#"say "two words" here"#), ["say", "two words", "here"]);
        assert_eq!(words(r"a\ b c"), ["a b", "c"]);
        assert_eq!(words(r#"x """#), ["x", ""]);
        let long = vec!["w"; 70].join(" ");
        let (w, cut) = parse_args(&long);
        assert_eq!(w.len(), MAX_ARGS - 1);
        assert!(cut.is_some());
    }

    #[test]
    fn optional_and_alternative_words_match() {
        assert!(word_match(Some("like"), Some("[like]")));
        assert!(word_match(Some("off"), Some("{on|off}")));
        assert!(!word_match(Some("of"), Some("{on|off}")));
        assert!(word_match(Some("SHOW"), Some("show")));
        assert!(word_match(Some("anything"), Some("%")));
        assert!(!word_match(None, Some("show")));
    }

    #[test]
    fn entries_are_found_like_asterisk() {
        let entries =
            vec![words("module show [like]"), words("module load"), words("ws show status")];
        assert_eq!(find_cli(&entries, &words("module show"), 0), Some(0));
        assert_eq!(find_cli(&entries, &words("module show like res"), 0), Some(0));
        assert_eq!(find_cli(&entries, &words("module load x.so"), 0), Some(1));
        assert_eq!(find_cli(&entries, &words("module load x.so"), 1), None);
        assert_eq!(find_cli(&entries, &words("ws show"), 0), None);
        assert_eq!(find_cli(&entries, &words("ws show status"), 1), Some(2));
        assert_eq!(find_best(&entries, &words("module frob x")), "module");
        let entries = vec![words("help"), words("module load")];
        assert_eq!(find_best(&entries, &words("help me x")), "help me");
    }

    #[test]
    fn uptime_reads_like_asterisk() {
        assert_eq!(uptime_str("System uptime: ", 16, false), "System uptime: 16 seconds\n");
        assert_eq!(uptime_str("X: ", 3661, false), "X: 1 hour, 1 minute, 1 second\n");
        assert_eq!(uptime_str("X: ", 120, false), "X: 2 minutes\n");
        assert_eq!(uptime_str("X: ", 0, false), "X: 0 seconds\n");
        assert_eq!(uptime_str("X: ", 5, true), "X: 5\n");
    }
}
