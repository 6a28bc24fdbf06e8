// Headless Chromium for the browser and runtime tests: where it is (CHROMIUM_PATH, else the usual
// install paths), how to launch it so it reaches for no outside host, and why a test skips without
// it (locally only: in CI it must fail).
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

/** Where Debian/Ubuntu, Fedora, Arch, Alpine, snap and macOS put Chromium or Chrome. */
const USUAL_PATHS = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/lib/chromium/chromium",
  "/snap/bin/chromium",
  "/usr/bin/google-chrome",
  "/usr/bin/google-chrome-stable",
  "/Applications/Chromium.app/Contents/MacOS/Chromium",
  "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
];

/** The browser the tests launch: `CHROMIUM_PATH` when set (it must exist), else the first usual path found. */
export const CHROMIUM: string | undefined = process.env["CHROMIUM_PATH"] || USUAL_PATHS.find((path) => existsSync(path));

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

const HOW_TO_GET_ONE =
  "install one (Debian/Ubuntu: apt-get install -y chromium; macOS: brew install --cask chromium; or `npx playwright install chromium`) " +
  "or point CHROMIUM_PATH at a Chromium or Chrome executable";

/** Why a browser test cannot run on this machine, or undefined (never in CI: there a missing browser fails the launch). */
export const chromiumMissing =
  (!CHROMIUM || !existsSync(CHROMIUM)) && !process.env["CI"]
    ? `${CHROMIUM ? `CHROMIUM_PATH=${CHROMIUM} does not exist` : `no Chromium found in ${USUAL_PATHS.slice(0, 3).join(", ")}, …`}: ${HOW_TO_GET_ONE}`
    : undefined;

/** A headless Chromium; playwright gives every launch a fresh temporary profile of its own. */
export function launchChromium(): Promise<Browser> {
  if (!CHROMIUM) return Promise.reject(new Error(`no Chromium for the browser tests: ${HOW_TO_GET_ONE}`));
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}
