//! Build script: bindings over our own Asterisk declarations, the module's C glue, and the
//! stand-in core's C exports.

use std::env;
use std::path::{Path, PathBuf};

/// The name the loader knows us by; shared by the C glue and the Rust side.
const MODULE_NAME: &str = "res_ami_websocket";

/// Every host function we call: the inventory of Asterisk API this module depends on.
const HOST_FNS: &[&str] = &[
    "ast_module_register",
    "ast_module_unregister",
    "ast_log",
    "ast_cli",
    "__ast_cli_register_multiple",
    "ast_cli_unregister_multiple",
    "ast_cli_command_full",
    "ast_config_load2",
    "ast_config_destroy",
    "ast_category_browse",
    "ast_variable_browse",
    "ast_manager_check_enabled",
    "ast_manager_register_hook",
    "ast_manager_unregister_hook",
    "ast_hook_send_action",
    "ast_get_version",
    "ast_get_version_num",
    "ast_security_event_report",
    "ast_append_acl",
    "ast_apply_acl",
    "ast_apply_acl_nolog",
    "ast_free_acl_list",
    "ast_thread_inhibit_escalations",
    "res_ami_websocket_helper_self",
    "__ao2_ref",
    "ast_channel_get_by_name",
    "ast_channel_name",
    "ast_channel_iterator_all_new",
    "ast_channel_iterator_next",
    "ast_channel_iterator_destroy",
    "ast_channel_softhangup_withcause_locked",
    "__ast_dummy_channel_alloc",
    "pbx_retrieve_variable",
    "ast_func_read",
    "__ast_free",
    "__ao2_lock",
    "__ao2_unlock",
    "ast_var_name",
    "ast_var_value",
    "ast_channel_snapshot_get_latest",
    "ast_manager_build_channel_state_string",
    "ast_channel_uniqueid",
    "ast_channel_appl",
    "ast_channel_data",
    "ast_channel_tech",
    "ast_channel_dialed",
    "ast_channel_connected_effective_id",
    "ast_channel_whentohangup",
    "ast_channel_creationtime",
    "ast_channel_varshead",
    "ast_channel_callgroup",
    "ast_channel_pickupgroup",
    "ast_channel_nativeformats",
    "ast_channel_readformat",
    "ast_channel_writeformat",
    "ast_channel_readtrans",
    "ast_channel_writetrans",
    "ast_format_get_name",
    "ast_format_cap_get_names",
    "ast_translate_path_to_str",
    "ast_str_append",
];

/// Host data we read.
const HOST_VARS: &[&str] = &[
    "option_verbose",
    "option_debug",
    "ast_verb_sys_level",
    "ast_startuptime",
    "ast_lastreloadtime",
    "ast_config_AST_SYSTEM_NAME",
];

/// Host types whose layout we rely on.
const HOST_TYPES: &[&str] = &[
    "ast_module_info",
    "ast_cli_entry",
    "ast_cli_args",
    "ast_variable",
    "ast_flags",
    "manager_custom_hook",
    "manager_hook_t",
    "ast_str",
    "ast_var_t",
    "varshead",
    "ast_party_id",
    "ast_party_dialed",
    "ast_channel_tech",
    "ast_channel_snapshot",
    "ast_channel_snapshot_bridge",
    "ast_sockaddr",
    "ast_security_event_common",
    "ast_security_event_ip_addr",
    "ast_security_event_failed_acl",
    "ast_security_event_inval_acct_id",
    "ast_security_event_session_limit",
    "ast_security_event_req_not_allowed",
    "ast_security_event_req_bad_format",
    "ast_security_event_successful_auth",
    "ast_security_event_chal_resp_failed",
    "ast_security_event_inval_password",
    "prometheus_callback",
    "ami_ws_prometheus_register_fn",
    "ami_ws_prometheus_unregister_fn",
];

fn main() {
    let root =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let headers = root.join("asterisk-headers");
    rerun_hints(&root);
    bindings(&root, &headers, &out);
    module_glue(&root, &headers, &out);
    standin_exports(&root, &headers, &out);
}

fn rerun_hints(root: &Path) {
    for dir in ["asterisk-headers", "module", "tests/host/c"] {
        println!("cargo::rerun-if-changed={}", root.join(dir).display());
    }
    for var in ["ASTERISK_INCLUDE_DIR", "LIBCLANG_PATH", "BINDGEN_EXTRA_CLANG_ARGS"] {
        println!("cargo::rerun-if-env-changed={var}");
    }
}

fn bindings(root: &Path, headers: &Path, out: &Path) {
    let mut builder = bindgen::Builder::default()
        .header(root.join("module/wrapper.h").to_string_lossy())
        .clang_arg(format!("-I{}", headers.display()))
        .clang_arg(format!("-I{}", root.join("module").display()))
        .layout_tests(false)
        .wrap_unsafe_ops(true)
        .generate_cstr(true)
        .size_t_is_usize(true)
        .derive_default(true)
        .default_macro_constant_type(bindgen::MacroTypeVariation::Signed)
        .allowlist_var("AMI_WS_.*")
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()));
    for f in HOST_FNS {
        builder = builder.allowlist_function(f);
    }
    for v in HOST_VARS {
        builder = builder.allowlist_var(v);
    }
    for t in HOST_TYPES {
        builder = builder.allowlist_type(t);
    }
    builder
        .generate()
        .expect("bindgen over asterisk-headers failed")
        .write_to_file(out.join("bindings.rs"))
        .expect("writing bindings.rs failed");
}

/// The module glue is linked into the cdylib only, as a whole archive: plain linking drops the
/// object that holds the constructor, and linking it into the rlib breaks `cargo test`.
fn module_glue(root: &Path, headers: &Path, out: &Path) {
    cc::Build::new()
        .file(root.join("module/module.c"))
        .include(headers)
        .include(root.join("module"))
        .define("AMI_WS_MODULE_NAME", Some(format!("\"{MODULE_NAME}\"").as_str()))
        .warnings(true)
        .extra_warnings(true)
        .cargo_metadata(false)
        .compile("amiwsglue");
    println!("cargo::rustc-cdylib-link-arg=-Wl,--whole-archive");
    println!("cargo::rustc-cdylib-link-arg={}", out.join("libamiwsglue.a").display());
    println!("cargo::rustc-cdylib-link-arg=-Wl,--no-whole-archive");
    println!("cargo::rustc-env=AMI_WS_MODULE_NAME={MODULE_NAME}");
}

/// The stand-in core exports Asterisk's functions (variadic ones need C) to the module it loads.
fn standin_exports(root: &Path, headers: &Path, out: &Path) {
    let dir = root.join("tests/host/c");
    let sources: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "c"))
                .collect()
        })
        .unwrap_or_default();
    if sources.is_empty() {
        return;
    }
    cc::Build::new()
        .files(&sources)
        .include(headers)
        .include(&dir)
        .warnings(true)
        .cargo_metadata(false)
        .compile("standinexports");
    let bin = "asterisk-standin";
    println!("cargo::rustc-link-arg-bin={bin}=-Wl,--export-dynamic");
    println!("cargo::rustc-link-arg-bin={bin}=-Wl,--whole-archive");
    println!("cargo::rustc-link-arg-bin={bin}={}", out.join("libstandinexports.a").display());
    println!("cargo::rustc-link-arg-bin={bin}=-Wl,--no-whole-archive");
    println!("cargo::rustc-link-arg-bin={bin}=-ldl");
    println!("cargo::rustc-link-arg-bin={bin}=-lpthread");
}
