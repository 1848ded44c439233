//! The `Status` action answered by the module from the core's channel data, exactly as
//! manager.c's action_status and generate_status write it (identical in Asterisk 20, 22 and 23).

use crate::ami::message::Message;
use crate::ami::rules::{STATUS_FORBIDDEN, function_read_permitted};
use crate::host::channel::Channel;
use crate::host::status::channel_status;

use super::pool::{Job, error_reply};

/// At most this many `Variables=` entries (`AST_APP_ARG(name)[100]`).
const MAX_VARIABLES: usize = 100;

/// manager.c's action_status: one `Status` event per channel (or the named one), then
/// `StatusComplete` with `ListItems` and `Items`.
pub fn status(job: &Job) -> Vec<Message> {
    let m = &job.action;
    let name = m.header("Channel");
    let variables = m.header("Variables");
    let all_variables = {
        let v = m.header("AllVariables");
        !v.is_empty() && crate::settings::is_true(v)
    };
    if !function_read_permitted(variables, job.write) {
        return vec![error_reply(m, STATUS_FORBIDDEN)];
    }
    let channels = if name.is_empty() {
        Channel::all()
    } else {
        match Channel::by_name(name) {
            Some(c) => vec![c],
            None => return vec![error_reply(m, "No such channel")],
        }
    };
    let vars =
        if variables.is_empty() { Vec::new() } else { separate_args(variables, MAX_VARIABLES) };
    let id = m.header("ActionID");
    let mut out = vec![list_ack(m, "Channel status will follow")];
    for chan in &channels {
        let Some(fields) = channel_status(chan, &vars, all_variables) else { continue };
        let mut ev = Message::default();
        ev.push("Event", "Status");
        ev.push("Privilege", "Call");
        ev.headers.extend(fields);
        if !id.is_empty() {
            ev.push("ActionID", id);
        }
        out.push(ev);
    }
    let items = (out.len() - 1).to_string();
    let mut done = Message::default();
    done.push("Event", "StatusComplete");
    if !id.is_empty() {
        done.push("ActionID", id);
    }
    done.push("EventList", "Complete");
    done.push("ListItems", items.clone());
    done.push("Items", items);
    out.push(done);
    out
}

/// `astman_send_listack(s, m, msg, "start")`.
fn list_ack(m: &Message, msg: &str) -> Message {
    let mut r = Message::default();
    r.push("Response", "Success");
    let id = m.header("ActionID");
    if !id.is_empty() {
        r.push("ActionID", id);
    }
    r.push("EventList", "start");
    r.push("Message", msg);
    r
}

/// `__ast_app_separate_args(buf, ',', 1, array, arraylen)` (main/app.c): split on commas
/// outside parentheses, brackets and double quotes; quotes are removed and a backslash makes
/// the next character literal; a trailing comma adds an empty argument; the last of
/// `arraylen` arguments takes the rest of the text.
pub fn separate_args(buf: &str, arraylen: usize) -> Vec<String> {
    let chars: Vec<char> = buf.chars().collect();
    let mut args = Vec::new();
    let (mut paren, mut quote, mut bracket) = (0u32, false, 0u32);
    let mut i = 0;
    let mut ended_on_delim = false;
    while i < chars.len() && args.len() + 1 < arraylen {
        let mut cur = String::new();
        ended_on_delim = false;
        while i < chars.len() {
            let c = chars[i];
            i += 1;
            match c {
                '(' => paren += 1,
                ')' => paren = paren.saturating_sub(1),
                '[' => bracket += 1,
                ']' => bracket = bracket.saturating_sub(1),
                '"' => {
                    quote = !quote;
                    continue;
                }
                '\\' => {
                    if let Some(&next) = chars.get(i) {
                        cur.push(next);
                        i += 1;
                    }
                    continue;
                }
                ',' if paren == 0 && !quote && bracket == 0 => {
                    ended_on_delim = true;
                    break;
                }
                _ => {}
            }
            cur.push(c);
        }
        args.push(cur);
    }
    if i < chars.len() {
        args.push(chars[i..].iter().collect());
    } else if ended_on_delim {
        args.push(String::new());
    }
    args
}

#[cfg(test)]
mod tests {
    use super::separate_args;

    fn split(s: &str) -> Vec<String> {
        separate_args(s, 100)
    }

    #[test]
    fn commas_split_outside_parentheses_brackets_and_quotes() {
        assert_eq!(split("A,B"), ["A", "B"]);
        assert_eq!(split("CHANNEL(state),CUT(x,-,1),B"), ["CHANNEL(state)", "CUT(x,-,1)", "B"]);
        assert_eq!(split("A[1,2],B"), ["A[1,2]", "B"]);
        assert_eq!(split("\"A,B\",C"), ["A,B", "C"]);
    }

    #[test]
    fn empty_and_trailing_arguments_are_kept() {
        assert_eq!(split("A,,B"), ["A", "", "B"]);
        assert_eq!(split("A,"), ["A", ""]);
        assert_eq!(split("A"), ["A"]);
        assert_eq!(split(",A"), ["", "A"]);
    }

    #[test]
    fn backslash_makes_the_next_character_literal() {
        assert_eq!(split("A\\,B,C"), ["A,B", "C"]);
        assert_eq!(split("A\\\\,B"), ["A\\", "B"]);
    }

    #[test]
    fn the_last_argument_takes_the_rest() {
        assert_eq!(separate_args("A,B,C,D", 3), ["A", "B", "C,D"]);
        let many: Vec<String> = (0..150).map(|i| format!("V{i}")).collect();
        let got = separate_args(&many.join(","), 100);
        assert_eq!(got.len(), 100);
        assert_eq!(got[98], "V98");
        assert_eq!(got[99], many[99..].join(","));
    }
}
