// Applies Grafana table panels' transformations with Grafana's own code.
//
// stdin: [{"name": "...", "transformations": [...], "frames": [DataFrame...]}]
//   (frames as Grafana's Prometheus data source builds them for table
//   queries; see tablecheck.go)
// stdout: [{"name": "...", "frames": [{"fields": [{"name", "type", "values"}]}]}],
//   each field named by the title Grafana gives its column
//
// @grafana/data is written for the browser: it reads window, document,
// localStorage and navigator while loading, so they are stubbed first.
'use strict';

const g = globalThis;
const stored = {};
g.window = g;
g.document = {
  createElement: () => ({ style: {}, getContext: () => null, setAttribute() {}, appendChild() {} }),
  getElementsByTagName: () => [],
  querySelector: () => null,
  addEventListener() {},
  head: { appendChild() {} },
  body: { appendChild() {} },
  documentElement: { style: {} },
};
g.localStorage = {
  getItem: (k) => (k in stored ? stored[k] : null),
  setItem: (k, v) => { stored[k] = String(v); },
  removeItem: (k) => { delete stored[k]; },
};
Object.defineProperty(g, 'navigator', { value: { userAgent: 'node', language: 'en-US', languages: ['en-US'] }, configurable: true });
g.location = { href: 'http://localhost/', origin: 'http://localhost', pathname: '/', search: '', hash: '' };
g.history = { pushState() {}, replaceState() {} };
g.addEventListener = () => {};
g.removeEventListener = () => {};
g.matchMedia = () => ({ matches: false, addListener() {}, removeListener() {}, addEventListener() {}, removeEventListener() {} });

const { transformDataFrame, standardTransformers, standardTransformersRegistry, getFieldDisplayName } = require('@grafana/data');
const { firstValueFrom } = require('rxjs');

// Grafana's app registers the transformers at start-up; these are the ones
// @grafana/data ships (merge, organize, joinByField, labelsToFields, ...).
// seriesToColumns is joinByField's old name: register each id once. The
// registry loads a transformer lazily, through a function.
const transformers = new Map();
for (const t of Object.values(standardTransformers)) {
  if (!transformers.has(t.id)) transformers.set(t.id, t);
}
standardTransformersRegistry.setInit(() =>
  [...transformers.values()].map((t) => ({ id: t.id, aliasIds: t.aliasIds, name: t.name, description: t.description, transformation: () => t })),
);

// parseSampleValue as in @grafana/prometheus's result_transformer.
function parseSampleValue(value) {
  if (/^[+-]?inf(?:inity)?$/i.test(value)) {
    return value[0] === '-' ? -Infinity : Infinity;
  }
  return parseFloat(value);
}

async function main() {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const panels = JSON.parse(input);
  const out = [];
  for (const p of panels) {
    // transformDataFrame skips a transformation it does not know; Grafana's
    // app registers a few more than @grafana/data ships, which this check
    // cannot run, so it refuses rather than check something else.
    for (const t of p.transformations || []) {
      if (!standardTransformersRegistry.getIfExists(t.id)) {
        throw new Error(`${p.name}: transformation ${t.id} is not in @grafana/data, this check cannot run it`);
      }
    }
    const frames = p.frames.map((f) => ({
      ...f,
      fields: f.fields.map((field) => (field.type === 'number' ? { ...field, values: field.values.map(parseSampleValue) } : field)),
      length: f.fields.length ? f.fields[0].values.length : 0,
    }));
    const result = await firstValueFrom(transformDataFrame(p.transformations || [], frames));
    out.push({
      name: p.name,
      frames: result.map((f) => ({
        // JSON has no NaN or Inf: write them as Grafana shows them.
        // The column title: organize renames through config.displayName.
        fields: f.fields.map((field) => ({
          name: getFieldDisplayName(field, f, result),
          type: field.type,
          values: Array.from(field.values, (v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)),
        })),
      })),
    });
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
