// The permission policy's matching: first rule wins, every pattern must match, wildcards, and
// which earlier answers cover a request the way the server applies them.
import { describe, expect, it } from "vitest";
import { coveredBy, decidePermission, wildcardMatch } from "../../src/turn/permission-policy.js";

describe("permission policy", () => {
  it("the first matching rule decides; allow answers once, or always when asked to; deny rejects; ask leaves it to the user", () => {
    const policy = [
      { permission: "bash", pattern: "git status*", action: "allow" as const, always: true },
      { permission: "bash", pattern: "rm *", action: "deny" as const },
      { permission: "bash", pattern: "npm *", action: "ask" as const },
      { permission: "bash", action: "allow" as const },
    ];
    expect(decidePermission(policy, { permission: "bash", patterns: ["git status --short"] })).toEqual({ reply: "always", rule: policy[0] });
    expect(decidePermission(policy, { permission: "bash", patterns: ["rm -rf dist"] })).toEqual({ reply: "reject", rule: policy[1] });
    expect(decidePermission(policy, { permission: "bash", patterns: ["npm test"] })).toBeUndefined();
    expect(decidePermission(policy, { permission: "bash", patterns: ["ls"] })).toEqual({ reply: "once", rule: policy[3] });
    expect(decidePermission(policy, { permission: "edit", patterns: ["src/a.ts"] })).toBeUndefined();
  });

  it("a rule matches only when every pattern of the request matches it", () => {
    const policy = [{ permission: "bash", pattern: "echo *", action: "allow" as const }];
    expect(decidePermission(policy, { permission: "bash", patterns: ["echo a", "rm -rf /"] })).toBeUndefined();
    expect(decidePermission(policy, { permission: "bash", patterns: ["echo a", "echo b"] })?.reply).toBe("once");
  });

  it("wildcards: * any run, ? one character, everything else literal; linear on long inputs", () => {
    expect(wildcardMatch("*", "")).toBe(true);
    expect(wildcardMatch("git *", "git push")).toBe(true);
    expect(wildcardMatch("git *", "gitk")).toBe(false);
    expect(wildcardMatch("a?c", "abc")).toBe(true);
    expect(wildcardMatch("a?c", "ac")).toBe(false);
    expect(wildcardMatch("*.ts", "src/a.ts")).toBe(true);
    expect(wildcardMatch("[a]", "[a]")).toBe(true);
    const started = performance.now();
    expect(wildcardMatch("*a*a*a*a*a*b", "a".repeat(5_000))).toBe(false);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("an always covers the same permission's requests its always patterns match; a reject covers its session's", () => {
    const always = { sessionID: "s1", permission: "bash", always: ["echo *"], reply: "always" as const };
    expect(coveredBy(always, { sessionID: "s2", permission: "bash", patterns: ["echo b"] })).toBe(true);
    expect(coveredBy(always, { sessionID: "s1", permission: "bash", patterns: ["ls"] })).toBe(false);
    expect(coveredBy(always, { sessionID: "s1", permission: "edit", patterns: ["echo b"] })).toBe(false);
    const reject = { sessionID: "s1", permission: "bash", always: [], reply: "reject" as const };
    expect(coveredBy(reject, { sessionID: "s1", permission: "edit", patterns: ["a"] })).toBe(true);
    expect(coveredBy(reject, { sessionID: "s2", permission: "bash", patterns: ["a"] })).toBe(false);
    expect(coveredBy({ ...always, reply: "once" }, { sessionID: "s1", permission: "bash", patterns: ["echo b"] })).toBe(false);
  });
});
