//! AMI `eventfilter` rules (manager.conf lines and the `Filter` action), decided as manager.c does.
//!
//! Two spellings, one rule type (Asterisk `manager_add_filter`):
//! - Legacy: `eventfilter = regex` includes, `eventfilter = !regex` excludes; the POSIX
//!   extended regex is searched in the whole event text (`Event: ...\r\nPrivilege: ...\r\n...`).
//! - Advanced: `eventfilter(action(include|exclude),name(Event),header(Name),method(m)) = pattern`
//!   with `m` one of regex, exact, starts_with, ends_with, contains, none (the default when
//!   options are given). `name` must equal the event name exactly; `header` tests the value of
//!   each line starting with `Name:` (first matching line wins). A leading `!` on the pattern
//!   also means exclude unless `action(...)` says otherwise.
//!
//! Decision ([`EventFilters::allows`]): no filters, everything passes; only includes, an event
//! passes when some include matches; only excludes, when none matches; both, when some include
//! matches and no exclude does.
#![forbid(unsafe_code)]

use std::ffi::CString;
use std::fmt;
use std::sync::Arc;

use crate::host::regex::PosixRegex;

/// How a filter compares its pattern with the text it looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchMethod {
    /// POSIX extended regex search (`regexec`).
    Regex,
    /// Whole text equal.
    Exact,
    /// Text begins with the pattern.
    StartsWith,
    /// Text ends with the pattern.
    EndsWith,
    /// Pattern occurs in the text.
    Contains,
    /// Always matches (only name/header presence counts).
    None,
}

impl MatchMethod {
    /// The word used in `method(...)`.
    pub fn name(self) -> &'static str {
        match self {
            MatchMethod::Regex => "regex",
            MatchMethod::Exact => "exact",
            MatchMethod::StartsWith => "starts_with",
            MatchMethod::EndsWith => "ends_with",
            MatchMethod::Contains => "contains",
            MatchMethod::None => "none",
        }
    }

    fn from_name(word: &str) -> Option<MatchMethod> {
        [
            MatchMethod::Regex,
            MatchMethod::Exact,
            MatchMethod::StartsWith,
            MatchMethod::EndsWith,
            MatchMethod::Contains,
            MatchMethod::None,
        ]
        .into_iter()
        .find(|m| m.name() == word)
    }
}

/// Why a filter was refused; the variants are AMI's `FILTER_FORMAT_ERROR` and
/// `FILTER_COMPILE_FAIL`, each with our explanation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilterError {
    /// The criteria or pattern are malformed.
    Format(String),
    /// The regex did not compile.
    Compile(String),
}

impl FilterError {
    /// The `Message:` AMI's Filter action answers with for this error.
    pub fn ami_message(&self) -> &'static str {
        match self {
            FilterError::Format(_) => {
                "Filter was formatted incorrectly.  Check the syntax of the filter given."
            }
            FilterError::Compile(_) => {
                "Filter did not compile.  Check the syntax of the filter given."
            }
        }
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterError::Format(e) => write!(f, "bad eventfilter: {e}"),
            FilterError::Compile(e) => write!(f, "eventfilter regex: {e}"),
        }
    }
}

impl std::error::Error for FilterError {}

/// One compiled filter.
#[derive(Debug)]
struct Filter {
    method: MatchMethod,
    regex: Option<PosixRegex>,
    text: String,
    event_name: Option<String>,
    /// Header name including the trailing `:`.
    header: Option<String>,
    exclude: bool,
}

/// A session's (or a user's) filters. Cloning shares the compiled filters.
#[derive(Clone, Debug, Default)]
pub struct EventFilters {
    include: Vec<Arc<Filter>>,
    exclude: Vec<Arc<Filter>>,
}

impl EventFilters {
    /// No filters: every event passes.
    pub fn new() -> EventFilters {
        EventFilters::default()
    }

    /// Adds a filter given as a manager.conf line: `criteria` is the key (`eventfilter` or
    /// `eventfilter(...)`), `pattern` the value (possibly empty, possibly starting with `!`).
    pub fn add(&mut self, criteria: &str, pattern: &str) -> Result<(), FilterError> {
        let filter = parse(criteria, pattern)?;
        if filter.exclude {
            self.exclude.push(Arc::new(filter));
        } else {
            self.include.push(Arc::new(filter));
        }
        Ok(())
    }

    /// Adds a filter from the `Filter` action's `MatchCriteria` (may be empty) and `Filter`
    /// headers, as AMI does (`eventfilter(<MatchCriteria>)` = `<Filter>`).
    pub fn add_from_action(
        &mut self,
        match_criteria: &str,
        filter: &str,
    ) -> Result<(), FilterError> {
        if match_criteria.is_empty() {
            self.add("eventfilter", filter)
        } else {
            self.add(&format!("eventfilter({match_criteria})"), filter)
        }
    }

    /// Number of (include, exclude) filters.
    pub fn counts(&self) -> (usize, usize) {
        (self.include.len(), self.exclude.len())
    }

    /// True when no filter is set.
    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    /// Whether an event passes: `event_name` is the `Event:` value, `body` the whole AMI text.
    pub fn allows(&self, event_name: &str, body: &str) -> bool {
        if self.is_empty() {
            return true;
        }
        let mut subject = Subject { name: event_name, body, body_c: None };
        let any = |list: &[Arc<Filter>], s: &mut Subject| list.iter().any(|f| f.matches(s));
        match (self.include.is_empty(), self.exclude.is_empty()) {
            (false, true) => any(&self.include, &mut subject),
            (true, false) => !any(&self.exclude, &mut subject),
            _ => any(&self.include, &mut subject) && !any(&self.exclude, &mut subject),
        }
    }
}

/// The event under test, with the NUL-terminated body made once for all whole-body regexes.
struct Subject<'a> {
    name: &'a str,
    body: &'a str,
    body_c: Option<Option<CString>>,
}

impl Filter {
    fn matches(&self, s: &mut Subject<'_>) -> bool {
        if let Some(name) = &self.event_name {
            if name != s.name {
                return false;
            }
        }
        let Some(header) = &self.header else {
            if self.method == MatchMethod::Regex {
                let body = s.body;
                let c = s.body_c.get_or_insert_with(|| CString::new(body).ok());
                return match (c, &self.regex) {
                    (Some(c), Some(re)) => re.is_match_cstr(c).unwrap_or(false),
                    _ => false,
                };
            }
            return self.matches_text(s.body);
        };
        s.body.split('\n').any(|line| {
            let line = line.strip_suffix('\r').unwrap_or(line);
            match line.strip_prefix(header.as_str()) {
                Some(rest) => {
                    let value = rest.trim_start_matches(|c: char| (c as u32) < 33);
                    !value.is_empty() && self.matches_text(value)
                }
                None => false,
            }
        })
    }

    fn matches_text(&self, text: &str) -> bool {
        match self.method {
            MatchMethod::Regex => match &self.regex {
                Some(re) => re.is_match(text).unwrap_or(false),
                None => false,
            },
            MatchMethod::Exact => text == self.text,
            MatchMethod::StartsWith => text.starts_with(&self.text),
            MatchMethod::EndsWith => text.ends_with(&self.text),
            MatchMethod::Contains => text.contains(&self.text),
            MatchMethod::None => true,
        }
    }
}

/// `manager_add_filter`'s parse.
fn parse(criteria: &str, pattern: &str) -> Result<Filter, FilterError> {
    let fmt_err = |why: &str| FilterError::Format(format!("'{criteria} = {pattern}': {why}"));
    if criteria.is_empty() {
        return Err(fmt_err("missing criteria"));
    }
    let (mut exclude, pattern) = match pattern.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, pattern),
    };
    let mut method = MatchMethod::Regex;
    let mut event_name = None;
    let mut header = None;
    match criteria.split_once('(') {
        None if pattern.is_empty() => return Err(fmt_err("legacy filter without a pattern")),
        None => {}
        Some((_, options)) => {
            method = MatchMethod::None;
            let options = strip(options);
            if options.is_empty() || !options.ends_with(')') {
                return Err(fmt_err("filter options not formatted correctly"));
            }
            let mut found = false;
            for option in options.split([' ', ',', ')']).filter(|t| !t.is_empty()) {
                let arg =
                    || option.split_once('(').map(|(_, a)| strip(a)).filter(|a| !a.is_empty());
                if option.starts_with("action") {
                    exclude = match arg() {
                        Some("include") => false,
                        Some("exclude") => true,
                        _ => return Err(fmt_err(&format!("bad action option '{option}'"))),
                    };
                } else if option.starts_with("name") {
                    let name = arg().ok_or_else(|| fmt_err("'name' not formatted correctly"))?;
                    event_name = Some(name.to_owned());
                } else if option.starts_with("header") {
                    let h = arg().ok_or_else(|| fmt_err("'header' not formatted correctly"))?;
                    header = Some(if h.ends_with(':') { h.to_owned() } else { format!("{h}:") });
                } else if option.starts_with("method") {
                    let word = arg().ok_or_else(|| fmt_err("'method' not formatted correctly"))?;
                    method = MatchMethod::from_name(word)
                        .ok_or_else(|| fmt_err(&format!("method '{word}' is unknown")))?;
                } else {
                    return Err(fmt_err(&format!("filter option '{option}' is unknown")));
                }
                found = true;
            }
            if !found {
                return Err(fmt_err("no action, name, header, or method option found"));
            }
            if pattern.is_empty() && method != MatchMethod::None {
                return Err(fmt_err(&format!(
                    "method can't be '{}' with no pattern",
                    method.name()
                )));
            }
            if !pattern.is_empty() && method == MatchMethod::None {
                return Err(fmt_err("method can't be 'none' with a filter pattern"));
            }
            if event_name.is_none() && header.is_none() && method == MatchMethod::None {
                return Err(fmt_err("no name or header option found and no filter pattern"));
            }
        }
    }
    let regex = if method == MatchMethod::Regex && !pattern.is_empty() {
        Some(
            PosixRegex::new(pattern)
                .map_err(|e| FilterError::Compile(format!("'{pattern}': {e}")))?,
        )
    } else {
        None
    };
    Ok(Filter { method, regex, text: pattern.to_owned(), event_name, header, exclude })
}

/// `ast_strip`: removes leading and trailing bytes below 33 (blanks and control characters).
fn strip(s: &str) -> &str {
    s.trim_matches(|c: char| (c as u32) < 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEWCHAN: (&str, &str) = (
        "Newchannel",
        "Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/alice-0001\r\n\
         ChannelState: 0\r\nExten: 100\r\n\r\n",
    );
    const LOCALCHAN: (&str, &str) = (
        "Newchannel",
        "Event: Newchannel\r\nPrivilege: call,all\r\nChannel: Local/100@ctx-0001;1\r\n\r\n",
    );
    const HANGUP: (&str, &str) = (
        "Hangup",
        "Event: Hangup\r\nPrivilege: call,all\r\nChannel: PJSIP/bob-0002\r\nCause: 16\r\n\r\n",
    );
    const VARSET: (&str, &str) = (
        "VarSet",
        "Event: VarSet\r\nPrivilege: dialplan,all\r\nChannel: PJSIP/bob-0002\r\n\
         Variable: FOO\r\nValue: bar\r\n\r\n",
    );

    #[derive(Debug, PartialEq)]
    enum Want {
        Format,
        Compile,
        /// Added; then whether each of NEWCHAN, LOCALCHAN, HANGUP, VARSET passes it alone.
        Pass([bool; 4]),
    }

    #[test]
    fn one_filter_parse_and_decision() {
        use Want::*;
        let cases: &[(&str, &str, Want)] = &[
            // Legacy include / exclude, regex over the whole text.
            ("eventfilter", "Event: Newchannel", Pass([true, true, false, false])),
            ("eventfilter", "!Channel: Local/", Pass([true, false, true, true])),
            ("eventfilter", "^Event: (Hangup|VarSet)", Pass([false, false, true, true])),
            ("eventfilter", "Channel: PJSIP/(alice|bob)-", Pass([true, false, true, true])),
            ("eventfilter", "Privilege: call", Pass([true, true, true, false])),
            // Any key starting with eventfilter and no '(' is legacy.
            ("eventfilterXYZ", "Cause: 16", Pass([false, false, true, false])),
            // Advanced: name only (method none implied, empty pattern).
            ("eventfilter(name(Hangup))", "", Pass([false, false, true, false])),
            ("eventfilter(name(hangup))", "", Pass([false, false, false, false])),
            ("eventfilter(action(exclude),name(VarSet))", "", Pass([true, true, true, false])),
            // Header methods.
            (
                "eventfilter(header(Channel),method(starts_with))",
                "Local/",
                Pass([false, true, false, false]),
            ),
            (
                "eventfilter(action(exclude),header(Channel),method(starts_with))",
                "Local/",
                Pass([true, false, true, true]),
            ),
            (
                "eventfilter(name(Newchannel),header(Channel:),method(ends_with))",
                "-0001",
                Pass([true, false, false, false]),
            ),
            (
                "eventfilter(header(Channel),method(exact))",
                "PJSIP/bob-0002",
                Pass([false, false, true, true]),
            ),
            ("eventfilter(header(Channel),method(exact))", "PJSIP/bob", Pass([false; 4])),
            ("eventfilter(header(Value),method(contains))", "a", Pass([false, false, false, true])),
            (
                "eventfilter(header(Channel),method(regex))",
                "^PJSIP/[a-z]+-000[12]$",
                Pass([true, false, true, true]),
            ),
            // Header present with any value (method none).
            ("eventfilter(header(Cause))", "", Pass([false, false, true, false])),
            // Whole-text methods with a name.
            (
                "eventfilter(name(Newchannel),method(contains))",
                "Exten: 100",
                Pass([true, false, false, false]),
            ),
            // '!' on the pattern excludes unless action says otherwise.
            (
                "eventfilter(name(Hangup),header(Cause),method(exact))",
                "!16",
                Pass([true, true, false, true]),
            ),
            (
                "eventfilter(action(include),header(Cause),method(exact))",
                "!16",
                Pass([false, false, true, false]),
            ),
            // Options may come in any order and be separated by spaces too.
            (
                "eventfilter(method(exact), header(Variable), action(include))",
                "FOO",
                Pass([false, false, false, true]),
            ),
            // Format errors.
            ("eventfilter", "", Format),
            ("eventfilter", "!", Format),
            ("", "x", Format),
            ("eventfilter()", "x", Format),
            ("eventfilter(", "x", Format),
            // Only the outer ")" is checked, so one missing ")" still parses (as in AMI).
            ("eventfilter(name(Hangup)", "", Pass([false, false, true, false])),
            ("eventfilter(name(Hangup", "", Format),
            ("eventfilter(action(include))", "", Format),
            ("eventfilter(action(inclde),name(X))", "", Format),
            ("eventfilter(action,name(X))", "", Format),
            ("eventfilter(name())", "", Format),
            ("eventfilter(name)", "", Format),
            ("eventfilter(header())", "", Format),
            ("eventfilter(header)", "", Format),
            ("eventfilter(method(fuzzy),name(X))", "a", Format),
            ("eventfilter(method(),name(X))", "a", Format),
            ("eventfilter(nme(X))", "", Format),
            ("eventfilter(name(X) extra)", "", Format),
            ("eventfilter(name(X),method(regex))", "", Format),
            ("eventfilter(name(X),method(exact))", "", Format),
            ("eventfilter(name(X))", "abc", Format),
            ("eventfilter(name(X),method(none))", "abc", Format),
            ("eventfilter(method(none))", "", Format),
            // Compile errors.
            ("eventfilter", "Channel: [abc", Compile),
            ("eventfilter(header(Channel),method(regex))", "(x", Compile),
        ];
        let events = [NEWCHAN, LOCALCHAN, HANGUP, VARSET];
        for (criteria, pattern, want) in cases {
            let mut f = EventFilters::new();
            let got = match f.add(criteria, pattern) {
                Err(FilterError::Format(_)) => Format,
                Err(FilterError::Compile(_)) => Compile,
                Ok(()) => Pass(events.map(|(name, body)| f.allows(name, body))),
            };
            assert_eq!(&got, want, "{criteria} = {pattern}");
        }
    }

    #[test]
    fn include_and_exclude_precedence() {
        // Includes: all Newchannel, and Hangup with cause 16.  Excludes: Local channels, and
        // anything on alice.
        let mut f = EventFilters::new();
        f.add("eventfilter(name(Newchannel))", "").unwrap();
        f.add("eventfilter(name(Hangup),header(Cause),method(exact))", "16").unwrap();
        f.add("eventfilter", "!Channel: Local/").unwrap();
        f.add("eventfilter(action(exclude),header(Channel),method(contains))", "alice").unwrap();
        assert_eq!(f.counts(), (2, 2));
        let cases: &[((&str, &str), bool)] = &[
            (NEWCHAN, false),   // included, then excluded (alice)
            (LOCALCHAN, false), // included, then excluded (Local/)
            (HANGUP, true),     // included by cause, not excluded
            (VARSET, false),    // no include matches
            (("Hangup", "Event: Hangup\r\nChannel: PJSIP/bob\r\nCause: 17\r\n\r\n"), false),
            (("Newchannel", "Event: Newchannel\r\nChannel: PJSIP/carol\r\n\r\n"), true),
        ];
        for ((name, body), want) in cases {
            assert_eq!(f.allows(name, body), *want, "{body:?}");
        }
    }

    #[test]
    fn no_filters_pass_everything_and_clones_share() {
        let f = EventFilters::new();
        assert!(f.is_empty());
        assert!(f.allows("Anything", ""));
        let mut user = EventFilters::new();
        user.add("eventfilter", "Event: Hangup").unwrap();
        let mut session = user.clone();
        session.add("eventfilter", "!Cause: 16").unwrap();
        // The user's list is untouched by the session's additions.
        assert_eq!(user.counts(), (1, 0));
        assert_eq!(session.counts(), (1, 1));
        assert!(user.allows(HANGUP.0, HANGUP.1));
        assert!(!session.allows(HANGUP.0, HANGUP.1));
    }

    #[test]
    fn header_lines_like_manager_c() {
        let mut f = EventFilters::new();
        f.add("eventfilter(header(Foo),method(exact))", "two").unwrap();
        let cases: &[(&str, bool)] = &[
            // Any of several same-name lines may match.
            ("Event: UserEvent\r\nFoo: one\r\nFoo: two\r\n\r\n", true),
            // Blanks after the colon are skipped; an empty value is never tested.
            ("Event: UserEvent\r\nFoo:\t  two\r\n", true),
            ("Event: UserEvent\r\nFoo:\r\nFoo: one\r\n", false),
            // The header name is a case-sensitive prefix of the line, colon included.
            ("Event: UserEvent\r\nfoo: two\r\n", false),
            ("Event: UserEvent\r\nFooBar: two\r\n", false),
            // Bare LF line ends work, trailing CR is removed before comparing.
            ("Event: UserEvent\nFoo: two\n", true),
            ("Event: UserEvent\r\nFoo: two", true),
            ("Event: UserEvent\r\nFoo: two \r\n", false),
        ];
        for (body, want) in cases {
            assert_eq!(f.allows("UserEvent", body), *want, "{body:?}");
        }
    }

    #[test]
    fn nul_in_event_text_never_matches_a_regex() {
        let mut inc = EventFilters::new();
        inc.add("eventfilter", "Hangup").unwrap();
        assert!(!inc.allows("Hangup", "Event: Hangup\0\r\n"));
        assert!(inc.allows("Hangup", "Event: Hangup\r\n"));
        let mut hdr = EventFilters::new();
        hdr.add("eventfilter(header(X),method(regex))", "a").unwrap();
        assert!(!hdr.allows("E", "X: a\0b\r\n"));
    }

    #[test]
    fn filter_action_form() {
        let mut f = EventFilters::new();
        f.add_from_action("", "Event: Hangup").unwrap();
        f.add_from_action("action(exclude),header(Channel),method(starts_with)", "PJSIP/b")
            .unwrap();
        assert_eq!(f.counts(), (1, 1));
        assert!(!f.allows(HANGUP.0, HANGUP.1));
        assert!(f.allows("Hangup", "Event: Hangup\r\nChannel: Local/x\r\n"));
        let err = f.add_from_action("name(", "x").unwrap_err();
        assert_eq!(
            err.ami_message(),
            "Filter was formatted incorrectly.  Check the syntax of the filter given."
        );
        let err = f.add_from_action("", "[").unwrap_err();
        assert_eq!(
            err.ami_message(),
            "Filter did not compile.  Check the syntax of the filter given."
        );
        assert_eq!(f.counts(), (1, 1), "failed adds leave the list unchanged");
    }

    #[test]
    fn shareable_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<EventFilters>();
        let mut f = EventFilters::new();
        f.add("eventfilter(\tname(\tHangup\t)\n", "").unwrap();
        assert!(f.allows("Hangup", "Event: Hangup\r\n\r\n"));
        assert!(!f.allows("Newchannel", "Event: Newchannel\r\n\r\n"));
    }

    #[test]
    fn method_names_round_trip() {
        for word in ["regex", "exact", "starts_with", "ends_with", "contains", "none"] {
            assert_eq!(MatchMethod::from_name(word).map(MatchMethod::name), Some(word));
        }
        assert_eq!(MatchMethod::from_name("Regex"), None);
    }
}
