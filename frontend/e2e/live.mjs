// Live updates in headless Chromium with JavaScript on (the storefront's
// Content-Security-Policy enforced): a guest's order page changes its
// status in place when staff ship the order, and the staff order list
// gains the row of a newly paid order, both without a reload; axe-core
// finds no violation on either page afterwards.
// Usage: node live.mjs <storefront URL> <screenshot dir>
// (frontend/tests/browser.rs starts the storefront and backend and runs this).
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [base, shots] = process.argv.slice(2);
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});

let current;
const step = (name) => console.log(`- ${name}`);
function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}
async function newPage(javaScriptEnabled) {
  const context = await browser.newContext({ javaScriptEnabled, viewport: { width: 1200, height: 900 } });
  current = await context.newPage();
  current.on('console', (message) => {
    if (message.type() === 'error') console.log(`  console: ${message.text()}`);
  });
  return current;
}
async function text(page) {
  return page.locator('main').innerText();
}
// axe-core's WCAG 2.x A/AA rules and best practices: no violation.
async function axe(page, name) {
  await page.evaluate(axeSource);
  const results = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
  }));
  const violations = results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  check(violations.length === 0, `axe on ${name}:\n  ${violations.join('\n  ')}`);
}

async function guestCheckout(page, title) {
  await page.goto(base + '/books?q=' + encodeURIComponent(title));
  await page.getByRole('link', { name: title }).first().click();
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await page.getByRole('link', { name: 'Check out' }).click();
  await page.getByLabel('Email for the receipt').fill('live@example.com');
  await page.getByLabel('Full name').fill('Lena Live');
  await page.getByLabel('Address', { exact: true }).fill('3 Signal Street');
  await page.getByLabel('City').fill('Springfield');
  await page.getByLabel('Postal code').fill('12345');
  await page.getByLabel('Country').fill('US');
  await page.getByLabel(/Standard delivery/).check();
  await page.getByLabel('Card number').fill('4242 4242 4242 4242');
  await page.getByRole('button', { name: 'Place order' }).click();
  const number = (await text(page)).match(/BK-[0-9A-Z]+/)?.[0];
  check(number, 'the order has a number');
  return number;
}

async function live() {
  step('staff opens the order list (paid orders) with JavaScript on');
  const staff = await newPage(true);
  await staff.goto(base + '/login');
  await staff.getByLabel('Email').fill('staff@example.com');
  await staff.getByLabel('Password').fill('staff password 1');
  await staff.getByRole('button', { name: 'Sign in' }).click();
  await staff.goto(base + '/staff/orders');
  await staff.evaluate(() => { window.notReloaded = true; });
  // The stream is open (the server answered: it is subscribed).
  await staff.locator('[data-live-state="open"]').waitFor({ timeout: 10000 });

  step('a guest checks out with JavaScript on');
  const guest = await newPage(true);
  const number = await guestCheckout(guest, 'Middlemarch');
  check(/\/orders\/BK-[0-9A-Z]+\?token=/.test(guest.url()), `the guest is on the token link, at ${guest.url()}`);
  check((await guest.locator('[data-live-status]').innerText()) === 'Paid', 'the order is paid');

  step('the staff list gains its row without a reload');
  await staff.locator(`tr[data-order-number="${number}"]`).waitFor({ timeout: 10000 });
  check(await staff.evaluate(() => window.notReloaded === true), 'the staff list was not reloaded');
  check((await staff.locator('[data-live-note]').innerText()).includes(number), 'the change is announced');
  await staff.screenshot({ path: join(shots, 'live-staff-orders.png'), fullPage: true });
  await axe(staff, 'the staff order list');

  step('staff ship the order (a page without JavaScript)');
  await guest.locator('[data-live-state="open"]').waitFor({ timeout: 10000 });
  await guest.evaluate(() => { window.notReloaded = true; });
  const shipper = await newPage(false);
  await shipper.goto(base + '/login');
  await shipper.getByLabel('Email').fill('staff@example.com');
  await shipper.getByLabel('Password').fill('staff password 1');
  await shipper.getByRole('button', { name: 'Sign in' }).click();
  await shipper.goto(`${base}/staff/orders/${number}`);
  await shipper.getByLabel('Carrier').fill('Royal Mail');
  await shipper.getByLabel(/Tracking/).fill('RM987654321GB');
  await shipper.getByRole('button', { name: 'Mark as shipped' }).click();
  check(/shipped/i.test(await text(shipper)), 'the order is shipped');

  step("the guest's order page shows it without a reload");
  current = guest;
  await guest.waitForFunction(() => document.querySelector('[data-live-status]').textContent === 'Shipped', null, { timeout: 10000 });
  check(await guest.evaluate(() => window.notReloaded === true), 'the order page was not reloaded');
  check(/is now shipped/.test(await guest.locator('[data-live-note]').innerText()), 'the change is announced');
  check((await guest.locator('[data-live-note]').getAttribute('aria-live')) === 'polite', 'politely');
  check(await guest.getByRole('button', { name: /Cancel order/ }).count() === 0, 'the cancel button is gone');
  await guest.screenshot({ path: join(shots, 'live-order-shipped.png'), fullPage: true });
  await axe(guest, 'the order page');
}

try {
  console.log('live updates');
  await live();
  console.log('live updates passed');
} catch (error) {
  console.error(error.message);
  if (current) {
    await current.screenshot({ path: join(shots, 'live-failure.png'), fullPage: true }).catch(() => {});
    console.error(`at ${current.url()}\n${(await current.locator('body').innerText().catch(() => '')).slice(0, 2000)}`);
  }
  process.exitCode = 1;
} finally {
  await browser.close();
}
