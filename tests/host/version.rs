//! `ast_get_version_num`: ASTERISK_VERSION_NUM as Asterisk's Makefile makes it from `.version`
//! (`sed -e 's/^certified\///' -e 's/-cert/./'`, then awk `printf "%01d%02d%02d"` of the first
//! three dot-separated fields); no `.version` (a git checkout) leaves it empty, and an svn
//! checkout sets 999999. The stand-in's version text plays `.version` unless it starts with
//! GIT- (empty) or SVN- (999999).

use std::ffi::{CString, c_char};
use std::sync::OnceLock;

static NUM: OnceLock<CString> = OnceLock::new();

/// Sets the number explicitly (`--asterisk-version-num`).
pub fn set(num: &str) {
    let _ = NUM.set(CString::new(num).unwrap_or_default());
}

/// awk's numeric value of a field: its leading decimal digits (0 when none).
fn awk_num(field: &str) -> u64 {
    let digits: String = field.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or(0)
}

/// The number the Makefile would derive from this version text.
pub fn from_version(version: &str) -> String {
    if version.starts_with("GIT-") {
        return String::new();
    }
    if version.starts_with("SVN-") {
        return "999999".into();
    }
    let v = version.strip_prefix("certified/").unwrap_or(version).replacen("-cert", ".", 1);
    let mut fields = v.split('.');
    let mut next = || fields.next().map_or(0, awk_num);
    let (a, b, c) = (next(), next(), next());
    format!("{a:01}{b:02}{c:02}")
}

fn num() -> &'static CString {
    NUM.get_or_init(|| CString::new(from_version(&crate::version())).unwrap_or_default())
}

/// `ast_get_version_num` (exported through c/security_acl.c).
#[unsafe(no_mangle)]
pub extern "C" fn standin_get_version_num() -> *const c_char {
    num().as_ptr()
}
