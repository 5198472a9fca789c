"""Deprecated home of ``markovphase scan`` and its parsers; they moved in markovphase 0.2
to :mod:`markovphase.cli.scan` and :mod:`markovphase.cli.params` (``parse_params`` is
now :func:`~markovphase.cli.params.parse_kv`).

Every name here still works for one release, with a ``FutureWarning``; this module
will then be removed.
"""

from __future__ import annotations

import warnings

from .compat import moved_names

__getattr__ = moved_names(__name__, {
    "parse_floats": "markovphase.cli.params",
    "parse_ints": "markovphase.cli.params",
    "parse_params": "markovphase.cli.params:parse_kv",
    "scan_command": "markovphase.cli.scan",
})


def dataset_options(name: str, tokens: list[str]) -> dict:
    """Deprecated: :func:`markovphase.cli.params.dataset_options` takes the loader too."""
    from . import plugins
    from .cli import params

    warnings.warn("markovphase.scan_cli.dataset_options is deprecated and will be removed in the "
                  "next release; use markovphase.cli.params.dataset_options(loader, name, tokens)",
                  FutureWarning, stacklevel=2)
    return params.dataset_options(plugins.get("dataset", name), name, tokens)
