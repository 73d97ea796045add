"""Code blocks of the docs and the checks their commands get."""
import inspect
import os.path as osp
import re
from typing import List

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def code_blocks(doc: str, lang: str) -> List[str]:
    """The ```lang blocks of ``docs/<doc>``."""
    with open(osp.join(REPO, 'docs', doc)) as f:
        return re.findall(rf'```{lang}\n(.*?)```', f.read(), re.S)


def commands(doc: str) -> List[str]:
    """The shell commands of ``docs/<doc>`` (continuation lines joined)."""
    lines = []
    for block in code_blocks(doc, 'bash'):
        lines += block.replace('\\\n', ' ').strip().splitlines()
    return lines


def _registered_class(type_name: str):
    from mmaction.registry import MODELS as ACTION_MODELS
    from mmaction.registry import TRANSFORMS as ACTION_TRANSFORMS
    from mmpretrain.registry import MODELS as PRETRAIN_MODELS
    for registry in (ACTION_MODELS, ACTION_TRANSFORMS, PRETRAIN_MODELS):
        cls = registry.get(type_name)
        if cls is not None:
            return cls
    raise AssertionError(f'{type_name} is not registered')


def check_option(cfg, option: str) -> None:
    """Assert that ``key.path=value`` of ``--cfg-options`` names a key of
    ``cfg``, or a new argument of the class of the dict it goes into."""
    from mmddl.engine.hooks.discriminability_settings import SETTING_GROUPS
    keys = option.split('=', 1)[0].split('.')
    node = cfg
    for i, key in enumerate(keys):
        if i and keys[i - 1] in SETTING_GROUPS and i == len(keys) - 1 and \
                isinstance(parent, dict) and \
                parent.get('type') == 'DiscriminabilityHook':
            # a key of one of the hook's groups (given or left to defaults)
            assert key in SETTING_GROUPS[keys[i - 1]], \
                f'{option}: the hook has no {keys[i - 1]}.{key}'
            return
        parent = node
        if isinstance(node, list):
            node = node[int(key)]
        elif key in node:
            node = node[key]
        elif key in SETTING_GROUPS and node.get('type') == \
                'DiscriminabilityHook':
            node = {}  # a group the config leaves to the defaults
        else:
            assert i == len(keys) - 1 and 'type' in node, \
                f'{option}: no key {key!r} under {keys[:i]}'
            params = inspect.signature(
                _registered_class(node['type']).__init__).parameters
            assert key in params, f'{option}: {node["type"]} takes no {key}'
