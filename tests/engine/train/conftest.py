import torch

# Tiny models train faster on one thread, and pytest-xdist already uses every core.
torch.set_num_threads(1)
