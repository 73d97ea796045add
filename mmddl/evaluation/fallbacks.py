"""Fallbacks a DDL run takes instead of stopping: their names and meaning,
and their count per run (a fixed set of result keys) with one log line."""
from typing import Dict, Iterable, Sequence

from mmengine.logging import MMLogger

#: Data-sample field listing the fallbacks a group took (written by the
#: test-time wrappers, read by the metrics).
FIELD = 'ddl_fallbacks'
#: Every fallback: name -> what happened to the group.
FALLBACKS = dict(
    topk_over_group='fewer elements than topk: all of them were kept',
    threshold_above_all=('no D-score above the threshold: only the best '
                         'element was kept (Eq. 7)'),
    threshold_below_all=('every D-score above the threshold: it filtered '
                         'nothing'),
    tie_at_cut=('equal D-scores on both sides of the selection cut: the '
                'lower indices were kept'),
    constant_scores=("every D-score equal: evenly spaced elements were kept "
                     "(aggregator on_constant_scores='uniform')"),
    identical_elements=('every element identical (e.g. a 1-frame video): '
                        'any selection gives the same prediction'),
    unchecked_layout=('no num_clips in the data sample: views were split '
                      'into clips x crops by model.num_crops unchecked '
                      '(allow_unchecked_layout=True)'))
#: Result key of each fallback's count.
KEYS = {name: f'fallback_{name}' for name in FALLBACKS}


def sample_fallbacks(value) -> list:
    """The fallback names of one data sample's :data:`FIELD` (a list of
    names, or None / absent for none); unknown names raise ``ValueError``.

    Args:
        value (Sequence[str] | None): The field's value.
    """
    names = [] if value is None else [str(v) for v in value]
    unknown = sorted(set(names) - set(FALLBACKS))
    if unknown:
        raise ValueError(f'unknown fallbacks {unknown} in `{FIELD}`; '
                         f'known: {sorted(FALLBACKS)}')
    return names


def count_fallbacks(per_group: Sequence[Iterable[str]],
                    owner: str,
                    what: str = 'groups') -> Dict[str, float]:
    """Count each fallback over a run's groups and log the non-zero counts
    once (a warning).

    Args:
        per_group (Sequence[Iterable[str]]): Per group its fallback names.
        owner (str): Who reports (the metric's name), for the log line.
        what (str): What a group is in the log line (``'videos'``).

    Returns:
        dict: ``{KEYS[name]: count}`` for every known fallback (zeros
        included, so every run has the same keys).
    """
    counts = dict.fromkeys(FALLBACKS, 0)
    for names in per_group:
        for name in set(names):
            counts[name] += 1
    taken = {k: n for k, n in counts.items() if n}
    if taken:
        MMLogger.get_current_instance().warning(
            f'{owner}: fallbacks taken (of {len(per_group)} {what}): ' +
            '; '.join(f'{n} {k} ({FALLBACKS[k]})' for k, n in taken.items()))
    return {KEYS[k]: float(n) for k, n in counts.items()}
