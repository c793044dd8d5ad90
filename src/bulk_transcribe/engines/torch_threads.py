"""One torch thread for the speaker models (voice encoders, speaker segmentation)."""

from __future__ import annotations


def one_torch_thread() -> None:
    """Torch's intra-op threads default to one per core, which the speech model's workers
    already fill; an encoder takes about a CPU second per audio minute on one thread.
    Process-wide, and only diarization uses torch in this process."""
    import torch

    if torch.get_num_threads() > 1:
        torch.set_num_threads(1)
