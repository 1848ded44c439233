#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target (fuzz/corpus/<target>/seed-*), from the recorded
hook fixture and inputs like those of the tests. Re-run after changing it; the output is
committed so a fresh checkout fuzzes from the same start."""
import json, os, struct

root = os.path.dirname(os.path.abspath(__file__))
fixture = os.path.join(root, "..", "tests", "fixtures", "hook-capture-22.10.1.jsonl")
events = []
with open(fixture) as f:
    for line in f:
        r = json.loads(line)
        if r["kind"] not in ("request", "return") and r["body"].startswith("Event:"):
            events.append(r["body"])
# A spread of event kinds, small: the first of each name, at most 12.
seen, picked = set(), []
for b in events:
    name = b.split("\r\n", 1)[0]
    if name not in seen:
        seen.add(name)
        picked.append(b)
picked = picked[:12]


def write(target, name, data):
    d = os.path.join(root, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def frame(opcode, payload, fin=True, masked=True):
    if isinstance(payload, str):
        payload = payload.encode()
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    m = 0x80 if masked else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 65536:
        head += bytes([m | 126]) + struct.pack(">H", n)
    else:
        head += bytes([m | 127]) + struct.pack(">Q", n)
    if not masked:
        return head + payload
    key = b"\x12\x34\x56\x78"
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


actions = [
    '{"Action":"Login","Username":"admin","Secret":"adminpw","ActionID":"1"}',
    '{"Action":"Challenge","AuthType":"MD5"}',
    '{"Action":"Originate","Channel":"PJSIP/100","Exten":"200","Context":"default",'
    '"Priority":"1","Variable":["A=1","B=2"],"ActionID":"7"}',
    '{"Action":"Filter","Operation":"Add","Filter":"Event: Newchannel"}',
    '{"Action":"Events","EventMask":"call,system"}',
    '{"Action":"UserEvent","UserEvent":"Foo","Header1":"x\\u00e9y"}',
    '{"Action":"Ping","X":"a\\r\\nAction: Originate"}',
]
for i, a in enumerate(actions):
    write("json_action", f"action-{i}", a)

for i, b in enumerate(picked):
    write("ami_text", f"event-{i}", b)
write("ami_text", "action", "Action: Login\r\nUsername: admin\r\nSecret: adminpw\r\n\r\n")
write("ami_text", "two", "Action: Ping\r\n\r\nAction: Events\r\nEventMask: off\r\n\r\n")

upgrade = ("GET /ami HTTP/1.1\r\nHost: 127.0.0.1:8765\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Version: 13\r\n")
write("http_upgrade", "plain", upgrade + "\r\n")
write("http_upgrade", "origin-proto", upgrade + "Origin: https://pbx.example.com\r\n"
      "Sec-WebSocket-Protocol: ami-text, ami-json\r\n\r\n")
write("http_upgrade", "page", "GET / HTTP/1.1\r\nHost: pbx\r\n\r\n")
write("http_upgrade", "leftover", upgrade + "\r\n" + "\x81\x80abcd")

write("ws_frames", "action", frame(1, actions[0]))
write("ws_frames", "fragments", frame(1, '{"Action":', fin=False) + frame(9, "p")
      + frame(0, '"Ping"}'))
write("ws_frames", "close", frame(8, struct.pack(">H", 1000) + b"bye"))
write("ws_frames", "text-enc", frame(1, "Action: Ping\r\nActionID: 3\r\n\r\n"))
write("ws_frames", "binary-unmasked", frame(2, b"\x00\x01", masked=False))

sample = open(os.path.join(root, "..", "configs", "ami_websocket.conf.sample")).read()
write("config", "sample", sample)
write("config", "manager", "[general]\nenabled = yes\nauthtimeout = 30\nauthlimit = 50\n"
      "[admin]\nsecret = adminpw\nread = system,call,log\nwrite = all\n"
      "deny = 0.0.0.0/0.0.0.0\npermit = 127.0.0.1/255.255.255.255\n"
      "eventfilter = !Event: Newexten\neventfilter(action(include),name(Newchannel),"
      "header(Channel),method(starts_with)) = PJSIP/\nallowmultiplelogin = no\n")

body = picked[0] if picked else "Event: Newchannel\r\nChannel: PJSIP/100-0001\r\n\r\n"
write("eventfilter", "legacy", "eventfilter\nEvent: Newchannel\n" + body)
write("eventfilter", "exclude", "eventfilter\n!Channel: Local/.*\n" + body)
write("eventfilter", "advanced", "eventfilter(action(exclude),name(Newchannel),header(Channel),"
      "method(regex))\n^PJSIP/[0-9]+\n" + body)
write("eventfilter", "contains", "eventfilter(method(contains))\nUniqueid\n" + body)

write("login", "plain", b"\x00admin\x00adminpw\x00\x00Ping")
write("login", "md5", b"\x0cmd5\x000123456789abcdef0123456789abcdef\x00MD5\x00Ping")
write("login", "before", b"\x02lan\x00lanpw\x00plaintext\x00Originate")
write("login", "text", b"\x05admin\x00wrong\x00MD5\x00Events")
