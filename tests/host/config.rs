//! Pure config-file parsing with main/config.c's rules: `[section]`, templates `[name](!)`,
//! inheritance `[name](a,b)`, appending `[name](+)`, `key = value`, `key => value`, `key += more`,
//! `;` comments (`\;` escapes, `;-- --;` blocks), `#include` / `#tryinclude`.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

/// One `name = value` line (or an inherited copy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    pub name: String,
    pub value: String,
    /// Written with `=>`.
    pub object: bool,
    /// Copied from a template or base category.
    pub inherited: bool,
    pub lineno: i32,
    pub file: String,
}

/// One `[name]` section.
#[derive(Debug, Clone, Default)]
pub struct Category {
    pub name: String,
    /// `(!)`: a template, hidden from browsing.
    pub template: bool,
    /// The categories it inherited from, in order.
    pub templates: Vec<String>,
    pub vars: Vec<Variable>,
}

/// A parsed file with its includes.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub categories: Vec<Category>,
}

/// Why a file gave no config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadError {
    /// CONFIG_STATUS_FILEMISSING (NULL)
    Missing,
    /// CONFIG_STATUS_FILEINVALID
    Invalid,
}

/// `#include` nesting limit.
const MAX_INCLUDE_LEVEL: usize = 10;
/// `MAX_NESTED_COMMENTS`
const MAX_NESTED_COMMENTS: usize = 128;

/// Loads `file` (relative names are looked up in `dir`). `warn` receives Asterisk's warnings.
pub fn load(dir: &Path, file: &str, warn: &mut dyn FnMut(String)) -> Result<Config, LoadError> {
    let mut cfg = Config::default();
    let mut parser = Parser { dir, cfg: &mut cfg, current: None, level: 0, warn };
    if parser.file(file)? { Ok(cfg) } else { Err(LoadError::Missing) }
}

struct Parser<'a> {
    dir: &'a Path,
    cfg: &'a mut Config,
    /// Index of the category variables go to.
    current: Option<usize>,
    level: usize,
    warn: &'a mut dyn FnMut(String),
}

fn resolve(dir: &Path, file: &str) -> PathBuf {
    if file.starts_with('/') { PathBuf::from(file) } else { dir.join(file) }
}

/// Removes comments from one line, tracking block-comment depth across lines. Returns the text
/// to process, or None when the whole line is inside a block comment.
pub fn strip_comments(line: &str, depth: &mut usize) -> Option<String> {
    let b = line.as_bytes();
    let started_in_comment = *depth > 0;
    let mut out: Vec<u8> = Vec::new();
    let mut seen_text = !started_in_comment;
    let mut region = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c != b';' {
            if *depth == 0 {
                out.push(c);
            }
            i += 1;
            continue;
        }
        if i > region && b[i - 1] == b'\\' {
            if *depth == 0 {
                out.pop();
                out.push(b';');
            }
            i += 1;
            region = i;
        } else if b.get(i + 1) == Some(&b'-')
            && b.get(i + 2) == Some(&b'-')
            && b.get(i + 3) != Some(&b'-')
        {
            if *depth < MAX_NESTED_COMMENTS {
                *depth += 1;
            }
            i += 3;
            region = i;
        } else if *depth > 0 && i >= region + 2 && b[i - 1] == b'-' && b[i - 2] == b'-' {
            *depth -= 1;
            i += 1;
            region = i;
            if *depth == 0 {
                seen_text = true;
            }
        } else if *depth == 0 {
            break;
        } else {
            i += 1;
        }
    }
    if !seen_text {
        return None;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

impl Parser<'_> {
    /// Parses one file; Ok(false) when it does not exist.
    fn file(&mut self, file: &str) -> Result<bool, LoadError> {
        let path = resolve(self.dir, file);
        let Ok(bytes) = std::fs::read(&path) else { return Ok(false) };
        let text = String::from_utf8_lossy(&bytes);
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let shown = path.to_string_lossy().into_owned();
        let mut depth = 0usize;
        for (n, raw) in text.split('\n').enumerate() {
            let Some(line) = strip_comments(raw, &mut depth) else { continue };
            let line = line.trim();
            if !line.is_empty() {
                self.line(line, n as i32 + 1, &shown)?;
            }
        }
        Ok(true)
    }

    fn find(&self, name: &str, templates_too: bool) -> Option<usize> {
        self.cfg
            .categories
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name) && (templates_too || !c.template))
    }

    fn line(&mut self, cur: &str, lineno: i32, file: &str) -> Result<(), LoadError> {
        if let Some(rest) = cur.strip_prefix('[') {
            return self.category(rest, lineno, file);
        }
        if let Some(rest) = cur.strip_prefix('#') {
            return self.directive(rest, lineno, file);
        }
        self.variable(cur, lineno, file)
    }

    fn category(&mut self, rest: &str, lineno: i32, file: &str) -> Result<(), LoadError> {
        let Some((name, after)) = rest.split_once(']') else {
            (self.warn)(format!("parse error: no closing ']', line {lineno} of {file}"));
            return Err(LoadError::Invalid);
        };
        let mut cat = Category { name: name.to_string(), ..Default::default() };
        let mut append_to = None;
        if let Some(opts) = after.strip_prefix('(') {
            let Some((opts, _)) = opts.split_once(')') else {
                (self.warn)(format!("parse error: no closing ')', line {lineno} of {file}"));
                return Err(LoadError::Invalid);
            };
            for opt in opts.split(',') {
                if opt.eq_ignore_ascii_case("!") {
                    cat.template = true;
                } else if opt.starts_with('+') {
                    let Some(i) = self.find(name, false) else {
                        (self.warn)(format!(
                            "Category addition requested, but category '{name}' does not exist, line {lineno} of {file}"
                        ));
                        return Err(LoadError::Invalid);
                    };
                    append_to = Some(i);
                } else {
                    let Some(base) = self.find(opt, true) else {
                        (self.warn)(format!(
                            "Inheritance requested, but category '{opt}' does not exist, line {lineno} of {file}"
                        ));
                        return Err(LoadError::Invalid);
                    };
                    let base = self.cfg.categories[base].clone();
                    cat.templates.push(base.name.clone());
                    cat.vars
                        .extend(base.vars.into_iter().map(|v| Variable { inherited: true, ..v }));
                }
            }
        }
        if let Some(i) = append_to {
            let target = &mut self.cfg.categories[i];
            target.template |= cat.template;
            target.vars.append(&mut cat.vars);
            self.current = Some(i);
        } else {
            self.cfg.categories.push(cat);
            self.current = Some(self.cfg.categories.len() - 1);
        }
        Ok(())
    }

    fn directive(&mut self, rest: &str, lineno: i32, file: &str) -> Result<(), LoadError> {
        let (word, arg) = match rest.find(|c: char| (c as u32) <= 32) {
            Some(i) => (&rest[..i], rest[i..].trim()),
            None => (rest, ""),
        };
        let try_only = match word.to_ascii_lowercase().as_str() {
            "include" => false,
            "tryinclude" => true,
            "exec" => {
                (self.warn)("Cannot perform #exec unless execincludes option is enabled in asterisk.conf (options section)!".into());
                return Ok(());
            }
            _ => {
                (self.warn)(format!("Unknown directive '#{word}' at line {lineno} of {file}"));
                return Ok(());
            }
        };
        if arg.is_empty() {
            (self.warn)(format!(
                "Directive '#{word}' needs an argument (filename) at line {lineno} of {file}"
            ));
            return Ok(());
        }
        let name = match arg.as_bytes()[0] {
            b'"' => arg.strip_prefix('"').and_then(|a| a.strip_suffix('"')).unwrap_or(arg),
            b'<' => arg.strip_prefix('<').and_then(|a| a.strip_suffix('>')).unwrap_or(arg),
            _ => arg,
        };
        if self.level >= MAX_INCLUDE_LEVEL {
            (self.warn)(format!("Maximum Include level ({MAX_INCLUDE_LEVEL}) exceeded"));
            return Err(LoadError::Invalid);
        }
        self.level += 1;
        let found = self.file(name);
        self.level -= 1;
        if !found? && !try_only {
            (self.warn)(format!(
                "The file '{name}' was listed as a #include but it does not exist."
            ));
            return Err(LoadError::Invalid);
        }
        Ok(())
    }

    fn variable(&mut self, cur: &str, lineno: i32, file: &str) -> Result<(), LoadError> {
        let Some(cat) = self.current else {
            (self.warn)(format!("parse error: No category context for line {lineno} of {file}"));
            return Err(LoadError::Invalid);
        };
        let escaped = cur.starts_with('\\');
        let body = if escaped {
            let rest = &cur[1..];
            if rest.bytes().next().is_none_or(|b| b < 33) {
                (self.warn)(format!("Invalid escape in line {lineno} of {file}"));
                return Err(LoadError::Invalid);
            }
            rest
        } else {
            cur
        };
        let from = usize::from(escaped);
        let Some(eq) = body.get(from..).and_then(|b| b.find('=')).map(|i| i + from) else {
            (self.warn)(format!("No '=' (equal sign) in line {lineno} of {file}"));
            return Ok(());
        };
        let (mut name, mut value) = (&body[..eq], &body[eq + 1..]);
        let vars = &mut self.cfg.categories[cat].vars;
        if let Some(n) = name.strip_suffix('+') {
            let n = n.trim();
            if let Some(v) = vars.iter_mut().rev().find(|v| v.name == n) {
                v.value = format!("{}{}", v.value, value).trim().to_string();
                return Ok(());
            }
            name = n;
        }
        let object = value.starts_with('>');
        if object {
            value = &value[1..];
        }
        let name = name.trim();
        if name.is_empty() {
            (self.warn)(format!("No variable name in line {lineno} of {file}"));
            return Ok(());
        }
        vars.push(Variable {
            name: name.to_string(),
            value: value.trim().to_string(),
            object,
            inherited: false,
            lineno,
            file: if self.level == 0 { String::new() } else { file.to_string() },
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(files: &[(&str, &str)]) -> (Result<Config, LoadError>, Vec<String>) {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("standin-config-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        let mut warnings = Vec::new();
        let r = load(&dir, files[0].0, &mut |w| warnings.push(w));
        let _ = std::fs::remove_dir_all(&dir);
        (r, warnings)
    }

    #[test]
    fn sections_values_objects_and_comments() {
        let (cfg, _) = parse(&[(
            "a.conf",
            "; top\n[general]\nenabled = yes ; trailing\nport=>5038\nsemi = a\\;b\n;-- block\n[hidden]\n--;\nx = 1\n",
        )]);
        let cfg = cfg.unwrap();
        assert_eq!(cfg.categories.len(), 1);
        let v = &cfg.categories[0].vars;
        assert_eq!(
            (v[0].name.as_str(), v[0].value.as_str(), v[0].object),
            ("enabled", "yes", false)
        );
        assert_eq!((v[1].name.as_str(), v[1].value.as_str(), v[1].object), ("port", "5038", true));
        assert_eq!(v[2].value, "a;b");
        assert_eq!(v[3].name, "x");
    }

    #[test]
    fn templates_inheritance_append_and_include() {
        let (cfg, _) = parse(&[
            (
                "b.conf",
                "[tmpl](!)\nread = all\n[admin](tmpl)\nsecret = s\n#include \"c.conf\"\n[admin](+)\nextra = 1\n",
            ),
            ("c.conf", "[other]\nk = v\n"),
        ]);
        let cfg = cfg.unwrap();
        let names: Vec<_> = cfg.categories.iter().map(|c| (c.name.as_str(), c.template)).collect();
        assert_eq!(names, [("tmpl", true), ("admin", false), ("other", false)]);
        let admin = &cfg.categories[1];
        assert_eq!(admin.templates, ["tmpl"]);
        let vars: Vec<_> = admin.vars.iter().map(|v| (v.name.as_str(), v.inherited)).collect();
        assert_eq!(vars, [("read", true), ("secret", false), ("extra", false)]);
    }

    #[test]
    fn syntax_errors_make_the_file_invalid() {
        for text in
            ["[open\n", "x = 1\n", "[a](missing)\n", "[a](+)\n", "#include nope.conf\n", "[a](!\n"]
        {
            let (cfg, warnings) = parse(&[("d.conf", text)]);
            assert_eq!(cfg.err(), Some(LoadError::Invalid), "{text:?}");
            assert!(!warnings.is_empty());
        }
        let (cfg, warnings) = parse(&[("e.conf", "[a]\nno equal sign\n#tryinclude nope.conf\n")]);
        assert!(cfg.is_ok());
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn missing_file_is_missing() {
        let mut w = Vec::new();
        assert_eq!(
            load(Path::new("/nonexistent"), "x.conf", &mut |m| w.push(m)).err(),
            Some(LoadError::Missing)
        );
    }
}
