"""Tiny llama-architecture byte model in PyTorch, laid out exactly as llama.cpp's `llama` arch runs it.

- RMSNorm (eps 1e-5), untied input embedding / output head, SwiGLU FFN, no biases.
- Rotary embedding in llama.cpp's NORM layout (adjacent pairs x[2i], x[2i+1]), base 10000, so the
  q/k weights are exported without permutation.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

VOCAB = 258
BOS = 256
EOS = 257
CTX = 256
EPS = 1e-5
ROPE_BASE = 10000.0


class Config:
    def __init__(self, n_layer, d_model, n_head, d_ff, role="draft", eps=EPS):
        self.n_layer, self.d_model, self.n_head, self.d_ff, self.role = n_layer, d_model, n_head, d_ff, role
        self.eps = eps

    @property
    def head_dim(self):
        return self.d_model // self.n_head

    def to_dict(self):
        return dict(n_layer=self.n_layer, d_model=self.d_model, n_head=self.n_head, d_ff=self.d_ff, role=self.role,
                    eps=self.eps)

    @staticmethod
    def from_dict(d):
        return Config(d["n_layer"], d["d_model"], d["n_head"], d["d_ff"], d.get("role", "draft"), d.get("eps", EPS))


class RMSNorm(nn.Module):
    def __init__(self, d, eps=EPS):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(head_dim, max_pos=CTX):
    inv = ROPE_BASE ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    ang = torch.arange(max_pos, dtype=torch.float64)[:, None] * inv[None, :]
    return torch.cos(ang).float(), torch.sin(ang).float()


def apply_rope(x, cos, sin):
    # x: [B, H, T, hd]; cos/sin: [B or 1, 1, T, hd/2]; adjacent pairs (NORM layout)
    x0 = x[..., 0::2]
    x1 = x[..., 1::2]
    r0 = x0 * cos - x1 * sin
    r1 = x0 * sin + x1 * cos
    return torch.stack((r0, r1), dim=-1).flatten(-2)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c.d_model
        self.c = c
        self.attn_norm = RMSNorm(d, c.eps)
        self.wq = nn.Linear(d, d, bias=False)
        self.wk = nn.Linear(d, d, bias=False)
        self.wv = nn.Linear(d, d, bias=False)
        self.wo = nn.Linear(d, d, bias=False)
        self.ffn_norm = RMSNorm(d, c.eps)
        self.w_gate = nn.Linear(d, c.d_ff, bias=False)
        self.w_up = nn.Linear(d, c.d_ff, bias=False)
        self.w_down = nn.Linear(c.d_ff, d, bias=False)

    def forward(self, x, cos, sin, mask, cache=None):
        B, T, d = x.shape
        H, hd = self.c.n_head, self.c.head_dim
        h = self.attn_norm(x)
        q = self.wq(h).view(B, T, H, hd).transpose(1, 2)
        k = self.wk(h).view(B, T, H, hd).transpose(1, 2)
        v = self.wv(h).view(B, T, H, hd).transpose(1, 2)
        q = apply_rope(q, cos, sin)
        k = apply_rope(k, cos, sin)
        if cache is not None:
            if "k" in cache:
                k = torch.cat((cache["k"], k), dim=2)
                v = torch.cat((cache["v"], v), dim=2)
            cache["k"], cache["v"] = k, v
        att = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(hd))
        att = att.masked_fill(~mask, float("-inf"))
        att = torch.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, d)
        x = x + self.wo(y)
        h = self.ffn_norm(x)
        x = x + self.w_down(F.silu(self.w_gate(h)) * self.w_up(h))
        return x


class LM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.tok = nn.Embedding(VOCAB, c.d_model)
        self.blocks = nn.ModuleList([Block(c) for _ in range(c.n_layer)])
        self.norm = RMSNorm(c.d_model, c.eps)
        self.head = nn.Linear(c.d_model, VOCAB, bias=False)
        cos, sin = rope_tables(c.head_dim)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        self.apply(self._init)
        for b in self.blocks:
            nn.init.normal_(b.wo.weight, std=0.02 / math.sqrt(2 * c.n_layer))
            nn.init.normal_(b.w_down.weight, std=0.02 / math.sqrt(2 * c.n_layer))

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def n_params(self):
        return sum(p.numel() for p in self.parameters())

    def forward(self, idx, pos=None, key_mask=None, caches=None):
        """idx [B,T]. pos [B,T] positions (default arange). key_mask [B,Tk] bool of valid keys
        (all keys incl. cached). caches: list of dicts per layer (incremental decoding)."""
        B, T = idx.shape
        if pos is None:
            pos = torch.arange(T).unsqueeze(0).expand(B, T)
        cos = self.cos[pos].unsqueeze(1)
        sin = self.sin[pos].unsqueeze(1)
        past = 0
        if caches is not None and "k" in caches[0]:
            past = caches[0]["k"].shape[2]
        Tk = past + T
        causal = torch.ones(T, Tk, dtype=torch.bool).tril(diagonal=past)
        mask = causal.unsqueeze(0).unsqueeze(0)
        if key_mask is not None:
            # padded query rows attend to themselves only (avoids all-masked rows -> NaN)
            diag = torch.zeros(T, Tk, dtype=torch.bool)
            diag[torch.arange(T), past + torch.arange(T)] = True
            mask = (mask & key_mask[:, None, None, :]) | diag[None, None]
        x = self.tok(idx)
        for i, b in enumerate(self.blocks):
            x = b(x, cos, sin, mask, None if caches is None else caches[i])
        return self.head(self.norm(x))


def encode(text):
    return list(text.encode("utf-8"))


def decode(ids):
    return bytes([t for t in ids if t < 256]).decode("utf-8", errors="replace")


@torch.no_grad()
def greedy_generate(model, prompts, max_new=160, stop_on_blank_line=False, temperature=0.0, generator=None):
    """Batched greedy decoding with KV cache. prompts: list of token lists (BOS included).
    Returns list of generated token lists (EOS excluded; if stop_on_blank_line, generation ends
    after the first "\n\n", which is included). temperature > 0 samples instead (with `generator`)."""
    model.eval()
    B = len(prompts)
    L = max(len(p) for p in prompts)
    pad = [L - len(p) for p in prompts]
    idx = torch.tensor([[0] * pad[i] + prompts[i] for i in range(B)], dtype=torch.long)
    pos = torch.tensor([[max(0, j - pad[i]) for j in range(L)] for i in range(B)], dtype=torch.long)
    km = torch.tensor([[j >= pad[i] for j in range(L)] for i in range(B)], dtype=torch.bool)
    caches = [dict() for _ in model.blocks]
    logits = model(idx, pos, km, caches)[:, -1]
    out = [[] for _ in range(B)]
    done = [False] * B
    cur_pos = torch.tensor([len(p) for p in prompts], dtype=torch.long)
    for _ in range(max_new):
        if temperature > 0:
            nxt = torch.multinomial(torch.softmax(logits / temperature, dim=-1), 1, generator=generator).squeeze(1)
        else:
            nxt = logits.argmax(-1)
        for i in range(B):
            if done[i]:
                continue
            t = int(nxt[i])
            if t == EOS or len(prompts[i]) + len(out[i]) >= CTX:
                done[i] = True
                continue
            out[i].append(t)
            if stop_on_blank_line and len(out[i]) >= 2 and out[i][-1] == 10 and out[i][-2] == 10:
                done[i] = True
        if all(done):
            break
        km = torch.cat((km, torch.ones(B, 1, dtype=torch.bool)), dim=1)
        logits = model(nxt.unsqueeze(1), cur_pos.clamp(max=CTX - 1).unsqueeze(1), km, caches)[:, -1]
        cur_pos = cur_pos + 1
    return out
