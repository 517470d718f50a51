import { dropSchema, migrateSchema, testSchema } from '@mesh/harness';
import { routeArchiveContract } from '@mesh/contract-suites';
import { PgRouteArchive } from './pg-route-archive';

const url = process.env.DATABASE_URL ?? 'postgres://mesh@127.0.0.1:5432/mesh';
const schema = testSchema('archive');

beforeAll(() => migrateSchema(url, schema));
afterAll(() => dropSchema(url, schema));

routeArchiveContract('PostgreSQL', () => {
  const archive = new PgRouteArchive({ url, schema });
  return Promise.resolve({ archive, dispose: () => archive.close() });
});
