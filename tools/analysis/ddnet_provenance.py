"""Show, or add to an older DDNet checkpoint, its provenance.

``python tools/analysis/ddnet_provenance.py ddnet.pth`` prints what the
checkpoint records (``meta['ddl_provenance']``); with ``--base-checkpoint``
and ``--input-shape`` it writes a copy (``--out``, default: in place) that
records them, so the DDL wrappers check it. Training with ``tools/train.py``
and ``DiscriminabilityHook`` records it by itself.
"""
import argparse
import json


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options (parsed before any heavy import)."""
    p = argparse.ArgumentParser(
        description="show or add a DDNet checkpoint's provenance")
    p.add_argument('checkpoint', help='the DDNet checkpoint')
    p.add_argument(
        '--base-checkpoint',
        help='the base checkpoint the DDNet was trained for (hashed)')
    p.add_argument(
        '--input-shape',
        nargs='+',
        help='shape(s) of one DDNet input element as it was trained: '
        'C,T,H,W for a clip (e.g. 3,16,112,112), C,H,W for an image')
    p.add_argument(
        '--score-table',
        help='the dscore_table.npz it was trained on (its fingerprint, '
        'metric and normalization are recorded; its base must be '
        '--base-checkpoint)')
    p.add_argument('--metric', help="'cosine' or 'euclidean' (no table)")
    p.add_argument('--normalization', help="'global' or 'class' (no table)")
    p.add_argument('--out', help='output checkpoint (default: in place)')
    p.add_argument(
        '--force',
        action='store_true',
        help='replace a provenance the checkpoint already has')
    return p.parse_args(argv)


def _shape(text: str) -> tuple:
    try:
        shape = tuple(int(s) for s in text.split(','))
    except ValueError:
        shape = ()
    if len(shape) not in (3, 4) or min(shape) < 1:
        raise SystemExit(f'--input-shape {text!r}: expected C,T,H,W or '
                         'C,H,W positive integers')
    return shape


def main(argv=None) -> dict:
    """Print or write the provenance; returns it."""
    args = parse_args(argv)
    import torch
    from mmengine.runner.checkpoint import CheckpointLoader

    import mmddl  # noqa: F401  (safe checkpoint loading)
    from mmddl.models.utils.provenance import (PROVENANCE_KEY, InputShapes,
                                               make_provenance)
    from mmddl.structures import ScoreTable
    from mmddl.utils.atomic_write import atomic_write
    from mmddl.utils.content_hash import checkpoint_sha256

    ckpt = CheckpointLoader.load_checkpoint(
        args.checkpoint, map_location='cpu')
    if not isinstance(ckpt, dict) or 'state_dict' not in ckpt:
        raise SystemExit(f'{args.checkpoint}: not a Runner checkpoint '
                         '(no state_dict)')
    meta = ckpt.setdefault('meta', {})
    if args.base_checkpoint is None:
        prov = meta.get(PROVENANCE_KEY)
        print(
            json.dumps(prov, indent=1)
            if prov is not None else f'{args.checkpoint}: no provenance')
        return prov
    if not args.input_shape:
        raise SystemExit('--base-checkpoint needs --input-shape')
    if PROVENANCE_KEY in meta and not args.force:
        raise SystemExit(f'{args.checkpoint} already has a provenance; '
                         'pass --force to replace it')
    inputs = InputShapes()
    for text in args.input_shape:
        inputs.add(_shape(text))
    table = None
    base_sha = checkpoint_sha256(args.base_checkpoint)
    if args.score_table:
        table = ScoreTable.load(args.score_table)
        table_base = table.fingerprint.get('checkpoint_sha256')
        if table_base != base_sha:
            raise SystemExit(
                f'{args.score_table} was computed with base sha256 '
                f'{table_base}, not {args.base_checkpoint} (sha256 '
                f'{base_sha})')
    prov = make_provenance(args.base_checkpoint, base_sha, args.score_table,
                           table, inputs)
    if args.metric:
        prov['dscore']['metric'] = args.metric
    if args.normalization:
        prov['dscore']['normalization'] = args.normalization
    meta[PROVENANCE_KEY] = prov
    out = args.out or args.checkpoint
    atomic_write(out, lambda f: torch.save(ckpt, f), 'DDNet checkpoint')
    print(f'{out}: provenance written\n' + json.dumps(prov, indent=1))
    return prov


if __name__ == '__main__':
    main()
