// A worked example through the TypeScript client generated from /api/schema/ with
// @hey-api/openapi-ts (into ./client): a token, a cycle, a goal, a KPI, a value, the
// tree, the export as CSV and its import back as a preview. Run under Node:
//   node out/example.js http://127.0.0.1:8000 USERNAME PASSWORD
// Prints one "name value" line per figure; exits 1 at the first unexpected answer.

import { createClient, createConfig } from './client/client';
import {
  authTokenCreate,
  cyclesCreate,
  cyclesExportRetrieve,
  cyclesImportCreate,
  goalsCreate,
  goalsTreeRetrieve,
  kpisCreate,
  kpisUpdatesCreate,
  meRetrieve,
} from './client/sdk.gen';

type Answer<T> = { data?: T; error?: unknown; response?: Response };

// The answer's data, if its status is the one expected.
function expect<T>(answer: Answer<T>, status: number, what: string): T {
  if (answer.response?.status !== status || answer.data === undefined) {
    throw new Error(`${what}: ${answer.response?.status} ${JSON.stringify(answer.error)}`);
  }
  return answer.data;
}

async function main(baseUrl: string, username: string, password: string): Promise<void> {
  // Signing in needs no token: a plain client.
  const anonymous = createClient(createConfig({ baseUrl }));
  const token = expect(
    await authTokenCreate({ client: anonymous, body: { username, password } }),
    200,
    'token',
  );
  // The token goes in the Authorization header (the schema's tokenAuth), not a cookie.
  const client = createClient(
    createConfig({
      baseUrl,
      auth: (scheme) => (scheme.in === 'cookie' ? undefined : `Token ${token.token}`),
    }),
  );

  const me = expect(await meRetrieve({ client }), 200, 'me');
  const cycle = expect(
    await cyclesCreate({
      client,
      body: { name: 'TS 2027', start: '2027-01-01', end: '2027-12-31', cadence: 'quarterly' },
    }),
    201,
    'cycle',
  );
  const goal = expect(
    await goalsCreate({
      client,
      body: { cycle: cycle.id, level: 'strategic', title: 'Improve customer experience' },
    }),
    201,
    'goal',
  );
  const kpi = expect(
    await kpisCreate({
      client,
      body: {
        goal: goal.id,
        name: 'Tickets answered within one hour',
        unit: '%',
        direction: 'increase',
        baseline: 60,
        target: 85,
        owner: me.id,
      },
    }),
    201,
    'kpi',
  );
  const value = expect(
    await kpisUpdatesCreate({ client, path: { id: kpi.id }, body: { value: 80 } }),
    201,
    'value',
  );
  console.log(`value ${value.value}`);

  const tree = expect(await goalsTreeRetrieve({ client, path: { id: goal.id } }), 200, 'tree');
  console.log(`tree ${tree.progress}`);
  console.log(`kpi ${tree.kpis[0]?.progress}`);

  // The export is a file: read it as bytes, then as the UTF-8 text its type says it is.
  const exported = await cyclesExportRetrieve({
    client,
    path: { id: cycle.id },
    query: { format: 'csv' },
    parseAs: 'blob',
  });
  const csv = await expect(exported, 200, 'export').text();
  console.log(`export_type ${exported.response?.headers.get('Content-Type')}`);
  const lines = csv.trim().split(/\r?\n/);
  console.log(`export_rows ${lines.length - 1}`);

  // Imported into another cycle, as text/csv (the bytes as they are, not JSON).
  const other = expect(
    await cyclesCreate({
      client,
      body: { name: 'TS 2028', start: '2028-01-01', end: '2028-12-31' },
    }),
    201,
    'another cycle',
  );
  const preview = expect(
    await cyclesImportCreate({
      client,
      path: { id: other.id },
      query: { dry_run: true },
      body: new Blob([csv], { type: 'text/csv' }),
      headers: { 'Content-Type': 'text/csv' },
    }),
    200,
    'import preview',
  );
  if (!('rows' in preview)) {
    throw new Error('import preview: not a preview');
  }
  console.log(`preview_goals ${preview.totals.goals_created}`);
  console.log(`preview_kpis ${preview.totals.kpis_created}`);
  console.log(`preview_errors ${preview.totals.errors}`);
}

const [baseUrl, username, password] = process.argv.slice(2);
if (!baseUrl || !username || !password) {
  console.error('usage: node out/example.js BASE_URL USERNAME PASSWORD');
  process.exit(2);
}
main(baseUrl, username, password).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
