"""Run a demo: ``python demo/run_demo.py --task video|face|reid [options]``.

``make demo`` runs the video demo; ``make demo TASK=face`` / ``TASK=reid`` /
``TASK=tracks`` the others. Options after ``--task`` go to the task's demo
(``demo.<task>.main``); ``--help`` after the task lists them.
"""
import argparse
import importlib
import os.path as osp
import sys

# the demos are a package beside mmddl in the source tree (not installed)
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmddl  # noqa: F401,E402  (compatibility fixes + registration)

TASKS = ('video', 'face', 'reid', 'tracks')


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0], add_help=False)
    parser.add_argument('--task', choices=TASKS, default='video')
    args, rest = parser.parse_known_args()
    module = importlib.import_module(f'demo.{args.task}')
    module.main(rest)


if __name__ == '__main__':
    sys.exit(main())
