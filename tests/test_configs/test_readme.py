"""README.md: its config builds to the plugin guide's first config, its
commands name existing tools, configs and options, its links resolve, and it
stays a front door (under 14 kB)."""
import os.path as osp
import re
import shlex

from mmengine.config import Config

import mmddl  # noqa: F401  (compat fixes, registration)
from doc_snippets import REPO, check_option, code_blocks, commands

README = osp.join('..', 'README.md')  # code_blocks reads docs/<doc>


def test_readme_is_a_front_door():
    assert osp.getsize(osp.join(REPO, 'README.md')) < 14 * 1024
    with open(osp.join(REPO, 'README.md')) as f:
        text = f.read()
    assert 'VIDEO_TABLE' not in text
    for link in re.findall(r'\]\(([^)#]+)', text):
        if '://' not in link:
            assert osp.exists(osp.join(REPO, link)), link


def test_readme_config_is_the_guides(tmp_path):
    (readme, ) = code_blocks(README, 'python')
    guide = code_blocks('plugin_guide.md', 'python')[0]
    (tmp_path / 'readme.py').write_text(readme)
    (tmp_path / 'guide.py').write_text(guide)
    assert Config.fromfile(str(tmp_path / 'readme.py')).to_dict() == \
        Config.fromfile(str(tmp_path / 'guide.py')).to_dict()


def test_readme_commands_name_tools_configs_and_options():
    runs = [shlex.split(c) for c in commands(README)
            if c.startswith('python tools/')]
    assert len(runs) == 3
    for args in runs:
        assert osp.isfile(osp.join(REPO, args[1])), args[1]
        if args[2] == '...':
            continue
        cfg = Config.fromfile(osp.join(REPO, args[2]))
        options = args[args.index('--cfg-options') + 1:] \
            if '--cfg-options' in args else []
        for option in options:
            check_option(cfg, option)
