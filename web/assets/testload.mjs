// testload.mjs — for the node checks (*.test.mjs): loads one of the pages'
// ES modules from its file, with the modules it imports ('./x.js') loaded
// the same way, as data: URLs (node reads a .js file as CommonJS).
import { readFileSync } from 'node:fs';

export async function load(file, base = import.meta.url) {
  return import(await dataURL(new URL(file, base)));
}

async function dataURL(url) {
  let src = readFileSync(url, 'utf8');
  const deps = [...src.matchAll(/from '(\.\/[\w.-]+\.js)'/g)].map((m) => m[1]);
  for (const dep of new Set(deps)) {
    src = src.replaceAll(`from '${dep}'`, `from '${await dataURL(new URL(dep, url))}'`);
  }
  return 'data:text/javascript;base64,' + Buffer.from(src).toString('base64');
}
