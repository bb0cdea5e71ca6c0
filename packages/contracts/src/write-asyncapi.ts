/**
 * Writes the RPC protocol's AsyncAPI document to packages/contracts/asyncapi.json: `npm run asyncapi` after a change
 * to a route, a header or an error code (a unit test fails while the committed file differs from what this writes).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { asyncApiDocument } from './asyncapi-document';

export const PACKAGE_ROOT = join(__dirname, '..');
export const ASYNCAPI_PATH = join(PACKAGE_ROOT, 'asyncapi.json');

/** The document as the file holds it: the package's version, two-space JSON, a final newline. */
export function asyncApiFileContent(): string {
  const { version } = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  return `${JSON.stringify(asyncApiDocument(version), null, 2)}\n`;
}

if (require.main === module) {
  writeFileSync(ASYNCAPI_PATH, asyncApiFileContent());
  console.log(`wrote ${ASYNCAPI_PATH}`);
}
