#!/usr/bin/env node
// @ts-check
/**
 * @file Generates web/ami-events.d.ts (typed AMI events and actions) from the XML documentation
 * in an Asterisk source tree: the `<managerEvent>` and `<manager>` elements of the
 * `/*** DOCUMENTATION ... ***\/` blocks in C files and of the *_doc.xml / *_manager.xml files,
 * with `<channel_snapshot/>` and `<bridge_snapshot/>` expanded from doc/appdocsxml.xslt and
 * `xi:include` parameter references resolved. Nothing of Asterisk is copied into the output
 * besides names and one-line synopses.
 *
 * Usage:
 *   node web/tools/gen-types.mjs --src /path/to/asterisk [--out web/ami-events.d.ts]
 *   node web/tools/gen-types.mjs --git /path/to/asterisk.git --ref 22 [--out web/ami-events.d.ts]
 */
import { readFileSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execFileSync } from 'node:child_process';

// ---------- input ----------

/** @param {string[]} argv */
function parseArgs(argv) {
  /** @type {Record<string, string>} */
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    o[a.slice(2)] = argv[++i];
  }
  return o;
}

/**
 * The files that can hold manager docs, as {path, text}, plus the xslt, from a tree or git ref.
 * @param {Record<string, string>} args
 */
function readSources(args) {
  const wanted = (/** @type {string} */ p) => (p.endsWith('.c') || p.endsWith('.xml')) && !p.startsWith('doc/') && !p.includes('/tests/');
  /** @type {{path: string, text: string}[]} */
  const files = [];
  let xslt;
  let describe;
  if (args.git) {
    const git = (/** @type {string[]} */ ...a) => execFileSync('git', ['--git-dir', args.git, ...a], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const ref = args.ref ?? 'HEAD';
    const listed = git('grep', '-l', '-e', '<managerEvent', '-e', '<manager name', ref, '--')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.slice(ref.length + 1));
    for (const p of listed) if (wanted(p)) files.push({ path: p, text: git('show', `${ref}:${p}`) });
    xslt = git('show', `${ref}:doc/appdocsxml.xslt`);
    const commit = git('rev-parse', ref).trim();
    const date = git('log', '-1', '--format=%cs', ref).trim();
    describe = `${ref} (commit ${commit}, ${date})`;
  } else if (args.src) {
    /** @param {string} dir */
    const walk = (dir) => {
      for (const name of readdirSync(dir)) {
        if (name.startsWith('.')) continue;
        const full = join(dir, name);
        const st = statSync(full);
        if (st.isDirectory()) walk(full);
        else {
          const rel = relative(args.src, full);
          if (!wanted(rel)) continue;
          const text = readFileSync(full, 'utf8');
          if (text.includes('<managerEvent') || text.includes('<manager name')) files.push({ path: rel, text });
        }
      }
    };
    walk(args.src);
    xslt = readFileSync(join(args.src, 'doc/appdocsxml.xslt'), 'utf8');
    let version = 'unknown version';
    try {
      version = readFileSync(join(args.src, '.version'), 'utf8').trim();
    } catch {
      // a git checkout has no .version file
    }
    describe = `source tree ${args.src} (${version})`;
  } else {
    throw new Error('give --src <asterisk tree> or --git <asterisk git dir> --ref <ref>');
  }
  files.sort((a, b) => (a.path < b.path ? -1 : 1));
  return { files, xslt, describe };
}

// ---------- a small XML reader ----------

/** @typedef {{name: string, attrs: Record<string, string>, children: (XNode | string)[]}} XNode */

/** @param {string} s */
function decode(s) {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-f]+);/gi, (_, e) => {
    const map = /** @type {Record<string, string>} */ ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" });
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return map[e.toLowerCase()] ?? '';
  });
}

/**
 * Parses XML text into children of a synthetic root. Lenient: unmatched end tags close up to
 * the matching open element; stray text is kept as text.
 * @param {string} text
 * @returns {XNode}
 */
function parseXml(text) {
  /** @type {XNode} */
  const root = { name: '#root', attrs: {}, children: [] };
  const stack = [root];
  const re = /<!--[\s\S]*?-->|<!\[CDATA\[([\s\S]*?)\]\]>|<\?[\s\S]*?\?>|<!DOCTYPE[^>]*>|<\/\s*([\w:.-]+)\s*>|<([\w:.-]+)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|([^<]+)|</g;
  let m;
  while ((m = re.exec(text))) {
    const top = stack[stack.length - 1];
    if (m[1] !== undefined) top.children.push(m[1]);
    else if (m[2] !== undefined) {
      const i = stack.map((n) => n.name).lastIndexOf(m[2]);
      if (i > 0) stack.length = i;
    } else if (m[3] !== undefined) {
      /** @type {Record<string, string>} */
      const attrs = {};
      const ar = /([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
      let a;
      while ((a = ar.exec(m[4] ?? ''))) attrs[a[1]] = decode(a[2] ?? a[3] ?? '');
      /** @type {XNode} */
      const node = { name: m[3], attrs, children: [] };
      top.children.push(node);
      if (!m[5]) stack.push(node);
    } else if (m[6] !== undefined) top.children.push(decode(m[6]));
  }
  return root;
}

/** @param {XNode} n @returns {XNode[]} */
const elements = (n) => /** @type {XNode[]} */ (n.children.filter((c) => typeof c !== 'string'));

/** @param {XNode | string} n @returns {string} the text content, white space collapsed */
function textOf(n) {
  if (typeof n === 'string') return n;
  return n.children.map(textOf).join(' ');
}

/** @param {XNode | undefined} n */
const oneLine = (n) => (n ? textOf(n).replace(/\s+/g, ' ').trim() : '');

// ---------- the documentation model ----------

/**
 * The field names of the xslt templates channel_snapshot and bridge_snapshot (without prefix).
 * @param {string} xslt
 * @returns {Record<string, {name: string, doc: string}[]>}
 */
function snapshotTemplates(xslt) {
  /** @type {Record<string, {name: string, doc: string}[]>} */
  const out = {};
  const tre = /<xsl:template match="(channel_snapshot|bridge_snapshot)">([\s\S]*?)<\/xsl:template>/g;
  let t;
  while ((t = tre.exec(xslt))) {
    const fields = [];
    const fre = /concat\(\s*@prefix\s*,\s*'([A-Za-z0-9_-]+)'\s*\)"\/>\s*<\/xsl:attribute>([\s\S]*?)<\/xsl:element>/g;
    let f;
    while ((f = fre.exec(t[2]))) fields.push({ name: f[1], doc: f[2].replace(/<xsl:value-of select="concat\(@prefix, *'([^']*)'\)"\/>/g, '{{prefix}}$1').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim() });
    out[t[1]] = fields;
  }
  if (!out.channel_snapshot?.length || !out.bridge_snapshot?.length) throw new Error('doc/appdocsxml.xslt: snapshot templates not found');
  return out;
}

/**
 * @param {XNode} root all docs
 * @param {string} pointer an xpointer(...) expression
 * @returns {XNode[]} the elements it selects (only /docs/elem[@name='x']/... steps are understood)
 */
function resolvePointer(root, pointer) {
  const m = /^xpointer\((.*)\)$/.exec(pointer.trim());
  if (!m) return [];
  const steps = m[1].replace(/^\//, '').split('/');
  if (steps.shift() !== 'docs') return [];
  let nodes = [root];
  for (const step of steps) {
    const sm = /^([\w:-]+)(?:\[@name='([^']*)'\])?$/.exec(step);
    if (!sm) return [];
    nodes = nodes.flatMap((n) => elements(n).filter((c) => c.name === sm[1] && (sm[2] === undefined || c.attrs.name === sm[2])));
  }
  return nodes;
}

/** @typedef {{name: string, required: boolean, doc: string, enums: string[], always: boolean}} Param */

/**
 * The parameters of a syntax element: parameters, expanded snapshots and resolved includes.
 * @param {XNode | undefined} syntax
 * @param {XNode} root
 * @param {Record<string, {name: string, doc: string}[]>} templates
 * @param {number} [depth]
 * @returns {Param[]}
 */
function paramsOf(syntax, root, templates, depth = 0) {
  if (!syntax || depth > 4) return [];
  /** @type {Param[]} */
  const out = [];
  for (const el of elements(syntax)) {
    if (el.name === 'parameter' && el.attrs.name) {
      const enums = elements(el)
        .filter((c) => c.name === 'enumlist')
        .flatMap((l) => elements(l).filter((e) => e.name === 'enum' && e.attrs.name).map((e) => e.attrs.name));
      const para = elements(el).find((c) => c.name === 'para');
      out.push({ name: el.attrs.name, required: el.attrs.required === 'true' || el.attrs.required === 'yes', doc: oneLine(para), enums, always: false });
    } else if (el.name === 'channel_snapshot' || el.name === 'bridge_snapshot') {
      const prefix = el.attrs.prefix ?? '';
      for (const f of templates[el.name]) out.push({ name: `${prefix}${f.name}`, required: true, doc: f.doc.replaceAll('{{prefix}}', prefix), enums: [], always: true });
    } else if (el.name === 'xi:include' && el.attrs.xpointer) {
      const target = resolvePointer(root, el.attrs.xpointer);
      for (const t of target) if (t.name === 'parameter') out.push(...paramsOf({ name: 'syntax', attrs: {}, children: [t] }, root, templates, depth + 1));
    }
  }
  return out;
}

/**
 * @param {XNode} n @param {(n: XNode) => void} fn visits every element
 */
function walk(n, fn) {
  for (const c of elements(n)) {
    fn(c);
    walk(c, fn);
  }
}

/**
 * Events and actions from all files.
 * @param {{path: string, text: string}[]} files
 * @param {string} xslt
 */
function collect(files, xslt) {
  const templates = snapshotTemplates(xslt);
  /** @type {XNode} */
  const root = { name: 'docs', attrs: {}, children: [] };
  for (const f of files) {
    const chunks = f.path.endsWith('.xml') ? [f.text] : [...f.text.matchAll(/\/\*\*\* DOCUMENTATION([\s\S]*?)\*\*\*\//g)].map((m) => m[1]);
    for (const chunk of chunks) {
      const parsed = parseXml(chunk);
      const docs = elements(parsed).find((e) => e.name === 'docs');
      root.children.push(...(docs ? docs.children : parsed.children));
    }
  }
  /** @type {Map<string, {name: string, synopsis: string, classes: Set<string>, params: Map<string, Param>, instances: number, counts: Map<string, number>}>} */
  const events = new Map();
  /** @type {Map<string, {name: string, synopsis: string, params: Map<string, Param>}>} */
  const actions = new Map();
  walk(root, (el) => {
    if (el.name === 'managerEvent' && el.attrs.name) {
      let ev = events.get(el.attrs.name);
      if (!ev) events.set(el.attrs.name, (ev = { name: el.attrs.name, synopsis: '', classes: new Set(), params: new Map(), instances: 0, counts: new Map() }));
      for (const inst of elements(el).filter((c) => c.name === 'managerEventInstance')) {
        ev.instances++;
        if (inst.attrs.class) ev.classes.add(inst.attrs.class);
        if (!ev.synopsis) ev.synopsis = oneLine(elements(inst).find((c) => c.name === 'synopsis'));
        const seen = new Set();
        for (const p of paramsOf(elements(inst).find((c) => c.name === 'syntax'), root, templates)) {
          if (seen.has(p.name)) continue;
          seen.add(p.name);
          ev.counts.set(p.name, (ev.counts.get(p.name) ?? 0) + 1);
          if (!ev.params.has(p.name)) ev.params.set(p.name, p);
        }
      }
    } else if (el.name === 'manager' && el.attrs.name && !actions.has(el.attrs.name)) {
      const params = new Map();
      for (const p of paramsOf(elements(el).find((c) => c.name === 'syntax'), root, templates)) if (!params.has(p.name)) params.set(p.name, p);
      actions.set(el.attrs.name, { name: el.attrs.name, synopsis: oneLine(elements(el).find((c) => c.name === 'synopsis')), params });
    }
  });
  // A snapshot field is always there only if every instance of the event has it.
  for (const ev of events.values()) for (const [name, p] of ev.params) if (p.always && ev.counts.get(name) !== ev.instances) p.always = false;
  return { events, actions };
}

// ---------- output ----------

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
/** @param {string} name */
const prop = (name) => (IDENT.test(name) ? name : JSON.stringify(name));
/** @param {string} name */
const typeName = (name) => name.replace(/[^A-Za-z0-9_]/g, '_');
/** @param {string} s one JSDoc-safe line */
const jsdoc = (s) => s.replace(/\*\//g, '* /').replace(/\s+/g, ' ').trim().slice(0, 300);

/** @param {ReturnType<typeof collect>} model @param {string} describe */
function render(model, describe) {
  const L = [];
  L.push('// Generated by web/tools/gen-types.mjs. Do not edit by hand.');
  L.push(`// Source: the manager XML documentation of Asterisk ${describe}.`);
  L.push('// Regenerate (needs an Asterisk source tree or git directory, never committed here):');
  L.push('//   node web/tools/gen-types.mjs --git /path/to/asterisk.git --ref 22 --out web/ami-events.d.ts');
  L.push('//   node web/tools/gen-types.mjs --src /path/to/asterisk --out web/ami-events.d.ts');
  L.push('// Events and actions not listed here still type as string maps (AmiEventBase, AmiActionBase).');
  L.push('');
  L.push('/** A header value: a string, or an array for a header that repeats. */');
  L.push('export type AmiValue = string | string[];');
  L.push('');
  L.push('/** Every AMI event as the server sends it (ami-json): header names to string values. */');
  L.push('export interface AmiEventBase {');
  L.push('  Event: string;');
  L.push('  /** Sequence number added by res_ami_websocket (decimal string). Absent on replies to your own actions. */');
  L.push('  WsSeq?: string;');
  L.push('  Privilege?: string;');
  L.push('  Timestamp?: string;');
  L.push('  ActionID?: string;');
  L.push('  [header: string]: AmiValue | undefined;');
  L.push('}');
  L.push('');
  const evNames = [...model.events.keys()].sort();
  for (const name of evNames) {
    const ev = model.events.get(name);
    if (!ev) continue;
    L.push(`/** ${jsdoc(ev.synopsis || name)}${ev.classes.size ? ` (${[...ev.classes].sort().join(', ')})` : ''} */`);
    L.push(`export interface ${typeName(name)}Event extends AmiEventBase {`);
    L.push(`  Event: ${JSON.stringify(name)};`);
    for (const p of ev.params.values()) {
      if (['Event', 'WsSeq', 'Privilege', 'Timestamp', 'ActionID'].includes(p.name)) continue;
      const doc = [p.doc, p.enums.length ? `One of: ${p.enums.join(', ')}.` : ''].filter(Boolean).join(' ');
      if (doc) L.push(`  /** ${jsdoc(doc)} */`);
      L.push(`  ${prop(p.name)}${p.always ? '' : '?'}: string;`);
    }
    L.push('}');
  }
  L.push('');
  L.push('/** Documented events by name. */');
  L.push('export interface AmiEventMap {');
  for (const name of evNames) L.push(`  ${prop(name)}: ${typeName(name)}Event;`);
  L.push('}');
  L.push('');
  L.push('/** A name documented in AmiEventMap. */');
  L.push('export type AmiEventName = keyof AmiEventMap;');
  L.push('');
  L.push('/** Any action: header names to values (arrays repeat a header; numbers and booleans become strings). */');
  L.push('export interface AmiActionBase {');
  L.push('  Action: string;');
  L.push('  ActionID?: string;');
  L.push('  [header: string]: string | string[] | number | boolean | undefined;');
  L.push('}');
  L.push('');
  const acNames = [...model.actions.keys()].sort();
  for (const name of acNames) {
    const ac = model.actions.get(name);
    if (!ac) continue;
    L.push(`/** ${jsdoc(ac.synopsis || name)} */`);
    L.push(`export interface ${typeName(name)}Action extends AmiActionBase {`);
    L.push(`  Action: ${JSON.stringify(name)};`);
    for (const p of ac.params.values()) {
      if (p.name === 'Action' || p.name === 'ActionID') continue;
      const doc = [p.doc, p.enums.length ? `One of: ${p.enums.join(', ')}.` : ''].filter(Boolean).join(' ');
      if (doc) L.push(`  /** ${jsdoc(doc)} */`);
      L.push(`  ${prop(p.name)}${p.required ? '' : '?'}: string | number | boolean${/^(Variable|Header)$/.test(p.name) ? ' | string[]' : ''};`);
    }
    L.push('}');
  }
  L.push('');
  L.push('/** Documented actions by name. */');
  L.push('export interface AmiActionMap {');
  for (const name of acNames) L.push(`  ${prop(name)}: ${typeName(name)}Action;`);
  L.push('}');
  L.push('');
  L.push('/** A name documented in AmiActionMap. */');
  L.push('export type AmiActionName = keyof AmiActionMap;');
  L.push('');
  return L.join('\n');
}

// ---------- main ----------

const args = parseArgs(process.argv.slice(2));
const { files, xslt, describe } = readSources(args);
const model = collect(files, xslt);
const out = render(model, describe);
if (args.out) {
  writeFileSync(args.out, out);
  process.stderr.write(`${args.out}: ${model.events.size} events, ${model.actions.size} actions from ${files.length} files of ${describe}\n`);
} else {
  process.stdout.write(out);
}
