//! Tests of the event log: numbering, wrap-around and lost ranges, limits, wakes, concurrency.

use super::*;
use std::sync::atomic::AtomicUsize;

fn log_with_counter(capacity: usize) -> (Arc<EventLog>, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    let log = EventLog::new(
        capacity,
        Box::new(move || {
            c.fetch_add(1, Ordering::SeqCst);
        }),
    );
    (log, calls)
}

fn quiet(capacity: usize) -> Arc<EventLog> {
    EventLog::new(capacity, Box::new(|| {}))
}

fn body(i: u64) -> Vec<u8> {
    format!("Event: UserEvent\r\nPrivilege: user,all\r\nN: {i}\r\n\r\n").into_bytes()
}

fn seqs(events: &[Arc<Event>]) -> Vec<u64> {
    events.iter().map(|e| e.seq()).collect()
}

#[test]
fn seqs_start_at_one_and_events_keep_their_bytes() {
    let log = quiet(8);
    assert_eq!((log.first_seq(), log.next_seq(), log.len()), (1, 1, 0));
    assert!(log.is_empty());
    assert_eq!(log.append(64, b"UserEvent", &body(1)), 1);
    assert_eq!(log.append(2, b"Hangup", b"Event: Hangup\r\n\r\n"), 2);
    let mut out = Vec::new();
    let r = log.read(1, 10, &mut out);
    assert_eq!(r, ReadOutcome { next: 3, lost: None });
    assert_eq!(seqs(&out), vec![1, 2]);
    assert_eq!((out[0].category(), out[0].name(), out[0].body()), (64, "UserEvent", &body(1)[..]));
    assert_eq!((out[1].category(), out[1].name()), (2, "Hangup"));
}

#[test]
fn negative_category_keeps_its_bits() {
    let log = quiet(2);
    log.append(i32::MIN | 1, b"X", b"");
    let mut out = Vec::new();
    log.read(1, 1, &mut out);
    assert_eq!(out[0].category(), 0x8000_0001);
}

#[test]
fn read_respects_max_and_continues_where_it_stopped() {
    let log = quiet(100);
    for i in 1..=10 {
        log.append(1, b"E", &body(i));
    }
    let mut out = Vec::new();
    let r = log.read(1, 4, &mut out);
    assert_eq!(r, ReadOutcome { next: 5, lost: None });
    let r = log.read(r.next, 4, &mut out);
    assert_eq!(r, ReadOutcome { next: 9, lost: None });
    let r = log.read(r.next, 4, &mut out);
    assert_eq!(r, ReadOutcome { next: 11, lost: None });
    assert_eq!(seqs(&out), (1..=10).collect::<Vec<_>>());
    let r = log.read(r.next, 4, &mut out);
    assert_eq!(r, ReadOutcome { next: 11, lost: None });
    assert_eq!(out.len(), 10, "nothing new to read");
    assert_eq!(log.read(3, 0, &mut out), ReadOutcome { next: 3, lost: None });
    assert_eq!(out.len(), 10, "max 0 reads nothing");
}

#[test]
fn wrap_around_reports_the_exact_lost_range_and_resumes_at_oldest() {
    let log = quiet(4);
    for i in 1..=10 {
        log.append(1, b"E", &body(i));
    }
    assert_eq!((log.first_seq(), log.next_seq(), log.len()), (7, 11, 4));
    let mut out = Vec::new();
    let r = log.read(3, 100, &mut out);
    assert_eq!(r, ReadOutcome { next: 11, lost: Some((3, 6)) });
    assert_eq!(seqs(&out), vec![7, 8, 9, 10]);
    assert_eq!(out[0].body(), &body(7)[..], "the kept event carries its own bytes");

    out.clear();
    let r = log.read(0, 2, &mut out);
    assert_eq!(r, ReadOutcome { next: 9, lost: Some((1, 6)) }, "0 means from the start");
    assert_eq!(seqs(&out), vec![7, 8]);

    out.clear();
    assert_eq!(log.read(6, 0, &mut out), ReadOutcome { next: 7, lost: Some((6, 6)) });
    assert!(out.is_empty());
}

#[test]
fn reading_from_beyond_next_seq_returns_nothing_unchanged() {
    let log = quiet(4);
    log.append(1, b"E", &body(1));
    let mut out = Vec::new();
    assert_eq!(log.read(50, 10, &mut out), ReadOutcome { next: 50, lost: None });
    assert!(out.is_empty());
}

#[test]
fn capacity_zero_is_one_and_stats_track_bytes_through_eviction() {
    let log = quiet(0);
    assert_eq!(log.capacity(), 1);
    log.append(1, b"A", b"12345");
    log.append(1, b"BB", b"123");
    let s = log.stats();
    assert_eq!(
        s,
        LogStats {
            appended: 2,
            wakes: 1,
            len: 1,
            capacity: 1,
            first_seq: 2,
            next_seq: 3,
            bytes: 5
        }
    );
}

#[test]
fn evicted_events_stay_alive_for_readers_that_hold_them() {
    let log = quiet(2);
    log.append(1, b"E", &body(1));
    let mut out = Vec::new();
    log.read(1, 1, &mut out);
    for i in 2..=5 {
        log.append(1, b"E", &body(i));
    }
    assert_eq!(log.first_seq(), 4);
    assert_eq!((out[0].seq(), out[0].body()), (1, &body(1)[..]));
}

#[test]
fn a_burst_costs_one_wake_until_the_reader_takes_it() {
    let (log, calls) = log_with_counter(16);
    assert!(!log.take_wake(), "nothing pending at start");
    for i in 1..=50 {
        log.append(1, b"E", &body(i));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(log.take_wake());
    assert!(!log.take_wake(), "taking clears the flag");
    log.append(1, b"E", &body(51));
    log.append(1, b"E", &body(52));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(log.stats().wakes, 2);
}

#[test]
fn concurrent_writers_get_unique_gapless_seqs_in_ring_order() {
    const THREADS: u64 = 4;
    const EACH: u64 = 2000;
    let log = quiet((THREADS * EACH) as usize);
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                (0..EACH)
                    .map(|i| log.append(1, b"E", format!("T: {t}\r\nI: {i}\r\n\r\n").as_bytes()))
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let returned: Vec<Vec<u64>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    for per_thread in &returned {
        assert!(per_thread.windows(2).all(|w| w[0] < w[1]), "a thread's seqs increase");
    }
    let mut all: Vec<u64> = returned.concat();
    all.sort_unstable();
    assert_eq!(all, (1..=THREADS * EACH).collect::<Vec<_>>());

    let mut out = Vec::new();
    let mut next = 1;
    while next < log.next_seq() {
        next = log.read(next, 300, &mut out).next;
    }
    assert_eq!(seqs(&out), (1..=THREADS * EACH).collect::<Vec<_>>());
    // Each event's body matches the seq its writer was told, and each writer's order holds.
    let mut last_i = [None::<u64>; THREADS as usize];
    for e in &out {
        let text = String::from_utf8_lossy(e.body()).into_owned();
        let field = |k: &str| -> u64 {
            text.lines().find_map(|l| l.strip_prefix(k)).unwrap().trim().parse().unwrap()
        };
        let (t, i) = (field("T: "), field("I: "));
        assert_eq!(returned[t as usize][i as usize], e.seq());
        assert!(last_i[t as usize].is_none_or(|prev| prev < i));
        last_i[t as usize] = Some(i);
    }
}

#[test]
fn reader_racing_writers_sees_every_event_once_in_order_or_a_reported_loss() {
    const WRITERS: u64 = 3;
    const EACH: u64 = 3000;
    let log = quiet(64);
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for i in 0..EACH {
                    log.append(1, b"E", &body(i));
                }
            })
        })
        .collect();
    let total = WRITERS * EACH;
    let (mut next, mut seen, mut lost) = (1u64, 0u64, 0u64);
    let mut out = Vec::new();
    while next <= total {
        out.clear();
        let r = log.read(next, 16, &mut out);
        if let Some((a, b)) = r.lost {
            assert_eq!(a, next, "a loss starts exactly where the reader was");
            lost += b - a + 1;
            next = b + 1;
        }
        for e in &out {
            assert_eq!(e.seq(), next, "no gap and no repeat");
            next += 1;
        }
        seen += out.len() as u64;
        assert_eq!(r.next, next);
        if out.is_empty() {
            std::thread::yield_now();
        }
    }
    for w in writers {
        w.join().unwrap();
    }
    assert_eq!(seen + lost, total);
}

#[test]
fn wake_after_take_is_never_missed_under_concurrency() {
    // The reader sleeps only when it has taken the wake and then found nothing to read; every
    // append after that must wake it, or this test hangs (guarded by a timeout).
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let tx = std::sync::Mutex::new(tx);
    let log = EventLog::new(
        1024,
        Box::new(move || {
            let _ = tx.lock().map(|t| t.send(()));
        }),
    );
    let writer = {
        let log = Arc::clone(&log);
        std::thread::spawn(move || {
            for i in 0..20_000 {
                log.append(1, b"E", &body(i));
            }
        })
    };
    let mut next = 1;
    let mut out = Vec::new();
    while next <= 20_000 {
        log.take_wake();
        loop {
            out.clear();
            let r = log.read(next, 256, &mut out);
            next = r.next;
            if out.is_empty() {
                break;
            }
        }
        if next > 20_000 {
            break;
        }
        rx.recv_timeout(std::time::Duration::from_secs(5)).expect("a wake was lost");
    }
    writer.join().unwrap();
}

#[test]
fn works_as_the_hook_sink() {
    let log = quiet(4);
    let sink: Arc<dyn EventSink> = log.clone();
    sink.event(0, 2, b"Newchannel", b"Event: Newchannel\r\n\r\n");
    sink.event(7, 64, b"UserEvent", b"Event: UserEvent\r\n\r\n");
    let mut out = Vec::new();
    log.read(1, 4, &mut out);
    assert_eq!((out[0].seq(), out[0].category(), out[0].name()), (1, 2, "Newchannel"));
    assert_eq!((out[0].origin(), out[1].origin()), (0, 7), "origin of action-raised events");
}
