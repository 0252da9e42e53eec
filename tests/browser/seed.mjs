// Registers the fixture schools and submits their figures through the HTTP API, waiting until
// the worker has applied each. Writes the school tokens to $EDUMON_BROWSER_OUT/tokens.json for
// the test's live-update step.
import fs from 'node:fs';
import path from 'node:path';
import {ADMIN_TOKEN, OUT_DIR, expectStatus, submit} from './lib.mjs';
import {DISTRICT, SCHOOLS, SUBMISSIONS} from './fixtures/data.mjs';

const tokens = {};
for (const school of SCHOOLS) {
  const created = await expectStatus(201, 'POST', '/v1/schools', {token: ADMIN_TOKEN, body: school});
  tokens[school.id] = created.token;
}
for (const {school, period, values} of SUBMISSIONS) {
  await submit(DISTRICT, school, tokens[school], period, values);
}
fs.mkdirSync(OUT_DIR, {recursive: true});
fs.writeFileSync(path.join(OUT_DIR, 'tokens.json'), JSON.stringify(tokens, null, 2));
console.log(`seeded ${SCHOOLS.length} schools, ${SUBMISSIONS.length} submissions`);
