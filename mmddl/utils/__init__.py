"""Small helpers shared by the whole package (no heavy imports)."""
from .atomic_write import (TMP_PREFIX, atomic_output, atomic_write,
                           remove_quietly, save_figure, write_error)

__all__ = [
    'TMP_PREFIX', 'atomic_output', 'atomic_write', 'remove_quietly',
    'save_figure', 'write_error'
]
