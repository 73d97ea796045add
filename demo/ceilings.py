"""Selection ceilings of a generated test set: top-1 / top-K picked by the
true D-score or by the generator's clean record instead of the DDNet
(oracles that read the test labels; what no DDNet can exceed by ranking)."""
import json
import os.path as osp
from typing import Dict, Sequence

import numpy as np

from .common import (ELEMENT_META, element_pass, format_summary_table,
                     summarize_seeds, true_discriminability)

#: ``{row or method: {metric: value}}``
Rows = Dict[str, Dict[str, float]]

#: Ceiling rows: ``{name: (oracle, aggregator settings)}`` before the top-K
#: rows (``true_d_norescale@k=K``) are added.
TOP1_CEILINGS = {
    'top1_true_d': ('true_d', dict(mode='top1', threshold=None)),
    'top1_clean': ('clean', dict(mode='top1', threshold=None)),
}
#: Row names of the printed tables.
CEILING_NAMES = {
    'top1_true_d': 'Ceiling: top-1 by the true D-score',
    'top1_clean': 'Ceiling: top-1 clean image (then true D)',
}


def ceiling_points(topks: Sequence[int]) -> Dict[str, tuple]:
    """The ceiling rows: top-1 by each oracle, then top-K by the true
    D-score without re-scaling (the kept D-scores weight the mean).

    Args:
        topks (Sequence[int]): The K of the top-K rows.
    """
    points = dict(TOP1_CEILINGS)
    for k in map(int, topks):
        agg = dict(mode='ddl_norescale', threshold=None, topk=k)
        points[f'true_d_norescale@k={k}'] = ('true_d', agg)
    return points


def ceiling_name(name: str) -> str:
    """Printed name of a ceiling row.

    Args:
        name (str): A key of :func:`ceiling_points`.
    """
    if name in CEILING_NAMES:
        return CEILING_NAMES[name]
    return ('Ceiling: top-' + name.rsplit('=', 1)[-1] +
            ' by the true D-score, no re-scaling')


def oracle_scores(names: Sequence[str], feats: np.ndarray, scores: np.ndarray,
                  group_ptr: np.ndarray,
                  meta: Dict[str, list]) -> Dict[str, object]:
    """Per-element scores of the two oracles.

    The true D-score is raw D (Eq. 2-3) against the set's own identity
    centroids, squashed by Eq. 4 within each identity as the demo DDNets'
    targets are; the clean-record score puts every clean element above
    every degraded one of its group and orders each kind by the true
    D-score. A group with an element without ground truth (a distractor
    or junk tracklet) keeps the DDNet's scores, and is counted.

    Args:
        names (Sequence[str]): (E,) element file names, in order.
        feats (np.ndarray): (E, d) base outputs, as fused.
        scores (np.ndarray): (E,) the DDNet's D-scores.
        group_ptr (np.ndarray): (G+1,) offsets of the groups' elements.
        meta (dict): ``{image name: [identity, degraded, severity]}``.

    Returns:
        dict: ``true_d`` and ``clean`` (E,) float32 scores in (0, 1), and
        ``ddnet_groups``, the number of groups that keep the DDNet's
        scores.
    """
    from mmddl.core.discriminability import \
        normalize_discriminability_per_class
    truth = true_discriminability(names, feats, meta)
    keep = truth['keep']
    dscore = np.zeros(keep.size)
    dscore[keep] = normalize_discriminability_per_class(
        truth['true_d'], truth['labels']).numpy()
    clean = np.zeros(keep.size)
    clean[keep] = ~truth['degraded']
    known = np.zeros(keep.size, bool)
    ptr = np.asarray(group_ptr)
    if ptr[-1] != keep.size:
        raise ValueError(f'group offsets end at {int(ptr[-1])}, not at the '
                         f'{keep.size} elements')
    for a, b in zip(ptr[:-1], ptr[1:]):
        known[a:b] = keep[a:b].all()
    own = np.asarray(scores, np.float64)
    return dict(
        true_d=np.where(known, dscore, own).astype(np.float32),
        clean=np.where(known, (clean + dscore) / 2, own).astype(np.float32),
        ddnet_groups=int(
            sum(not known[a] for a, b in zip(ptr[:-1], ptr[1:]) if b > a)))


def selection_ceilings(config: str, base_ckpt: str, ddnet_ckpt: str,
                       out_dir: str, options: dict, meta: dict,
                       topks: Sequence[int]) -> Rows:
    """One dense pass over a test set (:func:`element_pass`), then each
    ceiling row replayed with the wrapper's own selection and fusion.

    Args:
        config (str): The set's ``DDLGroupEncoder`` config.
        base_ckpt (str): The base model's checkpoint.
        ddnet_ckpt (str): The DDNet's checkpoint (for the groups that keep
            its scores).
        out_dir (str): Work dir of the dense pass (its dump is kept).
        options (dict): ``--cfg-options`` pointing at the set.
        meta (dict): The set's ``element_meta.json``.
        topks (Sequence[int]): The K of the top-K rows.

    Returns:
        dict: ``{row: metrics}`` with ``base_images`` (base runs per group)
        and ``ddnet_groups`` (groups that kept the DDNet's scores).
    """
    run, elements = element_pass(config, base_ckpt, ddnet_ckpt, out_dir,
                                 options)
    oracles = oracle_scores(elements['names'], elements['feats'],
                            elements['scores'], run.dump.group_ptr, meta)
    rows = {}
    for name, (oracle, agg) in ceiling_points(topks).items():
        res = run.evaluate(agg, oracles[oracle])
        # no DDNet is needed to pick by an oracle: no DDNet counts
        rows[name] = {
            k: v
            for k, v in res.items()
            if k != 'aggregator' and not k.startswith(('ddnet_', 'gflops_'))
        }
        rows[name]['base_images'] = rows[name].pop('base_elements')
        rows[name]['ddnet_groups'] = oracles['ddnet_groups']
    return rows


def ceilings_per_test_set(name: str, config: str, base_ckpt: str,
                          ddnet_ckpt: str, test_dir: str, data_dirs: dict,
                          options: dict,
                          topks: Sequence[int]) -> Dict[int, Rows]:
    """:func:`selection_ceilings` of every test set of a demo, each with the
    ground truth in its folder's ``element_meta.json``.

    Args:
        name (str): Data set name (``'ijbc'``, ``'mars'``); set ``S`` runs
            in ``<test_dir>/<name>_seed<S>/ceilings``.
        config (str): The sets' ``DDLGroupEncoder`` config.
        base_ckpt (str): The base model's checkpoint.
        ddnet_ckpt (str): The DDNet's checkpoint.
        test_dir (str): The demo's test folder.
        data_dirs (dict): ``{seed: data folder}``.
        options (dict): ``{seed: --cfg-options}`` pointing at each set.
        topks (Sequence[int]): The K of the top-K rows.

    Returns:
        dict: ``{seed: {row: metrics}}``.
    """
    out = {}
    for seed, data_dir in data_dirs.items():
        with open(osp.join(data_dir, ELEMENT_META)) as f:
            meta = json.load(f)
        out[seed] = selection_ceilings(
            config, base_ckpt, ddnet_ckpt,
            osp.join(test_dir, f'{name}_seed{seed}', 'ceilings'),
            options[seed], meta, topks)
    return out


def summarize_ceilings(per_seed: Dict[int, Rows],
                       ceilings: Dict[int, Rows]) -> dict:
    """The ceiling rows beside each test set's measured average pooling and
    top-1, and their summary over the sets (paired with average pooling).

    Args:
        per_seed (dict): ``{seed: {method: metrics}}`` of the test runs.
        ceilings (dict): ``{seed: {row: metrics}}`` of
            :func:`selection_ceilings`.

    Returns:
        dict: ``per_seed`` (``{seed: {row: metrics}}``) and ``summary``
        (:func:`~demo.common.summarize_seeds`).
    """
    if set(per_seed) != set(ceilings):
        raise ValueError(f'ceilings of sets {sorted(ceilings)} for the test '
                         f'sets {sorted(per_seed)}')
    rows = {}
    for s in per_seed:
        measured = {
            m: per_seed[s][m]
            for m in ('average', 'top1') if m in per_seed[s]
        }
        rows[s] = dict(measured, **ceilings[s])
    return dict(
        per_seed={
            str(s): r
            for s, r in rows.items()
        },
        summary=summarize_seeds(rows))


def format_ceiling_table(title: str, columns, summary: dict,
                         percent: Sequence[str]) -> str:
    """:func:`~demo.common.format_summary_table` with the ceiling
    rows' names.

    Args:
        title (str): Printed above the table.
        columns (Sequence[tuple]): Metric keys and their headers.
        summary (dict): ``summary`` of :func:`summarize_ceilings`.
        percent (Sequence[str]): Keys printed as percentages.
    """
    names = {
        m: ceiling_name(m)
        for m in summary['mean']
        if m in CEILING_NAMES or m.startswith('true_d_')
    }
    return format_summary_table(title, columns, summary, percent, names)
