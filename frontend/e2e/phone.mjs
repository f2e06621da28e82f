// The storefront on a 390 px phone and a 1280 px laptop in headless
// Chromium: the catalog's height for a page of 24 books, filters collapsed
// on the phone and open on the laptop, covers within their column, the
// numbered pages, the checkout's total, and axe-core (WCAG 2.2 AA) with 0
// violations on each page visited. Usage: node phone.mjs <storefront URL>
// <screenshot dir> (frontend/tests/browser.rs runs it).
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

/// The tallest the catalog may be on a phone for 24 books (it was 16,000 px).
const PHONE_CATALOG_MAX_PX = 6500;

let current;
const step = (name) => console.log(`- ${name}`);
function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}
async function shot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}
// The pages run no script of their own (CSP script-src 'none'); the test
// measures and runs axe-core through the browser's protocol.
async function newPage(width, height) {
  const context = await browser.newContext({ viewport: { width, height }, bypassCSP: true });
  current = await context.newPage();
  return current;
}
async function axe(page, name) {
  await page.evaluate(axeSource);
  const results = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
  }));
  const found = results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  check(found.length === 0, `axe-core on ${name}: ${found.join('; ')}`);
}

async function phone() {
  const page = await newPage(390, 844);
  step('the catalog on a 390 px phone');
  await page.goto(base + '/books');
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  console.log(`  catalog height at 390 px: ${height} px for ${await page.locator('.book-card').count()} books`);
  check(await page.locator('.book-card').count() === 24, 'a page holds 24 books');
  check(height < PHONE_CATALOG_MAX_PX, `the catalog is ${height} px tall on a phone`);
  check(!(await page.locator('details.filters-panel').evaluate((d) => d.open)), 'the filters are collapsed');
  check(!(await page.locator('select#genre').isVisible()), 'the filter fields are hidden until opened');
  const cover = await page.locator('.cover').first().boundingBox();
  const card = await page.locator('.book-card').first().boundingBox();
  check(cover.width <= card.width + 0.5 && cover.width < 195, `a cover fits its column (${cover.width} px)`);
  check(await page.title() === 'All books, page 1 of 24 · Bookstore', `the title names the page: ${await page.title()}`);
  await shot(page, 'phone-catalog');
  await axe(page, 'the catalog at 390 px');

  step('opening the filters on the phone');
  await page.locator('details.filters-panel > summary').click();
  check(await page.locator('select#genre').isVisible(), 'the filters open');
  await axe(page, 'the catalog with its filters open');

  step('the numbered pages');
  await page.getByRole('link', { name: /Next/ }).click();
  check(await page.title() === 'All books, page 2 of 24 · Bookstore', `page 2: ${await page.title()}`);
  await page.getByRole('link', { name: /Last/ }).click();
  check(await page.title() === 'All books, page 24 of 24 · Bookstore', `the last page: ${await page.title()}`);
  await page.getByRole('link', { name: /Previous/ }).click();
  check(await page.title() === 'All books, page 23 of 24 · Bookstore', `back one: ${await page.title()}`);
  await shot(page, 'phone-catalog-page-23');

  step('a book into the cart; the header counts it');
  await page.goto(base + '/books/middlemarch');
  await page.getByLabel('Quantity').fill('2');
  await page.getByRole('button', { name: 'Add to cart' }).click();
  check((await page.getByRole('link', { name: /^Cart/ }).innerText()).includes('(2'), 'the header shows 2 items');
  check((await page.locator('a.checkout').evaluate((a) => getComputedStyle(a).backgroundColor)) !== 'rgba(0, 0, 0, 0)', '"Check out" is a filled button');
  await shot(page, 'phone-cart');
  await axe(page, 'the cart at 390 px');

  step('the checkout shows the total, and updates it without JavaScript');
  await page.getByRole('link', { name: 'Check out' }).click();
  const standard = await page.locator('.order-total .total').innerText();
  await page.getByLabel(/Express delivery/).check();
  await page.getByRole('button', { name: 'Update total' }).click();
  const express = await page.locator('.order-total .total').innerText();
  check(standard !== express, `the total changed with the method (${standard} → ${express})`);
  check((await page.locator('.order-total').innerText()).includes('Express delivery'), 'the total names the method');
  await shot(page, 'phone-checkout');
  await axe(page, 'the checkout at 390 px');
}

async function laptop() {
  const page = await newPage(1280, 900);
  step('the catalog on a laptop: filters open');
  await page.goto(base + '/books');
  check(await page.locator('select#genre').isVisible(), 'the filters are shown on a wide screen');
  await shot(page, 'laptop-catalog');
  await axe(page, 'the catalog at 1280 px');

  step('a customer keeps an address');
  await page.goto(base + '/register');
  await page.getByLabel('Your name').fill('Addie Ress');
  await page.getByLabel('Email').fill('addie@example.com');
  await page.getByLabel(/^Password/).fill('correct horse battery');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByLabel('Email').fill('addie@example.com');
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.goto(base + '/account/addresses');
  await page.getByLabel('Full name').fill('Addie Ress');
  await page.getByLabel('Address', { exact: true }).fill('3 Quay Street');
  await page.getByLabel('City').fill('Galway');
  await page.getByLabel('Postal code').fill('H91 A2B3');
  await page.getByLabel('Country').fill('IE');
  await page.getByRole('button', { name: 'Add address' }).click();
  check((await page.locator('main').innerText()).includes('3 Quay Street'), 'the address is listed');
  await shot(page, 'addresses');
  await axe(page, 'the addresses page');
}

try {
  console.log('phone');
  await phone();
  console.log('laptop');
  await laptop();
  console.log('phone and laptop passed');
} catch (error) {
  console.error(error.message);
  if (current) {
    await shot(current, 'failure-phone').catch(() => {});
    console.error(`at ${current.url()}\n${(await current.locator('body').innerText().catch(() => '')).slice(0, 2000)}`);
  }
  process.exitCode = 1;
} finally {
  await browser.close();
}
