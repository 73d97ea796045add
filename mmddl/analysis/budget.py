"""Operating-point choice on validation results: the best one under a
compute budget, or the cheapest one that matches a reference method."""
from typing import Dict, Hashable, List, Optional, Sequence, Tuple

from mmddl.utils.atomic_write import atomic_write

#: Aggregator keys written into the ``--cfg-options`` line.
AGG_KEYS = ('mode', 'topk', 'threshold', 'fusion_level')


def budget_gflops(sweep: dict,
                  gflops: Optional[float] = None,
                  ratio: Optional[float] = None) -> float:
    """The budget in GFLOPs per group: ``gflops``, or ``ratio`` of the
    sweep's dense GFLOPs.

    Args:
        sweep (dict): ``sweep.json`` content (validation split).
        gflops (float, optional): Absolute budget per group.
        ratio (float, optional): Fraction of dense.
    """
    if (gflops is None) == (ratio is None):
        raise ValueError('give exactly one of a GFLOPs budget and a ratio '
                         'of dense')
    if gflops is not None:
        if not gflops > 0:
            raise ValueError(f'the GFLOPs budget must be > 0, got {gflops}')
        return float(gflops)
    if not 0 < ratio:
        raise ValueError(f'the budget ratio must be > 0, got {ratio}')
    return float(ratio) * sweep['methods']['dense']['all']['gflops_total']


def select_point(points: Dict[Hashable, dict],
                 keys: Sequence[str],
                 cost: str,
                 budget: Optional[float] = None,
                 reference: Optional[dict] = None) -> Tuple[Hashable, bool]:
    """The operating point a rule chooses, and whether it met the rule.

    ``points`` maps a point's name to its validation results (the metrics
    ``keys`` and the ``cost`` of a group). Exactly one rule applies:

    * ``budget``: the largest sum of ``keys`` among the points whose cost
      is <= ``budget`` (ties: lower cost, then the earlier point); when
      none fits, the cheapest point, not met.
    * ``reference`` (results of a method to match): the lowest cost among
      the points whose every key is >= the reference's (ties: larger sum of
      ``keys``, then the earlier point); when none matches, the largest sum
      of ``keys`` (ties: lower cost, then the earlier point), not met.

    Args:
        points (dict): ``{name: {metric: value, ..., cost: value}}``.
        keys (Sequence[str]): Metrics the rule compares.
        cost (str): The key of the cost (``'gflops_total'``,
            ``'base_images'``).
        budget (float, optional): The largest cost allowed.
        reference (dict, optional): The results to match.

    Returns:
        tuple: The chosen name and whether it met the rule.
    """
    if (budget is None) == (reference is None):
        raise ValueError('give exactly one of a budget and a reference')
    if not points:
        raise ValueError('no operating point to choose from')
    total = {n: sum(res[k] for k in keys) for n, res in points.items()}
    if budget is not None:
        ok = [n for n, res in points.items() if res[cost] <= budget]
        if not ok:
            return min(points, key=lambda n: points[n][cost]), False
        return max(ok, key=lambda n: (total[n], -points[n][cost])), True
    ok = [
        n for n, res in points.items()
        if all(res[k] >= reference[k] for k in keys)
    ]
    if ok:
        return min(ok, key=lambda n: (points[n][cost], -total[n])), True
    return max(points, key=lambda n: (total[n], -points[n][cost])), False


def choose_point(sweep: dict,
                 budget: float,
                 methods: List[str] = ('ddl', ),
                 metric: Optional[str] = None) -> Dict:
    """The operating point of ``methods`` with the best ``metric`` among
    those whose GFLOPs per group are <= ``budget`` (ties: fewer GFLOPs,
    then the earlier point): :func:`select_point`'s budget rule.

    Args:
        sweep (dict): ``sweep.json`` content (validation split).
        budget (float): GFLOPs per group.
        methods (list[str]): Methods whose points may be chosen.
            Defaults to DDL only.
        metric (str, optional): Defaults to the sweep's ``main_metric``.

    Returns:
        dict: ``method``, ``point``, ``aggregator``, ``metric``,
        ``value``, ``gflops_total`` and ``budget``.
    """
    metric = metric or sweep['main_metric']
    points = {}
    for method in methods:
        if method not in sweep['methods']:
            raise KeyError(f'method {method!r} is not in the sweep '
                           f'({sorted(sweep["methods"])})')
        for point, res in sweep['methods'][method].items():
            points[method, point] = res
    (method, point), fits = select_point(
        points, [metric], 'gflops_total', budget=budget)
    res = sweep['methods'][method][point]
    if not fits:
        raise ValueError(
            f'no point of {list(methods)} fits {budget:.4g} GFLOPs per '
            f'group; the cheapest is {method} {point} at '
            f'{res["gflops_total"]:.4g}')
    return dict(
        method=method,
        point=point,
        aggregator=dict(res['aggregator']),
        metric=metric,
        value=res[metric],
        gflops_total=res['gflops_total'],
        budget=budget)


def cfg_options_line(aggregator: dict) -> str:
    """``--cfg-options model.aggregator.mode=ddl ...`` for tools/test.py
    (unset K / t written as None so the config's own are cleared).

    Args:
        aggregator (dict): The chosen aggregator settings.
    """
    items = [
        f'model.aggregator.{k}={aggregator.get(k)}' for k in AGG_KEYS
        if k != 'fusion_level' or k in aggregator
    ]
    return '--cfg-options ' + ' '.join(items)


def config_snippet(aggregator: dict, comment: str = '') -> str:
    """A config file fragment setting the chosen aggregator.

    Args:
        aggregator (dict): The chosen aggregator settings.
        comment (str): A first comment line (e.g. the budget).
    """
    agg = {
        k: aggregator.get(k)
        for k in AGG_KEYS if k != 'fusion_level' or k in aggregator
    }
    body = ', '.join(f'{k}={v!r}' for k, v in agg.items())
    head = f'# {comment}\n' if comment else ''
    return f'{head}model = dict(aggregator=dict({body}))\n'


def budget_report(test,
                  val_sweep: dict,
                  out_dir: str,
                  gflops: Optional[float] = None,
                  ratio: Optional[float] = None,
                  methods: List[str] = ('ddl', )) -> Dict:
    """Choose a point on the validation sweep, report its test metrics and
    write ``budget.json`` and ``budget_cfg.py`` into ``out_dir``.

    Args:
        test (mmddl.analysis.SweepRun): The test split's sweep.
        val_sweep (dict): The validation split's ``sweep.json`` content.
        out_dir (str): Output folder.
        gflops (float, optional): Budget in GFLOPs per group.
        ratio (float, optional): Budget as a fraction of dense (of the
            validation split).
        methods (list[str]): Methods whose points may be chosen.

    Returns:
        dict: The content of ``budget.json``.
    """
    import json
    import os.path as osp
    budget = budget_gflops(val_sweep, gflops, ratio)
    pick = choose_point(val_sweep, budget, methods)
    metric = pick['metric']
    res = test.result['methods'].get(pick['method'], {}).get(pick['point'])
    if res is None:
        res = test.evaluate(pick['aggregator'])
    test_dense = test.result['methods']['dense']['all']
    val_dense = val_sweep['methods']['dense']['all']
    out = dict(
        budget=budget,
        budget_gflops=gflops,
        budget_ratio=ratio,
        method=pick['method'],
        point=pick['point'],
        aggregator=pick['aggregator'],
        metric=metric,
        val_value=pick['value'],
        val_gflops_total=pick['gflops_total'],
        val_gflops_ratio=pick['gflops_total'] / val_dense['gflops_total'],
        val_dense_value=val_dense[metric],
        test_value=res[metric],
        test_gflops_total=res['gflops_total'],
        test_gflops_ratio=res['gflops_total'] / test_dense['gflops_total'],
        test_dense_value=test_dense[metric],
        test_metrics=res,
        cfg_options=cfg_options_line(pick['aggregator']))
    comment = (f"chosen on the validation split for {budget:.4g} GFLOPs "
               f"per group: {pick['method']} {pick['point']}")
    atomic_write(
        osp.join(out_dir, 'budget.json'),
        lambda f: json.dump(out, f, indent=1),
        'budget results',
        text=True)
    snippet = config_snippet(pick['aggregator'], comment)
    atomic_write(
        osp.join(out_dir, 'budget_cfg.py'),
        lambda f: f.write(snippet),
        'config snippet',
        text=True)
    return out
