"""Suite-wide settings: one torch thread per test process.

The suite runs on 2 shared cores; torch's default thread pool
oversubscribes them (measured: some model tests 3-30x slower).
"""
import torch

torch.set_num_threads(1)
