import { objectStoreContract } from '@mesh/contract-suites';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsObjectStore } from './fs-object-store';

objectStoreContract('filesystem', () => {
  const root = mkdtempSync(join(tmpdir(), 'objects-'));
  return Promise.resolve({
    store: new FsObjectStore(root),
    bucket: 'mesh-test',
    dispose: () => Promise.resolve(rmSync(root, { recursive: true, force: true })),
  });
});
