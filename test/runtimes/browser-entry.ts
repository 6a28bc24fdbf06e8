// Entry bundled by esbuild for the Chromium run: exposes the scenario to the page's caller.
import { runScenario } from "./scenario.js";

(globalThis as { runScenario?: typeof runScenario }).runScenario = runScenario;
