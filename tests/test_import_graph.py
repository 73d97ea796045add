"""The module import graph of mmddl has no cycle (function-level imports and
package ``__init__`` re-exports included)."""
import ast
import os
import os.path as osp
from typing import Dict, List, Optional, Set

import pytest

import mmddl


def module_files(root: str, package: str) -> Dict[str, str]:
    """``{dotted module name: file}`` of every module under ``root``."""
    out = {}
    base = osp.dirname(root)
    for folder, _, files in os.walk(root):
        for name in files:
            if name.endswith('.py'):
                rel = osp.relpath(osp.join(folder, name), base)[:-3]
                mod = rel.replace(os.sep, '.')
                if mod.endswith('.__init__'):
                    mod = mod[:-len('.__init__')]
                out[mod] = osp.join(folder, name)
    assert package in out, f'{root} is not the package {package}'
    return out


def _resolve(node: ast.ImportFrom, module: str, is_pkg: bool) -> str:
    if node.level == 0:
        return node.module or ''
    parts = module.split('.')
    if not is_pkg:
        parts = parts[:-1]
    if node.level > 1:
        parts = parts[:len(parts) - node.level + 1]
    return '.'.join(parts + ([node.module] if node.module else []))


def import_graph(root: str, package: str) -> Dict[str, Set[str]]:
    """Edges module -> modules of ``package`` it imports (anywhere in it).

    ``from pkg import name`` depends on ``pkg`` and on ``pkg.name`` when
    that is a module; importing ``a.b.c`` also runs ``a`` and ``a.b``.
    """
    files = module_files(root, package)
    graph = {}
    for mod, path in files.items():
        with open(path) as f:
            tree = ast.parse(f.read(), path)
        is_pkg = path.endswith('__init__.py')
        explicit, implied = set(), set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                implied |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(node, mod, is_pkg)
                subs = {f'{base}.{a.name}' for a in node.names}
                implied |= {base} | subs
                if subs - set(files):  # a name defined in base itself
                    explicit.add(base)
        deps = {name for t in implied
                for name in ('.'.join(t.split('.')[:i])
                             for i in range(1, t.count('.') + 2))
                if name in files}
        # importing a sibling runs the (already running) parent packages:
        # only an explicit ``from <ancestor> import name`` depends on them
        deps = {d for d in deps if not mod.startswith(d + '.')}
        deps = (deps | (explicit & set(files))) - {mod}
        graph[mod] = deps
    return graph


def find_cycle(graph: Dict[str, Set[str]]) -> Optional[List[str]]:
    """One cycle of the graph as a list of modules, or None."""
    state: Dict[str, int] = {}
    stack: List[str] = []

    def visit(node: str) -> Optional[List[str]]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_mmddl_has_no_import_cycle():
    graph = import_graph(osp.dirname(mmddl.__file__), 'mmddl')
    assert len(graph) > 50
    # function-level and relative imports are seen
    assert 'mmddl.core.discriminability' in graph[
        'mmddl.engine.discriminability_pass']
    cycle = find_cycle(graph)
    assert cycle is None, 'import cycle: ' + ' -> '.join(cycle)


def _write(root, files):
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.mark.parametrize('a_text,cycle', [
    ('from .b import x\n', True),
    ('def f():\n    from pkg.b import x\n', True),  # lazy import
    ('from . import b\n', True),  # "from pkg import module"
    ('from .sub import y\n', True),  # via the package's re-export
    ('import os\n', False),
    ('from pkg import w\n', False),
])
def test_detects_cycles_in_a_synthetic_package(tmp_path, a_text, cycle):
    _write(tmp_path, {
        'pkg/__init__.py': 'w = 0\n',
        'pkg/a.py': a_text,
        'pkg/b.py': 'from .a import z\nx = 1\n',
        'pkg/sub/__init__.py': 'from .c import y\n',
        'pkg/sub/c.py': 'from ..b import x\ny = 2\n',
    })
    graph = import_graph(str(tmp_path / 'pkg'), 'pkg')
    assert graph['pkg.sub'] == {'pkg.sub.c'}
    assert (find_cycle(graph) is not None) == cycle


def test_name_from_a_running_parent_package_is_a_cycle(tmp_path):
    """``pkg/__init__`` imports ``a``, which reads a name of ``pkg``."""
    _write(tmp_path, {'pkg/__init__.py': 'from .a import f\nw = 0\n',
                      'pkg/a.py': 'from . import w\n\ndef f():\n    pass\n'})
    graph = import_graph(str(tmp_path / 'pkg'), 'pkg')
    assert find_cycle(graph) == ['pkg', 'pkg.a', 'pkg']
