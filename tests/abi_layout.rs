//! Checks our declarations in asterisk-headers/ against a real Asterisk include tree: every
//! struct size and field offset the module relies on must be identical. Opt-in: set
//! ASTERISK_INCLUDE_DIR (the directory holding asterisk.h and asterisk/*.h).

use std::path::{Path, PathBuf};
use std::process::Command;

/// (struct, field) pairs whose offsets we rely on; an empty field means sizeof.
const LAYOUT: &[(&str, &str)] = &[
    ("ast_module_info", ""),
    ("ast_module_info", "self"),
    ("ast_module_info", "load"),
    ("ast_module_info", "reload"),
    ("ast_module_info", "unload"),
    ("ast_module_info", "name"),
    ("ast_module_info", "description"),
    ("ast_module_info", "key"),
    ("ast_module_info", "flags"),
    ("ast_module_info", "buildopt_sum"),
    ("ast_module_info", "load_pri"),
    ("ast_module_info", "requires"),
    ("ast_module_info", "optional_modules"),
    ("ast_module_info", "enhances"),
    ("ast_module_info", "reserved1"),
    ("ast_module_info", "reserved4"),
    ("ast_module_info", "support_level"),
    ("ast_cli_entry", ""),
    ("ast_cli_entry", "cmda"),
    ("ast_cli_entry", "summary"),
    ("ast_cli_entry", "usage"),
    ("ast_cli_entry", "inuse"),
    ("ast_cli_entry", "module"),
    ("ast_cli_entry", "_full_cmd"),
    ("ast_cli_entry", "cmdlen"),
    ("ast_cli_entry", "args"),
    ("ast_cli_entry", "command"),
    ("ast_cli_entry", "handler"),
    ("ast_cli_entry", "list.next"),
    ("ast_cli_args", ""),
    ("ast_cli_args", "fd"),
    ("ast_cli_args", "argc"),
    ("ast_cli_args", "argv"),
    ("ast_cli_args", "line"),
    ("ast_cli_args", "word"),
    ("ast_cli_args", "pos"),
    ("ast_cli_args", "n"),
    ("ast_variable", ""),
    ("ast_variable", "name"),
    ("ast_variable", "value"),
    ("ast_variable", "next"),
    ("ast_variable", "file"),
    ("ast_variable", "lineno"),
    ("ast_variable", "trailing"),
    ("ast_flags", ""),
    ("manager_custom_hook", ""),
    ("manager_custom_hook", "file"),
    ("manager_custom_hook", "helper"),
    ("manager_custom_hook", "list.next"),
    // What Status reads (asterisk-headers/ami_ws/status.h).
    ("ast_str", ""),
    ("ast_str", "__AST_STR_LEN"),
    ("ast_str", "__AST_STR_USED"),
    ("ast_str", "__AST_STR_TS"),
    ("ast_str", "__AST_STR_STR"),
    ("ast_var_t", "entries.next"),
    ("ast_var_t", "value"),
    ("ast_var_t", "name"),
    ("varshead", ""),
    ("varshead", "first"),
    ("varshead", "last"),
    ("ast_party_name", ""),
    ("ast_party_name", "str"),
    ("ast_party_name", "valid"),
    ("ast_party_number", ""),
    ("ast_party_number", "str"),
    ("ast_party_number", "valid"),
    ("ast_party_subaddress", ""),
    ("ast_party_id", ""),
    ("ast_party_id", "name"),
    ("ast_party_id", "number"),
    ("ast_party_id", "subaddress"),
    ("ast_party_id", "tag"),
    ("ast_party_dialed", ""),
    ("ast_party_dialed", "number.str"),
    ("ast_channel_tech", "type"),
    ("ast_channel_tech", "description"),
    ("ast_channel_snapshot", ""),
    ("ast_channel_snapshot", "bridge"),
    ("ast_channel_snapshot", "state"),
    ("ast_channel_snapshot", "manager_vars"),
    ("ast_channel_snapshot_bridge", "id"),
];

fn probe_source(includes: &str) -> String {
    let mut src =
        format!("{includes}\n#include <stddef.h>\n#include <stdio.h>\nint main(void) {{\n");
    for (s, f) in LAYOUT {
        if f.is_empty() {
            src.push_str(&format!("printf(\"{s} %zu\\n\", sizeof(struct {s}));\n"));
        } else {
            src.push_str(&format!("printf(\"{s}.{f} %zu\\n\", offsetof(struct {s}, {f}));\n"));
        }
    }
    src.push_str("return 0;\n}\n");
    src
}

fn run_probe(dir: &Path, name: &str, src: &str, include_dirs: &[PathBuf]) -> String {
    let c = dir.join(format!("{name}.c"));
    let exe = dir.join(name);
    std::fs::write(&c, src).unwrap();
    let mut cc = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()));
    for d in include_dirs {
        cc.arg("-I").arg(d);
    }
    let out = cc.arg("-o").arg(&exe).arg(&c).output().expect("a C compiler (cc) is needed");
    assert!(
        out.status.success(),
        "{name} probe failed to compile:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().unwrap();
    String::from_utf8(run.stdout).unwrap()
}

fn ours(dir: &Path) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    run_probe(
        dir,
        "ours",
        &probe_source("#include \"ami_ws/all.h\""),
        &[root.join("asterisk-headers")],
    )
}

#[test]
fn our_declarations_compile_and_have_the_known_x86_64_layout_checks() {
    let dir = tempdir("ours");
    let out = ours(&dir);
    assert_eq!(out.lines().count(), LAYOUT.len());
    // Sanity that cannot drift silently: buildopt_sum[33] sits right after flags.
    let get = |k: &str| -> usize {
        out.lines().find_map(|l| l.strip_prefix(&format!("{k} "))).unwrap().parse().unwrap()
    };
    assert_eq!(get("ast_module_info.buildopt_sum"), get("ast_module_info.flags") + 4);
    assert_eq!(get("ast_cli_entry.summary"), 16 * std::mem::size_of::<usize>());
}

#[test]
fn our_declarations_match_a_real_asterisk_include_tree() {
    let Some(real) = std::env::var_os("ASTERISK_INCLUDE_DIR") else {
        eprintln!(
            "skipped: set ASTERISK_INCLUDE_DIR=/path/to/asterisk/include to compare our struct \
             layouts with real Asterisk headers"
        );
        return;
    };
    let real = PathBuf::from(real);
    let dir = tempdir("real");
    let theirs = run_probe(
        &dir,
        "real",
        // asterisk.h refuses to compile for an out-of-tree module that does not name its
        // self symbol and module name (what Asterisk's build passes with -D for every module).
        &probe_source(
            "#define AST_MODULE_SELF_SYM __internal_res_ami_websocket_self\n\
             #define AST_MODULE \"res_ami_websocket\"\n\
             #include \"asterisk.h\"\n#include \"asterisk/module.h\"\n#include \"asterisk/cli.h\"\n\
             #include \"asterisk/config.h\"\n#include \"asterisk/manager.h\"\n\
             #include \"asterisk/channel.h\"\n#include \"asterisk/chanvars.h\"\n\
             #include \"asterisk/strings.h\"\n#include \"asterisk/stasis_channels.h\"",
        ),
        &[real],
    );
    let mine = ours(&dir);
    for (a, b) in mine.lines().zip(theirs.lines()) {
        assert_eq!(a, b, "layout differs (ours vs real)");
    }
    assert_eq!(mine.lines().count(), theirs.lines().count());
    println!("{} sizes and offsets identical to {}", LAYOUT.len(), dir.display());
}

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("amiws-abi-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Every top-level function and `extern` variable declaration in our headers (comments and
/// preprocessor lines removed; struct bodies and typedefs skipped), one per string.
fn our_prototypes() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("asterisk-headers/ami_ws");
    let mut names: Vec<PathBuf> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    let mut out = Vec::new();
    for path in names.iter().filter(|p| p.extension().is_some_and(|e| e == "h")) {
        let text = std::fs::read_to_string(path).unwrap();
        let mut code = String::new();
        let mut rest = text.as_str();
        while let Some(start) = rest.find("/*") {
            code.push_str(&rest[..start]);
            rest = rest[start..].find("*/").map_or("", |end| &rest[start + end + 2..]);
        }
        code.push_str(rest);
        let code: String = code
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        let (mut depth, mut stmt) = (0usize, String::new());
        for ch in code.chars() {
            match ch {
                '{' => depth += 1,
                '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
            stmt.push(ch);
            if ch == ';' && depth == 0 {
                let s = stmt.split_whitespace().collect::<Vec<_>>().join(" ");
                let function = s.contains('(') && !s.contains('{') && !s.starts_with("typedef");
                if function || s.starts_with("extern ") {
                    out.push(s);
                }
                stmt.clear();
            }
        }
    }
    out
}

/// Our function and variable declarations, repeated after the real headers: C accepts a
/// redeclaration only when the types are compatible, so any drift in a parameter or return
/// type (or a symbol the headers no longer declare with that type) fails to compile.
#[test]
fn our_function_declarations_are_compatible_with_a_real_include_tree() {
    let Some(real) = std::env::var_os("ASTERISK_INCLUDE_DIR") else {
        eprintln!("skipped: set ASTERISK_INCLUDE_DIR to compare our function declarations");
        return;
    };
    let protos: Vec<String> = our_prototypes()
        .into_iter()
        .filter(|p| !p.contains("res_ami_websocket_")) // our own glue, not Asterisk's
        .collect();
    assert!(protos.len() >= 30, "too few declarations found: {protos:#?}");
    let mut src = String::from(
        "#define AST_MODULE_SELF_SYM __internal_res_ami_websocket_self\n\
         #define AST_MODULE \"res_ami_websocket\"\n#include \"asterisk.h\"\n",
    );
    for h in [
        "module",
        "logger",
        "cli",
        "config",
        "manager",
        "options",
        "ast_version",
        "pbx",
        "channel",
        "astobj2",
        "strings",
        "chanvars",
        "stasis_channels",
        "format",
        "format_cap",
        "translate",
    ] {
        src.push_str(&format!("#include \"asterisk/{h}.h\"\n"));
    }
    for p in &protos {
        src.push_str(p);
        src.push('\n');
    }
    let dir = tempdir("protos");
    let c = dir.join("protos.c");
    std::fs::write(&c, &src).unwrap();
    let out = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .arg("-fsyntax-only")
        .arg("-Werror")
        .arg("-I")
        .arg(PathBuf::from(real))
        .arg(&c)
        .output()
        .expect("a C compiler (cc) is needed");
    assert!(
        out.status.success(),
        "our declarations conflict with the real headers:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{} declarations compatible:\n  {}", protos.len(), protos.join("\n  "));
}
