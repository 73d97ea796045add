"""Small helpers shared by the whole package (no heavy imports)."""
from .atomic_write import (TMP_PREFIX, atomic_output, atomic_write,
                           remove_quietly, save_figure, write_error)
from .content_hash import checkpoint_sha256, file_sha256
from .tool_configs import (ToolOptionError, merge_test_options,
                           merge_train_options, test_config, train_config)

__all__ = [
    'TMP_PREFIX', 'atomic_output', 'atomic_write', 'remove_quietly',
    'save_figure', 'write_error', 'checkpoint_sha256', 'file_sha256',
    'ToolOptionError', 'merge_test_options', 'merge_train_options',
    'test_config', 'train_config'
]
