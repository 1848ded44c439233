//! What load says and does about its surroundings: the running Asterisk version, AMI disabled,
//! a missing or invalid ami_websocket.conf, and a port already in use.

mod common;

use common::{Opts, StandIn};

const NAME: &str = "res_ami_websocket.so";

fn running(s: &StandIn) -> bool {
    s.rx("module show like res_ami_websocket")
        .lines()
        .any(|l| l.starts_with(NAME) && l.contains(" Running") && !l.contains("Not Running"))
}

fn start_as(version: &str, num: Option<&str>) -> StandIn {
    let mut extra_args = vec!["--asterisk-version".into(), version.into()];
    if let Some(n) = num {
        extra_args.extend(["--asterisk-version-num".into(), n.into()]);
    }
    StandIn::start(&[], Opts { extra_args, ..Opts::default() })
}

#[test]
fn loads_on_built_for_majors_and_declines_others_with_what_was_checked() {
    // (version text, version number or the Makefile's default, major the log must name)
    let loads: &[(&str, Option<&str>, &str)] = &[
        ("20.20.1", None, "running major 20 (from the version text"),
        ("22.10.1", None, "running major 22 (from the version text"),
        ("23.1.0", None, "running major 23 (from the version text"),
        ("22.10.1-rc1", None, "running major 22"),
        ("certified/20.7-cert1", None, "running major 20"),
        ("certified-20.7-cert1", None, "running major 20"),
        ("GIT-20-516d2c60ac", None, "running major 20 (from the version text 'GIT-20-516d2c60ac')"),
        (
            "GIT-master-f0c1c1a",
            Some("230000"),
            "running major 23 (from ast_get_version_num() '230000'",
        ),
    ];
    for (v, num, says) in loads {
        let s = start_as(v, *num);
        assert!(running(&s), "{v}: {}", s.log());
        let log = s.log();
        assert!(log.contains(&format!("loading on Asterisk {v}")), "{v}: {log}");
        assert!(log.contains(says) && log.contains("built for majors 20, 22, 23"), "{v}: {log}");
    }
    let declines: &[(&str, Option<&str>, &str)] = &[
        ("18.20.0", None, "running major 18"),
        ("21.5.0", None, "running major 21"),
        ("GIT-21-516d2c60ac", None, "running major 21"),
        ("GIT-master-f0c1c1a", None, "ast_get_version_num() (empty) names a major"),
        ("SVN-trunk-r4242", None, "ast_get_version_num() (999999) names a major"),
        ("UNKNOWN__and_probably_unsupported", None, "names a major"),
    ];
    for (v, num, says) in declines {
        let s = start_as(v, *num);
        assert!(!running(&s), "{v} should be declined");
        let log = s.log();
        assert!(log.contains(&format!("untested Asterisk version '{v}'")), "{v}: {log}");
        assert!(log.contains(says), "{v}: no {says:?} in {log}");
    }
}

#[test]
fn warns_when_ami_is_disabled() {
    let manager = "[general]\nenabled = no\n\n[admin]\nsecret = adminpw\nread = all\nwrite = all\n";
    let s = StandIn::start(&[("manager.conf", manager)], Opts::default());
    assert!(running(&s));
    assert!(s.log().contains("AMI is disabled"), "{}", s.log());
    let s = StandIn::start(&[], Opts::default());
    assert!(!s.log().contains("AMI is disabled"), "{}", s.log());
}

#[test]
fn missing_config_means_defaults_with_a_notice_and_invalid_config_declines_with_the_reason() {
    // Missing: defaults (127.0.0.1:8765) with a notice. The port may be taken by another
    // process on a shared machine, so only the notice and the attempted address are checked.
    let s = StandIn::start(&[("ami_websocket.conf", "")], Opts::default());
    std::fs::remove_file(s.config_dir().join("ami_websocket.conf")).unwrap();
    s.rx(&format!("module unload {NAME}"));
    s.rx(&format!("module load {NAME}"));
    let log = s.log();
    assert!(log.contains("ami_websocket.conf not found; using defaults"), "{log}");
    assert!(log.contains("127.0.0.1:8765"), "{log}");
    s.rx(&format!("module unload {NAME}"));

    for (conf, why) in [
        ("[general]\nbindport = 99999\n", "bindport = 99999"),
        ("[general]\nnosuchoption = 1\n", "unknown option nosuchoption"),
        ("[general]\ntls_enable = yes\n", "tls_enable = yes needs tls_cert_file"),
        ("[general\nbindport = 1\n", "syntax error"),
    ] {
        let s = StandIn::start(&[("ami_websocket.conf", conf)], Opts::default());
        assert!(!running(&s), "{conf:?} should decline");
        assert!(s.log().contains(why), "{conf:?}: no reason {why:?} in\n{}", s.log());
    }
}

#[test]
fn a_port_in_use_declines_cleanly() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let conf = format!("[general]\nbindaddr = 127.0.0.1\nbindport = {port}\n");
    let mut s = StandIn::start(&[("ami_websocket.conf", &conf)], Opts::default());
    assert!(!running(&s));
    assert!(s.log().contains(&format!("cannot listen on 127.0.0.1:{port}")), "{}", s.log());
    // The core is fine and the module loads once the port is free.
    drop(taken);
    let out = s.rx(&format!("module load {NAME}"));
    assert!(out.contains(&format!("Loaded {NAME}")), "{out}\n{}", s.log());
    assert!(s.try_exit().is_none(), "stand-in died");
}
