// Screenshot of the dashboard of a running edumon (e.g. `make demo`), for the README.
//   node tools/dashboard-screenshot.mjs [BASE_URL] [DISTRICT] [PERIOD] [OUT.png]
// Defaults: http://127.0.0.1:8080 yinchuan-xingqing 2024 web/screenshot.png. Uses Debian's
// chromium through playwright-core (installed by tests/browser/run.sh into
// tests/browser/node_modules); nothing is fetched from the network.
import {createRequire} from 'node:module';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'tests', 'browser', 'package.json'));
const {chromium} = require('playwright-core');

const [base = 'http://127.0.0.1:8080', district = 'yinchuan-xingqing', period = '2024',
  out = path.join(here, '..', 'web', 'screenshot.png')] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--no-first-run', '--disable-sync'],
});
try {
  const page = await browser.newPage({viewport: {width: 1280, height: 900}});
  await page.goto(`${base}/?district=${district}&period=${period}`);
  await page.waitForSelector('.card', {timeout: 15000});
  await page.waitForTimeout(1500); // the balanced-development panel and the trend lines
  await page.screenshot({path: out, fullPage: false});
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
}
