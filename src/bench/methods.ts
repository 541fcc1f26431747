import { REASON_DEFAULTS, type Policy, type RouterChoice, type ScorerChoice } from "../engine/index.js";
import { fileName } from "../shared/file-name.js";

/**
 * The methods the bench compares. A method is a policy plus the judge it uses (router for
 * arbitrage, scorer for rsd and oracle) and, for token-level speculation, its request options,
 * passed per request to the one engine.
 */
export type MethodId =
  | "target"
  | "draft"
  | "rsd-prm"
  | "rsd-exact"
  | "arbitrage"
  | "arbitrage-confidence"
  | "oracle"
  | "random"
  | "arbitrage+spec"
  | "rsd+spec"
  | `speculative-k${number}`;

export interface Method {
  id: MethodId;
  label: string;
  policy: Policy;
  router: RouterChoice;
  scorer: ScorerChoice;
  /** Whether the threshold matters (target, draft and speculative run once). */
  swept: boolean;
  /** Token-level speculation options of this method's requests. */
  options?: { tokenSpeculation?: boolean; draftTokens: number };
}

export const BENCH_POLICIES: readonly Policy[] = ["target", "draft", "speculative", "rsd", "arbitrage", "oracle"];

/**
 * `--policies` entries that are bench methods rather than engine policies, run only when named:
 * `random` is arbitrage with random routing (router "random"), the control a router must beat
 * at the same share of target steps.
 */
export const BENCH_CONTROLS = ["random"] as const;
export type BenchPolicy = Policy | (typeof BENCH_CONTROLS)[number];

/** Which token-level speculation methods to run: `speculative` at each k, and which routed methods also get a `+spec` variant (at one k). */
export interface TokenSpecMethods {
  draftTokens: readonly number[];
  combine: readonly ("arbitrage" | "rsd")[];
  combineDraftTokens: number;
}

export const DEFAULT_TOKEN_SPEC: TokenSpecMethods = {
  draftTokens: [2, 4, 8],
  combine: ["arbitrage"],
  combineDraftTokens: REASON_DEFAULTS.draftTokens,
};

export function isSpeculativeMethod(id: MethodId): boolean {
  return id.startsWith("speculative-k");
}

function judgeName(choice: RouterChoice | ScorerChoice, kind: "router" | "scorer"): string {
  if (typeof choice === "object") return `${kind} ${fileName(choice.path)}`;
  if (choice === "embedded") return kind === "router" ? "trained router" : "learned PRM";
  if (choice === "exact") return "exact checker";
  return choice; // "confidence"
}

/**
 * The methods for the chosen policies. `router`/`scorer` are the user's judges (default: the
 * embedded router and PRM); the bench adds the confidence router and, where every question is
 * integer arithmetic, the exact checker as an ideal PRM (for rsd and for the oracle).
 */
export function methodsFor(
  policies: readonly BenchPolicy[],
  router: RouterChoice,
  scorer: ScorerChoice,
  exactApplies: boolean,
  tokenSpec: TokenSpecMethods = DEFAULT_TOKEN_SPEC,
): Method[] {
  const out: Method[] = [];
  const ideal: ScorerChoice = exactApplies ? "exact" : scorer;
  const add = (m: Method) => {
    const key = (x: Method) =>
      `${x.policy}|${x.policy === "arbitrage" ? JSON.stringify(x.router) : ""}|${x.policy === "rsd" || x.policy === "oracle" ? JSON.stringify(x.scorer) : ""}|${JSON.stringify(x.options ?? null)}`;
    if (!out.some((o) => key(o) === key(m))) out.push(m);
  };
  const spec = { tokenSpeculation: true, draftTokens: tokenSpec.combineDraftTokens };
  const specLabel = `+ token spec (k=${tokenSpec.combineDraftTokens})`;
  for (const policy of BENCH_POLICIES) {
    if (!policies.includes(policy)) continue;
    if (policy === "target" || policy === "draft") add({ id: policy, label: policy, policy, router, scorer, swept: false });
    if (policy === "speculative") {
      for (const k of tokenSpec.draftTokens) {
        add({ id: `speculative-k${k}`, label: `speculative (k=${k})`, policy, router, scorer, swept: false, options: { draftTokens: k } });
      }
    }
    if (policy === "rsd") {
      add({ id: "rsd-prm", label: `rsd (${judgeName(scorer, "scorer")})`, policy, router, scorer, swept: true });
      if (exactApplies) add({ id: "rsd-exact", label: "rsd (exact checker)", policy, router: "confidence", scorer: "exact", swept: true });
      if (tokenSpec.combine.includes("rsd"))
        add({ id: "rsd+spec", label: `rsd (${judgeName(scorer, "scorer")}) ${specLabel}`, policy, router, scorer, swept: true, options: spec });
    }
    if (policy === "arbitrage") {
      add({ id: "arbitrage", label: `arbitrage (${judgeName(router, "router")})`, policy, router, scorer, swept: true });
      add({ id: "arbitrage-confidence", label: "arbitrage (confidence)", policy, router: "confidence", scorer: ideal, swept: true });
      if (tokenSpec.combine.includes("arbitrage"))
        add({
          id: "arbitrage+spec",
          label: `arbitrage (${judgeName(router, "router")}) ${specLabel}`,
          policy,
          router,
          scorer,
          swept: true,
          options: spec,
        });
    }
    if (policy === "oracle") {
      add({ id: "oracle", label: `oracle (${judgeName(ideal, "scorer")})`, policy, router: "confidence", scorer: ideal, swept: true });
    }
  }
  if (policies.includes("random")) add({ id: "random", label: "random routing", policy: "arbitrage", router: "random", scorer, swept: true });
  return out;
}

/** Which judges are valid for this pair and problem set. */
export interface PairFacts {
  /** Both models are the embedded task's (GGUF metadata arbitrage.role): the embedded router and PRM were trained on exactly this pair. */
  embeddedPair: boolean;
  /** Every question is integer arithmetic the exact checker can parse (problems.ts exactCheckerApplies). */
  exactApplies: boolean;
}

export interface SkippedMethod {
  label: string;
  reason: string;
}

export interface MethodPlan {
  methods: Method[];
  /** Methods the policies ask for that have no valid judge on this pair or set, and why. */
  skipped: SkippedMethod[];
  /** Substitutions made (e.g. the confidence router for the embedded one on another pair). */
  notes: string[];
}

/**
 * The methods for the chosen policies on this pair and problem set, leaving out every method
 * whose judge means nothing here rather than running it:
 * - the embedded router and PRM only judge the embedded pair (trained on its steps). On another
 *   pair arbitrage uses the confidence router, as the engine itself does, and `rsd (learned PRM)`
 *   is skipped unless a PRM file is given with --scorer;
 * - the exact checker needs every question to be integer arithmetic, and reads steps in the
 *   embedded task's format (`12+7=19` lines, `A: 19`): a real model's prose step would score 0
 *   whether right or wrong. So on another pair it is used only when asked for (--scorer exact);
 * - the oracle needs an ideal judge: the exact checker where it applies, else a valid scorer.
 */
export function planMethods(
  policies: readonly BenchPolicy[],
  router: RouterChoice,
  scorer: ScorerChoice,
  facts: PairFacts,
  tokenSpec: TokenSpecMethods = DEFAULT_TOKEN_SPEC,
): MethodPlan {
  const notes: string[] = [];
  const skipped: SkippedMethod[] = [];
  let useRouter = router;
  if (router === "embedded" && !facts.embeddedPair) {
    useRouter = "confidence";
    notes.push(
      "the embedded router is trained for the embedded pair only: arbitrage uses the confidence router on this pair (give a router file with --router to add one)",
    );
  }
  const exactOk = facts.exactApplies && (facts.embeddedPair || scorer === "exact");
  const whyNotExact = !facts.exactApplies
    ? "not every question is integer arithmetic the exact checker can parse"
    : "the exact checker reads only the embedded task's step format (12+7=19, A: 19); this pair writes prose steps, which it would score 0 whether right or wrong (ask for it with --scorer exact)";
  const scorerWhyNot: string =
    scorer === "embedded" && !facts.embeddedPair
      ? "the embedded PRM is trained on the embedded pair's steps only; give a PRM file with --scorer FILE.gguf"
      : scorer === "exact" && !exactOk
        ? whyNotExact
        : "";
  const validScorer = scorerWhyNot === "";
  const wanted = methodsFor(policies, useRouter, scorer, exactOk, tokenSpec);
  const methods: Method[] = [];
  for (const m of wanted) {
    if ((m.id === "rsd-prm" || m.id === "rsd+spec") && !validScorer) skipped.push({ label: m.label, reason: scorerWhyNot });
    else if (m.id === "oracle" && !exactOk && !validScorer) {
      skipped.push({
        label: "oracle",
        reason: scorer === "exact" ? `no ideal judge: ${scorerWhyNot}` : `no ideal judge: ${whyNotExact}; and ${scorerWhyNot}`,
      });
    } else methods.push(m);
  }
  if (policies.includes("rsd") && !exactOk && scorer !== "exact") skipped.push({ label: "rsd (exact checker)", reason: whyNotExact });
  return { methods, skipped, notes };
}

/** The judges a method uses (methods with the same key share their loaded judges). */
export function engineKey(m: Method): string {
  return JSON.stringify([m.router, m.scorer]);
}
