"""The models as plain torch modules, trained by autograd: the reference the fast learners
are checked against, and the straightforward loop the benchmarks compare with.

All take an embedding ``(B, D)`` and return logits ``(B, classes)``.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from dkvb_core.bottleneck import KeyValueBottleneck
from dkvb_core.encoders import Splitter


class DKVBClassifier(nn.Module):
    """splitter -> key-value bottleneck -> decoder.

    ``decoder='mean'``: element-wise mean of the fetched values over heads and top-k, used as
    logits (non-parametric; ``dim_values`` = classes). ``decoder='linear'``: the fetched values,
    concatenated over heads and top-k, through a linear layer.
    """

    def __init__(
        self,
        splitter: Splitter,
        bottleneck: KeyValueBottleneck,
        num_classes: int,
        decoder: str = "mean",
        temperature: float | None = None,
    ):
        super().__init__()
        self.splitter, self.bottleneck, self.decoder_kind = splitter, bottleneck, decoder
        self.temperature = temperature  # None: hard readout; else soft, softmax(-distance^2 / temperature)
        width = bottleneck.num_codebooks * bottleneck.topk * bottleneck.dim_values
        self.decoder = nn.Linear(width, num_classes) if decoder == "linear" else None

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        heads = self.splitter(z).unsqueeze(2)  # (B, C, 1, dk)
        if self.temperature is not None:
            self.bottleneck.return_values_only = False
            values, _, _, dist, _ = self.bottleneck(heads)  # (B, C, k, 1, dv), dist (B, C, k, 1, 1)
            w = torch.softmax(-dist / self.temperature, dim=2)
            return (w * values).sum(dim=2).mean(dim=(1, 2))
        out = self.bottleneck(heads)
        values = out if isinstance(out, torch.Tensor) else out[0]  # (B, C, k, 1, dv)
        if self.decoder is None:
            return values.mean(dim=(1, 2, 3))
        return self.decoder(values.reshape(values.shape[0], -1))


class LinearProbe(nn.Module):
    """``x W + b`` with zero initial weights."""

    def __init__(self, input_dim: int, num_classes: int):
        super().__init__()
        self.linear = nn.Linear(input_dim, num_classes)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


class MLP(nn.Module):
    """One hidden ReLU layer; Kaiming-normal weights, zero biases."""

    def __init__(self, input_dim: int, hidden: int, num_classes: int):
        super().__init__()
        self.hidden = nn.Linear(input_dim, hidden)
        self.out = nn.Linear(hidden, num_classes)
        for layer in (self.hidden, self.out):
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.hidden(x)))


class MLPStack(nn.Module):
    """ReLU hidden layers of the given widths, then a linear output; Kaiming-normal weights, zero biases."""

    def __init__(self, input_dim: int, widths: tuple[int, ...], outputs: int):
        super().__init__()
        sizes = [input_dim, *widths, outputs]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(sizes))
        for layer in self.layers:
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
        return self.layers[-1](x)


# --- references of the continual-learning baselines' extra terms (autograd does the rest) ---------


def empirical_fisher(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
    """Diagonal empirical Fisher: each parameter's squared gradient of ``log p(y | x)``, one sample
    at a time, averaged over the samples (online EWC's importance)."""
    params = list(model.parameters())
    total = [torch.zeros_like(p) for p in params]
    for xi, yi in zip(x, y, strict=True):
        log_p = torch.log_softmax(model(xi[None]), dim=1)[0, yi]
        for acc, g in zip(total, torch.autograd.grad(log_p, params), strict=True):
            acc += g * g
    return [t / len(x) for t in total]


def ewc_penalty(model: nn.Module, fisher: list[torch.Tensor], anchor: list[torch.Tensor], lam: float) -> torch.Tensor:
    """Online EWC's penalty ``lam * sum F (theta - theta*)^2``."""
    return lam * sum((f * (p - a) ** 2).sum() for p, f, a in zip(model.parameters(), fisher, anchor, strict=True))


def lwf_distillation(
    logits: torch.Tensor, old_logits: torch.Tensor, seen: torch.Tensor, temperature: float, alpha: float
) -> torch.Tensor:
    """LwF's term ``alpha * KL(q || p)``, batch mean, between the old (``q``) and current (``p``)
    softmax at ``temperature`` over the ``seen`` classes."""
    log_p = torch.log_softmax(logits[:, seen] / temperature, dim=1)
    q = torch.softmax(old_logits[:, seen] / temperature, dim=1)
    return alpha * torch.nn.functional.kl_div(log_p, q, reduction="batchmean")


def agem_project(grads: list[torch.Tensor], ref: list[torch.Tensor]) -> list[torch.Tensor]:
    """A-GEM: if ``g . g_ref < 0`` over all parameters, ``g - (g . g_ref / g_ref . g_ref) g_ref``."""
    g, r = torch.cat([t.flatten() for t in grads]), torch.cat([t.flatten() for t in ref])
    dot = torch.dot(g, r)
    if dot >= 0:
        return grads
    return [t - (dot / torch.dot(r, r)) * u for t, u in zip(grads, ref, strict=True)]
