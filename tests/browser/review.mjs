// Drives the review page in headless Chromium (Debian's /usr/bin/chromium,
// or $CHROMIUM): loads the page, finds the held DM with the given id, sees
// its reasons and its marked evidence, clicks "Not spam", and waits for it
// to leave the queue. Prints what it saw as one JSON line; exits non-zero
// naming the step that failed.
//
//   node review.mjs URL ID [SCREENSHOT.png]
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [url, id, screenshot] = process.argv.slice(2);
if (!url || !id) {
  console.error("usage: node review.mjs URL ID [SCREENSHOT.png]");
  process.exit(2);
}

const profile = mkdtempSync(join(tmpdir(), "dmguard-chromium-"));
let context;
let step = "launch chromium";
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    viewport: { width: 412, height: 915 },
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));

  step = "load the page";
  await page.goto(url, { waitUntil: "load" });
  const card = page.locator(`article.dm[data-id="${id}"]`);
  step = `see the held DM ${id}`;
  await card.waitFor({ state: "visible", timeout: 10000 });
  step = "see the chart";
  await page.locator("#chart .bar").first().waitFor({ state: "attached", timeout: 10000 });

  step = "read its reasons and evidence";
  const reasons = await card.locator(".reasons li code").allTextContents();
  const marks = await card.locator(".text mark").allTextContents();
  const action = await card.locator(".action").textContent();
  const summaryBefore = await page.locator("#summary").textContent();
  if (reasons.length === 0) throw new Error("the held DM shows no reasons");

  if (screenshot) {
    step = "take the screenshot";
    await page.setViewportSize({ width: 900, height: 1100 });
    await page.screenshot({ path: screenshot, fullPage: false });
    await page.setViewportSize({ width: 412, height: 915 });
  }

  step = "click Not spam";
  await card.locator("button.ham").click();
  step = `see ${id} leave the queue`;
  await card.waitFor({ state: "detached", timeout: 10000 });
  await page.waitForFunction((before) => document.querySelector("#summary").textContent !== before,
    summaryBefore, { timeout: 10000 });
  const summaryAfter = await page.locator("#summary").textContent();
  if (errors.length) throw new Error(`errors on the page: ${errors.join("; ")}`);
  console.log(JSON.stringify({ id, action, reasons, marks, summaryBefore, summaryAfter }));
} catch (e) {
  console.error(`review page: could not ${step}: ${e.message}`);
  process.exitCode = 1;
} finally {
  if (context) await context.close();
  rmSync(profile, { recursive: true, force: true });
}
