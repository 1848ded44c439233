//! A small pool of action threads: actions never run on the network loop or on Asterisk's
//! threads. One client's actions run one after another, in the order sent (as AMI runs a
//! session's actions), different clients' in parallel. The loop hands each client's actions
//! over one at a time and keeps the total under `max_total` (flow control: it waits for
//! `has_room`); replies go back to the loop through a list and its waker.
#![forbid(unsafe_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::thread::JoinHandle;

// std's locks, not parking_lot's: parking_lot allocates a process-wide table on the first
// contended wait and never frees it, so every unload/load cycle of the .so leaked it (valgrind).
use std::sync::{Condvar, Mutex, MutexGuard};

use crate::ami::message::Message;
use crate::ami::security::Origin;

/// One action to run for one client.
pub struct Job {
    /// The connection that sent it.
    pub conn_id: u64,
    /// The validated action.
    pub action: Message,
    /// The user's write classes (EVENT_FLAG bits).
    pub write: u32,
    /// The user's name as typed at login (for logs and security events).
    pub user: String,
    /// The client's session, for the security events of a refused action (shared: one per
    /// connection).
    pub origin: Arc<Origin>,
}

/// Replies of one finished action, for one client.
pub struct Done {
    /// The connection to send them to.
    pub conn_id: u64,
    /// The response and any list events, in order.
    pub frames: Vec<Message>,
}

/// Runs one job and returns its replies (injected so the pool is testable without Asterisk).
pub type Executor = Arc<dyn Fn(&Job) -> Vec<Message> + Send + Sync>;
/// Called once on each worker thread before its first job.
pub type ThreadInit = Arc<dyn Fn() + Send + Sync>;

/// Jobs waiting, the clients with a job running, and the stop flag.
#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    /// Clients whose action runs now: their next one waits, so a client's actions run in the
    /// order sent (a pipelined Setvar then Getvar sees the value; replies come in order).
    running: HashSet<u64>,
    stop: bool,
}

struct Inner {
    queue: Mutex<Queue>,
    ready: Condvar,
    done: Mutex<Vec<Done>>,
    notify: Box<dyn Fn() + Send + Sync>,
}

/// The pool; owned by the network loop.
pub struct ActionPool {
    inner: Arc<Inner>,
    threads: Vec<JoinHandle<()>>,
    in_flight: HashMap<u64, usize>,
    total: usize,
    max_total: usize,
}

/// An AMI error reply naming the request's ActionID (as `astman_send_error`: the value as
/// `astman_get_header` reads it, and no ActionID line when it is empty).
pub fn error_reply(action: &Message, text: &str) -> Message {
    let mut m = Message::default();
    m.push("Response", "Error");
    let id = action.header("ActionID");
    if !id.is_empty() {
        m.push("ActionID", id);
    }
    m.push("Message", text);
    m
}

impl ActionPool {
    /// Starts `threads` workers. `notify` wakes the loop when replies are ready.
    pub fn start(
        threads: usize,
        max_total: usize,
        exec: Executor,
        init: ThreadInit,
        notify: Box<dyn Fn() + Send + Sync>,
    ) -> std::io::Result<Self> {
        let inner = Arc::new(Inner {
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
            done: Mutex::new(Vec::new()),
            notify,
        });
        let mut pool = ActionPool {
            inner,
            threads: Vec::new(),
            in_flight: HashMap::new(),
            total: 0,
            max_total,
        };
        for n in 0..threads.max(1) {
            let inner = Arc::clone(&pool.inner);
            let exec = Arc::clone(&exec);
            let init = Arc::clone(&init);
            let handle =
                std::thread::Builder::new().name(format!("ami-ws-act{n}")).spawn(move || {
                    crate::guard::thread_guard("ami-ws-action", || worker(&inner, &exec, &init))
                });
            match handle {
                Ok(h) => pool.threads.push(h),
                Err(e) => {
                    pool.shutdown();
                    return Err(e);
                }
            }
        }
        Ok(pool)
    }

    /// Whether another job may be submitted (fewer than `max_total` queued or running).
    pub fn has_room(&self) -> bool {
        self.total < self.max_total
    }

    /// Queues a job, or returns the AMI error to send when the pool is full (the loop checks
    /// `has_room` first, so this is a safety net, not flow control).
    pub fn submit(&mut self, job: Job) -> Result<(), Message> {
        if !self.has_room() {
            return Err(error_reply(&job.action, "Server busy: too many actions in progress"));
        }
        *self.in_flight.entry(job.conn_id).or_insert(0) += 1;
        self.total += 1;
        lock(&self.inner.queue).jobs.push_back(job);
        self.inner.ready.notify_one();
        Ok(())
    }

    /// Takes finished replies and updates the in-flight counts.
    pub fn take_done(&mut self) -> Vec<Done> {
        let done = std::mem::take(&mut *lock(&self.inner.done));
        for d in &done {
            if let Some(n) = self.in_flight.get_mut(&d.conn_id) {
                *n -= 1;
                if *n == 0 {
                    self.in_flight.remove(&d.conn_id);
                }
            }
            self.total = self.total.saturating_sub(1);
        }
        done
    }

    /// A client went away: drop its queued jobs (running ones finish; their replies are dropped).
    pub fn forget_client(&mut self, conn_id: u64) {
        let mut q = lock(&self.inner.queue);
        let before = q.jobs.len();
        q.jobs.retain(|j| j.conn_id != conn_id);
        let dropped = before - q.jobs.len();
        drop(q);
        self.total = self.total.saturating_sub(dropped);
        if let Some(n) = self.in_flight.get_mut(&conn_id) {
            *n = n.saturating_sub(dropped);
            if *n == 0 {
                self.in_flight.remove(&conn_id);
            }
        }
    }

    /// Actions of one connection queued or running.
    pub fn in_flight_for(&self, conn_id: u64) -> usize {
        self.in_flight.get(&conn_id).copied().unwrap_or(0)
    }

    /// Actions queued or running.
    pub fn in_flight(&self) -> usize {
        self.total
    }

    /// Stops the workers after their current action and joins them.
    pub fn shutdown(&mut self) {
        {
            let mut q = lock(&self.inner.queue);
            q.jobs.clear();
            q.stop = true;
        }
        self.inner.ready.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for ActionPool {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Locks `m`; a poisoned lock is used as is (actions run under catch_unwind, never while a
/// lock of the pool is held, so the data behind it is consistent).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn worker(inner: &Inner, exec: &Executor, init: &ThreadInit) {
    init();
    loop {
        let job = {
            let mut q = lock(&inner.queue);
            loop {
                if q.stop {
                    return;
                }
                // The oldest job of a client that has none running.
                let Queue { jobs, running, .. } = &mut *q;
                let next = jobs.iter().position(|j| !running.contains(&j.conn_id));
                if let Some(job) = next.and_then(|at| jobs.remove(at)) {
                    running.insert(job.conn_id);
                    break job;
                }
                q = inner.ready.wait(q).unwrap_or_else(|e| e.into_inner());
            }
        };
        let frames = crate::guard::catch(|| exec(&job))
            .unwrap_or_else(|| vec![error_reply(&job.action, "Internal error running the action")]);
        // Replies are listed before the client's next action may start: they stay in order.
        lock(&inner.done).push(Done { conn_id: job.conn_id, frames });
        lock(&inner.queue).running.remove(&job.conn_id);
        inner.ready.notify_one();
        (inner.notify)();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    fn job(conn_id: u64, id: &str) -> Job {
        let mut action = Message::default();
        action.push("Action", "Ping");
        action.push("ActionID", id);
        let origin = Arc::new(Origin::new(std::net::SocketAddr::from(([127, 0, 0, 1], 1))));
        Job { conn_id, action, write: 0, user: "u".into(), origin }
    }

    fn wait_done(pool: &mut ActionPool, n: usize) -> Vec<Done> {
        let start = Instant::now();
        let mut all = Vec::new();
        while all.len() < n && start.elapsed() < Duration::from_secs(5) {
            all.extend(pool.take_done());
            std::thread::sleep(Duration::from_millis(2));
        }
        all
    }

    #[test]
    fn runs_jobs_off_thread_and_routes_replies_by_client() {
        let inits = Arc::new(AtomicUsize::new(0));
        let i2 = Arc::clone(&inits);
        let exec: Executor = Arc::new(|j: &Job| {
            let mut m = Message::default();
            m.push("Response", "Success");
            m.push("ActionID", j.action.get("ActionID").unwrap_or_default());
            vec![m]
        });
        let mut pool = ActionPool::start(
            3,
            1000,
            exec,
            Arc::new(move || {
                i2.fetch_add(1, Ordering::SeqCst);
            }),
            Box::new(|| {}),
        )
        .unwrap();
        for c in 0..5u64 {
            for k in 0..10 {
                pool.submit(job(c, &format!("{c}-{k}"))).unwrap();
            }
        }
        let done = wait_done(&mut pool, 50);
        assert_eq!(done.len(), 50);
        for d in &done {
            let id = d.frames[0].get("ActionID").unwrap();
            assert!(id.starts_with(&format!("{}-", d.conn_id)), "{id} routed to {}", d.conn_id);
        }
        assert_eq!(pool.in_flight(), 0);
        pool.shutdown();
        assert_eq!(inits.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn the_total_is_bounded_and_room_comes_back() {
        let exec: Executor = Arc::new(|_j: &Job| {
            std::thread::sleep(Duration::from_millis(100));
            vec![]
        });
        let mut pool = ActionPool::start(1, 3, exec, Arc::new(|| {}), Box::new(|| {})).unwrap();
        pool.submit(job(1, "a")).unwrap();
        pool.submit(job(1, "b")).unwrap();
        pool.submit(job(2, "c")).unwrap();
        assert!(!pool.has_room());
        let e = pool.submit(job(3, "d")).unwrap_err();
        assert_eq!(e.get("Response"), Some("Error"));
        assert_eq!(e.get("ActionID"), Some("d"));
        assert!(e.get("Message").unwrap().contains("busy"));
        assert_eq!(wait_done(&mut pool, 1).len(), 1);
        assert!(pool.has_room());
        pool.forget_client(1);
        pool.shutdown();
    }

    #[test]
    fn one_clients_actions_run_in_order_and_clients_in_parallel() {
        type Log = Arc<Mutex<Vec<(u64, String, Instant, Instant)>>>;
        let log: Log = Arc::new(Mutex::new(Vec::new()));
        let l2 = Arc::clone(&log);
        let exec: Executor = Arc::new(move |j: &Job| {
            let start = Instant::now();
            std::thread::sleep(Duration::from_millis(20));
            let id = j.action.get("ActionID").unwrap_or_default().to_string();
            l2.lock().unwrap().push((j.conn_id, id.clone(), start, Instant::now()));
            let mut m = Message::default();
            m.push("ActionID", id);
            vec![m]
        });
        let mut pool = ActionPool::start(4, 1000, exec, Arc::new(|| {}), Box::new(|| {})).unwrap();
        for k in 0..5 {
            for c in [1u64, 2] {
                pool.submit(job(c, &format!("{c}-{k}"))).unwrap();
            }
        }
        let done = wait_done(&mut pool, 10);
        assert_eq!(done.len(), 10);
        for c in [1u64, 2] {
            let replies: Vec<&str> = done
                .iter()
                .filter(|d| d.conn_id == c)
                .map(|d| d.frames[0].get("ActionID").unwrap())
                .collect();
            let want: Vec<String> = (0..5).map(|k| format!("{c}-{k}")).collect();
            assert_eq!(replies, want, "client {c}'s replies out of order");
            let runs: Vec<(Instant, Instant)> =
                log.lock().unwrap().iter().filter(|e| e.0 == c).map(|e| (e.2, e.3)).collect();
            assert!(runs.windows(2).all(|w| w[0].1 <= w[1].0), "client {c}'s actions overlapped");
        }
        let log = log.lock().unwrap();
        let overlap =
            log.iter().any(|a| log.iter().any(|b| a.0 == 1 && b.0 == 2 && a.2 < b.3 && b.2 < a.3));
        assert!(overlap, "different clients never ran in parallel");
    }

    #[test]
    fn error_replies_echo_the_actionid_as_ami_does() {
        let mut a = Message::default();
        a.push("Action", "Status");
        a.push("ActionID", "  9");
        assert_eq!(error_reply(&a, "x").get("ActionID"), Some("9"));
        a.headers[1].1.clear();
        assert_eq!(error_reply(&a, "x").get("ActionID"), None);
        assert_eq!(error_reply(&a, "x").headers.len(), 2);
    }

    #[test]
    fn a_panicking_action_gives_an_error_reply_and_the_worker_survives() {
        let exec: Executor = Arc::new(|j: &Job| {
            if j.action.get("ActionID") == Some("boom") {
                panic!("injected");
            }
            vec![error_reply(&j.action, "fine")]
        });
        let mut pool = ActionPool::start(1, 10, exec, Arc::new(|| {}), Box::new(|| {})).unwrap();
        pool.submit(job(1, "boom")).unwrap();
        pool.submit(job(1, "next")).unwrap();
        let done = wait_done(&mut pool, 2);
        assert_eq!(done.len(), 2);
        assert_eq!(done[0].frames[0].get("Message"), Some("Internal error running the action"));
        assert_eq!(done[1].frames[0].get("Message"), Some("fine"));
    }
}
