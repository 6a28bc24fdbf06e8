// Headless Debian Chromium for the browser and runtime tests: where it is, how to launch it so it
// reaches for no outside host, and why a test skips without it (locally only: in CI it must fail).
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

// Without the networking flags Chromium reaches for Google's hosts, which this network refuses.
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

/** Why a browser test cannot run on this machine, or undefined. */
export const chromiumMissing =
  !existsSync(CHROMIUM) && !process.env["CI"] ? `${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium) to run this test` : undefined;

/** A headless Chromium; playwright gives every launch a fresh temporary profile of its own. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}
