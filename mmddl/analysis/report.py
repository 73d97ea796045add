"""A sweep's printed table and its accuracy-vs-GFLOPs picture."""
from typing import Optional

from mmddl.utils.atomic_write import save_figure

#: Legend names of the sweep's methods.
NAMES = {
    'dense': 'Dense (all elements)',
    'top1': 'Top-1 by D-score',
    'random': 'Random-K',
    'uniform': 'Uniform-K',
    'ddl_norescale': 'DDL w/o re-scaling',
    'ddl': 'DDL',
    'ddl_prob': 'DDL (prob fusion)'
}


def sweep_table(sweep: dict) -> str:
    """One line per method and operating point: main metric, elements
    through the base, GFLOPs per group and their ratio to dense.

    Args:
        sweep (dict): ``sweep.json`` content.
    """
    metric = sweep['main_metric']
    dense = sweep['methods']['dense']['all']['gflops_total']
    head = (f"{'method':<22}{'point':>12}{metric:>16}{'base elems':>12}"
            f"{'GFLOPs/group':>14}{'of dense':>10}")
    lines = [head, '-' * len(head)]
    for method, points in sweep['methods'].items():
        for key, r in points.items():
            lines.append(f"{NAMES.get(method, method):<22}{key:>12}"
                         f"{100 * r[metric]:>16.2f}{r['base_elements']:>12.2f}"
                         f"{r['gflops_total']:>14.4f}"
                         f"{r['gflops_total'] / dense:>10.3f}")
    return '\n'.join(lines)


def _curve(ax, points: dict, metric: str, keys, style: str, label: str,
           annotate: bool, **kwargs) -> None:
    pts = sorted(
        (points[k]['gflops_total'], 100 * points[k][metric], k) for k in keys)
    if not pts:
        return
    ax.plot([p[0] for p in pts], [p[1] for p in pts],
            style,
            label=label,
            **kwargs)
    if annotate:
        for x, y, k in pts:
            ax.annotate(
                k.replace('k=', 'K=').replace('t=', 't='), (x, y),
                textcoords='offset points',
                xytext=(4, -10),
                fontsize=7)


def _log_ticks(ax, values) -> None:
    """Plain-number ticks (1-2-5 steps) on a log x axis, no minor labels."""
    from matplotlib.ticker import FixedLocator, NullFormatter
    lo, hi = min(values), max(values)
    ticks = [
        m * 10.0**e for e in range(-4, 6) for m in (1, 2, 5)
        if lo / 1.2 <= m * 10.0**e <= hi * 1.2
    ]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(lambda x, _: f'{x:g}')
    ax.xaxis.set_minor_formatter(NullFormatter())


def plot_sweep(sweep: dict,
               path: str,
               budget: Optional[dict] = None,
               title: Optional[str] = None) -> str:
    """Main metric against GFLOPs per group: DDL over K and over t, uniform
    and random over K, dense and top-1 as points (matplotlib, Agg).

    Args:
        sweep (dict): ``sweep.json`` content.
        path (str): The PNG to write.
        budget (dict, optional): A chosen budget point (``budget.json``):
            marked, with the budget as a vertical line.
        title (str, optional): Defaults to the task and config name.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    metric, methods = sweep['main_metric'], sweep['methods']
    fig, ax = plt.subplots(figsize=(7, 5.2))
    ks = [
        k for k in methods.get('ddl', {})
        if k.startswith('k=') and ',' not in k
    ]
    ts = [k for k in methods.get('ddl', {}) if k.startswith('t=')]
    _curve(ax, methods['ddl'], metric, ks, 'o-', 'DDL over K', True, zorder=3)
    _curve(ax, methods['ddl'], metric, ts, '^-', 'DDL over t', False)
    if 'ddl_prob' in methods:
        _curve(
            ax,
            methods['ddl_prob'],
            metric, [k for k in ks if k in methods['ddl_prob']],
            'D:',
            'DDL (prob fusion) over K',
            False,
            markersize=4,
            mfc='none')
    _curve(ax, methods['uniform'], metric, list(methods['uniform']), 's--',
           'Uniform over K', True)
    _curve(ax, methods['random'], metric, list(methods['random']), 'x:',
           'Random over K', False)
    for name, style in (('dense', 'k*'), ('top1', 'mv')):
        (r, ) = methods[name].values()
        ax.plot(
            r['gflops_total'],
            100 * r[metric],
            style,
            markersize=12 if name == 'dense' else 8,
            label=NAMES[name])
    if budget is not None:
        ax.axvline(
            budget['budget'], color='grey', lw=0.8, ls='--', label='budget')
        ax.plot(
            budget['test_gflops_total'],
            100 * budget['test_value'],
            'o',
            mfc='none',
            mec='red',
            markersize=14,
            label=f"budget pick ({budget['point']})")
    ax.set_xscale('log')
    _log_ticks(ax, [
        r['gflops_total'] for points in methods.values()
        for r in points.values()
    ])
    ax.set_xlabel('GFLOPs per group (DDNet + base), log scale')
    ax.set_ylabel(f'{metric} (%)')
    ax.set_title(
        title or f"{sweep['task']}: accuracy vs compute "
        f"({sweep['num_groups']} groups)",
        fontsize=10)
    ax.grid(alpha=0.3, which='both')
    ax.legend(
        fontsize=7,
        loc='upper center',
        bbox_to_anchor=(0.5, -0.15),
        ncol=3,
        frameon=False)
    fig.tight_layout()
    try:
        save_figure(fig, path, dpi=110)
    finally:
        plt.close(fig)
    return path
