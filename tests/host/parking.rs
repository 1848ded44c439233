//! The parking lot `default` of res/parking (spaces 701-720, parkingtime 45 s, parking context
//! `parkedcalls`): parked calls and the texts of res/parking/parking_manager.c
//! (`manager_build_parked_call_string`, the Parkinglots item).
#![forbid(unsafe_code)]

pub use crate::world::Parked;
use crate::world::World;

/// The lot's name, first and last space, and `parkingtime` in seconds.
pub const LOT: &str = "default";
pub const START: u32 = 701;
pub const STOP: u32 = 720;
pub const TIMEOUT: u64 = 45;
/// `parking_con`: the context of the lot's `park:<space>@<context>` devices.
pub const CONTEXT: &str = "parkedcalls";

/// The first free space, or None when the lot is full.
pub fn free_space(w: &World) -> Option<u32> {
    (START..=STOP).find(|s| !w.parked.contains_key(s))
}

/// `manager_build_parked_call_string`: Parkee channel lines, Retriever lines when there is one,
/// then ParkerDialString, Parkinglot, ParkingSpace, ParkingTimeout, ParkingDuration.
pub fn parked_text(w: &World, space: u32, retriever: Option<&str>) -> Option<String> {
    let p = w.parked.get(&space)?;
    let parkee = w.by_uniqueid(&p.uniqueid)?;
    let elapsed = p.at.elapsed().as_secs();
    let retr = retriever.and_then(|u| w.by_uniqueid(u)).map(|c| c.state_text("Retriever"));
    Some(format!(
        "{}{}ParkerDialString: {}\r\nParkinglot: {LOT}\r\nParkingSpace: {space}\r\n\
         ParkingTimeout: {}\r\nParkingDuration: {elapsed}\r\n",
        parkee.state_text("Parkee"),
        retr.unwrap_or_default(),
        p.parker_dial,
        TIMEOUT.saturating_sub(elapsed),
    ))
}

/// The `Parkinglot` item of the Parkinglots action (ActionID first, as parking_manager.c).
pub fn lot_item(id_text: &str) -> String {
    format!(
        "Event: Parkinglot\r\n{id_text}Name: {LOT}\r\nStartSpace: {START}\r\nStopSpace: {STOP}\r\n\
         Timeout: {TIMEOUT}\r\n\r\n"
    )
}

/// The space a channel is parked in.
pub fn space_of(w: &World, uniqueid: &str) -> Option<u32> {
    w.parked.iter().find(|(_, p)| p.uniqueid == uniqueid).map(|(s, _)| *s)
}
