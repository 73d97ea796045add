"""Person / face tracks of videos as DDL embeddings (mmdet / mmaction2 tool
shape): detect and track with an mmdet config, or read MOTChallenge tracks;
encode every track with DDL; write per-track JSON lines, embeddings,
contact sheets and, for two or more videos (cameras), cross-video matches.

Examples::

    # detector + tracker over two camera videos
    python tools/track_ddl.py \\
        configs/tracks/ddl_reid-r18-tiny_thr0.15_synth-footage-tracks.py \\
        base.pth --ddnet-checkpoint ddnet.pth --inputs cam1.mp4 cam2.mp4 \\
        --det-config \\
        configs/tracks/bytetrack_yolox-nano_1xb8-20e_synth-footage.py \\
        --det-checkpoint det.pth --out-dir work_dirs/track_ddl
    # tracks you already have (MOTChallenge files beside frames or a video)
    python tools/track_ddl.py <ddl config> base.pth \\
        --ddnet-checkpoint ddnet.pth \\
        --inputs MOT17-02/img1 --tracks MOT17-02/tracker.txt
    # a MOTChallenge sequence folder: its gt/gt.txt
    python tools/track_ddl.py <ddl config> base.pth \\
        --ddnet-checkpoint ddnet.pth --inputs MOT17-02
"""
import argparse

from mmengine.config import DictAction


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options (parsed before any heavy import)."""
    parser = argparse.ArgumentParser(
        description='mmddl: tracks of videos as DDL embeddings')
    parser.add_argument(
        'config', help='DDL track config (configs/tracks/ddl_*.py)')
    parser.add_argument(
        'checkpoint', help='checkpoint of the DDL config\'s BASE model')
    parser.add_argument(
        '--ddnet-checkpoint', help='DDNet checkpoint (overrides the config)')
    parser.add_argument(
        '--inputs',
        nargs='+',
        required=True,
        help='videos, frame folders or MOTChallenge sequence folders, one '
        'per camera')
    parser.add_argument(
        '--det-config', help='mmdet detector + tracker config (ByteTrack...)')
    parser.add_argument('--det-checkpoint', help='its checkpoint')
    parser.add_argument(
        '--tracks',
        nargs='+',
        help='MOTChallenge track files, one per input (instead of a '
        'detector)')
    parser.add_argument(
        '--target',
        choices=['person', 'face'],
        help='what is tracked (default: the DDL config\'s: re-ID -> person)')
    parser.add_argument(
        '--out-dir', default='work_dirs/track_ddl', help='output folder')
    parser.add_argument(
        '--device', default='cpu', help='cpu (default), cuda, cuda:1 ...')
    parser.add_argument(
        '--min-length',
        type=int,
        default=1,
        help='fewest boxes of a kept track (shorter ones are counted out)')
    parser.add_argument(
        '--topk-matches',
        type=int,
        default=5,
        help='nearest tracks of the other videos listed per track')
    parser.add_argument(
        '--no-sheets', action='store_true', help='skip the contact sheets')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='overrides of the DDL config (key=value)')
    parser.add_argument(
        '--det-cfg-options',
        nargs='+',
        action=DictAction,
        help='overrides of the detector + tracker config (key=value)')
    args = parser.parse_args(argv)
    if (args.det_config is None) != (args.det_checkpoint is None):
        parser.error('--det-config and --det-checkpoint go together')
    if args.det_config is not None and args.tracks is not None:
        parser.error('give --tracks or --det-config, not both')
    if args.min_length < 1 or args.topk_matches < 1:
        parser.error('--min-length and --topk-matches must be >= 1')
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    import os
    import os.path as osp
    import time

    from mmengine.logging import MMLogger

    import mmddl  # noqa: F401  (compatibility fixes, registration)
    from mmddl.apis import run_track_ddl
    os.makedirs(args.out_dir, exist_ok=True)
    stamp = time.strftime('%Y%m%d_%H%M%S')
    MMLogger.get_instance(
        f'track_ddl_{stamp}',
        log_file=osp.join(args.out_dir, f'track_ddl_{stamp}.log'))
    return run_track_ddl(
        args.inputs,
        args.config,
        args.checkpoint,
        args.out_dir,
        ddnet_checkpoint=args.ddnet_checkpoint,
        det_config=args.det_config,
        det_checkpoint=args.det_checkpoint,
        tracks=args.tracks,
        target=args.target,
        device=args.device,
        min_length=args.min_length,
        topk_matches=args.topk_matches,
        sheets=not args.no_sheets,
        ddl_options=args.cfg_options,
        det_options=args.det_cfg_options)


if __name__ == '__main__':
    main()
