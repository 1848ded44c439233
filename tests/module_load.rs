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

#[test]
fn loads_on_tested_majors_and_declines_others_with_the_version_in_the_log() {
    for v in ["20.20.1", "22.10.1", "23.1.0"] {
        let s = StandIn::start(
            &[],
            Opts { extra_args: vec!["--asterisk-version".into(), v.into()], ..Opts::default() },
        );
        assert!(running(&s), "{v}: {}", s.log());
        assert!(s.log().contains(&format!("loading on Asterisk {v}")), "{v}: {}", s.log());
    }
    for v in ["18.20.0", "21.5.0", "GIT-master-f0c1c1a"] {
        let s = StandIn::start(
            &[],
            Opts { extra_args: vec!["--asterisk-version".into(), v.into()], ..Opts::default() },
        );
        assert!(!running(&s), "{v} should be declined");
        assert!(s.log().contains(&format!("untested Asterisk version '{v}'")), "{v}: {}", s.log());
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
