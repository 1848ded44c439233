//! POSIX extended regular expressions through libc, compiled exactly as Asterisk's manager does.
//!
//! Asterisk compiles `eventfilter` patterns with `regcomp(REG_EXTENDED | REG_NOSUB)` and tests
//! them with `regexec`; using the same C library calls gives the same answers (bracket classes,
//! back-references, locale rules and all), which no Rust regex crate would.

use std::ffi::{CStr, CString, c_char};
use std::fmt;

/// Why a pattern could not be compiled or a text could not be matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegexError {
    /// The pattern or the text holds a NUL byte, which a C string cannot carry.
    Nul,
    /// `regcomp` refused the pattern; the text is `regerror`'s explanation.
    Compile(String),
    /// `regexec` failed for a reason other than "no match" (e.g. out of memory).
    Exec(String),
    /// Refused before `regcomp` as too costly for glibc (why, from regex_cost).
    TooComplex(String),
}

impl fmt::Display for RegexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegexError::Nul => f.write_str("NUL byte in regular expression or text"),
            RegexError::TooComplex(why) => write!(f, "regular expression refused: {why}"),
            RegexError::Compile(e) => write!(f, "regular expression does not compile: {e}"),
            RegexError::Exec(e) => write!(f, "regular expression match failed: {e}"),
        }
    }
}

impl std::error::Error for RegexError {}

/// A compiled POSIX extended regular expression (`REG_EXTENDED | REG_NOSUB`).
pub struct PosixRegex {
    /// Boxed so the `regex_t` never moves after `regcomp` filled it in (the C library may keep
    /// pointers into it; POSIX says nothing about relocating a compiled pattern).
    re: Box<libc::regex_t>,
    pattern: String,
}

// SAFETY: a `regex_t` owns its compiled program exclusively (freed once, in Drop); nothing in it
// is tied to the thread that compiled it, so it may move to and be dropped on another thread.
unsafe impl Send for PosixRegex {}
// SAFETY: the only operation through `&self` is `regexec`, which POSIX requires to be
// thread-safe (it is not on the list of functions allowed to be unsafe); glibc serializes its
// internal DFA cache with a lock inside the compiled pattern, musl keeps no shared state.
unsafe impl Sync for PosixRegex {}

impl PosixRegex {
    /// Compiles `pattern` as Asterisk compiles an eventfilter.
    pub fn new(pattern: &str) -> Result<PosixRegex, RegexError> {
        let c_pattern = CString::new(pattern).map_err(|_| RegexError::Nul)?;
        // glibc copies repeated subexpressions: refuse what would take the PBX's memory.
        if let Some(why) = super::regex_cost::refusal(pattern) {
            return Err(RegexError::TooComplex(why));
        }
        // SAFETY: regex_t is a plain C struct for which all-zero bytes is a valid (empty) value;
        // regcomp initializes it fully before any other use.
        let mut re: Box<libc::regex_t> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: `re` points to writable memory for one regex_t and `c_pattern` is a valid
        // NUL-terminated string that outlives the call.
        let rc = unsafe {
            libc::regcomp(&mut *re, c_pattern.as_ptr(), libc::REG_EXTENDED | libc::REG_NOSUB)
        };
        if rc != 0 {
            let msg = error_text(rc, &re);
            // POSIX leaves the regex_t's contents undefined after a failed regcomp and glibc
            // frees its own partial state before returning, so there is nothing to regfree.
            return Err(RegexError::Compile(msg));
        }
        Ok(PosixRegex { re, pattern: pattern.to_owned() })
    }

    /// The pattern as given to [`PosixRegex::new`].
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Whether the pattern matches anywhere in `text`. A NUL in `text` is an error.
    pub fn is_match(&self, text: &str) -> Result<bool, RegexError> {
        let c_text = CString::new(text).map_err(|_| RegexError::Nul)?;
        self.is_match_cstr(&c_text)
    }

    /// Like [`PosixRegex::is_match`] for a text already NUL-terminated (saves a copy when one
    /// text is tested against many patterns).
    pub fn is_match_cstr(&self, text: &CStr) -> Result<bool, RegexError> {
        // SAFETY: `self.re` was initialized by a successful regcomp and is not freed until Drop;
        // `text` is NUL-terminated; nmatch is 0 so the NULL pmatch array is never written.
        let rc = unsafe { libc::regexec(&*self.re, text.as_ptr(), 0, std::ptr::null_mut(), 0) };
        match rc {
            0 => Ok(true),
            libc::REG_NOMATCH => Ok(false),
            other => Err(RegexError::Exec(error_text(other, &self.re))),
        }
    }
}

impl Drop for PosixRegex {
    fn drop(&mut self) {
        // SAFETY: a PosixRegex exists only after a successful regcomp, and this is the single
        // place that frees it.
        unsafe { libc::regfree(&mut *self.re) };
    }
}

impl fmt::Debug for PosixRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PosixRegex").field(&self.pattern).finish()
    }
}

/// `regerror`'s text for an error code.
fn error_text(code: libc::c_int, re: &libc::regex_t) -> String {
    let mut buf = [0 as c_char; 256];
    // SAFETY: `buf` is writable for its full length, which is what we pass; regerror writes a
    // NUL-terminated (possibly truncated) message and only reads `re`.
    unsafe { libc::regerror(code, re, buf.as_mut_ptr(), buf.len()) };
    // SAFETY: regerror NUL-terminates within the given size (size > 0); the last byte is a
    // guard in any case since the buffer was zeroed.
    let msg = unsafe { CStr::from_ptr(buf.as_ptr()) };
    let text = msg.to_string_lossy().into_owned();
    if text.is_empty() { format!("regex error {code}") } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_syntax_matches_like_regexec() {
        // (pattern, text, expected)
        let cases: &[(&str, &str, bool)] = &[
            ("XXX", "Event: Newchannel\r\nChannel: XXX\r\n", true),
            ("X[XYZ]X", "Channel: XZX", true),
            ("X[abc]X", "Channel: XZX", false),
            ("^Event: Newchannel", "Event: Newchannel\r\n", true),
            ("^Channel", "Event: X\r\nChannel: Y", false), // no REG_NEWLINE: ^ is text start only
            ("Newc(h|x)annel", "Newchannel", true),
            ("a{2,3}", "caab", true),
            ("a{2,3}", "cab", false),
            ("[[:digit:]]+$", "Uniqueid: 1234", true),
            ("a+b?", "", false),
            ("", "anything", true),
            ("x|", "y", true), // empty alternative matches
            ("\\.", "a.b", true),
            ("\\.", "ab", false),
        ];
        for (pattern, text, expected) in cases {
            let re = PosixRegex::new(pattern).unwrap();
            assert_eq!(re.is_match(text).unwrap(), *expected, "{pattern:?} on {text:?}");
            assert_eq!(re.pattern(), *pattern);
        }
    }

    #[test]
    fn bad_patterns_are_errors_not_panics() {
        for pattern in ["XX[X", "a(b", "*{", "a{3,2}", "[[:nosuchclass:]]"] {
            match PosixRegex::new(pattern) {
                Err(RegexError::Compile(msg)) => assert!(!msg.is_empty(), "{pattern}"),
                other => panic!("{pattern:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn patterns_that_would_take_gigabytes_are_refused_before_regcomp() {
        // From the fuzzer: each would have glibc allocate over 2 GiB.
        for p in [format!("Event:{} Newchannel", "+".repeat(78)), "((a{99}){99}){99}".into()] {
            let started = std::time::Instant::now();
            assert!(matches!(PosixRegex::new(&p), Err(RegexError::TooComplex(_))), "{p}");
            assert!(started.elapsed() < std::time::Duration::from_secs(1));
        }
        assert!(PosixRegex::new("^Event: (Newchannel|Hangup)$").is_ok());
    }

    #[test]
    fn nul_bytes_are_refused() {
        assert_eq!(PosixRegex::new("a\0b").unwrap_err(), RegexError::Nul);
        let re = PosixRegex::new("a").unwrap();
        assert_eq!(re.is_match("a\0b").unwrap_err(), RegexError::Nul);
    }

    #[test]
    fn shared_across_threads() {
        let re = std::sync::Arc::new(PosixRegex::new("^ab+c$").unwrap());
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let re = re.clone();
                std::thread::spawn(move || {
                    (0..500).all(|n| {
                        let text = format!("a{}c", "b".repeat(1 + (n + i) % 7));
                        re.is_match(&text) == Ok(true) && re.is_match("ac") == Ok(false)
                    })
                })
            })
            .collect();
        for h in handles {
            assert!(h.join().unwrap());
        }
    }

    #[test]
    fn many_compiles_and_drops() {
        // Exercises regfree on every drop (run under valgrind/ASan to see leaks).
        for n in 0..2000 {
            let re = PosixRegex::new(&format!("ab{{{}}}", n % 5 + 1)).unwrap();
            assert!(re.is_match(&format!("a{}", "b".repeat(n % 5 + 1))).unwrap());
        }
    }
}
