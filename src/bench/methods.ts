import type { Policy, RouterChoice, ScorerChoice } from "../engine/index.js";

/**
 * The methods the bench compares. A method is a policy plus the judge it uses (router for
 * arbitrage, scorer for rsd and oracle), passed per request to the one engine.
 */
export type MethodId = "target" | "draft" | "rsd-prm" | "rsd-exact" | "arbitrage" | "arbitrage-confidence" | "oracle";

export interface Method {
  id: MethodId;
  label: string;
  policy: Policy;
  router: RouterChoice;
  scorer: ScorerChoice;
  /** Whether the threshold matters (target and draft run once). */
  swept: boolean;
}

export const BENCH_POLICIES: readonly Policy[] = ["target", "draft", "rsd", "arbitrage", "oracle"];

function judgeName(choice: RouterChoice | ScorerChoice, kind: "router" | "scorer"): string {
  if (typeof choice === "object") return `${kind} ${choice.path.split(/[\\/]/).pop()}`;
  if (choice === "embedded") return kind === "router" ? "trained router" : "learned PRM";
  if (choice === "exact") return "exact checker";
  return choice; // "confidence"
}

/**
 * The methods for the chosen policies. `router`/`scorer` are the user's judges (default: the
 * embedded router and PRM); the bench adds the confidence router and, where every question is
 * integer arithmetic, the exact checker as an ideal PRM (for rsd and for the oracle).
 */
export function methodsFor(policies: readonly Policy[], router: RouterChoice, scorer: ScorerChoice, exactApplies: boolean): Method[] {
  const out: Method[] = [];
  const ideal: ScorerChoice = exactApplies ? "exact" : scorer;
  const add = (m: Method) => {
    const key = (x: Method) => `${x.policy}|${x.policy === "arbitrage" ? JSON.stringify(x.router) : ""}|${x.policy === "rsd" || x.policy === "oracle" ? JSON.stringify(x.scorer) : ""}`;
    if (!out.some((o) => key(o) === key(m))) out.push(m);
  };
  for (const policy of BENCH_POLICIES) {
    if (!policies.includes(policy)) continue;
    if (policy === "target" || policy === "draft") add({ id: policy, label: policy, policy, router, scorer, swept: false });
    if (policy === "rsd") {
      add({ id: "rsd-prm", label: `rsd (${judgeName(scorer, "scorer")})`, policy, router, scorer, swept: true });
      if (exactApplies) add({ id: "rsd-exact", label: "rsd (exact checker)", policy, router: "confidence", scorer: "exact", swept: true });
    }
    if (policy === "arbitrage") {
      add({ id: "arbitrage", label: `arbitrage (${judgeName(router, "router")})`, policy, router, scorer, swept: true });
      add({ id: "arbitrage-confidence", label: "arbitrage (confidence)", policy, router: "confidence", scorer: ideal, swept: true });
    }
    if (policy === "oracle") {
      add({ id: "oracle", label: `oracle (${judgeName(ideal, "scorer")})`, policy, router: "confidence", scorer: ideal, swept: true });
    }
  }
  return out;
}

/** The judges a method uses (methods with the same key share their loaded judges). */
export function engineKey(m: Method): string {
  return JSON.stringify([m.router, m.scorer]);
}
