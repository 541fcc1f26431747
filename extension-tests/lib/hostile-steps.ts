/**
 * Hostile step texts, streamed into the real panel by the test-only companion extension
 * (extension-tests/hooks-extension, command "Arbitrage Tests: Inject Hostile Steps") and escaped
 * by the chat participant in the integration tests. Each would do something visible if it were not rendered
 * inert: run script (sets window.__arbPwned / document.title), load a resource from the canary
 * server on 127.0.0.1:47913, navigate, or break the layout. The end-to-end test checks none happens.
 */
export const CANARY_ORIGIN = "http://127.0.0.1:47913";

export const HOSTILE_STEP_TEXTS: string[] = [
  `<script>window.__arbPwned = 1; document.title = "pwned"</script>script tag above\n\n`,
  `<img src=x onerror="window.__arbPwned = 2"> and <img src="${CANARY_ORIGIN}/img.png"> images\n\n`,
  `[click me](javascript:window.__arbPwned=3) and <a href="javascript:window.__arbPwned=4">raw link</a> and [canary](${CANARY_ORIGIN}/link)\n\n`,
  `</div></article></main><div id="breakout" style="position:fixed;inset:0;background:red">breakout</div>\n\n`,
  `Math trick: $\\href{javascript:window.__arbPwned=5}{x}$ and \\(\\url{${CANARY_ORIGIN}/url}\\) and $$\\includegraphics{${CANARY_ORIGIN}/g.png}$$\n\n`,
  `Markdown tricks: ![img](${CANARY_ORIGIN}/md.png) <${CANARY_ORIGIN}/autolink> [ref][r]\n\n[r]: javascript:window.__arbPwned=6\n\n`,
  `<svg onload="window.__arbPwned=7"><use href="${CANARY_ORIGIN}/s.svg#x"/></svg><iframe src="${CANARY_ORIGIN}/frame"></iframe><style>body{background:url(${CANARY_ORIGIN}/bg.png)}</style>\n\n`,
  `${"A".repeat(100_000)}\n\n`,
  `Real math still renders: \\(x^2 + 1\\), $$\\frac{a}{b}$$, costs $40 and $50 stay text.\n\n\`\`\`python\nprint("<b>not bold</b>")\n\`\`\`\n\n`,
];
