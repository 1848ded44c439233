//! A timer thread for the simulated world (as a PBX's channel and scheduler threads): jobs run
//! at their due time, in order, on one persistent thread named `pbx-sched`.
#![forbid(unsafe_code)]

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

type Job = Box<dyn FnOnce() + Send>;

struct Due {
    at: Instant,
    seq: u64,
    job: Job,
}

impl PartialEq for Due {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Due {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

static QUEUE: OnceLock<(Mutex<BinaryHeap<Reverse<Due>>>, Condvar)> = OnceLock::new();
static SEQ: AtomicU64 = AtomicU64::new(0);

fn queue() -> &'static (Mutex<BinaryHeap<Reverse<Due>>>, Condvar) {
    QUEUE.get_or_init(|| {
        let _ = std::thread::Builder::new().name("pbx-sched".into()).spawn(run);
        (Mutex::new(BinaryHeap::new()), Condvar::new())
    })
}

/// Runs `job` on the scheduler thread after `delay`.
pub fn after(delay: Duration, job: impl FnOnce() + Send + 'static) {
    let (lock, cv) = queue();
    let due = Due {
        at: Instant::now() + delay,
        seq: SEQ.fetch_add(1, Ordering::Relaxed),
        job: Box::new(job),
    };
    lock.lock().unwrap_or_else(|e| e.into_inner()).push(Reverse(due));
    cv.notify_one();
}

fn run() {
    let (lock, cv) = queue();
    loop {
        let mut q = lock.lock().unwrap_or_else(|e| e.into_inner());
        let job = loop {
            match q.peek() {
                Some(Reverse(d)) if d.at <= Instant::now() => {
                    break q.pop().map(|Reverse(d)| d.job);
                }
                Some(Reverse(d)) => {
                    let wait = d.at.saturating_duration_since(Instant::now());
                    q = cv.wait_timeout(q, wait).unwrap_or_else(|e| e.into_inner()).0;
                }
                None => q = cv.wait(q).unwrap_or_else(|e| e.into_inner()),
            }
        };
        drop(q);
        if let Some(job) = job {
            // A panicking job must not stop the world's clock.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
        }
    }
}
