"""Run a demo: ``python tools/demo.py --task video|face|reid [options]``.

``make demo`` runs the video demo; ``make demo TASK=face`` / ``TASK=reid``
the others. Options after ``--task`` go to the task's demo
(``mmddl.demo.<task>.main``); ``--help`` after the task lists them.
"""
import argparse
import importlib
import sys

import mmddl  # noqa: F401  (compatibility fixes + registration)

TASKS = ('video', 'face', 'reid')


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0], add_help=False)
    parser.add_argument('--task', choices=TASKS, default='video')
    args, rest = parser.parse_known_args()
    module = importlib.import_module(f'mmddl.demo.{args.task}')
    module.main(rest)


if __name__ == '__main__':
    sys.exit(main())
