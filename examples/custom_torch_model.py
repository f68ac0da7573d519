"""Use your own PyTorch model as the proxy: for scoring (training dynamics) and for training on a subset.

`TorchLearner` wraps any `torch.nn.Module` that maps a (batch, n_features) float tensor to
class logits. It follows the Learner protocol (`fit(ds, epochs=, seed=, record_dynamics=)`,
`predict_proba(X)`, `.dynamics`), so the recorded dynamics feed every training-dynamics
score (EL2N, GraNd, forgetting, cartography, ...) and the same object trains the proxy
on the selected subset. Here: a small 1-D CNN on MNIST-1D's 40-sample signals.

Run:  python examples/custom_torch_model.py       (about 10 s on a laptop CPU)
"""

from __future__ import annotations

import torch
from torch import nn

import datafactors as df
from datafactors.learners.mlp import TorchLearner

EPOCHS = 20


class SignalCNN(nn.Module):
    """Conv1d feature extractor + linear head; input (batch, n_features), output (batch, n_classes) logits."""

    def __init__(self, n_features: int, n_classes: int, channels: int = 16) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(1, channels, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool1d(2),
            nn.Conv1d(channels, channels, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.AdaptiveAvgPool1d(8),
        )
        self.head = nn.Linear(channels * 8, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x.unsqueeze(1)).flatten(1))


def make_learner() -> TorchLearner:
    # The factory gets (n_features, n_classes) from the data; the seed passed to fit() initialises it.
    return TorchLearner(lambda d, c: SignalCNN(d, c), lr=5e-3, batch_size=128, max_checkpoints=0)


def main() -> None:
    train, test, ood = df.load("mnist1d", split=True, n_train=1000, n_test=500, n_ood=500)

    # 1. Scoring: record training dynamics with your model, then compute scores from them (no retraining).
    dynamics = [make_learner().fit(train, epochs=EPOCHS, seed=s, record_dynamics=True).dynamics for s in (0, 1)]
    scores = df.scores.compute(train, ["el2n", "grand", "forgetting", "cartography"], dynamics=dynamics)
    print(scores[["el2n", "grand", "confidence", "variability"]].describe().loc[["mean", "50%"]].round(3), "\n")

    # 2. Proxy training: the same learner trains on the selected subset.
    for name, keep in {
        "random 60%": df.select.select(train, "random", 0.6, seed=0),
        "EL2N offset 60%": df.select.select(train, "offset", 0.6, scores=scores, score="el2n", offset=0.1, seed=0),
    }.items():
        model = make_learner().fit(train.subset(keep), epochs=EPOCHS, seed=0)
        id_acc = df.metrics.accuracy(model.predict_proba(test.X), test.y)
        ood_acc = df.metrics.accuracy(model.predict_proba(ood.X), ood.y)
        print(f"{name:<18} n = {len(keep):>5}   ID accuracy {id_acc:.3f}   OOD accuracy {ood_acc:.3f}")


if __name__ == "__main__":
    main()
