"""The one torch device resolver (``device="auto"`` and friends); imports torch on use."""

from __future__ import annotations

__all__ = ["resolve_device"]


def resolve_device(device="auto"):
    """``"auto"`` (or ``None``): CUDA when available, else the CPU; any other value
    goes to :class:`torch.device`.

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        ``device`` is not a torch device.
    """
    import torch

    if device is None or (isinstance(device, str) and device == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device={device!r} is not a torch device; expected 'auto', 'cpu', "
                         "'cuda' or 'cuda:N'") from None
