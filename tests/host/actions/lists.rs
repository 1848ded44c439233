//! List actions over the simulated world, each in the pieces (one per `astman_append`) and with
//! the texts of its Asterisk 22 source: BridgeInfo (main/manager_bridges.c),
//! ExtensionStateList (main/pbx.c), DeviceStateList (res/res_manager_devicestate.c),
//! QueueStatus and QueueSummary (apps/app_queue.c), Parkinglots and ParkedCalls
//! (res/parking/parking_manager.c).

use super::Session;
use crate::{devices, ops, parking, world};

/// BridgeInfo: the bridge's channels, then the Complete event carrying the bridge's fields.
pub fn bridge_info(s: &Session<'_>) -> i32 {
    let id = s.get("BridgeUniqueid");
    if id.is_empty() {
        s.error("BridgeUniqueid must be provided");
        return 0;
    }
    let found = world::with(|w| {
        let b = w.bridges.get(id)?;
        let chans: Vec<String> =
            b.channels.iter().filter_map(|n| w.channels.get(n)).map(|c| c.state_text("")).collect();
        Some((b.state_text(), chans))
    });
    let Some((info, chans)) = found else {
        s.error("Specified BridgeUniqueid not found");
        return 0;
    };
    let id_text = s.id_text();
    s.listack("Bridge channel listing will follow", "start");
    for c in &chans {
        s.append(&format!("Event: BridgeInfoChannel\r\n{id_text}{c}\r\n"));
    }
    s.list_complete_start("BridgeInfoComplete", chans.len());
    s.append(&info);
    s.list_complete_end();
    0
}

/// ExtensionStateList: one ExtensionStatus per hint, in three pieces each.
pub fn extension_state_list(s: &Session<'_>) -> i32 {
    let hints: Vec<(String, i32)> = world::with(|w| {
        ops::seed(w);
        w.hints.iter().map(|(e, st)| (e.clone(), *st)).collect()
    });
    s.listack("Extension Statuses will follow", "start");
    for (exten, state) in &hints {
        s.append("Event: ExtensionStatus\r\n");
        if !s.get("ActionID").is_empty() {
            s.append(&s.id_text());
        }
        s.append(&format!("{}\r\n", devices::hint_text(exten, *state)));
    }
    s.list_complete_start("ExtensionStateListComplete", hints.len());
    s.list_complete_end();
    0
}

/// DeviceStateList: the cached state of every device as a DeviceStateChange item.
pub fn device_state_list(s: &Session<'_>) -> i32 {
    let devs: Vec<(String, u8)> = world::with(|w| {
        ops::seed(w);
        w.devices.iter().map(|(d, st)| (d.clone(), *st)).collect()
    });
    s.listack("Device State Changes will follow", "start");
    for (dev, state) in &devs {
        s.append("Event: DeviceStateChange\r\n");
        if !s.get("ActionID").is_empty() {
            s.append(&s.id_text());
        }
        s.append(&format!("Device: {dev}\r\nState: {}\r\n\r\n", devices::devstate_str(*state)));
    }
    s.list_complete_start("DeviceStateListComplete", devs.len());
    s.list_complete_end();
    0
}

/// QueueStatus: QueueParams, QueueMember and QueueEntry items (filters Queue and Member).
pub fn queue_status(s: &Session<'_>) -> i32 {
    let (qf, mf) = (s.get("Queue"), s.get("Member"));
    let id = s.id_text();
    let items: Vec<String> = world::with(|w| {
        ops::seed(w);
        let mut items = Vec::new();
        for q in w.queues.values().filter(|q| qf.is_empty() || q.name.eq_ignore_ascii_case(qf)) {
            items.push(q.params_item(&id));
            for m in q.members.iter().filter(|m| mf.is_empty() || m.interface == mf || m.name == mf)
            {
                items.push(m.status_item(&q.name, &id));
            }
            for (i, e) in q.entries.iter().enumerate() {
                let Some(c) = w.by_uniqueid(&e.uniqueid) else { continue };
                let or = |v: &str| if v.is_empty() { "unknown".to_string() } else { v.to_string() };
                items.push(format!(
                    "Event: QueueEntry\r\nQueue: {}\r\nPosition: {}\r\nChannel: {}\r\nUniqueid: {}\r\n\
                     CallerIDNum: {}\r\nCallerIDName: {}\r\nConnectedLineNum: {}\r\n\
                     ConnectedLineName: {}\r\nWait: {}\r\nPriority: 0\r\n{id}\r\n",
                    q.name,
                    i + 1,
                    c.name,
                    c.uniqueid,
                    or(&c.cid_num),
                    or(&c.cid_name),
                    or(&c.conn_num),
                    or(&c.conn_name),
                    e.joined.elapsed().as_secs()
                ));
            }
        }
        items
    });
    s.listack("Queue status will follow", "start");
    for item in &items {
        s.append(item);
    }
    s.list_complete_start("QueueStatusComplete", items.len());
    s.list_complete_end();
    0
}

/// QueueSummary: one QueueSummary item per queue (filter Queue).
pub fn queue_summary(s: &Session<'_>) -> i32 {
    let qf = s.get("Queue");
    let id = s.id_text();
    let items: Vec<String> = world::with(|w| {
        ops::seed(w);
        w.queues
            .values()
            .filter(|q| qf.is_empty() || q.name.eq_ignore_ascii_case(qf))
            .map(|q| q.summary_item(&id))
            .collect()
    });
    s.listack("Queue summary will follow", "start");
    for item in &items {
        s.append(item);
    }
    s.list_complete_start("QueueSummaryComplete", items.len());
    s.list_complete_end();
    0
}

/// Parkinglots: the lot `default`.
pub fn parking_lots(s: &Session<'_>) -> i32 {
    s.listack("Parking lots will follow", "start");
    s.append(&parking::lot_item(&s.id_text()));
    s.list_complete_start("ParkinglotsComplete", 1);
    s.list_complete_end();
    0
}

/// ParkedCalls: a ParkedCall item per parked call, then the Complete event with `Total`.
pub fn parked_calls(s: &Session<'_>) -> i32 {
    let lot = s.get("ParkingLot");
    if !lot.is_empty() && lot != parking::LOT {
        s.error("Requested parking lot could not be found.");
        return 0;
    }
    let id = s.id_text();
    let items: Vec<String> = world::with(|w| {
        w.parked
            .keys()
            .filter_map(|space| parking::parked_text(w, *space, None))
            .map(|t| format!("Event: ParkedCall\r\n{t}{id}\r\n"))
            .collect()
    });
    s.listack("Parked calls will follow", "start");
    for item in &items {
        s.append(item);
    }
    s.list_complete_start("ParkedCallsComplete", items.len());
    s.append(&format!("Total: {}\r\n", items.len()));
    s.list_complete_end();
    0
}
