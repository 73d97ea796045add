"""Read a config saved as text (a checkpoint's ``meta['cfg']``) as plain
data: literals, ``dict(...)`` calls and containers only; never executed."""
import ast
from typing import Any, Dict

#: Names a stored config may use as values.
_NAMES = {'True': True, 'False': False, 'None': None}
#: Calls a stored config may make: keyword-only builders of containers.
_CALLS = {'dict': dict, 'list': list, 'tuple': tuple, 'set': set}


class StoredConfigError(ValueError):
    """A stored config holds something other than plain data."""


def _refuse(node: ast.AST, source: str, what: str) -> StoredConfigError:
    line = getattr(node, 'lineno', '?')
    return StoredConfigError(
        f"{source}, line {line}: {what}; mmddl reads a stored config as "
        'data and never executes it')


def _value(node: ast.AST, source: str) -> Any:
    """The value of one expression node, if it is plain data."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id in _NAMES:
        return _NAMES[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(
            node.op, (ast.USub, ast.UAdd)):
        value = _value(node.operand, source)
        if isinstance(value, (int, float, complex)) and not isinstance(
                value, bool):
            return -value if isinstance(node.op, ast.USub) else value
        raise _refuse(node, source, 'a sign on a non-number')
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = [_value(e, source) for e in node.elts]
        return {ast.List: list, ast.Tuple: tuple, ast.Set: set}[type(node)](
            items)
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise _refuse(node, source, 'a ** expansion')
        return {
            _value(k, source): _value(v, source)
            for k, v in zip(node.keys, node.values)
        }
    if isinstance(node, ast.Call) and isinstance(
            node.func, ast.Name) and node.func.id in _CALLS:
        if node.func.id == 'dict':
            if node.args or any(k.arg is None for k in node.keywords):
                raise _refuse(node, source,
                              'dict() with positional or ** arguments')
            return {k.arg: _value(k.value, source) for k in node.keywords}
        if node.keywords or len(node.args) > 1:
            raise _refuse(node, source, f'{node.func.id}() with arguments '
                          'other than one container')
        inner = _value(node.args[0], source) if node.args else ()
        return _CALLS[node.func.id](inner)
    what = ast.dump(node)[:80]
    if isinstance(node, ast.Name):
        what = f'the name {node.id!r}'
    elif isinstance(node, ast.Call):
        what = f'a call of {ast.unparse(node.func)[:60]!r}'
    raise _refuse(node, source, f'{what} is not plain data')


def parse_stored_config(text: str, source: str = 'stored config'
                        ) -> Dict[str, Any]:
    """Parse ``name = value`` lines of plain data (mmengine's
    ``Config.pretty_text``) without executing anything.

    Args:
        text (str): The config text.
        source (str): Where it comes from, for error messages (e.g.
            ``"ckpt.pth meta['cfg']"``).

    Returns:
        dict: ``{name: value}`` in file order.

    Raises:
        StoredConfigError: Syntax errors, imports, function definitions,
            any call but ``dict(...)`` / ``list(...)`` / ``tuple(...)`` /
            ``set(...)``, names other than ``True`` / ``False`` / ``None``,
            attribute access, operators: each named with its line.
    """
    try:
        tree = ast.parse(text, filename=source)
    except SyntaxError as err:
        raise StoredConfigError(
            f'{source}, line {err.lineno}: not a config ({err.msg})') from err
    out: Dict[str, Any] = {}
    for stmt in tree.body:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)):
            raise _refuse(
                stmt, source,
                f'a {type(stmt).__name__} statement (only `name = value` '
                'lines are read)')
        out[stmt.targets[0].id] = _value(stmt.value, source)
    return out
