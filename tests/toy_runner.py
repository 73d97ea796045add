"""A linear-regression model and data set, just enough for a Runner."""
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from torch.utils.data import Dataset


class ToyModel(BaseModel):
    """Linear regression y = w.x + b."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 1)

    def forward(self, x, y, mode='loss'):
        out = self.fc(x).squeeze(-1)
        if mode == 'loss':
            return dict(loss=((out - y)**2).mean())
        return out


class ToyData(Dataset):
    """``length`` samples ``x = (i, 1)``, ``y = 2 i - 1``."""

    def __init__(self, length: int = 8) -> None:
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i):
        x = torch.tensor([float(i), 1.0])
        return dict(x=x, y=2 * x[0] - 1)
