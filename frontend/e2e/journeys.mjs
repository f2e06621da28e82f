// The shopper's and the staff's journeys through the storefront in headless
// Chromium. Usage: node journeys.mjs <storefront URL> <screenshot dir>
// (frontend/tests/browser.rs starts the storefront and backend and runs this).
import { chromium } from 'playwright-core';
import { join } from 'node:path';

const [base, shots] = process.argv.slice(2);
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
async function shot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}
async function text(page) {
  return page.locator('main').innerText();
}
// Only server-rendered HTML: the storefront must work without JavaScript.
async function newPage() {
  const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1200, height: 900 } });
  current = await context.newPage();
  return current;
}

async function shopper() {
  const page = await newPage();
  step('home page');
  await page.goto(base + '/');
  check((await text(page)).includes('New arrivals'), 'the home page lists new arrivals');
  await shot(page, 'home');

  step('search and open a book');
  await page.getByLabel('Search books').fill('middlemarch');
  await page.getByRole('button', { name: 'Search' }).click();
  await shot(page, 'search');
  await page.getByRole('link', { name: 'Middlemarch' }).first().click();
  check((await text(page)).includes('ISBN'), 'the book page shows its details');
  await shot(page, 'book');

  step('add to cart');
  await page.getByLabel('Quantity').fill('2');
  await page.getByRole('button', { name: 'Add to cart' }).click();
  check(page.url().endsWith('/cart'), `redirected to the cart, at ${page.url()}`);
  check((await text(page)).includes('Middlemarch'), 'the cart holds the book');
  await shot(page, 'cart');

  step('register, then sign in (the guest cart is kept)');
  await page.goto(base + '/register');
  await page.getByLabel('Your name').fill('Ada Reader');
  await page.getByLabel('Email').fill('ada@example.com');
  await page.getByLabel(/^Password/).fill('correct horse battery');
  await page.getByRole('button', { name: 'Create account' }).click();
  check((await text(page)).includes('Check your email'), 'registering asks to verify the address, not signed in');
  await shot(page, 'register-check-email');
  await page.getByLabel('Email').fill('ada@example.com');
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign in' }).click();
  check((await text(page)).includes('Welcome back, Ada Reader'), 'signed in after registering');
  check((await text(page)).includes('Verify your email address'), 'the account page asks to verify the address');
  await shot(page, 'account-unverified');

  step('check out');
  await page.goto(base + '/cart');
  check((await text(page)).includes('Middlemarch'), 'the cart followed the shopper into the account');
  await page.getByRole('link', { name: 'Check out' }).click();
  await page.getByLabel('Full name').fill('Ada Reader');
  await page.getByLabel('Address', { exact: true }).fill('1 Library Way');
  await page.getByLabel('City').fill('Springfield');
  await page.getByLabel('Postal code').fill('12345');
  await page.getByLabel('Country').fill('US');
  await page.getByLabel(/Standard delivery/).check();
  await page.getByLabel('Card number').fill('4242 4242 4242 4242');
  await shot(page, 'checkout');
  await page.getByRole('button', { name: 'Place order' }).click();
  const confirmation = await text(page);
  check(confirmation.includes('Thank you'), 'the confirmation thanks the shopper');
  const number = confirmation.match(/BK-[0-9A-Z]+/)?.[0];
  check(number, 'the order has a number');
  await shot(page, 'order-confirmation');

  step('the order is in the history');
  await page.goto(base + '/account/orders');
  check((await text(page)).includes(number), 'the history lists the order');
  await shot(page, 'order-history');

  step('cancel it');
  await page.getByRole('link', { name: number }).first().click();
  await page.getByRole('button', { name: /Cancel order/ }).click();
  check((await text(page)).includes(`Cancel order ${number}?`), 'cancelling asks first');
  await shot(page, 'order-cancel-question');
  await page.getByRole('button', { name: /Yes, cancel order/ }).click();
  check(/cancelled/i.test(await text(page)), 'the order is cancelled');
  await shot(page, 'order-cancelled');

  step('forgot password: one answer for every address');
  const visitor = await newPage();
  await visitor.goto(base + '/login');
  await visitor.getByRole('link', { name: 'Forgot your password?' }).click();
  await visitor.getByLabel('Email').fill('ada@example.com');
  await shot(visitor, 'forgot-password');
  await visitor.getByRole('button', { name: 'Send the link' }).click();
  check((await text(visitor)).includes('If an account uses that address'), 'the same answer for every address');
  await shot(visitor, 'forgot-password-sent');

  step('the pages emailed links open: nothing happens before the button');
  await visitor.goto(base + '/reset-password?token=e2e-not-a-real-token');
  check((await text(visitor)).includes('Choose a new password'), 'the reset form');
  await shot(visitor, 'reset-password');
  await visitor.goto(base + '/verify-email?token=e2e-not-a-real-token');
  await shot(visitor, 'verify-email');
  await visitor.getByRole('button', { name: 'Confirm my email address' }).click();
  check((await text(visitor)).includes('This link does not work'), 'a wrong link says so');
  await shot(visitor, 'link-invalid');
}

async function staff() {
  const page = await newPage();
  step('staff signs in');
  await page.goto(base + '/login');
  await page.getByLabel('Email').fill('staff@example.com');
  await page.getByLabel('Password').fill('staff password 1');
  await page.getByRole('button', { name: 'Sign in' }).click();

  step('adds a book');
  await page.goto(base + '/staff/books/new');
  await page.getByLabel('Title', { exact: true }).fill('The Lighthouse Keeper of E2E');
  await page.getByLabel('ISBN').fill('978-0-14-118562-0');
  await page.getByLabel('Price in dollars').fill('12.99');
  await page.getByLabel('Copies in stock').fill('3');
  await page.locator('select#author').selectOption({ index: 0 });
  await page.locator('input[name=genre]').first().check();
  await shot(page, 'staff-new-book');
  await page.getByRole('button', { name: 'Add the book' }).click();
  check((await text(page)).includes('Stock: 3'), 'the edit page shows the new book');

  step('it appears in search');
  const shopper = await newPage();
  await shopper.goto(base + '/books?q=' + encodeURIComponent('Lighthouse Keeper of E2E'));
  check((await text(shopper)).includes('The Lighthouse Keeper of E2E'), 'the new book is found');

  step('adjusts its stock');
  await page.getByLabel('Copies to add or take away').fill('+5');
  await page.getByRole('button', { name: 'Adjust stock' }).click();
  check((await text(page)).includes('Stock: 8'), 'the stock went up by five');
  await shot(page, 'staff-book');

  step('a guest buys it');
  await shopper.getByRole('link', { name: 'The Lighthouse Keeper of E2E' }).first().click();
  await shopper.getByRole('button', { name: 'Add to cart' }).click();
  await shopper.getByRole('link', { name: 'Check out' }).click();
  await shopper.getByLabel('Email for the receipt').fill('guest@example.com');
  await shopper.getByLabel('Full name').fill('Grace Guest');
  await shopper.getByLabel('Address', { exact: true }).fill('2 Harbour Road');
  await shopper.getByLabel('City').fill('Portsmouth');
  await shopper.getByLabel('Postal code').fill('PO1 1AA');
  await shopper.getByLabel('Country').fill('GB');
  await shopper.getByLabel(/Express delivery/).check();
  await shopper.getByLabel('Card number').fill('4242 4242 4242 4242');
  await shopper.getByRole('button', { name: 'Place order' }).click();
  const number = (await text(shopper)).match(/BK-[0-9A-Z]+/)?.[0];
  check(number, 'the guest order has a number');

  step('staff ships the order');
  await page.goto(base + '/staff/orders?status=PAID');
  await shot(page, 'staff-orders');
  await page.getByRole('link', { name: number }).first().click();
  await page.getByLabel('Carrier').fill('Royal Mail');
  await page.getByLabel(/Tracking/).fill('RM123456789GB');
  await page.getByRole('button', { name: 'Mark as shipped' }).click();
  check(/shipped/i.test(await text(page)), 'the order is shipped');
  await shot(page, 'staff-order-shipped');

  step('the guest sees the tracking number');
  check(/\/orders\/BK-[0-9A-Z]+\?token=/.test(shopper.url()), `the confirmation is the token link, at ${shopper.url()}`);
  await shopper.reload();
  check((await text(shopper)).includes('RM123456789GB'), 'tracking shown to the guest');

  step('the guest finds the order by number and email in another browser');
  const elsewhere = await newPage();
  await elsewhere.goto(base + '/orders/lookup');
  await elsewhere.getByLabel('Order number').fill(number);
  await elsewhere.getByLabel('Email').fill('guest@example.com');
  await elsewhere.getByRole('button', { name: 'Find order' }).click();
  check((await text(elsewhere)).includes('RM123456789GB'), 'the looked-up order shows its tracking');
  check(!/@|%40|email/i.test(elsewhere.url()), `no email in the address ${elsewhere.url()}`);
  await shot(elsewhere, 'order-lookup');
}

try {
  console.log('shopper journey');
  await shopper();
  console.log('staff journey');
  await staff();
  console.log('both journeys passed');
} catch (error) {
  console.error(error.message);
  if (current) {
    await shot(current, 'failure').catch(() => {});
    console.error(`at ${current.url()}\n${(await current.locator('body').innerText().catch(() => '')).slice(0, 2000)}`);
  }
  process.exitCode = 1;
} finally {
  await browser.close();
}
