//! Call scripts: the steps of a traffic call between two PJSIP endpoints, and of the call an
//! Originate starts (Local channel pairs or one outgoing channel, then the application).

use std::time::Duration;

use crate::calls::Step;
use crate::world;

/// A call between two PJSIP endpoints: dial, ring, answer, bridge, talk, hang up.
pub fn traffic_call(from: u32, to: u32, ring: Duration, talk: Duration) -> Vec<Step> {
    let caller = format!("PJSIP/{from}-{}", world::next_chan_suffix());
    let callee = format!("PJSIP/{to}-{}", world::next_chan_suffix());
    let ctx = "from-internal".to_string();
    vec![
        Step::NewChannel {
            idx: 0,
            name: caller,
            state: 4,
            context: ctx.clone(),
            exten: to.to_string(),
            cid: from.to_string(),
        },
        Step::VarSet { idx: 0, var: "CALLERID(num)".into(), value: from.to_string() },
        Step::Exten { idx: 0, priority: 1, app: "Dial".into(), data: format!("PJSIP/{to},30") },
        Step::NewChannel {
            idx: 1,
            name: callee,
            state: 0,
            context: ctx,
            exten: "s".into(),
            cid: to.to_string(),
        },
        Step::DialBegin { caller: Some(0), dest: 1, dialstring: to.to_string() },
        Step::State { idx: 1, state: 5 },
        Step::Wait(ring),
        Step::State { idx: 1, state: 6 },
        Step::DialEnd { caller: Some(0), dest: 1 },
        Step::State { idx: 0, state: 6 },
        Step::Bridge,
        Step::VarSet { idx: 0, var: "BRIDGEPEER".into(), value: String::new() },
        Step::Wait(talk),
        Step::Teardown,
    ]
}

/// What an Originate asks for.
#[derive(Debug, Clone, Default)]
pub struct Originate {
    pub channel: String,
    pub app: String,
    pub data: String,
    pub context: String,
    pub exten: String,
    pub action_id: String,
    pub duration: Duration,
}

/// The call an Originate starts: Local channels come in pairs (`;1` dials `;2`), other
/// technologies are one outgoing channel; once up, the application or extension runs.
pub fn originate_call(o: &Originate) -> Vec<Step> {
    let (tech, rest) = o.channel.split_once('/').unwrap_or(("Local", &o.channel));
    let suffix = world::next_chan_suffix();
    let mut steps = Vec::new();
    let (dest_ctx, dest_exten) = match rest.split_once('@') {
        Some((e, c)) => (c.to_string(), e.to_string()),
        None => ("default".to_string(), rest.to_string()),
    };
    if tech.eq_ignore_ascii_case("Local") {
        let base = format!("Local/{rest}-{suffix}");
        steps.push(Step::NewChannel {
            idx: 0,
            name: format!("{base};1"),
            state: 0,
            context: dest_ctx.clone(),
            exten: dest_exten.clone(),
            cid: String::new(),
        });
        steps.push(Step::NewChannel {
            idx: 1,
            name: format!("{base};2"),
            state: 4,
            context: dest_ctx,
            exten: dest_exten,
            cid: String::new(),
        });
        steps.push(Step::Exten {
            idx: 0,
            priority: 1,
            app: "AppDial2".into(),
            data: "(Outgoing Line)".into(),
        });
        steps.push(Step::LocalBridge { one: 0, two: 1 });
        steps.push(Step::DialBegin { caller: None, dest: 0, dialstring: rest.to_string() });
        steps.push(Step::State { idx: 1, state: 6 });
        steps.push(Step::State { idx: 0, state: 6 });
    } else {
        let name = format!("{tech}/{rest}-{suffix}");
        steps.push(Step::NewChannel {
            idx: 0,
            name,
            state: 0,
            context: dest_ctx,
            exten: dest_exten,
            cid: String::new(),
        });
        steps.push(Step::DialBegin { caller: None, dest: 0, dialstring: rest.to_string() });
        steps.push(Step::State { idx: 0, state: 6 });
    }
    steps.push(Step::DialEnd { caller: None, dest: 0 });
    steps.push(Step::OriginateResponse { idx: 0, action_id: o.action_id.clone() });
    steps.push(Step::Answered);
    if !o.app.is_empty() {
        steps.push(Step::Execute { idx: 0, app: o.app.clone(), data: o.data.clone() });
    } else {
        steps.push(Step::Exten {
            idx: 0,
            priority: 1,
            app: "NoOp".into(),
            data: format!("{}@{}", o.exten, o.context),
        });
    }
    steps.push(Step::Wait(o.duration));
    steps.push(Step::Teardown);
    steps
}
