"""Decord loading that names the video when it cannot be read.

mmaction2's ``DecordInit`` / ``DecordDecode`` raise decord's own error on a
corrupt or truncated file (e.g. ``RuntimeError: Error reading 2979
bytes...``), which does not say which of thousands of videos failed. These
subclasses behave identically on good files and re-raise failures as
:class:`VideoDecodeError` naming the file. The DDL configs use them in their
test pipelines; the discriminability pass instead skips and counts such
videos (``mmddl.engine.discriminability_pass``).
"""
from mmaction.datasets.transforms import DecordDecode, DecordInit
from mmaction.registry import TRANSFORMS


class VideoDecodeError(RuntimeError):
    """A video file could not be opened or decoded."""


def _fail(results: dict, stage: str, err: Exception) -> None:
    name = results.get('filename', results.get('frame_dir', '<unknown>'))
    raise VideoDecodeError(
        f'cannot {stage} video {name!r}: {type(err).__name__}: {err}. '
        'The file is corrupt or truncated: re-encode or re-download it, or '
        'remove it from the data list.') from err


@TRANSFORMS.register_module()
class CheckedDecordInit(DecordInit):
    """``DecordInit`` that names the file when it cannot be opened."""

    def transform(self, results: dict) -> dict:
        try:
            return super().transform(results)
        except Exception as err:  # decord raises plain RuntimeError/DECORDError
            _fail(results, 'open', err)


@TRANSFORMS.register_module()
class CheckedDecordDecode(DecordDecode):
    """``DecordDecode`` that names the file when frames cannot be decoded."""

    def transform(self, results: dict) -> dict:
        try:
            return super().transform(results)
        except Exception as err:
            _fail(results, 'decode frames of', err)
