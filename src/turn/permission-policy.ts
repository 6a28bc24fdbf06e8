// Permission rules a client or a prompt sets (`createClient({ permissions })`, `prompt(text, {
// permissions })`): which of the agent's permission requests the Turn answers itself, and how. Pure
// matching here; the Turn sends the answers and reports each as a `permission_policy` reply.

/** What a rule does with a request it matches: answer yes, answer no, or leave it to the user. */
export type PermissionAction = "allow" | "deny" | "ask";

export interface PermissionRule {
  /** The permission it is for (the tool's: "bash", "edit", "read", "external_directory", …); `*` and `?` are wildcards. Default "*". */
  permission?: string;
  /** Every pattern of the request must match it (for bash, the command: "git *"); `*` and `?` are wildcards. Default "*". */
  pattern?: string;
  action: PermissionAction;
  /**
   * With "allow": answer "always", so the server stops asking, for this session, about what the
   * request's `always` patterns cover (and lets go of the parallel requests they cover).
   */
  always?: boolean;
}

/** Rules in order; the first that matches a request decides. A request no rule matches is asked. */
export type PermissionPolicy = readonly PermissionRule[];

/** A policy's answer to one request. */
export interface PolicyDecision {
  reply: "once" | "always" | "reject";
  rule: PermissionRule;
}

/** The first rule matching the request, as an answer; undefined when the user must be asked. */
export function decidePermission(policy: PermissionPolicy, request: { permission: string; patterns: readonly string[] }): PolicyDecision | undefined {
  for (const rule of policy) {
    if (!wildcardMatch(rule.permission ?? "*", request.permission)) continue;
    const pattern = rule.pattern ?? "*";
    if (!request.patterns.every((p) => wildcardMatch(pattern, p))) continue;
    if (rule.action === "ask") return undefined;
    return { reply: rule.action === "deny" ? "reject" : rule.always ? "always" : "once", rule };
  }
  return undefined;
}

/**
 * Whether an earlier answer already covers a request, as the server applies it: an "always"
 * covers the same permission's requests whose patterns its `always` patterns match; a "reject"
 * rejects every request pending in its session.
 */
export function coveredBy(
  earlier: { sessionID: string; permission: string; always: readonly string[]; reply: PolicyDecision["reply"] },
  request: { sessionID: string; permission: string; patterns: readonly string[] },
): boolean {
  if (earlier.reply === "reject") return earlier.sessionID === request.sessionID;
  if (earlier.reply !== "always" || earlier.permission !== request.permission) return false;
  return request.patterns.every((p) => earlier.always.some((a) => wildcardMatch(a, p)));
}

/** `*` matches any run of characters, `?` one; everything else literally (opencode's wildcard). */
export function wildcardMatch(pattern: string, text: string): boolean {
  // Iterative match with one backtrack point: linear for the patterns rules use, never exponential.
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === "?" || pattern[p] === text[t])) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === "*") {
      star = p++;
      mark = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === "*") p++;
  return p === pattern.length;
}
