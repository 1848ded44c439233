//! The pipelining scenario shared by the test and the benchmark: one client writes N actions in
//! one write and reads the answers, while another client pings and a third watches events.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::StandIn;
use super::raw::{frame, handshake, read_frame};
use super::ws::{WsClient, field, login_as};

/// What one run saw.
#[derive(Debug, Default)]
pub struct Figures {
    /// From the write of the pipelined actions to their last answer.
    pub took: Duration,
    /// The ActionIDs of the pipeliner's answers, in the order received.
    pub answers: Vec<String>,
    /// Answers whose content was not what its action asks for (described).
    pub wrong: Vec<String>,
    /// Round trips of the other client's Pings meanwhile.
    pub other: Vec<Duration>,
    /// From the core raising a Burst event to the watcher reading it, meanwhile.
    pub events: Vec<Duration>,
}

/// The ActionID of pipelined action `k`.
pub fn action_id(k: usize) -> String {
    format!("p{k}")
}

/// Pipelined action `k`: mostly actions run on the action threads (Ping, CoreStatus), every
/// 100th one answered by the session itself (Events), every 97th one malformed (a header name
/// with a space), so refusals must keep their place too.
pub fn action(k: usize) -> String {
    let id = action_id(k);
    if k % 97 == 96 {
        format!(r#"{{"Action":"Ping","ActionID":"{id}","Bad Header":"x"}}"#)
    } else if k % 100 == 99 {
        format!(r#"{{"Action":"Events","EventMask":"on","ActionID":"{id}"}}"#)
    } else if k % 2 == 0 {
        format!(r#"{{"Action":"Ping","ActionID":"{id}"}}"#)
    } else {
        format!(r#"{{"Action":"CoreStatus","ActionID":"{id}"}}"#)
    }
}

/// Whether `v` is the right answer to action `k`.
pub fn answer_fits(k: usize, v: &Value) -> bool {
    let response = field(v, "Response");
    if k % 97 == 96 {
        response == "Error" && field(v, "Message").contains("Bad Header")
    } else if k % 100 == 99 {
        response == "Success" && field(v, "Events") == "On"
    } else if k % 2 == 0 {
        response == "Success" && field(v, "Ping") == "Pong"
    } else {
        response == "Success" && field(v, "CoreCurrentCalls").parse::<u32>().is_ok()
    }
}

/// All `n` actions as masked frames in one buffer.
pub fn pipelined_frames(n: usize) -> Vec<u8> {
    (0..n).flat_map(|k| frame(0x1, action(k).as_bytes(), true)).collect()
}

/// A raw connection logged in as `user`.
pub fn raw_login(port: u16, user: &str, secret: &str) -> TcpStream {
    let mut sock = handshake(port);
    let login = format!(r#"{{"Action":"Login","Username":"{user}","Secret":"{secret}"}}"#);
    sock.write_all(&frame(0x1, login.as_bytes(), true)).unwrap();
    let (op, payload) = read_frame(&mut sock, Instant::now() + Duration::from_secs(10)).unwrap();
    assert_eq!(op, 0x1);
    assert!(String::from_utf8_lossy(&payload).contains("Authentication accepted"));
    sock
}

/// Reads server frames until `n` answers (messages with a Response) arrived or `deadline`.
pub fn read_answers(
    sock: &mut TcpStream,
    n: usize,
    deadline: Instant,
) -> (Vec<String>, Vec<String>) {
    let mut ids = Vec::with_capacity(n);
    let mut wrong = Vec::new();
    while ids.len() < n {
        let Some((op, payload)) = read_frame(sock, deadline) else { break };
        if op != 0x1 {
            wrong.push(format!("frame with opcode {op} after {} answers", ids.len()));
            break;
        }
        let v: Value = serde_json::from_slice(&payload).expect("invalid JSON");
        if v.get("Response").is_none() {
            continue;
        }
        let k = ids.len();
        if !answer_fits(k, &v) {
            wrong.push(format!("answer {k}: {v}"));
        }
        ids.push(field(&v, "ActionID").to_string());
    }
    (ids, wrong)
}

fn now_ns() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

/// A client pinging every 10 ms until stopped; returns the round trips.
fn pinger(mut c: WsClient, stop: Arc<AtomicBool>) -> JoinHandle<Vec<Duration>> {
    std::thread::spawn(move || {
        let mut rtts = Vec::new();
        while !stop.load(Ordering::Acquire) {
            let t = Instant::now();
            let id = c.send_action(&[("Action", "Ping")]);
            if c.reply(&id, Duration::from_secs(30)).is_none() {
                rtts.push(Duration::from_secs(30));
                break;
            }
            rtts.push(t.elapsed());
            std::thread::sleep(Duration::from_millis(10));
        }
        rtts
    })
}

/// A client reading Burst events until stopped; returns their latencies.
fn watcher(mut c: WsClient, stop: Arc<AtomicBool>) -> JoinHandle<Vec<Duration>> {
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        while !stop.load(Ordering::Acquire) {
            let Some(v) = c.recv_json(Duration::from_millis(100)) else { continue };
            if field(&v, "UserEvent") == "Burst" {
                let sent: u128 = field(&v, "SentNs").parse().unwrap_or(0);
                seen.push(Duration::from_nanos(now_ns().saturating_sub(sent) as u64));
            }
        }
        seen
    })
}

/// Runs the scenario: `n` pipelined actions (0: none, the baseline) while another client pings
/// and a watcher receives a burst of `events` events at `rate` a second. The pipeliner starts
/// once the burst runs; the measurement lasts at least `min_time`.
pub fn run(
    s: &StandIn,
    port: u16,
    n: usize,
    events: u64,
    rate: u64,
    min_time: Duration,
) -> Figures {
    let stop = Arc::new(AtomicBool::new(false));
    let other = pinger(login_as(port, "admin", "adminpw"), Arc::clone(&stop));
    let watch = watcher(login_as(port, "admin", "adminpw"), Arc::clone(&stop));
    let out = s.rx(&format!("traffic burst {events} {rate}"));
    assert!(out.contains("burst started"), "{out}");
    let started = Instant::now();
    let mut figures = Figures::default();
    if n > 0 {
        let mut sock = raw_login(port, "admin", "adminpw");
        let mut writer = sock.try_clone().unwrap();
        let frames = pipelined_frames(n);
        let t = Instant::now();
        // One write of every action; it blocks while TCP pushes back, so it runs on its own.
        let w = std::thread::spawn(move || writer.write_all(&frames).map(|()| writer));
        let (answers, wrong) = read_answers(&mut sock, n, t + Duration::from_secs(120));
        figures.took = t.elapsed();
        figures.answers = answers;
        figures.wrong = wrong;
        let writer = w.join().unwrap().expect("the pipelined write failed");
        drop(writer);
        // Whatever else arrives is drained by closing.
        let _ = sock.set_read_timeout(Some(Duration::from_millis(10)));
        let _ = sock.read(&mut [0u8; 1024]);
    }
    std::thread::sleep(min_time.saturating_sub(started.elapsed()));
    stop.store(true, Ordering::Release);
    figures.other = other.join().unwrap();
    figures.events = watch.join().unwrap();
    figures
}

/// The `p`th percentile (0..=100) of `v` (sorted in place).
pub fn percentile(v: &mut [Duration], p: usize) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort();
    v[(v.len() - 1) * p / 100]
}
