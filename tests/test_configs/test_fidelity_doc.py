"""docs/fidelity.md: every command names an existing config and options
that exist in it; the paper-table map matches the config table
(docs/configs.md)."""
import os.path as osp
import re
import shlex

import mmddl  # noqa: F401  (compat fixes, registration)
from mmengine.config import Config

from doc_snippets import REPO, check_option, commands


def test_commands_name_existing_configs_and_options():
    runs = [shlex.split(c) for c in commands('fidelity.md')]
    assert len(runs) == 6
    for args in runs:
        assert args[0] == 'python' and osp.isfile(osp.join(REPO, args[1]))
        cfg = Config.fromfile(osp.join(REPO, args[2]))
        options = args[args.index('--cfg-options') + 1:]
        assert options, args
        for option in options:
            check_option(cfg, option)


def test_paper_tables_agree_with_the_config_table():
    with open(osp.join(REPO, 'docs', 'fidelity.md')) as f:
        fidelity = f.read()
    with open(osp.join(REPO, 'docs', 'configs.md')) as f:
        readme = f.read()
    for name, table in (('ijba', '3'), ('iqiyi', '2'), ('ytf', '1'), ('ijbc',
                                                                      '4')):
        config = f'face/ddl_arcface-r101-ms1m_thr0.15_{name}.py'
        assert re.search(rf'\| Table {table} \|[^\n]*`{re.escape(config)}`',
                         fidelity), config
        row = re.search(rf'\| `{re.escape(config)}` \|[^\n]*', readme)
        assert row and row.group(0).split('|')[-2].strip().startswith(
            table), row


def test_config_table_links_name_sections_of_the_page():
    with open(osp.join(REPO, 'docs', 'fidelity.md')) as f:
        headings = re.findall(r'^#+ (.+)$', f.read(), re.M)
    slugs = {
        re.sub(r'[^\w\- ]', '', h.lower()).replace(' ', '-')
        for h in headings
    }
    with open(osp.join(REPO, 'docs', 'configs.md')) as f:
        anchors = set(re.findall(r'fidelity\.md#([\w-]+)', f.read()))
    assert len(anchors) >= 4
    assert anchors <= slugs, anchors - slugs
