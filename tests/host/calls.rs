//! Simulated calls: scripts of steps (new channel, state change, dial, bridge, app, hangup) that
//! a traffic worker runs, updating the world and raising the AMI events each step causes, with
//! consistent Channel / Uniqueid / Linkedid. A Hangup request turns any call into its teardown.

use std::collections::VecDeque;
use std::sync::mpsc::Sender;
use std::time::Duration;

use crate::hook::{self, CALL, DIALPLAN};
use crate::world::{self, Bridge, Channel};

/// One step of a call; channel arguments index the call's channels.
#[derive(Debug, Clone)]
pub enum Step {
    Wait(Duration),
    NewChannel {
        idx: usize,
        name: String,
        state: u8,
        context: String,
        exten: String,
        cid: String,
    },
    State {
        idx: usize,
        state: u8,
    },
    Exten {
        idx: usize,
        priority: u32,
        app: String,
        data: String,
    },
    VarSet {
        idx: usize,
        var: String,
        value: String,
    },
    LocalBridge {
        one: usize,
        two: usize,
    },
    DialBegin {
        caller: Option<usize>,
        dest: usize,
        dialstring: String,
    },
    DialEnd {
        caller: Option<usize>,
        dest: usize,
    },
    OriginateResponse {
        idx: usize,
        action_id: String,
    },
    /// Runs an application: `System` data is recorded as executed.
    Execute {
        idx: usize,
        app: String,
        data: String,
    },
    Bridge,
    /// Signals a synchronous Originate that the call is up.
    Answered,
    /// Normal end: the first channel hangs up, then everything is torn down.
    Teardown,
}

/// A running call.
pub struct Call {
    pub steps: VecDeque<Step>,
    chans: Vec<Option<String>>,
    bridge: Option<String>,
    pub answered: Option<Sender<bool>>,
    torn_down: bool,
}

impl Call {
    pub fn new(steps: Vec<Step>, answered: Option<Sender<bool>>) -> Self {
        Call { steps: steps.into(), chans: Vec::new(), bridge: None, answered, torn_down: false }
    }

    /// Marks every channel of the call as driven by (worker, id) so Hangup can wake it.
    pub fn bind(&self, worker: usize, id: u64) {
        world::with(|w| {
            for name in self.chans.iter().flatten() {
                if let Some(c) = w.channels.get_mut(name) {
                    c.call = Some((worker, id));
                }
            }
        });
    }

    fn chan(&self, idx: usize) -> Option<String> {
        self.chans.get(idx).cloned().flatten()
    }

    /// Channel text of one of our channels (empty if gone).
    fn text(&self, idx: usize, prefix: &str) -> String {
        let Some(name) = self.chan(idx) else { return String::new() };
        world::with(|w| w.channels.get(&name).map(|c| c.state_text(prefix)).unwrap_or_default())
    }

    /// A hangup requested (by the Hangup action) on one of our channels: (index, cause).
    fn hangup_requested(&self) -> Option<(usize, i32)> {
        world::with(|w| {
            self.chans.iter().enumerate().find_map(|(i, n)| {
                n.as_ref()
                    .and_then(|n| w.channels.get(n))
                    .and_then(|c| c.hangup.map(|cause| (i, cause)))
            })
        })
    }

    /// Runs steps until one waits; returns the wait, or None when the call is over.
    pub fn run(&mut self, worker: usize, id: u64) -> Option<Duration> {
        if !self.torn_down
            && let Some((idx, cause)) = self.hangup_requested()
        {
            hook::bus_event(
                CALL,
                "SoftHangupRequest",
                &format!("{}Cause: {cause}\r\n", self.text(idx, "")),
            );
            self.teardown(idx, cause);
            return None;
        }
        while let Some(step) = self.steps.pop_front() {
            if let Step::Wait(d) = step {
                return Some(d);
            }
            self.step(step, worker, id);
            if self.torn_down {
                return None;
            }
        }
        None
    }

    fn step(&mut self, step: Step, worker: usize, id: u64) {
        match step {
            Step::Wait(_) => {}
            Step::NewChannel { idx, name, state, context, exten, cid } => {
                let linked = self
                    .chan(0)
                    .and_then(|n| world::with(|w| w.channels.get(&n).map(|c| c.linkedid.clone())));
                let mut c = Channel::new(name.clone(), linked.as_deref(), state, &context, &exten);
                c.cid_num = cid;
                c.call = Some((worker, id));
                world::with(|w| w.channels.insert(name.clone(), c));
                if self.chans.len() <= idx {
                    self.chans.resize(idx + 1, None);
                }
                self.chans[idx] = Some(name);
                hook::bus_event(CALL, "Newchannel", &self.text(idx, ""));
            }
            Step::State { idx, state } => {
                self.update(idx, |c| c.state = state);
                hook::bus_event(CALL, "Newstate", &self.text(idx, ""));
            }
            Step::Exten { idx, priority, app, data } => {
                self.update(idx, |c| {
                    c.priority = priority;
                    c.appl = app.clone();
                    c.data = data.clone();
                });
                let exten = self
                    .chan(idx)
                    .and_then(|n| world::with(|w| w.channels.get(&n).map(|c| c.exten.clone())));
                hook::bus_event(
                    DIALPLAN,
                    "Newexten",
                    &format!(
                        "{}Extension: {}\r\nApplication: {app}\r\nAppData: {data}\r\n",
                        self.text(idx, ""),
                        exten.unwrap_or_default()
                    ),
                );
            }
            Step::VarSet { idx, var, value } => {
                hook::bus_event(
                    DIALPLAN,
                    "VarSet",
                    &format!("{}Variable: {var}\r\nValue: {value}\r\n", self.text(idx, "")),
                );
            }
            Step::LocalBridge { one, two } => {
                let (a, b) = (self.text(one, "LocalOne"), self.text(two, "LocalTwo"));
                let (ctx, exten) = self
                    .chan(one)
                    .and_then(|n| {
                        world::with(|w| {
                            w.channels.get(&n).map(|c| (c.context.clone(), c.exten.clone()))
                        })
                    })
                    .unwrap_or_default();
                hook::bus_event(
                    CALL,
                    "LocalBridge",
                    &format!(
                        "{a}{b}Context: {ctx}\r\nExten: {exten}\r\nLocalOptimization: Yes\r\n"
                    ),
                );
            }
            Step::DialBegin { caller, dest, dialstring } => {
                let from = caller.map(|c| self.text(c, "")).unwrap_or_default();
                hook::bus_event(
                    CALL,
                    "DialBegin",
                    &format!("{from}{}DialString: {dialstring}\r\n", self.text(dest, "Dest")),
                );
            }
            Step::DialEnd { caller, dest } => {
                let from = caller.map(|c| self.text(c, "")).unwrap_or_default();
                hook::bus_event(
                    CALL,
                    "DialEnd",
                    &format!("{from}{}DialStatus: ANSWER\r\n", self.text(dest, "Dest")),
                );
            }
            Step::OriginateResponse { idx, action_id } => {
                let Some(name) = self.chan(idx) else { return };
                let (ctx, exten, uid) = world::with(|w| {
                    w.channels
                        .get(&name)
                        .map(|c| (c.context.clone(), c.exten.clone(), c.uniqueid.clone()))
                        .unwrap_or_default()
                });
                let id = if action_id.is_empty() {
                    String::new()
                } else {
                    format!("ActionID: {action_id}\r\n")
                };
                hook::bus_event(
                    CALL,
                    "OriginateResponse",
                    &format!(
                        "{id}Response: Success\r\nChannel: {name}\r\nContext: {ctx}\r\nExten: {exten}\r\nReason: 4\r\n\
                         Uniqueid: {uid}\r\nCallerIDNum: <unknown>\r\nCallerIDName: <unknown>\r\n"
                    ),
                );
            }
            Step::Execute { idx, app, data } => {
                if app.eq_ignore_ascii_case("System") {
                    world::with(|w| w.executed.push(data.clone()));
                    crate::slog!(
                        crate::logger::NOTICE,
                        "standin: System({data}) \"executed\" (recorded, not run)"
                    );
                }
                self.step(Step::Exten { idx, priority: 1, app, data }, worker, id);
            }
            Step::Bridge => self.bridge(),
            Step::Answered => {
                if let Some(tx) = self.answered.take() {
                    let _ = tx.send(true);
                }
            }
            Step::Teardown => self.teardown(0, 16),
        }
    }

    fn update(&self, idx: usize, f: impl FnOnce(&mut Channel)) {
        if let Some(name) = self.chan(idx) {
            world::with(|w| w.channels.get_mut(&name).map(f));
        }
    }

    /// Puts every live channel of the call into one new bridge.
    fn bridge(&mut self) {
        let mut b = Bridge::new(world::BridgeKind::Basic);
        let id = b.id.clone();
        hook::bus_event(CALL, "BridgeCreate", &b.state_text());
        world::with(|w| w.bridges.insert(id.clone(), b.clone()));
        for idx in 0..self.chans.len() {
            let Some(name) = self.chan(idx) else { continue };
            b.channels.push(name.clone());
            world::with(|w| {
                if let Some(wb) = w.bridges.get_mut(&id) {
                    wb.channels.push(name.clone());
                }
                if let Some(c) = w.channels.get_mut(&name) {
                    c.bridge = id.clone();
                }
            });
            hook::bus_event(
                CALL,
                "BridgeEnter",
                &format!("{}{}", b.state_text(), self.text(idx, "")),
            );
        }
        self.bridge = Some(id);
    }

    /// Hangs up channel `first` (with `cause`), then the rest; leaves and destroys the bridge.
    fn teardown(&mut self, first: usize, cause: i32) {
        self.torn_down = true;
        if let Some(tx) = self.answered.take() {
            let _ = tx.send(false);
        }
        let mut order: Vec<usize> =
            (0..self.chans.len()).filter(|i| self.chans[*i].is_some()).collect();
        order.sort_by_key(|i| usize::from(*i != first));
        if order.first() == Some(&first) {
            hook::bus_event(
                CALL,
                "HangupRequest",
                &format!("{}Cause: {cause}\r\n", self.text(first, "")),
            );
        }
        for idx in order {
            let Some(name) = self.chan(idx) else { continue };
            if !world::with(|w| w.channels.contains_key(&name)) {
                // Already gone (hung up by the world's operations).
                self.chans[idx] = None;
                continue;
            }
            if let Some(bid) = &self.bridge {
                let left = world::with(|w| {
                    let b = w.bridges.get_mut(bid)?;
                    b.channels.retain(|c| c != &name);
                    Some(b.clone())
                });
                if let Some(b) = left {
                    hook::bus_event(
                        CALL,
                        "BridgeLeave",
                        &format!("{}{}", b.state_text(), self.text(idx, "")),
                    );
                }
            }
            let text = self.text(idx, "");
            world::with(|w| w.channels.remove(&name));
            self.chans[idx] = None;
            let txt = if cause == 16 { "Normal Clearing" } else { "Unknown" };
            hook::bus_event(
                CALL,
                "Hangup",
                &format!("{text}Cause: {cause}\r\nCause-txt: {txt}\r\n"),
            );
        }
        if let Some(bid) = self.bridge.take()
            && let Some(b) = world::with(|w| w.bridges.remove(&bid))
        {
            hook::bus_event(CALL, "BridgeDestroy", &b.state_text());
        }
        world::with(|w| w.processed_calls += 1);
    }
}
