// @ts-check
/**
 * @file tools/gen-types.mjs on a small synthetic source tree written here (same XML structure
 * as Asterisk's documentation, our own text): snapshot expansion with prefixes, xi:include
 * resolution, several event instances, required action parameters, odd names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const tool = resolve(dirname(fileURLToPath(import.meta.url)), '../tools/gen-types.mjs');

const XSLT = `<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="channel_snapshot">
    <xsl:element name="parameter"><xsl:attribute name="name"><xsl:value-of select="concat(@prefix,'Chan')"/></xsl:attribute></xsl:element>
    <xsl:element name="parameter"><xsl:attribute name="name"><xsl:value-of select="concat(@prefix,'Uid')"/></xsl:attribute>
      <para>Id, see <xsl:value-of select="concat(@prefix,'Chan')"/></para></xsl:element>
  </xsl:template>
  <xsl:template match="bridge_snapshot">
    <xsl:element name="parameter"><xsl:attribute name="name"><xsl:value-of select="concat(@prefix,'BridgeId')"/></xsl:attribute></xsl:element>
  </xsl:template>
</xsl:stylesheet>`;

const C_FILE = `/* a module */
/*** DOCUMENTATION
  <managerEvent language="en_US" name="Rang">
    <managerEventInstance class="EVENT_FLAG_CALL">
      <synopsis>Raised when it rang &amp; stopped.</synopsis>
      <syntax>
        <channel_snapshot/>
        <channel_snapshot prefix="Dest"/>
        <parameter name="Cause-txt"><para>Why.</para></parameter>
        <parameter name="Kind"><enumlist><enum name="a"/><enum name="b"/></enumlist></parameter>
      </syntax>
    </managerEventInstance>
    <managerEventInstance class="EVENT_FLAG_CALL">
      <synopsis>Raised elsewhere.</synopsis>
      <syntax>
        <channel_snapshot/>
        <parameter name="Kind"/>
      </syntax>
    </managerEventInstance>
  </managerEvent>
  <managerEvent language="en_US" name="Rang2">
    <managerEventInstance class="EVENT_FLAG_SYSTEM">
      <synopsis>Like Rang.</synopsis>
      <syntax>
        <bridge_snapshot/>
        <xi:include xpointer="xpointer(/docs/managerEvent[@name='Rang']/managerEventInstance/syntax/parameter[@name='Cause-txt'])" />
      </syntax>
    </managerEventInstance>
  </managerEvent>
***/
int x;
`;

const XML_FILE = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE docs SYSTEM "appdocsxml.dtd">
<docs xmlns:xi="http://www.w3.org/2001/XInclude">
  <manager name="Login" language="en_US">
    <synopsis>Log in.</synopsis>
    <syntax>
      <parameter name="ActionID"><para>An id.</para></parameter>
      <parameter name="Username" required="true"/>
    </syntax>
  </manager>
  <manager name="Ring" language="en_US">
    <synopsis>Make it ring. <!-- comment --></synopsis>
    <syntax>
      <xi:include xpointer="xpointer(/docs/manager[@name='Login']/syntax/parameter[@name='ActionID'])" />
      <parameter name="Target" required="true"><para>Who.</para></parameter>
      <parameter name="Loud"/>
    </syntax>
    <responses>
      <list-elements>
        <managerEvent language="en_US" name="RingItem">
          <managerEventInstance class="EVENT_FLAG_COMMAND">
            <synopsis>One item.</synopsis>
            <syntax><parameter name="N"/></syntax>
          </managerEventInstance>
        </managerEvent>
      </list-elements>
    </responses>
  </manager>
</docs>`;

test('gen-types: events, actions, snapshots, includes, from a source tree', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gen-types-'));
  try {
    mkdirSync(join(dir, 'doc'));
    mkdirSync(join(dir, 'apps'));
    mkdirSync(join(dir, 'main'));
    writeFileSync(join(dir, 'doc/appdocsxml.xslt'), XSLT);
    writeFileSync(join(dir, 'apps/app_ring.c'), C_FILE);
    writeFileSync(join(dir, 'main/ring_doc.xml'), XML_FILE);
    writeFileSync(join(dir, 'main/other.c'), '/* nothing documented */\n');
    writeFileSync(join(dir, '.version'), '99.1.0');
    const out = join(dir, 'out.d.ts');
    const r = spawnSync(process.execPath, [tool, '--src', dir, '--out', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /3 events, 2 actions from 2 files/);
    const ts = readFileSync(out, 'utf8');
    assert.match(ts, /source tree .* \(99\.1\.0\)/);
    const block = (/** @type {string} */ name) => {
      const m = new RegExp(`export interface ${name} extends [^{]*\\{([^}]*)\\}`).exec(ts);
      assert.ok(m, `${name} in output`);
      return m[1];
    };
    const rang = block('RangEvent');
    assert.match(rang, /Event: "Rang";/);
    assert.match(rang, /\n {2}Chan: string;/, 'snapshot fields are always present');
    assert.match(rang, /\n {2}DestChan\?: string;/, 'prefixed snapshot, only in one of the two instances: optional');
    assert.match(rang, /Id, see DestChan/, 'snapshot docs keep the prefixed name');
    assert.match(rang, /"Cause-txt"\?: string;/, 'odd names quoted, documented parameters optional');
    assert.match(rang, /One of: a, b\./);
    assert.match(ts, /\/\*\* Raised when it rang & stopped\. \(EVENT_FLAG_CALL\) \*\//);
    const rang2 = block('Rang2Event');
    assert.match(rang2, /BridgeId: string;/);
    assert.match(rang2, /"Cause-txt"\?: string;/, 'xi:include of another event parameter');
    assert.match(block('RingItemEvent'), /N\?: string;/, 'list element events inside a manager action');
    const ring = block('RingAction');
    assert.match(ring, /Action: "Ring";/);
    assert.match(ring, /\n {2}Target: string \| number \| boolean;/, 'required');
    assert.match(ring, /Loud\?: string/);
    assert.doesNotMatch(ring, /ActionID/, 'ActionID comes from AmiActionBase');
    assert.match(ts, /export interface AmiEventMap \{[^}]*Rang: RangEvent;[^}]*RingItem: RingItemEvent;/);
    assert.match(ts, /\[header: string\]: AmiValue \| undefined;/, 'unknown events are string maps');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('gen-types: the committed ami-events.d.ts says what it was generated from and how to regenerate', () => {
  const ts = readFileSync(resolve(dirname(tool), '../ami-events.d.ts'), 'utf8');
  const head = ts.split('\n').slice(0, 6).join('\n');
  assert.match(head, /Generated by web\/tools\/gen-types\.mjs/);
  assert.match(head, /Asterisk 22 \(commit [0-9a-f]{40}, \d{4}-\d\d-\d\d\)/);
  assert.match(head, /--git .* --ref 22 --out web\/ami-events\.d\.ts/);
  for (const name of ['Hangup', 'Newchannel', 'BridgeEnter', 'ExtensionStatus', 'DeviceStateChange', 'QueueCallerJoin', 'ParkedCall', 'OriginateResponse', 'CoreShowChannel']) {
    assert.match(ts, new RegExp(`export interface ${name}Event extends AmiEventBase`), name);
  }
  assert.match(ts, /export interface OriginateAction extends AmiActionBase \{\n {2}Action: "Originate";/);
});
