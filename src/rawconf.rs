//! A config file as Asterisk's config API hands it over: ordered sections of ordered pairs.
#![forbid(unsafe_code)]

/// One `[name]` section with its `key = value` lines in file order (keys may repeat).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Section {
    /// The category name, without brackets.
    pub name: String,
    /// Every variable in order, as (name, value).
    pub entries: Vec<(String, String)>,
}

#[cfg(test)]
impl Section {
    /// A section from string pairs (tests).
    pub fn of(name: &str, entries: &[(&str, &str)]) -> Section {
        Section {
            name: name.to_owned(),
            entries: entries.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }
}

impl Section {
    /// The last value of `key` (Asterisk's `ast_variable_retrieve` returns the first match of a
    /// category; for options set once both agree). Keys compare case-insensitively like Asterisk.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.entries
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// A whole file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawConfig {
    /// Sections in file order.
    pub sections: Vec<Section>,
}

impl RawConfig {
    /// The first section called `name` (case-insensitive, as Asterisk compares categories).
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name.eq_ignore_ascii_case(name))
    }
}

/// What loading a config file gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Loaded {
    /// The file does not exist (`CONFIG_STATUS_FILEMISSING`).
    Missing,
    /// The file has a syntax error (`CONFIG_STATUS_FILEINVALID`).
    Invalid,
    /// The file's contents.
    File(RawConfig),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_keep_order_and_get_returns_the_last() {
        let s = Section {
            name: "x".into(),
            entries: vec![("a".into(), "1".into()), ("A".into(), "2".into())],
        };
        assert_eq!(s.get("a"), Some("2"));
        assert_eq!(s.all("a").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(s.get("b"), None);
    }
}
