"""The DiscriminabilityHook's settings: five groups, their keys, defaults."""
import difflib
from typing import Any, Dict, Mapping, Optional

from ..discriminability_pass import DEFAULT_SHARD_SIZE

REQUIRED = object()  # marks a key a group must give

# group -> {key: default}, in the order the hook's docstring gives them
SETTING_GROUPS: Dict[str, Dict[str, Any]] = dict(
    base=dict(config=REQUIRED, checkpoint=REQUIRED, scope=None, stage='neck'),
    candidates=dict(
        pipeline=REQUIRED,
        ann_file=None,
        data_prefix=None,
        dataset_type=None,
        dataset_kwargs=None,
        batch_size=1,
        num_workers=0),
    dscore=dict(
        metric='cosine',
        normalization='global',
        num_classes=None,
        identities='base'),
    table=dict(file=None, reuse=True, on_stale='error'),
    compute=dict(
        device=None,
        progress=True,
        chunk_size=4096,
        sim_dtype='float32',
        feature_dir=None,
        shard_size=DEFAULT_SHARD_SIZE,
        keep_features=False,
        verify='sha256'))

# the hook's flat arguments of earlier versions, for the error that says
# where each one went
FLAT_ARGUMENTS = dict(
    base_config='base.config',
    base_checkpoint='base.checkpoint',
    base_scope='base.scope',
    stage='base.stage',
    candidate_pipeline='candidates.pipeline',
    out_file='table.file',
    **{
        key: f'{group}.{key}'
        for group, keys in SETTING_GROUPS.items()
        for key in keys if group != 'base' and key not in ('pipeline', 'file')
    })


def _allowed(group: str) -> str:
    return ', '.join(SETTING_GROUPS[group])


def _where(key: str, group: Optional[str] = None) -> str:
    """A hint saying where ``key`` belongs (empty if nowhere)."""
    if key in FLAT_ARGUMENTS and FLAT_ARGUMENTS[key] != f'{group}.{key}':
        return f' ({key} is {FLAT_ARGUMENTS[key]})'
    names = list(SETTING_GROUPS[group]) if group else list(SETTING_GROUPS)
    close = difflib.get_close_matches(key, names, n=1)
    return f' (did you mean {close[0]!r}?)' if close else ''


def flat_arguments_error(kwargs: Mapping[str, Any]) -> TypeError:
    """The error for arguments outside the five groups (the flat arguments
    of earlier versions say where they go now).

    Args:
        kwargs (Mapping): the unexpected keyword arguments.

    Returns:
        TypeError: naming each argument and its group key.
    """
    parts = [
        f'{key} (now {FLAT_ARGUMENTS[key]})'
        if key in FLAT_ARGUMENTS else f'{key}{_where(key)}' for key in kwargs
    ]
    return TypeError(
        'DiscriminabilityHook takes its settings as groups '
        f'({", ".join(SETTING_GROUPS)}), e.g. base=dict(config=..., '
        'checkpoint=...), candidates=dict(pipeline=[...]); unexpected '
        f'argument(s): {"; ".join(parts)}')


def fill_group(group: str, given: Optional[Mapping]) -> Dict[str, Any]:
    """One group of settings with the defaults of the keys it leaves out.

    Args:
        group (str): the group's name, a key of :data:`SETTING_GROUPS`.
        given (Mapping, optional): the keys the config gives (None: none,
            refused for a group with required keys).

    Returns:
        dict: every key of the group, in :data:`SETTING_GROUPS` order.

    Raises:
        TypeError: ``given`` is not a dict, or None where the group has
            required keys.
        ValueError: a key the group does not have (naming it, the group and
            the allowed keys), or a required key left out.
    """
    defaults = SETTING_GROUPS[group]
    required = [key for key, value in defaults.items() if value is REQUIRED]
    if given is None and required:
        raise TypeError(f'DiscriminabilityHook needs {group}=dict(' +
                        ', '.join(f'{key}=...' for key in required) + ')')
    given = {} if given is None else given
    if not isinstance(given, Mapping):
        raise TypeError(
            f'DiscriminabilityHook: {group} must be a dict of settings '
            f'(keys: {_allowed(group)}), got {type(given).__name__}')
    for key in given:
        if key not in defaults:
            raise ValueError(
                f'DiscriminabilityHook: unknown key {key!r} in {group}'
                f'{_where(key, group)}; allowed keys of {group}: '
                f'{_allowed(group)}')
    missing = [key for key in required if key not in given]
    if missing:
        raise ValueError(f'DiscriminabilityHook: {group} needs ' +
                         ', '.join(f'{key}=...' for key in missing))
    return {key: given.get(key, value) for key, value in defaults.items()}
