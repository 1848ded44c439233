//! ListCategories and GetConfig, reading files of the config directory with Asterisk's parser
//! rules and refusing paths that leave it (`is_restricted_file`).

use super::Session;
use crate::config::{self, Config};
use crate::config_c;

/// 0 allowed, 1 outside the config directory, -1 not found (realpath failed).
fn restricted(file: &str) -> i32 {
    let dir = config_c::dir();
    let name = file.trim();
    let path = if name.starts_with('/') { name.into() } else { dir.join(name) };
    let (Ok(real), Ok(real_dir)) = (std::fs::canonicalize(path), std::fs::canonicalize(&dir))
    else {
        return -1;
    };
    if real.to_string_lossy().starts_with(&*real_dir.to_string_lossy()) { 0 } else { 1 }
}

fn open(s: &Session<'_>) -> Option<Config> {
    let file = s.get("Filename");
    if file.is_empty() {
        s.error("Filename not specified");
        return None;
    }
    match restricted(file) {
        1 => {
            s.error("File requires escalated privileges");
            return None;
        }
        -1 => {
            s.error("Config file not found");
            return None;
        }
        _ => {}
    }
    match config::load(&config_c::dir(), file.trim(), &mut |w| {
        crate::slog!(crate::logger::WARNING, "{w}")
    }) {
        Ok(c) => Some(c),
        Err(config::LoadError::Missing) => {
            s.error("Config file not found");
            None
        }
        Err(config::LoadError::Invalid) => {
            s.error("Config file has invalid format");
            None
        }
    }
}

pub fn list_categories(s: &Session<'_>) -> i32 {
    let Some(cfg) = open(s) else { return 0 };
    s.start_ack();
    let mut n = 0;
    for cat in cfg.categories.iter().filter(|c| !c.template) {
        s.append(&format!("Category-{n:06}: {}\r\n", cat.name));
        n += 1;
    }
    if n == 0 {
        s.append("Error: no categories found\r\n");
    }
    s.append("\r\n");
    0
}

pub fn get_config(s: &Session<'_>) -> i32 {
    let Some(cfg) = open(s) else { return 0 };
    let category = s.get("Category").to_string();
    let with_templates = s.get("Filter").contains("TEMPLATES=include");
    s.start_ack();
    let mut n = 0;
    for cat in &cfg.categories {
        if (cat.template && !with_templates)
            || (!category.is_empty() && !cat.name.eq_ignore_ascii_case(&category))
        {
            continue;
        }
        s.append(&format!("Category-{n:06}: {}\r\n", cat.name));
        if cat.template {
            s.append(&format!("IsTemplate-{n:06}: 1\r\n"));
        }
        if !cat.templates.is_empty() {
            s.append(&format!("Templates-{n:06}: {}\r\n", cat.templates.join(",")));
        }
        for (line, v) in cat.vars.iter().enumerate() {
            s.append(&format!("Line-{n:06}-{line:06}: {}={}\r\n", v.name, v.value));
        }
        n += 1;
    }
    if !category.is_empty() && n == 0 {
        s.append("No categories found\r\n");
    }
    s.append("\r\n");
    0
}
