// GraphiQL on the backend in headless Chromium with every other host
// blocked: the page must render its editor, run a query and log no error
// (a script or style the Content-Security-Policy refused, a failed load).
// Usage: node graphiql.mjs <backend base URL> <screenshot dir>
// (frontend/tests/browser.rs starts the backend and runs this).
import { chromium } from 'playwright-core';
import { join } from 'node:path';

const [base, shots] = process.argv.slice(2);
const origin = new URL(base).origin;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

try {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const blocked = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(origin + '/')) return route.continue();
    blocked.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(String(error)));

  console.log('- GraphiQL page');
  await page.goto(base + '/graphql');
  await page.locator('.graphiql-container').waitFor({ timeout: 20000 });
  const editor = page.locator('.graphiql-query-editor .CodeMirror');
  await editor.waitFor({ timeout: 20000 });

  console.log('- run a query');
  await page.evaluate(() => {
    document.querySelector('.graphiql-query-editor .CodeMirror')
      .CodeMirror.setValue('{ genres { name } }');
  });
  await page.locator('.graphiql-execute-button').click();
  await page.locator('.graphiql-response').filter({ hasText: '"genres"' })
    .waitFor({ timeout: 20000 });
  await page.screenshot({ path: join(shots, 'graphiql.png') });

  check(blocked.length === 0, `requests to other hosts: ${blocked.join(', ')}`);
  check(problems.length === 0, `errors in the page: ${problems.join(' | ')}`);
  console.log('GraphiQL rendered and answered, nothing from other hosts');
} finally {
  await browser.close();
}
