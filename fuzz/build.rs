//! Links stand-ins for the Asterisk symbols the module's rlib refers to (a fuzz binary has no
//! Asterisk to resolve them); see stubs/host.c.

fn main() {
    println!("cargo::rerun-if-changed=stubs/host.c");
    cc::Build::new().file("stubs/host.c").warnings(true).compile("fuzzhoststubs");
}
