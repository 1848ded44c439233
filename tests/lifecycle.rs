//! The module survives 100 reload / unload / load cycles in one stand-in: every step reports
//! success, the .so really leaves at each unload (no "could not be completely unloaded"), the
//! constructor registers at each load, and threads and descriptors return to their baseline.

mod common;

use common::{Opts, StandIn};

const CYCLES: usize = 100;
const NAME: &str = "res_ami_websocket.so";

#[test]
fn load_reload_unload_100_times_without_leaks() {
    let s = StandIn::start(&[], Opts::default());
    let shown = s.rx("module show like res_ami_websocket");
    assert!(running(&shown), "module not running after start:\n{shown}\n{}", s.log());
    let baseline = settled(&s);
    for i in 0..CYCLES {
        let out = s.rx(&format!("module reload {NAME}"));
        assert!(
            out.contains("reloaded successfully"),
            "cycle {i}: reload said {out:?}\n{}",
            s.log()
        );
        let out = s.rx(&format!("module unload {NAME}"));
        assert!(
            out.contains(&format!("Unloaded {NAME}")),
            "cycle {i}: unload said {out:?}\n{}",
            s.log()
        );
        let shown = s.rx("module show like res_ami_websocket");
        assert!(
            shown.contains("0 modules loaded"),
            "cycle {i}: still listed after unload:\n{shown}"
        );
        let out = s.rx(&format!("module load {NAME}"));
        assert!(
            out.contains(&format!("Loaded {NAME}")),
            "cycle {i}: load said {out:?}\n{}",
            s.log()
        );
    }
    let shown = s.rx("module show like res_ami_websocket");
    assert!(running(&shown), "not running after the cycles:\n{shown}");
    // Threads of ours are joined before unload returns; the stand-in's own short-lived threads
    // (one per control connection) may still be exiting, so let the count settle briefly.
    let mut after = settled(&s);
    for _ in 0..50 {
        if after == baseline {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        after = settled(&s);
    }
    let log = s.core_log();
    println!(
        "after {CYCLES} cycles: threads {} -> {}, fds {} -> {}",
        baseline.0, after.0, baseline.1, after.1
    );
    assert!(!log.contains("could not be completely unloaded"), "the .so stayed mapped:\n{log}");
    assert!(!log.contains("did not register itself"), "a load found no constructor run:\n{log}");
    assert_eq!(after.0, baseline.0, "threads leaked over {CYCLES} cycles");
    assert_eq!(after.1, baseline.1, "descriptors leaked over {CYCLES} cycles");
}

/// Whether `module show like` lists the module as Running (not "Not Running").
fn running(shown: &str) -> bool {
    shown
        .lines()
        .any(|l| l.starts_with(NAME) && l.contains(" Running") && !l.contains("Not Running"))
}

/// Threads and fds once two readings 100 ms apart agree: the stand-in serves each control
/// connection on a short-lived thread, and the previous one may still be exiting.
fn settled(s: &StandIn) -> (usize, usize) {
    let mut last = s.resources();
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let now = s.resources();
        if now == last {
            return now;
        }
        last = now;
    }
    last
}
