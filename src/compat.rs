//! Which running Asterisk this build may load into: the core's major, read from its version
//! text or its version number, against the majors our declarations were built and checked for.
//!
//! Version texts come from Asterisk's `build_tools/make_version` and `Makefile`:
//! - a release tarball: `.version` as is, e.g. `22.10.1`, `22.10.1-rc1`, `20.7-cert1` under
//!   `certified/20.7-cert1` (older certified builds print `certified-20.7-cert1`);
//! - a git checkout: `GIT-<mainline branch>-<git describe>`, where the mainline branch is the
//!   major (`20`, from a `development/20/x` branch or `configure.ac`) or `master`;
//! - a subversion checkout: `SVN-<branch>-r<rev>`, e.g. `SVN-branch-13-r4242`;
//! - no version at all: `UNKNOWN__and_probably_unsupported`.
//!
//! `ast_get_version_num()` is `ASTERISK_VERSION_NUM`: `%01d%02d%02d` of `.version` (`220501`)
//! for tarballs, `999999` for svn checkouts and empty for git checkouts, so it is only a fallback.
#![forbid(unsafe_code)]

/// The majors whose headers our declarations were checked against (`asterisk-headers/`,
/// `tests/abi_layout.rs`): the module is built for these.
pub const BUILT_FOR_MAJORS: &[u32] = &[20, 22, 23];

/// Where the running major was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The version text (`ast_get_version()`).
    VersionText,
    /// The version number (`ast_get_version_num()`).
    VersionNum,
}

/// The running core's major, if its version says.
pub fn running_major(version: &str, version_num: &str) -> Option<(u32, Source)> {
    major_of_text(version)
        .map(|m| (m, Source::VersionText))
        .or_else(|| major_of_num(version_num).map(|m| (m, Source::VersionNum)))
}

/// Decides whether to load. `Ok` is the line to log; `Err` the reason to decline, naming what
/// was checked.
pub fn check(version: &str, version_num: &str) -> Result<String, String> {
    let built = BUILT_FOR_MAJORS.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
    let shown_num = if version_num.is_empty() { "empty" } else { version_num };
    match running_major(version, version_num) {
        Some((major, source)) => {
            let from = match source {
                Source::VersionText => format!("from the version text '{version}'"),
                Source::VersionNum => {
                    format!("from ast_get_version_num() '{version_num}' (version text '{version}')")
                }
            };
            if BUILT_FOR_MAJORS.contains(&major) {
                Ok(format!(
                    "loading on Asterisk {version}: running major {major} ({from}); built for \
                     majors {built}"
                ))
            } else {
                Err(format!(
                    "untested Asterisk version '{version}': running major {major} ({from}) is \
                     not one this build was made for (majors {built})"
                ))
            }
        }
        None => Err(format!(
            "untested Asterisk version '{version}': neither the version text nor \
             ast_get_version_num() ({shown_num}) names a major, so it cannot be matched with the \
             majors this build was made for ({built})"
        )),
    }
}

/// The major a version text names, in any of the shapes listed at the top of this file.
pub fn major_of_text(version: &str) -> Option<u32> {
    let v = version.trim();
    if let Some(rest) = strip_prefix_ignore_case(v, "GIT-") {
        // GIT-<mainline branch>-<describe>: the branch is the major, or `master` (none).
        let branch = rest.split('-').next().unwrap_or("");
        return leading_number(branch).filter(|(_, tail)| tail.is_empty()).map(|(n, _)| n);
    }
    if let Some(rest) = strip_prefix_ignore_case(v, "SVN-") {
        // SVN-branch-13-r4242, SVN-tag-13.1.0-r1, SVN-trunk-r1 (none).
        let rest = ["branch-", "tag-", "tags-", "branches-"]
            .iter()
            .find_map(|p| strip_prefix_ignore_case(rest, p))?;
        return leading_number(rest)
            .filter(|(_, t)| t.is_empty() || t.starts_with(['.', '-']))
            .map(|(n, _)| n);
    }
    let release = ["certified/", "certified-"]
        .iter()
        .find_map(|p| strip_prefix_ignore_case(v, p))
        .unwrap_or(v);
    // A dotted release: digits, a dot, a digit (22.10.1, 22.10.1-rc1, 20.7-cert1).
    let (major, tail) = leading_number(release)?;
    let dotted =
        tail.strip_prefix('.').is_some_and(|t| t.starts_with(|c: char| c.is_ascii_digit()));
    dotted.then_some(major)
}

/// The major an `ASTERISK_VERSION_NUM` names: `%01d%02d%02d`, so the number / 10000, except the
/// svn marker 999999 and anything that is not such a number.
pub fn major_of_num(num: &str) -> Option<u32> {
    let n = num.trim();
    if n.len() < 5 || n.len() > 7 || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: u32 = n.parse().ok()?;
    if value == 999_999 || value < 10_000 {
        return None;
    }
    Some(value / 10_000)
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

/// A leading decimal number (at most 4 digits, so nothing overflows) and what follows it.
fn leading_number(text: &str) -> Option<(u32, &str)> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 4 {
        return None;
    }
    Some((text[..digits].parse().ok()?, &text[digits..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_version_shape() {
        let cases: &[(&str, Option<u32>)] = &[
            ("20.5.1", Some(20)),
            ("22.10.1", Some(22)),
            ("23.1.0", Some(23)),
            ("22.10.1-rc1", Some(22)),
            ("20.20.1-cert3", Some(20)),
            ("certified-20.7-cert1", Some(20)),
            ("certified/20.7-cert1", Some(20)),
            ("certified/18.9-cert11", Some(18)),
            ("GIT-20-516d2c60ac", Some(20)),
            ("GIT-22-22.10.1-14-g0123abcM", Some(22)),
            ("git-23-abc", Some(23)),
            ("GIT-master-f0c1c1a", None),
            ("GIT-master-22.10.1-3-gf0c1c1a", None),
            ("GIT-mybranch-f0c1c1a", None),
            ("GIT-20x-abc", None),
            ("SVN-branch-13-r4242", Some(13)),
            ("SVN-branch-1.8-r4242", Some(1)),
            ("SVN-tag-13.1.0-r1", Some(13)),
            ("SVN-trunk-r4242", None),
            ("UNKNOWN__and_probably_unsupported", None),
            ("22", None),
            ("22.", None),
            ("", None),
            ("99999999.1", None),
            ("  22.10.1\n", Some(22)),
        ];
        for (text, want) in cases {
            assert_eq!(major_of_text(text), *want, "{text:?}");
        }
    }

    #[test]
    fn version_numbers() {
        let cases: &[(&str, Option<u32>)] = &[
            ("200501", Some(20)),
            ("221001", Some(22)),
            ("230100", Some(23)),
            ("11801", Some(1)),
            ("999999", None),
            ("", None),
            ("abc", None),
            ("2205", None),
            ("22050100", None),
        ];
        for (num, want) in cases {
            assert_eq!(major_of_num(num), *want, "{num:?}");
        }
    }

    #[test]
    fn text_first_then_number() {
        assert_eq!(running_major("22.10.1", "200501"), Some((22, Source::VersionText)));
        assert_eq!(running_major("GIT-master-abc", "230000"), Some((23, Source::VersionNum)));
        assert_eq!(running_major("GIT-master-abc", ""), None);
        assert_eq!(running_major("SVN-trunk-r1", "999999"), None);
    }

    #[test]
    fn decisions_name_what_was_checked() {
        let ok = check("GIT-20-516d2c60ac", "").unwrap();
        assert!(ok.contains("running major 20") && ok.contains("version text"), "{ok}");
        assert!(ok.contains("built for majors 20, 22, 23"), "{ok}");
        let ok = check("GIT-master-abc", "220000").unwrap();
        assert!(ok.contains("ast_get_version_num() '220000'"), "{ok}");
        let no = check("21.5.0", "210500").unwrap_err();
        assert!(no.contains("untested Asterisk version '21.5.0'") && no.contains("major 21"));
        let no = check("GIT-master-f0c1c1a", "").unwrap_err();
        assert!(no.contains("names a major") && no.contains("(empty)"), "{no}");
    }
}
