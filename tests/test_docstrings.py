"""Docstring conventions of every module of ``mmddl``."""
import ast
import re
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / 'mmddl'
MODULES = sorted(
    p.relative_to(PACKAGE.parent).as_posix() for p in PACKAGE.rglob('*.py'))
MAX_MODULE_DOC_LINES = 3
# Words of issue / session narrative ("we measured ...") that do not belong
# in API docstrings.
BANNED = re.compile(r'\b(issues?|sessions?|we|our)\b', re.IGNORECASE)
NAME = re.compile(r'(\*{0,2}[A-Za-z_]\w*)')
DefNode = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _doc_nodes(tree: ast.Module) -> Iterator[Tuple[str, ast.AST, str]]:
    """Yield ``(qualified name, node, docstring)`` for documented nodes."""

    def walk(node: ast.AST, prefix: str) -> Iterator:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, DefNode):
                name = f'{prefix}{child.name}'
                doc = ast.get_docstring(child)
                if doc:
                    yield name, child, doc
                yield from walk(child, name + '.')
            else:
                yield from walk(child, prefix)

    doc = ast.get_docstring(tree)
    if doc:
        yield '<module>', tree, doc
    yield from walk(tree, '')


def _split_entry(line: str) -> Optional[Tuple[str, Optional[str]]]:
    """Parse ``name (type): text`` into ``(name, type)``; None if malformed.

    The type may hold balanced parentheses; ``*args`` / ``**kwargs`` may
    omit it.
    """
    match = NAME.match(line)
    if match is None:
        return None
    name, rest = match.group(1), line[match.end():]
    if rest.startswith(':'):
        return (name, None) if name.startswith('*') else None
    if not rest.startswith(' ('):
        return None
    depth = 0
    for i, char in enumerate(rest[1:], start=1):
        depth += {'(': 1, ')': -1}.get(char, 0)
        if depth == 0:
            type_text = rest[2:i].strip()
            if not type_text or not rest[i + 1:].startswith(':'):
                return None
            return name, type_text
    return None


def _args_entries(doc: str) -> Optional[List[str]]:
    """The entry lines of the ``Args:`` section, or None without one."""
    lines = doc.splitlines()
    for start, line in enumerate(lines):
        if line.strip() == 'Args:':
            indent = len(line) - len(line.lstrip())
            break
    else:
        return None
    entries, entry_indent = [], None
    for line in lines[start + 1:]:
        if not line.strip():
            continue
        cur = len(line) - len(line.lstrip())
        if cur <= indent:
            break
        if entry_indent is None:
            entry_indent = cur
        if cur <= entry_indent:  # an entry (a misaligned one is malformed)
            entries.append(line.strip())
    return entries


def _params(node: ast.AST) -> Optional[List[str]]:
    """Parameter names a docstring of ``node`` documents (None: unknown)."""
    if isinstance(node, ast.ClassDef):
        inits = [
            n for n in node.body
            if isinstance(n, ast.FunctionDef) and n.name == '__init__'
        ]
        if inits:
            node = inits[0]
        elif any('dataclass' in ast.unparse(d) for d in node.decorator_list):
            return [
                n.target.id for n in node.body if isinstance(n, ast.AnnAssign)
                and isinstance(n.target, ast.Name)
            ]
        else:
            return None  # the constructor is inherited
    args = node.args
    names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    if names and names[0] in ('self', 'cls'):
        names = names[1:]
    if args.vararg:
        names.append('*' + args.vararg.arg)
    if args.kwarg:
        names.append('**' + args.kwarg.arg)
    return names


def args_problems(qualname: str, node: ast.AST, doc: str) -> List[str]:
    """Problems of one docstring's ``Args:`` section."""
    entries = _args_entries(doc)
    if entries is None or isinstance(node, ast.Module):
        return []
    problems, documented = [], []
    for entry in entries:
        parsed = _split_entry(entry)
        if parsed is None:
            problems.append(f'{qualname}: Args entry {entry!r} is not '
                            '"name (type): description"')
        name = NAME.match(entry)
        if name:
            documented.append(name.group(1))
    params = _params(node)
    if params is None:
        return problems
    for name in documented:
        if name.lstrip('*') not in [p.lstrip('*') for p in params]:
            problems.append(f'{qualname}: documents {name!r}, which is not '
                            f'a parameter {params}')
    plain = {d.lstrip('*') for d in documented}
    for name in params:
        if not name.startswith('*') and name not in plain:
            problems.append(f'{qualname}: parameter {name!r} is missing '
                            'from Args')
    return problems


def module_problems(source: str) -> List[str]:
    """Every docstring convention broken by a module's source."""
    tree = ast.parse(source)
    problems = []
    module_doc = ast.get_docstring(tree)
    if not module_doc:
        problems.append('no module docstring')
    elif len(module_doc.splitlines()) > MAX_MODULE_DOC_LINES:
        problems.append(f'module docstring has '
                        f'{len(module_doc.splitlines())} lines, at most '
                        f'{MAX_MODULE_DOC_LINES} wanted (narrative -> docs/)')
    for qualname, node, doc in _doc_nodes(tree):
        for line in doc.splitlines():
            found = BANNED.search(line)
            if found:
                problems.append(f'{qualname}: says {found.group(0)!r}: '
                                f'{line.strip()!r}')
        problems.extend(args_problems(qualname, node, doc))
    return problems


@pytest.mark.parametrize('module', MODULES)
def test_module_docstrings(module):
    source = (PACKAGE.parent / module).read_text(encoding='utf-8')
    assert module_problems(source) == []


GOOD = '''"""One line."""


def f(a, b=1, *args, c, **kwargs):
    """Do it.

    Args:
        a (int): First.
        b (tuple(int, int)): Second, with a
            continuation line.
        *args: Extra values.
        c (str): Keyword only.

    Returns:
        int: Nothing much.
    """


class K:
    """A class.

    Args:
        x (float): Value.
    """

    def __init__(self, x):
        self.x = x


@dataclass
class D:
    """Fields.

    Args:
        a (int): A field.
    """

    a: int = 0
'''


def test_checker_accepts_good_source():
    assert module_problems(GOOD) == []


@pytest.mark.parametrize('bad, problem', [
    (GOOD.replace('"""One line."""', '"""1\n2\n3\n4"""'),
     'module docstring has 4 lines, at most 3 wanted (narrative -> docs/)'),
    (GOOD.replace('"""One line."""\n', ''), 'no module docstring'),
    (GOOD.replace('First.', 'See the issue.'),
     "f: says 'issue': 'a (int): See the issue.'"),
    (GOOD.replace('a (int): First.', 'a: First.'),
     'f: Args entry \'a: First.\' is not "name (type): description"'),
    (GOOD.replace('        c (str): Keyword only.\n',
                  ''), "f: parameter 'c' is missing from Args"),
    (GOOD.replace('x (float)', 'y (float)'),
     "K: documents 'y', which is not a parameter ['x']"),
    (GOOD.replace('a (int): A field.', 'b (int): A field.'),
     "D: documents 'b', which is not a parameter ['a']"),
])
def test_checker_reports(bad, problem):
    problems = module_problems(bad)
    assert problem in problems
