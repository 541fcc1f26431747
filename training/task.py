"""Embedded arithmetic task: problem generator, canonical solutions, exact checker.

Format (see training/README.md):
  prompt   = "Q: <expr>\n\n"            (BOS token before it)
  step     = "a<op>b=c" or "a <op> b = c", followed by "\n\n"
  final    = "A: <n>" then EOS (no trailing newline)
"""
import random
import re

MAX_VALUE = 99       # every intermediate value (and the result) lies in [0, MAX_VALUE]
WIDE_MAX_VALUE = 999  # the wider family used to pre-train the draft and the target (training/README.md)
MIN_OPS = 1
MAX_OPS = 3          # operations per question of the task family (gen_problem, the shape-uniform sampler)
V1_MIN_OPS = 2       # the first sampler (gen_problem_v1) drew 2..MAX_OPS; the pre-training runs used it
MAX_ADD_LITERAL = 99  # literals are 0..99
MAX_MUL_SMALL = 9     # in a product one side is <= 9 ...
MAX_MUL_LARGE = 99    # ... and the other side <= 99

OPS = "+-*"
PREC = {"+": 1, "-": 1, "*": 2}


# --- AST: int literal, or tuple (op, left, right) ---------------------------------------------

def value(node):
    if isinstance(node, int):
        return node
    op, l, r = node
    a, b = value(l), value(r)
    return a + b if op == "+" else a - b if op == "-" else a * b


def to_text(node):
    """Minimal parentheses that parse back to the same (left-associative) AST."""
    if isinstance(node, int):
        return str(node)
    op, l, r = node
    ls, rs = to_text(l), to_text(r)
    if not isinstance(l, int) and PREC[l[0]] < PREC[op]:
        ls = "(" + ls + ")"
    if not isinstance(r, int) and PREC[r[0]] <= PREC[op]:
        rs = "(" + rs + ")"
    return ls + op + rs


_TOK = re.compile(r"\d+|[-+*()]")


def parse(expr):
    """Standard precedence, left-associative. Raises ValueError on malformed input."""
    expr = expr.replace(" ", "")
    toks = _TOK.findall(expr)
    if "".join(toks) != expr or not toks:
        raise ValueError("bad expression: %r" % expr)
    pos = [0]

    def peek():
        return toks[pos[0]] if pos[0] < len(toks) else None

    def eat():
        t = toks[pos[0]]
        pos[0] += 1
        return t

    def atom():
        t = peek()
        if t is None:
            raise ValueError("unexpected end")
        if t == "(":
            eat()
            n = add()
            if peek() != ")":
                raise ValueError("missing )")
            eat()
            return n
        if t.isdigit():
            eat()
            return int(t)
        raise ValueError("unexpected %r" % t)

    def mul():
        n = atom()
        while peek() == "*":
            eat()
            n = ("*", n, atom())
        return n

    def add():
        n = mul()
        while peek() in ("+", "-"):
            op = eat()
            n = (op, n, mul())
        return n

    n = add()
    if pos[0] != len(toks):
        raise ValueError("trailing tokens")
    return n


def n_ops(node):
    return 0 if isinstance(node, int) else 1 + n_ops(node[1]) + n_ops(node[2])


# --- generator --------------------------------------------------------------------------------

def _ok_node(op, a, b):
    if op == "*":
        return min(a, b) <= MAX_MUL_SMALL and max(a, b) <= MAX_MUL_LARGE and a * b <= MAX_VALUE
    v = a + b if op == "+" else a - b
    return 0 <= v <= MAX_VALUE


def _rand_tree(rng, k):
    """Random binary tree with k internal nodes, random ops and literals."""
    if k == 0:
        return rng.randint(0, MAX_ADD_LITERAL)
    left_k = rng.randint(0, k - 1)
    op = rng.choice(OPS)
    l = _rand_tree(rng, left_k)
    r = _rand_tree(rng, k - 1 - left_k)
    return _node(rng, op, l, r)


def _node(rng, op, l, r):
    """The node (op, l, r); a product's literal side is usually redrawn as one digit, which makes
    products feasible within MAX_VALUE (the same random draws in both samplers, so replays hold)."""
    if op == "*":
        if isinstance(r, int) and rng.random() < 0.7:
            r = rng.randint(2, 9)
        elif isinstance(l, int) and rng.random() < 0.7:
            l = rng.randint(2, 9)
    return (op, l, r)


def _valid(node):
    if isinstance(node, int):
        return True
    op, l, r = node
    if not (_valid(l) and _valid(r)):
        return False
    return _ok_node(op, value(l), value(r))


def gen_problem_v1(rng, min_ops=None, max_ops=None):
    """The first sampler (pre-training lineage of the committed models; replayed by common.trained_problems):
    uniform op count, a random tree whose shape follows the random split, rejection on the bounds. Because
    rejection is per tree, easy shapes dominate (about 70% 2-op problems, few nested ones)."""
    min_ops = V1_MIN_OPS if min_ops is None else min_ops
    max_ops = MAX_OPS if max_ops is None else max_ops
    while True:
        k = rng.randint(min_ops, max_ops)
        t = _rand_tree(rng, k)
        if _valid(t):
            return to_text(t)


def tree_shapes(k):
    """Every binary-tree shape with k internal nodes, as strings over 'x' (leaf) and '(l r)'; Catalan(k) of them."""
    if k == 0:
        return ["x"]
    return ["(%s %s)" % (l, r) for lk in range(k) for l in tree_shapes(lk) for r in tree_shapes(k - 1 - lk)]


def shape_of(node):
    """The tree shape of an AST, in tree_shapes' notation (operators and literals erased)."""
    return "x" if isinstance(node, int) else "(%s %s)" % (shape_of(node[1]), shape_of(node[2]))


def paren_depth(expr):
    """Nesting depth of the parentheses in the printed question ("a-(b-(c-d))" -> 2)."""
    depth = best = 0
    for ch in expr:
        depth += ch == "("
        depth -= ch == ")"
        best = max(best, depth)
    return best


def _split_shape(shape):
    """'(L R)' -> (L, R) at the top level."""
    inner, depth = shape[1:-1], 0
    for i, ch in enumerate(inner):
        depth += ch == "("
        depth -= ch == ")"
        if ch == " " and depth == 0:
            return inner[:i], inner[i + 1:]
    raise ValueError(shape)


def _fill_shape(rng, shape):
    """Random operators and literals on a fixed tree shape (products prefer a one-digit literal side)."""
    if shape == "x":
        return rng.randint(0, MAX_ADD_LITERAL)
    ls, rs = _split_shape(shape)
    op = rng.choice(OPS)
    l, r = _fill_shape(rng, ls), _fill_shape(rng, rs)
    return _node(rng, op, l, r)


def gen_problem_of_shape(rng, shape):
    while True:
        t = _fill_shape(rng, shape)
        if _valid(t):
            return to_text(t)


def gen_problem(rng, min_ops=None, max_ops=None):
    """The task family's sampler, uniform over SHAPES: the op count uniformly in [min_ops, max_ops], then
    one of its Catalan(k) tree shapes uniformly, then operators and literals, rejection-sampled on the
    bounds within that shape (so a hard shape is as frequent as an easy one)."""
    min_ops = MIN_OPS if min_ops is None else min_ops
    max_ops = MAX_OPS if max_ops is None else max_ops
    k = rng.randint(min_ops, max_ops)
    return gen_problem_of_shape(rng, rng.choice(tree_shapes(k)))


# The 3-op shapes the first sampler starved (nested to the right); the focus mix trains them harder.
FOCUS_SHAPES = ["(x (x (x x)))", "(x ((x x) x))", "((x x) (x x))"]


def gen_problem_focus(rng, min_ops=None, max_ops=None):
    """Training mix for the target's second fine-tune: half the shape-uniform family, half the FOCUS_SHAPES
    (uniformly among them). Every problem is still of the family; only the mix of shapes differs."""
    if rng.random() < 0.5:
        return gen_problem(rng, min_ops, max_ops)
    return gen_problem_of_shape(rng, rng.choice(FOCUS_SHAPES))


# --- solving / stepping -----------------------------------------------------------------------

def reducible(node):
    """All nodes with two literal children, leftmost first: list of (path, op, a, b)."""
    out = []

    def walk(n, path):
        if isinstance(n, int):
            return
        op, l, r = n
        if isinstance(l, int) and isinstance(r, int):
            out.append((path, op, l, r))
            return
        walk(l, path + (1,))
        walk(r, path + (2,))

    walk(node, ())
    return out


def replace(node, path, lit):
    if not path:
        return lit
    op, l, r = node
    if path[0] == 1:
        return (op, replace(l, path[1:], lit), r)
    return (op, l, replace(r, path[1:], lit))


def fmt_step(a, op, b, c, spaced):
    return ("%d %s %d = %d" if spaced else "%d%s%d=%d") % (a, op, b, c)


def solution_steps(expr, spaced):
    """Canonical solution: list of step strings (without separators), last is 'A: n'."""
    node = parse(expr)
    steps = []
    while not isinstance(node, int):
        path, op, a, b = reducible(node)[0]
        c = value((op, a, b))
        steps.append(fmt_step(a, op, b, c, spaced))
        node = replace(node, path, c)
    steps.append("A: %d" % node)
    return steps


def prompt_text(expr):
    return "Q: %s\n\n" % expr


def full_text(expr, spaced):
    """Training text without BOS/EOS: prompt + steps joined by blank lines (no trailing newline)."""
    return prompt_text(expr) + "\n\n".join(solution_steps(expr, spaced))


# --- exact checker ----------------------------------------------------------------------------

STEP_RE = re.compile(r"^\s*(\d+)\s*([-+*])\s*(\d+)\s*=\s*(-?\d+)\s*$")
ANS_RE = re.compile(r"^\s*A:\s*(-?\d+)\s*$")


def check_step(state, step):
    """Return (score, new_state). state is an AST (may contain wrong literals)."""
    m = STEP_RE.match(step)
    if m:
        a, op, b, c = int(m.group(1)), m.group(2), int(m.group(3)), int(m.group(4))
        for path, rop, ra, rb in reducible(state):
            if (rop, ra, rb) == (op, a, b):
                ok = c == value((op, a, b))
                return (1 if ok else 0), replace(state, path, c)
        return 0, state
    m = ANS_RE.match(step)
    if m:
        return (1 if isinstance(state, int) and state == int(m.group(1)) else 0), state
    return 0, state


def is_final(step):
    return ANS_RE.match(step) is not None


def final_answer(text):
    """Extract the integer of the last 'A: n' step of a generated solution text, or None."""
    parts = text.split("\n\n")
    for p in reversed(parts):
        m = ANS_RE.match(p)
        if m:
            return int(m.group(1))
    return None


if __name__ == "__main__":
    rng = random.Random(0)
    for _ in range(8):
        e = gen_problem(rng)
        print(repr(full_text(e, rng.random() < 0.5)), value(parse(e)))
    assert solution_steps("(12+7)*3-5", False) == ["12+7=19", "19*3=57", "57-5=52", "A: 52"]
    st = parse("2*3+4*5")
    s, st = check_step(st, "4 * 5 = 20")
    assert s == 1 and st == ("+", ("*", 2, 3), 20)
    s, st2 = check_step(st, "2*3=7")
    assert s == 0 and st2 == ("+", 7, 20)
    s, _ = check_step(st2, "7+20=27")
    assert s == 1
    for _ in range(2000):
        e = gen_problem(rng)
        assert to_text(parse(e)) == e
        st = parse(e)
        for stp in solution_steps(e, rng.random() < 0.5):
            s, st = check_step(st, stp)
            assert s == 1, (e, stp)
    assert [len(tree_shapes(k)) for k in range(5)] == [1, 1, 2, 5, 14]
    assert shape_of(parse("59-(92-(83-8))")) == "(x (x (x x)))" and paren_depth("59-(92-(83-8))") == 2
    assert solution_steps("12+7", False) == ["12+7=19", "A: 19"]
    from collections import Counter
    cnt = Counter(shape_of(parse(gen_problem(rng))) for _ in range(8000))
    assert len(cnt) == 8 and min(cnt.values()) > 8000 / 15 * 0.8, cnt
    lens = [len(full_text(gen_problem(rng), True)) for _ in range(2000)]
    print("max len", max(lens), "mean", sum(lens) / len(lens))
    print("ok")
