"""Helpers for the packaging tests: the repository and its requirements."""
import os.path as osp
import re
import subprocess
from typing import Dict, List

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
REQUIREMENTS = osp.join(REPO, 'requirements')


def requirement_lines(name: str) -> List[str]:
    """Non-comment lines of ``requirements/<name>.txt``."""
    with open(osp.join(REQUIREMENTS, f'{name}.txt')) as f:
        lines = [ln.split('#')[0].strip() for ln in f]
    return [ln for ln in lines if ln]


def project_name(requirement: str) -> str:
    """Normalised project name of a requirement (``Foo_bar>=1`` -> foo-bar)."""
    name = re.match(r'[A-Za-z0-9][A-Za-z0-9._-]*', requirement).group(0)
    return re.sub(r'[-_.]+', '-', name).lower()


def pinned_versions() -> Dict[str, str]:
    """``requirements/constraints.txt`` as ``{project name: version}``."""
    pins = {}
    for line in requirement_lines('constraints'):
        name, version = line.split('==')
        pins[project_name(name)] = version.strip()
    return pins


def source_files() -> List[str]:
    """Files of a checkout: tracked plus untracked, not ignored ones."""
    out = subprocess.run(
        ['git', 'ls-files', '-co', '--exclude-standard', '-z'],
        cwd=REPO, check=True, capture_output=True).stdout.decode()
    return [p for p in out.split('\0')
            if p and osp.isfile(osp.join(REPO, p))]
