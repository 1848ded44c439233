// Compile-only checks of the hand-written and generated types (tsc --noEmit -p web/tools).
import { connect, AmiError, type AmiClient } from '../ami-ws.js';
import { PbxState } from '../pbx-state.js';

export async function demo(): Promise<void> {
  const client: AmiClient = await connect({ url: 'ws://127.0.0.1:8765/ami', username: 'demo', secret: 'demo' });
  client.on('Hangup', (ev) => {
    const cause: string | undefined = ev.Cause;
    const uid: string = ev.Uniqueid;
    void cause;
    void uid;
  });
  client.on('lost', (l) => void l.firstLost.length);
  client.on('SomethingUndocumented', (ev) => void ev.AnyHeader);
  await client.send({ Action: 'Originate', Channel: 'PJSIP/100', Exten: '101', Context: 'default', Priority: 1, Async: true });
  // @ts-expect-error Channel is required by Originate's documentation
  await client.send({ Action: 'Originate', Exten: '101' });
  await client.send({ Action: 'SomeCustomAction', Foo: 'bar' });
  const { items } = await client.list({ Action: 'CoreShowChannels' });
  void items[0].Event;
  for await (const ev of client.events({ Event: ['Newstate', 'Hangup'] })) {
    if (ev.Event === 'WsBufferOverflow') continue;
    void ev.ChannelStateDesc;
  }
  const pbx = new PbxState(client);
  await pbx.start();
  pbx.addEventListener('change', (e) => void e.detail.kind);
  const ch = pbx.channels.get('1.1');
  if (ch) void (ch.onHold && ch.bridgeId);
  const err = new AmiError('timeout', 'x');
  void err.code;
}

// The README example ("### The client library (ami-ws.js)"), verbatim but for the import path.
export async function readmeExample(): Promise<void> {
  const ami = await connect({ url: 'ws://127.0.0.1:8765/ami', username: 'demo', secret: 'demo' });
  const { items } = await ami.list({ Action: 'CoreShowChannels' });
  console.log(items.map((c) => `${c.Channel} ${c.ChannelStateDesc}`));
  ami.on('Hangup', (ev) => console.log('hangup', ev.Channel, ev['Cause-txt']));
  ami.on('lost', ({ count }) => console.warn(`${count} events lost while away`));
  const res = await ami.send({ Action: 'Originate', Channel: 'PJSIP/100', Exten: '101',
    Context: 'default', Priority: 1, Async: true }, { timeout: 30000 }); // the OriginateResponse
  for await (const ev of ami.events({ Event: ['Newstate', 'Hangup'] })) console.log(ev.Event);
  void res;
}
